"""A search index of the published cases, for searches that PostgreSQL answers too slowly.

At a million published cases PostgreSQL takes seconds to count a broad search's facets,
because it visits every match (docs/benchmarks.md). An embedded search engine, Tantivy
(the `tantivy` package), counts them from its own per-term structures in milliseconds.
This module keeps such an index beside each app server and answers `/cases/` from it
when, and only when, it is exactly as current as the database:

- **Built from the one public door.** `build()` reads `public.cases()` (published, not
  restricted) in one read-only snapshot: each case's weighted search vector (as
  PostgreSQL's own parser, stop words and stemmer made it), its facet keys, the first and
  last day of its period, and a sort key for each date order. Nothing else: no field that
  a page shows comes from the index, which gives only case ids and counts. The page's
  cases are then read through `public.cases()` again.
- **The same matching as PostgreSQL.** The index holds the search vector's lexemes at
  their positions, and a query is turned into PostgreSQL's own `websearch_to_tsquery`
  first, then translated operator by operator (`&`, `|`, `!`, phrases `<N>`). So
  stemming, stop words, accents and spelling variants agree by construction; a query
  the translation does not cover is answered by PostgreSQL.
- **Never stale.** The index records the snapshot it was read in. Before each search one
  query asks the change log that database triggers keep (migration 0010, see
  casework.public_cache) whether any change to a public record has committed since; if
  one has, PostgreSQL answers until `manage.py update_search_index` has indexed the
  changed cases again (update()) or built the index anew (build()). A retraction is
  therefore never counted, whenever the index was built. After a restart of the
  database server (a restore reuses transaction ids) the index is built anew, and on a
  hot standby it is not used at all.

Enabled by the CASEWORK_SEARCH_INDEX setting (a directory; PostgreSQL only). Each build
is written to a new directory and `current.json` is replaced atomically, so searches in
progress keep the index they opened. docs/public-site.md, "The search index".
"""

import datetime
import functools
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.paginator import Paginator
from django.db import connections, router, transaction

from casework import public, public_cache
from casework.dates import Precision, period_end
from casework.models import Case

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 4  # raise when the index holds something else: older builds are ignored
CURRENT = "current.json"
FACETS = ("country", "right", "violation", "role", "status")
# Relevance: BM25 over all the words, plus these boosts when a word is in the title
# (weight A of the search vector) or in a name (B), as PostgreSQL's ts_rank weighs them.
BOOSTS = {"title": 3.0, "names": 1.5}
# The first results of a search by relevance, as the index finds them, are then put in
# PostgreSQL's order (ts_rank, then newest): BM25 favours short texts, ts_rank does not.
RERANKED = 1000
_WEIGHT_FIELDS = {"A": "title", "B": "names"}
_FAR_FUTURE = 10**7  # a day number after every date (date.max is 3,652,059)


def tantivy():
    import tantivy as module  # imported when used: SQLite demos never load it

    return module


def directory() -> Path | None:
    value = getattr(settings, "CASEWORK_SEARCH_INDEX", None)
    return Path(value) if value else None


def database_alias() -> str | None:
    """Where public cases are read, if the index can be used there (PostgreSQL)."""
    if directory() is None:
        return None
    alias = router.db_for_read(Case)
    return alias if connections[alias].vendor == "postgresql" else None


# ---------------------------------------------------------------------------
# Reading PostgreSQL's text forms
# ---------------------------------------------------------------------------

_LEXEME = r"'([^']*(?:''[^']*)*)'"  # quotes doubled inside; backslashes too (_unquote)
_TSVECTOR_ENTRY = re.compile(_LEXEME + r"(?::([0-9A-D,]+))?")
_TSQUERY_TOKEN = re.compile(
    r"\s*(?:" + _LEXEME + r"(:[*A-D]+)?|<(-|\d+)>|([!&|()]))")


def _unquote(lexeme: str) -> str:
    return re.sub(r"''|\\(.)", lambda m: m.group(1) or "'", lexeme)


def parse_tsvector(text: str) -> list[tuple[str, int, str]]:
    """(lexeme, position, weight) of a tsvector's text form, e.g. `'peac':2A,5 'right':7B`
    (weight D, the default, is not written)."""
    entries = []
    for lexeme, positions in _TSVECTOR_ENTRY.findall(text or ""):
        if "'" in lexeme or "\\" in lexeme:
            lexeme = _unquote(lexeme)
        for position in (positions or "1").split(","):
            if position[-1] in "ABCD":
                entries.append((lexeme, int(position[:-1]), position[-1]))
            else:
                entries.append((lexeme, int(position), "D"))
    return entries


