"""The change log's triggers (0010_public_changes) fire always, also in sessions with
`session_replication_role = replica`: the mode in which logical replication applies
changes and some bulk loads run. Without this, such a change would not be logged, and
the cached figures (casework.public_cache) and the search index
(casework.search_index) would take a stale state for the current one.
"""

from django.db import migrations

TRIGGERS = [(table, f"{table}_public_{event}")
            for table in ["casework_case", "casework_person", "casework_organisation",
                          "casework_statement"]
            for event in ("insert", "update", "delete", "truncate")]
TRIGGERS += [(table, f"{table}_public_change")
             for table in ["casework_case_rights", "casework_case_violations",
                           "casework_right", "casework_violationtype"]]


def always(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table, trigger in TRIGGERS:
            schema_editor.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {trigger}")


def as_before(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table, trigger in TRIGGERS:
            schema_editor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")


class Migration(migrations.Migration):
    dependencies = [("casework", "0010_public_changes")]

    operations = [migrations.RunPython(always, as_before)]
