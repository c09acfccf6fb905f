"""Casework's domain: cases, the people and organisations in them, statements, sources.

Modelled on HURIDOCS' Events Standard Formats: a Case is the event, an Involvement says
who took part in it and how (the act and its victim or perpetrator), a Statement is an
intervention, and a Source is where the information comes from.

Every record that can reach the public (Case, Statement, Person, Organisation, Source)
goes through the same review workflow: draft -> in_review -> verified -> published,
with send_back and retract. Public pages read only `published()` records and only the
fields in each model's PUBLIC_FIELDS.
"""

import datetime

from django.conf import settings
from django.conf.locale import LANG_INFO
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce, ExtractMonth, ExtractYear, NullIf
from django.db.models.lookups import GreaterThanOrEqual
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history import utils as history_utils
from simple_history.models import HistoricalRecords
from simple_history.signals import (
    post_create_historical_m2m_records,
    pre_create_historical_m2m_records,
)

from accounts.models import AuditEvent
from casework.dates import Precision, format_partial_date, normalise_to_precision, period_end

# ---------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------


class VocabularyTerm(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    label = models.CharField(max_length=100)
    description = models.TextField(blank=True)

    class Meta:
        abstract = True
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label


class ViolationType(VocabularyTerm):
    history = HistoricalRecords()

    class Meta(VocabularyTerm.Meta):
        verbose_name = _("violation type")


class Right(VocabularyTerm):
    history = HistoricalRecords()

    class Meta(VocabularyTerm.Meta):
        verbose_name = _("right")


# ---------------------------------------------------------------------------
# Review workflow
# ---------------------------------------------------------------------------


class RestorableHistory(models.Model):
    """Base of the historical models: a link to restore that version in the admin."""

    class Meta:
        abstract = True

    @property
    def restore(self) -> str:
        opts = self.instance_type._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_restore",
                      args=[self.id, self.history_id])
        return format_html('<a href="{}">{}</a>', url, _("Restore this version"))


