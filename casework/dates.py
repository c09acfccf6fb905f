"""Dates of uncertain precision: a date plus day / month / year precision.

A case "started in May 2016" is stored as 2016-05-01 with precision MONTH and shown
as "May 2016"; its period runs to 2016-05-31, which is what date-range filters use.
"""

import calendar
import datetime
import re

from django.db import models
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _


class Precision(models.TextChoices):
    DAY = "day", _("day")
    MONTH = "month", _("month")
    YEAR = "year", _("year")


_PATTERN = re.compile(r"^([0-9]{4})(?:-([0-9]{1,2}))?(?:-([0-9]{1,2}))?$")  # ASCII digits only
FORMAT_HELP = "use YYYY, YYYY-MM or YYYY-MM-DD"


def parse_partial_date(text: str) -> tuple[datetime.date | None, str]:
    """'2016' / '2016-05' / '2016-05-25' -> (first day, precision); '' -> (None, '').

    Raises ValueError with a message that names the accepted forms.
    """
    text = (text or "").strip()
    if not text:
        return None, ""
    match = _PATTERN.match(text)
    if not match:
        raise ValueError(f'"{text}" is not a date ({FORMAT_HELP})')
    year, month, day = match.groups()
    try:
        if day:
            return datetime.date(int(year), int(month), int(day)), Precision.DAY
        if month:
            return datetime.date(int(year), int(month), 1), Precision.MONTH
        return datetime.date(int(year), 1, 1), Precision.YEAR
    except ValueError:
        raise ValueError(f'"{text}" is not a date ({FORMAT_HELP})') from None


def iso_partial_date(value: datetime.date | None, precision: str) -> str:
    """The exchange form: '2016', '2016-05' or '2016-05-25' ('' when unknown)."""
    if value is None:
        return ""
    if precision == Precision.YEAR:
        return f"{value.year:04d}"
    if precision == Precision.MONTH:
        return f"{value.year:04d}-{value.month:02d}"
    return value.isoformat()


def iso_partial_date_sql(date_column: str, precision_column: str) -> str:
    """iso_partial_date in PostgreSQL, for the export that builds its rows in SQL
    (casework.exchange.case_csv); NULL when unknown. tests/test_export_sql.py checks
    that the two agree."""
    return (f"CASE {precision_column} WHEN '{Precision.YEAR.value}' THEN to_char({date_column}, 'YYYY') "
            f"WHEN '{Precision.MONTH.value}' THEN to_char({date_column}, 'YYYY-MM') "
            f"ELSE to_char({date_column}, 'YYYY-MM-DD') END")


def format_partial_date(value: datetime.date | None, precision: str) -> str:
    """The way a person writes it: '25 October 2016', 'May 2016', '2016', 'date unknown'."""
    if value is None:
        return str(_("date unknown"))
    if precision == Precision.YEAR:
        return str(value.year)
    # The active language's formats (casework/formats), so a translation orders them.
    if precision == Precision.MONTH:
        return date_format(value, "YEAR_MONTH_FORMAT")
    return date_format(value, "DATE_FORMAT")


def period_end(value: datetime.date | None, precision: str) -> datetime.date | None:
    """Last day a partial date may stand for (31 May 2016 for "May 2016")."""
    if value is None:
        return None
    if precision == Precision.YEAR:
        return datetime.date(value.year, 12, 31)
    if precision == Precision.MONTH:
        return datetime.date(value.year, value.month, calendar.monthrange(value.year, value.month)[1])
    return value


def normalise_to_precision(value: datetime.date | None, precision: str) -> datetime.date | None:
    """Store the first day of the period so that ordering and ranges are consistent."""
    if value is None:
        return None
    if precision == Precision.YEAR:
        return value.replace(month=1, day=1)
    if precision == Precision.MONTH:
        return value.replace(day=1)
    return value
