"""On PostgreSQL, case_csv has the database write the CSV (COPY, for speed: issue 4).
It must write exactly the bytes that the Python serialiser writes, csv_lines(case_rows()),
for the internal export and, above all, for the public one."""

import csv
import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DataError, connection

from accounts.models import AuditEvent
from casework import exchange
from casework.dates import iso_partial_date, iso_partial_date_sql
from casework.exchange import (
    CASE_COLUMNS,
    case_csv,
    case_rows,
    csv_lines,
    neutralise_formula,
    neutralise_formula_sql,
)
from casework.models import Case, Person, Status, ViolationType
from tests import factories

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL path is PostgreSQL's"),
]

OPENINGS = ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tTab", "\rReturn", "'=quoted", "''=twice",
            "'", "''", "'plain", "plain", "a=b", " =space first", "\n=newline first", "",
            "\\.", "Ünïcödé; with, \"quotes\"\r\nand lines"]


def python_csv(queryset, public: bool) -> str:
    return "".join(csv_lines(case_rows(queryset, public=public), CASE_COLUMNS))


def database_csv(queryset, public: bool) -> str:
    return "".join(case_csv(queryset, public=public))


def _select(sql: str, values: list) -> list:
    with connection.cursor() as cursor:
        return [cursor.execute(sql, [value]).fetchone()[0] for value in values]


def test_sql_formula_neutralisation_agrees_with_python():
    sql = f"SELECT {neutralise_formula_sql('v')} FROM (SELECT %s::text AS v) t"  # noqa: S608
    assert _select(sql, OPENINGS) == [neutralise_formula(value) for value in OPENINGS]


def test_sql_partial_dates_agree_with_python():
    dates = [(datetime.date(2016, 5, 1), p) for p in ("year", "month", "day", "")] + [
        (datetime.date(1, 1, 1), "day"), (datetime.date(2, 1, 1), "year"),
        (datetime.date(9999, 12, 31), "day"), (datetime.date(2024, 2, 29), "day")]
    sql = (f"SELECT {iso_partial_date_sql('d', 'p')} "  # noqa: S608
           "FROM (SELECT (%s::text[])[1]::date AS d, (%s::text[])[2] AS p) t")
    with connection.cursor() as cursor:
        got = [cursor.execute(sql, [[d.isoformat(), p]] * 2).fetchone()[0] for d, p in dates]
    assert got == [iso_partial_date(d, p) for d, p in dates]


def test_public_name_expression_agrees_with_the_property(researcher):
    for identity_public in (True, False):
        for pseudonym in ("", "Defender A"):
            factories.make_person(researcher, name=f"Real {identity_public} {pseudonym}",
                                  identity_public=identity_public, pseudonym=pseudonym)
    people = Person.objects.annotate(shown=Person.public_name_expression()).order_by("pk")
    assert [p.shown for p in people] == [p.public_name for p in people]
    assert "Name withheld" in [p.shown for p in people]


@pytest.fixture
def awkward_cases(researcher):
    """Everything the two paths could disagree on, and everything the public must not see."""
    published = {"status": Status.PUBLISHED}
    minus = ViolationType.objects.create(slug="-minus-first", label="Aardvark")
    twin = ViolationType.objects.create(slug="twin-label", label="Aardvark")  # ties by id
    named = factories.make_person(researcher, name="=Named Xədicə, \"Jr\"", identity_public=True)
    pseudonymous = factories.make_person(researcher, name="Secret Real Name",
                                         pseudonym="+Defender; B")
    anonymous = factories.make_person(researcher, name="Other Secret Name")
    unpublished = factories.make_person(researcher, name="Draft Person", identity_public=True)
    court = factories.make_organisation(researcher, name="@Court of Ağır Cinayətlər")
    draft_org = factories.make_organisation(researcher, name="Draft Ministry")
    source = factories.make_source(researcher, url="https://pub.example/r?a=1;b=2")
    draft_source = factories.make_source(researcher, url="https://draft.example/2")
    citation_only = factories.make_source(researcher, url="", citation="Annual report")
    for record in (named, pseudonymous, anonymous, court, source, citation_only):
        type(record).objects.filter(pk=record.pk).update(**published)

    for n, opening in enumerate(OPENINGS, start=1):
        case = factories.make_case(
            researcher, reference=f"AZ-2016-{n:03d}", title=f"{opening}Title",
            summary=opening, location=opening, country="GE" if n % 3 else "AZ",
            started_on=datetime.date(2016, 1 + n % 12, 1 + n % 28),
            started_on_precision=("year", "month", "day")[n % 3],
            ended_on=datetime.date(2018, 1, 1) if n % 2 else None, ended_on_precision="year")
        case.violations.set([twin, 1, minus] if n % 2 else [3])
        case.rights.set([1, 2] if n % 2 else [])
        case.sources.set([draft_source, source, citation_only][: n % 4])
        parties = [named, pseudonymous, anonymous, unpublished, court, draft_org]
        for k, party in enumerate(parties[n % 3:]):
            factories.involve(case, party, role=("targeted", "lawyer", "perpetrator")[k % 3])
        factories.involve(case, draft_org, role="witness")  # never exported
    empty = factories.make_case(researcher, reference="AZ-2017-001", title="Nothing else")
    restricted = factories.make_case(researcher, reference="AZ-2017-002", restricted=True)
    draft = factories.make_case(researcher, reference="AZ-2017-003", title="Draft case")
    factories.involve(draft, named)
    for case in Case.objects.exclude(pk=draft.pk):
        Case.objects.filter(pk=case.pk).update(**published)
    return {"empty": empty, "restricted": restricted, "draft": draft}


