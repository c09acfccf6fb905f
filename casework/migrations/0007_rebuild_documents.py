"""Search documents now hold the case's reference and the English spelling of
Azerbaijani names (Cəfərov = Jafarov): rebuild those of published cases. Drafts get
theirs when they are published (casework.search rebuilds a document on publication)."""

from django.db import migrations


def rebuild_published(apps, schema_editor):
    # Uses the live code, as 0004 does: the documents' rules live in casework.search. (A
    # later migration adding a column these queries read must come before this one runs:
    # squash, or skip this when upgrading across both.)
    from casework.search import refresh_search_documents

    Case = apps.get_model("casework", "Case")
    refresh_search_documents(
        Case.objects.filter(status="published").values_list("pk", flat=True).iterator())


class Migration(migrations.Migration):
    # Not one transaction: each batch of documents is committed as it is written, so a
    # large database is not locked case after case until the end (and a rerun is safe).
    atomic = False
    dependencies = [("casework", "0006_no_list_separator")]

    operations = [migrations.RunPython(rebuild_published, migrations.RunPython.noop)]
