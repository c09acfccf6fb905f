"""import_cases / import_statements on real files: samples, drafts, history, re-import."""

import csv
import io
import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import AuditEvent
from casework.models import (
    Case,
    Involvement,
    Organisation,
    Person,
    Source,
    Statement,
    Status,
)
from tests import factories
from tests.csvfiles import (
    SAMPLE_CASES,
    SAMPLE_STATEMENTS,
    STATEMENT_COLUMNS,
    case_row,
    read_rows,
    statement_row,
    write_csv,
)

pytestmark = pytest.mark.django_db


def run(command, *args, **options):
    out, err = StringIO(), StringIO()
    call_command(command, *map(str, args), stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def history_rows() -> int:
    return sum(m.history.count() for m in (Case, Statement, Person, Organisation, Source))


@pytest.mark.smoke
def test_sample_files_import_cleanly(coordinator):
    out, _ = run("import_cases", SAMPLE_CASES, user=coordinator.username)
    assert "5 cases were created" in out
    out, _ = run("import_statements", SAMPLE_STATEMENTS, user=coordinator.username)
    assert "3 statements were created" in out

    case = Case.objects.get(reference="AZ-2016-002")
    assert case.title == "Youth activist Giyas Ibrahimov sentenced to 10 years over graffiti"
    assert (case.started_on.isoformat(), case.started_on_precision) == ("2016-05-01", "month")
    assert (case.ended_on.isoformat(), case.ended_on_precision) == ("2016-10-25", "day")
    assert sorted(case.violations.values_list("slug", flat=True)) == [
        "arbitrary-detention", "ill-treatment", "imprisonment"]
    assert [i.person.name for i in case.involvements.filter(role="targeted")] == [
        "Giyas Ibrahimov"]
    assert [i.organisation.name for i in case.involvements.filter(role="perpetrator")] == [
        "Baku Court of Grave Crimes"]
    five = Case.objects.get(reference="AZ-2016-005")
    assert sorted(i.person.name for i in five.involvements.all()) == [
        "Dilgam Asgarov", "Shahbaz Guliyev"]

    osce = Statement.objects.get(reference="ST-2016-002")
    assert osce.organisation.name == "Organization for Security and Co-operation in Europe"
    assert osce.speaker.name == "Dunja Mijatović"
    assert list(osce.cases.values_list("reference", flat=True)) == ["AZ-2016-004"]
    # The speaker of ST-2016-003 is the defender of AZ-2016-003: matched, not duplicated.
    assert Person.objects.filter(name="Khadija Ismayilova").count() == 1


def test_statements_and_their_cases_in_one_run(coordinator):
    out, _ = run("import_statements", SAMPLE_STATEMENTS, user=coordinator.username,
                 cases=str(SAMPLE_CASES))
    assert "5 cases were created" in out and "3 statements were created" in out
    assert Statement.objects.get(reference="ST-2016-001").cases.get().reference == "AZ-2016-001"


def test_errors_of_a_run_with_two_files_name_their_file(coordinator, tmp_path):
    rows = read_rows(SAMPLE_CASES)
    rows[1]["started_on"] = "2016-13"
    cases = write_csv(tmp_path / "partner-cases.csv", rows)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command("import_statements", str(SAMPLE_STATEMENTS), cases=str(cases),
                     user=coordinator.username, stdout=out, stderr=err)
    assert err.getvalue().splitlines()[0].startswith("partner-cases.csv: row 3, started_on: ")
    assert "statements.csv: no errors, but nothing was imported" in out.getvalue()


def test_statements_naming_unknown_cases_are_refused(coordinator):
    with pytest.raises(CommandError):
        run("import_statements", SAMPLE_STATEMENTS, user=coordinator.username)
    assert not Statement.objects.exists()


def test_imported_records_are_drafts_attributed_to_the_importer(coordinator):
    run("import_cases", SAMPLE_CASES, user=coordinator.username)
    for model in (Case, Person, Organisation):
        assert set(model.objects.values_list("status", flat=True)) == {Status.DRAFT}
        assert set(model.objects.values_list("created_by", flat=True)) == {coordinator.pk}
    latest = Case.objects.get(reference="AZ-2016-001").history.latest()
    assert latest.history_user == coordinator
    assert latest.history_change_reason == "import from cases.csv"
    event = AuditEvent.objects.get(action="import")
    assert event.actor == coordinator
    assert event.details["file"] == "cases.csv"
    assert event.details["created"] == 5
    assert event.details["outcome"] == "imported"


def test_every_history_entry_of_an_imported_statement_names_the_file(coordinator, tmp_path):
    """Creating a statement and linking its cases are two history entries (the links
    come after the save): both say who imported it from which file, and so does a
    re-import that changes only the cases."""
    run("import_statements", SAMPLE_STATEMENTS, user=coordinator.username,
        cases=str(SAMPLE_CASES))
    statement = Statement.objects.get(reference="ST-2016-002")
    entries = list(statement.history.all())
    assert len(entries) >= 2
    assert {(e.history_user, e.history_change_reason) for e in entries} == {
        (coordinator, "import from statements.csv")}
    rows = read_rows(SAMPLE_STATEMENTS)
    for row in rows:
        if row["reference"] == "ST-2016-002":
            row["cases"] = "AZ-2016-004; AZ-2016-005"
    run("import_statements", write_csv(tmp_path / "relinked.csv", rows,
                                       columns=STATEMENT_COLUMNS), user=coordinator.username)
    new = statement.history.exclude(history_id__in=[e.history_id for e in entries])
    assert new.exists()
    assert {(e.history_user, e.history_change_reason) for e in new} == {
        (coordinator, "import from relinked.csv")}


def test_imported_people_are_not_public_by_default(coordinator):
    run("import_cases", SAMPLE_CASES, user=coordinator.username)
    giyas = Person.objects.get(name="Giyas Ibrahimov")
    assert giyas.identity_public is False
    assert giyas.public_name == "Name withheld"


def test_importing_the_same_file_twice_changes_nothing_the_second_time(coordinator):
    run("import_cases", SAMPLE_CASES, user=coordinator.username)
    run("import_statements", SAMPLE_STATEMENTS, user=coordinator.username)
    versions = dict(Case.objects.values_list("reference", "version"))
    before = history_rows()
    out, _ = run("import_cases", SAMPLE_CASES, user=coordinator.username)
    assert "0 cases were created, 0 updated, 5 unchanged (skipped)" in out
    out, _ = run("import_statements", SAMPLE_STATEMENTS, user=coordinator.username)
    assert "0 statements were created, 0 updated, 3 unchanged (skipped)" in out
    assert history_rows() == before
    assert dict(Case.objects.values_list("reference", "version")) == versions


def test_dry_run_writes_nothing_and_says_what_would_happen(coordinator):
    out, _ = run("import_cases", SAMPLE_CASES, user=coordinator.username, dry_run=True)
    assert "5 cases would be created" in out
    assert "5 people" in out  # new related records are counted, never named
    assert not Case.objects.exists() and not Person.objects.exists()
    assert not AuditEvent.objects.filter(action="import").exists()


def test_reimport_updates_changed_rows_and_a_published_case_goes_back_to_draft(
    coordinator, researcher, verifier, tmp_path
):
    path = write_csv(tmp_path / "one.csv", [case_row(title="First title")])
    run("import_cases", path, user=coordinator.username)
    case = factories.publish(Case.objects.get(), researcher, verifier)
    assert case.status == Status.PUBLISHED

    write_csv(path, [case_row(title="Corrected title"),
                     case_row(reference="AZ-2020-002", title="New one")])
    out, _ = run("import_cases", path, user=coordinator.username)
    assert "1 case was created, 1 updated, 0 unchanged" in out
    case.refresh_from_db()
    assert case.title == "Corrected title"
    assert case.status == Status.DRAFT  # re-vetting: imported text is not yet verified
    assert case.updated_by == coordinator


def test_a_relation_only_change_also_sends_a_published_case_back_to_draft(
    coordinator, researcher, verifier, tmp_path
):
    path = write_csv(tmp_path / "one.csv", [case_row(violations="censorship")])
    run("import_cases", path, user=coordinator.username)
    case = factories.publish(Case.objects.get(), researcher, verifier)
    write_csv(path, [case_row(violations="censorship; travel-ban")])
    run("import_cases", path, user=coordinator.username)
    case.refresh_from_db()
    assert case.status == Status.DRAFT
    assert sorted(case.violations.values_list("slug", flat=True)) == ["censorship", "travel-ban"]


def test_a_people_only_change_sends_a_published_case_back_to_draft_by_the_import(
    coordinator, researcher, verifier, tmp_path
):
    path = write_csv(tmp_path / "one.csv", [case_row(defenders="Ann One")])
    run("import_cases", path, user=coordinator.username)
    case = factories.publish(Case.objects.get(), researcher, verifier)
    write_csv(path, [case_row(defenders="Ann One; Bob Two")])
    out, _ = run("import_cases", path, user=coordinator.username)
    assert "0 cases were created, 1 updated" in out
    case.refresh_from_db()
    assert case.status == Status.DRAFT
    assert case.review_note.startswith("Changed by import from one.csv")
    assert sorted(i.person.name for i in case.involvements.all()) == ["Ann One", "Bob Two"]
    withdrawn = case.history.filter(status=Status.DRAFT).latest()
    assert withdrawn.history_user == coordinator


def test_a_changed_case_list_sends_a_published_statement_back_to_draft_by_the_import(
    coordinator, researcher, verifier, tmp_path
):
    run("import_statements", SAMPLE_STATEMENTS, user=coordinator.username,
        cases=str(SAMPLE_CASES))
    statement = factories.publish(Statement.objects.get(reference="ST-2016-002"),
                                  researcher, verifier)
    rows = list(csv.DictReader(io.StringIO(SAMPLE_STATEMENTS.read_text(encoding="utf-8"))))
    for row in rows:
        if row["reference"] == "ST-2016-002":
            row["cases"] = "AZ-2016-004; AZ-2016-005"
    path = write_csv(tmp_path / "statements.csv", rows, columns=STATEMENT_COLUMNS)
    run("import_statements", path, user=coordinator.username)
    statement.refresh_from_db()
    assert statement.status == Status.DRAFT
    assert statement.review_note.startswith("Changed by import from statements.csv")
    assert sorted(statement.cases.values_list("reference", flat=True)) == [
        "AZ-2016-004", "AZ-2016-005"]


def test_people_not_listed_any_more_leave_the_case_but_witnesses_stay(coordinator, tmp_path):
    path = write_csv(tmp_path / "one.csv", [case_row(defenders="Ann One; Bob Two")])
    run("import_cases", path, user=coordinator.username)
    case = Case.objects.get()
    witness = factories.make_person(coordinator, name="Wit Ness")
    factories.involve(case, witness, role="witness")
    write_csv(path, [case_row(defenders="Bob Two")])
    run("import_cases", path, user=coordinator.username)
    assert sorted((i.role, i.person.name) for i in case.involvements.all()) == [
        ("targeted", "Bob Two"), ("witness", "Wit Ness")]


def test_import_needs_a_user_with_the_import_permission(researcher, verifier):
    for user in (researcher, verifier):
        with pytest.raises(CommandError, match="may not import"):
            run("import_cases", SAMPLE_CASES, user=user.username)
    with pytest.raises(CommandError, match="No active user"):
        run("import_cases", SAMPLE_CASES, user="nobody")
    assert not Case.objects.exists()


def test_long_imports_show_progress(coordinator, tmp_path):
    rows = [case_row(reference=f"AZ-2020-{n:04d}", title=f"Case {n}") for n in range(1, 1001)]
    path = write_csv(tmp_path / "many.csv", rows)
    out, err = run("import_cases", path, user=coordinator.username, dry_run=True)
    assert "checking: 1,000/1,000 rows" in err
    assert "writing (a dry run: undone at the end): 1,000/1,000 rows" in err
    assert "1,000 cases would be created" in out
    assert not Case.objects.exists()


def test_the_summary_counts_in_words(coordinator, tmp_path):
    path = write_csv(tmp_path / "one.csv", [case_row(defenders="Ann One",
                                                     sources="https://example.org/1")])
    out, _ = run("import_cases", path, user=coordinator.username)
    assert out.startswith("one.csv: imported. 1 case was created, 0 updated, 0 unchanged "
                          "(skipped). New related records (as drafts): 1 person, 1 source.")


@pytest.mark.parametrize("bulk", [True, False])
def test_batch_and_row_by_row_creation_write_the_same(coordinator, monkeypatch, bulk):
    from casework.importing import CaseImporter

    monkeypatch.setattr(CaseImporter, "BULK_CREATE", bulk)
    run("import_cases", SAMPLE_CASES, user=coordinator.username)
    out = StringIO()
    call_command("export_cases", stdout=out)
    def rows(text):
        return [{k: sorted(v.split("; ")) if k == "violations" else v for k, v in row.items()}
                for row in csv.DictReader(io.StringIO(text, newline=""))]

    assert rows(out.getvalue()) == rows(SAMPLE_CASES.read_text(encoding="utf-8"))
    case = Case.objects.get(reference="AZ-2016-002")
    assert (case.status, case.version, case.created_by, case.updated_by) == (
        Status.DRAFT, 1, coordinator, coordinator)
    latest = case.history.latest()
    assert sorted(v.violationtype.slug for v in latest.violations.all()) == [
        "arbitrary-detention", "ill-treatment", "imprisonment"]
    assert (latest.history_user, latest.history_change_reason) == (
        coordinator, "import from cases.csv")
    involvement = case.involvements.get(role="targeted")
    assert involvement.history.get().history_user == coordinator
    person = involvement.person
    assert (person.status, person.version, person.identity_public) == (Status.DRAFT, 1, False)
    assert person.history.get().history_change_reason == "import from cases.csv"


def _everything_written():
    """Every record and link an import of new cases writes, and the latest history entry
    of each record with its m2m snapshot, by natural keys (ids and times left out: the
    sequences and the clock move on between two imports)."""
    from django.db.models import Model

    def natural(value):
        if isinstance(value, Case):
            return value.reference
        if isinstance(value, (Person, Organisation)):
            return value.name
        if isinstance(value, Source):
            return value.url
        return value.pk if isinstance(value, Model) else value

    def fields(record, skip=()):
        left_out = {"id", "created_at", "updated_at", "history_id", "history_date", *skip}
        return tuple(sorted(
            (field.name, repr(natural(getattr(record, field.name))))
            for field in record._meta.concrete_fields if field.name not in left_out))

    written = {}
    for model in (Case, Source, Person, Organisation, Involvement):
        written[model.__name__] = sorted(fields(record) for record in model.objects.all())
        latest = [record.history.latest() for record in model.objects.all()]
        # (Row by row, the links added after save() write "~" entries after the "+".)
        written[f"history of {model.__name__}"] = sorted(
            fields(entry, skip={"history_relation", "history_type"}) for entry in latest)
        if model is Case:
            written["m2m snapshots"] = sorted(
                (entry.reference, name, sorted(repr(natural(getattr(link, link_field)))
                                               for link in getattr(entry, name).all()))
                for entry in latest
                for name, link_field in (("violations", "violationtype"), ("rights", "right"),
                                         ("sources", "source")))
    for name in ("violations", "rights", "sources"):
        written[name] = sorted((case.reference, sorted(repr(natural(record)) for record
                                                       in getattr(case, name).all()))
                               for case in Case.objects.all())
    return written


def test_batch_creation_writes_every_field_as_save_does(coordinator, monkeypatch, tmp_path):
    """The batch path writes rows without a model instance for each: every column of every
    record, link and latest history entry must be what save() one by one writes."""
    from django.db import transaction

    from casework.importing import CaseImporter

    factories.make_source(coordinator, url="https://example.org/known")
    rows = [*read_rows(SAMPLE_CASES),
            case_row(reference="AZ-2020-001", started_on="2019", ended_on="2020-02",
                     sources="https://example.org/known; https://example.org/new",
                     defenders="Ann One", perpetrators="Ann One; Some Ministry"),
            case_row(reference="AZ-2020-002", title="Another", started_on="2020-03-04",
                     sources="https://example.org/new", lawyers="Ann One",
                     location=" Gəncə ", summary="Two\nlines")]
    path = write_csv(tmp_path / "cases.csv", rows)
    written = {}
    for bulk in (False, True):
        monkeypatch.setattr(CaseImporter, "BULK_CREATE", bulk)
        with transaction.atomic():
            run("import_cases", path, user=coordinator.username)
            written[bulk] = _everything_written()
            if bulk:  # one entry each, with its m2m snapshot
                assert set(Case.history.values_list("history_type", flat=True)) == {"+"}
            transaction.set_rollback(True)
    assert len(written[True]["Case"]) == len(rows)
    assert len(written[True]["Source"]) == 2 and len(written[True]["Involvement"]) > len(rows)
    for kind, rows in written[False].items():
        assert written[True][kind] == rows, kind


@pytest.mark.parametrize("bulk", [True, False])
def test_batch_and_row_by_row_updates_write_the_same(
        coordinator, researcher, verifier, client, tmp_path, monkeypatch, bulk):
    """Rows that change a case's own fields, not its relations, are written in batches:
    with the same optimistic locking, re-vetting, versions, history and m2m snapshots as
    save() one by one."""
    from casework.importing import CaseImporter

    run("import_cases", SAMPLE_CASES, user=coordinator.username)
    published = Case.objects.get(reference="AZ-2016-002")
    published.created_by = researcher
    published.save()
    factories.publish(published, researcher, verifier)
    assert client.get("/cases/", {"q": "graffiti"}).context["total"] == 1
    rows = read_rows(SAMPLE_CASES)
    for row in rows:
        row["title"] += " (corrected)"
    changed = write_csv(tmp_path / "corrected.csv", rows)
    monkeypatch.setattr(CaseImporter, "BULK_UPDATE", bulk)
    out, _ = run("import_cases", changed, user=coordinator.username)
    assert f"{len(rows)} updated" in out

    for case in Case.objects.all():
        assert case.title.endswith(" (corrected)")
        assert (case.status, case.updated_by) == (Status.DRAFT, coordinator)
        latest = case.history.latest()
        assert (latest.history_type, latest.history_user, latest.title) == (
            "~", coordinator, case.title)
        assert sorted(v.violationtype_id for v in latest.violations.all()) == sorted(
            case.violations.values_list("pk", flat=True))
        assert sorted(s.source_id for s in latest.sources.all()) == sorted(
            case.sources.values_list("pk", flat=True))
        assert case.history.count() == (2 if case != published else 6)
    published.refresh_from_db()
    assert published.version == 6  # 1 imported, 2 saved, 3–5 the workflow, 6 this import
    assert published.review_note == "Edited after verification: back to draft for re-vetting."
    assert published.history.latest().history_change_reason == (
        "import from corrected.csv; Edited after verification: back to draft for re-vetting.")
    assert client.get("/cases/", {"q": "graffiti"}).context["total"] == 0  # off the site
    out, _ = run("import_cases", changed, user=coordinator.username)  # again: nothing to do
    assert f"0 updated, {len(rows)} unchanged" in out and published.history.count() == 6


@pytest.mark.parametrize("bulk", [True, False])
def test_batch_and_row_by_row_relation_changes_write_the_same(
        coordinator, researcher, verifier, client, tmp_path, monkeypatch, bulk):
    """Rows that change a case's violations, rights, sources and people are written in
    batches too: the links the file drops deleted, new ones added, an involvement's
    history row for each, a vetted case back to draft, one "~" history entry with the
    m2m snapshot; a source without a web address and a witness stay."""
    from casework.importing import CaseImporter

    run("import_cases", SAMPLE_CASES, user=coordinator.username)
    published = Case.objects.get(reference="AZ-2016-002")
    published.created_by = researcher
    published.save()
    offline = Source.objects.create(citation="Interview notes", created_by=researcher)
    published.sources.add(offline)
    witness = Person.objects.create(name="A neighbour", created_by=researcher)
    published.involvements.create(person=witness, role="witness")
    published.refresh_from_db()
    factories.publish(published, researcher, verifier)
    assert client.get("/cases/", {"q": "graffiti"}).context["total"] == 1
    history_before = {case.pk: case.history.count() for case in Case.objects.all()}

    rows = read_rows(SAMPLE_CASES)
    by_reference = {row["reference"]: row for row in rows}
    graffiti = by_reference["AZ-2016-002"]
    graffiti["violations"] = "arbitrary-detention; imprisonment"  # ill-treatment dropped
    graffiti["rights"] = "expression; peaceful-assembly"
    graffiti["lawyers"] = "Elchin Sadigov"  # a new person
    graffiti["sources"] = "https://example.org/graffiti"
    by_reference["AZ-2016-005"]["defenders"] = "Dilgam Asgarov"  # one of two dropped
    by_reference["AZ-2016-001"]["perpetrators"] = ""
    by_reference["AZ-2016-001"]["title"] += " (corrected)"  # own fields and relations
    changed = write_csv(tmp_path / "relinked.csv", rows)
    monkeypatch.setattr(CaseImporter, "BULK_UPDATE", bulk)
    if bulk:  # in batches: no save() of a case or an involvement, row by row
        def refuse(self, *args, **kwargs):
            raise AssertionError(f"{self!r} saved row by row")
        monkeypatch.setattr(Case, "save", refuse)
        monkeypatch.setattr(Involvement, "save", refuse)
    out, _ = run("import_cases", changed, user=coordinator.username)
    assert "3 updated, 2 unchanged" in out
    monkeypatch.undo()

    exported = StringIO()
    call_command("export_cases", stdout=exported)
    def normalised(text):
        return {row["reference"]: {k: sorted(v.split("; ")) for k, v in row.items()}
                for row in csv.DictReader(io.StringIO(text, newline=""))}
    assert normalised(exported.getvalue()) == normalised(changed.read_text(encoding="utf-8"))

    published.refresh_from_db()
    assert (published.status, published.updated_by, published.review_note) == (
        Status.DRAFT, coordinator,
        "Changed by import from relinked.csv: back to draft for re-vetting.")
    assert published.history.filter(
        history_user=coordinator, history_change_reason=published.review_note).exists()
    assert client.get("/cases/", {"q": "graffiti"}).context["total"] == 0  # off the site
    assert offline in published.sources.all()
    assert published.involvements.filter(role="witness", person=witness).exists()
    lawyer = published.involvements.get(role="lawyer").person
    assert (lawyer.name, lawyer.status, lawyer.created_by) == (
        "Elchin Sadigov", Status.DRAFT, coordinator)
    for case in Case.objects.filter(reference__in=["AZ-2016-001", "AZ-2016-002",
                                                   "AZ-2016-005"]):
        latest = case.history.latest()
        assert (latest.history_type, latest.history_user, latest.version) == (
            "~", coordinator, case.version)
        assert "import from relinked.csv" in latest.history_change_reason
        for name, field in (("violations", "violationtype_id"), ("rights", "right_id"),
                            ("sources", "source_id")):
            assert sorted(getattr(link, field) for link in getattr(latest, name).all()) == \
                sorted(getattr(case, name).values_list("pk", flat=True)), name
        assert case.history.count() > history_before[case.pk]
    dropped = Involvement.history.get(history_type="-", person__name="Shahbaz Guliyev")
    added = Involvement.history.get(history_type="+", person=lawyer)
    for entry in (dropped, added):
        assert (entry.history_user, entry.history_change_reason) == (
            coordinator, "import from relinked.csv")
    assert not Involvement.objects.filter(person__name="Shahbaz Guliyev").exists()

    unchanged = Case.objects.get(reference="AZ-2016-003")
    assert unchanged.history.count() == history_before[unchanged.pk]
    before = history_rows()
    out, _ = run("import_cases", changed, user=coordinator.username)  # again: nothing to do
    assert "0 updated, 5 unchanged" in out and history_rows() == before


def between_checking_and_writing(monkeypatch, meanwhile, kind="cases") -> None:
    """Imports of `kind` run `meanwhile()` after checking their file, before writing it,
    as a colleague's change would."""
    from casework.importing import IMPORTERS

    importer = IMPORTERS[kind]
    validate = importer.validate

    def validate_then_colleague(self, parsed):
        plans = validate(self, parsed)
        meanwhile()
        return plans

    monkeypatch.setattr(importer, "validate", validate_then_colleague)


def import_failing(path, coordinator) -> str:
    """import_cases on `path`, which must fail with nothing imported: its output."""
    out = StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_cases", str(path), user=coordinator.username, stdout=out,
                     stderr=out)
    return out.getvalue()