def history_user(request=None, instance=None, **kwargs):
    """Who made a change: the signed-in user in a web request; in commands and imports,
    the record's last editor (transitions and restores name their actor explicitly)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    if isinstance(instance, Involvement):
        instance = instance.case
    if instance is not None:
        return getattr(instance, "updated_by", None) or getattr(instance, "created_by", None)
    return None


class CaseworkHistoricalRecords(HistoricalRecords):
    """django-simple-history, with a cheaper m2m snapshot (the rows it writes are the same)."""

    def create_historical_record_m2ms(self, history_instance, instance):
        """The m2m snapshot of a new history row: each link of each tracked m2m field,
        read as plain values. simple-history's own method rebuilds the record from its
        history row once per field (a query for the fields history leaves out) and
        loads both ends of every link: for a case, more than half the time of a save."""
        for field in history_instance._history_m2m_fields:
            m2m_history_model = self.m2m_models[field]
            through = field.remote_field.through
            links = through._base_manager.filter(
                **{history_utils.get_m2m_field_name(field): instance}
            ).values(*(f.attname for f in through._meta.fields))
            rows = [m2m_history_model(history=history_instance, **link) for link in links]
            pre_create_historical_m2m_records.send(
                sender=m2m_history_model, rows=rows, history_instance=history_instance,
                instance=instance, field=field)
            created_rows = m2m_history_model.objects.bulk_create(rows)
            post_create_historical_m2m_records.send(
                sender=m2m_history_model, created_rows=created_rows,
                history_instance=history_instance, instance=instance, field=field)


def record_history(**options) -> HistoricalRecords:
    return CaseworkHistoricalRecords(bases=[RestorableHistory], get_user=history_user,
                                     **options)


class Status(models.TextChoices):
    DRAFT = "draft", _("draft")
    IN_REVIEW = "in_review", _("in review")
    VERIFIED = "verified", _("verified")
    PUBLISHED = "published", _("published")
    RETRACTED = "retracted", _("retracted")


# Submitted, checked or public: an edit of the content (or of the relations) sends a record
# in one of these back to draft, to be submitted and verified again.
UNDER_REVIEW = (Status.IN_REVIEW, Status.VERIFIED, Status.PUBLISHED)


class WorkflowError(Exception):
    """A transition that this user may not make, or not from this status."""


EDITED_AFTER_VERIFICATION = _("Edited after verification: back to draft for re-vetting.")
RELATIONS_EDITED_AFTER_VERIFICATION = _(
    "Relations edited after verification: back to draft for re-vetting.")
# A record in review is checked as it was submitted: an edit needs a new submission, so
# that nobody verifies text they have not seen.
EDITED_IN_REVIEW = _("Edited while in review: back to draft, to be submitted again.")
RELATIONS_EDITED_IN_REVIEW = _(
    "Relations edited while in review: back to draft, to be submitted again.")


class StaleRecordError(Exception):
    """Somebody else saved the record after this copy of it was loaded."""

    def __init__(self, record, current_version: int | None):
        """current_version None: the record was deleted meanwhile."""
        self.record = record
        self.current_version = current_version
        names = {"kind": record._meta.verbose_name, "record": record}
        if current_version is None:
            message = gettext("%(kind)s “%(record)s” was deleted by someone else.") % names
        else:
            message = gettext("%(kind)s “%(record)s” was changed by someone else (version "
                              "%(current)s, you edited version %(edited)s).") % {
                **names, "current": current_version, "edited": record.version}
        super().__init__(message)


# action -> (permission prefix, statuses it may start from, status it leads to)
TRANSITIONS = {
    "submit_for_review": ("submit", (Status.DRAFT, Status.RETRACTED), Status.IN_REVIEW),
    "verify": ("verify", (Status.IN_REVIEW,), Status.VERIFIED),
    "publish": ("publish", (Status.VERIFIED,), Status.PUBLISHED),
    "send_back": ("verify", (Status.IN_REVIEW, Status.VERIFIED), Status.DRAFT),
    "retract": ("retract", (Status.PUBLISHED,), Status.RETRACTED),
}
WORKFLOW_PERMISSIONS = ("submit", "verify", "publish", "retract")


def workflow_permissions(model_name: str, plural: str) -> list[tuple[str, str]]:
    return [
        (f"submit_{model_name}", f"Can submit {plural} for review"),
        (f"verify_{model_name}", f"Can verify {plural} and send them back"),
        (f"publish_{model_name}", f"Can publish {plural}"),
        (f"retract_{model_name}", f"Can retract published {plural}"),
    ]


class ReviewableQuerySet(models.QuerySet):
    def published(self):
        """The only door to the public side: published records, nothing else."""
        return self.filter(status=Status.PUBLISHED)

    def awaiting_review(self):
        return self.filter(status=Status.IN_REVIEW)


class ReviewableModel(models.Model):
    """Workflow status, optimistic locking and authorship shared by every record kind.

    The status only changes through the transition methods. `save()` enforces that,
    refuses stale copies (optimistic locking), and sends a verified or published record
    back to draft when any of its REVIEWED_FIELDS changes, so that unverified text never
    stays public.
    """

    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.DRAFT, editable=False
    )
    version = models.PositiveIntegerField(default=0)
    review_note = models.TextField(
        blank=True, editable=False,
        help_text=_("Last note from a verifier or retraction reason, until the record is "
                    "verified again.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", editable=False,
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", editable=False,
    )
    verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", editable=False,
    )
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", editable=False,
    )

    objects = ReviewableQuerySet.as_manager()

    # Fields whose change needs a new verification; each model names its own.
    REVIEWED_FIELDS: tuple[str, ...] = ()
    # What the public side may read; each model names its own.
    PUBLIC_FIELDS: tuple[str, ...] = ()

    class Meta:
        abstract = True

    _transition_reason: str | None = None

    # -- saving -------------------------------------------------------------

    def save(self, *args, **kwargs):
        try:
            self._save_checked(*args, **kwargs)
        finally:
            # simple-history reads these from the instance; they describe one save only.
            for attribute in ("_change_reason", "_history_user"):
                self.__dict__.pop(attribute, None)
            self._transition_reason = None

    def _save_checked(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if self._state.adding:
            if self._transition_reason is None:
                self.status = Status.DRAFT
            self.version = 1
            return super().save(*args, **kwargs)
        with transaction.atomic():
            current = type(self)._base_manager.select_for_update().filter(pk=self.pk).first()
            if current is None:
                raise StaleRecordError(self, None)
            if current.version != self.version:
                raise StaleRecordError(self, current.version)
            if self._transition_reason is None:
                # Status is never set from a form, an import or a restore.
                self.status = current.status
                if self.status in UNDER_REVIEW and self.reviewed_changes(current):
                    self._send_to_draft(EDITED_IN_REVIEW if self.status == Status.IN_REVIEW
                                        else EDITED_AFTER_VERIFICATION)
                    if update_fields is not None:
                        update_fields = set(update_fields) | {"status", "review_note"}
            self.version = current.version + 1
            if update_fields is not None:
                kwargs["update_fields"] = set(update_fields) | {"version"}
            super().save(*args, **kwargs)

    def reviewed_changes(self, other) -> list[str]:
        return [f for f in self.REVIEWED_FIELDS if getattr(self, f) != getattr(other, f)]

    def _send_to_draft(self, reason) -> None:
        self.status = Status.DRAFT
        self.review_note = str(reason)
        earlier = getattr(self, "_change_reason", None)
        self._change_reason = f"{earlier}; {reason}" if earlier else str(reason)

    def withdraw_after_edit(self, reason: str | None = None) -> None:
        """A related change (people, violations, sources) needs re-vetting too."""
        if self.status not in UNDER_REVIEW:
            return
        if reason is None:
            reason = str(RELATIONS_EDITED_IN_REVIEW if self.status == Status.IN_REVIEW
                         else RELATIONS_EDITED_AFTER_VERIFICATION)
        self.status = Status.DRAFT
        self.review_note = reason
        self._change_reason = reason
        self._transition_reason = reason
        self.save(update_fields=["status", "review_note"])

    # -- transitions --------------------------------------------------------

    def allowed_transitions(self, user) -> list[str]:
        return [name for name in TRANSITIONS if self.transition_refusal(user, name) is None]

    def transition_refusal(self, user, action: str) -> str | None:
        """Why `user` may not make `action` now, or None when they may."""
        prefix, sources, _target = TRANSITIONS[action]
        noun = self._meta.verbose_name
        perm = f"{self._meta.app_label}.{prefix}_{self._meta.model_name}"
        if not (user and user.is_active and user.has_perm(perm)):
            return f"You do not have permission to {action.replace('_', ' ')} this {noun}."
        if self.status not in sources:
            allowed = " or ".join(str(Status(s).label) for s in sources)
            return (
                f"Only {allowed} records can be {action.replace('_', ' ')}; "
                f"this {noun} is {self.get_status_display()}."
            )
        if action == "verify" and user.pk in (self.created_by_id, self.updated_by_id):
            return (
                f"Two-person rule: you created or last edited this {noun}, "
                "so someone else must verify it."
            )
        if action == "verify" and self.edited_since_verified(user):
            return (
                f"Two-person rule: you edited this {noun} since it was last verified, "
                "so someone else must verify it."
            )
        return None

    def edited_since_verified(self, user) -> bool:
        """Whether `user` changed this record since it was last verified (ever, if it never
        was): a history entry of theirs that is not a workflow transition. The last editor
        alone is not enough: someone who saves another's edit unchanged becomes it."""
        entries = self.history.filter(history_user=user)
        if self.verified_at is not None:
            entries = entries.filter(history_date__gt=self.verified_at)
        transitions = (Q(history_change_reason__in=["submit for review", "verify", "publish"])
                       | Q(history_change_reason__startswith="send back:")
                       | Q(history_change_reason__startswith="retract:"))
        return entries.exclude(transitions).exists()

    def _transition(self, user, action: str, note: str = "") -> None:
        refusal = self.transition_refusal(user, action)
        if refusal:
            raise WorkflowError(refusal)
        _prefix, _sources, target = TRANSITIONS[action]
        previous = self.status
        # Put back if the save is refused (someone else saved or deleted the record):
        # the page that says so must not show the status it did not reach.
        before = {name: self.__dict__.get(name) for name in (
            "status", "verified_at", "verified_by_id", "published_at", "published_by_id",
            "review_note")}
        now = timezone.now()
        self.status = target
        fields = {"status"}
        if action == "verify":
            # The note said what to fix; verified, it is answered (the history keeps it).
            self.verified_at, self.verified_by, self.review_note = now, user, ""
            fields |= {"verified_at", "verified_by", "review_note"}
        if action == "publish":
            self.published_at, self.published_by = now, user
            fields |= {"published_at", "published_by"}
        if action in ("send_back", "retract"):
            self.review_note = note
            fields.add("review_note")
        reason = f"{action.replace('_', ' ')}" + (f": {note}" if note else "")
        self._transition_reason = reason
        self._change_reason = reason
        self._history_user = user
        try:
            with transaction.atomic():
                self.save(update_fields=fields)
                AuditEvent.objects.record(
                    AuditEvent.Action.TRANSITION, user=user, obj=self,
                    transition=action, from_status=previous, to_status=target,
                )
        except Exception:
            self.__dict__.update(before)
            for name in ("verified_by", "published_by"):
                field = self._meta.get_field(name)
                if field.is_cached(self):
                    field.delete_cached_value(self)
            raise

    def submit_for_review(self, user) -> None:
        self._transition(user, "submit_for_review")

    def verify(self, user) -> None:
        self._transition(user, "verify")

    def publish(self, user) -> None:
        self._transition(user, "publish")

    def send_back(self, user, note: str) -> None:
        if not note or not note.strip():
            raise WorkflowError("Say what needs fixing: a note is required to send a record back.")
        self._transition(user, "send_back", note.strip())

    def retract(self, user, reason: str) -> None:
        if not reason or not reason.strip():
            raise WorkflowError("A reason is required to retract a published record.")
        self._transition(user, "retract", reason.strip())

    # -- history ------------------------------------------------------------

    def _restore_links(self, field, historical_record, user) -> None:
        """Set a many-to-many field (violations, rights, sources, a statement's cases and
        signatories) as the version had it: links to records deleted since are left out,
        and links to restricted cases this user may not see stay as they are (they can
        neither see nor change them)."""
        target = field.m2m_reverse_field_name()
        wanted = {getattr(row, f"{target}_id")
                  for row in getattr(historical_record, field.name).all()}
        related = field.related_model
        wanted = set(related._base_manager.filter(pk__in=wanted).values_list("pk", flat=True))
        manager = getattr(self, field.name)
        if related is Case:
            visible = set(Case.objects.visible_to(user).values_list("pk", flat=True))
            hidden = set(manager.values_list("pk", flat=True)) - visible
            wanted = (wanted & visible) | hidden
        if wanted != set(manager.values_list("pk", flat=True)):
            manager.set(wanted)

    def restore(self, historical_record, user) -> None:
        """Bring back an earlier version's content; status and authorship stay as they are
        (so a restored verified record goes back to draft through the re-vetting rule)."""
        if historical_record.instance.pk != self.pk:
            raise ValueError("That history entry belongs to another record.")
        old = historical_record.instance
        skip = {"id", "status", "version", "review_note", "created_at", "created_by",
                "updated_at", "updated_by", "verified_at", "verified_by",
                "published_at", "published_by"}
        for field in self._meta.concrete_fields:
            if field.name not in skip:
                setattr(self, field.attname, getattr(old, field.attname))
        self.updated_by = user
        reason = f"restored version {historical_record.version}"
        self._change_reason = reason
        self._history_user = user
        with transaction.atomic():
            self.save()
            for field in getattr(historical_record, "_history_m2m_fields", ()):
                # save() clears them; the history rows of the links need them too.
                self._change_reason, self._history_user = reason, user
                self._restore_links(field, historical_record, user)
            AuditEvent.objects.record(
                AuditEvent.Action.RESTORE, user=user, obj=self,
                restored_version=historical_record.version,
            )

    @property
    def is_published(self) -> bool:
        return self.status == Status.PUBLISHED