class Unsupported(Exception):
    """A query the index does not translate: PostgreSQL answers it."""


def parse_tsquery(text: str):
    """A tsquery's text form as a tree: ("term", lexeme), ("phrase", [(offset, lexeme)]),
    ("not", node), ("and", [nodes]), ("or", [nodes]). Prefix and weight marks
    (`:*`, `:A`), which web-search syntax never writes, are Unsupported."""
    tokens = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TSQUERY_TOKEN.match(text, position)
        if not match or match.end() == position:
            raise Unsupported(f"cannot read the query at {position}")
        lexeme, marks, distance, operator = match.groups()
        if marks:
            raise Unsupported("prefix or weight marks")
        if lexeme is not None:
            tokens.append(("lexeme", _unquote(lexeme)))
        elif distance is not None:
            tokens.append(("phrase", 1 if distance == "-" else int(distance)))
        else:
            tokens.append((operator, None))
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    stream = iter(tokens + [("end", None)])
    current = [next(stream)]

    def take(kind=None):
        token = current[0]
        if kind and token[0] != kind:
            raise Unsupported(f"expected {kind}")
        current[0] = next(stream, ("end", None))
        return token

    def unary():
        kind, value = current[0]
        if kind == "!":
            take()
            return ("not", unary())
        if kind == "(":
            take()
            node = either()
            take(")")
            return node
        if kind == "lexeme":
            take()
            return ("term", value)
        raise Unsupported(f"unexpected {kind}")

    def as_phrase(node):
        if node[0] == "term":
            return [(0, node[1])]
        if node[0] == "phrase":
            return node[1]
        raise Unsupported("a phrase of something other than words")

    def phrase():
        node = unary()
        while current[0][0] == "phrase":
            distance = take()[1]
            left, right = as_phrase(node), as_phrase(unary())
            end = max(offset for offset, _ in left) + distance
            node = ("phrase", left + [(end + offset, lexeme) for offset, lexeme in right])
        return node

    def both():
        nodes = [phrase()]
        while current[0][0] == "&":
            take()
            nodes.append(phrase())
        return nodes[0] if len(nodes) == 1 else ("and", nodes)

    def either():
        nodes = [both()]
        while current[0][0] == "|":
            take()
            nodes.append(both())
        return nodes[0] if len(nodes) == 1 else ("or", nodes)

    tree = either()
    take("end")
    return tree


def _positive_lexemes(node) -> list[str]:
    kind, value = node
    if kind == "term":
        return [value]
    if kind == "phrase":
        return [lexeme for _offset, lexeme in value]
    if kind == "not":
        return []
    return [lexeme for child in value for lexeme in _positive_lexemes(child)]


# ---------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------


# CaseFilter.ordered()'s date orders, each as one text key per case that sorts the same
# way (ORDERS says in which direction): the date, then the id, in fixed-width digits.
# Cases without a date come last either way.
ORDERS = {"newest": "Desc", "oldest": "Asc", "published": "Desc"}
_NO_DAY, _LAST_DAY = 0, 9_999_999  # day numbers before and after every date
_EPOCH = datetime.datetime(1, 1, 1, tzinfo=datetime.UTC)  # (+1: nothing ties with no date)
_PRECISIONS = set(Precision.values)
_MICROSECOND = datetime.timedelta(microseconds=1)


def _sort_keys(pk: int, started_on, published_at) -> dict[str, str]:
    day = started_on.toordinal() if started_on else None
    published = (published_at - _EPOCH) // _MICROSECOND + 1 if published_at else 0
    return {"newest": f"{day or _NO_DAY:07d}{pk:019d}",
            "oldest": f"{day or _LAST_DAY:07d}{pk:019d}",
            "published": f"{published:020d}{pk:019d}"}


