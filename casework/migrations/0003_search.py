"""Search: a normalised public document per case, and on PostgreSQL its weighted tsvector
(kept by a trigger), a GIN index for full-text queries and a trigram index for close
matches. SQLite (the local demo) gets the columns only: it searches with LIKE.
"""

import django.contrib.postgres.search
from django.db import migrations, models

POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # The vector: title (A), names (B), the rest (D); see casework.search.build_document.
    r"""
    CREATE OR REPLACE FUNCTION casework_case_search_vector() RETURNS trigger AS $$
    BEGIN
      NEW.search_vector :=
        setweight(to_tsvector('english', split_part(NEW.search_document, E'\n', 1)), 'A') ||
        setweight(to_tsvector('english', split_part(NEW.search_document, E'\n', 2)), 'B') ||
        setweight(to_tsvector('english', split_part(NEW.search_document, E'\n', 3)), 'D');
      RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER casework_case_search_vector
    BEFORE INSERT OR UPDATE OF search_document ON casework_case
    FOR EACH ROW EXECUTE FUNCTION casework_case_search_vector()
    """,
    # Public search: search_vector @@ websearch_to_tsquery(...).
    "CREATE INDEX case_search_vector ON casework_case USING gin (search_vector)",
    # Close matches: search_document %> 'words' (trigram word similarity).
    "CREATE INDEX case_search_trigram ON casework_case USING gin (search_document gin_trgm_ops)",
    # Public list without a query, newest first, and the date filters on published cases.
    """
    CREATE INDEX case_public_started ON casework_case (started_on DESC NULLS LAST, id DESC)
    WHERE status = 'published' AND NOT restricted
    """,
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS case_public_started",
    "DROP INDEX IF EXISTS case_search_trigram",
    "DROP INDEX IF EXISTS case_search_vector",
    "DROP TRIGGER IF EXISTS casework_case_search_vector ON casework_case",
    "DROP FUNCTION IF EXISTS casework_case_search_vector()",
]


def postgres_up(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_UP:
            schema_editor.execute(statement)


def postgres_down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_DOWN:
            schema_editor.execute(statement)


def build_documents(apps, schema_editor):
    """Nothing: 0004_facet_keys builds the documents of existing cases with the live code,
    which needs the columns added there too."""


class Migration(migrations.Migration):
    dependencies = [("casework", "0002_vocabulary")]

    operations = [
        migrations.AddField(
            model_name="case",
            name="search_document",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.AddField(
            model_name="case",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.RunPython(postgres_up, postgres_down),
        migrations.RunPython(build_documents, migrations.RunPython.noop),
    ]
