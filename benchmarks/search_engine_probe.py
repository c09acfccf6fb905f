"""Probe: the search benchmark's searches answered by a search engine.

This probe came first; casework/search_index.py, which the site uses when
CASEWORK_SEARCH_INDEX is set, grew from it (docs/benchmarks.md). The search target
(docs/benchmarks.md: p95 under 300 ms at 1,000,000 published cases, facet counts
included) is missed on PostgreSQL alone,
whose facet counts visit every match. This script measures what an embedded engine,
Tantivy (the `tantivy` package from PyPI, Python bindings of the Rust library), does
with the same documents and the same searches, so that the choice rests on figures.
It prints figures; it is not a test and the app never imports it.

    DATABASE_URL=postgres://.../casework_bench python benchmarks/search_engine_probe.py \\
        --index /tmp/casework-probe-index [--runs 20]

It reads the published cases' search documents and facet keys from the benchmark
database (filled by benchmarks/search.py) into an index in --index (built once, reused
when it exists), then times each search of benchmarks/search.py: the exact number of
matches, the first 20 (by relevance with a query, newest first without), every facet's
counts (one aggregation over all matches, plus one for each facet in use, counted
without that facet's own filter, as the site does), and reading those 20 cases from
PostgreSQL through the published-only queryset.
"""

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)
else:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casework.settings")
os.environ.setdefault("CASEWORK_DEVELOPMENT", "1")

from benchmarks.search import SEARCHES  # noqa: E402

TEXT_FIELDS = ["title", "names", "body"]  # the search document's three lines (weights A, B, D)
BOOSTS = {"title": 4.0, "names": 2.0, "body": 1.0}


def _day(date, precision: str, end: bool) -> int:
    """yyyymmdd of the first (or, with end=True, last) day of a partial date's period."""
    from casework.dates import period_end

    if end:
        date = period_end(date, precision)
    return date.year * 10000 + date.month * 100 + date.day


def build(path: Path, tantivy) -> None:
    from django.db import connection

    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, fast=True, indexed=True)
    for name in TEXT_FIELDS:
        builder.add_text_field(name, tokenizer_name="en_stem")
    builder.add_text_field("facet", tokenizer_name="raw", fast=True)
    for name in ("start", "end"):
        builder.add_integer_field(name, fast=True, indexed=True)
    path.mkdir(parents=True)
    index = tantivy.Index(builder.build(), path=str(path))
    writer = index.writer(heap_size=1_000_000_000, num_threads=2)
    started, done = time.perf_counter(), 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, search_document, facet_keys, started_on, "
                       "started_on_precision, ended_on, ended_on_precision "
                       "FROM casework_case WHERE status = 'published' AND NOT restricted")
        while rows := cursor.fetchmany(20_000):
            for pk, document, keys, start, start_p, end, end_p in rows:
                lines = (document.split("\n") + ["", "", ""])[:3]
                fields = {"id": pk, **dict(zip(TEXT_FIELDS, lines, strict=True)),
                          "facet": list(keys if isinstance(keys, dict) else json.loads(keys))}
                if start or end:
                    fields["start"] = _day(start or end, start_p if start else end_p, False)
                    fields["end"] = _day(end or start, end_p if end else start_p, True)
                writer.add_document(tantivy.Document(**fields))
            done += len(rows)
            print(f"  indexed {done:,} in {time.perf_counter() - started:.0f} s", flush=True)
    writer.commit()
    writer.wait_merging_threads()
    size = sum(f.stat().st_size for f in path.iterdir()) / 2**20
    print(f"Index built: {done:,} cases in {time.perf_counter() - started:.0f} s, {size:,.0f} MB")


def _text_query(index, q: str):
    """The site's web-search syntax in Tantivy's: every word and phrase required."""
    from casework.search import normalise

    terms = re.findall(r'"[^"]+"|\S+', normalise(q))
    return index.parse_query(" ".join(f"+{t}" for t in terms), TEXT_FIELDS, BOOSTS)


def _filters(index, tantivy, params: dict, leave_out: str | None = None) -> list:
    from casework.dates import parse_partial_date

    Occur, Query = tantivy.Occur, tantivy.Query
    schema = index.schema
    clauses = []
    for name in ("country", "right", "violation", "role", "status"):
        if name in params and name != leave_out:
            clauses.append(Query.term_query(schema, "facet", f"{name}:{params[name]}"))
    # The site's overlap rule (CaseQuerySet.overlapping): the case's period ends on or
    # after the range's first day and starts on or before its last.
    if "from" in params:
        first = _day(*parse_partial_date(params["from"]), end=False)
        clauses.append(Query.range_query(schema, "end", tantivy.FieldType.Integer,
                                         first, 99991231))
    if "to" in params:
        last = _day(*parse_partial_date(params["to"]), end=True)
        clauses.append(Query.range_query(schema, "start", tantivy.FieldType.Integer,
                                         0, last))
    return [(Occur.Must, clause) for clause in clauses]


