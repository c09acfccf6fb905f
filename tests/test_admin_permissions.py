"""Each role sees and may do only what it is allowed, and the server enforces it on POST."""

import pytest

from accounts.models import AuditEvent
from casework.models import Case, ViolationType
from tests import factories

pytestmark = pytest.mark.django_db


def _case_form(case=None, **overrides):
    data = {
        "reference": "ZZ-2020-0001", "title": "Title", "summary": "", "country": "AZ",
        "location": "", "situation": "ongoing", "started_on": "", "started_on_precision": "",
        "ended_on": "", "ended_on_precision": "", "internal_notes": "",
        "involvements-TOTAL_FORMS": "0", "involvements-INITIAL_FORMS": "0",
        "involvements-MIN_NUM_FORMS": "0", "involvements-MAX_NUM_FORMS": "1000",
    }
    if case is not None:
        data.update(reference=case.reference, version=case.version)
    data.update(overrides)
    return data


@pytest.mark.parametrize("client_fixture,expected", [
    ("researcher_client", 302), ("coordinator_client", 302), ("administrator_client", 302),
    ("verifier_client", 403),
])
def test_who_may_add_a_case(request, client_fixture, expected):
    client = request.getfixturevalue(client_fixture)
    response = client.post("/admin/casework/case/add/", _case_form())
    assert response.status_code == expected
    assert Case.objects.filter(reference="ZZ-2020-0001").exists() == (expected == 302)


def test_the_case_form_says_which_texts_are_public(researcher_client):
    page = researcher_client.get("/admin/casework/case/add/").text
    # The involvement's description sits next to a person whose name may be withheld.
    assert "Public: shown on the case page once the case is published. Never write a " \
           "withheld name or a contact detail here." in page
    assert "Confidential: never public." in page  # the internal notes


def test_a_partial_start_is_read_by_its_precision_in_the_admin(researcher_client):
    # Started "2026" (any day picked, precision year), ended February 2026: valid, as
    # in a CSV file. The form used to compare the raw days and refuse it.
    form = _case_form(started_on="2026-03-15", started_on_precision="year",
                      ended_on="2026-02-20", ended_on_precision="month")
    response = researcher_client.post("/admin/casework/case/add/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    case = Case.objects.get(reference="ZZ-2020-0001")
    assert (case.started, case.ended) == ("2026", "February 2026")
    form.update(reference="ZZ-2020-0002", ended_on="2025-12-31", ended_on_precision="day")
    response = researcher_client.post("/admin/casework/case/add/", form)
    assert "The case ends before it starts." in response.text


@pytest.mark.parametrize("client_fixture,may_change", [
    ("researcher_client", True), ("coordinator_client", True), ("administrator_client", True),
    ("verifier_client", False),
])
def test_who_may_change_a_case(request, researcher, client_fixture, may_change):
    client = request.getfixturevalue(client_fixture)
    case = factories.make_case(researcher, title="Before")
    url = f"/admin/casework/case/{case.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert ('name="_save"' in page.text) == may_change
    response = client.post(url, _case_form(case, title="After"))
    case.refresh_from_db()
    if may_change:
        assert response.status_code == 302 and case.title == "After"
    else:
        assert response.status_code == 403 and case.title == "Before"


@pytest.mark.parametrize("client_fixture,expected", [
    ("researcher_client", 403), ("verifier_client", 403), ("coordinator_client", 403),
    ("administrator_client", 302),
])
def test_only_administrators_delete_cases(request, researcher, client_fixture, expected):
    """With its involvements (whose own list is read-only), and recorded in the audit log."""
    client = request.getfixturevalue(client_fixture)
    case = factories.make_case(researcher)
    factories.involve(case, factories.make_person(researcher))
    response = client.post(f"/admin/casework/case/{case.pk}/delete/", {"post": "yes"})
    assert response.status_code == expected
    assert Case.objects.filter(pk=case.pk).exists() == (expected == 403)
    deletions = AuditEvent.objects.filter(action="delete")
    if expected == 403:
        assert not deletions.exists()
    else:
        event = deletions.get()
        assert (event.object_type, event.object_id, event.actor) == (
            "casework.case", str(case.pk), request.getfixturevalue("administrator"))
        assert case.history.latest().history_type == "-"


@pytest.mark.parametrize("client_fixture,expected", [
    ("researcher_client", 403), ("verifier_client", 403), ("coordinator_client", 403),
    ("administrator_client", 302),
])
def test_only_administrators_edit_the_vocabulary(request, client_fixture, expected):
    client = request.getfixturevalue(client_fixture)
    term = ViolationType.objects.get(slug="censorship")
    response = client.post(f"/admin/casework/violationtype/{term.pk}/change/",
                           {"slug": "censorship", "label": "Censorship (renamed)",
                            "description": ""})
    assert response.status_code == expected
    term.refresh_from_db()
    assert (term.label == "Censorship (renamed)") == (expected == 302)


@pytest.mark.parametrize("client_fixture,expected", [
    ("researcher_client", 403), ("verifier_client", 403), ("coordinator_client", 403),
    ("administrator_client", 200),
])
def test_only_administrators_manage_users(request, client_fixture, expected):
    client = request.getfixturevalue(client_fixture)
    assert client.get("/admin/accounts/user/").status_code == expected


@pytest.mark.parametrize("client_fixture,actions", [
    ("researcher_client", {"submit_for_review_action"}),
    ("verifier_client", {"verify_action", "publish_action"}),
    ("coordinator_client", {"publish_action"}),
])
def test_changelist_offers_each_role_only_its_actions(request, researcher, client_fixture,
                                                     actions):
    client = request.getfixturevalue(client_fixture)
    factories.make_case(researcher)
    page = client.get("/admin/casework/case/")
    offered = {a for a in ("submit_for_review_action", "verify_action", "publish_action")
               if f'value="{a}"' in page.text}
    assert offered == actions


def test_researcher_cannot_run_verify_action_by_post(researcher_client, researcher):
    case = factories.make_case(factories.make_user("Researcher"))
    case.submit_for_review(researcher)
    researcher_client.post("/admin/casework/case/", {
        "action": "verify_action", "_selected_action": [case.pk]})
    case.refresh_from_db()
    assert case.status == "in_review"


def test_deleting_several_cases_at_once_records_each(administrator_client, researcher):
    cases = [factories.make_case(researcher) for _ in range(2)]
    response = administrator_client.post("/admin/casework/case/", {
        "action": "delete_selected", "_selected_action": [c.pk for c in cases], "post": "yes"})
    assert response.status_code == 302 and not Case.objects.exists()
    assert sorted(AuditEvent.objects.filter(action="delete").values_list(
        "object_id", flat=True)) == sorted(str(c.pk) for c in cases)
