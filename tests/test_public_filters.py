"""Filters at /cases/: combinable, shareable in the URL, each option with its count;
partial dates overlap ranges; invalid values give a clear 400, never a 500."""

import datetime
import re

import pytest
from django.core.management import call_command

from casework.models import Case, Right, ViolationType
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("load_demo", stdout=open("/dev/null", "w"))


def refs(response) -> set[str]:
    assert response.status_code == 200, response.content[:500]
    return {case.reference for case in response.context["page"].object_list}


def facet(response, name) -> dict[str, int]:
    options = next(f for f in response.context["facets"] if f["name"] == name)["options"]
    return {option["value"]: option["count"] for option in options}


@pytest.mark.smoke
def test_narrow_by_freedom_and_violation_with_counts(client, demo):
    response = client.get("/cases/", {"right": "expression"})
    assert refs(response) == {"AZ-2016-001", "AZ-2016-002", "AZ-2016-003", "AZ-2016-004"}
    violations = facet(response, "violation")
    assert violations["cyber-attack"] == 1 and violations["imprisonment"] == 1
    assert "funding-restriction" not in violations  # no expression case has it
    # Right options count over the other filters: choosing association would add 2 cases.
    assert facet(response, "right") == {"expression": 4, "association": 2,
                                        "peaceful-assembly": 0}
    narrowed = client.get("/cases/", {"right": "expression", "violation": "cyber-attack"})
    assert refs(narrowed) == {"AZ-2016-003"}
    assert 'value="cyber-attack" checked' in narrowed.text
    assert "Cyber-attack <span class=\"count\">(1)</span>" in narrowed.text


def test_repeated_parameters_are_alternatives(client, demo):
    response = client.get("/cases/?violation=disbarment&violation=cyber-attack")
    assert refs(response) == {"AZ-2016-001", "AZ-2016-003"}


def test_country_role_and_status_filters(client, researcher, verifier):
    journalist = factories.make_person(researcher, name="J", defender_type="journalist",
                                       identity_public=True)
    factories.publish(journalist, researcher, verifier)
    armenia = factories.make_case(researcher, country="AM", situation="concluded")
    azerbaijan = factories.make_case(researcher, country="AZ")
    factories.involve(azerbaijan, journalist)
    for case in (armenia, azerbaijan):
        factories.publish(case, researcher, verifier)
    response = client.get("/cases/", {"country": "AM"})
    assert refs(response) == {armenia.reference}
    assert facet(response, "country") == {"AM": 1, "AZ": 1}
    assert refs(client.get("/cases/", {"role": "journalist"})) == {azerbaijan.reference}
    assert facet(client.get("/cases/"), "role") == {"journalist": 1}
    assert refs(client.get("/cases/", {"status": "concluded"})) == {armenia.reference}
    assert facet(client.get("/cases/"), "status") == {"ongoing": 1, "concluded": 1}


def test_kosovo_is_a_country_of_its_own(client, researcher, verifier):
    kosovo = factories.publish(factories.make_case(researcher, country="XK"), researcher, verifier)
    response = client.get("/cases/", {"country": "XK"})
    assert refs(response) == {kosovo.reference}
    assert "Kosovo" in response.text
    assert "Kosovo" in client.get(kosovo.get_absolute_url()).text


def test_role_ignores_unpublished_people(client, researcher, verifier):
    hidden = factories.make_person(researcher, name="H", defender_type="blogger")
    case = factories.make_case(researcher)
    factories.involve(case, hidden)
    factories.publish(case, researcher, verifier)
    assert refs(client.get("/cases/", {"role": "blogger"})) == set()
    assert "blogger" not in facet(client.get("/cases/"), "role")


def test_filters_and_facets_follow_changes_to_people_and_vocabulary(
        client, researcher, verifier):
    """The facet keys are kept by the same receivers as the search document."""
    person = factories.make_person(researcher, name="P", defender_type="blogger")
    case = factories.make_case(researcher)
    case.rights.set([Right.objects.get(slug="expression")])
    factories.involve(case, person)
    factories.publish(case, researcher, verifier)
    factories.publish(person, researcher, verifier)  # published after the case
    assert refs(client.get("/cases/", {"role": "blogger"})) == {case.reference}

    person.retract(verifier, "Consent withdrawn")
    person.refresh_from_db()
    assert person.status != "published"
    assert refs(client.get("/cases/", {"role": "blogger"})) == set()
    assert "blogger" not in facet(client.get("/cases/"), "role")

    right = Right.objects.get(slug="expression")
    right.slug = "speech"
    right.save()
    assert refs(client.get("/cases/", {"right": "speech"})) == {case.reference}
    assert facet(client.get("/cases/"), "right").get("speech") == 1


