"""The CSV exchange format (docs/csv-format.md): one format for import, export and the
public download.

This module turns records into rows. `case_rows(queryset, public=...)` is the single
serialiser for cases as rows (the public `/cases.json`, single rows, the SQLite demo);
`case_csv(queryset, public=...)` writes them as CSV for the admin export, `export_cases`,
the reports download and the public `/cases.csv`. On PostgreSQL, case_csv has the
database build and write the CSV in streamed COPY queries (for speed: issue 4,
docs/benchmarks.md); tests/test_export_sql.py proves it writes the same bytes as
`csv_lines(case_rows(...))`. With public=True both only ever read published people,
organisations and sources and people's public names; the caller must pass
`Case.objects.published()`.
"""

import array
import csv
import itertools
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator

from django.core.exceptions import EmptyResultSet
from django.db import connections, transaction
from django.db.models import F, Prefetch
from psycopg.sql import SQL, Identifier, Literal

from casework.dates import iso_partial_date, iso_partial_date_sql
from casework.models import Case, Involvement, Organisation, Person, Source, Statement, Status

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


def neutralise_formula_sql(cell: str) -> str:
    """neutralise_formula in PostgreSQL, for case_csv; `cell` is a column, read 3 times.
    tests/test_export_sql.py checks that the two agree on every kind of opening.

    Like the Python, it first looks at the first character alone (`ascii()` gives an
    integer, no string is built) and trims quotes only in the rare cell that may be a
    formula: over the cells of a million cases that saves some 5 seconds."""
    openings = ", ".join(str(ord(character)) for character in sorted(_MAYBE_FORMULA))
    triggers = ", ".join(f"chr({ord(trigger)})" for trigger in FORMULA_TRIGGERS)
    quote = "''''"  # the SQL literal for one '
    return (f"CASE WHEN ascii({cell}) NOT IN ({openings}) THEN {cell} "
            f"WHEN left(ltrim({cell}, {quote}), 1) IN ({triggers}) "
            f"THEN {quote} || {cell} ELSE {cell} END")


def restore_formula(value: str) -> str:
    if value.startswith("'") and value.lstrip("'").startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value


def join_multi(values: Iterable[str]) -> str:
    return f"{MULTI_SEPARATOR} ".join(v for v in values if v)