@pytest.mark.parametrize("public", [False, True])
def test_database_csv_is_byte_for_byte_the_python_csv(awkward_cases, public):
    for queryset in (Case.objects.all(), Case.objects.filter(country="GE"),
                     Case.objects.filter(reference="AZ-2017-001"), Case.objects.none(),
                     Case.objects.filter(pk__in=[]),
                     Case.objects.published().filter(
                         pk__in=Case.objects.filter(title__contains="=").values("pk"))):
        assert database_csv(queryset, public) == python_csv(queryset, public)


def test_the_public_database_csv_shows_only_published_records_and_public_names(awkward_cases):
    public = database_csv(Case.objects.all(), public=True)
    for secret in ("Secret", "Draft", "draft.example", "AZ-2017-002", "AZ-2017-003"):
        assert secret not in public
    assert "'+Defender; B" in public and "Name withheld" in public
    internal = database_csv(Case.objects.all(), public=False)
    assert "Secret Real Name" in internal and "Draft Ministry" in internal
    assert "AZ-2017-002" in internal and "AZ-2017-003" in internal
    assert "Annual report" not in internal  # a source without a URL cannot travel in CSV
    # Empty cells are written as nothing, never as "" (COPY's way with empty strings).
    assert "\r\nAZ-2017-001,Nothing else,AZ,,,,,,,,,,\r\n" in public


def test_the_whole_export_is_one_streamed_query(awkward_cases, django_assert_max_num_queries):
    lines = case_csv(Case.objects.all(), public=True)
    assert next(lines) == ",".join(CASE_COLUMNS) + "\r\n"
    # savepoint, 2 SET LOCAL, COPY, 2 SET LOCAL … TO DEFAULT, release
    with django_assert_max_num_queries(8) as captured:
        rest = list(lines)
    assert len(rest) == Case.objects.published().count()
    reads = [q["sql"] for q in captured.captured_queries if q["sql"].startswith(("SELECT", "COPY"))]
    assert len(reads) == 1 and reads[0].startswith("COPY (SELECT")


@pytest.fixture
def spooled(monkeypatch):
    """Make every export of more than 4 cases "large", and keep the second halves."""
    halves = []

    class Recorded(exchange._SpooledCopy):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            halves.append(self)

    monkeypatch.setattr(exchange, "PARALLEL_EXPORT_CASES", 4)
    monkeypatch.setattr(exchange, "_SpooledCopy", Recorded)
    return halves


# Outside a transaction, as the admin, the commands and the public download run.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_large_export_written_in_two_halves_is_byte_for_byte_the_python_csv(
        awkward_cases, spooled):
    for queryset in (Case.objects.all(), Case.objects.filter(country="GE"),
                     Case.objects.filter(reference="AZ-2017-001")):
        assert database_csv(queryset, False) == python_csv(queryset, False)
    assert len(spooled) == 2  # the third export is small: one backend
    assert all(half.database.closed and half.file.closed for half in spooled)
    # Public downloads, which anyone may start, always keep to one backend.
    assert database_csv(Case.objects.all(), True) == python_csv(Case.objects.all(), True)
    assert len(spooled) == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_reader_that_stops_early_stops_the_second_half(awkward_cases, spooled):
    lines = case_csv(Case.objects.all(), public=False)
    assert next(lines) == ",".join(CASE_COLUMNS) + "\r\n"
    assert next(lines).startswith("AZ-2016-001,")
    lines.close()
    assert len(spooled) == 1
    assert spooled[0].database.closed and spooled[0].file.closed
    assert not spooled[0].thread.is_alive()
    assert not connection.in_atomic_block  # the export's transaction is over


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_failed_second_half_fails_the_export_with_a_database_error(
        awkward_cases, spooled, monkeypatch):
    recording = exchange._SpooledCopy.__init__

    def divide_by_zero(self, connection, snapshot, copy_sql):
        recording(self, connection, snapshot, "COPY (SELECT 1/0) TO STDOUT")

    monkeypatch.setattr(exchange._SpooledCopy, "__init__", divide_by_zero)
    with pytest.raises(DataError, match="division by zero"):
        list(case_csv(Case.objects.all(), public=False))
    assert spooled[0].database.closed and spooled[0].file.closed
    assert not connection.in_atomic_block


@pytest.mark.parametrize("public", [False, True])
def test_a_case_that_a_filter_would_repeat_is_exported_once(awkward_cases, public):
    twice = Case.objects.filter(violations__slug__in=["-minus-first", "twin-label"])
    assert twice.count() > twice.distinct().count()  # the join repeats cases
    exported = database_csv(twice, public)
    assert exported == python_csv(twice, public)
    rows = exported.split("\r\n")[1:-1]
    assert len(rows) == len(set(rows)) == twice.distinct().filter(
        **({"status": Status.PUBLISHED} if public else {})).count()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_export_cases_writes_both_halves_and_records_every_row(
        awkward_cases, spooled, coordinator, tmp_path):
    output = tmp_path / "cases.csv"
    call_command("export_cases", output=str(output), user=coordinator.username,
                 stderr=StringIO())
    assert len(spooled) == 1
    written = output.read_bytes().decode("utf-8")
    visible = Case.objects.visible_to(coordinator)  # not the restricted case
    assert written == python_csv(visible, public=False)
    event = AuditEvent.objects.filter(action="export").latest("id")
    rows = list(csv.reader(StringIO(written, newline="")))[1:]
    assert event.details["rows"] == visible.count() == len(rows)
