"""Cases created by an import and published before publishing rebuilt search documents
had none: the public search and filters missed them. Rebuild those."""

from django.db import migrations


def rebuild_missing(apps, schema_editor):
    # Uses the live code, as 0004 does: the documents' rules live in casework.search. (A
    # later migration adding a column these queries read must come before this one runs:
    # squash, or skip this when upgrading across both.)
    from casework.search import refresh_search_documents

    Case = apps.get_model("casework", "Case")
    missing = Case.objects.filter(status="published", search_document="")
    refresh_search_documents(missing.values_list("pk", flat=True).iterator())


class Migration(migrations.Migration):
    # Not one transaction: each batch of documents is committed as it is written, so a
    # large database is not locked case after case until the end (and a rerun is safe).
    atomic = False
    dependencies = [("casework", "0004_facet_keys")]

    operations = [migrations.RunPython(rebuild_missing, migrations.RunPython.noop)]