def import_corrected_titles_while(meanwhile, coordinator, tmp_path, monkeypatch,
                                  **row_changes) -> str:
    """Import the sample with every title corrected (and `row_changes` to its third
    row) while `meanwhile()` runs between checking the file and writing it; the import
    must fail. Its output."""
    run("import_cases", SAMPLE_CASES, user=coordinator.username)
    rows = read_rows(SAMPLE_CASES)
    for row in rows:
        row["title"] += " (corrected)"
    rows[2].update(row_changes)
    between_checking_and_writing(monkeypatch, meanwhile)
    return import_failing(write_csv(tmp_path / "corrected.csv", rows), coordinator)


@pytest.mark.parametrize("bulk", [True, False])
def test_a_case_deleted_while_its_file_was_checked_is_named_not_a_traceback(
        coordinator, tmp_path, monkeypatch, bulk):
    from casework.importing import CaseImporter

    monkeypatch.setattr(CaseImporter, "BULK_UPDATE", bulk)
    out = import_corrected_titles_while(
        lambda: Case.objects.get(reference="AZ-2016-003").delete(),
        coordinator, tmp_path, monkeypatch,
        sources="https://example.org/new")  # a relation changes too
    assert "could not be saved: case “AZ-2016-003: " in out
    assert "was deleted by someone else" in out
    assert not Case.objects.filter(title__endswith="(corrected)").exists()
    assert not Source.objects.filter(url="https://example.org/new").exists()


