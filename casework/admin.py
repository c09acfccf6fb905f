"""Admin for researchers, verifiers and coordinators.

Workflow transitions are admin actions (bulk) and buttons on each record (with a note
where one is needed); both call the model methods, which check permissions and the
two-person rule. The server refuses what a role may not do, whatever the page shows.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper

from accounts.admin import ReadOnlyAdminMixin
from accounts.models import AuditEvent
from casework.models import (
    TRANSITIONS,
    Case,
    Involvement,
    Organisation,
    Person,
    Right,
    Source,
    StaleRecordError,
    Statement,
    Status,
    ViolationType,
    WorkflowError,
)
from casework.resources import CaseExchangeAdmin, StatementExchangeAdmin

NOTE_REQUIRED = {"send_back", "retract"}
TRANSITION_LABELS = {
    "submit_for_review": _("Submit for review"),
    "verify": _("Verify"),
    "publish": _("Publish"),
    "send_back": _("Send back to draft"),
    "retract": _("Retract"),
}


class VersionedForm(forms.ModelForm):
    """Carries the version the editor loaded, and refuses the save if it is stale."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "version" in self.fields:
            self.fields["version"].widget = forms.HiddenInput()
            self.fields["version"].required = False

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None or "version" not in self.fields:
            return cleaned
        loaded = cleaned.get("version")
        current = type(self.instance)._base_manager.filter(pk=self.instance.pk).values_list(
            "version", flat=True
        ).first()
        if loaded is not None and current is not None and loaded != current:
            raise forms.ValidationError(self.conflict_message(loaded, current))
        return cleaned

    def conflict_message(self, loaded: int, current: int) -> str:
        history = self.instance.history.filter(version__gte=loaded).order_by("history_id")
        records = list(history.select_related("history_user"))
        lines = []
        for older, newer in zip(records, records[1:], strict=False):
            delta = newer.diff_against(older, excluded_fields=["version", "updated_at"])
            who = newer.history_user or _("someone")
            fields = ", ".join(
                str(self.instance._meta.get_field(c.field).verbose_name) for c in delta.changes
            ) or str(newer.history_change_reason or _("no field changes"))
            lines.append(f"{who} at {newer.history_date:%Y-%m-%d %H:%M}: {fields}")
        return str(
            _("Someone else saved this record while you were editing it (you loaded version "
              "%(loaded)s, it is now version %(current)s). Nothing was overwritten. Changes since "
              "you opened it: %(changes)s. Open the record again and reapply your edits.")
        ) % {"loaded": loaded, "current": current, "changes": "; ".join(lines) or "-"}


class VisibleHistoryAdmin(SimpleHistoryAdmin):
    """History pages only for records this user may see, naming only cases they may see."""

    def history_view(self, request, object_id, extra_context=None):
        # simple-history reads the model's manager; go through get_queryset instead so
        # that a record this user may not see has no history page either.
        if self.get_object(request, object_id) is None:
            raise Http404
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # The same for the page of one historical version.
        if self.get_object(request, object_id) is None:
            raise Http404
        return super().history_form_view(request, object_id, version_id, extra_context)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # The form of a historical version lists cases too (an involvement's case).
        if db_field.related_model is Case:
            kwargs["queryset"] = Case.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_historical_record_context_helper(self, request, historical_record):
        # The list of changes names the cases a statement was linked to: only those this
        # user may see (restricted cases stay with their author and verifiers).
        if not hasattr(request, "_visible_case_ids"):
            request._visible_case_ids = set(
                Case.objects.visible_to(request.user).values_list("pk", flat=True))
        return VisibleCasesHistory(self.model, historical_record, request._visible_case_ids)


class VisibleCasesHistory(HistoricalRecordContextHelper):
    def __init__(self, model, historical_record, visible_case_ids):
        super().__init__(model, historical_record)
        self.visible_case_ids = visible_case_ids

    def prepare_delta_change_value(self, change, value):
        value = super().prepare_delta_change_value(change, value)
        field = self.model._meta.get_field(change.field)
        if field.related_model is Case and isinstance(value, list):
            value = [case for case in value if getattr(case, "pk", case) in self.visible_case_ids]
        return value