def normalised_partial_date(value, precision: str) -> tuple:
    """A partial date as it is stored: no precision without a date, a date without one is
    a day, and the day is the first of its month or year."""
    if value is None:
        return None, ""
    precision = precision or Precision.DAY
    return normalise_to_precision(value, precision), precision


class PartialDateMixin:
    """Display helpers for (date, precision) pairs named <name> and <name>_precision."""

    def partial_date(self, name: str) -> str:
        return format_partial_date(getattr(self, name), getattr(self, f"{name}_precision"))

    def normalise_partial_dates(self, *names: str) -> None:
        for name in names:
            value, precision = normalised_partial_date(getattr(self, name),
                                                       getattr(self, f"{name}_precision"))
            setattr(self, name, value)
            setattr(self, f"{name}_precision", precision)


class PartialDateField(models.DateField):
    """The day (or any day of the month or year) of a partial date; its precision is the
    field beside it. Its forms say how to write a month or a year only."""

    def formfield(self, **kwargs):
        kwargs.setdefault("error_messages", {})["invalid"] = _(
            "Enter a date as YYYY-MM-DD. When only the month or the year is known, give any "
            "day in it (2016-05-01) and choose that precision.")
        return super().formfield(**kwargs)


def partial_date_fields(verbose: str):
    return (
        PartialDateField(
            verbose, null=True, blank=True,
            help_text=_("YYYY-MM-DD; empty when unknown. When only the month or the year is "
                        "known, give any day in it and choose that precision.")),
        models.CharField(
            _("precision"), max_length=5, choices=Precision.choices, blank=True,
            help_text=_("Day, month or year: how much of the date is known."),
        ),
    )


