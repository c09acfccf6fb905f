"""Export -> import changes nothing; formula injection is neutralised and reversed."""

import csv
import datetime
import io
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import AuditEvent
from casework.exchange import CASE_COLUMNS
from casework.models import Case, Organisation, Person, Source, Statement, Status
from tests import factories

pytestmark = pytest.mark.django_db

TRICKY = {
    "title": 'Café "Ölüm" trial, day 1; appeal – Xədicə’s case',
    "summary": "First line, with commas; and semicolons.\nSecond line \"quoted\".\r\nThird.",
    "location": "=HYPERLINK(\"http://evil.example\")",
}
FORMULAS = ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tTabbed", "\rReturn", "'=already quoted"]


def export(**options) -> str:
    out = StringIO()
    call_command("export_cases", stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def import_file(path, user, **options) -> str:
    out, err = StringIO(), StringIO()
    try:
        call_command("import_cases", str(path), user=user.username, stdout=out, stderr=err,
                     **options)
    finally:
        print(err.getvalue())
    return out.getvalue()


@pytest.fixture
def tricky_cases(researcher, verifier):
    khadija = factories.make_person(researcher, name="Xədicə İsmayılova", identity_public=True)
    withheld = factories.make_person(researcher, name="Real Name, Withheld")
    factories.make_person(researcher, name="Ali Aliyev")
    namesake = factories.make_person(researcher, name="Ali Aliyev")
    court = factories.make_organisation(researcher, name="Bakı Ağır Cinayətlər Məhkəməsi")
    with_url = factories.make_source(researcher, url="https://example.org/r?a=1&b=2")
    citation_only = Source(citation="Annual report, p. 12", created_by=researcher)
    citation_only.save()
    cases = []
    for n, opening in enumerate(FORMULAS, start=1):
        case = factories.make_case(
            researcher, reference=f"AZ-2016-{n:03d}", title=f"{opening} {TRICKY['title']}",
            summary=f"{opening}{TRICKY['summary']}", location=TRICKY["location"],
            started_on=datetime.date(2016, 5, 1), started_on_precision="month",
        )
        case.violations.set([1, 3])
        case.rights.set([1])
        case.sources.set([with_url, citation_only])
        factories.involve(case, khadija)
        factories.involve(case, withheld, role="lawyer")
        factories.involve(case, namesake, role="lawyer")
        factories.involve(case, court, role="perpetrator")
        cases.append(factories.publish(case, researcher, verifier))
    return cases


def test_export_then_import_changes_nothing(tricky_cases, coordinator, tmp_path):
    # Saved before the import trimmed one-line cells: it still round-trips unchanged.
    Case.objects.filter(pk=tricky_cases[0].pk).update(title="  Padded title\u00a0",
                                                       location="Baku ")
    first = export()
    path = tmp_path / "export.csv"
    path.write_text(first, encoding="utf-8", newline="")
    counts = {m: m.objects.count() for m in (Case, Person, Organisation, Source, Statement)}
    history = {c.pk: c.history.count() for c in tricky_cases}
    versions = dict(Case.objects.values_list("pk", "version"))

    out = import_file(path, coordinator)

    assert f"0 updated, {len(FORMULAS)} unchanged (skipped)" in out
    assert {m: m.objects.count() for m in counts} == counts
    assert {c.pk: c.history.count() for c in tricky_cases} == history
    assert dict(Case.objects.values_list("pk", "version")) == versions
    assert set(Case.objects.values_list("status", flat=True)) == {Status.PUBLISHED}
    assert export() == first


def test_a_changed_export_imports_exactly_what_was_written(tricky_cases, coordinator, tmp_path):
    """Import must parse exactly what export writes: delete the cases, import them back."""
    first = export()
    for case in Case.objects.all():
        case.involvements.all().delete()
        case.delete()
    # Without the case to say which one was meant, a shared name would be ambiguous.
    Person.objects.filter(pk=Person.objects.filter(name="Ali Aliyev").earliest("pk").pk).update(
        name="Ali Aliyev Senior")
    path = tmp_path / "export.csv"
    path.write_text(first, encoding="utf-8", newline="")
    assert f"{len(FORMULAS)} cases were created" in import_file(path, coordinator)
    case = Case.objects.get(reference="AZ-2016-001")
    assert case.title == f"=1+2 {TRICKY['title']}"
    assert case.summary == f"=1+2{TRICKY['summary']}"
    assert Case.objects.get(reference="AZ-2016-006").title.startswith("\rReturn")
    assert Case.objects.get(reference="AZ-2016-007").title.startswith("'=already quoted")
    # Only the citation-only source could not travel in CSV.
    assert export() == first


def test_formula_cells_are_inert_in_the_export(tricky_cases):
    rows = list(csv.DictReader(io.StringIO(export(), newline="")))
    assert [row["title"][:2] for row in rows] == ["'=", "'+", "'-", "'@", "'\t", "'\r", "''"]
    assert rows[0]["location"].startswith("'=HYPERLINK")
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_export_cases_filters_by_status_and_writes_a_file(
    tricky_cases, researcher, coordinator, tmp_path
):
    factories.make_case(researcher, reference="AZ-2017-001", title="Draft one")
    draft_only = export(status="draft")
    assert draft_only.splitlines()[0] == ",".join(CASE_COLUMNS)
    assert [row["reference"] for row in csv.DictReader(io.StringIO(draft_only))] == [
        "AZ-2017-001"]
    output = tmp_path / "out.csv"
    call_command("export_cases", output=str(output), user=coordinator.username,
                 stderr=StringIO())
    assert output.read_bytes().count(b"AZ-201") == 8
    event = AuditEvent.objects.filter(action="export").latest("id")
    assert (event.actor, event.details["rows"], event.details["via"]) == (coordinator, 8, "command")
    assert event.details["filters"] == {"status": "any"}


def test_an_export_cut_short_is_recorded_too(tricky_cases, coordinator):
    class ClosedPipe(StringIO):
        def write(self, text):
            if self.tell() > 200:
                raise BrokenPipeError
            return super().write(text)

    with pytest.raises(BrokenPipeError):
        call_command("export_cases", user=coordinator.username, stdout=ClosedPipe())
    event = AuditEvent.objects.filter(action="export").latest("id")
    assert (event.actor, event.details["rows"], event.details["output"]) == (
        coordinator, 7, "stdout")


@pytest.mark.parametrize("command", ["export_cases", "export_statements"])
def test_an_output_that_cannot_be_written_is_a_plain_error_and_no_export(
        command, tricky_cases, coordinator, tmp_path):
    from django.core.management import CommandError

    for output, reason in ((tmp_path / "no-such-folder" / "out.csv", "No such file or directory"),
                           (tmp_path, "Is a directory")):
        with pytest.raises(CommandError, match=f"^Cannot write {output}: {reason}.$"):
            call_command(command, output=str(output), user=coordinator.username,
                         stderr=StringIO())
    assert not AuditEvent.objects.filter(action="export").exists()


def test_export_cases_refuses_a_user_without_the_export_permission(researcher):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="may not export"):
        export(user=researcher.username)