class ReviewableAdmin(VisibleHistoryAdmin):
    """Shared admin for every record kind under the review workflow."""

    form = VersionedForm
    change_form_template = "admin/casework/reviewable_change_form.html"
    workflow_readonly = ("status", "review_note", "created_by", "created_at", "updated_by",
                         "updated_at", "verified_by", "verified_at", "published_by", "published_at")
    history_list_display = ["status", "version"]
    actions = ["submit_for_review_action", "verify_action", "publish_action"]

    def delete_model(self, request, obj):
        # Recorded in the same transaction as the deletion (the admin's delete view is
        # atomic); the record's history keeps its last state with a "-" entry.
        AuditEvent.objects.record(AuditEvent.Action.DELETE, request=request, obj=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            AuditEvent.objects.record(AuditEvent.Action.DELETE, request=request, obj=obj)
        super().delete_queryset(request, queryset)

    def get_history_list_display(self, request):
        # The restore link only for those who may restore (the restore view checks too).
        if self.has_change_permission(request):
            return [*self.history_list_display, "restore"]
        return self.history_list_display

    def get_readonly_fields(self, request, obj=None):
        return tuple(super().get_readonly_fields(request, obj)) + self.workflow_readonly

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self.fieldsets:
            return list(fieldsets) + [
                (_("Review"), {"classes": ["collapse"], "fields": self.workflow_readonly}),
                (None, {"fields": ["version"]}),
            ]
        return fieldsets

    # -- permissions for the workflow actions (used by @admin.action) --------

    def _has_workflow_perm(self, request, prefix: str) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.{prefix}_{opts.model_name}")

    def has_submit_permission(self, request) -> bool:
        return self._has_workflow_perm(request, "submit")

    def has_verify_permission(self, request) -> bool:
        return self._has_workflow_perm(request, "verify")

    def has_publish_permission(self, request) -> bool:
        return self._has_workflow_perm(request, "publish")

    # -- saving ---------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        obj.save()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        form.instance.refresh_from_db(fields=["status", "version", "review_note"])

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            with transaction.atomic():
                return super().changeform_view(request, object_id, form_url, extra_context)
        except StaleRecordError as error:
            # A save that raced past the form check: nothing was written.
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["workflow_buttons"] = [
                (name, TRANSITION_LABELS[name],
                 reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_transition",
                         args=[obj.pk, name]))
                for name in obj.allowed_transitions(request.user)
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    # -- bulk actions -----------------------------------------------------------

    def _bulk(self, request, queryset, action: str):
        done, refused = 0, []
        for record in queryset:
            try:
                getattr(record, action)(request.user)
                done += 1
            except (WorkflowError, StaleRecordError) as error:
                refused.append(f"{record}: {error}")
        if done:
            self.message_user(request, _("%(n)d record(s): %(action)s done.") % {
                "n": done, "action": TRANSITION_LABELS[action]}, messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)

    @admin.action(permissions=["submit"], description=_("Submit selected for review"))
    def submit_for_review_action(self, request, queryset):
        self._bulk(request, queryset, "submit_for_review")

    @admin.action(permissions=["verify"], description=_("Verify selected"))
    def verify_action(self, request, queryset):
        self._bulk(request, queryset, "verify")

    @admin.action(permissions=["publish"], description=_("Publish selected"))
    def publish_action(self, request, queryset):
        self._bulk(request, queryset, "publish")

    # -- per-record transition and restore pages --------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<path:object_id>/transition/<str:action>/",
                 self.admin_site.admin_view(self.transition_view),
                 name="{}_{}_transition".format(*info)),
            path("<path:object_id>/history/<int:history_id>/restore/",
                 self.admin_site.admin_view(self.restore_view),
                 name="{}_{}_restore".format(*info)),
        ] + super().get_urls()

    def _get_record_for_user(self, request, object_id):
        record = self.get_object(request, object_id)
        if record is None or not self.has_view_or_change_permission(request, record):
            raise Http404
        return record

    def transition_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        if action not in TRANSITIONS:
            raise Http404
        record = self._get_record_for_user(request, object_id)
        error = None
        if request.method == "POST":
            note = request.POST.get("note", "")
            try:
                if action in NOTE_REQUIRED:
                    getattr(record, action)(request.user, note)
                else:
                    getattr(record, action)(request.user)
            except WorkflowError as refusal:
                if not request.user.has_perm(
                    f"{self.opts.app_label}.{TRANSITIONS[action][0]}_{self.opts.model_name}"
                ):
                    raise PermissionDenied(str(refusal)) from refusal
                error = str(refusal)
            except StaleRecordError as stale:
                error = str(stale)
            else:
                self.message_user(request, _("%(record)s: %(action)s done.") % {
                    "record": record, "action": TRANSITION_LABELS[action]}, messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                            args=[record.pk]))
        else:
            error = record.transition_refusal(request.user, action)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "record": record,
            "action": action,
            "action_label": TRANSITION_LABELS[action],
            "needs_note": action in NOTE_REQUIRED,
            "error": error,
            "title": f"{TRANSITION_LABELS[action]}: {record}",
        }
        return TemplateResponse(request, "admin/casework/transition.html", context,
                                status=400 if error and request.method == "POST" else 200)

    def _shown(self, request, name: str, value):
        """A value of the restore preview in words: the links of a many-to-many field by
        name (only the cases this user may see), not as rows of ids."""
        field = self.opts.get_field(name)
        if not field.many_to_many:
            return value
        related = field.related_model
        records = related._base_manager.filter(
            pk__in=[row[field.m2m_reverse_field_name()] for row in value])
        if related is Case:
            records = records.filter(pk__in=Case.objects.visible_to(request.user).values("pk"))
        return ", ".join(str(record) for record in records) or "–"

    def restore_view(self, request: HttpRequest, object_id: str, history_id: int) -> HttpResponse:
        record = self._get_record_for_user(request, object_id)
        if not self.has_change_permission(request, record):
            raise PermissionDenied
        historical = get_object_or_404(record.history.all(), history_id=history_id)
        if request.method == "POST":
            try:
                record.restore(historical, request.user)
            except StaleRecordError as stale:
                self.message_user(request, str(stale), messages.ERROR)
            else:
                self.message_user(request, _("Restored version %(v)s of %(record)s.") % {
                    "v": historical.version, "record": record}, messages.SUCCESS)
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                        args=[record.pk]))
        current = record.history.order_by("-history_id").first()
        delta = (current.diff_against(historical, excluded_fields=["version", "updated_at"])
                 if current else None)
        changes = [{"field": capfirst(self.opts.get_field(change.field).verbose_name),
                    "now": self._shown(request, change.field, change.new),
                    "after": self._shown(request, change.field, change.old)}
                   for change in (delta.changes if delta else [])]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "record": record,
            "historical": historical,
            "changes": changes,
            "title": _("Restore version %(v)s of %(record)s") % {
                "v": historical.version, "record": record},
        }
        return TemplateResponse(request, "admin/casework/restore.html", context)


