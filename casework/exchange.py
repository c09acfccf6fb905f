"""The CSV exchange format (docs/csv-format.md): one format for import, export and the
public download.

This module turns records into rows. `case_rows(queryset, public=...)` is the single
serialiser for cases: the admin export, `export_cases` and the public `/cases.csv` all
use it. With public=True it only ever reads published people, organisations and sources
and people's public names; the caller must pass `Case.objects.published()`.
"""

import csv
from collections.abc import Iterable, Iterator

from django.db.models import Prefetch, Q

from casework.dates import iso_partial_date
from casework.models import Case, Involvement, Organisation, Person, Source, Statement

CASE_COLUMNS = [
    "reference", "title", "country", "location", "started_on", "ended_on", "violations",
    "rights", "defenders", "lawyers", "perpetrators", "summary", "sources",
]
STATEMENT_COLUMNS = [
    "reference", "speaker", "speaker_title", "organisation", "said_on", "quote", "language",
    "source_url", "cases",
]
MULTI_SEPARATOR = ";"

# A cell starting with one of these is a formula to a spreadsheet (OWASP: CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: str) -> str:
    """Prefix a quote so spreadsheets show the cell as text. Reversed by restore_formula.

    A value that already starts with quotes before a trigger gets one more, so that the
    round trip is exact for every string.
    """
    if value.lstrip("'").startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def restore_formula(value: str) -> str:
    if value.startswith("'") and value.lstrip("'").startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value


def join_multi(values: Iterable[str]) -> str:
    return f"{MULTI_SEPARATOR} ".join(v for v in values if v)


def split_multi(cell: str) -> list[str]:
    return [part.strip() for part in (cell or "").split(MULTI_SEPARATOR) if part.strip()]


def _case_prefetches(public: bool) -> list:
    involvements = Involvement.objects.select_related("person", "organisation").order_by("id")
    sources = Source.objects.order_by("id")
    if public:
        involvements = involvements.filter(
            Q(person__in=Person.objects.published())
            | Q(organisation__in=Organisation.objects.published())
        )
        sources = sources.filter(pk__in=Source.objects.published())
    return [
        "violations",
        "rights",
        Prefetch("involvements", queryset=involvements),
        Prefetch("sources", queryset=sources),
    ]


def _party_name(involvement: Involvement, public: bool) -> str:
    if involvement.person is not None:
        return involvement.person.public_name if public else involvement.person.name
    return involvement.organisation.name


def case_row(case: Case, public: bool) -> dict[str, str]:
    """One case as a dict of CASE_COLUMNS (values not yet neutralised)."""
    by_role: dict[str, list[str]] = {"targeted": [], "lawyer": [], "perpetrator": []}
    for involvement in case.involvements.all():
        if involvement.role in by_role:
            by_role[involvement.role].append(_party_name(involvement, public))
    return {
        "reference": case.reference,
        "title": case.title,
        "country": case.country.code or "",
        "location": case.location,
        "started_on": iso_partial_date(case.started_on, case.started_on_precision),
        "ended_on": iso_partial_date(case.ended_on, case.ended_on_precision),
        "violations": join_multi(v.slug for v in case.violations.all()),
        "rights": join_multi(r.slug for r in case.rights.all()),
        "defenders": join_multi(by_role["targeted"]),
        "lawyers": join_multi(by_role["lawyer"]),
        "perpetrators": join_multi(by_role["perpetrator"]),
        "summary": case.summary,
        "sources": join_multi(s.url for s in case.sources.all() if s.url),
    }


def case_rows(queryset, *, public: bool, chunk_size: int = 2000) -> Iterator[dict[str, str]]:
    """Stream cases as rows, a chunk at a time: memory stays flat however many rows."""
    if public:
        # Defence in depth: whatever the caller passed, only published cases go out.
        queryset = queryset & Case.objects.published()
    queryset = queryset.prefetch_related(*_case_prefetches(public)).order_by("reference")
    for case in queryset.iterator(chunk_size=chunk_size):
        yield case_row(case, public)


def statement_row(statement: Statement) -> dict[str, str]:
    return {
        "reference": statement.reference,
        "speaker": statement.speaker.name if statement.speaker else "",
        "speaker_title": statement.speaker_title,
        "organisation": statement.organisation.name if statement.organisation else "",
        "said_on": iso_partial_date(statement.said_on, statement.said_on_precision),
        "quote": statement.quote,
        "language": statement.language,
        "source_url": statement.source.url if statement.source else "",
        "cases": join_multi(c.reference for c in statement.cases.all()),
    }


def statement_rows(queryset, chunk_size: int = 2000) -> Iterator[dict[str, str]]:
    queryset = queryset.select_related("speaker", "organisation", "source").prefetch_related(
        Prefetch("cases", queryset=Case.objects.only("id", "reference").order_by("reference"))
    ).order_by("reference")
    for statement in queryset.iterator(chunk_size=chunk_size):
        yield statement_row(statement)


class _Echo:
    """A write-only file whose write() returns the line: csv.writer into a generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[dict[str, str]], columns: list[str]) -> Iterator[str]:
    """CSV text a line at a time, header first, every cell formula-neutralised."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([neutralise_formula(row[column] or "") for column in columns])
