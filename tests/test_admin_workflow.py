"""The 'done when' path of the foundation, through the admin as people use it: a
researcher enters a seed case with its people, lawyer, perpetrator and source; a
different user verifies and publishes it; the history shows who did what."""

import pytest

from casework.models import Case, Involvement, Organisation, Person, Source, Status
from tests import factories

pytestmark = pytest.mark.django_db

INLINE_EMPTY = {
    "involvements-INITIAL_FORMS": "0", "involvements-MIN_NUM_FORMS": "0",
    "involvements-MAX_NUM_FORMS": "1000",
}


def _add(client, model: str, data: dict):
    response = client.post(f"/admin/casework/{model}/add/", data)
    assert response.status_code == 302, response.text[:3000]


def test_researcher_enters_case_and_another_user_verifies_and_publishes(
        researcher_client, verifier_client, researcher, verifier, visitor):
    _add(researcher_client, "person", {
        "name": "Khalid Bagirov", "other_names": "Xalid Bağırov", "gender": "male",
        "occupation": "Human rights lawyer", "defender_type": "lawyer", "country": "AZ",
        "identity_public": "on", "pseudonym": "", "contact_details": "", "internal_notes": "",
    })
    _add(researcher_client, "person", {
        "name": "Anar Lawyer", "other_names": "", "gender": "", "occupation": "Lawyer",
        "defender_type": "lawyer", "country": "AZ", "pseudonym": "Lawyer A",
        "contact_details": "+994 00 000 00 00", "internal_notes": "",
    })
    _add(researcher_client, "organisation", {
        "name": "Azerbaijan Bar Association", "other_names": "", "kind": "bar_association",
        "country": "AZ", "internal_notes": "",
    })
    _add(researcher_client, "source", {
        "url": "https://example.org/coe-observations", "citation": "CoE observations",
        "publisher": "Council of Europe", "published_on": "2016-11-22",
        "published_on_precision": "day", "reliability": "A", "accessed_on": "",
        "internal_notes": "",
    })
    bagirov = Person.objects.get(name="Khalid Bagirov")
    lawyer = Person.objects.get(name="Anar Lawyer")
    bar = Organisation.objects.get(name="Azerbaijan Bar Association")
    source = Source.objects.get()
    _add(researcher_client, "case", {
        "reference": "AZ-2016-001", "title": "Disbarment of human rights lawyer Khalid Bagirov",
        "summary": "An experienced lawyer was disbarred.", "country": "AZ", "location": "Baku",
        "situation": "concluded", "started_on": "", "started_on_precision": "",
        "ended_on": "", "ended_on_precision": "", "internal_notes": "",
        "sources": [source.pk],
        **INLINE_EMPTY, "involvements-TOTAL_FORMS": "3",
        "involvements-0-role": "targeted", "involvements-0-person": bagirov.pk,
        "involvements-1-role": "lawyer", "involvements-1-person": lawyer.pk,
        "involvements-2-role": "perpetrator", "involvements-2-organisation": bar.pk,
    })
    case = Case.objects.get(reference="AZ-2016-001")
    assert case.created_by == researcher and case.status == Status.DRAFT
    assert set(case.involvements.values_list("role", flat=True)) == {
        Involvement.Role.TARGETED, Involvement.Role.LAWYER, Involvement.Role.PERPETRATOR}

    # The researcher sees "Submit for review" and not "Verify".
    page = researcher_client.get(f"/admin/casework/case/{case.pk}/change/")
    assert "Submit for review" in page.text and "transition/verify/" not in page.text
    response = researcher_client.post(f"/admin/casework/case/{case.pk}/transition/submit_for_review/")
    assert response.status_code == 302

    # The verifier sees the buttons, verifies and publishes every record involved.
    page = verifier_client.get(f"/admin/casework/case/{case.pk}/change/")
    assert "transition/verify/" in page.text
    for record in (case, bagirov, lawyer, bar, source):
        model = record._meta.model_name
        if record is not case:
            researcher_client.post(f"/admin/casework/{model}/{record.pk}/transition/submit_for_review/")
        for action in ("verify", "publish"):
            response = verifier_client.post(
                f"/admin/casework/{model}/{record.pk}/transition/{action}/")
            assert response.status_code == 302, (model, action, response.text[:2000])
    case.refresh_from_db()
    assert case.status == Status.PUBLISHED and case.published_by == verifier

    history = researcher_client.get(f"/admin/casework/case/{case.pk}/history/")
    assert history.status_code == 200
    for expected in ("submit for review", "verify", "publish", researcher.username,
                     verifier.username):
        assert expected in history.text

    public = visitor.get("/cases/AZ-2016-001/")
    assert public.status_code == 200


