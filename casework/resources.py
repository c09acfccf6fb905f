"""django-import-export glue: the admin import and export use the same engine as the
commands (casework.importing) and the same serialiser as every export (casework.exchange).

- Only CSV is offered, for import and export: no XLSX, so no spreadsheet-bomb surface.
- The CSV "format" classes hand the raw bytes to casework.importing.read_csv, so the
  admin checks size, encoding and header exactly like the commands and says so in words.
- The resources' import_data runs the importer (dry run for the preview, for real on
  confirm) and turns its report into django-import-export's Result, so the preview lists
  every error with its row and column, and the counts of new, updated and skipped rows.
- Admin exports stream `case_csv(...)` (cases) or `csv_lines(statement_rows(...))`: the
  one format, formula-neutralised, with flat memory; each export is written to the audit
  log.
"""

from __future__ import annotations

import contextvars
import hashlib
import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core import signing
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    FieldDoesNotExist,
    PermissionDenied,
    ValidationError,
)
from django.db import models
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from import_export import resources
from import_export.admin import ImportExportMixin
from import_export.fields import Field
from import_export.formats import base_formats
from import_export.forms import ConfirmImportForm, ExportForm, ImportForm
from import_export.results import Result, RowResult
from tablib import Dataset

from accounts.models import AuditEvent
from casework.exchange import (
    CASE_COLUMNS,
    STATEMENT_COLUMNS,
    case_csv,
    case_rows,
    csv_lines,
    neutralise_formula,
    statement_rows,
)
from casework.importing import (
    CaseImporter,
    ImportFileError,
    ParsedFile,
    StatementImporter,
    max_bytes,
    read_csv,
)
from casework.models import Case
from casework.uploads import plan_file

PREVIEW_ROWS = 1000  # rows listed in the admin preview; the counts cover the whole file


class ParsedDataset(Dataset):
    """A tablib Dataset that keeps our own reading of the file (row numbers included)."""

    parsed: ParsedFile


# The name of the upload being read, for the messages about it ("partner.csv is
# empty."): django-import-export reads it in its own view, without the name.
_reading = contextvars.ContextVar("import_file_name", default="The file")


class _ExchangeCSV(base_formats.CSV):
    """CSV read as bytes by casework.importing, so every file problem is named in words."""

    columns: list[str] = []

    def get_title(self):
        return "csv"

    def is_binary(self):
        return True

    def get_read_mode(self):
        return "rb"

    def create_dataset(self, in_stream, **kwargs):
        if isinstance(in_stream, str):
            in_stream = in_stream.encode("utf-8")
        parsed = read_csv(in_stream, _reading.get(), self.columns)
        width = len(parsed.header)
        dataset = ParsedDataset(headers=parsed.header)
        for _number, cells in parsed.rows:
            dataset.append((cells + [""] * width)[:width])
        dataset.parsed = parsed
        dataset.digest = hashlib.sha256(in_stream).hexdigest()
        return dataset


class CaseCSV(_ExchangeCSV):
    columns = CASE_COLUMNS


class StatementCSV(_ExchangeCSV):
    columns = STATEMENT_COLUMNS


def _columns_fields(columns):
    return {name: Field(attribute=None, column_name=name) for name in columns}