def test_statements_round_trip(coordinator, researcher, tmp_path):
    case = factories.make_case(researcher, reference="AZ-2016-001")
    statement = factories.make_statement(
        researcher, reference="ST-2016-001", quote='-"Quoted", with; semicolons\nand lines',
        said_on=datetime.date(2016, 11, 1), said_on_precision="month",
        speaker=factories.make_person(researcher, name="Nils Muižnieks"),
        source=factories.make_source(researcher, url="https://coe.example/s"),
    )
    statement.cases.set([case])
    # Saved before the import wrote codes as BCP 47 does, and with a padded title.
    Statement.objects.filter(pk=statement.pk).update(language="pt-br",
                                                     speaker_title=" Commissioner ")
    out = StringIO()
    call_command("export_statements", stdout=out)
    path = tmp_path / "statements.csv"
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    history = statement.history.count()
    result = StringIO()
    call_command("import_statements", str(path), user=coordinator.username, stdout=result)
    assert "1 unchanged (skipped)" in result.getvalue()
    assert statement.history.count() == history


def test_names_and_web_addresses_holding_the_list_separator_are_refused_in_the_admin(
        researcher_client):
    """A ";" would split them in two on the round trip (docs/csv-format.md)."""
    response = researcher_client.get("/admin/casework/person/add/")
    assert response.status_code == 200
    form = response.context["adminform"].form
    data = {name: "" for name in form.fields} | {
        "name": "Semi; Colon", "identity_public": "", "involvements-TOTAL_FORMS": "0",
        "involvements-INITIAL_FORMS": "0"}
    response = researcher_client.post("/admin/casework/person/add/", data)
    assert "A name cannot contain “;”" in response.text
    # Other names too: an import matches them one by one, and ";" splits a cell.
    response = researcher_client.post("/admin/casework/person/add/", {
        **data, "name": "Semi Colon", "other_names": "Semi; Colon"})
    assert "A name cannot contain “;”" in response.text
    response = researcher_client.post("/admin/casework/source/add/", {
        "url": "https://example.org/a;b", "citation": "Report"})
    assert "Write “;” in a web address as %3B" in response.text
    from casework.models import Person, Source
    assert not Person.objects.filter(name__startswith="Semi").exists()
    assert not Source.objects.exists()


def test_an_edited_public_download_keeps_the_people_it_shows_by_pseudonym(
        client, coordinator, researcher, verifier, tmp_path):
    """The public download writes a pseudonym for a person whose name it may not show:
    re-imported, the pseudonym keeps that person in the case instead of creating a
    person called by it and dropping the defender."""
    case = factories.make_case(researcher, reference="AZ-2016-001", title="A case")
    hidden = factories.make_person(researcher, name="Real Name", pseudonym="Activist A")
    shown = factories.make_person(researcher, name="Bob Public", identity_public=True)
    for person in (hidden, shown):
        factories.involve(case, factories.publish(person, researcher, verifier))
    factories.publish(case, researcher, verifier)
    public = client.get("/cases.csv")
    text = b"".join(public.streaming_content).decode("utf-8-sig")
    assert "Activist A" in text and "Real Name" not in text
    path = tmp_path / "cases.csv"
    path.write_text(text.replace("A case", "A case edited"), encoding="utf-8", newline="")
    out = import_file(path, coordinator)
    assert "0 cases were created, 1 updated" in out
    assert "row 2, AZ-2016-001: title" in out  # the title only: the same people
    assert sorted(case.involvements.values_list("person__name", flat=True)) == [
        "Bob Public", "Real Name"]
    assert not Person.objects.filter(name="Activist A").exists()