def _schema(engine):
    builder = engine.SchemaBuilder()
    builder.add_integer_field("id", stored=True, fast=True, indexed=True)
    # Lexemes at their search-vector positions (phrases need them), written pre-tokenised.
    builder.add_text_field("text", tokenizer_name="raw", index_option="position")
    for name in _WEIGHT_FIELDS.values():
        builder.add_text_field(name, tokenizer_name="raw", index_option="freq")
    builder.add_text_field("facet", tokenizer_name="raw", fast=True)
    for name in ("first_day", "last_day"):
        builder.add_integer_field(name, fast=True, indexed=True)
    for name in ORDERS:  # sort keys (ORDERS): fixed-width text, compared as text
        builder.add_text_field(name, tokenizer_name="raw", fast=True, index_option="basic")
    return builder.build()


ROW_FIELDS = ("id", "search_vector", "facet_keys", "started_on", "started_on_precision",
              "ended_on", "ended_on_precision", "published_at")


def _tokens(engine, entries):
    return engine.PreTokenizedString("", [engine.Token(lexeme, position, 0, 0)
                                          for lexeme, position, _weight in entries])


def _document(engine, row):
    (pk, vector, keys, started_on, started_precision, ended_on, ended_precision,
     published_at) = row
    document = engine.Document(id=pk, facet=sorted(keys or {}),
                               **_sort_keys(pk, started_on, published_at))
    entries = parse_tsvector(vector)
    document.add_pre_tokenized_text("text", _tokens(engine, entries))
    for weight, field in _WEIGHT_FIELDS.items():
        weighted = [entry for entry in entries if entry[2] == weight]
        if weighted:
            document.add_pre_tokenized_text(field, _tokens(engine, weighted))
    # CaseQuerySet.overlapping(): a case covers its start to its end, or without an end
    # its start's own period; cases without dates match no range.
    # (A precision outside the three, which only a raw write leaves, matches no `from`.)
    first = started_on or ended_on
    last_date, last_precision = (ended_on, ended_precision) if ended_on else (
        started_on, started_precision)
    last = period_end(last_date, last_precision) if last_precision in _PRECISIONS else None
    if first:
        document.add_integer("first_day", first.toordinal())
    if last:
        document.add_integer("last_day", last.toordinal())
    return document


class Standby(RuntimeError):
    """The database is a hot standby: it does not report which transactions are running
    (they are all kept as subtransactions there), so no snapshot taken on it can be
    checked against the change log. Neither the index nor the cached figures are used
    on a standby."""


STANDBY = ("The search index cannot be built from a standby: build it from the primary "
           "(docs/deployment.md).")


def _state(cursor) -> dict:
    cursor.execute("SELECT pg_is_in_recovery()")
    if cursor.fetchone()[0]:
        raise Standby(STANDBY)
    cursor.execute(
        "SELECT system_identifier, current_database(), "
        "'casework_publicchange'::regclass::oid, pg_postmaster_start_time()::text, "
        "pg_current_snapshot()::text FROM pg_control_system()")
    system, database, log_table, started, snapshot = cursor.fetchone()
    return {"system": system, "database": database, "log_table": log_table,
            "server_started": started, "snapshot": snapshot}


def _write_current(base: Path, meta: dict) -> None:
    temporary = base / f".{CURRENT}.{os.getpid()}"
    temporary.write_text(json.dumps(meta))
    os.replace(temporary, base / CURRENT)  # searches switch to the new state at once


def _check_setup() -> tuple[object, Path, str]:
    engine, base, alias = tantivy(), directory(), database_alias()
    if alias is None:
        raise RuntimeError("CASEWORK_SEARCH_INDEX is not set, or the database is not "
                           "PostgreSQL.")
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        if cursor.fetchone()[0]:
            raise Standby(STANDBY)
    base.mkdir(parents=True, exist_ok=True)
    return engine, base, alias


def _abandon(writer) -> None:
    """Roll a writer back and release the index's lock now, not when the writer is
    garbage-collected (a log handler keeping the error's traceback would keep it)."""
    writer.rollback()
    writer.wait_merging_threads()


