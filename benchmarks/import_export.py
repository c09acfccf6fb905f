"""Import and export throughput on PostgreSQL: prints figures, is not a test.

    DATABASE_URL=postgres://.../casework_bench CASEWORK_DEVELOPMENT=1 \\
        .venv/bin/python benchmarks/import_export.py --scratch [--import-rows 100000] \\
        [--update-rows 20000] [--export-rows 1000000]

The database must be a scratch one: the script migrates it and DELETES every case,
statement, person, organisation and source in it. Each measurement runs in its own
child process, so that its peak memory is its own:

- import: `casework.importing` on a CSV of N new case rows from benchmarks/datagen.py,
  as import_cases runs it (full validation, then one transaction writing the cases in
  batches with their people, sources, links and history);
- update: the same for a file that changes N existing cases (imported first, not
  measured): every title, one violation dropped, a source added, and on every other row
  a defender replaced by one of 50 new people, so that every row changes relations;
- export: `case_csv(Case.objects.all(), public=False)` over N published cases (the code
  behind export_cases, the admin export and the reports download: on PostgreSQL COPY
  queries that the database writes, two at once from 200,000 cases), written to /dev/null.

Memory is the growth of the child's peak resident set size (resource.getrusage
ru_maxrss) from just before the measured step to its end, so it includes Python objects,
the database driver's buffers and the generated file (import) but not Django's start-up.
Figures go to docs/benchmarks.md with the machine they were measured on.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this directory comes first on sys.path, and this file's name would
# shadow the django-import-export package (import_export): put the project root there.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(ROOT)
else:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casework.settings")


def _setup():
    import django

    django.setup()


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ---------------------------------------------------------------------------
# The measured steps (each in a child process)
# ---------------------------------------------------------------------------


def _reset() -> None:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE casework_involvement, casework_statement_cases, casework_case_violations, "
            "casework_case_rights, casework_case_sources, casework_statement_signatories, "
            "casework_statement, casework_case, casework_person, casework_organisation, "
            "casework_source RESTART IDENTITY CASCADE")
        for table in connection.introspection.table_names():
            if table.startswith("casework_historical"):
                cursor.execute(f'TRUNCATE "{table}" CASCADE')  # noqa: S608 (our own table names)


def _user():
    from django.contrib.auth.models import Group

    from accounts.models import User

    user, _ = User.objects.get_or_create(username="benchmark", defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name="Coordinator"))
    return user


def measure_import(n: int) -> dict:
    from django.conf import settings

    from benchmarks import datagen
    from casework.exchange import CASE_COLUMNS, csv_lines
    from casework.importing import import_file

    _reset()
    user = _user()
    data = "".join(csv_lines(datagen.case_rows(n, seed=0), CASE_COLUMNS)).encode("utf-8")
    settings.CASEWORK_IMPORT_MAX_BYTES = len(data) + 1
    before = maxrss_mb()
    started = time.perf_counter()
    report = import_file("cases", data, "benchmark.csv", user)
    seconds = time.perf_counter() - started
    if report.errors:
        raise SystemExit(f"benchmark file rejected: {report.errors[:5]}")
    return {"step": "import", "rows": len(report.created), "seconds": seconds,
            "rows_per_s": len(report.created) / seconds, "file_mb": len(data) / 2**20,
            "peak_mb_growth": maxrss_mb() - before}


def measure_update(n: int) -> dict:
    from django.conf import settings

    from benchmarks import datagen
    from casework.exchange import CASE_COLUMNS, csv_lines
    from casework.importing import import_file

    _reset()
    user = _user()
    rows = list(datagen.case_rows(n, seed=0))
    data = "".join(csv_lines(rows, CASE_COLUMNS)).encode("utf-8")
    settings.CASEWORK_IMPORT_MAX_BYTES = 2 * len(data)
    if import_file("cases", data, "benchmark.csv", user).errors:
        raise SystemExit("benchmark file rejected")
    for i, row in enumerate(rows):
        row["title"] += " (corrected)"
        row["violations"] = row["violations"].split("; ")[0]
        row["sources"] = "; ".join(filter(None, [row["sources"],
                                                 f"https://example.org/update/{i}"]))
        if i % 2:
            row["defenders"] = "; ".join([*row["defenders"].split("; ")[:1],
                                          f"Another Defender {i % 50}"])
    data = "".join(csv_lines(rows, CASE_COLUMNS)).encode("utf-8")
    before = maxrss_mb()
    started = time.perf_counter()
    report = import_file("cases", data, "changed.csv", user)
    seconds = time.perf_counter() - started
    if report.errors or len(report.updated) != n:
        raise SystemExit(f"changed file not imported as expected: {report.errors[:5]}")
    return {"step": "update", "rows": n, "seconds": seconds, "rows_per_s": n / seconds,
            "file_mb": len(data) / 2**20, "peak_mb_growth": maxrss_mb() - before}


def measure_populate(n: int) -> dict:
    from benchmarks import datagen

    _reset()
    started = time.perf_counter()
    datagen.populate(n, batch_size=5000)
    return {"step": "populate", "rows": n, "seconds": time.perf_counter() - started}


def measure_export(n: int) -> dict:
    """Runs in a fresh process after measure_populate: its peak memory is the export's."""
    from casework.exchange import case_csv
    from casework.models import Case

    before = maxrss_mb()
    started = time.perf_counter()
    rows = -1  # the header line
    with open(os.devnull, "w", encoding="utf-8") as sink:
        for line in case_csv(Case.objects.all(), public=False):
            sink.write(line)
            rows += 1
    seconds = time.perf_counter() - started
    return {"step": "export", "rows": rows, "seconds": seconds, "rows_per_s": rows / seconds,
            "peak_mb_growth": maxrss_mb() - before, "peak_mb": maxrss_mb()}


def child(step: str, n: int) -> None:
    _setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("Run the benchmark on PostgreSQL: set DATABASE_URL.")
    steps = {"import": measure_import, "update": measure_update, "populate": measure_populate, "export": measure_export}
    print(repr(steps[step](n)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scratch", action="store_true", required=True,
                        help="Confirm DATABASE_URL is a scratch database the script may empty.")
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--update-rows", type=int, default=20_000)
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=2, metavar=("STEP", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}; data: benchmarks/datagen.py")
    for step, n in (("import", args.import_rows), ("update", args.update_rows), ("populate", args.export_rows),
                    ("export", args.export_rows)):
        if n <= 0:
            continue
        output = subprocess.run(  # noqa: S603 (this script, with our own arguments)
            [sys.executable, __file__, "--scratch", "--child", step, str(n)],
            check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]
        result = eval(output, {})  # noqa: S307 (our own child's repr of a dict of numbers)
        if step == "populate":
            print(f"(populating {n:,} published cases took {result['seconds']:.0f} s)")
            continue
        extra = (f", file {result['file_mb']:.0f} MB" if step in ("import", "update")
                 else f", process peak {result['peak_mb']:.0f} MB")
        print(f"{step}: {result['rows']:,} rows in {result['seconds']:.1f} s = "
              f"{result['rows_per_s']:,.0f} rows/s; peak memory growth "
              f"{result['peak_mb_growth']:.0f} MB (ru_maxrss){extra}")


if __name__ == "__main__":
    main()
