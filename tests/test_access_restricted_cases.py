"""A restricted case is seen only by its author, verifiers and administrators: in lists,
search, change pages, history, autocomplete, exports and reports."""

import pytest

from accounts.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def restricted(researcher):
    return factories.make_case(researcher, title="Restricted witness case", restricted=True)


def _sees(client, case) -> dict[str, bool]:
    changelist = client.get("/admin/casework/case/", {"q": "witness"})
    autocomplete = client.get("/admin/autocomplete/", {
        "app_label": "casework", "model_name": "statement", "field_name": "cases",
        "term": "witness"})
    change = client.get(f"/admin/casework/case/{case.pk}/change/")
    history = client.get(f"/admin/casework/case/{case.pk}/history/")
    version = client.get(
        f"/admin/casework/case/{case.pk}/history/{case.history.first().history_id}/")
    export = client.post("/admin/casework/case/", {
        "action": "export_selected", "_selected_action": [case.pk]})
    report = client.get("/admin/reports/", {"download": "cases"})
    return {
        "list": case.reference in changelist.text,
        "autocomplete": case.reference in autocomplete.text,
        "change": change.status_code == 200,
        "history": history.status_code == 200,
        "version": version.status_code == 200 or case.title in version.text,
        "export": case.reference in export.getvalue().decode() if export.status_code == 200
        and export.get("Content-Type", "").startswith("text/csv") else False,
        "report": case.reference in (b"".join(report.streaming_content).decode()
                                     if getattr(report, "streaming", False) else report.text),
    }


def test_author_sees_their_restricted_case(researcher_client, restricted):
    seen = _sees(researcher_client, restricted)
    assert seen["list"] and seen["autocomplete"] and seen["change"] and seen["history"]
    assert seen["version"]


def test_other_researcher_sees_nothing_of_it(restricted):
    other = factories.signed_in_client(factories.make_user("Researcher"))
    seen = _sees(other, restricted)
    assert not any(seen.values()), seen


def test_coordinator_sees_nothing_of_it_not_even_in_exports_and_reports(
        coordinator_client, restricted):
    seen = _sees(coordinator_client, restricted)
    assert not any(seen.values()), seen


def test_verifier_and_administrator_see_it(verifier_client, administrator_client, restricted):
    for client in (verifier_client, administrator_client):
        seen = _sees(client, restricted)
        assert seen["list"] and seen["change"] and seen["autocomplete"]


def test_administrator_export_and_report_include_it(administrator_client, restricted):
    seen = _sees(administrator_client, restricted)
    assert seen["export"] and seen["report"]


def test_restricted_case_is_never_public(restricted, researcher, verifier, visitor):
    factories.publish(restricted, researcher, verifier)
    assert visitor.get(f"/cases/{restricted.reference}/").status_code == 404


def test_statement_exports_name_a_restricted_case_only_to_those_who_see_it(
        restricted, researcher, coordinator, administrator, coordinator_client,
        administrator_client, tmp_path):
    from django.core.management import call_command

    statement = factories.make_statement(researcher, reference="ST-2016-009")
    statement.cases.set([restricted])

    def admin_export(client) -> str:
        response = client.post("/admin/casework/statement/", {
            "action": "export_selected", "_selected_action": [statement.pk]})
        assert response.status_code == 200
        return b"".join(response.streaming_content).decode()

    def command_export(user) -> str:
        output = tmp_path / f"{user.username}.csv"
        call_command("export_statements", output=str(output), user=user.username,
                     stderr=open("/dev/null", "w"))
        return output.read_text()

    assert "ST-2016-009" in admin_export(coordinator_client)
    assert restricted.reference not in admin_export(coordinator_client)
    assert restricted.reference not in command_export(coordinator)
    assert restricted.reference in admin_export(administrator_client)
    assert restricted.reference in command_export(administrator)


def test_export_cases_under_a_user_exports_what_they_may_see(
        restricted, coordinator, administrator, tmp_path):
    from django.core.management import call_command

    def command_export(**options) -> str:
        output = tmp_path / "cases.csv"
        call_command("export_cases", output=str(output), stderr=open("/dev/null", "w"),
                     **options)
        return output.read_text()

    assert restricted.reference not in command_export(user=coordinator.username)
    assert restricted.reference in command_export(user=administrator.username)
    assert restricted.reference in command_export()  # server access: everything