def test_a_case_changed_while_its_file_was_checked_is_not_overwritten(
        coordinator, researcher, tmp_path, monkeypatch):
    def colleague_edits():
        case = Case.objects.get(reference="AZ-2016-002")
        case.summary = "A colleague's correction"
        case.save()

    out = import_corrected_titles_while(colleague_edits, coordinator, tmp_path, monkeypatch)
    assert "could not be saved" in out
    assert "was changed by someone else" in out
    assert not Case.objects.filter(title__endswith="(corrected)").exists()


def import_new_cases_while(meanwhile, coordinator, tmp_path, monkeypatch, rows) -> str:
    """Import `rows` (new cases) while `meanwhile()` runs between checking the file and
    writing it; the import must fail with nothing written. Its output."""
    between_checking_and_writing(monkeypatch, meanwhile)
    out = import_failing(write_csv(tmp_path / "new.csv", rows), coordinator)
    assert not Case.objects.filter(title__startswith="New case").exists()
    return out


def deleted_by_a_colleague(record):
    """Deletes `record` in another connection and transaction, committed."""
    def delete():
        worker = threading.Thread(target=lambda: (record.delete(), connection.close()))
        worker.start()
        worker.join()
    return delete


def test_a_database_error_in_a_batch_names_the_row_of_the_reference_it_names(
        coordinator, researcher, tmp_path, monkeypatch):
    factories.make_case(researcher, reference="AZ-2030-002", title="Existing")
    rows = [case_row(reference=f"AZ-2030-00{i}", title=f"New case {i}") for i in (1, 2, 3)]
    out = import_new_cases_while(
        lambda: factories.make_case(researcher, reference="AZ-2030-003", title="Taken"),
        coordinator, tmp_path, monkeypatch, rows)
    # Rows 2 and 4 (new) are written in one statement, row 3 updates a case. The
    # database's reason names the reference taken meanwhile: the error is on its row,
    # not on the batch's first (nor on row 3, which was not in the batch).
    assert "row 4: could not be saved: duplicate key value" in out
    assert "Key (reference)=(AZ-2030-003) already exists" in out
    assert "row 2:" not in out and "row 3:" not in out


