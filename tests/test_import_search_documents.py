"""An import keeps the search documents and facet keys of the cases it writes up to date,
refreshing each case once at the end instead of after every save (casework.search
.refresh_later): an import updating existing cases spent most of its time there."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from casework.models import Case, Status
from casework.search import refresh_later, refresh_search_documents
from tests import factories
from tests.csvfiles import case_row, write_csv

pytestmark = pytest.mark.django_db

REFRESH_READ = ('SELECT "casework_case"."id", "casework_case"."reference", '  # refresh's
                '"casework_case"."title"')  # first query


def test_an_import_refreshes_each_updated_case_once_and_right(
        coordinator, researcher, verifier, tmp_path):
    rows = [case_row(reference=f"AZ-2020-{n:03d}", title=f"Old title {n}",
                     violations="arbitrary-detention", rights="expression",
                     defenders=f"Defender {n}") for n in range(1, 6)]
    call_command("import_cases", str(write_csv(tmp_path / "a.csv", rows)),
                 user=coordinator.username, stdout=StringIO())
    for case in Case.objects.all():
        factories.publish(case, researcher, verifier)
    for n, row in enumerate(rows, start=1):
        row.update(title=f"Zebra crossing {n}", location="Gəncə", rights="association",
                   violations="travel-ban", defenders=f"Defender {n}; Lawyer {n}")
    with CaptureQueriesContext(connection) as queries:
        call_command("import_cases", str(write_csv(tmp_path / "b.csv", rows)),
                     user=coordinator.username, stdout=StringIO())
    assert Case.objects.filter(title__startswith="Zebra crossing").count() == 5
    refreshes = [q for q in queries.captured_queries if q["sql"].startswith(REFRESH_READ)]
    assert len(refreshes) == 1  # one batch for the five cases (it was 4 per case)
    # Changed, they went back to draft, whose documents nothing reads; publishing them
    # again builds their documents from what the import wrote.
    assert set(Case.objects.values_list("status", flat=True)) == {Status.DRAFT}
    for case in Case.objects.all():
        factories.publish(case, researcher, verifier)
    for case in Case.objects.all():
        expected = case.search_document, case.facet_keys
        refresh_search_documents([case.pk])
        case.refresh_from_db()
        assert (case.search_document, case.facet_keys) == expected  # nothing left stale
        assert "zebra crossing" in case.search_document and "ganca" in case.search_document
        assert "right:association" in case.facet_keys
        assert "violation:travel-ban" in case.facet_keys


def test_refresh_later_refreshes_at_the_end_of_the_block_and_not_after_an_error(researcher):
    """(Only published cases: nothing reads the documents of the others.)"""
    case = factories.make_case(researcher, title="Before")
    Case.objects.filter(pk=case.pk).update(status=Status.PUBLISHED)
    with refresh_later():
        Case.objects.filter(pk=case.pk).update(title="After")
        refresh_search_documents([case.pk])
        case.refresh_from_db()
        assert "after" not in case.search_document  # noted, not yet refreshed
    case.refresh_from_db()
    assert "after" in case.search_document
    with pytest.raises(RuntimeError), transaction.atomic(), refresh_later():
        Case.objects.filter(pk=case.pk).update(title="Never")
        refresh_search_documents([case.pk])
        raise RuntimeError  # rolls the change back; nothing is left to refresh
    case.refresh_from_db()
    assert case.title == "After" and "never" not in case.search_document


def test_an_imported_case_is_found_by_search_and_filters_once_published(
    coordinator, researcher, verifier, client, tmp_path
):
    """New cases are written in bulk, without save(): publishing builds their documents."""
    person = factories.make_person(researcher, name="Ana Quokkaeva", identity_public=True,
                                   defender_type="journalist")
    factories.publish(person, researcher, verifier)  # before the import: matched by name
    row = case_row(reference="AZ-2020-001", title="Quokka mural case", country="AZ",
                   violations="arbitrary-detention", rights="expression",
                   defenders="Ana Quokkaeva")
    call_command("import_cases", str(write_csv(tmp_path / "a.csv", [row])),
                 user=coordinator.username, stdout=StringIO())
    case = Case.objects.get()
    assert case.involvements.get().person == person
    factories.publish(case, researcher, verifier)

    for params in ({"q": "quokka"}, {"q": "Quokkaeva"}, {"country": "AZ"},
                   {"violation": "arbitrary-detention", "right": "expression"},
                   {"role": "journalist", "status": "ongoing"}):
        page = client.get("/cases/", params).content.decode()
        assert "Quokka mural case" in page, params


def test_only_published_cases_have_their_documents_refreshed(researcher, verifier):
    draft = factories.make_case(researcher, title="Draft before")
    Case.objects.filter(pk=draft.pk).update(title="Draft after")
    refresh_search_documents([draft.pk])
    draft.refresh_from_db()
    assert "draft after" not in draft.search_document  # not read, not rebuilt
    factories.publish(draft, researcher, verifier)
    draft.refresh_from_db()
    assert "draft after" in draft.search_document  # publishing builds it


def test_a_failed_bulk_update_leaves_nothing_behind(researcher):
    """update_records runs in a savepoint: after an error (here a title too long for its
    column, refused by the database mid-way) the next one works."""
    from django.db import DatabaseError

    from casework.bulk import update_records

    if connection.vendor != "postgresql":
        pytest.skip("SQLite does not enforce a column's length")
    case = factories.make_case(researcher, title="Before")
    case.title = "x" * 400
    with pytest.raises(DatabaseError):
        update_records(Case, [case], ["title"])
    case.title = "After"
    update_records(Case, [case], ["title"])
    assert Case.objects.get(pk=case.pk).title == "After"