# Invisible characters that pasting leaves in names and links: soft hyphen, zero-width
# space, direction marks, embeddings, overrides and isolates (right-to-left text), word
# joiner and invisible operators, byte order mark. (Not the zero-width joiner and
# non-joiner, which Persian and Kurdish spellings need: names keep them, and only name
# matching ignores them.)
INVISIBLE = re.compile(
    "[\u00ad\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def split_multi(cell: str) -> list[str]:
    parts = (INVISIBLE.sub("", part).strip() for part in (cell or "").split(MULTI_SEPARATOR))
    return [part for part in parts if part]


def case_row(case: Case, public: bool) -> dict[str, str]:
    """One case as a dict of CASE_COLUMNS (values not yet neutralised): the same code
    path as case_rows, so a single case and a stream can never differ."""
    values = tuple(getattr(case, "pk" if f == "pk" else f) for f in _CASE_FIELDS)
    values = values[:3] + ((case.country.code or ""),) + values[4:]
    return next(_case_chunk([values], public))


def once_each(queryset):
    """The queryset, or, when it joins another table (and so may repeat a case: a filter
    on two violations, say), the cases whose id it holds: each case once."""
    if len(queryset.query.alias_map) > 1:
        return Case.objects.filter(pk__in=queryset.values("pk"))
    return queryset


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
    values = once_each(queryset).order_by("pk").values_list(*_CASE_FIELDS)
    last = None
    while True:
        # Keyset pagination on the id: each page is one indexed query, and
        # the page's relations are read by its ids (a subquery repeating the caller's
        # filters, a full-text search say, made the planner's choices unpredictable).
        page = list((values.filter(pk__gt=last) if last else values)[:chunk_size])
        if not page:
            return
        last = page[-1][0]
        yield from _case_chunk(page, public)
        if len(page) < chunk_size:
            return


def _grouped(pairs) -> dict[int, list]:
    grouped: dict[int, list] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return grouped


def _case_chunk(chunk: list[tuple], public: bool) -> Iterator[dict[str, str]]:
    """Rows for these cases (tuples of _CASE_FIELDS), one query per relation."""
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
        # Joins, not IN (every published record): far better plans on large tables.
        sources = sources.filter(source__status=Status.PUBLISHED)
        involvements = involvements.published_parties()
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


# From this many cases, case_csv has two PostgreSQL backends write an internal export,
# a half each, at the same time (docs/benchmarks.md): the work is one backend's CPU
# otherwise. Public downloads, which anyone may start, keep to one backend.
PARALLEL_EXPORT_CASES = 200_000
# The query's sorts and hash tables (people by id, involvements by case) fit in memory
# with this much, where the server's default of 4 MB sends them to disk: per sort or
# hash, per backend. Internal exports only; the public download keeps to 64 MB.
EXPORT_WORK_MEM = "256MB"
PUBLIC_EXPORT_WORK_MEM = "64MB"


def case_csv(queryset, *, public: bool) -> Iterator[str]:
    """The cases as CSV text a line at a time, header first: the bytes of
    `csv_lines(case_rows(queryset, public=public), CASE_COLUMNS)`.

    On PostgreSQL the database writes them: `COPY (SELECT …) TO STDOUT`, streamed row by
    row (flat memory), the 13 cells computed and formula-neutralised in SQL; Python's
    share is a few string operations per row (issue 4 asks for 50,000 rows/s over a
    million cases; docs/benchmarks.md). A large internal export is written by two
    backends at once, each a half of the ids, in one snapshot: the first half streams
    while the second is spooled to an anonymous temporary file, then read back.
    Elsewhere (the SQLite demo) the rows are built in Python.
    """
    if public:
        # Defence in depth: whatever the caller passed, only published cases go out.
        queryset = queryset & Case.objects.published()
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        yield from csv_lines(case_rows(queryset, public=public), CASE_COLUMNS)
        return
    yield next(csv_lines([], CASE_COLUMNS))  # the header, written as csv_lines writes it
    if public or connection.in_atomic_block:
        # Public: one backend per anonymous download. Within the caller's transaction:
        # its own changes are invisible to any other connection.
        yield from _copy_lines(queryset, public)
        return
    with transaction.atomic(using=queryset.db), connection.cursor() as cursor:
        # One snapshot for the count, the middle and both halves.
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        middle = _middle(queryset)
        if middle is None:
            yield from _copy_lines(queryset, public)
            return
        cursor.execute("SELECT pg_export_snapshot()")
        second_half = _SpooledCopy(connection, cursor.fetchone()[0],
                                   _copy_sql(queryset.filter(pk__gte=middle), public))
        try:
            for line in _copy_lines(queryset.filter(pk__lt=middle), public):
                second_half.raise_error()  # a failed second half stops the export now
                yield line
            yield from second_half.lines()
        finally:
            second_half.close()


def _middle(queryset) -> int | None:
    """The id that splits a large export in two halves; None for a small one."""
    count = queryset.count()
    if count < PARALLEL_EXPORT_CASES:
        return None
    return queryset.order_by("pk").values_list("pk", flat=True)[count // 2]


def _copy_sql(queryset, public: bool) -> str | None:
    """COPY … TO STDOUT of the cases' CSV rows, oldest first; None when Django
    knows there is nothing to read (.none(), pk__in=[])."""
    try:
        cells_sql = _case_cells_sql(queryset, public)
    except EmptyResultSet:
        return None
    cells = ", ".join(
        # NULL, not '': COPY writes an empty string as "" but NULL as nothing, as csv does.
        # A partial date is digits and hyphens written by to_char: never a formula.
        f"NULLIF(cells.{column}, '')" if column in ("started_on", "ended_on")
        else f"NULLIF({neutralise_formula_sql(f'cells.{column}')}, '')"
        for column in CASE_COLUMNS)
    select = f"SELECT {cells} FROM ({cells_sql}) cells"  # noqa: S608
    return f"COPY ({select} ORDER BY cells.id) TO STDOUT WITH (FORMAT csv)"


def _export_settings(public: bool) -> tuple[str, ...]:
    """For the export's transaction only. The query makes one pass over each link table:
    parallel workers would each repeat those passes (three times the work on a two-core
    server), and its multi-value cells rely on aggregates reading their input in order."""
    work_mem = PUBLIC_EXPORT_WORK_MEM if public else EXPORT_WORK_MEM
    return ("SET LOCAL max_parallel_workers_per_gather = 0",
            f"SET LOCAL work_mem = '{work_mem}'")


def _copy_lines(queryset, public: bool) -> Iterator[str]:
    copy_sql = _copy_sql(queryset, public)
    if copy_sql is None:
        return
    connection = connections[queryset.db]
    with transaction.atomic(using=queryset.db), connection.cursor() as cursor:
        for setting in _export_settings(public):
            cursor.execute(setting)
        with cursor.copy(copy_sql) as copy:  # psycopg's copy(), logged by Django in DEBUG
            while row := copy.read():
                yield _line(row)
        # Back to the session's values, for the rest of a caller's transaction.
        cursor.execute("SET LOCAL max_parallel_workers_per_gather TO DEFAULT")
        cursor.execute("SET LOCAL work_mem TO DEFAULT")


def _line(row) -> str:
    # A row per read, ended by \n; the exchange format ends rows with \r\n (newlines
    # inside quoted cells stay as they are, as csv writes them).
    return str(row, "utf-8")[:-1] + "\r\n"


class _SpooledCopy:
    """Runs a COPY … TO STDOUT on a connection of its own, in a thread, in the snapshot
    exported by the caller's transaction, into an anonymous temporary file (it has no
    name, is readable by the app's operating-system user only, and is gone when
    closed); lines() then reads it back."""

    def __init__(self, connection, snapshot: str, copy_sql: str | None):
        self.error: BaseException | None = None
        self.sizes = array.array("Q")  # of each row, in bytes: 8 MB per million
        self.thread = self.database = None
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        if copy_sql is None:
            return
        try:
            self.database = connection.Database.connect(**connection.get_connection_params())
            self.thread = threading.Thread(
                target=self._copy, name="case_csv second half", daemon=True,
                args=(connection, snapshot, copy_sql))
            self.thread.start()
        except BaseException:
            self.close()
            raise

    def _copy(self, connection, snapshot: str, copy_sql: str) -> None:
        write, sizes = self.file.write, self.sizes
        try:
            # Django's exceptions, as from the first half's connection.
            with connection.wrap_database_errors, self.database.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cursor.execute(SQL("SET TRANSACTION SNAPSHOT {}").format(Literal(snapshot)))
                if role := connection.settings_dict["OPTIONS"].get("assume_role"):
                    cursor.execute(SQL("SET ROLE {}").format(Identifier(role)))  # as Django
                for setting in _export_settings(public=False):
                    cursor.execute(setting)
                with cursor.copy(copy_sql) as copy:
                    while row := copy.read():
                        write(row)
                        sizes.append(len(row))
        except BaseException as error:  # noqa: BLE001 (raised again by raise_error())
            self.error = error

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error

    def lines(self) -> Iterator[str]:
        if self.thread is not None:
            self.thread.join()
        self.raise_error()
        self.file.seek(0)
        sizes = iter(self.sizes)
        while True:  # a block of rows at a time: one read for many rows
            block_sizes = list(itertools.islice(sizes, 4096))
            if not block_sizes:
                return
            block, start = memoryview(self.file.read(sum(block_sizes))), 0
            for size in block_sizes:
                yield _line(block[start:start + size])
                start += size

    def close(self) -> None:
        """Stop the copy if it still runs (the reader went away), and clean up."""
        try:
            while self.thread is not None and self.thread.is_alive():
                # Again until it ends: a cancel that comes before the COPY starts is lost.
                self.database.cancel_safe()
                self.thread.join(timeout=0.5)
        finally:
            if self.database is not None:
                self.database.close()
            self.file.close()


def _case_cells_sql(queryset, public: bool) -> str:
    """A SELECT of the case id and the 13 CASE_COLUMNS as text (NULL when empty) for the cases of
    `queryset`, in any order: what _case_chunk computes in Python, with the same rules
    (public names and published records only when public; multi-value cells ordered as
    there). Each relation is aggregated in one pass over its link table, restricted to
    the selected cases: for a large export that is several times faster than a
    subquery per case.

    Each multi-value cell aggregates a subquery sorted by case and then in the cell's
    order, instead of `string_agg(… ORDER BY …)`, which PostgreSQL 15 serves with a sort
    per case (some 5 s per million cases). An aggregate takes its rows in the order its
    input gives them; PostgreSQL never merges a sorted subquery into the outer query,
    and parallel aggregation is off for the export (_EXPORT_SETTINGS). The PostgreSQL
    manual gives this form as the alternative to ORDER BY in the aggregate ("Aggregate
    Expressions"); tests/test_export_sql.py checks the order against the Python."""
    connection = connections[queryset.db]

    def sql(subquery) -> str:
        return connection.ops.compose_sql(*subquery.order_by().query.sql_with_params())

    people = Person.objects.published() if public else Person.objects.all()
    people = people.annotate(shown=Person.public_name_expression() if public else F("name"))
    organisations = Organisation.objects.published() if public else Organisation.objects.all()
    sources = Source.objects.published() if public else Source.objects.all()
    join = connection.ops.compose_sql("%s", [f"{MULTI_SEPARATOR} "])
    party = "NULLIF(COALESCE(person.shown, organisation.name), '')"  # join_multi drops ''
    selected = sql(queryset.values("pk"))
    # Through the queryset itself, not joined to it: a half-size export would otherwise
    # read every case.
    cases = sql(once_each(queryset).values("id", "reference", "title", "country", "location",
                                "started_on", "started_on_precision", "ended_on",
                                "ended_on_precision", "summary"))

    def terms(name: str) -> str:
        """A vocabulary cell per case: slugs in the order of their labels."""
        field = Case._meta.get_field(name)
        link = field.remote_field.through._meta
        return f"""
            SELECT case_id, string_agg(slug, {join}) AS cell FROM (
                SELECT link.case_id, NULLIF(term.slug, '') AS slug
                FROM {link.db_table} link
                JOIN {field.related_model._meta.db_table} term
                    ON term.id = link.{field.m2m_reverse_name()}
                WHERE link.case_id IN ({selected})
                ORDER BY link.case_id, term.label, term.id
            ) ordered GROUP BY case_id"""  # noqa: S608 (table names from our models)

    return f"""
        SELECT c.id, c.reference, c.title, c.country, c.location,
               {iso_partial_date_sql("c.started_on", "c.started_on_precision")} AS started_on,
               {iso_partial_date_sql("c.ended_on", "c.ended_on_precision")} AS ended_on,
               violations.cell AS violations, rights.cell AS rights,
               parties.defenders, parties.lawyers, parties.perpetrators,
               c.summary, sources.cell AS sources
        FROM ({cases}) c
        LEFT JOIN ({terms("violations")}) violations ON violations.case_id = c.id
        LEFT JOIN ({terms("rights")}) rights ON rights.case_id = c.id
        LEFT JOIN (
            SELECT case_id,
                   string_agg(party, {join}) FILTER (WHERE role = 'targeted') AS defenders,
                   string_agg(party, {join}) FILTER (WHERE role = 'lawyer') AS lawyers,
                   string_agg(party, {join}) FILTER (WHERE role = 'perpetrator') AS perpetrators
            FROM (
                SELECT involvement.case_id, involvement.role, {party} AS party
                FROM casework_involvement involvement
                LEFT JOIN ({sql(people.values("id", "shown"))}) person
                    ON person.id = involvement.person_id
                LEFT JOIN ({sql(organisations.values("id", "name"))}) organisation
                    ON organisation.id = involvement.organisation_id
                WHERE involvement.case_id IN ({selected})
                  AND involvement.role IN ('targeted', 'lawyer', 'perpetrator')
                ORDER BY involvement.case_id, involvement.id
            ) ordered GROUP BY case_id
        ) parties ON parties.case_id = c.id
        LEFT JOIN (
            SELECT case_id, string_agg(url, {join}) AS cell FROM (
                SELECT link.case_id, source.url
                FROM casework_case_sources link
                JOIN ({sql(sources.exclude(url="").values("id", "url"))}) source
                    ON source.id = link.source_id
                WHERE link.case_id IN ({selected})
                ORDER BY link.case_id, source.id
            ) ordered GROUP BY case_id
        ) sources ON sources.case_id = c.id
    """  # noqa: S608 (our own SQL; the querysets' values are composed by the driver)


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