# ---------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------

# What the public sees for a person whose identity is not public and who has no pseudonym.
NAME_WITHHELD = _("Name withheld")

# An ISO 639 code, optionally with a region or script (BCP 47): en, az, ru, pt-BR, sr-Latn,
# in any case and with "_" for "-": Statement.clean() and the import write it as BCP 47
# does (language_tag).
language_code_validator = RegexValidator(
    r"^[a-zA-Z]{2,3}([-_][A-Za-z0-9]{2,4}){0,2}$", code="language_code",
    message=_("Not a language code: use ISO 639-1, e.g. en, az, ru."))


def language_tag(value: str) -> str:
    """A language code as BCP 47 writes it: "EN" -> "en", "pt_br" -> "pt-BR", "sr-latn"
    -> "sr-Latn", "zh-YUE" -> "zh-yue" (a script of four letters capitalised, a region
    of two in capitals, everything else in small letters). Anything else is left for the
    validator to refuse."""
    language, *rest = value.strip().replace("_", "-").split("-")
    return "-".join([language.lower(), *(
        part.title() if len(part) == 4 else part.upper() if len(part) == 2 else part.lower()
        for part in rest)])

# CSV files list several names or web addresses in one cell, separated by ";"
# (docs/csv-format.md): a name or an address holding one would not survive the round trip.
no_list_separator_in_name = RegexValidator(
    r";", inverse_match=True, code="list_separator",
    message=_("A name cannot contain “;”: it separates names in CSV files."))
no_list_separator_in_url = RegexValidator(
    r";", inverse_match=True, code="list_separator",
    message=_("Write “;” in a web address as %%3B: it separates addresses in CSV files."))


