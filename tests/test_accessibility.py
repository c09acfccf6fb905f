"""Accessibility and robustness of the public site in a real browser.

Headless Chromium (Debian's package) driven by Playwright runs axe-core (from npm,
installed by bin/test into node_modules/) over one page of each type and expects zero
WCAG 2.1 A/AA violations; it also checks that every request stays on our own host and
that search and filters work with JavaScript turned off.
"""

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.core.management import call_command

from casework.models import Organisation, Person
from tests import factories

# live_server needs committed data; serialized_rollback restores the migrations' rows
# (roles, vocabulary) for the tests that run after this one.
pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture
def demo_site(live_server):
    call_command("load_demo", stdout=open("/dev/null", "w"))
    researcher, verifier = factories.make_user("Researcher"), factories.make_user("Verifier")
    long_words = factories.publish(factories.make_case(  # they must wrap on a phone
        researcher, title="Unbroken" + "x" * 120, location="Y" * 80,
        summary="https://example.org/" + "a" * 200), researcher, verifier)
    person = Person.objects.published().get(name="Khadija Ismayilova")
    organisation = Organisation.objects.published().get(name="Civil Rights Defenders")
    pages = [
        "/",
        "/cases/",
        "/cases/?q=Ismaylova",  # close matches
        "/cases/?q=nothing-like-this&right=association",  # empty state
        "/cases/?from=May-2016",  # invalid parameter
        "/cases/AZ-2016-002/",
        person.get_absolute_url(),
        organisation.get_absolute_url(),
        "/statements/",
        "/statements/ST-2016-001/",
        "/about/",
        "/cases/NO-SUCH-CASE/",
        long_words.get_absolute_url(),
        "/cases/?q=Unbroken",
    ]
    return live_server.url, pages


@pytest.fixture
def browser():
    # Fail, never skip: the requirements install Playwright, and a skipped test would let
    # CI pass without checking accessibility at all.
    from playwright import sync_api as playwright_api
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: bin/test installs it with npm ci")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_every_page_type_has_no_wcag_violations_and_works_without_js(demo_site, browser):
    base, pages = demo_site
    axe = AXE.read_text()
    host = urlparse(base).netloc
    for viewport in ({"width": 1280, "height": 900}, {"width": 375, "height": 740}):
        # bypass_csp lets the test inject axe; the site itself never runs inline scripts.
        context = browser.new_context(viewport=viewport, bypass_csp=True)
        page = context.new_page()
        requested, missing = [], []
        page.on("request", lambda request, requested=requested: requested.append(request.url))
        page.on("response", lambda response, missing=missing: missing.append(response.url)
                if response.status >= 400 and response.request.resource_type != "document"
                else None)
        failures = []
        for path in pages:
            page.goto(base + path)
            # Usable on a phone: nothing wider than the screen (no sideways scrolling).
            wider = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if wider > 0:
                failures.append(f"{path} ({viewport['width']}px): {wider}px too wide")
            page.evaluate(axe + "\n;0")
            result = page.evaluate(
                "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
            for violation in result["violations"]:
                targets = [node["target"] for node in violation["nodes"]][:3]
                failures.append(f"{path} ({viewport['width']}px): {violation['id']} "
                                f"{violation['help']} {targets}")
        context.close()
        assert not failures, "\n".join(failures)
        foreign = {url for url in requested if urlparse(url).netloc != host}
        assert not foreign, f"requests to other hosts: {foreign}"
        assert not missing, f"stylesheets, images or icons not found: {missing}"

    # Works without JavaScript: search from the home page, then narrow with the filters.
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(base + "/")
    page.fill("#home-q", "Muiznieks")
    # A form submission: wait for the results page, not just for the click.
    with page.expect_navigation():
        page.click(".big-search button")
    assert "AZ-2016-001" in page.content()
    page.goto(base + "/cases/")
    page.check("#right-expression")
    page.check("#violation-cyber-attack")
    with page.expect_navigation():
        page.click(".filters button[type=submit]")
    assert re.search(r"right=expression", page.url) and "violation=cyber-attack" in page.url
    assert page.locator(".case-item").count() == 1
    assert "Cyber-attacks and smear campaign" in page.content()
    context.close()