def build(progress: Callable[[str], None] = lambda message: None) -> dict:
    """Write a new index of the published cases and make it the current one."""
    engine, base, alias = _check_setup()
    _remove_old_builds(base, keep=_current_directory(base))  # a killed build's, if any
    path = Path(tempfile.mkdtemp(prefix=time.strftime("index-%Y%m%d-%H%M%S-"), dir=base))
    name = path.name
    started, done = time.monotonic(), 0
    writer = None
    try:
        index = engine.Index(_schema(engine), path=str(path))
        writer = index.writer(heap_size=200_000_000, num_threads=1)
        with transaction.atomic(using=alias):
            with connections[alias].cursor() as cursor:
                # One snapshot for the state and every row: exactly what the index holds.
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                state = _state(cursor)
            rows = public.cases().order_by().values_list(*ROW_FIELDS)
            for row in rows.using(alias).iterator(chunk_size=5000):
                writer.add_document(_document(engine, row))
                done += 1
                if done % 50_000 == 0:
                    progress(f"{done:,} cases indexed ({time.monotonic() - started:.0f} s)")
        writer.commit()
        writer.wait_merging_threads()
    except BaseException:
        if writer is not None:
            _abandon(writer)
        shutil.rmtree(path, ignore_errors=True)
        raise
    meta = {"version": SCHEMA_VERSION, "directory": name, "cases": done,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "changed": None, **state}
    _write_current(base, meta)
    _remove_old_builds(base, keep={name})
    return meta


# The cases whose row may have been written since `snapshot`: rows carry the 32-bit id
# of the transaction that wrote them (xmin), widened here to a full id with the epoch
# of the newest transaction (an older row may be taken for a newer one, which only
# indexes it again; never the other way round). Not "not visible in the snapshot":
# a row written inside a savepoint carries the subtransaction's id, which a snapshot
# never lists, so one still running when the snapshot was taken would pass for
# visible. Every transaction, or subtransaction, the snapshot may not have seen
# has an id at or above its xmin (a subtransaction's id follows its parent's), so
# rows written by those are read again (and a few that it did see, harmlessly).
_CHANGED_CASES = """
    SELECT id, status = 'published' AND NOT restricted FROM casework_case,
        (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS newest) AS now,
        LATERAL (SELECT (now.newest >> 32 << 32) | xmin::text::bigint AS widened) AS w
    WHERE CASE WHEN w.widened > now.newest THEN w.widened - 4294967296 ELSE w.widened END
          >= pg_snapshot_xmin(%s::pg_snapshot)::text::bigint
"""
# Above this share of the index to index again or remove, a new build is as quick and
# leaves no deletes behind.
REBUILD_SHARE = 0.2


