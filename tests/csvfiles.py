"""Helpers for tests that read and write real CSV files."""

import csv
import io
from pathlib import Path

from casework.exchange import CASE_COLUMNS, STATEMENT_COLUMNS

DATA = Path(__file__).parent / "data"
SAMPLE_CASES = DATA / "cases.csv"
SAMPLE_STATEMENTS = DATA / "statements.csv"


def csv_bytes(rows: list[dict], columns=CASE_COLUMNS, header=None) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header or columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return out.getvalue().encode("utf-8")


def read_rows(path: Path) -> list[dict]:
    """A CSV file's rows as dicts by column (to change some and write them again)."""
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def write_csv(path: Path, rows: list[dict], columns=CASE_COLUMNS, header=None) -> Path:
    path.write_bytes(csv_bytes(rows, columns, header))
    return path


def case_row(**values) -> dict:
    row = {column: "" for column in CASE_COLUMNS}
    row.update(reference="AZ-2020-001", title="A case", country="AZ")
    row.update(values)
    return row


def statement_row(**values) -> dict:
    row = {column: "" for column in STATEMENT_COLUMNS}
    row.update(reference="ST-2020-001", organisation="Council of Europe", quote="Words.",
               language="en")
    row.update(values)
    return row
