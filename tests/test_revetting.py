"""An edit to a record in review, verified or published sends it back to draft: no
unverified text ever reaches the public, and no verifier verifies text they have not seen."""

import pytest

from casework.models import Case, Involvement, Right, Status
from tests import factories

pytestmark = pytest.mark.django_db


def test_editing_public_text_of_published_case_unpublishes_it(published_case, researcher):
    published_case.summary = "Unverified new allegation"
    published_case.updated_by = researcher
    published_case.save()
    published_case.refresh_from_db()
    assert published_case.status == Status.DRAFT
    assert "re-vetting" in published_case.review_note
    assert not Case.objects.published().filter(pk=published_case.pk).exists()


def test_editing_a_verified_case_sends_it_back_to_draft(researcher, verifier):
    case = factories.make_case(researcher)
    case.submit_for_review(researcher)
    case.verify(verifier)
    case.title = "Changed after verification"
    case.save()
    assert case.status == Status.DRAFT


def test_a_record_edited_in_review_must_be_submitted_again(
        researcher, verifier, researcher_client, verifier_client):
    """The verifier opened the case; the researcher then changed its summary (still "in
    review"): verifying must not pass the text the verifier never saw."""
    case = factories.make_case(researcher, summary="As submitted")
    case.submit_for_review(researcher)
    page = verifier_client.get(f"/admin/casework/case/{case.pk}/change/")
    assert "transition/verify/" in page.text
    edit = researcher_client.get(f"/admin/casework/case/{case.pk}/change/")
    assert "This record is in review: editing its content sends it back to draft" in edit.text
    case.refresh_from_db()
    case.summary, case.updated_by = "UNREVIEWED TEXT", researcher
    case.save()
    assert (case.status, case.review_note) == (
        Status.DRAFT, "Edited while in review: back to draft, to be submitted again.")
    verify = verifier_client.post(f"/admin/casework/case/{case.pk}/transition/verify/")
    case.refresh_from_db()
    assert case.status == Status.DRAFT and verify.status_code == 400
    # A relation changed in review sends it back too; internal notes do not.
    case.submit_for_review(researcher)
    case.rights.add(Right.objects.first())
    case.refresh_from_db()
    assert (case.status, case.review_note) == (
        Status.DRAFT, "Relations edited while in review: back to draft, to be submitted again.")
    case.submit_for_review(researcher)
    case.internal_notes = "Checked the source by phone"
    case.save()
    assert case.status == Status.IN_REVIEW
    case.verify(verifier)
    assert case.status == Status.VERIFIED


def test_editing_internal_notes_keeps_the_case_published(published_case):
    published_case.internal_notes = "Called the family on Tuesday"
    published_case.save()
    published_case.refresh_from_db()
    assert published_case.status == Status.PUBLISHED


def test_adding_a_right_unpublishes(published_case):
    published_case.rights.add(Right.objects.get(slug="association"))
    published_case.refresh_from_db()
    assert published_case.status == Status.DRAFT


def test_adding_an_involvement_unpublishes(published_case, researcher):
    person = factories.make_person(researcher)
    factories.involve(published_case, person, Involvement.Role.WITNESS)
    published_case.refresh_from_db()
    assert published_case.status == Status.DRAFT


def test_reverse_side_relation_change_unpublishes(published_case, researcher):
    source = factories.make_source(researcher)
    source.cases.add(published_case)
    published_case.refresh_from_db()
    assert published_case.status == Status.DRAFT


def test_editing_a_published_persons_name_withdraws_the_person(researcher, verifier):
    person = factories.publish(factories.make_person(researcher, name="A. Defender",
                                                     identity_public=True), researcher, verifier)
    person.name = "B. Defender"
    person.save()
    assert person.status == Status.DRAFT


def test_editing_contact_details_keeps_person_published(researcher, verifier):
    person = factories.publish(factories.make_person(researcher), researcher, verifier)
    person.contact_details = "Signal only"
    person.save()
    assert person.status == Status.PUBLISHED


def test_deleting_a_term_or_a_source_sends_the_cases_it_leaves_back_to_draft(
        published_case, researcher, verifier):
    """The database cascade that unlinks them sends no signal: the cases kept their status
    and their search data still held the deleted term."""
    from casework.models import Source, ViolationType

    term = ViolationType.objects.create(slug="zeppelin-strike", label="Zeppelin strike")
    published_case.violations.add(term)
    factories.publish(published_case, researcher, verifier)
    published_case.refresh_from_db()
    assert "violation:zeppelin-strike" in str(published_case.facet_keys)
    term.delete()
    published_case.refresh_from_db()
    assert published_case.status == Status.DRAFT
    assert "zeppelin" not in str(published_case.facet_keys).lower()
    assert "zeppelin" not in (published_case.search_document or "").lower()

    source = factories.make_source(researcher)
    published_case.sources.add(source)
    factories.publish(published_case, researcher, verifier)
    Source.objects.filter(pk=source.pk).delete()
    published_case.refresh_from_db()
    assert published_case.status == Status.DRAFT and not published_case.sources.exists()


def test_deleting_a_case_sends_the_statements_that_cited_it_back_to_draft(
        published_case, researcher, verifier):
    statement = factories.make_statement(researcher)
    statement.cases.add(published_case)
    factories.publish(statement, researcher, verifier)
    published_case.delete()
    statement.refresh_from_db()
    assert statement.status == Status.DRAFT and not statement.cases.exists()