def test_a_database_refusal_while_copying_history_gives_its_own_reason(coordinator):
    """The history copies run with a planner setting that is put back afterwards; when the
    copy itself fails, the database's reason is what the user reads (not the error of
    putting the setting back in an aborted transaction)."""
    with connection.cursor() as cursor:
        cursor.execute("""
            CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'the history store is read-only today'; END $$;
            CREATE TRIGGER refuse BEFORE INSERT ON casework_historicalcase
            FOR EACH ROW EXECUTE FUNCTION refuse();""")
    out = import_failing(SAMPLE_CASES, coordinator)
    assert "the history store is read-only today" in out
    assert "transaction is aborted" not in out
    assert not Case.objects.exists()


def test_the_history_copies_leave_the_planner_settings_as_they_were(coordinator):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        run("import_cases", SAMPLE_CASES, user=coordinator.username)
        cursor.execute("SHOW enable_seqscan")
        assert cursor.fetchone()[0] == "off"  # the caller's, not the server's default


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_person_deleted_while_the_file_was_checked_is_reported_not_a_traceback(
        coordinator, researcher, tmp_path, monkeypatch):
    # The links are checked by the database when the import commits: a person deleted
    # by a colleague meanwhile fails there, for the file as a whole.
    person = factories.make_person(researcher, name="Ayla Karimova")
    rows = [case_row(reference="AZ-2030-001", title="New case", defenders="Ayla Karimova",
                     sources="https://example.org/report")]
    out = import_new_cases_while(deleted_by_a_colleague(person), coordinator, tmp_path,
                                 monkeypatch, rows)
    assert not Person.objects.exists()
    assert "\nThe import could not be saved when it was committed: " in "\n" + out
    assert 'violates foreign key constraint' in out and "casework_person" in out
    assert not Source.objects.exists() and not Involvement.objects.exists()
    assert AuditEvent.objects.get(action=AuditEvent.Action.IMPORT).details["outcome"] == (
        "rejected")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_admins_import_reports_a_refusal_at_commit_for_the_file(
        coordinator, researcher, monkeypatch):
    # import_file runs the importer in its own transaction, as the admin's confirm step
    # does (resources.import_data): the commit is the importer's.
    from casework.importing import import_file
    from tests.csvfiles import csv_bytes

    person = factories.make_person(researcher, name="Ayla Karimova")
    between_checking_and_writing(monkeypatch, deleted_by_a_colleague(person))
    data = csv_bytes([case_row(reference="AZ-2030-001", defenders="Ayla Karimova")])
    report = import_file("cases", data, "new.csv", coordinator)
    assert [str(error).split(": ", 1)[0] for error in report.errors] == [
        "The import could not be saved when it was committed"]
    assert not report.ok and not Case.objects.exists()