class Source(PartialDateMixin, ReviewableModel):
    class Reliability(models.TextChoices):
        A = "A", _("A – completely reliable")
        B = "B", _("B – usually reliable")
        C = "C", _("C – fairly reliable")
        D = "D", _("D – not usually reliable")
        E = "E", _("E – unreliable")
        F = "F", _("F – reliability cannot be judged")

    url = models.URLField(_("URL"), max_length=1000, blank=True,
                          validators=[no_list_separator_in_url])
    citation = models.TextField(blank=True, help_text=_("Title, author, outlet: how to cite it."))
    publisher = models.CharField(max_length=200, blank=True)
    published_on, published_on_precision = partial_date_fields(_("published on"))
    reliability = models.CharField(
        max_length=1, choices=Reliability.choices, default=Reliability.F
    )
    accessed_on = models.DateField(null=True, blank=True)
    internal_notes = models.TextField(blank=True, help_text=_("Confidential: never public."))

    history = record_history()

    REVIEWED_FIELDS = ("url", "citation", "publisher", "published_on", "published_on_precision")
    PUBLIC_FIELDS = REVIEWED_FIELDS

    @property
    def published_as_written(self) -> str:
        """"2016", "December 2016" or "5 December 2016", as precise as it is known."""
        return self.partial_date("published_on")

    class Meta:
        ordering = ["-published_on", "publisher", "id"]
        permissions = workflow_permissions("source", "sources")
        constraints = [
            models.CheckConstraint(
                condition=~Q(url="", citation=""), name="source_has_url_or_citation",
                violation_error_message=_("Give the source a web address or a citation."),
            ),
        ]
        indexes = [
            # Import matches sources by URL.
            models.Index(fields=["url"], name="source_url"),
        ]

    def __str__(self) -> str:
        return self.citation[:80] or self.url

    def save(self, *args, **kwargs):
        self.normalise_partial_dates("published_on")
        super().save(*args, **kwargs)


# ---------------------------------------------------------------------------
# Organisations and people
# ---------------------------------------------------------------------------


