"""The public case filters (django-filter) and their facet counts.

URL parameters: q, country, right, violation, role, from, to, status, sort, page.
Repeat a parameter for several values: values of one parameter are alternatives (OR),
different parameters narrow each other (AND). Every count comes from the same
published-only queryset the results come from.
"""


import hashlib
import json

import django_filters
from django import forms
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import F
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from casework import public, search
from casework.dates import parse_partial_date, period_end
from casework.models import Case, Person, Right, ViolationType

SORTS = {
    "relevance": _("Relevance"),
    "newest": _("Newest first"),
    "oldest": _("Oldest first"),
    "published": _("Recently published"),
}


class PartialDateField(forms.CharField):
    """'2016', '2016-05' or '2016-05-25' -> (first day, precision)."""

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            return parse_partial_date(value)
        except ValueError:
            raise forms.ValidationError(
                _("“%(value)s” is not a date: use YYYY, YYYY-MM or YYYY-MM-DD."),
                params={"value": value}) from None


class PartialDateFilter(django_filters.Filter):
    field_class = PartialDateField


def _choices_of(model):
    return [(term.slug, term.label) for term in model.objects.order_by("label")]


class PeriodForm(forms.Form):
    """A filter form with `from` and `to` partial dates: the range may not be reversed."""

    def clean(self):
        data = super().clean()
        start, end = data.get("from"), data.get("to")
        if start and end and start[0] > period_end(*end):
            self.add_error("to", _("The range ends before it starts: “to” is before “from”."))
        return data


class PeriodFilters:
    """The `from` and `to` filters of a FilterSet (the public search, the reports): cases
    whose period overlaps the range (CaseQuerySet.overlapping)."""

    def filter_from(self, queryset, name, value):
        return queryset.overlapping(start=value[0]) if value else queryset

    def filter_to(self, queryset, name, value):
        return queryset.overlapping(end=period_end(*value)) if value else queryset

    @staticmethod
    def period_filters(help_text="") -> dict:
        # `from` is a Python keyword, so the filters are added by name.
        return {"from": PartialDateFilter(method="filter_from", label=_("From"),
                                          help_text=help_text),
                "to": PartialDateFilter(method="filter_to", label=_("To"), help_text=help_text)}


class CaseFilterForm(PeriodForm):
    SINGLE = ("q", "from", "to", "status", "sort")  # the others may be repeated (OR)

    def clean(self):
        data = super().clean()
        for name in self.SINGLE:
            if hasattr(self.data, "getlist") and len(self.data.getlist(name)) > 1:
                self.add_error(name, _("Give one value: this parameter cannot be repeated."))
        return data

    def clean_q(self):
        q = self.cleaned_data.get("q") or ""
        if q.strip() and not search.has_terms(q):
            # Nothing to look for: no results to show, and no slow scan for close matches.
            raise forms.ValidationError(
                _("“%(q)s” has no word to search for (very common words such as “the” and "
                  "“or” are left out): search for something more specific."),
                params={"q": q.strip()})
        return q