def search(index, tantivy, params: dict) -> tuple[int, list[int], dict]:
    Occur, Query = tantivy.Occur, tantivy.Query
    text = [(Occur.Must, _text_query(index, params["q"]))] if "q" in params else []
    everything = [(Occur.Must, Query.all_query())]

    def query(leave_out=None):
        return Query.boolean_query(text + _filters(index, tantivy, params, leave_out)
                                   or everything)

    searcher = index.searcher()
    main = query()
    if "q" in params:
        result = searcher.search(main, 20, count=True)
    else:
        result = searcher.search(main, 20, count=True, order_by_field="start")
    ids = [searcher.doc(address)["id"][0] for _score, address in result.hits]
    facets = {"terms": {"terms": {"field": "facet", "size": 10_000}}}
    counts = {}
    for bucket in searcher.aggregate(main, facets)["terms"]["buckets"]:
        counts[bucket["key"]] = bucket["doc_count"]
    for name in ("country", "right", "violation", "role", "status"):
        if name in params:  # a facet in use: its options counted without its own filter
            buckets = searcher.aggregate(query(leave_out=name), facets)["terms"]["buckets"]
            counts.update({b["key"]: b["doc_count"] for b in buckets
                           if b["key"].startswith(f"{name}:")})
    return result.count, ids, counts


def _check(label: str, params: dict, count: int, counts: dict) -> None:
    """The engine's figures against the site's own for the same search."""
    from django.test import Client

    from casework.views import RESULTS_LIMIT

    response = Client(HTTP_HOST="localhost").get("/cases/", params)
    # The page counts up to RESULTS_LIMIT + 1; the check counts them all.
    from django.http import QueryDict

    from casework.filters import public_case_filter

    query = QueryDict(mutable=True)
    query.update(params)
    case_filter = public_case_filter(query)
    assert case_filter.is_valid()
    exact = case_filter.filtered().count()
    site = {f"{facet['name']}:{option['value']}": option["count"]
            for facet in response.context["facets"] for option in facet["options"]
            if option["count"]}
    engine = {key: n for key, n in counts.items()
              if key.split(":")[0] in {facet["name"] for facet in response.context["facets"]}}
    total = response.context["total"]
    if site != engine or exact != count or min(exact, RESULTS_LIMIT + 1) != total:
        print(f"  {label}: the site says {exact} matches and {len(site)} facet counts; they "
              f"differ on {sorted(set(site.items()) ^ set(engine.items()))[:10]}")
    else:
        print(f"  {label}: same matches and facet counts as the site")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True,
                        help="directory of the index (built there when it does not exist)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--check", action="store_true",
                        help="also compare each search's matches and facet counts with the "
                             "site's /cases/ page (slow at a million cases)")
    args = parser.parse_args()
    try:
        import tantivy
    except ImportError:
        sys.exit("This probe needs the tantivy package (requirements.txt).")

    import django

    django.setup()
    from django.db import connection

    from casework.models import Case

    if connection.vendor != "postgresql":
        sys.exit("Run the probe on the search benchmark's PostgreSQL database.")
    if args.check:
        from django.test.utils import setup_test_environment

        setup_test_environment()  # so that responses carry their template context
    if not args.index.exists():
        build(args.index, tantivy)
    index = tantivy.Index.open(str(args.index))
    index.reload()
    print(f"{index.searcher().num_docs:,} cases in the index · {os.cpu_count()} CPUs · "
          f"{args.runs} timed runs per search after one warm-up run\n")
    print(f"{'search':32} {'matches':>9} {'facet keys':>10} {'p50 ms':>7} {'p95 ms':>7}")
    for label, params in SEARCHES:
        timings = []
        for run in range(args.runs + 1):
            started = time.perf_counter()
            count, ids, counts = search(index, tantivy, params)
            page = list(Case.objects.published().filter(pk__in=ids).values_list(
                "reference", "title"))
            if run:
                timings.append((time.perf_counter() - started) * 1000)
        assert len(page) == len(ids)
        p95 = statistics.quantiles(timings, n=20)[-1] if len(timings) > 1 else timings[0]
        print(f"{label:32} {count:>9,} {len(counts):>10,} {statistics.median(timings):>7,.0f} "
              f"{p95:>7,.0f}", flush=True)
        if args.check:
            _check(label, params, count, counts)


if __name__ == "__main__":
    main()
