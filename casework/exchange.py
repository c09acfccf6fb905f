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
    if not value or value[0] not in _MAYBE_FORMULA:  # the common case, fast: no formula
        return value
    if value.lstrip("'").startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


_MAYBE_FORMULA = frozenset("".join(FORMULA_TRIGGERS) + "'")


def restore_formula(value: str) -> str:
    if value.startswith("'") and value.lstrip("'").startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value


def join_multi(values: Iterable[str]) -> str:
    return f"{MULTI_SEPARATOR} ".join(v for v in values if v)


def split_multi(cell: str) -> list[str]:
    return [part.strip() for part in (cell or "").split(MULTI_SEPARATOR) if part.strip()]


def case_row(case: Case, public: bool) -> dict[str, str]:
    """One case as a dict of CASE_COLUMNS (values not yet neutralised): the same code
    path as case_rows, so a single case and a stream can never differ."""
    values = tuple(getattr(case, "pk" if f == "pk" else f) for f in _CASE_FIELDS)
    values = values[:3] + ((case.country.code or ""),) + values[4:]
    return next(_case_chunk([values], public))


_CASE_FIELDS = ("pk", "reference", "title", "country", "location", "started_on",
                "started_on_precision", "ended_on", "ended_on_precision", "summary")


def case_rows(queryset, *, public: bool, chunk_size: int = 2000) -> Iterator[dict[str, str]]:
    """Stream cases as rows, a chunk at a time: memory stays flat however many rows.

    Reads plain values, not model instances (an export of a million cases must stay
    fast): per chunk, one query per relation. People are loaded as Person objects so that
    `Person.public_name` stays the one rule for what the public sees.
    """
    if public:
        # Defence in depth: whatever the caller passed, only published cases go out.
        queryset = queryset & Case.objects.published()
    values = queryset.order_by("reference").values_list(*_CASE_FIELDS)
    last = None
    while True:
        # Keyset pagination on the unique reference: each page is one indexed query, and
        # the page's relations are read through a subquery, not a list of 2,000 ids.
        page = list((values.filter(reference__gt=last) if last else values)[:chunk_size])
        if not page:
            return
        last = page[-1][1]
        scope = queryset.filter(reference__gte=page[0][1], reference__lte=last).order_by()
        yield from _case_chunk(page, public, scope.values("pk"))
        if len(page) < chunk_size:
            return


def _grouped(pairs) -> dict[int, list]:
    grouped: dict[int, list] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return grouped


def _case_chunk(chunk: list[tuple], public: bool, ids=None) -> Iterator[dict[str, str]]:
    """Rows for these cases (tuples of _CASE_FIELDS); `ids` may be a subquery of their pks."""
    if ids is None:
        ids = [case[0] for case in chunk]
    through = Case.violations.through.objects.filter(case_id__in=ids)
    violations = _grouped(through.order_by("violationtype__label", "violationtype_id")
                          .values_list("case_id", "violationtype__slug"))
    rights = _grouped(Case.rights.through.objects.filter(case_id__in=ids)
                      .order_by("right__label", "right_id").values_list("case_id", "right__slug"))
    sources = Case.sources.through.objects.filter(case_id__in=ids).exclude(source__url="")
    involvements = Involvement.objects.filter(
        case_id__in=ids, role__in=("targeted", "lawyer", "perpetrator"))
    if public:
        sources = sources.filter(source__in=Source.objects.published())
        involvements = involvements.filter(
            Q(person__in=Person.objects.published())
            | Q(organisation__in=Organisation.objects.published())
        )
    sources = _grouped(sources.order_by("source_id").values_list("case_id", "source__url"))
    parties = list(involvements.order_by("id").values_list(
        "case_id", "role", "person_id", "organisation__name"))
    names = {
        person.pk: (person.public_name if public else person.name)
        for person in Person.objects.filter(
            pk__in=involvements.exclude(person=None).values("person_id")
        ).only("name", "identity_public", "pseudonym")
    } if any(person_id for _c, _r, person_id, _o in parties) else {}
    roles: dict[int, dict[str, list[str]]] = {}
    for case_id, role, person_id, organisation_name in parties:
        name = names[person_id] if person_id else organisation_name
        roles.setdefault(case_id, {}).setdefault(role, []).append(name)
    empty: dict[str, list[str]] = {}
    for (pk, reference, title, country, location, started_on, started_precision, ended_on,
         ended_precision, summary) in chunk:
        by_role = roles.get(pk, empty)
        yield {
            "reference": reference,
            "title": title,
            "country": country or "",
            "location": location,
            "started_on": iso_partial_date(started_on, started_precision),
            "ended_on": iso_partial_date(ended_on, ended_precision),
            "violations": join_multi(violations.get(pk, ())),
            "rights": join_multi(rights.get(pk, ())),
            "defenders": join_multi(by_role.get("targeted", ())),
            "lawyers": join_multi(by_role.get("lawyer", ())),
            "perpetrators": join_multi(by_role.get("perpetrator", ())),
            "summary": summary,
            "sources": join_multi(sources.get(pk, ())),
        }


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


def statement_rows(queryset, chunk_size: int = 2000, cases=None) -> Iterator[dict[str, str]]:
    """Statements as rows. `cases`: the cases the `cases` column may name (what the
    exporting user may see, Case.objects.visible_to(user)); every case when None."""
    cases = Case.objects.all() if cases is None else cases
    queryset = queryset.select_related("speaker", "organisation", "source").prefetch_related(
        Prefetch("cases", queryset=cases.only("id", "reference").order_by("reference"))
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