@pytest.mark.parametrize("params, expected", [
    ({"from": "2016", "to": "2016"}, {"year", "may", "day", "span"}),
    ({"from": "2016-05-20", "to": "2016-05-20"}, {"year", "may", "span"}),
    ({"from": "2016-06"}, {"year", "day", "span", "later"}),
    ({"to": "2016-04"}, {"year", "span"}),
    ({"from": "2017"}, {"span", "later"}),
    ({"from": "2016-10-25", "to": "2016-10-25"}, {"year", "day", "span"}),
])
def test_date_range_overlaps_partial_dates(client, researcher, verifier, params, expected):
    cases = {
        "year": dict(started_on=datetime.date(2016, 1, 1), started_on_precision="year"),
        "may": dict(started_on=datetime.date(2016, 5, 1), started_on_precision="month"),
        "day": dict(started_on=datetime.date(2016, 10, 25), started_on_precision="day"),
        "span": dict(started_on=datetime.date(2015, 3, 1), started_on_precision="month",
                     ended_on=datetime.date(2017, 1, 1), ended_on_precision="year"),
        "later": dict(started_on=datetime.date(2018, 2, 1), started_on_precision="month"),
    }
    made = {}
    for name, dates in cases.items():
        made[name] = factories.make_case(researcher, title=name, **dates)
        factories.publish(made[name], researcher, verifier)
    response = client.get("/cases/", params)
    assert refs(response) == {made[name].reference for name in expected}


@pytest.mark.smoke
@pytest.mark.parametrize("params, message", [
    ({"country": "XX"}, "XX"),
    ({"right": "nonsense"}, "nonsense"),
    ({"from": "May 2016"}, "is not a date"),
    ({"to": "2016-13"}, "is not a date"),
    ({"status": "sleeping"}, "sleeping"),
    ({"sort": "random"}, "random"),
    ({"q": "x" * 500}, "at most 200"),
    ({"from": "2017", "to": "2016"}, "“to” is before “from”"),
    ({"status": ["ongoing", "concluded"]}, "cannot be repeated"),
])
def test_invalid_values_give_a_clear_message(client, db, params, message):
    response = client.get("/cases/", params)
    assert response.status_code == 400
    assert message in response.text
    assert "not valid" in response.text
    csv = client.get("/cases.csv", params)
    assert csv.status_code == 400 and message in csv.text


def test_an_invalid_parameter_can_be_dropped_keeping_the_rest(client, db):
    response = client.get("/cases/", {"q": "graffiti", "country": "XX", "page": "2"})
    assert response.status_code == 400
    assert '<a href="?q=graffiti">Search without “Country”</a>' in response.text
    assert "<title>Error: Cases" in response.text  # said on page load


def test_the_number_of_results_is_in_the_page_title(client, published_case):
    # Without JavaScript every search is a page load: the title is what is announced.
    assert "<title>1 · Cases" in client.get("/cases/").text


def test_empty_parameters_mean_no_filter(client, published_case):
    response = client.get("/cases/?q=&country=&right=&violation=&role=&from=&status=&sort=")
    assert response.status_code == 200 and response.context["total"] == 1
    assert client.get("/cases.csv?country=&q=").status_code == 200


def test_a_page_number_that_is_not_one_is_named_and_one_past_the_last_is_not_found(
        client, published_case):
    for value in ("abc", "0", "-1", "1.5", ["1", "2"], "9" * 5000, "１"):
        response = client.get("/cases/", {"page": value, "q": "graffiti"})
        assert response.status_code == 400, value
        assert "<title>Error: Cases" in response.text
        assert '<a href="?q=graffiti">Search without “Page”</a>' in response.text
    assert "“abc” is not a page number" in client.get("/cases/?page=abc").text
    response = client.get("/cases/", {"page": "2"})
    assert response.status_code == 404
    assert "There is 1 page of results." in response.text
    assert client.get("/cases/", {"page": " 1 "}).status_code == 200
    assert client.get("/cases/", {"page": ""}).status_code == 200


def test_sorting_and_pagination(client, researcher, verifier):
    for year in range(2001, 2024):
        case = factories.make_case(researcher, started_on=datetime.date(year, 1, 1),
                                   started_on_precision="year", title=f"Case of {year}")
        factories.publish(case, researcher, verifier)
    first = client.get("/cases/")
    assert first.context["total"] == 23
    assert [c.title for c in first.context["page"].object_list][:2] == ["Case of 2023",
                                                                       "Case of 2022"]
    assert 'rel="next" href="?page=2"' in first.text
    second = client.get("/cases/", {"page": 2, "sort": "oldest"})
    assert [c.title for c in second.context["page"].object_list] == ["Case of 2021",
                                                                     "Case of 2022",
                                                                     "Case of 2023"]