def test_researcher_cannot_verify_by_direct_post(researcher_client, researcher, verifier):
    from tests import factories

    case = factories.make_case(verifier)
    case.submit_for_review(factories.make_user("Researcher"))
    response = researcher_client.post(f"/admin/casework/case/{case.pk}/transition/verify/")
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.status == Status.IN_REVIEW


def test_verifier_refused_on_own_record_with_a_clear_message(administrator_client, administrator):
    from tests import factories

    case = factories.make_case(administrator)
    case.submit_for_review(administrator)
    response = administrator_client.post(f"/admin/casework/case/{case.pk}/transition/verify/")
    assert response.status_code == 400
    assert "Two-person rule" in response.text
    case.refresh_from_db()
    assert case.status == Status.IN_REVIEW


def test_nobody_verifies_what_they_edited_since_the_last_verification(
        researcher, administrator, administrator_client, researcher_client):
    """An administrator edits a researcher's case; the researcher saves it unchanged and
    so becomes its last editor: the administrator still may not verify their own text."""
    from tests import factories

    case = factories.make_case(researcher, summary="As the researcher wrote it")
    from tests.test_optimistic_locking import _change_form_data

    url = f"/admin/casework/case/{case.pk}/change/"
    data = _change_form_data(case, summary="ADMIN WROTE THIS")
    assert administrator_client.post(url, data).status_code == 302
    case.refresh_from_db()
    data["version"] = case.version
    assert researcher_client.post(url, data).status_code == 302  # nothing changed
    case.refresh_from_db()
    assert case.updated_by == researcher and case.summary == "ADMIN WROTE THIS"
    case.submit_for_review(researcher)
    response = administrator_client.post(f"/admin/casework/case/{case.pk}/transition/verify/")
    assert response.status_code == 400
    assert "you edited this case since it was last verified" in response.text
    case.refresh_from_db()
    assert case.status == Status.IN_REVIEW


def test_send_back_from_admin_records_the_note(researcher, verifier, verifier_client):
    from tests import factories

    case = factories.make_case(researcher)
    case.submit_for_review(researcher)
    url = f"/admin/casework/case/{case.pk}/transition/send_back/"
    assert verifier_client.post(url, {"note": ""}).status_code == 400
    assert verifier_client.post(url, {"note": "Add the court's name"}).status_code == 302
    case.refresh_from_db()
    assert case.status == Status.DRAFT and case.review_note == "Add the court's name"
    # Shown while the record is fixed and resubmitted; answered once verified (the
    # history keeps it), so a published record's form does not show a stale note.
    case.submit_for_review(researcher)
    assert "Last review note: Add the court" in verifier_client.get(
        f"/admin/casework/case/{case.pk}/change/").text.replace("</strong>", "")
    case.verify(verifier)
    case.refresh_from_db()
    assert case.review_note == ""
    assert "Last review note" not in verifier_client.get(
        f"/admin/casework/case/{case.pk}/change/").text
    assert case.history.filter(history_change_reason="send back: Add the court's name").exists()


def test_bulk_verify_action_applies_the_two_person_rule(researcher, verifier, verifier_client):
    from tests import factories

    mine = factories.make_case(verifier)  # created by the verifier: may not verify it
    theirs = factories.make_case(researcher)
    for case in (mine, theirs):
        case.submit_for_review(researcher)
    response = verifier_client.post("/admin/casework/case/", {
        "action": "verify_action", "_selected_action": [mine.pk, theirs.pk]}, follow=True)
    assert response.status_code == 200
    assert "Two-person rule" in response.text
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == (Status.IN_REVIEW, Status.VERIFIED)


