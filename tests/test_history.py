"""Every change keeps its history (who, when, which fields, old and new) and can be restored."""

import pytest

from casework.models import Case, Status
from tests import factories

pytestmark = pytest.mark.django_db


def test_history_records_who_changed_which_field(researcher_client, researcher):
    case = factories.make_case(researcher, title="Before")
    case.title = "After"
    case._history_user = researcher
    case.save()
    latest, previous = case.history.all()[:2]
    delta = latest.diff_against(previous, excluded_fields=["version", "updated_at"])
    assert [(c.field, c.old, c.new) for c in delta.changes] == [("title", "Before", "After")]
    assert latest.history_user == researcher


def test_admin_edit_writes_history_with_the_signed_in_user(researcher_client, researcher):
    case = factories.make_case(researcher, title="Old title")
    data = {
        "reference": case.reference, "title": "New title", "summary": "", "country": "AZ",
        "location": "", "situation": "ongoing", "started_on": "2016-05-01",
        "started_on_precision": "month", "ended_on": "", "ended_on_precision": "",
        "internal_notes": "", "version": case.version,
        "involvements-TOTAL_FORMS": "0", "involvements-INITIAL_FORMS": "0",
        "involvements-MIN_NUM_FORMS": "0", "involvements-MAX_NUM_FORMS": "1000",
    }
    response = researcher_client.post(f"/admin/casework/case/{case.pk}/change/", data)
    assert response.status_code == 302
    record = case.history.first()
    assert record.history_user == researcher
    history_page = researcher_client.get(f"/admin/casework/case/{case.pk}/history/")
    assert history_page.status_code == 200
    assert "New title" in history_page.text and researcher.username in history_page.text


def test_transitions_appear_in_history_with_the_actor(researcher, verifier):
    case = factories.publish(factories.make_case(researcher), researcher, verifier)
    reasons = [(h.history_change_reason, h.history_user) for h in case.history.all()[:3]]
    assert reasons == [("publish", verifier), ("verify", verifier),
                       ("submit for review", researcher)]


def test_relation_changes_are_recorded(researcher):
    from casework.models import ViolationType

    case = factories.make_case(researcher)
    case.violations.add(ViolationType.objects.get(slug="disbarment"))
    latest = case.history.first()
    assert [v.violationtype.slug for v in latest.violations.all()] == ["disbarment"]


def test_restore_brings_back_content_and_sends_published_case_to_draft(
        researcher, verifier, researcher_client):
    case = factories.make_case(researcher, title="First wording")
    first_version = case.history.first()
    case.title = "Second wording"
    case.save()
    factories.publish(case, researcher, verifier)
    restore_url = f"/admin/casework/case/{case.pk}/history/{first_version.history_id}/restore/"
    confirm = researcher_client.get(restore_url)
    assert confirm.status_code == 200 and "First wording" in confirm.text
    assert researcher_client.post(restore_url).status_code == 302
    case.refresh_from_db()
    assert case.title == "First wording"
    assert case.status == Status.DRAFT  # restored text is unverified text
    reason = case.history.first().history_change_reason
    assert reason.startswith(f"restored version {first_version.version}; Edited after verification")


def test_restore_brings_back_the_links_of_the_version(
        researcher, verifier, researcher_client, administrator):
    """The preview listed violations as changing, but only the fields came back."""
    from casework.models import Right, ViolationType

    detention, ban = ViolationType.objects.all()[:2]
    case = factories.make_case(researcher, title="One violation")
    case.violations.set([detention])
    version = case.history.latest()  # with its snapshot of the links
    case.violations.add(ban)
    case.rights.add(Right.objects.first())
    factories.publish(case, researcher, verifier)
    url = f"/admin/casework/case/{case.pk}/history/{version.history_id}/restore/"
    preview = researcher_client.get(url).text  # the preview says so, in words
    assert f'<th scope="row">Violations</th><td>{detention}, {ban}</td><td>{detention}</td>' in (
        preview.replace(f"{ban}, {detention}", f"{detention}, {ban}"))
    assert researcher_client.post(url).status_code == 302
    case.refresh_from_db()
    assert list(case.violations.all()) == [detention] and not case.rights.exists()
    assert case.status == Status.DRAFT
    latest = case.history.latest()
    assert latest.history_change_reason.startswith(f"restored version {version.version}")
    assert latest.history_user.pk == int(researcher_client.session["_auth_user_id"])
    assert [link.violationtype_id for link in latest.violations.all()] == [detention.pk]


def test_restoring_a_statement_keeps_links_to_cases_the_user_cannot_see(
        researcher, coordinator):
    hidden = factories.make_case(researcher, restricted=True)
    shown = factories.make_case(researcher)
    statement = factories.make_statement(researcher)
    version = statement.history.latest()  # no cases
    statement.cases.set([shown, hidden])
    statement.refresh_from_db()
    statement.restore(statement.history.get(history_id=version.history_id), coordinator)
    assert list(statement.cases.all()) == [hidden]


def test_verifier_cannot_restore(researcher, verifier_client):
    case = factories.make_case(researcher)
    record = case.history.first()
    url = f"/admin/casework/case/{case.pk}/history/{record.history_id}/restore/"
    assert verifier_client.post(url).status_code == 403
    assert Case.objects.get(pk=case.pk).version == case.version


def test_every_save_snapshots_each_tracked_relation_as_it_stands(researcher):
    """casework.models.CaseworkHistoricalRecords writes the m2m snapshot itself (cheaper
    than simple-history's): the same rows, one per link, for cases and statements."""
    case = factories.make_case(researcher)
    case.violations.set([1, 3])
    case.rights.set([2])
    case.sources.set([factories.make_source(researcher, url="https://example.org/1")])
    case.title = "Saved again"
    case.save()
    latest = case.history.first()
    for name in ("violations", "rights", "sources"):
        through = Case._meta.get_field(name).remote_field.through
        columns = [f.attname for f in through._meta.fields]
        links = sorted(through.objects.filter(case=case).values_list(*columns))
        assert sorted(getattr(latest, name).values_list(*columns)) == links
        assert links  # something to compare
    statement = factories.make_statement(researcher)
    statement.cases.set([case])
    statement.quote = "Saved again"
    statement.save()
    assert list(statement.history.first().cases.values_list("case_id", flat=True)) == [case.pk]