def update(progress: Callable[[str], None] = lambda message: None) -> dict:
    """Bring the current index up to date with the database: the cases written since its
    snapshot are indexed again (or removed, if they are no longer public). Builds a new
    index when there is none, when it is another database's or another version's, when
    much changed, or when the index's count then differs from the database's (a case
    deleted: deletions leave no row to find)."""
    engine, base, alias = _check_setup()
    opened = current()
    if opened is None or not _same_database(alias, opened[2]):
        return build(progress)
    meta, started = opened[2], time.monotonic()
    index = engine.Index.open(str(base / meta["directory"]))
    with transaction.atomic(using=alias):
        with connections[alias].cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            state = _state(cursor)
            cursor.execute(_CHANGED_CASES, [meta["snapshot"]])
            changed = cursor.fetchall()
        # Public now: indexed again. Not public now: removed, if the index has them (the
        # rows a long transaction elsewhere writes, drafts of an import, are neither).
        searcher = index.searcher()
        readd = [pk for pk, is_public in changed if is_public]
        remove = [pk for pk, is_public in changed
                  if not is_public and searcher.doc_freq("id", pk)]
        rebuild = len(readd) + len(remove) > REBUILD_SHARE * max(meta["cases"], 1)
        if not rebuild:
            public_count = public.cases().using(alias).count()
            writer = index.writer(heap_size=100_000_000, num_threads=1)
            try:
                for pk in readd + remove:
                    writer.delete_documents_by_term("id", pk)
                for start in range(0, len(readd), 5000):
                    rows = public.cases().using(alias).filter(
                        pk__in=readd[start:start + 5000]).order_by().values_list(*ROW_FIELDS)
                    for row in rows:
                        writer.add_document(_document(engine, row))
            except BaseException:
                _abandon(writer)
                raise
    if rebuild:
        progress(f"{len(readd) + len(remove):,} cases changed: building the index anew.")
        return build(progress)
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    if index.searcher().num_docs != public_count:
        progress("A case was deleted: building the index anew.")
        return build(progress)
    meta = {**meta, **state, "cases": public_count, "changed": len(readd) + len(remove),
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    _write_current(base, meta)
    progress(f"{len(readd):,} cases indexed again and {len(remove):,} removed, in "
             f"{time.monotonic() - started:.1f} s.")
    return meta


def _current_directory(base: Path) -> set[str]:
    try:
        return {json.loads((base / CURRENT).read_text())["directory"]}
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def _remove_old_builds(base: Path, keep: set[str]) -> None:
    """Remove the builds but `keep` (those the current one replaced, or a killed build
    left): their words may be those of a case since retracted. A process still searching one keeps reading it (its files are
    open and mapped, which removal does not end on POSIX systems); a process opening
    one just removed gets an error, and PostgreSQL answers that search."""
    for old in base.glob("index-*"):
        if old.is_dir() and old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------------------
# Searching
# ---------------------------------------------------------------------------

_opened: dict = {}
_opening = threading.Lock()


def current() -> tuple[object, object, dict] | None:
    """The current build (its Tantivy searcher, schema and metadata), opened once per process and
    again when a new build replaces it; None if there is none."""
    base = directory()
    if base is None:
        return None
    try:
        stat = (base / CURRENT).stat()
    except FileNotFoundError:
        return None
    key = (str(base), stat.st_ino, stat.st_mtime_ns, stat.st_size)
    with _opening:
        if _opened.get("key") != key:
            _opened.clear()
            try:
                meta = json.loads((base / CURRENT).read_text())
                if meta.get("version") != SCHEMA_VERSION:
                    return None
                index = tantivy().Index.open(str(base / meta["directory"]))
                searcher = index.searcher()
            except Exception:  # unreadable metadata or build: as if there were none
                logger.warning("search index %s unreadable", base, exc_info=True)
                return None
            _opened.update(key=key, searcher=searcher, schema=index.schema, meta=meta)
        return _opened["searcher"], _opened["schema"], _opened["meta"]


# The database the index was read from, in the same run of its server: a restored
# database (physical backup, point-in-time recovery: the server restarts) reuses
# transaction ids, after which neither the change log's check nor an update's could be
# trusted, so a restart means a new build (docs/public-site.md).
_SAME_DATABASE = ("system_identifier = %s AND current_database() = %s "
                  "AND 'casework_publicchange'::regclass::oid = %s "
                  "AND pg_postmaster_start_time()::text = %s AND NOT pg_is_in_recovery()")


def _identity(meta: dict) -> list:
    return [meta.get(name) for name in ("system", "database", "log_table", "server_started")]


def _same_database(alias: str, meta: dict) -> bool:
    """Whether the index was built from this database (not a restored or another one)."""
    if meta.get("version") != SCHEMA_VERSION:
        return False
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT {_SAME_DATABASE} FROM pg_control_system()",  # noqa: S608
                       _identity(meta))
        return cursor.fetchone()[0]