# ---------------------------------------------------------------------------
# Registrations
# ---------------------------------------------------------------------------


# The admin's page titles and header name the site, not Django.
admin.site.site_header = format_lazy(_("{site} administration"), site=settings.SITE_NAME)
admin.site.site_title = settings.SITE_NAME
admin.site.index_title = _("Records")


@admin.register(ViolationType, Right)
class VocabularyAdmin(SimpleHistoryAdmin):
    list_display = ["label", "slug"]
    search_fields = ["label", "slug"]
    list_filter = []
    prepopulated_fields = {"slug": ["label"]}
    list_select_related = False


class InvolvementFormSet(forms.BaseInlineFormSet):
    def clean(self):
        """The same person or organisation twice in one role, both added in this form:
        the model's own check cannot see it before the case is saved (the database
        would refuse it, as a server error)."""
        super().clean()
        seen = set()
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            party = data.get("person") or data.get("organisation")
            if party is None or not data.get("role"):
                continue
            key = (data["role"], type(party), party.pk)
            if key in seen:
                raise forms.ValidationError(
                    _("%(party)s is listed twice as %(role)s: keep one of the two rows.")
                    % {"party": party, "role": Involvement.Role(data["role"]).label})
            seen.add(key)


class InvolvementInline(admin.TabularInline):
    model = Involvement
    formset = InvolvementFormSet
    extra = 1
    autocomplete_fields = ["person", "organisation"]
    fields = ["role", "person", "organisation", "description", "started_on",
              "started_on_precision", "ended_on", "ended_on_precision"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        """A table's fields have column headings, not labels: each field is named for
        screen readers (axe: "Select element must have an accessible name")."""
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None:
            widget = getattr(field.widget, "widget", field.widget)  # inside the "+" wrapper
            widget.attrs.setdefault("aria-label", capfirst(db_field.verbose_name))
        return field


@admin.register(Involvement)
class InvolvementAdmin(ReadOnlyAdminMixin, VisibleHistoryAdmin):
    """Involvements are edited inline on their case; this list finds them across cases."""

    list_display = ["case", "role", "person", "organisation"]
    list_filter = ["role"]
    list_select_related = ["case", "person", "organisation"]
    search_fields = ["case__reference", "case__title", "person__name", "organisation__name"]

    def get_queryset(self, request):
        visible = Case.objects.visible_to(request.user).values("pk")
        return super().get_queryset(request).filter(case__in=visible)

    # Read-only: edits go through the case form, which makes the editor the case's last
    # editor (the two-person rule depends on that).


@admin.register(Case)
class CaseAdmin(CaseExchangeAdmin, ReviewableAdmin):
    actions = [*ReviewableAdmin.actions, "export_selected"]  # import/export: casework.resources
    list_display = ["reference", "title", "country", "started", "status", "restricted",
                    "updated_at"]
    list_display_links = ["reference", "title"]
    list_filter = ["status", "restricted", "situation", "country", "violations", "rights"]
    list_select_related = ["created_by", "updated_by"]
    search_fields = ["reference", "title", "summary", "location"]
    # The two vocabularies are short lists: checkboxes, which screen readers and
    # keyboards handle well (Django's autocomplete widget names neither its search box
    # nor its choices). Sources are many: they keep the search.
    autocomplete_fields = ["sources"]
    inlines = [InvolvementInline]

    def get_deleted_objects(self, objs, request):
        """A case's involvements go with it: the permission to delete the case is the one
        needed (the involvement list is read-only, so its admin grants no deletion)."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(str(Involvement._meta.verbose_name))
        return deleted, counts, perms_needed, protected

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name in ("violations", "rights"):
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    date_hierarchy = "started_on"
    fieldsets = [
        (None, {"fields": ["reference", "title", "summary", "country", "location", "situation",
                           "restricted"]}),
        (_("Dates"), {"fields": [("started_on", "started_on_precision"),
                                 ("ended_on", "ended_on_precision")]}),
        (_("Classification and sources"), {"fields": ["violations", "rights", "sources"]}),
        (_("Confidential"), {"fields": ["internal_notes"]}),
    ]

    def get_queryset(self, request):
        # The one gate for the changelist, search, change pages, history, autocomplete
        # and admin exports: restricted cases stay with their author and verifiers.
        return super().get_queryset(request).visible_to(request.user)

    @admin.display(description=_("started"), ordering="started_on")
    def started(self, case: Case) -> str:
        return case.started


@admin.register(Person)
class PersonAdmin(ReviewableAdmin):
    list_display = ["name", "public_name", "defender_type", "country", "identity_public",
                    "status"]
    list_filter = ["status", "identity_public", "defender_type", "gender", "country"]
    list_select_related = False
    search_fields = ["name", "other_names", "pseudonym", "occupation"]
    fieldsets = [
        (None, {"fields": ["name", "other_names", "gender", "occupation", "defender_type",
                           "country"]}),
        (_("Public identity"), {"fields": ["identity_public", "pseudonym"]}),
        (_("Confidential"), {"fields": ["contact_details", "internal_notes"]}),
    ]


@admin.register(Organisation)
class OrganisationAdmin(ReviewableAdmin):
    list_display = ["name", "kind", "country", "status"]
    list_filter = ["status", "kind", "country"]
    list_select_related = False
    search_fields = ["name", "other_names"]
    fieldsets = [
        (None, {"fields": ["name", "other_names", "kind", "country"]}),
        (_("Confidential"), {"fields": ["internal_notes"]}),
    ]


@admin.register(Source)
class SourceAdmin(ReviewableAdmin):
    list_display = ["__str__", "publisher", "published", "reliability", "status"]
    list_filter = ["status", "reliability"]
    list_select_related = False
    search_fields = ["url", "citation", "publisher"]
    fieldsets = [
        (None, {"fields": ["url", "citation", "publisher",
                           ("published_on", "published_on_precision"), "reliability",
                           "accessed_on"]}),
        (_("Confidential"), {"fields": ["internal_notes"]}),
    ]

    @admin.display(description=_("published"), ordering="published_on")
    def published(self, source: Source) -> str:
        return source.partial_date("published_on")


@admin.register(Statement)
class StatementAdmin(StatementExchangeAdmin, ReviewableAdmin):
    actions = [*ReviewableAdmin.actions, "export_selected"]  # import/export: casework.resources
    list_display = ["reference", "speaker", "organisation", "said", "language", "status"]
    list_filter = ["status", "language", "organisation"]
    list_select_related = ["speaker", "organisation"]
    search_fields = ["reference", "title", "quote", "speaker_title", "speaker__name",
                     "organisation__name"]
    autocomplete_fields = ["speaker", "organisation", "signatories", "source", "cases"]
    fieldsets = [
        (None, {"fields": ["reference", "title", "speaker", "speaker_title", "organisation",
                           "signatories", ("said_on", "said_on_precision"), "quote", "language",
                           "source", "cases"]}),
        (_("Confidential"), {"fields": ["internal_notes"]}),
    ]

    @admin.display(description=_("said on"), ordering="said_on")
    def said(self, statement: Statement) -> str:
        return statement.said

    # A restricted case is seen only by its author, verifiers and administrators: the
    # cases field offers and shows only the cases this user may see, and saving the form
    # keeps the links to the others as they are.

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "cases":
            kwargs["queryset"] = Case.objects.visible_to(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_related(self, request, form, formsets, change):
        if change and "cases" in form.cleaned_data:
            hidden = list(form.instance.cases.exclude(
                pk__in=Case.objects.visible_to(request.user).values("pk")
            ).values_list("pk", flat=True))  # read before the form writes the links
            if hidden:
                chosen = [case.pk for case in form.cleaned_data["cases"]]
                form.cleaned_data["cases"] = Case.objects.filter(pk__in=chosen + hidden)
        super().save_related(request, form, formsets, change)


# Status filter shortcut used by tests and docs: records waiting for a verifier.
AWAITING_REVIEW = {"status__exact": Status.IN_REVIEW}
