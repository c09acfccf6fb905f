import datetime

import pytest

from casework.dates import format_partial_date, iso_partial_date, parse_partial_date, period_end
from tests import factories

pytestmark = pytest.mark.smoke


@pytest.mark.parametrize("text,shown", [
    ("2016-10-25", "25 October 2016"), ("2016-05", "May 2016"), ("2016", "2016"),
    ("", "date unknown"),
])
def test_dates_are_shown_as_a_person_writes_them(text, shown):
    assert format_partial_date(*parse_partial_date(text)) == shown


@pytest.mark.parametrize("text", ["2016-05-25", "2016-05", "2016", ""])
def test_exchange_form_round_trips(text):
    assert iso_partial_date(*parse_partial_date(text)) == text


@pytest.mark.parametrize("text", ["2016-13", "2016-02-30", "25/10/2016", "May 2016", "16",
                                  "\u0662\u0660\u0661\u0666"])  # Arabic-Indic digits
def test_invalid_dates_name_the_accepted_forms(text):
    with pytest.raises(ValueError) as error:
        parse_partial_date(text)
    assert str(error.value) == f'"{text}" is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)'


def test_period_end_covers_the_whole_month_or_year():
    assert period_end(datetime.date(2016, 2, 1), "month") == datetime.date(2016, 2, 29)
    assert period_end(datetime.date(2016, 1, 1), "year") == datetime.date(2016, 12, 31)


@pytest.mark.django_db
def test_case_stores_first_day_of_period_and_shows_precision(researcher):
    case = factories.make_case(researcher, started_on=datetime.date(2016, 5, 17),
                               started_on_precision="month")
    case.refresh_from_db()
    assert case.started_on == datetime.date(2016, 5, 1)
    assert case.started == "May 2016"
    assert case.ended == "date unknown"
    assert case.period == (datetime.date(2016, 5, 1), datetime.date(2016, 5, 31))


def test_dates_are_written_in_the_active_languages_format():
    from django.utils import translation

    day, month = datetime.date(2016, 10, 25), datetime.date(2016, 5, 1)
    assert (format_partial_date(day, "day"), format_partial_date(month, "month")) == (
        "25 October 2016", "May 2016")  # casework/formats/en, not Django's "Oct. 25, 2016"
    with translation.override("de"):  # a translation brings its own order and words
        assert (format_partial_date(day, "day"), format_partial_date(month, "month")) == (
            "25. Oktober 2016", "Mai 2016")
