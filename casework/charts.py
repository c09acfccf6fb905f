"""Server-rendered SVG charts for the home page, each with a table equivalent.

No JavaScript and no inline styles (the Content-Security-Policy forbids both): the
geometry is computed here and drawn by templates/casework/_chart_*.html, styled by
static/casework/site.css. The month chart counts the public queryset it is given;
the breakdowns draw the facet counts of all published cases, the very figures /cases/
shows beside its filters.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.utils.dates import MONTHS_3
from django_countries import countries

from casework.dates import Precision
from casework.models import Right, ViolationType

WIDTH = 640
MONTHS_SHOWN = 24


@dataclass
class Bar:
    label: str
    value: int
    x: float = 0
    y: float = 0
    width: float = 0
    height: float = 0
    show_label: bool = True
    url: str = ""


@dataclass
class Chart:
    bars: list[Bar]
    width: int
    height: int
    total: int

    @property
    def empty(self) -> bool:
        return not any(bar.value for bar in self.bars)


def _add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def cases_per_month(cases, months: int = MONTHS_SHOWN) -> Chart:
    """Cases by the month they started, over the `months` up to the latest one.

    Cases dated only by a year cannot be placed in a month and are left out (the
    template says so).
    """
    rows = (cases.filter(started_on__isnull=False)
            .exclude(started_on_precision=Precision.YEAR).order_by()
            .annotate(month=TruncMonth("started_on")).values_list("month")
            .annotate(n=Count("pk")))
    counts = {}
    for month, n in rows:
        month = month.date() if isinstance(month, datetime.datetime) else month
        counts[month] = n
    if not counts:
        return Chart([], WIDTH, 180, 0)
    last = max(counts)
    first = _add_months(last, -(months - 1))
    bars = []
    for i in range(months):
        month = _add_months(first, i)
        bars.append(Bar(label=f"{MONTHS_3[month.month].title()} {month.year}",
                        value=counts.get(month, 0), show_label=(month.month - 1) % 6 == 0))
    chart_height, top, plot_height = 180, 10, 140
    step = WIDTH / months
    peak = max(bar.value for bar in bars) or 1
    for i, bar in enumerate(bars):
        bar.height = round(plot_height * bar.value / peak, 1)
        bar.x = round(i * step + 1, 1)
        bar.width = round(step - 2, 1)
        bar.y = round(top + plot_height - bar.height, 1)
    return Chart(bars, WIDTH, chart_height, sum(counts.values()))


def _horizontal(items: list[tuple[str, int, str]]) -> Chart:
    row, label_width = 28, 220
    peak = max((value for _label, value, _url in items), default=0) or 1
    bars = []
    for i, (label, value, url) in enumerate(items):
        width = round((WIDTH - label_width - 60) * value / peak, 1)
        bars.append(Bar(label=label, value=value, x=label_width, y=i * row + 4,
                        width=width, height=row - 10, url=url))
    return Chart(bars, WIDTH, max(len(items), 1) * row + 4, sum(v for _l, v, _u in items))


def by_right(counts: dict[str, int]) -> Chart:
    """Every right, with its facet count (CaseFilter.facet_counts()["right"])."""
    return _horizontal([(r.label, counts.get(r.slug, 0), f"?right={r.slug}")
                        for r in Right.objects.order_by("label")])


def by_violation(counts: dict[str, int], limit: int = 10) -> Chart:
    """The `limit` most frequent violation types, from their facet counts."""
    labels = dict(ViolationType.objects.values_list("slug", "label"))
    top = sorted(((labels[slug], n, slug) for slug, n in counts.items() if slug in labels and n),
                 key=lambda item: (-item[1], item[0]))[:limit]
    return _horizontal([(label, n, f"?violation={slug}") for label, n, slug in top])


def by_country(counts: dict[str, int], limit: int = 10) -> Chart:
    """The `limit` countries with most cases, from their facet counts."""
    top = sorted(((code, n) for code, n in counts.items() if n),
                 key=lambda item: (-item[1], item[0]))[:limit]
    return _horizontal([(countries.name(code) or code, n, f"?country={code}")
                        for code, n in top])
