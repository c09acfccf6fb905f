"""An edit to a verified or published record sends it back to draft: no unverified text
ever reaches the public."""

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