def is_current(alias: str, meta: dict) -> bool:
    """Whether the database is the one indexed and no public change has committed since."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f"SELECT {_SAME_DATABASE} AND NOT {public_cache.CHANGED_SINCE} "  # noqa: S608
            "FROM pg_control_system()",  # (constant text)
            [*_identity(meta), *[meta["snapshot"]] * 3])
        return cursor.fetchone()[0]


def _tsquery(alias: str, text: str) -> str:
    from casework.search import SEARCH_CONFIG, normalise

    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT websearch_to_tsquery(%s::regconfig, %s)::text",
                       [SEARCH_CONFIG, normalise(text)])
        return cursor.fetchone()[0]


@dataclass
class IndexedSearch:
    """One search answered by the index: exact counts, and the ids of any page."""

    searcher: object
    schema: object
    match: object  # the text query, or None
    filters: dict  # filter name -> query
    positive: list[str]
    sort: str
    rerank: Callable[[list[int]], list[int]] | None = None  # ids in PostgreSQL's order

    @property
    def by_score(self) -> bool:
        """Ordered by relevance: a query with words to find (one that only excludes
        gives every match the same rank, so PostgreSQL lists them newest first)."""
        return self.sort == "relevance" and self.match is not None and bool(self.positive)

    def _query(self, without: str | None = None):
        engine = tantivy()
        Occur, Query = engine.Occur, engine.Query
        clauses = [(Occur.Must, query) for name, query in self.filters.items()
                   if name != without]
        if self.match is not None:
            clauses.append((Occur.Must, self.match))
            clauses += [(Occur.Should, Query.boost_query(
                Query.term_query(self.schema, field, lexeme), boost))
                for field, boost in BOOSTS.items() for lexeme in set(self.positive)]
        return Query.boolean_query(clauses or [(Occur.Must, Query.all_query())])

    def count(self) -> int:
        return self.searcher.search(self._query(), 1, count=True).count

    def ids(self, offset: int, limit: int) -> list[int]:
        if limit <= 0:
            return []
        if self.by_score and self.rerank is not None and offset < RERANKED:
            ids = self._reranked[offset:offset + limit]
            if offset + limit > RERANKED:
                ids += self._ids(RERANKED, offset + limit - RERANKED)
            return ids
        return self._ids(offset, limit)

    @functools.cached_property
    def _reranked(self) -> list[int]:
        """The first RERANKED ids by the index's score, in PostgreSQL's order."""
        first = self._ids(0, RERANKED)
        ranked = self.rerank(first)
        placed = set(ranked)
        return ranked + [pk for pk in first if pk not in placed]

    def _ids(self, offset: int, limit: int) -> list[int]:
        engine = tantivy()
        if self.by_score:
            result = self.searcher.search(self._query(), limit, count=False, offset=offset)
        else:
            order = "newest" if self.sort == "relevance" else self.sort
            result = self.searcher.search(self._query(), limit, count=False, offset=offset,
                                          order_by_field=order,
                                          order=getattr(engine.Order, ORDERS[order]))
        addresses = [address for _key, address in result.hits]
        return [int(pk) for pk in self.searcher.fast_field_values("id", addresses)]

    def facet_counts(self) -> dict[str, dict[str, int]]:
        """As CaseFilter.facet_counts(): each facet counted over the results of all the
        other filters (one aggregation, plus one per facet in use)."""
        counts: dict[str, dict[str, int]] = {name: {} for name in FACETS}
        active = [name for name in FACETS if name in self.filters]
        passes = [(None, set(FACETS) - set(active))] + [(name, {name}) for name in active]
        aggregation = {"keys": {"terms": {"field": "facet", "size": 65_000}}}
        for without, facets in passes:
            if not facets:
                continue
            result = self.searcher.aggregate(self._query(without=without), aggregation)
            for bucket in result["keys"]["buckets"]:
                facet, _sep, value = bucket["key"].partition(":")
                if facet in facets:
                    counts[facet][value] = bucket["doc_count"]
        return counts


def stops_the_process(error: BaseException) -> bool:
    """Whether an error must end the process. Tantivy's panics (pyo3's PanicException)
    are BaseExceptions too, and are caught like any error of the index."""
    return isinstance(error, (KeyboardInterrupt, SystemExit, GeneratorExit))


@dataclass
class Answer:
    """A search answered by the index: what the list page shows."""

    total: int  # up to limit + 1, like the PostgreSQL path's count
    page: object  # a Paginator page of cases read through public.cases()
    counts: dict[str, dict[str, int]]


def answer(case_filter, page_number, per_page: int, limit: int) -> Answer | None:
    """The count, the page and the facet counts of a valid CaseFilter from the index, all
    or none: None when PostgreSQL must answer (see find()), when nothing matches a query
    exactly (PostgreSQL then looks for close matches), or on any error of the index."""
    indexed = find(case_filter)
    if indexed is None:
        return None

    def count_and_find() -> Answer | None:
        total = min(indexed.count(), limit + 1)
        if not total and case_filter.query:
            return None
        paginator = Paginator(Hits(indexed, total, limit), per_page)
        return Answer(total, paginator.get_page(page_number), indexed.facet_counts())

    return _or_none(count_and_find)


def facet_counts(case_filter) -> dict[str, dict[str, int]] | None:
    """The facet counts of a valid CaseFilter from the index, or None when PostgreSQL
    must count them (as for answer())."""
    indexed = find(case_filter)
    return None if indexed is None else _or_none(indexed.facet_counts)


def _or_none[T](compute: Callable[[], T]) -> T | None:
    """compute(), or None on any error of the index: the database answers instead."""
    try:
        return compute()
    except BaseException as error:  # Tantivy's panics are BaseExceptions
        if stops_the_process(error):
            raise
        logger.warning("search index failed; the database answers", exc_info=True)
        return None


def find(case_filter) -> IndexedSearch | None:
    """The search of a valid CaseFilter, answered by the index; None when PostgreSQL must
    answer it (no current index, a public change since it was built, close matches, a
    query the translation does not cover, or any error of the index)."""
    alias = database_alias()
    if alias is None or case_filter.close_matches:
        return None
    try:
        opened = current()
        if opened is None:
            return None
        searcher, schema, meta = opened
        if not is_current(alias, meta):
            return None
        engine = tantivy()
        match, positive = None, []
        if case_filter.query:
            tree = parse_tsquery(_tsquery(alias, case_filter.query))
            match, positive = _translate(engine, schema, tree), _positive_lexemes(tree)
        return IndexedSearch(searcher, schema, match, _filters(engine, schema, case_filter),
                             positive, case_filter.sort_by,
                             rerank=lambda ids: _in_postgresql_order(alias, case_filter, ids))
    except Unsupported as reason:
        logger.info("search answered by the database: %s", reason)
        return None
    except BaseException as error:  # Tantivy's panics are BaseExceptions
        if stops_the_process(error):
            raise
        logger.warning("search index unavailable; the database answers", exc_info=True)
        return None


def _in_postgresql_order(alias: str, case_filter, ids: list[int]) -> list[int]:
    """These cases, matches of the filter's query, as PostgreSQL ranks them (their rank
    only: filtering them again by the query would let the planner read the GIN index)."""
    from casework.search import ranked

    matching = ranked(public.cases().using(alias).filter(pk__in=ids), case_filter.query)
    return list(case_filter.ordered(matching).values_list("pk", flat=True))


def _translate(engine, schema, node):
    Occur, Query = engine.Occur, engine.Query
    kind, value = node
    if kind == "term":
        return Query.term_query(schema, "text", value)
    if kind == "phrase":
        return Query.phrase_query(schema, "text", value)
    if kind == "not":
        return Query.boolean_query([(Occur.Must, Query.all_query()),
                                    (Occur.MustNot, _translate(engine, schema, value))])
    if kind == "and":
        clauses = []
        for child in value:
            if child[0] == "not":
                clauses.append((Occur.MustNot, _translate(engine, schema, child[1])))
            else:
                clauses.append((Occur.Must, _translate(engine, schema, child)))
        if all(occur == Occur.MustNot for occur, _query in clauses):
            clauses.append((Occur.Must, Query.all_query()))
        return Query.boolean_query(clauses)
    return Query.boolean_query([(Occur.Should, _translate(engine, schema, child))
                                for child in value])


def _filters(engine, schema, case_filter) -> dict:
    """CaseFilter's filters but q and sort, as index queries: values of one parameter
    are alternatives, the period overlaps (see _document)."""
    Query = engine.Query
    data = case_filter.form.cleaned_data
    filters = {}
    for name in FACETS:
        value = data.get(name)
        if value:
            values = [value] if isinstance(value, str) else value
            filters[name] = Query.term_set_query(schema, "facet",
                                                 [f"{name}:{v}" for v in values])
    if data.get("from"):
        filters["from"] = Query.range_query(schema, "last_day", engine.FieldType.Integer,
                                            data["from"][0].toordinal(), _FAR_FUTURE)
    if data.get("to"):
        filters["to"] = Query.range_query(schema, "first_day", engine.FieldType.Integer,
                                          0, period_end(*data["to"]).toordinal())
    return filters


class Hits(Sequence):
    """The results of an IndexedSearch as the Paginator's object list: its length is
    the count (up to `limit`), and a slice reads that page's ids from the index and
    their cases, with the list prefetches, from the published-only queryset."""

    def __init__(self, search: IndexedSearch, total: int, limit: int):
        self.search, self.total, self.limit = search, total, limit

    def __len__(self) -> int:
        return min(self.total, self.limit)

    def __getitem__(self, item):
        if not isinstance(item, slice):
            return self[item:item + 1][0]
        start, stop, _step = item.indices(len(self))
        ids = self.search.ids(start, stop - start)
        cases = {case.pk: case for case in public.cases().filter(pk__in=ids)
                 .prefetch_related(*public.case_list_prefetches())}
        return [cases[pk] for pk in ids if pk in cases]