def test_a_statement_form_neither_shows_nor_drops_a_restricted_case(restricted, researcher):
    visible = factories.make_case(researcher, reference="AZ-2016-010", title="Open case")
    statement = factories.make_statement(researcher, reference="ST-2016-010", quote="Words")
    statement.cases.set([restricted, visible])
    other = factories.signed_in_client(factories.make_user("Researcher"))
    url = f"/admin/casework/statement/{statement.pk}/change/"

    page = other.get(url)
    assert page.status_code == 200
    assert "Open case" in page.text
    assert "Restricted witness case" not in page.text and restricted.reference not in page.text

    statement.refresh_from_db()
    response = other.post(url, {
        "reference": statement.reference, "title": "", "speaker": "",
        "organisation": statement.organisation_id, "speaker_title": "", "said_on": "",
        "said_on_precision": "", "quote": "Words, corrected", "language": statement.language,
        "source": "", "cases": [visible.pk], "internal_notes": "",
        "version": statement.version,
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    statement.refresh_from_db()
    assert statement.quote == "Words, corrected"
    assert set(statement.cases.all()) == {restricted, visible}  # the hidden link kept


def test_an_import_neither_reveals_nor_changes_a_restricted_case_it_may_not_see(
        restricted, coordinator, administrator, tmp_path):
    from io import StringIO

    from django.core.management import CommandError, call_command

    from casework.models import Case
    from tests.csvfiles import STATEMENT_COLUMNS, case_row, statement_row, write_csv

    cases = write_csv(tmp_path / "cases.csv", [
        case_row(reference=restricted.reference, title="Overwritten"),
        case_row(reference="AZ-2020-050", title="Another case")])
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_cases", str(cases), user=coordinator.username, dry_run=True,
                     stdout=out, stderr=out)
    assert f"row 2, reference: {restricted.reference} is already taken" in out.getvalue()
    assert "updated" not in out.getvalue().replace("0 updated", "")
    probe = AuditEvent.objects.get(action="import")  # even a dry run leaves a trace
    assert probe.actor == coordinator and probe.details["dry_run"] is True
    assert probe.details["restricted_references"] == 1
    assert restricted.reference not in str(probe.details)
    call_command("import_cases", str(write_csv(tmp_path / "fine.csv", [
        case_row(reference="AZ-2020-051")])), user=coordinator.username, dry_run=True,
        stdout=StringIO())
    assert AuditEvent.objects.filter(action="import").count() == 1  # other dry runs: none
    statements = write_csv(tmp_path / "statements.csv", [
        statement_row(reference="ST-2020-050", cases=restricted.reference)],
        columns=STATEMENT_COLUMNS)
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_statements", str(statements), user=coordinator.username,
                     stdout=out, stderr=out)
    assert f"{restricted.reference} is not a case in the database" in out.getvalue()
    restricted.refresh_from_db()
    assert restricted.title == "Restricted witness case"
    assert not Case.objects.filter(reference="AZ-2020-050").exists()

    # Those who see it update it as before.
    call_command("import_cases", str(cases), user=administrator.username, stdout=StringIO())
    restricted.refresh_from_db()
    assert restricted.title == "Overwritten"


def test_reimporting_a_statement_export_keeps_links_the_importer_cannot_see(
        restricted, researcher, coordinator, tmp_path):
    import csv
    from io import StringIO

    from django.core.management import call_command

    from tests.csvfiles import STATEMENT_COLUMNS, write_csv

    visible = factories.make_case(researcher, reference="AZ-2016-001")
    statement = factories.make_statement(researcher, reference="ST-2016-009")
    statement.cases.set([visible, restricted])
    output = tmp_path / "statements.csv"
    call_command("export_statements", output=str(output), user=coordinator.username,
                 stderr=StringIO())
    out = StringIO()
    call_command("import_statements", str(output), user=coordinator.username, stdout=out)
    assert "0 statements were created, 0 updated, 1 unchanged" in out.getvalue()
    assert set(statement.cases.all()) == {visible, restricted}

    other = factories.make_case(researcher, reference="AZ-2016-002")
    rows = list(csv.DictReader(output.open(encoding="utf-8-sig", newline="")))
    rows[0]["cases"] = "AZ-2016-002"
    call_command("import_statements", str(write_csv(output, rows, columns=STATEMENT_COLUMNS)),
                 user=coordinator.username, stdout=StringIO())
    assert set(statement.cases.all()) == {other, restricted}  # the file's, and the hidden one


def test_involvement_and_statement_history_name_no_restricted_case(
        restricted, researcher, coordinator_client):
    """Involvements' history pages went through the model's manager (any involvement,
    restricted cases included), their version form listed every case, and a statement's
    list of changes named every case it was linked to."""
    secret = factories.involve(restricted, factories.make_person(researcher), description="x")
    open_case = factories.make_case(researcher, title="Open case")
    seen = factories.involve(open_case, factories.make_person(researcher))
    for url in (f"/admin/casework/involvement/{secret.pk}/history/",
                f"/admin/casework/involvement/{secret.pk}/history/"
                f"{secret.history.first().history_id}/"):
        assert coordinator_client.get(url).status_code == 404, url
    version = coordinator_client.get(f"/admin/casework/involvement/{seen.pk}/history/"
                                     f"{seen.history.first().history_id}/")
    assert version.status_code == 200 and open_case.reference in version.text
    assert restricted.reference not in version.text

    statement = factories.make_statement(researcher)
    statement.cases.set([open_case])
    statement._change_reason = "linked"
    statement.cases.set([open_case, restricted])  # by its author, who sees it
    history = coordinator_client.get(f"/admin/casework/statement/{statement.pk}/history/")
    assert history.status_code == 200 and open_case.reference in history.text
    assert restricted.reference not in history.text and restricted.title not in history.text
