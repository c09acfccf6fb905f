"""Case, person, organisation and statement pages, home and about: public fields only,
cross-linked, the same 404 for unpublished and nonexistent records, constant queries."""

import datetime
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

from casework.models import Case, Right, Statement
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("load_demo", stdout=open("/dev/null", "w"))


@pytest.mark.smoke
def test_visitor_walks_from_search_to_case_person_and_statement(client, demo):
    search = client.get("/cases/", {"q": "disbarment"})
    assert 'href="/cases/AZ-2016-001/"' in search.text
    case = client.get("/cases/AZ-2016-001/")
    assert case.status_code == 200
    assert "Disbarment" in case.text and "Judicial harassment" in case.text
    assert "Freedom of association" in case.text
    assert "Azerbaijan Bar Association" in case.text  # perpetrator organisation
    assert "Judicial harassment and retaliatory measures" in case.text  # linked statement quote
    assert "Systematic reprisals against dissidents" in case.text  # the published source
    bagirov = next(i.person for i in case.context["case"].public_involvements if i.person)
    person = client.get(bagirov.get_absolute_url())
    assert "Khalid Bagirov" in person.text and "Xalid Bağırov" in person.text
    assert 'href="/cases/AZ-2016-001/"' in person.text
    statement = client.get("/statements/ST-2016-001/")
    assert "Nils Muižnieks" in statement.text and "Commissioner for Human Rights" in statement.text
    assert 'href="/cases/AZ-2016-001/"' in statement.text
    speaker = statement.context["statement"].speaker
    assert statement.context["statement"].reference in client.get(speaker.get_absolute_url()).text
    organisation = client.get(statement.context["statement"].organisation.get_absolute_url())
    assert "Council of Europe" in organisation.text
    assert 'href="/statements/ST-2016-001/"' in organisation.text
    assert "Stop Crackdown on Freedom of Expression" in client.get("/statements/").text


def test_dates_are_shown_as_written(client, demo):
    page = client.get("/cases/AZ-2016-002/").text
    assert "May 2016" in page and "25 October 2016" in page


def test_withheld_identity_shows_pseudonym_only(client, researcher, verifier):
    person = factories.make_person(researcher, name="Real Hiddenname", pseudonym="Defender K",
                                   other_names="Hidden Alias", identity_public=False,
                                   contact_details="+994 55 000", internal_notes="met in Tbilisi")
    factories.publish(person, researcher, verifier)
    case = factories.make_case(researcher, title="Threats against a defender")
    factories.involve(case, person)
    factories.publish(case, researcher, verifier)
    for url in (case.get_absolute_url(), person.get_absolute_url(), "/cases/", "/cases.csv",
                "/cases.json"):
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode()
        assert "Hiddenname" not in text and "Hidden Alias" not in text, url
        assert "+994" not in text and "Tbilisi" not in text, url
        assert "Defender K" in text, url
    page = client.get(person.get_absolute_url()).text
    assert "the name shown is a pseudonym" in page
    unnamed = factories.publish(factories.make_person(researcher, name="Real Other"),
                                researcher, verifier)
    page = client.get(unnamed.get_absolute_url()).text
    assert "Name withheld" in page and "their name is not shown" in page
    assert "pseudonym" not in page and "Real Other" not in page


def test_unpublished_people_organisations_sources_statements_stay_off_the_case_page(
        client, researcher, verifier):
    case = factories.make_case(researcher, title="Public case")
    factories.involve(case, factories.make_person(researcher, name="Draft Person",
                                                  identity_public=True))
    factories.involve(case, factories.make_organisation(researcher, name="Draft Org"),
                      role="perpetrator")
    case.sources.add(factories.make_source(researcher, url="https://example.org/draft-source"))
    statement = factories.make_statement(researcher, quote="Draft quote")
    statement.cases.add(case)
    factories.publish(case, researcher, verifier)
    page = client.get(case.get_absolute_url()).text
    for hidden in ("Draft Person", "Draft Org", "draft-source", "Draft quote"):
        assert hidden not in page


