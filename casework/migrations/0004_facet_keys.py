"""Facet keys: the values the public filters and facet counts group on, on the case row
(casework.search.case_facet_keys), with a GIN index on PostgreSQL over published cases."""

from django.db import migrations, models

POSTGRES_UP = [
    # Public filters: facet_keys ?| ARRAY['right:expression', ...] over published cases.
    """
    CREATE INDEX case_public_facet_keys ON casework_case USING gin (facet_keys)
    WHERE status = 'published' AND NOT restricted
    """,
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS case_public_facet_keys"]


def postgres_up(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_UP:
            schema_editor.execute(statement)


def postgres_down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_DOWN:
            schema_editor.execute(statement)


def fill_facet_keys(apps, schema_editor):
    # Uses the live code: the keys' rules live in one place, casework.search.
    from casework.search import refresh_search_documents

    Case = apps.get_model("casework", "Case")
    refresh_search_documents(Case.objects.values_list("pk", flat=True).iterator())


class Migration(migrations.Migration):
    dependencies = [("casework", "0003_search")]

    operations = [
        migrations.AddField(
            model_name="case",
            name="facet_keys",
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
        migrations.RunPython(fill_facet_keys, migrations.RunPython.noop),
        migrations.RunPython(postgres_up, postgres_down),
    ]