class ExchangeResource(resources.Resource):
    """Import through casework.importing; export through casework.exchange."""

    importer_class = None
    columns: list[str] = []
    display_name = ""

    @classmethod
    def get_display_name(cls):
        return cls.display_name or cls.__name__

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.fields = _columns_fields(self.columns)

    def get_user_visible_fields(self):
        return list(self.fields.values())

    def lines(self, queryset, user=None):
        """The export as CSV lines, header first."""
        return csv_lines(self.rows(queryset, user=user), self.columns)

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None,
                    collect_failed_rows=False, rollback_on_validation_errors=False, **kwargs):
        file_name = kwargs.get("file_name") or "upload.csv"
        user = kwargs.get("user")
        parsed = getattr(dataset, "parsed", None)
        if parsed is None:  # a plain tablib Dataset from another caller
            parsed = ParsedFile(file_name, list(dataset.headers or []),
                                [(n, list(r)) for n, r in enumerate(dataset, start=2)])
        parsed.filename = file_name
        request = kwargs.get("request")
        importer = self.importer_class(user, file_name, dry_run=dry_run, request=request,
                                       expected=kwargs.get("expected"))
        report = importer.run(parsed)
        if dry_run and request is not None and not report.errors:
            # For the confirm step: what this preview showed (see PreviewConfirmForm).
            request.casework_preview = {"digest": getattr(dataset, "digest", ""),
                                        "plan": report.plan()}
        return self._result(parsed, report)

    def _result(self, parsed: ParsedFile, report) -> Result:
        result = Result()
        result.diff_headers = list(self.columns)
        cells_by_row = dict(parsed.rows)
        by_row: dict[int, dict[str, list[str]]] = {}
        for error in report.errors:
            by_row.setdefault(error.row, {}).setdefault(error.column or NON_FIELD_ERRORS, []).append(
                error.message)
        for number, errors in sorted(by_row.items()):
            cells = cells_by_row.get(number, [])
            values = dict(zip(parsed.header, cells, strict=False))
            result.append_invalid_row(number, values, ValidationError(errors))
        kinds = {"created": RowResult.IMPORT_TYPE_NEW, "updated": RowResult.IMPORT_TYPE_UPDATE,
                 "skipped": RowResult.IMPORT_TYPE_SKIP}
        if not report.errors:
            listed = 0
            for reference, (number, action) in sorted(report.actions.items(),
                                                      key=lambda item: item[1][0]):
                result.totals[kinds[action]] += 1
                record = report.records.get(reference, (None, None))[1]
                if listed >= PREVIEW_ROWS and (record is None or action == "skipped"):
                    continue
                row = RowResult()
                row.import_type = kinds[action]
                row.object_repr = reference
                row.instance = record
                if record is not None:
                    row.object_id = record.pk
                values = dict(zip(parsed.header, cells_by_row.get(number, []), strict=False))
                row.diff = [values.get(column, "") for column in self.columns]
                row.casework_changes = report.changes.get(reference, [])
                result.append_row_result(row)
                listed += 1
        result.total_rows = len(parsed.rows)
        result.casework_report = report
        return result

    def export(self, queryset=None, **kwargs):
        """A tablib Dataset in the exchange format (the admin itself streams instead)."""
        dataset = Dataset(headers=list(self.columns))
        for row in self.rows(queryset):
            dataset.append([neutralise_formula(row[column] or "") for column in self.columns])
        return dataset


class CaseResource(ExchangeResource):
    importer_class = CaseImporter
    columns = CASE_COLUMNS

    display_name = "Cases (CSV exchange format)"

    def rows(self, queryset, user=None):
        return case_rows(queryset, public=False)

    def lines(self, queryset, user=None):
        return case_csv(queryset, public=False)


class StatementResource(ExchangeResource):
    importer_class = StatementImporter
    columns = STATEMENT_COLUMNS

    display_name = "Statements (CSV exchange format)"

    def rows(self, queryset, user=None):
        """`user`: name only the cases they may see (restricted ones are not for all)."""
        return statement_rows(
            queryset, cases=Case.objects.visible_to(user) if user is not None else None)


# Changelist parameters that are not filters: page, ordering, the error flag.
_NOT_FILTERS = {"p", "o", "e", "all"}


# Lookups whose value is text someone typed (a name, a phrase), not a choice.
_TEXT_LOOKUPS = {"contains", "icontains", "startswith", "istartswith", "endswith",
                 "iendswith", "regex", "iregex", "search", "iexact"}
TEXT_NOT_RECORDED = "(search text not recorded)"


def _typed_text(model, key: str) -> bool:
    """Whether a filter parameter's value is free text: a text lookup, or a text field
    without choices (the admin accepts `?summary__icontains=…` or `?title=…` in the URL)."""
    parts = key.split("__")
    if parts[-1] in _TEXT_LOOKUPS:
        return True
    field = None
    for part in parts:
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:  # a lookup (year, exact, in, …): stop here
            break
        if field.is_relation and field.related_model is not None:
            model = field.related_model
    return (isinstance(field, (models.CharField, models.TextField))
            and not field.choices)


def describe_filters(filters: dict[str, list[str]], model) -> list[dict]:
    """The export page's filters in words: each field's name and its values' labels
    ("Status: Published"), beside the parameter as the audit log records it."""
    described = []
    for key, values in filters.items():
        try:
            field = model._meta.get_field(key.split("__")[0])
        except FieldDoesNotExist:  # the search box (q), or another parameter
            field = None
        described.append({"key": key, "values": [_value_label(field, v) for v in values],
                          "label": capfirst(field.verbose_name) if field else key})
    return described


