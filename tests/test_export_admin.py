"""Admin export: the exchange format, streamed, audited, only with the export permission."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import AuditEvent
from casework.models import Case, ViolationType
from tests import factories

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:casework_case_changelist")
EXPORT_URL = reverse("admin:casework_case_export")


@pytest.fixture
def cases(researcher):
    first = factories.make_case(researcher, reference="AZ-2016-001", title="=cmd|' /C calc'!A0",
                                internal_notes="CONFIDENTIAL NOTE")
    factories.involve(first, factories.make_person(researcher, name="Withheld Person"))
    factories.make_case(researcher, reference="AZ-2016-002", title="Second, with comma",
                        country="GE")
    return Case.objects.order_by("reference")


def body(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8")


@pytest.mark.smoke
def test_admin_export_is_the_export_cases_format_streamed(cases, coordinator_client, coordinator):
    response = coordinator_client.post(EXPORT_URL, {"format": "0", "resource": "0"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="cases-')
    out = StringIO()
    call_command("export_cases", stdout=out)
    content = body(response)
    assert content == out.getvalue()
    assert "'=cmd|" in content  # formula neutralised
    assert "CONFIDENTIAL" not in content
    event = AuditEvent.objects.filter(action="export").earliest("id")
    assert (event.actor, event.details["rows"], event.details["via"]) == (coordinator, 2, "admin")


def test_export_of_a_filtered_changelist_records_the_filters(cases, coordinator_client):
    response = coordinator_client.post(f"{EXPORT_URL}?country__exact=GE&q=Second+with&p=2&o=-1",
                                       {"format": "0", "resource": "0"})
    lines = body(response).splitlines()
    assert [line.split(",")[0] for line in lines] == ["reference", "AZ-2016-002"]
    event = AuditEvent.objects.get(action="export")
    assert event.details["filters"] == {"country__exact": ["GE"],
                                        "q": ["(search text not recorded)"]}
    assert event.details["rows"] == 1
    assert "Second" not in str(event.details)


def test_export_selected_action(cases, coordinator_client):
    selected = cases.get(reference="AZ-2016-001")
    response = coordinator_client.post(CHANGELIST, {
        "action": "export_selected", "_selected_action": [selected.pk]})
    assert response.status_code == 200
    lines = body(response).splitlines()
    assert len(lines) == 2 and lines[1].startswith("AZ-2016-001,")
    event = AuditEvent.objects.get(action="export")
    assert (event.details["scope"], event.details["ids"]) == ("selected", [selected.pk])


@pytest.mark.parametrize("actor", ["researcher_client", "verifier_client"])
def test_researchers_and_verifiers_may_not_export(request, actor, cases):
    client = request.getfixturevalue(actor)
    assert client.get(EXPORT_URL).status_code == 403
    assert client.post(EXPORT_URL, {"format": "0", "resource": "0"}).status_code == 403
    selected = cases.first()
    response = client.post(CHANGELIST, {"action": "export_selected",
                                        "_selected_action": [selected.pk]})
    assert not getattr(response, "streaming", False)
    assert not AuditEvent.objects.filter(action="export").exists()


def test_statements_export_through_the_admin(coordinator_client, researcher):
    factories.make_statement(researcher, reference="ST-2016-001", quote="+ quoted words")
    response = coordinator_client.post(reverse("admin:casework_statement_export"),
                                       {"format": "0", "resource": "0"})
    lines = body(response).splitlines()
    assert lines[0].startswith("reference,speaker,")
    assert ",'+ quoted words," in lines[1]


def test_an_invalid_filter_in_the_export_url_goes_back_to_the_list(cases, coordinator_client):
    for query in ("foo=bar", "started_on__year=abc"):
        response = coordinator_client.post(f"{EXPORT_URL}?{query}", {"format": "0",
                                                                     "resource": "0"})
        assert response.status_code == 302 and response.url.endswith("?e=1"), query
    assert not AuditEvent.objects.filter(action="export").exists()


def test_the_export_page_says_what_the_file_will_hold(cases, coordinator_client):
    page = coordinator_client.get(f"{EXPORT_URL}?country__exact=GE").text
    assert "The file will hold 1 case: the list as filtered" in page
    assert "Filters: Country: Georgia (<code>country__exact</code>)." in page
    violation = ViolationType.objects.order_by("label").first()
    page = coordinator_client.get(f"{EXPORT_URL}?status__exact=draft&restricted__exact=0"
                                  f"&violations__id__exact={violation.pk}").text
    # In words, beside the parameters as the audit log records them.
    notice = page.split("Filters: ")[1].split("</p>")[0]
    assert "Status: draft (<code>status__exact</code>)" in notice
    assert "Restricted: no (<code>restricted__exact</code>)" in notice
    assert f": {violation.label} (<code>violations__id__exact</code>)" in notice
    everything = coordinator_client.get(EXPORT_URL).text
    assert f"The file will hold {cases.count()} cases" in everything
    assert "No filter: every record you may see." in everything


def test_text_typed_into_a_field_filter_is_neither_shown_nor_recorded(cases,
                                                                      coordinator_client):
    """The admin accepts any text filter in the URL (?summary__icontains=…): it can be a
    name, so the export page and the audit log leave it out, like the search box's."""
    url = f"{EXPORT_URL}?summary__icontains=Second+with&country__exact=GE"
    page = coordinator_client.get(url).text
    notice = page.split("The file will hold")[1].split("</p>")[0]
    assert "Second with" not in notice and "(search text not recorded)" in notice
    assert "Country: Georgia (<code>country__exact</code>)" in notice
    coordinator_client.post(url, {"format": "0", "resource": "0"})
    filters = AuditEvent.objects.get(action="export").details["filters"]
    assert filters == {"summary__icontains": ["(search text not recorded)"],
                       "country__exact": ["GE"]}
