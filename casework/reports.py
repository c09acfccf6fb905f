"""Coordinator reports: case counts by country x violation type x month or year, by right
and by workflow status, for a chosen period and filters; as HTML tables and CSV.

Reports count every case the user may see (drafts included; restricted cases only for
their author, verifiers and administrators: Case.objects.visible_to): they are internal,
for users holding `casework.view_reports`. The filtered case list as CSV is a non-public
export, so it also needs `casework.export_case`; every download goes to the audit log.

Each table is one aggregate query, so the page costs the same number of queries for
ten cases or a million.
"""

from __future__ import annotations

from collections import defaultdict

import django_filters
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F
from django.db.models.functions import TruncMonth, TruncYear
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from accounts.models import AuditEvent
from casework.dates import Precision
from casework.exchange import case_csv, csv_lines
from casework.filters import PeriodFilters, PeriodForm
from casework.models import Case, Right, Status, ViolationType
from casework.resources import audit_filters

NONE = "(none)"
UNKNOWN = "(date unknown)"
PERIODS = ("year", "month")
MAX_FILLED_PERIODS = 600  # columns with no case are shown within at most 50 years of months


class CaseReportFilter(PeriodFilters, django_filters.FilterSet):
    country = django_filters.ChoiceFilter(choices=list(countries))
    violations = django_filters.ModelChoiceFilter(
        queryset=ViolationType.objects.all(), label=_("Violation type"))
    rights = django_filters.ModelChoiceFilter(queryset=Right.objects.all(), label=_("Right"))
    status = django_filters.ChoiceFilter(choices=Status.choices, label=_("Workflow status"))

    class Meta:
        model = Case
        fields = ["country", "violations", "rights", "status"]
        form = PeriodForm


# The period comes first, named as on the public site (`from` is a Python keyword).
_PERIOD_HELP = _("YYYY, YYYY-MM or YYYY-MM-DD. Cases whose period overlaps the range, as "
                 "on the public site.")
CaseReportFilter.base_filters = {
    **PeriodFilters.period_filters(_PERIOD_HELP),
    **CaseReportFilter.base_filters,
}


def _period_key(value, precision: str, by: str) -> tuple[int, int]:
    """Sortable period of a case: (year, 0) by year; (year, month) by month, and
    (year, 13) for a case known only by its year ("2016 (month unknown)")."""
    if value is None:
        return (9999, 99)
    if by == "year":
        return (value.year, 0)
    return (value.year, 13) if precision == Precision.YEAR else (value.year, value.month)


def _period_label(key: tuple[int, int]) -> str:
    year, month = key
    if key == (9999, 99):
        return UNKNOWN
    if month == 0:
        return f"{year:04d}"
    return f"{year:04d} (month unknown)" if month == 13 else f"{year:04d}-{month:02d}"


def _all_periods(keys: set[tuple[int, int]], by: str) -> list[tuple[int, int]]:
    """Every period from the first to the last with a case, so that the columns read as
    a time series (empty ones count 0); "month unknown" only for years that have one."""
    dated = [key for key in keys if key != (9999, 99) and key[1] != 13]
    periods = set(keys)
    first, last = (min(dated), max(dated)) if dated else (None, None)
    span = (last[0] - first[0]) * 12 + (last[1] - first[1]) if dated else 0  # in months
    if dated and span <= MAX_FILLED_PERIODS:  # (a mistyped year 0201 must not fill 20,000)
        if by == "year":
            periods |= {(year, 0) for year in range(first[0], last[0] + 1)}
        else:
            periods |= {(year, month) for year in range(first[0], last[0] + 1)
                        for month in range(1, 13) if first <= (year, month) <= last}
    return sorted(periods)


def build_report(queryset, by: str = "year") -> dict:
    """The three tables for this queryset, and how many cases it holds: four queries."""
    # The filters choose the cases; each case then counts under all its violation types
    # and rights (a subquery, so the filter's joins are not reused for the grouping).
    base = Case.objects.filter(pk__in=queryset.order_by().values("pk")).order_by()
    trunc = TruncYear if by == "year" else TruncMonth
    matrix_rows = (
        base.annotate(period=trunc("started_on"))
        .values("country", "period", "started_on_precision", violation=F("violations__label"))
        .annotate(cases=Count("id", distinct=True)).order_by()
    )
    cells: dict[tuple[str, str], dict[tuple[int, int], int]] = defaultdict(
        lambda: defaultdict(int))
    for row in matrix_rows:
        country = str(countries.name(row["country"])) or row["country"] or NONE
        period = row["period"].date() if hasattr(row["period"], "date") else row["period"]
        key = _period_key(period, row["started_on_precision"], by)
        # A case has one precision: the groups of one period add up without overlap.
        cells[(country, row["violation"] or NONE)][key] += row["cases"]
    periods = _all_periods({key for counts in cells.values() for key in counts}, by)
    order = sorted(cells)
    matrix = [
        {"country": country, "violation": violation,
         "counts": [cells[(country, violation)].get(key, 0) for key in periods],
         "total": sum(cells[(country, violation)].values())}
        for country, violation in order
    ]
    long_rows = [  # the page's order; periods with no case are left out
        {"country": country, "violation_type": violation, "period": _period_label(key),
         "cases": str(cells[(country, violation)][key])}
        for country, violation in order for key in periods
        if cells[(country, violation)].get(key)
    ]
    by_right = [
        {"right": row["right"] or NONE, "cases": row["cases"]}
        for row in base.values(right=F("rights__label"))
        .annotate(cases=Count("id", distinct=True)).order_by("-cases", "right")
    ]
    counts = dict(base.values_list("status").annotate(cases=Count("id")).order_by())
    by_status = [{"status": str(label), "cases": counts.get(value, 0)}
                 for value, label in Status.choices]  # in workflow order, every status
    return {"periods": [_period_label(key) for key in periods], "matrix": matrix,
            "matrix_long": long_rows, "by_right": by_right, "by_status": by_status,
            "total": base.count()}


