"""Search benchmark: server time of a fixed set of public searches, p50 and p95.

Each search is a full request to /cases/ through Django (search, results count, first
page with its prefetches, every facet count, template rendering), timed in-process with
the test client, so network time is left out. Prints figures; it is not a test.

    DATABASE_URL=postgres://... python benchmarks/search.py --cases 1000000

It tops the database up to --cases published cases with benchmarks/datagen.py first
(use a database of its own: the data are not removable piecemeal).
"""

import argparse
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

# Run as a script, this directory comes first on sys.path, and import_export.py next to
# this file would shadow the django-import-export package: put the project root there.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)
else:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casework.settings")
os.environ.setdefault("CASEWORK_DEVELOPMENT", "1")
# The figures are those of a search counted afresh (a repeated search is served from
# casework.public_cache until something public changes).
os.environ.setdefault("CASEWORK_PUBLIC_CACHE", "0")

SEARCHES = [
    ("a word", {"q": "graffiti"}),
    ("a name with a spelling variant", {"q": "Mammadov"}),
    ("a phrase", {"q": '"peaceful protest"'}),
    ("a query plus two filters", {"q": "journalist", "country": "AZ", "right": "expression"}),
    ("no query, three filters", {"country": "AZ", "violation": "arbitrary-detention",
                                 "from": "2016", "to": "2018"}),
    ("a very broad query", {"q": "human rights"}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per search")
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument("--index", type=Path, metavar="DIR",
                        help="answer the searches from the search index in DIR "
                             "(casework.search_index), built first if it is not current")
    parser.add_argument("--check", action="store_true",
                        help="with --index: also compare each search's exact count and "
                             "facet counts with PostgreSQL's (slow at a million cases)")
    args = parser.parse_args()
    if args.index:
        os.environ["CASEWORK_SEARCH_INDEX"] = str(args.index)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from benchmarks.datagen import populate
    from casework.models import Case

    if connection.vendor != "postgresql":
        sys.exit("Run the benchmark on PostgreSQL (set DATABASE_URL).")
    call_command("migrate", verbosity=0)
    have = Case.objects.published().count()
    if have < args.cases:
        started = time.perf_counter()
        print(f"Adding {args.cases - have:,} published cases …", flush=True)
        populate(args.cases - have, batch_size=args.batch_size,
                 progress=lambda n: print(f"  {n:,} in {time.perf_counter() - started:.0f} s",
                                          flush=True))
        print(f"Loaded in {time.perf_counter() - started:.0f} s")
    total = Case.objects.published().count()
    if args.index:
        started = time.perf_counter()
        call_command("update_search_index")
        print(f"(update_search_index: {time.perf_counter() - started:.0f} s)")

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"\n{total:,} published cases · PostgreSQL {server} · database {size} · "
          f"{os.cpu_count()} CPUs · {memory:.0f} GiB RAM · {platform.processor() or platform.machine()}")
    print(f"{args.runs} timed runs per search after one warm-up run\n")
    print(f"{'search':34} {'results':>9} {'queries':>8} {'p50 ms':>8} {'p95 ms':>8}  answered by")

    client = Client(HTTP_HOST="localhost")
    # Which searches the index answered: the view pages through its Hits.
    from casework import search_index

    indexed: list[bool] = []
    hits_init = search_index.Hits.__init__

    def noting_hits(self, *args, **kwargs):
        indexed.append(True)
        hits_init(self, *args, **kwargs)

    search_index.Hits.__init__ = noting_hits
    for label, params in SEARCHES:
        queries: list[str] = []

        def count(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):  # the warm-up run, counted
            indexed.clear()
            response = client.get("/cases/", params)
        assert response.status_code == 200, (label, response.status_code)
        timings = []
        for _ in range(args.runs):
            started = time.perf_counter()
            client.get("/cases/", params)
            timings.append((time.perf_counter() - started) * 1000)
        text = response.content.decode()
        found = re.search(r'class="results-count">\s*([^<]*?) cases?\b', text)
        results = found.group(1) if found else "?"
        note = "  the search index" if indexed else "  PostgreSQL"
        note += " (close matches)" if "showing close matches" in text else ""
        p50 = statistics.median(timings)
        p95 = statistics.quantiles(timings, n=20, method="inclusive")[-1]
        print(f"{label:34} {results:>9} {len(queries):>8} {p50:>8.0f} {p95:>8.0f}{note}",
              flush=True)
        if args.check and indexed:
            print(f"  {compare_with_postgresql(params)}", flush=True)


def compare_with_postgresql(params: dict) -> str:
    """The index's exact count and facet counts for a search, against PostgreSQL's."""
    from django.http import QueryDict

    from casework import search_index
    from casework.filters import public_case_filter

    query = QueryDict(mutable=True)
    query.update(params)
    case_filter = public_case_filter(query)
    assert case_filter.is_valid(), case_filter.form.errors
    indexed = search_index.find(case_filter)
    count, counts = indexed.count(), indexed.facet_counts()
    exact, expected = case_filter.filtered().count(), case_filter.facet_counts()
    if (count, counts) == (exact, expected):
        return f"the same {count:,} matches and facet counts as PostgreSQL"
    return f"DIFFERENT from PostgreSQL: {count:,} matches against {exact:,}; facets equal: " \
           f"{counts == expected}"

if __name__ == "__main__":
    main()
