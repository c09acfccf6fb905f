"""Coordinator reports: counts by country x violation x period, by right, by status; CSV."""

import csv
import datetime
import io

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from casework.models import Right, ViolationType
from tests import factories

pytestmark = pytest.mark.django_db

URL = reverse("reports")


def vocab(slug):
    return ViolationType.objects.get(slug=slug)


@pytest.fixture
def cases(researcher, verifier):
    detention, ban = vocab("arbitrary-detention"), vocab("travel-ban")
    one = factories.make_case(researcher, country="AZ", started_on=datetime.date(2016, 5, 3),
                              started_on_precision="day")
    one.violations.set([detention, ban])
    one.rights.set([Right.objects.get(slug="association")])
    two = factories.make_case(researcher, country="AZ", started_on=datetime.date(2016, 5, 1),
                              started_on_precision="month")
    two.violations.set([detention])
    three = factories.make_case(researcher, country="GE", started_on=datetime.date(2017, 1, 1),
                                started_on_precision="year")
    three.violations.set([ban])
    factories.publish(three, researcher, verifier)
    factories.make_case(researcher, country="AZ")  # no date, no violation
    return [one, two, three]


def table(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.smoke
def test_reports_count_by_country_violation_and_year(administrator_client, cases):
    # The administrator sees the restricted case too (coordinators do not: see
    # test_access_restricted_cases.py).
    response = administrator_client.get(URL)
    assert response.status_code == 200
    report = response.context["report"]
    assert report["periods"] == ["2016", "2017", "(date unknown)"]
    assert [(r["country"], r["violation"], r["counts"], r["total"]) for r in report["matrix"]] == [
        ("Azerbaijan", "(none)", [0, 0, 1], 1),
        ("Azerbaijan", "Arbitrary detention", [2, 0, 0], 2),
        ("Azerbaijan", "Travel ban", [1, 0, 0], 1),
        ("Georgia", "Travel ban", [0, 1, 0], 1),
    ]
    assert report["by_status"] == [  # workflow order, every status
        {"status": "draft", "cases": 3}, {"status": "in review", "cases": 0},
        {"status": "verified", "cases": 0}, {"status": "published", "cases": 1},
        {"status": "retracted", "cases": 0}]
    assert report["total"] == 4
    assert {"right": "Freedom of association", "cases": 1} in report["by_right"]
    assert b"Arbitrary detention" in response.content


def test_reports_by_month_for_a_period_and_filters(coordinator_client, cases):
    response = coordinator_client.get(URL, {
        "by": "month", "from": "2016", "to": "2016",
        "violations": vocab("arbitrary-detention").pk})
    report = response.context["report"]
    assert report["periods"] == ["2016-05"]
    assert [(r["violation"], r["counts"]) for r in report["matrix"]] == [
        ("Arbitrary detention", [2]), ("Travel ban", [1])]


def test_report_tables_download_as_csv_and_are_audited(coordinator_client, coordinator, cases):
    response = coordinator_client.get(URL, {"download": "matrix", "country": "GE"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert table(response) == [
        {"country": "Georgia", "violation_type": "Travel ban", "period": "2017", "cases": "1"}]
    assert table(coordinator_client.get(URL, {"download": "status"}))[:4] == [
        {"status": "draft", "cases": "3"}, {"status": "in review", "cases": "0"},
        {"status": "verified", "cases": "0"}, {"status": "published", "cases": "1"}]
    event = AuditEvent.objects.filter(action="export").earliest("id")
    assert event.actor == coordinator
    assert (event.details["table"], event.details["filters"]) == ("matrix", {"country": ["GE"]})


def test_filtered_case_list_downloads_in_the_exchange_format(coordinator_client, cases):
    response = coordinator_client.get(URL, {"download": "cases", "country": "AZ",
                                            "from": "2016"})
    rows = table(response)
    assert sorted(row["reference"] for row in rows) == sorted(c.reference for c in cases[:2])
    assert list(rows[0]) == ["reference", "title", "country", "location", "started_on",
                             "ended_on", "violations", "rights", "defenders", "lawyers",
                             "perpetrators", "summary", "sources"]
    assert AuditEvent.objects.get(action="export").details["rows"] == 2


def test_reports_take_a_constant_number_of_queries(
    coordinator_client, cases, researcher, django_assert_max_num_queries
):
    with django_assert_max_num_queries(16) as few:  # incl. session, 2FA device
        coordinator_client.get(URL, {"by": "month"})
    for n in range(20):
        case = factories.make_case(researcher, country="AM",
                                   started_on=datetime.date(2015, 1 + n % 12, 1),
                                   started_on_precision="month")
        case.violations.set([vocab("censorship")])
    with django_assert_max_num_queries(len(few.captured_queries)):
        coordinator_client.get(URL, {"by": "month"})


@pytest.mark.parametrize("actor", ["researcher_client", "verifier_client"])
def test_only_coordinators_and_administrators_see_reports(request, actor, administrator_client):
    client = request.getfixturevalue(actor)
    assert client.get(URL).status_code == 403
    assert client.get(URL, {"download": "cases"}).status_code == 403
    assert administrator_client.get(URL).status_code == 200
    assert not AuditEvent.objects.filter(action="export").exists()


def test_visitors_are_sent_to_sign_in(visitor):
    response = visitor.get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_monthly_columns_are_a_time_series_and_a_year_only_case_is_its_own_column(
        coordinator_client, researcher):
    for started, precision in ((datetime.date(2015, 11, 1), "month"),
                               (datetime.date(2016, 2, 14), "day"),
                               (datetime.date(2016, 1, 1), "year")):
        factories.make_case(researcher, country="AZ", started_on=started,
                            started_on_precision=precision)
    report = coordinator_client.get(URL, {"by": "month"}).context["report"]
    assert report["periods"] == ["2015-11", "2015-12", "2016-01", "2016-02",
                                 "2016 (month unknown)"]
    assert report["matrix"][0]["counts"] == [1, 0, 0, 1, 1]
    assert coordinator_client.get(URL).context["report"]["periods"] == ["2015", "2016"]
    # A mistyped year does not fill centuries of empty columns, by year or by month.
    factories.make_case(researcher, started_on=datetime.date(1016, 1, 1),
                        started_on_precision="year")
    assert coordinator_client.get(URL).context["report"]["periods"] == ["1016", "2015", "2016"]


def test_the_period_is_the_public_sites_overlap_of_partial_dates(coordinator_client, researcher):
    span = factories.make_case(researcher, started_on=datetime.date(2015, 12, 1),
                               started_on_precision="month", ended_on=datetime.date(2016, 3, 1),
                               ended_on_precision="month")
    year = factories.make_case(researcher, started_on=datetime.date(2016, 1, 1),
                               started_on_precision="year")
    may = factories.make_case(researcher, started_on=datetime.date(2016, 5, 1),
                              started_on_precision="month")
    factories.make_case(researcher, started_on=datetime.date(2017, 1, 1),
                        started_on_precision="year")

    def chosen(params):
        rows = table(coordinator_client.get(URL, {**params, "download": "cases"}))
        return {row["reference"] for row in rows}

    assert chosen({"from": "2016-03", "to": "2016"}) == {span.reference, year.reference,
                                                        may.reference}
    assert chosen({"from": "2016-05-15", "to": "2016-05-31"}) == {year.reference, may.reference}
    assert chosen({"to": "2015"}) == {span.reference}


@pytest.mark.parametrize("params", [
    {"from": "May 2016"}, {"status": "bogus"}, {"by": "week"}, {"rights": "999"},
    {"to": "2015", "from": "2016"}, {"started_from": "2016-01-01"},
    {"from": ["2016", "bogus"]}])
def test_invalid_filters_are_named_and_nothing_is_counted_or_downloaded(
        coordinator_client, cases, params):
    page = coordinator_client.get(URL, params)
    assert page.status_code == 400
    assert "Nothing is counted until the filters above are corrected" in page.text
    if "started_from" in params:
        assert "<strong>started_from</strong>: Not a report parameter" in page.text
    if isinstance(params.get("from"), list):  # neither value silently chosen, said once
        assert page.text.count("this parameter cannot be repeated") == 1
    assert "No cases match" not in page.text
    for download in ("matrix", "cases"):
        response = coordinator_client.get(URL, {**params, "download": download})
        assert response.status_code == 400
        assert response["Content-Type"].startswith("text/plain")
        assert next(iter(params)) in response.text  # names the parameter
    assert coordinator_client.get(URL, {"download": "everything"}).status_code == 400
    assert coordinator_client.get(URL, {"download": ["matrix", "rights"]}).status_code == 400
    assert not AuditEvent.objects.filter(action="export").exists()


def test_the_matrix_download_is_in_the_pages_order(coordinator_client, researcher):
    for country in ("CH", "DE"):  # Switzerland after Germany by name, before it by code
        factories.make_case(researcher, country=country, started_on=datetime.date(2016, 1, 1),
                            started_on_precision="year")
    page = coordinator_client.get(URL)
    assert [row["country"] for row in page.context["report"]["matrix"]] == [
        "Germany", "Switzerland"]
    assert [row["country"] for row in table(coordinator_client.get(URL, {"download": "matrix"}))
            ] == ["Germany", "Switzerland"]
    assert "<caption>" in page.text
    assert '<th scope="row">(none)</th>' in page.text  # the violation names its row too
    assert "2 cases chosen." in page.text