def test_a_dry_run_names_the_published_cases_it_would_send_back_to_draft(
        coordinator, researcher, verifier, tmp_path):
    run("import_cases", SAMPLE_CASES, user=coordinator.username)
    for reference in ("AZ-2016-002", "AZ-2016-003"):
        factories.publish(Case.objects.get(reference=reference), researcher, verifier)
    rows = read_rows(SAMPLE_CASES)
    for row in rows:
        row["title"] += " (corrected)"
    out, _ = run("import_cases", write_csv(tmp_path / "corrected.csv", rows),
                 user=coordinator.username, dry_run=True)
    assert ("2 of the cases to update are in review, verified or published (AZ-2016-002, "
            "AZ-2016-003): they would go back to draft") in out
    assert Case.objects.filter(status=Status.PUBLISHED).count() == 2


def test_a_run_says_what_each_update_changes(coordinator, tmp_path):
    run("import_cases", SAMPLE_CASES, user=coordinator.username)
    rows = read_rows(SAMPLE_CASES)
    rows[0]["title"] += " (corrected)"
    rows[1].update(sources=rows[1]["sources"] + "; https://example.org/new",
                   lawyers="Intigam Aliyev", ended_on="2016-10")
    path = write_csv(tmp_path / "corrected.csv", rows)
    for dry_run in (True, False):
        out, _ = run("import_cases", path, user=coordinator.username, dry_run=dry_run)
        lines = out.splitlines()
        start = lines.index("What the updates change (row, reference: columns):")
        assert lines[start + 1:] == ["  row 2, AZ-2016-001: title",
                                     "  row 3, AZ-2016-002: ended_on, lawyers, sources"]
    out, _ = run("import_cases", path, user=coordinator.username)  # again: nothing to say
    assert "What the updates change" not in out
    statements = read_rows(SAMPLE_STATEMENTS)
    run("import_statements", SAMPLE_STATEMENTS, user=coordinator.username)
    statements[2]["quote"] += " More."
    out, _ = run("import_statements", write_csv(tmp_path / "statements.csv", statements,
                                                STATEMENT_COLUMNS),
                 user=coordinator.username, dry_run=True)
    assert out.splitlines()[-1] == f"  row 4, {statements[2]['reference']}: quote"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_refusal_at_commit_is_put_on_the_file_whose_table_refused(
        coordinator, researcher, tmp_path, monkeypatch):
    speaker = factories.make_person(researcher, name="Dunja Mijatović")
    cases = write_csv(tmp_path / "cases.csv", [case_row()])
    statements = write_csv(tmp_path / "statements.csv", [statement_row(
        cases="AZ-2020-001", speaker="Dunja Mijatović", organisation="")],
        STATEMENT_COLUMNS)
    between_checking_and_writing(monkeypatch, deleted_by_a_colleague(speaker), "statements")
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command("import_statements", str(statements), cases=str(cases),
                     user=coordinator.username, stdout=out, stderr=err)
    assert err.getvalue().startswith(
        "statements.csv: The import could not be saved when it was committed: ")
    assert "cases.csv: no errors, but nothing was imported" in out.getvalue()
    assert not Case.objects.exists() and not Statement.objects.exists()