def _value_label(field, value: str) -> str:
    if field is None or value == TEXT_NOT_RECORDED:
        return value
    if field.choices:  # a status, a country, a role
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, models.BooleanField):
        return str(_("yes") if value in ("1", "True", "true") else _("no"))
    if field.is_relation and value.isascii() and value.isdigit() and len(value) <= 18:
        record = field.related_model._base_manager.filter(pk=value).first()
        return str(record) if record is not None else value
    return value


def audit_filters(params, model=Case) -> dict[str, list[str]]:
    """Which filters an export used. Text typed into a search or a text field's filter is
    left out, in the audit log as on the export page: it can be a name."""
    filters = {}
    for key, values in params.lists():
        if key.startswith("_") or key in _NOT_FILTERS:
            continue
        filters[key] = ([TEXT_NOT_RECORDED] if key == "q" or _typed_text(model, key)
                        else values)
    return filters


class SizeLimitedImportForm(ImportForm):
    """Refuses a file over the limit before django-import-export reads it into memory."""

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        if upload.size > max_bytes():
            try:
                read_csv(b"", upload.name, [], size=upload.size)
            except ImportFileError as error:
                raise ValidationError(error.messages) from None
        return upload


PREVIEW_SALT = "casework.import-preview"
PREVIEW_MAX_AGE = 2 * 60 * 60  # seconds; clear_import_uploads deletes uploads after hours


class PreviewConfirmForm(ConfirmImportForm):
    """The confirm step, holding what the preview showed: signed, so that confirming
    imports exactly the previewed file, by the user who previewed it, with each record
    as it was then (ExchangeAdminMixin.process_dataset checks it)."""

    preview = forms.CharField(widget=forms.HiddenInput())

    def clean_preview(self):
        try:
            return signing.loads(self.cleaned_data["preview"], salt=PREVIEW_SALT,
                                 max_age=PREVIEW_MAX_AGE)
        except signing.BadSignature:
            raise ValidationError(_("This preview has expired or is not valid: upload the "
                                    "file again.")) from None


class PreviewMismatch(Exception):
    """The confirm step does not match the preview it claims to confirm."""