class Organisation(ReviewableModel):
    class Kind(models.TextChoices):
        INTERGOVERNMENTAL = "intergovernmental", _("intergovernmental body")
        NGO = "ngo", _("NGO / civil society organisation")
        GOVERNMENT = "government", _("government body")
        PROSECUTION = "prosecution", _("prosecution service")
        COURT = "court", _("court")
        POLICE = "police", _("police or security service")
        BAR = "bar_association", _("bar association")
        MEDIA = "media", _("media outlet")
        PARLIAMENT = "parliament", _("parliament")
        COMPANY = "company", _("company")
        OTHER = "other", _("other")

    name = models.CharField(max_length=300, validators=[no_list_separator_in_name])
    other_names = models.TextField(
        blank=True, validators=[no_list_separator_in_name],
        help_text=_("Acronyms and other spellings, one per line (e.g. OSCE).")
    )
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.OTHER)
    country = CountryField(blank=True, help_text=_("Empty for international bodies."))
    internal_notes = models.TextField(blank=True, help_text=_("Confidential: never public."))

    history = record_history()

    REVIEWED_FIELDS = ("name", "other_names", "kind", "country")
    PUBLIC_FIELDS = REVIEWED_FIELDS

    class Meta:
        ordering = ["name"]
        permissions = workflow_permissions("organisation", "organisations")
        indexes = [
            # Admin and public lists ordered by name; import matching by name.
            models.Index(fields=["name"], name="organisation_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def alias_list(self) -> list[str]:
        return [line.strip() for line in self.other_names.splitlines() if line.strip()]

    def get_absolute_url(self) -> str:
        return reverse("casework:organisation", args=[self.pk])


class Person(ReviewableModel):
    class Gender(models.TextChoices):
        FEMALE = "female", _("female")
        MALE = "male", _("male")
        OTHER = "other", _("other / non-binary")
        UNKNOWN = "", _("unknown")

    class DefenderType(models.TextChoices):
        JOURNALIST = "journalist", _("journalist")
        LAWYER = "lawyer", _("lawyer")
        YOUTH_ACTIVIST = "youth_activist", _("youth activist")
        CSO_MEMBER = "cso_member", _("CSO member")
        HRD = "human_rights_defender", _("human rights defender")
        AID_WORKER = "aid_worker", _("humanitarian worker")
        BLOGGER = "blogger", _("blogger")
        ARTIST = "artist", _("artist")
        POLITICIAN = "politician", _("opposition politician")
        OFFICIAL = "official", _("official")
        OTHER = "other", _("other")

    name = models.CharField(
        max_length=300, validators=[no_list_separator_in_name],
        help_text=_("Real name. Confidential unless the identity is public."),
    )
    other_names = models.TextField(
        blank=True, validators=[no_list_separator_in_name],
        help_text=_("Other names and spellings, one per line (e.g. Xədicə İsmayılova)."),
    )
    identity_public = models.BooleanField(
        _("identity may be published"), default=False,
        help_text=_("Tick only with the person's consent and when it does not put them at risk. "
                    "Otherwise the public sees the pseudonym."),
    )
    pseudonym = models.CharField(
        max_length=200, blank=True, validators=[no_list_separator_in_name],
        help_text=_("Shown instead of the name when the identity is withheld."),
    )
    gender = models.CharField(max_length=8, choices=Gender.choices, blank=True)
    occupation = models.CharField(max_length=200, blank=True)
    defender_type = models.CharField(max_length=32, choices=DefenderType.choices, blank=True)
    country = CountryField(blank=True)
    contact_details = models.TextField(blank=True, help_text=_("Confidential: never public."))
    internal_notes = models.TextField(blank=True, help_text=_("Confidential: never public."))

    history = record_history()

    REVIEWED_FIELDS = ("name", "other_names", "identity_public", "pseudonym", "gender",
                       "occupation", "defender_type", "country")
    # Name and other names are public only through public_name / public_aliases.
    PUBLIC_FIELDS = ("gender", "occupation", "defender_type", "country")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = _("people")
        permissions = workflow_permissions("person", "people")
        indexes = [
            # Admin list and import matching by name.
            models.Index(fields=["name"], name="person_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def alias_list(self) -> list[str]:
        return [line.strip() for line in self.other_names.splitlines() if line.strip()]

    @property
    def public_name(self) -> str:
        if self.identity_public:
            return self.name
        return self.pseudonym or str(NAME_WITHHELD)

    @property
    def audit_label(self) -> str:
        """How the append-only audit log names this person: never a withheld name (it
        could not be erased from there)."""
        if self.identity_public:
            return self.name
        return f"{self.public_name} (person #{self.pk})"

    @staticmethod
    def public_name_expression() -> models.Expression:
        """`public_name` as a database expression, for the export that builds its rows in
        SQL (casework.exchange.case_csv). Keep the two in step: tests/test_export_sql.py
        checks that they agree."""
        return models.Case(
            models.When(identity_public=True, then=models.F("name")),
            default=Coalesce(NullIf(models.F("pseudonym"), models.Value("")),
                             models.Value(str(NAME_WITHHELD))),
            output_field=models.CharField(),
        )

    @property
    def public_aliases(self) -> list[str]:
        return self.alias_list if self.identity_public else []

    def get_absolute_url(self) -> str:
        return reverse("casework:person", args=[self.pk])


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

reference_validator = RegexValidator(
    r"^[A-Z0-9][A-Z0-9-]{1,39}$",
    _("Use capital letters, digits and hyphens, e.g. AZ-2016-002."),
)


def _ends_on_or_after(field: str, day: datetime.date) -> Q:
    """The period of a (date, precision) field ends on or after `day`: "May 2016"
    (stored as 2016-05-01) ends on or after 20 May 2016 as its first day is on or after
    the first of that month."""
    return (Q(**{f"{field}_precision": Precision.YEAR, f"{field}__gte": day.replace(month=1, day=1)})
            | Q(**{f"{field}_precision": Precision.MONTH, f"{field}__gte": day.replace(day=1)})
            | Q(**{f"{field}_precision": Precision.DAY, f"{field}__gte": day}))


class CaseQuerySet(ReviewableQuerySet):
    def published(self):
        """Published and not restricted: what the public may see."""
        return self.filter(status=Status.PUBLISHED, restricted=False)

    def overlapping(self, start: datetime.date | None = None, end: datetime.date | None = None):
        """Cases whose period overlaps `start`..`end` (either may be None: open).

        A case covers the period from its start to its end, or without an end its
        start's own period (all of 2016 for "2016", all of May for "May 2016"). Dates are
        stored as the first day of their period. Cases without dates are left out. The
        one rule for the public site's from/to and the coordinator reports' period.
        """
        queryset = self
        if start is not None:
            queryset = queryset.filter(
                (Q(ended_on__isnull=False) & _ends_on_or_after("ended_on", start))
                | (Q(ended_on__isnull=True) & _ends_on_or_after("started_on", start)))
        if end is not None:
            queryset = queryset.filter(Q(started_on__lte=end)
                                       | Q(started_on__isnull=True, ended_on__lte=end))
        return queryset

    def visible_to(self, user):
        """What a staff member may see in the admin, search, autocomplete, exports and
        reports: restricted cases only for their author, verifiers and administrators."""
        if user.is_superuser or user.has_perm("casework.verify_case") or user.has_perm(
            "casework.delete_case"
        ):
            return self
        return self.filter(Q(restricted=False) | Q(created_by=user.pk))


def _months(field: str):
    return ExtractYear(field) * 12 + ExtractMonth(field)


def ends_after_start() -> Q:
    """The end's period does not finish before the start: "May 2016" may end a case that
    started on 25 May 2016, and "2016" one that started in May 2016. Partial dates are
    stored as the first day of their period, so each precision compares its own way."""
    return (Q(ended_on__isnull=True) | Q(started_on__isnull=True)
            | Q(ended_on__gte=models.F("started_on"))
            | Q(GreaterThanOrEqual(_months("ended_on"), _months("started_on")),
                ended_on_precision=Precision.MONTH)
            | Q(GreaterThanOrEqual(ExtractYear("ended_on"), ExtractYear("started_on")),
                ended_on_precision=Precision.YEAR))


class Case(PartialDateMixin, ReviewableModel):
    class Situation(models.TextChoices):
        ONGOING = "ongoing", _("ongoing")
        CONCLUDED = "concluded", _("concluded")

    reference = models.CharField(
        max_length=40, unique=True, validators=[reference_validator],
        help_text=_("Public, permanent identifier, e.g. AZ-2016-002."),
    )
    title = models.CharField(max_length=300)
    summary = models.TextField(_("public summary"), blank=True)
    internal_notes = models.TextField(blank=True, help_text=_("Confidential: never public."))
    country = CountryField()
    location = models.CharField(max_length=200, blank=True)
    started_on, started_on_precision = partial_date_fields(_("started on"))
    ended_on, ended_on_precision = partial_date_fields(_("ended on"))
    situation = models.CharField(
        max_length=10, choices=Situation.choices, default=Situation.ONGOING
    )
    violations = models.ManyToManyField(ViolationType, blank=True, related_name="cases")
    rights = models.ManyToManyField(Right, blank=True, related_name="cases",
                                    verbose_name=_("rights affected"))
    sources = models.ManyToManyField(Source, blank=True, related_name="cases")
    restricted = models.BooleanField(
        default=False,
        help_text=_("Only its author, verifiers and administrators see a restricted case; "
                    "it is never public."),
    )
    # Public text put through casework.search.normalise(), rebuilt from published records
    # only (casework.search); the PostgreSQL trigger of 0003_search derives search_vector.
    search_document = models.TextField(blank=True, default="", editable=False)
    search_vector = SearchVectorField(null=True, editable=False)
    # The values the public filters and facet counts group on, as a set of
    # "filter:value" keys ({"country:AZ": 1, "right:expression": 1, "role:journalist": 1},
    # from published records only), kept with search_document by casework.search: one
    # indexed lookup per filter and one pass per facet count, with no joins.
    facet_keys = models.JSONField(default=dict, blank=True, editable=False)

    history = record_history(m2m_fields=[violations, rights, sources],
                             excluded_fields=["search_document", "search_vector", "facet_keys"])

    objects = CaseQuerySet.as_manager()

    REVIEWED_FIELDS = ("reference", "title", "summary", "country", "location",
                       "started_on", "started_on_precision", "ended_on", "ended_on_precision",
                       "situation", "restricted")
    PUBLIC_FIELDS = ("reference", "title", "summary", "country", "location",
                     "started_on", "started_on_precision", "ended_on", "ended_on_precision",
                     "situation", "published_at")

    class Meta:
        ordering = ["-started_on", "-id"]
        permissions = [
            *workflow_permissions("case", "cases"),
            ("import_case", "Can import cases"),
            ("export_case", "Can export cases"),
            ("view_reports", "Can view coordinator reports"),
        ]
        indexes = [
            # Public list and feed: published cases, newest first.
            models.Index(fields=["status", "-published_at"], name="case_status_published"),
            # Default ordering and date-range filters.
            models.Index(fields=["started_on"], name="case_started_on"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=ends_after_start(), name="case_ends_after_start",
                violation_error_message=_("The case ends before it starts."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"

    def clean(self):
        super().clean()
        # As save() stores them: the constraint that the case ends after it starts is
        # checked next, on these values ("2026" as a year is any day of 2026).
        self.normalise_partial_dates("started_on", "ended_on")

    def save(self, *args, **kwargs):
        self.normalise_partial_dates("started_on", "ended_on")
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("casework:case", args=[self.reference])

    @property
    def started(self) -> str:
        return self.partial_date("started_on")

    @property
    def ended(self) -> str:
        return self.partial_date("ended_on")

    @property
    def period(self) -> tuple[datetime.date | None, datetime.date | None]:
        """First and last day the case may cover, for range overlap."""
        end = period_end(self.ended_on, self.ended_on_precision) or period_end(
            self.started_on, self.started_on_precision
        )
        return self.started_on, end


class InvolvementQuerySet(models.QuerySet):
    def published_parties(self):
        """Involvements whose person or organisation is itself published.

        person__status=published is Person.objects.published() as a join: on large
        tables the planner handles it far better than IN (every published person).
        """
        return self.filter(Q(person__status=Status.PUBLISHED)
                           | Q(organisation__status=Status.PUBLISHED))


class Involvement(PartialDateMixin, models.Model):
    """A person or organisation in a case, and how: targeted, lawyer, perpetrator…"""

    class Role(models.TextChoices):
        TARGETED = "targeted", _("targeted defender")
        LAWYER = "lawyer", _("lawyer representing a defender")
        PERPETRATOR = "perpetrator", _("perpetrator")
        WITNESS = "witness", _("witness")
        SOURCE = "source", _("source")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="involvements")
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="involvements"
    )
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="involvements"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    description = models.TextField(blank=True, help_text=_(
        "Public: shown on the case page once the case is published. Never write a "
        "withheld name or a contact detail here."))
    started_on, started_on_precision = partial_date_fields(_("from"))
    ended_on, ended_on_precision = partial_date_fields(_("until"))

    history = HistoricalRecords(get_user=history_user)

    objects = InvolvementQuerySet.as_manager()

    PUBLIC_FIELDS = ("role", "description", "started_on", "started_on_precision",
                     "ended_on", "ended_on_precision")
    # Roles whose defender type the public `role` filter looks at: the defenders themselves
    # and their lawyers (who are often targeted for defending them).
    DEFENDER_ROLES = (Role.TARGETED, Role.LAWYER)

    class Meta:
        ordering = ["case", "role", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(person__isnull=False, organisation__isnull=True)
                           | Q(person__isnull=True, organisation__isnull=False)),
                name="involvement_person_xor_organisation",
                violation_error_message=_("Choose a person or an organisation: one of them, "
                                          "not both."),
            ),
            models.UniqueConstraint(
                fields=["case", "person", "role"], condition=Q(person__isnull=False),
                name="involvement_unique_person_role",
                violation_error_message=_("This person is already in the case in this role."),
            ),
            models.UniqueConstraint(
                fields=["case", "organisation", "role"], condition=Q(organisation__isnull=False),
                name="involvement_unique_organisation_role",
                violation_error_message=_("This organisation is already in the case in this "
                                          "role."),
            ),
            models.CheckConstraint(
                condition=ends_after_start(), name="involvement_ends_after_start",
                violation_error_message=_("The involvement ends before it starts."),
            ),
        ]

    def clean(self):
        super().clean()
        # As save() stores them, before the constraint that it ends after it starts.
        self.normalise_partial_dates("started_on", "ended_on")

    def __str__(self) -> str:
        return f"{self.party} – {self.get_role_display()}"

    @property
    def party(self):
        return self.person or self.organisation

    def save(self, *args, **kwargs):
        self.normalise_partial_dates("started_on", "ended_on")
        super().save(*args, **kwargs)


# ---------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------


class Statement(PartialDateMixin, ReviewableModel):
    """What someone (often an international body) said about one or more cases."""

    reference = models.CharField(
        max_length=40, unique=True, validators=[reference_validator],
        help_text=_("Public, permanent identifier, e.g. ST-2016-001."),
    )
    speaker = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="statements"
    )
    speaker_title = models.CharField(
        max_length=200, blank=True, help_text=_('e.g. "Commissioner for Human Rights"')
    )
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="statements"
    )
    signatories = models.ManyToManyField(
        Organisation, blank=True, related_name="signed_statements",
        help_text=_("For joint statements: every organisation that signed it."),
    )
    title = models.CharField(max_length=300, blank=True, help_text=_("Title of a named statement."))
    said_on, said_on_precision = partial_date_fields(_("said on"))
    quote = models.TextField(blank=True, help_text=_("The words as said; or leave empty and "
                                                     "give the statement's title."))
    language = models.CharField(
        max_length=16, default="en", validators=[language_code_validator],
        help_text=_("ISO 639-1 code, e.g. en, az, ru (pt-BR with a region)."),
    )
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.PROTECT, related_name="statements"
    )
    cases = models.ManyToManyField(Case, blank=True, related_name="statements")
    internal_notes = models.TextField(blank=True, help_text=_("Confidential: never public."))

    history = record_history(m2m_fields=[cases, signatories])

    REVIEWED_FIELDS = ("reference", "title", "speaker_id", "speaker_title", "organisation_id",
                       "said_on", "said_on_precision", "quote", "language", "source_id")
    PUBLIC_FIELDS = ("reference", "title", "speaker_title", "said_on", "said_on_precision", "quote",
                     "language", "published_at")

    def clean(self):
        super().clean()
        self.language = language_tag(self.language)

    @property
    def language_name(self) -> str:
        """"Russian (ru)" for "ru"; the code itself for a code Django does not name."""
        info = LANG_INFO.get(self.language.lower()) or LANG_INFO.get(
            self.language.split("-")[0].lower(), {})
        return f"{info['name']} ({self.language})" if "name" in info else self.language

    class Meta:
        ordering = ["-said_on", "-id"]
        permissions = [
            *workflow_permissions("statement", "statements"),
            ("import_statement", "Can import statements"),
            ("export_statement", "Can export statements"),
        ]
        indexes = [
            # Public statements list: published, newest first.
            models.Index(fields=["status", "-said_on"], name="statement_status_said_on"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(speaker__isnull=False) | Q(organisation__isnull=False),
                name="statement_has_speaker",
                violation_error_message=_("Give the speaker, the organisation, or both."),
            ),
            models.CheckConstraint(
                condition=~Q(quote="", title=""), name="statement_has_quote_or_title",
                violation_error_message=_("Give the quote, or the statement's title."),
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def save(self, *args, **kwargs):
        self.normalise_partial_dates("said_on")
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("casework:statement", args=[self.reference])

    @property
    def said(self) -> str:
        return self.partial_date("said_on")


REVIEWABLE_MODELS = (Case, Statement, Person, Organisation, Source)