@pytest.mark.parametrize("meanwhile", ["deleted", "changed"])
def test_a_refused_transition_says_why_and_shows_the_status_the_record_has(
        researcher, verifier, monkeypatch, meanwhile):
    """A colleague deletes or saves the record between the page loading it and the
    transition: nothing is written, and the page does not claim the new status."""
    from accounts.models import AuditEvent
    from casework.admin import ReviewableAdmin
    from tests import factories

    case = factories.make_case(researcher)
    case.submit_for_review(researcher)
    case.verify(verifier)
    original = ReviewableAdmin.get_object

    def colleague_acts_meanwhile(self, request, object_id, from_field=None):
        record = original(self, request, object_id, from_field)
        if request.method == "POST":
            others = Case._base_manager.filter(pk=record.pk)
            others.delete() if meanwhile == "deleted" else others.update(
                version=record.version + 1)
        return record

    monkeypatch.setattr(ReviewableAdmin, "get_object", colleague_acts_meanwhile)
    client = factories.signed_in_client(verifier)
    before = AuditEvent.objects.count()
    response = client.post(f"/admin/casework/case/{case.pk}/transition/publish/")
    text = response.content.decode()
    assert response.status_code == 400
    assert f"was {meanwhile} by someone else" in text
    assert "Current status: <strong>verified</strong>" in text
    assert "| Casework</title>" in text and "Django" not in text.split("</title>")[0]
    assert AuditEvent.objects.count() == before
    if meanwhile == "changed":
        case.refresh_from_db()
        assert (case.status, case.published_at) == (Status.VERIFIED, None)


def test_invalid_involvements_and_sources_get_plain_messages_not_a_server_error(
        researcher_client, researcher):
    """The same person twice in one role on a new case was a 500 (the database refused
    it); the model's checks showed their constraint names ("Constraint … is violated")."""
    person = factories.make_person(researcher, name="Ann One")
    organisation = factories.make_organisation(researcher, name="Org One")
    case = {"reference": "AZ-2016-050", "title": "A case", "summary": "", "country": "AZ",
            "location": "", "situation": "ongoing", "started_on": "", "started_on_precision": "",
            "ended_on": "", "ended_on_precision": "", "internal_notes": "", **INLINE_EMPTY}
    twice = researcher_client.post("/admin/casework/case/add/", {
        **case, "involvements-TOTAL_FORMS": "2",
        "involvements-0-role": "targeted", "involvements-0-person": person.pk,
        "involvements-1-role": "targeted", "involvements-1-person": person.pk})
    assert twice.status_code == 200
    assert "Ann One is listed twice as targeted defender: keep one of the two rows." in twice.text
    both = researcher_client.post("/admin/casework/case/add/", {
        **case, "involvements-TOTAL_FORMS": "1", "involvements-0-role": "targeted",
        "involvements-0-person": person.pk, "involvements-0-organisation": organisation.pk})
    assert "Choose a person or an organisation: one of them, not both." in both.text
    source = researcher_client.post("/admin/casework/source/add/", {
        "url": "", "citation": "", "publisher": "", "published_on": "",
        "published_on_precision": "", "reliability": "", "accessed_on": "",
        "internal_notes": ""})
    assert "Give the source a web address or a citation." in source.text
    backwards = researcher_client.post("/admin/casework/case/add/", {
        **case, "involvements-TOTAL_FORMS": "1", "involvements-0-role": "targeted",
        "involvements-0-person": person.pk,
        "involvements-0-started_on": "2016-10-01", "involvements-0-started_on_precision": "day",
        "involvements-0-ended_on": "2016-01-01", "involvements-0-ended_on_precision": "day"})
    assert "The involvement ends before it starts." in backwards.text
    # A partial end stands for its whole period, as for a case.
    researcher_client.post("/admin/casework/case/add/", {
        **case, "involvements-TOTAL_FORMS": "1", "involvements-0-role": "targeted",
        "involvements-0-person": person.pk,
        "involvements-0-started_on": "2016-10-20", "involvements-0-started_on_precision": "day",
        "involvements-0-ended_on": "2016-10-01", "involvements-0-ended_on_precision": "month"})
    month_only = researcher_client.post("/admin/casework/case/add/", {
        **case, "started_on": "2016-05", "started_on_precision": "month",
        "involvements-TOTAL_FORMS": "0"})
    assert ("Enter a date as YYYY-MM-DD. When only the month or the year is known, give any "
            "day in it (2016-05-01) and choose that precision.") in month_only.text
    for response in (twice, both, source, backwards):
        assert "Constraint" not in response.text
    assert Case.objects.get().involvements.get().partial_date("ended_on") == "October 2016"
