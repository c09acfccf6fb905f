"""Coordinator reports: case counts by country x violation type x month or year, by right
and by workflow status, for a chosen period and filters; as HTML tables and CSV.

Reports read every case (drafts and restricted ones included): they are internal, for
users holding `casework.view_reports`. The filtered case list as CSV is a non-public
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
from casework.exchange import case_csv, csv_lines
from casework.models import Case, Right, Status, ViolationType
from casework.resources import audit_filters

NONE = "(none)"
UNKNOWN = "(date unknown)"


class CaseReportFilter(django_filters.FilterSet):
    started_from = django_filters.DateFilter(
        field_name="started_on", lookup_expr="gte", label=_("Started on or after"),
        help_text=_("YYYY-MM-DD"))
    started_until = django_filters.DateFilter(
        field_name="started_on", lookup_expr="lte", label=_("Started on or before"),
        help_text=_("YYYY-MM-DD"))
    country = django_filters.ChoiceFilter(choices=list(countries))
    violations = django_filters.ModelChoiceFilter(
        queryset=ViolationType.objects.all(), label=_("Violation type"))
    rights = django_filters.ModelChoiceFilter(queryset=Right.objects.all(), label=_("Right"))
    status = django_filters.ChoiceFilter(choices=Status.choices, label=_("Workflow status"))

    class Meta:
        model = Case
        fields = ["started_from", "started_until", "country", "violations", "rights", "status"]


def _period_label(value, by: str) -> str:
    if value is None:
        return UNKNOWN
    return f"{value.year:04d}" if by == "year" else f"{value.year:04d}-{value.month:02d}"


def build_report(queryset, by: str = "year") -> dict:
    """The three tables for this queryset: three aggregate queries."""
    trunc = TruncYear if by == "year" else TruncMonth
    # The filters choose the cases; each case then counts under all its violation types
    # and rights (a subquery, so the filter's joins are not reused for the grouping).
    base = Case.objects.filter(pk__in=queryset.order_by().values("pk")).order_by()
    matrix_rows = (
        base.annotate(period=trunc("started_on"))
        .values("country", "period", violation=F("violations__label"))
        .annotate(cases=Count("id", distinct=True))
        .order_by("country", "violation", "period")
    )
    cells: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    periods: set[str] = set()
    long_rows = []
    for row in matrix_rows:
        country = str(countries.name(row["country"])) or row["country"] or NONE
        violation = row["violation"] or NONE
        period = _period_label(row["period"], by)
        periods.add(period)
        cells[(country, violation)][period] = row["cases"]
        long_rows.append({"country": country, "violation_type": violation, "period": period,
                          "cases": str(row["cases"])})
    period_list = sorted(periods, key=lambda p: (p == UNKNOWN, p))
    matrix = [
        {"country": country, "violation": violation,
         "counts": [counts.get(period, 0) for period in period_list],
         "total": sum(counts.values())}
        for (country, violation), counts in sorted(cells.items())
    ]
    by_right = [
        {"right": row["right"] or NONE, "cases": row["cases"]}
        for row in base.values(right=F("rights__label"))
        .annotate(cases=Count("id", distinct=True)).order_by("-cases", "right")
    ]
    labels = dict(Status.choices)
    by_status = [
        {"status": str(labels.get(row["status"], row["status"])), "cases": row["cases"]}
        for row in base.values("status").annotate(cases=Count("id")).order_by("status")
    ]
    return {"periods": period_list, "matrix": matrix, "matrix_long": long_rows,
            "by_right": by_right, "by_status": by_status}


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
    by = "month" if request.GET.get("by") == "month" else "year"
    visible = Case.objects.visible_to(request.user)  # restricted cases: author and verifiers
    report_filter = CaseReportFilter(request.GET or None, queryset=visible)
    queryset = report_filter.qs if report_filter.is_bound else visible
    if report_filter.is_bound and not report_filter.is_valid():
        queryset = Case.objects.none()
    download = request.GET.get("download", "")
    filters = audit_filters(request.GET)
    filters.pop("download", None)

    if download == "cases":
        if not request.user.has_perm("casework.export_case"):
            raise PermissionDenied
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

    query = request.GET.copy()
    query.pop("download", None)
    context = {
        **admin.site.each_context(request),
        "title": _("Reports"),
        "filter": report_filter,
        "by": by,
        "report": report,
        "query": query.urlencode(),
        "can_export_cases": request.user.has_perm("casework.export_case"),
    }
    return TemplateResponse(request, "admin/casework/reports.html", context)


# Wrapped like every admin view: staff sign-in required, never cached.
admin_reports_view = admin.site.admin_view(reports_view)