TABLE_COLUMNS = {
    "matrix": ["country", "violation_type", "period", "cases"],
    "rights": ["right", "cases"],
    "status": ["status", "cases"],
}


def _csv_response(lines, name: str):
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response


def reports_view(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("casework.view_reports"):
        raise PermissionDenied
    by = request.GET.get("by") or "year"
    download = request.GET.get("download", "")
    if download == "cases" and not request.user.has_perm("casework.export_case"):
        raise PermissionDenied
    visible = Case.objects.visible_to(request.user)  # restricted cases: author and verifiers
    report_filter = CaseReportFilter(request.GET or None, queryset=visible)
    # Copies of the form's lists: a message added to both must not show twice.
    errors = ({name: list(messages) for name, messages in report_filter.errors.items()}
              if report_filter.is_bound else {})
    if by not in PERIODS:
        errors["by"] = [_("Count by “year” or “month”.")]
    for name in sorted(set(request.GET) - {*report_filter.form.fields, "by", "download"}):
        # An old or mistyped parameter (started_from) must not look applied when it is not.
        errors[name] = [_("Not a report parameter: the period is “from” and “to”.")]
    for name in sorted(request.GET):
        if len(request.GET.getlist(name)) > 1:  # one would be used, silently
            message = _("Give one value: this parameter cannot be repeated.")
            errors.setdefault(name, []).append(message)
            if name in report_filter.form.fields:  # shown beside the field
                report_filter.form.add_error(name, message)
    if download and download not in ("cases", *TABLE_COLUMNS):
        errors["download"] = [_("There is no table “%(name)s” to download.") % {"name": download}]
    if errors:
        # Never an empty table passed off as a result, nor an export of nothing audited.
        if download:
            return HttpResponse(
                "".join(f"{field}: {message}\n" for field, messages in errors.items()
                        for message in messages),
                status=400, content_type="text/plain; charset=utf-8")
        context = _context(request, report_filter, by, report=None, errors=errors)
        return TemplateResponse(request, "admin/casework/reports.html", context, status=400)
    queryset = report_filter.qs if report_filter.is_bound else visible
    filters = audit_filters(request.GET)
    filters.pop("download", None)

    if download == "cases":
        rows = queryset.count()
        AuditEvent.objects.record(AuditEvent.Action.EXPORT, request=request, kind="case",
                                  via="reports", filters=filters, rows=rows)
        return _csv_response(case_csv(queryset, public=False), "cases")

    report = build_report(queryset, by)
    if download in TABLE_COLUMNS:
        rows = {
            "matrix": report["matrix_long"],
            "rights": [{"right": r["right"], "cases": str(r["cases"])} for r in report["by_right"]],
            "status": [{"status": r["status"], "cases": str(r["cases"])}
                       for r in report["by_status"]],
        }[download]
        AuditEvent.objects.record(AuditEvent.Action.EXPORT, request=request, kind="report",
                                  table=download, by=by, via="reports", filters=filters,
                                  rows=len(rows))
        return _csv_response(csv_lines(rows, TABLE_COLUMNS[download]), f"report-{download}")

    context = _context(request, report_filter, by, report=report)
    return TemplateResponse(request, "admin/casework/reports.html", context)


def _context(request, report_filter, by: str, *, report, errors=None) -> dict:
    query = request.GET.copy()
    query.pop("download", None)
    return {
        **admin.site.each_context(request),
        "title": _("Reports"),
        "filter": report_filter,
        "by": by,
        "report": report,
        "errors": errors or {},
        "query": query.urlencode(),
        "can_export_cases": request.user.has_perm("casework.export_case"),
    }


# Wrapped like every admin view: staff sign-in required, never cached.
admin_reports_view = admin.site.admin_view(reports_view)