def test_counts_beyond_the_results_limit_are_shown_as_more_than(
        client, researcher, verifier, monkeypatch):
    """Exact up to the limit (10,000 in production); the list pages through that many, the
    facet counts and the downloads stay exact."""
    monkeypatch.setattr("casework.views.RESULTS_LIMIT", 3)
    monkeypatch.setattr("casework.views.PER_PAGE", 2)
    for year in range(2001, 2006):
        factories.publish(factories.make_case(researcher, started_on=datetime.date(year, 1, 1),
                                              title=f"Case of {year}"), researcher, verifier)
    response = client.get("/cases/")
    assert "More than 3 cases" in response.text
    assert "The list shows the first 3 cases." in response.text
    assert response.context["page"].paginator.num_pages == 2
    # The list pages through the newest 3; ranked by relevance among the first 3 found.
    assert [c.title for c in client.get("/cases/", {"page": 2}).context["page"].object_list] == [
        "Case of 2003"]
    ranked = client.get("/cases/", {"q": "case", "page": 2})
    assert "More than 3 cases" in ranked.text and len(ranked.context["page"].object_list) == 1
    assert sum(facet(response, "status").values()) == 5
    download = b"".join(client.get("/cases.csv").streaming_content).decode()
    assert len(download.strip().splitlines()) == 1 + 5

    monkeypatch.setattr("casework.views.RESULTS_LIMIT", 5)
    response = client.get("/cases/")
    assert response.context["total"] == 5
    assert "5 cases" in response.text and "More than" not in response.text


def test_empty_state_suggests_what_to_loosen(client, demo):
    response = client.get("/cases/", {"q": "graffiti", "right": "association"})
    assert response.context["total"] == 0
    assert "Try loosening it" in response.text
    assert "?q=graffiti" in response.text  # the link that drops the right filter
    assert "Remove Right: Freedom of association" in response.text  # in words
    assert "Remove Search: graffiti" in response.text
    assert "<title>0 · Cases matching" in response.text  # said on page load
    # An option that would give nothing cannot be chosen (unless it already is).
    assert 'value="association" checked' in response.text
    response = client.get("/cases/", {"q": "graffiti"})
    assert re.search(r'value="association" disabled>\s*<label for="right-association">'
                     r'Freedom of association <span class="count">\(0\)', response.text)
    assert 'value="expression" disabled' not in response.text
    # Relevance is a sort for a query only.
    assert '<option value="relevance"' in response.text
    assert '<option value="relevance"' not in client.get("/cases/").text
    # The header's search box keeps the query.
    assert 'id="header-q" type="search" name="q" value="graffiti"' in response.text


def test_filter_vocabulary_choices_follow_the_database(client, published_case):
    ViolationType.objects.create(slug="new-kind", label="New kind")
    assert client.get("/cases/", {"violation": "new-kind"}).status_code == 200
    assert Right.objects.filter(slug="expression").exists()
    assert Case.objects.count() == 1


@pytest.mark.parametrize("size", [3, 25])
def test_search_page_runs_a_constant_number_of_queries(
        client, researcher, verifier, django_assert_max_num_queries, size):
    person = factories.make_person(researcher, name="P", identity_public=True,
                                   defender_type="journalist")
    organisation = factories.make_organisation(researcher)
    factories.publish(person, researcher, verifier)
    factories.publish(organisation, researcher, verifier)
    expression = Right.objects.get(slug="expression")
    detention = ViolationType.objects.get(slug="arbitrary-detention")
    for n in range(size):
        case = factories.make_case(researcher, title=f"Detained activist {n}",
                                   started_on=datetime.date(2016, 5, 1), started_on_precision="month")
        case.rights.add(expression)
        case.violations.add(detention)
        factories.involve(case, person)
        factories.involve(case, organisation, role="perpetrator")
        factories.publish(case, researcher, verifier)
    with django_assert_max_num_queries(18):
        response = client.get("/cases/", {"q": "activist", "right": "expression",
                                          "role": "journalist", "from": "2000"})
    assert response.status_code == 200
    assert response.context["total"] == size  # the filters match: the page is full
    assert len(response.context["page"].object_list) == min(size, 20)
    with django_assert_max_num_queries(18):
        response = client.get("/cases/")
    assert response.context["total"] == size
