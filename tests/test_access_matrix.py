"""Every kind of admin URL, tried by every role with a direct request: allowed or refused
(docs/roles.md). What the pages show is checked in test_admin_permissions.py."""

import pytest

from casework.models import Case
from tests import factories

pytestmark = pytest.mark.django_db

ROLES = ["Researcher", "Verifier", "Coordinator", "Administrator"]
OK, NO = True, False

# url kind -> allowed for (Researcher, Verifier, Coordinator, Administrator)
MATRIX = {
    "changelist": (OK, OK, OK, OK),
    "add": (OK, NO, OK, OK),
    "change": (OK, NO, OK, OK),
    "delete": (NO, NO, NO, OK),
    "history": (OK, OK, OK, OK),
    "restore": (OK, NO, OK, OK),
    "autocomplete": (OK, OK, OK, OK),
    "submit": (OK, NO, NO, OK),
    "verify": (NO, OK, NO, OK),
    "publish": (NO, OK, OK, OK),
    "import": (NO, NO, OK, OK),
    "export": (NO, NO, OK, OK),
    "reports": (NO, NO, OK, OK),
    "audit_log": (NO, NO, NO, OK),
    "users": (NO, NO, NO, OK),
    "vocabulary_change": (NO, NO, NO, OK),
}


def _case_form(case):
    return {
        "reference": case.reference, "title": "Edited", "summary": "", "country": "AZ",
        "location": "", "situation": "ongoing", "started_on": "", "started_on_precision": "",
        "ended_on": "", "ended_on_precision": "", "internal_notes": "", "version": case.version,
        "involvements-TOTAL_FORMS": "0", "involvements-INITIAL_FORMS": "0",
        "involvements-MIN_NUM_FORMS": "0", "involvements-MAX_NUM_FORMS": "1000",
    }


def _request(client, kind, author, verifier):
    case = factories.make_case(author)
    base = f"/admin/casework/case/{case.pk}"
    if kind == "changelist":
        return client.get("/admin/casework/case/").status_code == 200
    if kind == "add":
        return client.post("/admin/casework/case/add/", {
            **_case_form(case), "reference": "NEW-0001"}).status_code == 302
    if kind == "change":
        client.post(f"{base}/change/", _case_form(case))
        return Case.objects.get(pk=case.pk).title == "Edited"
    if kind == "delete":
        client.post(f"{base}/delete/", {"post": "yes"})
        return not Case.objects.filter(pk=case.pk).exists()
    if kind == "history":
        return client.get(f"{base}/history/").status_code == 200
    if kind == "restore":
        record = case.history.first()
        return client.post(f"{base}/history/{record.history_id}/restore/").status_code == 302
    if kind == "autocomplete":
        return client.get("/admin/autocomplete/", {
            "app_label": "casework", "model_name": "statement", "field_name": "cases",
            "term": case.reference}).status_code == 200
    if kind == "submit":
        client.post(f"{base}/transition/submit_for_review/")
        return Case.objects.get(pk=case.pk).status == "in_review"
    if kind == "verify":
        case.submit_for_review(author)
        client.post(f"{base}/transition/verify/")
        return Case.objects.get(pk=case.pk).status == "verified"
    if kind == "publish":
        case.submit_for_review(author)
        case.verify(verifier)
        client.post(f"{base}/transition/publish/")
        return Case.objects.get(pk=case.pk).status == "published"
    if kind == "import":
        return client.get("/admin/casework/case/import/").status_code == 200
    if kind == "export":
        return client.get("/admin/casework/case/export/").status_code == 200
    if kind == "reports":
        return client.get("/admin/reports/").status_code == 200
    if kind == "audit_log":
        return client.get("/admin/accounts/auditevent/").status_code == 200
    if kind == "users":
        return client.get("/admin/accounts/user/").status_code == 200
    if kind == "vocabulary_change":
        from casework.models import ViolationType

        term = ViolationType.objects.get(slug="censorship")
        client.post(f"/admin/casework/violationtype/{term.pk}/change/",
                    {"slug": "censorship", "label": "Changed", "description": ""})
        return ViolationType.objects.get(pk=term.pk).label == "Changed"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", list(MATRIX))
@pytest.mark.parametrize("role", ROLES)
def test_every_admin_url_with_every_role(role, kind):
    author = factories.make_user("Researcher")
    verifier = factories.make_user("Verifier")
    client = factories.signed_in_client(factories.make_user(role))
    assert _request(client, kind, author, verifier) == MATRIX[kind][ROLES.index(role)]


@pytest.mark.parametrize("kind", ["changelist", "history", "autocomplete", "reports"])
def test_anonymous_visitors_get_nothing(client, kind):
    author = factories.make_user("Researcher")
    assert _request(client, kind, author, factories.make_user("Verifier")) is False
