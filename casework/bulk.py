"""Bulk writes that keep Django's semantics but not its per-row cost: COPY on
PostgreSQL for inserts (create_rows, insert_rows), and one UPDATE … FROM a COPY-filled
temporary table for updates (update_records); multi-row statements elsewhere. Used by the
importer and by the search documents' refresh."""

from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone


def qn(name: str) -> str:
    """Quote a table or column name. The raw SQL below interpolates only names taken from
    model metadata, quoted; every value is a query parameter (hence the noqa: S608)."""
    return connection.ops.quote_name(name)


def create_rows(model, shared: dict, records: list[dict]) -> list[int]:
    """Create new records of `model` from their field values (by attname), without a
    model instance for each: `shared` holds the values that every record has, each dict of
    `records` one record's own. Any other field takes its default (a callable default is
    called for each record), auto_now and auto_now_add fields the time now; every value is
    prepared by its field's get_db_prep_save, as bulk_create prepares it (a shared value
    once). Returns the new records' ids, in order.

    For the import's new cases and sources: an instance for each, with each of its fields
    prepared, cost some 80 µs of CPU per imported case row.
    """
    if not records:
        return []
    known = {field.attname for field in model._meta.concrete_fields}
    unknown = (set(shared) | set().union(*records)) - known
    if unknown:  # a ForeignKey is given by its attname ("created_by_id")
        raise ValueError(f"{model.__name__} has no column {', '.join(sorted(unknown))}")
    if connection.vendor != "postgresql":
        instances = [model(**{**shared, **values}) for values in records]
        model.objects.bulk_create(instances)
        return [instance.pk for instance in instances]
    database = connections[DEFAULT_DB_ALIAS]
    now = timezone.now()
    own = set().union(*records)
    fields = model._meta.concrete_fields
    template, per_record = [], []
    for position, field in enumerate(fields):
        value = None  # the primary key: the drawn id, below
        if field.primary_key:
            pass
        elif field.attname in own or (field.attname not in shared and field.has_default()
                                      and callable(field.default)):
            per_record.append((position, field))
        elif field.attname in shared:
            value = field.get_db_prep_save(shared[field.attname], database)
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = field.get_db_prep_save(now, database)
        else:
            value = field.get_db_prep_save(field.get_default(), database)
        template.append(value)
    pk_position = fields.index(model._meta.pk)
    ids = new_ids(model, len(records))
    rows = []
    for values, pk in zip(records, ids, strict=True):
        row = template.copy()
        row[pk_position] = pk
        for position, field in per_record:
            name = field.attname
            value = (values[name] if name in values else shared[name] if name in shared
                     else field.get_default())
            row[position] = field.get_db_prep_save(value, database)
        rows.append(row)
    with connection.cursor() as cursor:
        insert_rows(cursor, model._meta.db_table, [f.column for f in fields], rows)
    return ids


def update_records(model, records: list, fields: list[str]) -> None:
    """bulk_update of these fields; on PostgreSQL one COPY into a temporary table and one
    UPDATE … FROM it. (Django's bulk_update builds a CASE for each field and record:
    some 25 ms of CPU per case.) Values are written as they are on the records."""
    if connection.vendor != "postgresql" or not records:
        model.objects.bulk_update(records, fields, batch_size=250)
        return
    table, pk = model._meta.db_table, model._meta.pk
    changed = [model._meta.get_field(name) for name in fields]
    columns = [pk.column, *(field.column for field in changed)]
    database = connections[DEFAULT_DB_ALIAS]
    rows = [[record.pk, *(field.get_db_prep_save(getattr(record, field.attname), database)
                          for field in changed)] for record in records]
    # In a transaction of its own (a savepoint inside the caller's), so that an error
    # never leaves the temporary table behind on the connection.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE casework_changed_rows ON COMMIT DROP AS SELECT "  # noqa: S608
            f"{', '.join(qn(c) for c in columns)} FROM {qn(table)} WITH NO DATA")
        insert_rows(cursor, "casework_changed_rows", columns, rows)
        cursor.execute(
            f"UPDATE {qn(table)} SET "  # noqa: S608 (our own table and column names)
            f"{', '.join(f'{qn(c)} = changed.{qn(c)}' for c in columns[1:])} "
            f"FROM casework_changed_rows changed "
            f"WHERE {qn(table)}.{qn(pk.column)} = changed.{qn(pk.column)}")
        cursor.execute("DROP TABLE casework_changed_rows")


def insert_rows(cursor, table: str, columns: list[str], rows: list) -> None:
    """Insert plain rows: COPY on PostgreSQL; elsewhere multi-row INSERTs of a few
    thousand parameters each (within SQLite's limits)."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        names = ", ".join(qn(c) for c in columns)
        # The driver's own COPY: its errors are turned into Django's, as for any query.
        with connection.wrap_database_errors, cursor.cursor.copy(
                f"COPY {qn(table)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    per_statement = max(1, 4000 // len(columns))
    names = ", ".join(qn(c) for c in columns)
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    for start in range(0, len(rows), per_statement):
        chunk = rows[start:start + per_statement]
        cursor.execute(
            f"INSERT INTO {qn(table)} ({names}) VALUES {', '.join([one] * len(chunk))}",  # noqa: S608
            [value for row in chunk for value in row],
        )


def delete_rows(cursor, table: str, ids: list[int], column: str = "id",
                batch: int = 1000) -> None:
    """Delete rows by id, a batch of ids per statement (nothing cascades: for link and
    involvement rows, which nothing references)."""
    for start in range(0, len(ids), batch):
        in_batch, params = in_ids(ids[start:start + batch])
        cursor.execute(f"DELETE FROM {qn(table)} WHERE {qn(column)} {in_batch}",  # noqa: S608
                       params)


def in_ids(ids: list[int]) -> tuple[str, list]:
    """`IN (…)` for a batch of ids (or other values), and its parameters. On PostgreSQL one
    array parameter (`= ANY(%s)`): the driver and the server then parse a short statement, not one with a
    thousand placeholders (some 2 s of CPU per 20,000 imported cases)."""
    if connection.vendor == "postgresql":
        return "= ANY(%s)", [list(ids)]
    return f"IN ({', '.join(['%s'] * len(ids))})", list(ids)


@contextmanager
def by_index(cursor):
    """Within it, PostgreSQL reads the rows a statement names through an index, never by
    scanning a whole table.

    For the single-table lookups by key of a large import (copying rows just written into
    their history): PostgreSQL's statistics cannot count the rows that a transaction has
    added so far, so as the tables grow inside one import it may plan them as for small
    tables and scan the whole table for every batch, a cost that grows with each. Not for
    joins: with scans off, a join can still be planned the wrong way round.
    """
    if connection.vendor != "postgresql":
        yield
        return
    cursor.execute("SELECT current_setting('enable_seqscan'), "
                   "set_config('enable_seqscan', 'off', true)")
    before = cursor.fetchone()[0]
    yield
    # Only after a statement that succeeded: after a failed one the transaction is
    # aborted (another statement would only hide the reason), and the setting, local to
    # the transaction, goes with its rollback.
    cursor.execute("SELECT set_config('enable_seqscan', %s, true)", [before])


def new_ids(model, count: int) -> list[int] | None:
    """Draw `count` ids from the model's table's sequence (PostgreSQL), for rows written
    with insert_rows whose ids the caller needs; None elsewhere."""
    if connection.vendor != "postgresql" or not count:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [qn(model._meta.db_table), model._meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]