def test_unpublished_case_is_the_same_404_as_a_missing_one(client, researcher, verifier):
    draft = factories.make_case(researcher, reference="AZ-2099-001", title="Secret draft")
    restricted = factories.make_case(researcher, reference="AZ-2099-002", restricted=True)
    factories.publish(restricted, researcher, verifier)
    retracted = factories.publish(factories.make_case(researcher, reference="AZ-2099-003"),
                                  researcher, verifier)
    retracted.retract(verifier, "Could not be confirmed")
    missing = client.get("/cases/AZ-2099-999/")
    assert missing.status_code == 404
    for case in (draft, restricted, retracted):
        response = client.get(f"/cases/{case.reference}/")
        assert response.status_code == 404
        assert response.content == missing.content
    assert client.get(f"/people/{factories.make_person(researcher).pk}/").status_code == 404
    assert client.get("/people/999999/").content == client.get(
        f"/people/{factories.make_person(researcher).pk}/").content


def test_unpublished_statement_is_404(client, researcher):
    statement = factories.make_statement(researcher)
    assert client.get(f"/statements/{statement.reference}/").status_code == 404
    assert Statement.objects.count() == 1


def test_home_counts_and_charts_count_only_published(client, researcher, verifier):
    for n in range(3):
        case = factories.make_case(researcher, country="AZ",
                                   started_on=datetime.date(2016, 5 + n, 1),
                                   started_on_precision="month")
        case.rights.add(Right.objects.get(slug="expression"))
        factories.publish(case, researcher, verifier)
    factories.make_case(researcher, country="AM", started_on=datetime.date(2016, 5, 1))
    response = client.get("/")
    assert response.context["totals"]["cases"] == 3
    assert response.context["per_month"].total == 3
    assert {b.label: b.value for b in response.context["by_country"].bars} == {"Azerbaijan": 3}
    assert {b.label: b.value for b in response.context["by_right"].bars}[
        "Freedom of expression"] == 3
    assert "<svg" in response.text and "<table>" in response.text  # chart and its table
    assert "May 2016" in response.text


def test_about_page_explains_verification_categories_and_reuse(client, db):
    page = client.get("/about/").text
    assert "How records are verified" in page
    assert "Freedom of peaceful assembly" in page and "Judicial harassment" in page
    assert "/cases.csv" in page and "How to cite" in page


@pytest.mark.parametrize("size", [2, 12])
def test_pages_run_a_constant_number_of_queries(
        client, researcher, verifier, django_assert_max_num_queries, size):
    people = [factories.publish(factories.make_person(researcher, name=f"P{n}",
                                                      identity_public=True),
                                researcher, verifier) for n in range(size)]
    organisation = factories.publish(factories.make_organisation(researcher), researcher,
                                     verifier)
    cases = []
    for n in range(size):
        case = factories.make_case(researcher, started_on=datetime.date(2016, 1 + n % 12, 1))
        for person in people:
            factories.involve(case, person)
        factories.involve(case, organisation, role="perpetrator")
        case.sources.add(factories.publish(factories.make_source(researcher), researcher,
                                           verifier))
        cases.append(factories.publish(case, researcher, verifier))
    for n in range(size):
        statement = factories.make_statement(researcher, speaker=people[n],
                                             organisation=organisation)
        statement.cases.add(*cases)
        statement.signatories.add(organisation)
        factories.publish(statement, researcher, verifier)
    statement = Statement.objects.first()
    for url in ("/", cases[0].get_absolute_url(), people[0].get_absolute_url(),
                organisation.get_absolute_url(), "/statements/", statement.get_absolute_url(),
                "/about/", "/feed/", "/sitemap-cases.xml"):
        with django_assert_max_num_queries(12):
            assert client.get(url).status_code == 200, url
    assert Case.objects.published().count() == size


def test_a_persons_and_an_organisations_cases_come_a_page_at_a_time(
        client, researcher, verifier, django_assert_max_num_queries):
    from casework.views import CASES_PER_PAGE

    person = factories.publish(factories.make_person(researcher, name="Busy Lawyer",
                                                     identity_public=True), researcher, verifier)
    court = factories.publish(factories.make_organisation(researcher, name="Busy Court"),
                              researcher, verifier)
    for n in range(CASES_PER_PAGE + 3):
        case = factories.make_case(researcher, title=f"Case number {n}")
        factories.involve(case, person, role="lawyer")
        factories.involve(case, court, role="perpetrator")
        factories.publish(case, researcher, verifier)
    for url in (person.get_absolute_url(), court.get_absolute_url()):
        with django_assert_max_num_queries(12):
            first = client.get(url)
        assert first.text.count("Case number") == CASES_PER_PAGE
        assert f"({CASES_PER_PAGE + 3})" in first.text and 'rel="next"' in first.text
        assert client.get(url, {"page": 2}).text.count("Case number") == 3


