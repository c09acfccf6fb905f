"""A log of changes to what the public site shows, for caching its costliest figures
exactly (casework/public_cache.py). PostgreSQL only: SQLite (the local demo) caches
nothing.

Each transaction that writes something a public page can show adds one row with its
transaction id: any write to a published case, person, organisation or statement (or
one that publishes it), and any write to the case-vocabulary links and to the
vocabularies. A cached figure remembers the snapshot it was counted in; it is still
good while every logged change was already visible in that snapshot
(pg_visible_in_snapshot). Triggers catch every path — the admin, imports (COPY), bulk
updates, the shell. One row per transaction (the unique xact), so the log stays small
and is never pruned: a pruned row could be one that an older figure still depends on.

Also an index for the newest-published order of the home page's latest cases, the
feed and `sort=published`: (status, published_at) alone left ties on published_at (an
import published at once) to a sort of every published case.
"""

from django.db import migrations

PUBLISHED_ROWS = ["casework_case", "casework_person", "casework_organisation",
                  "casework_statement"]
OTHER_TABLES = ["casework_case_rights", "casework_case_violations", "casework_right",
                "casework_violationtype"]

UP = [
    """
    CREATE TABLE casework_publicchange (
        xact xid8 NOT NULL DEFAULT pg_current_xact_id(),
        logged_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE UNIQUE INDEX casework_publicchange_xact ON casework_publicchange (xact)",
    """
    CREATE INDEX case_public_published ON casework_case (published_at DESC, id DESC)
    WHERE status = 'published' AND NOT restricted
    """,
    """
    CREATE FUNCTION casework_log_public_change() RETURNS trigger AS $$
    BEGIN
      INSERT INTO casework_publicchange DEFAULT VALUES ON CONFLICT (xact) DO NOTHING;
      RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
]
for table in PUBLISHED_ROWS:
    UP += [
        f"""CREATE TRIGGER {table}_public_insert AFTER INSERT ON {table} FOR EACH ROW
            WHEN (NEW.status = 'published') EXECUTE FUNCTION casework_log_public_change()""",
        f"""CREATE TRIGGER {table}_public_update AFTER UPDATE ON {table} FOR EACH ROW
            WHEN (OLD.status = 'published' OR NEW.status = 'published')
            EXECUTE FUNCTION casework_log_public_change()""",
        f"""CREATE TRIGGER {table}_public_delete AFTER DELETE ON {table} FOR EACH ROW
            WHEN (OLD.status = 'published') EXECUTE FUNCTION casework_log_public_change()""",
        f"""CREATE TRIGGER {table}_public_truncate AFTER TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION casework_log_public_change()""",
    ]
for table in OTHER_TABLES:
    UP.append(f"""CREATE TRIGGER {table}_public_change
                  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
                  FOR EACH STATEMENT EXECUTE FUNCTION casework_log_public_change()""")
DOWN = [f"DROP TRIGGER IF EXISTS {table}_public_{event} ON {table}"
        for table in PUBLISHED_ROWS for event in ("insert", "update", "delete", "truncate")]
DOWN += [f"DROP TRIGGER IF EXISTS {table}_public_change ON {table}" for table in OTHER_TABLES]
DOWN += ["DROP INDEX IF EXISTS case_public_published",
         "DROP FUNCTION IF EXISTS casework_log_public_change()",
         "DROP TABLE IF EXISTS casework_publicchange"]


def postgres_up(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in UP:
            schema_editor.execute(statement)


def postgres_down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("casework", "0009_case_ends_after_start_period")]

    operations = [migrations.RunPython(postgres_up, postgres_down)]