@pytest.mark.parametrize("bulk", [True, False])
def test_an_import_sends_a_case_in_review_back_to_draft(coordinator, researcher, tmp_path,
                                                       monkeypatch, bulk):
    from casework.importing import CaseImporter

    monkeypatch.setattr(CaseImporter, "BULK_UPDATE", bulk)
    run("import_cases", SAMPLE_CASES, user=coordinator.username)
    case = Case.objects.get(reference="AZ-2016-002")
    case.submit_for_review(researcher)
    rows = read_rows(SAMPLE_CASES)
    rows[1]["title"] += " (corrected)"
    out, _ = run("import_cases", write_csv(tmp_path / "corrected.csv", rows),
                 user=coordinator.username)
    assert "1 of them was in review, verified or published: it went back to draft" in out
    case.refresh_from_db()
    assert (case.status, case.review_note) == (
        Status.DRAFT, "Edited while in review: back to draft, to be submitted again.")


def test_writing_rows_refuses_a_name_that_is_no_column(coordinator):
    """create_rows takes columns by attname: a ForeignKey given by its field name would be
    dropped silently (authorship lost), so it is refused."""
    from casework.bulk import create_rows

    with pytest.raises(ValueError, match="no column created_by"):
        create_rows(Organisation, {"created_by": coordinator}, [{"name": "Ministry"}])
    [pk] = create_rows(Organisation, {"created_by_id": coordinator.pk, "kind": "other"},
                       [{"name": "Ministry", "kind": "court"}])
    assert (Organisation.objects.get(pk=pk).created_by, Organisation.objects.get(pk=pk).kind
            ) == (coordinator, "court")


def test_overlapping_imports_keep_the_collector_frozen_until_the_last_ends():
    import gc

    from casework.importing import _frozen

    with _frozen():
        with _frozen():
            assert gc.get_freeze_count()
        assert gc.get_freeze_count()  # the other import is still writing
    assert not gc.get_freeze_count()
