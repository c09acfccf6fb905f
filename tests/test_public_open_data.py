"""Open data: /cases.csv and /cases.json return any search's results in the case CSV
format, streamed; the Atom feed and the sitemaps list published records only."""

import csv
import io
import json
import xml.etree.ElementTree as ET  # noqa: S405  (parsing our own responses)

import pytest
from django.core.management import call_command

from casework.exchange import CASE_COLUMNS
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("load_demo", stdout=open("/dev/null", "w"))


def body(response) -> str:
    assert response.status_code == 200
    assert response.streaming
    return b"".join(response.streaming_content).decode()


@pytest.mark.smoke
def test_csv_download_of_a_search(client, demo):
    response = client.get("/cases.csv", {"right": "expression", "violation": "cyber-attack"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert [row["reference"] for row in rows] == ["AZ-2016-003"]
    assert list(rows[0]) == CASE_COLUMNS
    assert rows[0]["defenders"] == "Khadija Ismayilova"
    everything = list(csv.DictReader(io.StringIO(body(client.get("/cases.csv")))))
    assert len(everything) == 6


def test_json_download_has_the_same_rows(client, demo):
    params = {"q": "Baku"}
    rows = json.loads(body(client.get("/cases.json", params)))
    csv_rows = list(csv.DictReader(io.StringIO(body(client.get("/cases.csv", params)))))
    assert rows == csv_rows
    assert {row["reference"] for row in rows} == {"AZ-2016-001", "AZ-2016-002"}


def test_downloads_hold_published_records_and_public_names_only(client, researcher, verifier):
    public = factories.publish(factories.make_case(researcher, title="Visible"), researcher,
                               verifier)
    factories.make_case(researcher, title="Invisible draft")
    withheld = factories.publish(factories.make_person(researcher, name="True Name",
                                                       pseudonym="Defender Z"),
                                 researcher, verifier)
    case = factories.make_case(researcher, title="With a withheld defender")
    factories.involve(case, withheld)
    factories.publish(case, researcher, verifier)
    text = body(client.get("/cases.csv"))
    assert "Visible" in text and "Invisible draft" not in text
    assert "Defender Z" in text and "True Name" not in text
    assert public.reference in body(client.get("/cases.json"))


def test_download_links_carry_the_search(client, demo):
    page = client.get("/cases/", {"q": "Baku", "right": "expression", "page": 1})
    assert 'href="/cases.csv?q=Baku&amp;right=expression"' in page.text


def test_atom_feed_lists_newly_published_cases(client, researcher, verifier):
    case = factories.publish(factories.make_case(researcher, title="Fresh case"), researcher,
                             verifier)
    factories.make_case(researcher, title="Draft case")
    response = client.get("/feed/")
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)  # noqa: S314
    ns = {"atom": "http://www.w3.org/2005/Atom"}
    titles = [e.text for e in feed.findall("atom:entry/atom:title", ns)]
    assert titles == [f"{case.reference}: Fresh case"]
    assert feed.find("atom:entry/atom:link", ns).get("href").endswith(
        f"/cases/{case.reference}/")
    # Atom ids are absolute IRIs (RFC 4287, 4.2.6): the case's permalink.
    assert feed.find("atom:entry/atom:id", ns).text == f"http://testserver/cases/{case.reference}/"
    # RFC 4287, 4.1.1: a feed names an author (or each of its entries does).
    assert feed.find("atom:author/atom:name", ns).text == "Casework"


def test_sitemap_lists_published_permalinks(client, researcher, verifier):
    case = factories.publish(factories.make_case(researcher), researcher, verifier)
    draft = factories.make_case(researcher)
    index = client.get("/sitemap.xml")
    assert index.status_code == 200 and "sitemap-cases.xml" in index.text
    cases = client.get("/sitemap-cases.xml").text
    assert f"/cases/{case.reference}/" in cases and draft.reference not in cases
    assert client.get("/sitemap-pages.xml").status_code == 200


def test_the_public_download_makes_formula_cells_inert(client, researcher, verifier):
    """A cell that a spreadsheet would run as a formula is written as text in /cases.csv
    too, as in every internal export."""
    case = factories.make_case(researcher, title='=HYPERLINK("http://evil.example","x")',
                               location="+Baku", summary="@SUM(1)")
    person = factories.make_person(researcher, name="-Dash Name", identity_public=True)
    factories.publish(person, researcher, verifier)
    factories.involve(case, person)
    factories.publish(case, researcher, verifier)
    [row] = list(csv.DictReader(io.StringIO(body(client.get("/cases.csv")))))
    assert (row["title"], row["location"], row["summary"], row["defenders"]) == (
        '\'=HYPERLINK("http://evil.example","x")', "'+Baku", "'@SUM(1)", "'-Dash Name")
