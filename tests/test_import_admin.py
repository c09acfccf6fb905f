"""Admin import: CSV only, dry-run preview with every error, confirm, permissions."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import AuditEvent
from casework.models import Case, Person, Statement, Status
from tests.csvfiles import SAMPLE_CASES, SAMPLE_STATEMENTS, case_row, csv_bytes

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("admin:casework_case_import")
PROCESS_URL = reverse("admin:casework_case_process_import")


def upload(client, content: bytes, name="cases.csv", url=IMPORT_URL):
    return client.post(url, {
        "resource": "0", "format": "0",
        "import_file": SimpleUploadedFile(name, content, content_type="text/csv"),
    })


def confirm(client, preview, url=PROCESS_URL):
    form = preview.context["confirm_form"]
    return client.post(url, {name: form.initial[name] for name in form.fields})


@pytest.mark.smoke
def test_coordinator_previews_then_confirms_an_import(coordinator_client, coordinator):
    form = coordinator_client.get("/admin/casework/case/import/")
    assert 'value="Check the file"' in form.text and "Nothing is written yet" in form.text
    preview = upload(coordinator_client, SAMPLE_CASES.read_bytes())
    assert preview.status_code == 200
    result = preview.context["result"]
    assert result.totals["new"] == 5 and not result.has_validation_errors()
    assert not Case.objects.exists()  # the preview is a dry run
    assert b"AZ-2016-002" in preview.content

    done = confirm(coordinator_client, preview)
    assert done.status_code == 302
    assert Case.objects.count() == 5
    assert set(Case.objects.values_list("status", flat=True)) == {Status.DRAFT}
    assert Case.objects.get(reference="AZ-2016-001").history.latest().history_user == coordinator
    event = AuditEvent.objects.get(action="import")
    assert (event.actor, event.details["file"], event.details["created"]) == (
        coordinator, "cases.csv", 5)
    again = coordinator_client.post(PROCESS_URL, _confirm_data(preview), follow=True)
    assert "it was imported already" in again.text
    assert Case.objects.count() == 5


def test_the_preview_lists_every_error_with_row_and_column(coordinator_client):
    content = csv_bytes([
        case_row(reference="AZ-2020-001"),
        case_row(reference="AZ-2020-002", started_on="2016-13"),
        case_row(reference="AZ-2020-003", violations="<b>Torture</b>"),
    ])
    preview = upload(coordinator_client, content)
    result = preview.context["result"]
    assert [(row.number, row.error_dict) for row in result.invalid_rows] == [
        (3, {"started_on": ['"2016-13" is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)']}),
        (4, {"violations": ['"<b>Torture</b>" is not a known violation type (use a slug or '
                            "label from the vocabulary; an administrator can add terms)"]}),
    ]
    assert "confirm_form" not in preview.context
    assert b"&lt;b&gt;Torture" in preview.content and b"<b>Torture" not in preview.content
    assert not Case.objects.exists()


@pytest.mark.parametrize(("content", "message"), [
    (b"", "file is empty."),  # (Django's own form field refuses it first)
    (b"reference,title\r\nAZ-1,x\r\n", "cases.csv: the header row is not right."),
    (b"reference,title\r\nAZ-1,x\r\n", "Missing column(s): country"),
    ("reference,title\nCafé".encode("cp1252"), "cases.csv is not UTF-8 text"),
    (b"PK\x03\x04rest-of-a-zip", "Only CSV is imported"),
])
def test_bad_files_get_a_message_on_the_form(coordinator_client, content, message):
    response = upload(coordinator_client, content)
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["import_file"])
    assert message in errors
    assert "Traceback" not in response.content.decode()


def test_files_over_the_limit_are_refused(coordinator_client, settings):
    settings.CASEWORK_IMPORT_MAX_BYTES = 100
    response = upload(coordinator_client, SAMPLE_CASES.read_bytes(), name="big.csv")
    assert "big.csv is 2 KB, over the import limit" in " ".join(
        response.context["form"].errors["import_file"])
    assert "result" not in response.context  # refused before reading the rows


def test_a_long_preview_lists_the_first_rows_and_counts_them_all(coordinator_client,
                                                                  monkeypatch):
    monkeypatch.setattr("casework.resources.PREVIEW_ROWS", 3)
    content = csv_bytes([case_row(reference=f"AZ-2020-{n:03d}") for n in range(1, 11)])
    preview = upload(coordinator_client, content)
    result = preview.context["result"]
    assert result.totals["new"] == 10
    assert len(result.rows) == 3
    assert "The table lists the first 3 of 10 rows; the totals above cover them all." in (
        preview.text)


def test_only_csv_is_offered(coordinator_client):
    response = coordinator_client.get(IMPORT_URL)
    assert [label for _value, label in response.context["form"].fields["format"].choices] == [
        "csv"]


@pytest.mark.parametrize("actor", ["researcher_client", "verifier_client"])
def test_researchers_and_verifiers_may_not_import(request, actor, coordinator_client):
    client = request.getfixturevalue(actor)
    assert client.get(IMPORT_URL).status_code == 403
    assert upload(client, SAMPLE_CASES.read_bytes()).status_code == 403
    # Not even by posting a confirmation prepared by someone allowed to import.
    preview = upload(coordinator_client, SAMPLE_CASES.read_bytes())
    assert confirm(client, preview).status_code == 403
    assert not Case.objects.exists() and not Person.objects.exists()


def test_statements_import_through_the_admin(coordinator_client):
    upload_cases = upload(coordinator_client, SAMPLE_CASES.read_bytes())
    confirm(coordinator_client, upload_cases)
    preview = upload(coordinator_client, SAMPLE_STATEMENTS.read_bytes(), "statements.csv",
                     reverse("admin:casework_statement_import"))
    assert preview.context["result"].totals["new"] == 3
    confirm(coordinator_client, preview, reverse("admin:casework_statement_process_import"))
    assert Statement.objects.count() == 3


def test_import_and_export_buttons_show_only_to_those_allowed(coordinator_client,
                                                               researcher_client):
    changelist = reverse("admin:casework_case_changelist")
    assert IMPORT_URL.encode() in coordinator_client.get(changelist).content
    page = researcher_client.get(changelist).content
    assert IMPORT_URL.encode() not in page
    assert reverse("admin:casework_case_export").encode() not in page


def test_unconfirmed_uploads_are_kept_privately_and_cleared(coordinator_client, settings,
                                                            tmp_path):
    import os

    from django.core.management import call_command

    settings.CASEWORK_IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    preview = upload(coordinator_client, SAMPLE_CASES.read_bytes())
    name = preview.context["confirm_form"].initial["import_file_name"]
    stored = settings.CASEWORK_IMPORT_UPLOAD_DIR / name
    assert stored.exists() and os.stat(settings.CASEWORK_IMPORT_UPLOAD_DIR).st_mode & 0o077 == 0

    out = open(os.devnull, "w")
    call_command("clear_import_uploads", stdout=out)  # younger than two hours: kept
    assert stored.exists()
    call_command("clear_import_uploads", older_than=0, stdout=out)
    assert not stored.exists()

    late = confirm(coordinator_client, preview)  # confirming after the clean-up
    assert late.status_code == 302 and late.url == IMPORT_URL
    assert not Case.objects.exists()

    confirmed = upload(coordinator_client, SAMPLE_CASES.read_bytes())
    assert confirm(coordinator_client, confirmed).status_code == 302
    assert Case.objects.count() == 5
    assert not list(settings.CASEWORK_IMPORT_UPLOAD_DIR.iterdir())  # removed on confirmation


def test_the_confirmation_cannot_name_a_file_outside_the_upload_directory(coordinator_client):
    preview = upload(coordinator_client, SAMPLE_CASES.read_bytes())
    form = preview.context["confirm_form"]
    data = {name: form.initial[name] for name in form.fields}
    data["import_file_name"] = "/etc/passwd"
    response = coordinator_client.post(PROCESS_URL, data, follow=True)
    assert "upload it again" in response.text and "root:" not in response.text
    assert not Case.objects.exists()
    # The storage itself refuses anything but a bare name in its directory.
    from django.core.exceptions import SuspiciousOperation

    from casework.uploads import ImportUploadStorage

    for name in ("/etc/passwd", "../casework.sqlite3", ".hidden"):
        with pytest.raises(SuspiciousOperation):
            ImportUploadStorage(name=name).read()


def _confirm_data(previewed, **changes):
    form = previewed.context["confirm_form"]
    return {**{name: form.initial[name] for name in form.fields}, **changes}


def test_confirming_refuses_what_changed_since_the_preview(coordinator_client, coordinator,
                                                           settings, tmp_path):
    """The confirm step imports the previewed file as previewed, or nothing: a colleague's
    edit made after the preview is never overwritten."""
    settings.CASEWORK_IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    confirm(coordinator_client, upload(coordinator_client, SAMPLE_CASES.read_bytes()))
    preview = upload(coordinator_client, SAMPLE_CASES.read_bytes())
    assert preview.context["result"].totals["skip"] == 5
    case = Case.objects.get(reference="AZ-2016-002")
    case.title = "A colleague's correction, saved after the preview"
    case.save()
    refused = coordinator_client.post(PROCESS_URL, _confirm_data(preview), follow=True)
    assert ("Row 3, reference: AZ-2016-002 was changed by someone else since the preview; "
            "check it and preview the file again") in refused.text
    case.refresh_from_db()
    assert case.title == "A colleague's correction, saved after the preview"
    assert AuditEvent.objects.filter(action="import").latest("at").details["outcome"] == (
        "rejected")


def test_confirming_refuses_a_changed_upload_another_user_or_a_forged_step(
        coordinator_client, settings, tmp_path):
    from tests import factories

    settings.CASEWORK_IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    confirm(coordinator_client, upload(coordinator_client, SAMPLE_CASES.read_bytes()))
    preview = upload(coordinator_client, csv_bytes([case_row(reference="AZ-2020-001")]))
    stored = settings.CASEWORK_IMPORT_UPLOAD_DIR / preview.context["confirm_form"].initial[
        "import_file_name"]
    other = factories.signed_in_client(factories.make_user("Coordinator"))
    statements = upload(coordinator_client, SAMPLE_STATEMENTS.read_bytes(),
                        url=reverse("admin:casework_statement_import"))
    attempts = [
        (other, _confirm_data(preview)),  # someone else's preview
        (coordinator_client, _confirm_data(preview, original_file_name="someone-else.csv")),
        (coordinator_client, _confirm_data(preview, format="5")),
        (coordinator_client, _confirm_data(preview, format="abc")),
        (coordinator_client, _confirm_data(preview, preview="forged")),
        (coordinator_client, _confirm_data(statements)),  # a statements file, as cases
    ]
    for client, data in attempts:
        response = client.post(PROCESS_URL, data, follow=True)
        assert response.status_code == 200, data
        assert ("does not match your preview" in response.text
                or "expired or is not valid" in response.text), data
    stored.write_bytes(csv_bytes([case_row(reference="AZ-2020-001"),
                                  case_row(reference="AZ-2020-002")]))  # changed on disk
    response = coordinator_client.post(PROCESS_URL, _confirm_data(preview), follow=True)
    assert "does not match your preview" in response.text
    assert not Case.objects.filter(reference__startswith="AZ-2020").exists()
    assert not Statement.objects.exists()


def test_an_upload_that_cannot_be_confirmed_is_deleted_at_once(coordinator_client, settings,
                                                               tmp_path):
    settings.CASEWORK_IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    upload(coordinator_client, csv_bytes([case_row(started_on="2016-13")]))
    upload(coordinator_client, b"\xff\xfe not UTF-8")
    assert not list(settings.CASEWORK_IMPORT_UPLOAD_DIR.iterdir())
    upload(coordinator_client, SAMPLE_CASES.read_bytes())
    assert len(list(settings.CASEWORK_IMPORT_UPLOAD_DIR.glob("*.upload"))) == 1  # awaiting
    assert len(list(settings.CASEWORK_IMPORT_UPLOAD_DIR.glob("*.plan"))) == 1  # confirm


def test_the_preview_says_in_words_what_the_file_would_do_and_every_error(
        coordinator_client, researcher, verifier):
    from tests import factories

    preview = upload(coordinator_client, csv_bytes([
        case_row(reference="AZ-2020-001", started_on="2016-13"),
        case_row(reference="AZ-2020-002", violations="Torture")]))
    page = preview.text
    assert "Nothing can be imported: 2 errors" in page
    # Listed as text, not only in the table cells the package shows on hover.
    listed = page.split('class="casework-import-errors"')[1].split("</ul>")[0]
    assert 'row 2, started_on: &quot;2016-13&quot; is not a date' in listed
    assert "row 3, violations: &quot;Torture&quot; is not a known violation type" in listed

    confirm(coordinator_client, upload(coordinator_client, SAMPLE_CASES.read_bytes()))
    published = Case.objects.get(reference="AZ-2016-002")
    factories.publish(published, researcher, verifier)
    rows = [case_row(reference="AZ-2016-002", title="Corrected title"),
            case_row(reference="AZ-2020-003", defenders="Brand New Person",
                     sources="https://example.org/new-source")]
    preview = upload(coordinator_client, csv_bytes(rows))
    assert "2 new" not in preview.text and "1 new, 1 updated, 0 unchanged" in preview.text
    assert "People to create: 1, as drafts" in preview.text
    assert "Sources to create: 1, as drafts" in preview.text
    assert ("1 record to update is in review, verified or published: it will go back to "
            "draft, to be submitted, verified and published again.") in preview.text and "AZ-2016-002" in preview.text
    table = preview.text.split('<table class="import-preview">')[1].split("</table>")[0]
    assert "<caption>Preview, row by row</caption>" in table
    assert '<th scope="col">Action</th>' in table and "<th></th>" not in table
    assert [cell.split("<")[0] for cell in table.split('class="import-type">')[1:]] == [
        "Update", "New"]
    # What the update changes, by column (the sample row has more than this one).
    assert '<th scope="col">Changes</th>' in table
    changes = [cell.split("<")[0] for cell in table.split('class="import-changes">')[1:]]
    assert changes[0].startswith("title, location, started_on, ended_on, violations")
    assert changes[1] == ""  # a new case
    done = confirm(coordinator_client, preview)
    message = [str(m) for m in done.wsgi_request._messages][0]
    # The admin capitalises a message's first letter: not the file's name.
    assert message.startswith("File cases.csv: imported.")
    assert "1 case was created, 1 updated" in message
    assert ("1 of them was in review, verified or published: it went back to draft, to be "
            "submitted, verified and published again.") in message


def test_a_large_file_can_be_confirmed_and_its_plan_waits_on_the_server(
        coordinator_client, settings, tmp_path):
    """The plan of a long file would make the confirm form too big to post: it waits
    beside the upload, and the form carries only its signed digest."""
    settings.CASEWORK_IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 20_000
    preview = upload(coordinator_client, csv_bytes(
        [case_row(reference=f"AZ-2020-{n:04d}") for n in range(600)]))
    assert len(preview.context["confirm_form"].initial["preview"]) < 1000
    plans = list(settings.CASEWORK_IMPORT_UPLOAD_DIR.glob("*.plan"))
    assert len(plans) == 1
    assert confirm(coordinator_client, preview).status_code == 302
    assert Case.objects.count() == 600
    assert not list(settings.CASEWORK_IMPORT_UPLOAD_DIR.iterdir())  # upload and plan gone


def test_confirming_refuses_names_that_resolve_otherwise_than_in_the_preview(
        coordinator_client, researcher, settings, tmp_path):
    from tests import factories

    settings.CASEWORK_IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    preview = upload(coordinator_client, csv_bytes([case_row(reference="AZ-2020-009",
                                                             defenders="Leyla Example")]))
    assert "People to create: 1, as drafts" in preview.text
    factories.make_person(researcher, name="Leyla Example")  # a colleague, meanwhile
    refused = coordinator_client.post(PROCESS_URL, _confirm_data(preview), follow=True)
    assert ("AZ-2020-009 would now name other people, organisations or sources than in "
            "the preview") in refused.text
    assert not Case.objects.exists()


def test_a_confirm_that_fails_midway_leaves_no_upload_behind(
        coordinator_client, settings, tmp_path, monkeypatch):
    from casework.importing import CaseImporter

    settings.CASEWORK_IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    preview = upload(coordinator_client, csv_bytes([case_row(defenders="Secret Name")]))

    def database_went_away(self, parsed, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(CaseImporter, "run", database_went_away)
    coordinator_client.raise_request_exception = False
    assert coordinator_client.post(PROCESS_URL, _confirm_data(preview)).status_code == 500
    assert not list(settings.CASEWORK_IMPORT_UPLOAD_DIR.iterdir())  # partner data gone
    monkeypatch.undo()
    retry = coordinator_client.post(PROCESS_URL, _confirm_data(preview), follow=True)
    assert "no longer on the server" in retry.text
    assert not Case.objects.exists()


def test_clearing_uploads_leaves_no_plan_behind(coordinator_client, settings, tmp_path):
    import os
    import time

    from casework.uploads import clear_uploads

    settings.CASEWORK_IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    preview = upload(coordinator_client, csv_bytes([case_row()]))
    name = preview.context["confirm_form"].initial["import_file_name"]
    now = time.time()
    # The plan is written after the preview ran: younger than its upload.
    os.utime(settings.CASEWORK_IMPORT_UPLOAD_DIR / name, (now - 7300, now - 7300))
    os.utime(settings.CASEWORK_IMPORT_UPLOAD_DIR / f"{name}.plan", (now - 7100, now - 7100))
    assert clear_uploads(7200) == 1
    assert not list(settings.CASEWORK_IMPORT_UPLOAD_DIR.iterdir())
