"""Bulk writes that keep Django's semantics but not its per-row cost: COPY on
PostgreSQL for inserts (create_records, insert_rows), and one UPDATE … FROM a COPY-filled
temporary table for updates (update_records); multi-row statements elsewhere. Used by the
importer and by the search documents' refresh."""

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction


def qn(name: str) -> str:
    """Quote a table or column name. The raw SQL below interpolates only names taken from
    model metadata, quoted; every value is a query parameter (hence the noqa: S608)."""
    return connection.ops.quote_name(name)


def create_records(model, records: list) -> None:
    """bulk_create; on PostgreSQL, ids drawn from the table's sequence and one COPY.

    Values are prepared exactly as Django prepares them for an insert (pre_save for
    auto_now fields, get_db_prep_save), so the rows are those bulk_create would write.
    """
    if connection.vendor != "postgresql" or not records:
        model.objects.bulk_create(records)
        return
    table = model._meta.db_table
    fields = model._meta.concrete_fields
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [qn(table), model._meta.pk.column, len(records)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        # The connection itself, not the `connection` proxy: every attribute read through
        # the proxy is a thread-local lookup, and preparing values reads many (some 2.5 s
        # of CPU per 20,000 imported cases).
        database = connections[DEFAULT_DB_ALIAS]
        rows = []
        for record, pk in zip(records, ids, strict=True):
            record.pk = pk
            rows.append([f.get_db_prep_save(f.pre_save(record, True), database) for f in fields])
        insert_rows(cursor, table, [f.column for f in fields], rows)
    for record in records:
        record._state.adding = False
        record._state.db = connection.alias


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
    """`IN (…)` for a batch of ids, and its parameters. On PostgreSQL one array parameter
    (`= ANY(%s)`): the driver and the server then parse a short statement, not one with a
    thousand placeholders (some 2 s of CPU per 20,000 imported cases)."""
    if connection.vendor == "postgresql":
        return "= ANY(%s)", [list(ids)]
    return f"IN ({', '.join(['%s'] * len(ids))})", list(ids)