def test_a_person_in_two_roles_in_one_case_lists_the_case_once_with_both(
        client, researcher, verifier):
    person = factories.publish(factories.make_person(researcher, name="Lawyer And Target",
                                                     identity_public=True), researcher, verifier)
    both = factories.make_case(researcher, title="Both roles here")
    factories.involve(both, person, role="lawyer")
    factories.involve(both, person, role="targeted")
    factories.publish(both, researcher, verifier)
    one = factories.make_case(researcher, title="One role here")
    factories.involve(one, person, role="witness")
    factories.publish(one, researcher, verifier)
    hidden = factories.make_case(researcher, title="Draft role here")
    factories.involve(hidden, person, role="targeted")
    page = client.get(person.get_absolute_url())
    items = [item for item in page.context["cases"]]
    assert [case.title for case in items] == ["Both roles here", "One role here"]
    assert page.text.count("Both roles here") == 1 and "Draft role here" not in page.text
    assert ("· targeted defender, lawyer representing a defender</span>" in page.text
            and "· witness</span>" in page.text)


def test_a_persons_and_an_organisations_latest_statements_link_to_all_of_them(
        client, researcher, verifier, django_assert_max_num_queries):
    from casework.views import STATEMENTS_ON_RECORD_PAGE

    speaker = factories.publish(factories.make_person(researcher, name="Frequent Speaker",
                                                      identity_public=True), researcher, verifier)
    body = factories.publish(factories.make_organisation(researcher, name="Busy Body"),
                             researcher, verifier)
    other = factories.publish(factories.make_organisation(researcher, name="Other Body"),
                              researcher, verifier)
    for n in range(STATEMENTS_ON_RECORD_PAGE + 2):
        statement = factories.make_statement(researcher, speaker=speaker, organisation=body,
                                             quote=f"Said number {n}",
                                             said_on=datetime.date(2016, 1, 1 + n))
        factories.publish(statement, researcher, verifier)
    signed = factories.make_statement(researcher, organisation=other, quote="Jointly signed",
                                      said_on=datetime.date(2017, 1, 1))
    signed.signatories.add(body)
    factories.publish(signed, researcher, verifier)
    factories.make_statement(researcher, speaker=speaker, organisation=body, quote="Draft said")
    undated = factories.make_statement(researcher, speaker=speaker, quote="Undated remark")
    factories.publish(undated, researcher, verifier)  # the last, on every database

    person_page = client.get(speaker.get_absolute_url()).text
    assert person_page.count("Said number") == STATEMENTS_ON_RECORD_PAGE
    assert f"Said number {STATEMENTS_ON_RECORD_PAGE + 1}" in person_page  # the latest first
    assert "Said number 0<" not in person_page and "Draft said" not in person_page
    assert "Undated remark" not in person_page
    assert f"All {STATEMENTS_ON_RECORD_PAGE + 3} statements" in person_page
    organisation_page = client.get(body.get_absolute_url()).text
    assert f"All {STATEMENTS_ON_RECORD_PAGE + 3} statements" in organisation_page
    assert "signatory" in organisation_page and "Jointly signed" in organisation_page

    with django_assert_max_num_queries(12):
        by_speaker = client.get("/statements/", {"person": speaker.pk})
    assert by_speaker.text.count("Said number") == STATEMENTS_ON_RECORD_PAGE + 2
    assert by_speaker.text.index("Said number 0<") < by_speaker.text.index("Undated remark")
    assert "Jointly signed" not in by_speaker.text and "Draft said" not in by_speaker.text
    assert "Statements by Frequent Speaker" in by_speaker.text
    by_body = client.get("/statements/", {"organisation": body.pk}).text
    assert by_body.count("Said number") == STATEMENTS_ON_RECORD_PAGE + 2
    assert by_body.count("Jointly signed") == 1
    by_other = client.get("/statements/", {"organisation": other.pk}).text
    assert "Jointly signed" in by_other and "Said number" not in by_other


