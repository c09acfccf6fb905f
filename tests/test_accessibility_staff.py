"""Accessibility of the staff pages this project adds to, or changes in, the admin.

The same axe-core check as tests/test_accessibility.py, in Debian's Chromium, signed in
as a coordinator: the reports (with figures, and with an error), the case list, the forms
of a case, a person and a statement, a case's history, the import page with a preview
full of errors, and the export page. Left out: the widgets Django's autocomplete draws
(select2, shipped with Django: sources, people, organisations), whose own markup axe
faults (docs/roles.md, "Accessible staff pages").
"""

import pytest
from django.conf import settings
from django.core.management import call_command

from casework.models import Case, Person, Statement
from tests import factories
from tests.test_accessibility import AXE, WCAG_TAGS, browser  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]

BAD_FILE = (
    "reference,title,country,location,started_on,ended_on,violations,rights,defenders,"
    "lawyers,perpetrators,summary,sources\n"
    "AZ-2099-001,A title,AZ,Baku,2016-13,,arbitrary-detention,,,,,,https://example.org/a\n"
    "AZ-2099-002,,Atlantis,,2016,,no-such-violation,,,,,,not a url\n"
)


@pytest.fixture
def signed_in(live_server):
    """The demo data, and a coordinator's session cookie (made before Playwright starts:
    its event loop forbids database queries in this thread)."""
    call_command("load_demo", stdout=open("/dev/null", "w"))
    client = factories.signed_in_client(factories.make_user("Coordinator"))
    first = [model.objects.order_by("pk").first() for model in (Case, Person, Statement)]
    return client.cookies[settings.SESSION_COOKIE_NAME].value, first


def test_the_coordinators_pages_have_no_wcag_violations(live_server, signed_in, browser,  # noqa: F811
                                                        tmp_path):
    session, (case, person, statement) = signed_in
    pages = [
        "/admin/",
        "/admin/reports/",
        "/admin/reports/?by=month&country=AZ",
        "/admin/reports/?from=May-2016",
        "/admin/casework/case/",
        f"/admin/casework/case/{case.pk}/change/",
        f"/admin/casework/case/{case.pk}/history/",
        f"/admin/casework/person/{person.pk}/change/",
        f"/admin/casework/statement/{statement.pk}/change/",
        "/admin/casework/case/export/",
        "/admin/casework/case/import/",
    ]
    context = browser.new_context(bypass_csp=True)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                          "value": session}])
    page = context.new_page()
    missing = []  # stylesheets, scripts, images, icons
    page.on("response", lambda response: missing.append(response.url)
            if response.status >= 400 and response.request.resource_type != "document" else None)
    axe = AXE.read_text()
    failures = []

    def check(label):
        page.evaluate(axe + "\n;0")
        result = page.evaluate(
            "tags => axe.run({exclude: [['.select2-container']]},"
            " {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
        for violation in result["violations"]:
            targets = [node["target"] for node in violation["nodes"]][:3]
            failures.append(f"{label}: {violation['id']} {violation['help']} {targets}")

    # The case form's violations and rights are checkboxes, each with its label.
    page.goto(live_server.url + f"/admin/casework/case/{case.pk}/change/")
    for name in ("violations", "rights"):
        boxes = page.get_by_role("checkbox").and_(page.locator(f"input[name={name}]"))
        assert boxes.count() > 1 and boxes.first.get_attribute("id"), name
        assert page.locator(f"label[for={boxes.first.get_attribute('id')}]").count() == 1
    for path in pages:
        response = page.goto(live_server.url + path)
        assert response.status == (400 if "May-2016" in path else 200), path
        check(path)
    bad = tmp_path / "cases.csv"
    bad.write_text(BAD_FILE)
    page.set_input_files("input[type=file]", str(bad))
    if page.locator("select[name=format]").count():  # one format: no choice to make
        page.select_option("select[name=format]", index=1)
    with page.expect_navigation():
        page.click("input[type=submit]")
    assert "2016-13" in page.content()
    check("import preview with errors")
    context.close()
    assert not failures, "\n".join(failures)
    assert not missing, f"not found: {missing}"