class CaseFilter(PeriodFilters, django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", max_length=200, label=_("Search"))
    # The facet filters all look up Case.facet_keys (see casework.search.case_facet_keys).
    country = django_filters.MultipleChoiceFilter(
        choices=countries, label=_("Country"), method="filter_facet")
    right = django_filters.MultipleChoiceFilter(
        choices=lambda: _choices_of(Right), label=_("Right"), method="filter_facet")
    violation = django_filters.MultipleChoiceFilter(
        choices=lambda: _choices_of(ViolationType), label=_("Violation"),
        method="filter_facet")
    role = django_filters.MultipleChoiceFilter(
        choices=[c for c in Person.DefenderType.choices if c[0]], label=_("Defender"),
        method="filter_facet")
    status = django_filters.ChoiceFilter(
        choices=Case.Situation.choices, label=_("Situation"), empty_label=_("Any"),
        method="filter_facet")
    sort = django_filters.ChoiceFilter(
        choices=list(SORTS.items()), method="filter_sort", label=_("Sort"), empty_label=None)

    # The filters whose options show counts (their values are keys of Case.facet_keys).
    FACETS = ("country", "right", "violation", "role", "status")

    class Meta:
        form = CaseFilterForm

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Set by the view when nothing matches exactly: trigram close matches instead.
        self.close_matches = False

    # -- filter methods ------------------------------------------------------

    def filter_q(self, queryset, name, value):
        return search.search_cases(queryset, value, close=self.close_matches)

    def filter_facet(self, queryset, name, value):
        """Cases having any of the chosen values: one indexed lookup on facet_keys."""
        if not value:
            return queryset
        values = [value] if isinstance(value, str) else value
        return queryset.filter(facet_keys__has_any_keys=[f"{name}:{v}" for v in values])

    def filter_sort(self, queryset, name, value):
        return queryset  # applied by ordered()

    # -- results -------------------------------------------------------------

    @property
    def query(self) -> str:
        return (self.form.cleaned_data.get("q") or "").strip() if self.is_valid() else ""

    @property
    def counts_key(self) -> str:
        """What the facet counts depend on, as a short digest: the valid parameters but
        the sort, and whether the results are close matches (casework.public_cache keeps
        the counts of each search under it; the typed text itself is never stored)."""
        parameters = {name: sorted(value) if isinstance(value, list) else value
                      for name, value in self.form.cleaned_data.items()
                      if name != "sort" and value not in (None, "", [])}
        described = json.dumps([parameters, self.close_matches], sort_keys=True, default=str)
        return hashlib.sha256(described.encode()).hexdigest()[:32]

    def filtered(self, *, without: str | None = None):
        """The published cases matching every valid filter except `without`."""
        queryset = self.queryset.all()
        for name, value in self.form.cleaned_data.items():
            if name == without or name == "sort":
                continue
            queryset = self.filters[name].filter(queryset, value)
        return queryset

    def among_first(self, queryset, limit: int):
        """The results, cut to `limit` cases in the page's order where an index gives it
        (dates), or else the first `limit` found: relevance is then ranked among those."""
        first = self.ordered(queryset) if self.sort_by != "relevance" else queryset.order_by()
        return queryset.filter(pk__in=first.values("pk")[:limit])

    @property
    def sort_by(self) -> str:
        return self.form.cleaned_data.get("sort") or ("relevance" if self.query else "newest")

    def ordered(self, queryset):
        sort = self.sort_by
        if sort == "relevance" and "rank" in queryset.query.annotations:
            return queryset.order_by("-rank", F("started_on").desc(nulls_last=True), "-id")
        if sort == "oldest":
            return queryset.order_by(F("started_on").asc(nulls_last=True), "id")
        if sort == "published":
            return queryset.order_by(F("published_at").desc(nulls_last=True), "-id")
        return queryset.order_by(F("started_on").desc(nulls_last=True), "-id")

    def facet_counts(self) -> dict[str, dict[str, int]]:
        """For every filter option: how many results choosing it would give.

        Each facet counts over the results of all the *other* filters, so options of
        one parameter (which combine with OR) show what adding them would give. The
        facets whose filter is not in use share one pass over the results; each facet in
        use needs one more. A pass groups the results' facet keys, with no joins.
        """
        active = [name for name in self.FACETS if self.form.cleaned_data.get(name)]
        counts: dict[str, dict[str, int]] = {name: {} for name in self.FACETS}
        passes = [(None, set(self.FACETS) - set(active))] + [(name, {name}) for name in active]
        for without, facets in passes:
            if not facets:
                continue
            for key, n in count_facet_keys(self.filtered(without=without)):
                facet, _sep, value = key.partition(":")
                if facet in facets:
                    counts[facet][value] = n
        return counts


def count_facet_keys(queryset) -> list[tuple[str, int]]:
    """(facet key, number of cases) over the cases of `queryset`, in one query."""
    try:
        sql, params = queryset.order_by().values("facet_keys").query.sql_with_params()
    except EmptyResultSet:  # queryset.none(): nothing to count
        return []
    connection = connections[queryset.db]
    if connection.vendor == "postgresql":
        keys, key = "jsonb_object_keys(matches.facet_keys) AS key", "key"
    else:
        keys, key = "json_each(matches.facet_keys) AS keys", "keys.key"
    # Django's SQL (values as parameters) and our own constant text.
    grouped = f"SELECT {key}, count(*) FROM (" + sql + f") AS matches, {keys} GROUP BY {key}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(grouped, params)
        return cursor.fetchall()


CaseFilter.base_filters = {
    **{k: v for k, v in CaseFilter.base_filters.items() if k not in ("status", "sort")},
    **PeriodFilters.period_filters(),
    "status": CaseFilter.base_filters["status"],
    "sort": CaseFilter.base_filters["sort"],
}


def public_case_filter(data) -> CaseFilter:
    """The public filter over `data` (request.GET), empty values left out: `country=`
    from an emptied form field means no country, not an invalid one."""
    data = data.copy()
    for name in list(data):
        values = [value for value in data.getlist(name) if value.strip()]
        if values:
            data.setlist(name, values)
        else:
            del data[name]
    return CaseFilter(data, queryset=public.cases())