def test_statements_of_an_unknown_or_unpublished_party_are_404(client, researcher):
    draft = factories.make_person(researcher, name="Unpublished Speaker")
    for query in ({"person": draft.pk}, {"person": 999999}, {"person": "x"},
                  {"organisation": "1e3"}, {"organisation": "٣"}):
        assert client.get("/statements/", query).status_code == 404, query
    assert client.get("/statements/", {"person": ""}).status_code == 200


def test_quotes_are_marked_with_their_language(client, researcher, verifier):
    statement = factories.make_statement(researcher, quote="Свободу политзаключённым",
                                         language="ru")
    factories.publish(statement, researcher, verifier)
    page = client.get(statement.get_absolute_url()).text
    assert '<blockquote lang="ru">' in page and "Russian (ru)" in page
    assert '<blockquote lang="ru">' in client.get("/statements/").text
    # Listed on the speaking organisation's page too (a quote without a title).
    factories.publish(statement.organisation, researcher, verifier)
    page = client.get(statement.organisation.get_absolute_url()).text
    assert '<span lang="ru">Свободу политзаключённым</span>' in page


def test_a_later_page_says_which_page_it_is_in_its_title(client, researcher, verifier):
    from casework.views import PER_PAGE

    for n in range(PER_PAGE + 1):
        factories.publish(factories.make_case(researcher, title=f"Case {n}"), researcher,
                          verifier)
    assert f"<title>{PER_PAGE + 1} · Cases · page 2" in client.get("/cases/", {"page": 2}).text


def test_a_sources_date_and_a_statements_cases_read_as_written(client, researcher, verifier):
    source = factories.publish(factories.make_source(
        researcher, citation="Civic space update", published_on=datetime.date(2016, 12, 1),
        published_on_precision="month"), researcher, verifier)
    case = factories.make_case(researcher)
    case.sources.add(source)
    factories.publish(case, researcher, verifier)
    assert "Civic space update</a> (December 2016)" in client.get(case.get_absolute_url()).text
    statement = factories.make_statement(researcher, quote="Release them")
    statement.cases.add(case)
    factories.publish(statement, researcher, verifier)
    article = client.get("/statements/").text.split('<article class="statement">')[1]
    assert f">{case.reference}</a>" in article.split("</article>")[0]  # inside its block


def test_a_reference_in_small_letters_leads_to_its_page(client, researcher, verifier):
    case = factories.publish(factories.make_case(researcher), researcher, verifier)
    response = client.get(f"/cases/{case.reference.lower()}/")
    assert (response.status_code, response["Location"]) == (301, case.get_absolute_url())
    # The same for a reference that is not public: the 404 comes after, as for any.
    assert client.get("/cases/zz-1999-001/", follow=True).status_code == 404
    assert client.get("/statements/st-1999-001/")["Location"] == "/statements/ST-1999-001/"


def test_statements_are_listed_for_one_speaker_or_organisation_at_a_time(client):
    for query in ("person=3&person=6", "organisation=9&person=3"):
        response = client.get(f"/statements/?{query}")
        assert response.status_code == 400, query
        assert "Give one person or one organisation." in response.text
    assert client.get("/statements/?person=&organisation=").status_code == 200  # no filter
    # An id of thousands of digits (Python's int() refuses them) is not found either.
    assert client.get(f"/statements/?person={'9' * 5000}").status_code == 404


def test_an_untitled_statement_has_one_name_in_lists_and_on_its_page(
        client, researcher, verifier):
    speaker = factories.publish(factories.make_person(researcher, name="Dunja Mijatović",
                                                      identity_public=True), researcher, verifier)
    statement = factories.make_statement(researcher, speaker=speaker, quote="Release them",
                                         said_on=datetime.date(2017, 3, 1))
    factories.publish(statement, researcher, verifier)
    name = "Dunja Mijatović, 1 March 2017"
    assert f"<h1>{name}</h1>" in client.get(statement.get_absolute_url()).text
    assert f">{name}</a>" in client.get("/statements/").text


def test_public_and_staff_pages_name_an_icon_that_exists(client, db):
    """Browsers ask every site for an icon: without one, each visit logs a 404."""
    for path in ("/", "/about/", "/admin/login/"):
        html = client.get(path, follow=True).content.decode()
        icon = re.search(r'<link rel="icon" href="/static/([^"]+)"', html)
        assert icon, path
        assert finders.find(icon.group(1)), icon.group(1)