class ExchangeAdminMixin(ImportExportMixin):
    """Admin import (CSV only, dry-run preview, all or nothing) and streamed export."""

    import_form_class = SizeLimitedImportForm
    confirm_form_class = PreviewConfirmForm
    export_form_class = ExportForm
    import_template_name = "admin/casework/import.html"
    export_template_name = "admin/casework/export.html"
    exchange_columns: list[str] = []

    def get_export_filename(self, request, queryset, file_format):
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        return f"{self.opts.model_name}s-{stamp}.csv"

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, ImportFileError):
            for message in e.messages:
                form.add_error("import_file", message)
            return
        super().add_data_read_fail_error_to_form(form, e)

    def get_confirm_form_initial(self, request, import_form):
        """The signed preview: who previewed which stored file, its digest, and the digest
        of the plan, which waits beside the upload (a plan of tens of thousands of rows
        would make the form too big to post)."""
        initial = super().get_confirm_form_initial(request, import_form)
        preview = getattr(request, "casework_preview", None)
        if import_form is not None and preview is not None:
            plan = json.dumps(preview["plan"], sort_keys=True).encode()
            plan_file(initial["import_file_name"]).write_bytes(plan)
            initial["preview"] = signing.dumps({
                "digest": preview["digest"], "plan": hashlib.sha256(plan).hexdigest(),
                "user": request.user.pk, "file": initial["import_file_name"],
                "name": initial["original_file_name"], "format": str(initial["format"]),
            }, salt=PREVIEW_SALT)
        return initial

    def process_dataset(self, dataset, form, request, **kwargs):
        """Confirm: import the previewed file only, as previewed (or refuse it)."""
        preview = form.cleaned_data["preview"]
        if (preview.get("user") != request.user.pk
                or preview.get("file") != form.cleaned_data["import_file_name"]
                or preview.get("name") != form.cleaned_data["original_file_name"]
                or preview.get("format") != form.cleaned_data["format"]
                or preview.get("digest") != getattr(dataset, "digest", None)):
            raise PreviewMismatch
        name = form.cleaned_data["import_file_name"]
        stored = plan_file(name)
        try:
            plan = stored.read_bytes()
        except FileNotFoundError:  # confirmed already, or cleared: the upload goes too
            self._remove_upload(name)
            raise
        if preview.get("plan") != hashlib.sha256(plan).hexdigest():
            raise PreviewMismatch
        stored.unlink()  # used once
        try:
            return super().process_dataset(dataset, form, request, expected=json.loads(plan),
                                           **kwargs)
        finally:
            # Whatever happens now, the upload cannot be confirmed again: delete it.
            self._remove_upload(name)

    def _remove_upload(self, name: str) -> None:
        self.get_tmp_storage_class()(name=name, **self.get_tmp_storage_class_kwargs()).remove()
        plan_file(name).unlink(missing_ok=True)

    def import_action(self, request, **kwargs):
        """The upload and its preview. An upload that cannot be confirmed (unreadable, or
        with errors) is deleted at once: partner data must not linger on disk."""
        upload = request.FILES.get("import_file")
        token = _reading.set(upload.name) if upload else None
        try:
            response = super().import_action(request, **kwargs)
        finally:
            if token is not None:
                _reading.reset(token)
        context = getattr(response, "context_data", None) or {}
        name = getattr(request.FILES.get("import_file"), "tmp_storage_name", None)
        if request.method == "POST" and name and not context.get("confirm_form"):
            self._remove_upload(name)
        return response

    def process_import(self, request, **kwargs):
        import_url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_import")
        try:
            return super().process_import(request, **kwargs)
        except FileNotFoundError:  # cleared by clear_import_uploads (casework.uploads)
            messages.error(request, _(
                "The uploaded file is no longer on the server: it was imported already (the "
                "audit log would show it), or its preview waited too long to be confirmed (such "
                "uploads are deleted after a while). Nothing was imported now; to import "
                "it, upload it again."))
        except (PreviewMismatch, ImportFileError, IndexError, ValueError):
            # A confirm step that is not the one this user's preview produced (edited,
            # replayed by someone else, or for another kind of record): nothing is read.
            messages.error(request, _(
                "This confirmation does not match your preview. Nothing was imported: "
                "please upload the file again."))
        return HttpResponseRedirect(import_url)

    def export_action(self, request):
        """As the changelist does, an unknown or invalid filter in the URL goes back to
        the list with its "?e=1" message instead of a 500."""
        try:
            response = super().export_action(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
                + "?e=1")
        context = getattr(response, "context_data", None)
        if context is not None and "export_items" not in request.POST:
            # The form page says what the file will hold before anyone presses the button.
            context["export_count"] = self.get_export_queryset(request).count()
            context["export_filters"] = describe_filters(audit_filters(request.GET, self.model),
                                                         self.model)
            context["export_nouns"] = (self.opts.verbose_name, self.opts.verbose_name_plural)
        return response

    def add_success_message(self, result, request):
        report = getattr(result, "casework_report", None)
        if report is None:
            return super().add_success_message(result, request)
        # "File …": the admin capitalises a message's first letter, not a file's name.
        messages.success(request, f"File {report.summary()}")

    def process_result(self, result, request):
        report = getattr(result, "casework_report", None)
        if report is not None and report.errors:
            # The file changed nothing (all or nothing); say why.
            messages.error(request, ngettext(
                "Nothing was imported: %(n)d error.", "Nothing was imported: %(n)d errors.",
                len(report.errors)) % {"n": len(report.errors)})
            for error in report.errors[:50]:
                messages.error(request, str(error))
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_import"))
        return super().process_result(result, request)

    def _do_file_export(self, file_format, request, queryset, export_form=None):
        if not self.has_export_permission(request):
            raise PermissionDenied
        resource = self.get_export_resource_classes(request)[0]()
        rows = queryset.count()
        selected = export_form is None or export_form.cleaned_data.get("export_items")
        AuditEvent.objects.record(
            AuditEvent.Action.EXPORT, request=request, kind=self.opts.model_name,
            via="admin", filters=audit_filters(request.GET, self.model),
            scope="selected" if selected else "filtered", rows=rows,
            # Which records were ticked (ids, not content), for a selection.
            **({"ids": sorted(queryset.values_list("pk", flat=True))} if selected else {}),
        )
        response = StreamingHttpResponse(
            resource.lines(queryset, user=request.user),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{self.get_export_filename(request, queryset, None)}"')
        return response

    @admin.action(permissions=["export"], description=_("Export selected as CSV"))
    def export_selected(self, request, queryset):
        return self._do_file_export(None, request, queryset)


class CaseExchangeAdmin(ExchangeAdminMixin):
    resource_classes = [CaseResource]
    import_formats = [CaseCSV]
    export_formats = [CaseCSV]


class StatementExchangeAdmin(ExchangeAdminMixin):
    resource_classes = [StatementResource]
    import_formats = [StatementCSV]
    export_formats = [StatementCSV]
