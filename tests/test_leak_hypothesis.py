"""The public boundary, tested with random worlds (Hypothesis).

Each example builds cases, people, organisations, sources and statements in random
workflow states, all linked to each other, with a unique marker in every confidential
field (internal notes, contact details, withheld names and aliases) and in every field of
every record that is not public (unpublished, restricted). It then requests every public
URL and asserts that the marker never appears, that searching for it finds nothing, and
that counts, facets, charts and downloads count published records only.
"""

import csv
import datetime
import io
import itertools
import json

import pytest
from django.core.management import call_command
from django.db import connection, transaction  # noqa: F401 (connection: skipif)
from django.test import override_settings
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from casework import search_index
from casework.models import Involvement, Right, Status, ViolationType
from tests import factories

pytestmark = pytest.mark.django_db

STATES = [Status.DRAFT, Status.IN_REVIEW, Status.VERIFIED, Status.PUBLISHED, Status.RETRACTED]
COUNTRIES = ["AZ", "AM", "GE"]
_examples = itertools.count(1)

# Published half the time: leaks happen where public and confidential records meet.
states = st.one_of(st.just(Status.PUBLISHED), st.sampled_from(STATES))
restricted = st.sampled_from([False, False, True])
world = st.fixed_dictionaries({
    "people": st.lists(st.tuples(states, st.booleans()), min_size=1, max_size=3),
    "organisations": st.lists(states, min_size=1, max_size=2),
    "sources": st.lists(states, max_size=2),
    "cases": st.lists(st.tuples(states, restricted, st.sampled_from(COUNTRIES),
                                st.booleans()), min_size=1, max_size=3),
    "statements": st.lists(states, max_size=2),
})
P, D, R = Status.PUBLISHED, Status.DRAFT, Status.RETRACTED
# Always tried: everything public around a withheld identity, and every state side by side.
ALL_PUBLIC = {"people": [(P, False), (P, True)], "organisations": [P], "sources": [P],
              "cases": [(P, False, "AZ", True)], "statements": [P]}
MIXED = {"people": [(P, False), (D, True), (R, True)], "organisations": [P, Status.VERIFIED],
         "sources": [P, Status.IN_REVIEW], "cases": [(P, False, "AZ", True), (P, True, "AM", True),
                                                     (Status.VERIFIED, False, "GE", False)],
         "statements": [P, D]}


def bring_to(record, state, researcher, verifier):
    record.refresh_from_db()
    if state == Status.DRAFT:
        return record
    record.submit_for_review(researcher)
    if state == Status.IN_REVIEW:
        return record
    record.verify(verifier)
    if state == Status.VERIFIED:
        return record
    record.publish(verifier)
    if state == Status.RETRACTED:
        record.retract(verifier, "Could not be confirmed")
    return record


def text_of(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode()


def build(spec, marker, researcher, verifier):
    """Everything in draft and linked first (links to reviewed records re-open them)."""
    m = marker.lower()
    people = []
    for i, (state, identity_public) in enumerate(spec["people"]):
        public = state == Status.PUBLISHED
        people.append((factories.make_person(
            researcher,
            name=f"Public Person {i}" if public and identity_public else f"{m} name {i}",
            other_names=f"Alias {i}" if public and identity_public else f"{m} alias {i}",
            pseudonym=f"Pseudonym {i}" if public else f"{m} pseudonym",
            identity_public=identity_public, defender_type="journalist",
            occupation=f"Occupation {i}" if public else f"{m} occupation",
            contact_details=f"{m} phone", internal_notes=f"{m} notes",
        ), state))
    organisations = []
    for i, state in enumerate(spec["organisations"]):
        public = state == Status.PUBLISHED
        organisations.append((factories.make_organisation(
            researcher, name=f"Public Organisation {i}" if public else f"{m} organisation",
            other_names="" if public else f"{m} acronym", internal_notes=f"{m} notes",
        ), state))
    sources = []
    for i, state in enumerate(spec["sources"]):
        public = state == Status.PUBLISHED
        sources.append((factories.make_source(
            researcher, url=f"https://example.org/public/{i}" if public
            else f"https://example.org/{m}/{i}",
            citation=f"Public report {i}" if public else f"{m} citation",
            publisher="Publisher" if public else f"{m} publisher", internal_notes=f"{m} notes",
        ), state))
    expression = Right.objects.get(slug="expression")
    detention = ViolationType.objects.get(slug="arbitrary-detention")
    cases = []
    for i, (state, restricted, country, with_labels) in enumerate(spec["cases"]):
        public = state == Status.PUBLISHED and not restricted
        case = factories.make_case(
            researcher,
            reference=f"PUB-{i}-{next(_examples)}" if public else f"{marker}-{i}",
            title=f"Public case {i}" if public else f"{m} title",
            summary=f"Public summary {i}" if public else f"{m} summary",
            location="Baku" if public else f"{m} location", country=country,
            restricted=restricted, internal_notes=f"{m} notes",
            started_on=datetime.date(2016, i % 12 + 1, 1), started_on_precision="month")
        if with_labels:
            case.rights.add(expression)
            case.violations.add(detention)
        for person, person_state in people:
            shown = public and person_state == Status.PUBLISHED
            factories.involve(case, person,
                              description="Targeted" if shown else f"{m} description")
        for organisation, organisation_state in organisations:
            shown = public and organisation_state == Status.PUBLISHED
            factories.involve(case, organisation, role=Involvement.Role.PERPETRATOR,
                              description="Acted" if shown else f"{m} description")
        case.sources.add(*(source for source, _state in sources))
        cases.append((case, state, public))
        case.labelled = with_labels
    statements = []
    for i, state in enumerate(spec["statements"]):
        public = state == Status.PUBLISHED
        statement = factories.make_statement(
            researcher,
            reference=f"STP-{i}-{next(_examples)}" if public else f"{marker}-S{i}",
            speaker=people[i % len(people)][0], organisation=organisations[0][0],
            speaker_title="Rapporteur" if public else f"{m} speaker title",
            quote=f"Public quote {i}" if public else f"{m} quote",
            title="" if public else f"{m} statement title",
            source=sources[0][0] if sources else None, internal_notes=f"{m} notes")
        statement.cases.add(*(case for case, _state, _public in cases))
        statement.signatories.add(*(organisation for organisation, _state in organisations))
        statements.append((statement, state))
    for record, state in [*people, *organisations, *sources, *statements]:
        bring_to(record, state, researcher, verifier)
    for case, state, _public in cases:
        bring_to(case, state, researcher, verifier)
    return people, organisations, statements, cases


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spec=world)
@example(spec=ALL_PUBLIC)
@example(spec=MIXED)
def test_no_confidential_or_unpublished_text_ever_reaches_a_public_url(
        client, researcher, verifier, spec):
    marker = f"ZQLEAK{next(_examples):05d}X"
    with transaction.atomic():
        assert_nothing_leaks(client, marker, *build(spec, marker, researcher, verifier))
        transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the index is PostgreSQL's")
@pytest.mark.parametrize("spec", [ALL_PUBLIC, MIXED], ids=["all public", "mixed"])
def test_nothing_leaks_when_the_search_index_answers(
        client, researcher, verifier, spec, tmp_path):
    """The same checks, with /cases/ answered by the search index (committed data: the
    index reads its own snapshot)."""
    marker = f"ZQLEAK{next(_examples):05d}X"
    world = build(spec, marker, researcher, verifier)
    search_index._opened.clear()
    with override_settings(CASEWORK_SEARCH_INDEX=str(tmp_path)):
        call_command("update_search_index")
        assert client.get("/cases/").context["indexed"]
        assert_nothing_leaks(client, marker, *world)
    search_index._opened.clear()


def assert_nothing_leaks(client, marker, people, organisations, statements, cases):
    """Every public URL, searches for the marker, counts, facets, charts, downloads."""
    published_cases = [case for case, _s, public in cases if public]
    hidden_cases = [case for case, _s, public in cases if not public]

    urls = ["/", "/cases/", "/cases.csv", "/cases.json", "/feed/", "/sitemap.xml",
            "/statements/", "/about/", "/cases/NEVER-EXISTED/",
            "/cases/?status=ongoing", "/cases/?right=expression&violation=arbitrary-detention",
            "/cases/?role=journalist", "/cases/?from=2000&to=2030", "/cases/?sort=published"]
    urls += [f"/sitemap-{section}.xml" for section in
             ("pages", "cases", "statements", "people", "organisations")]
    urls += [f"/cases/?country={country}" for country in COUNTRIES]
    # Records carry the marker in lower case (text) or upper case (references); queries
    # use a mixed-case spelling, which search matches but which the page's echo of the
    # query cannot be mistaken for.
    query = "".join(c.lower() if i % 2 else c for i, c in enumerate(marker))
    for term in (query, f"{query} notes", f"{query} name", "notes", "phone", "alias",
                 f'"{query}"', f"{query[:-1]}"):
        urls += [f"/cases/?q={term}", f"/cases.csv?q={term}", f"/cases.json?q={term}"]
    urls += [case.get_absolute_url() for case in published_cases]
    urls += [person.get_absolute_url() for person, _s in people]
    urls += [organisation.get_absolute_url() for organisation, _s in organisations]
    urls += [statement.get_absolute_url() for statement, _s in statements]
    urls += [f"/statements/?person={person.pk}" for person, _s in people]
    urls += [f"/statements/?organisation={organisation.pk}"
             for organisation, _s in organisations]

    for url in urls:
        response = client.get(url)
        assert response.status_code in (200, 404), url
        text = text_of(response)
        assert marker not in text and marker.lower() not in text, url

    # Unpublished or restricted: the same 404 as a reference that never existed.
    missing = client.get("/cases/NEVER-EXISTED/").content
    for case in hidden_cases:
        response = client.get(case.get_absolute_url())
        assert response.status_code == 404 and response.content == missing
    for statement, state in statements:
        expected = 200 if state == Status.PUBLISHED else 404
        assert client.get(statement.get_absolute_url()).status_code == expected
    for person, state in people:
        expected = 200 if state == Status.PUBLISHED else 404
        assert client.get(person.get_absolute_url()).status_code == expected
        assert client.get("/statements/", {"person": person.pk}).status_code == expected

    # Searching for the marker finds nothing, exactly or as a close match.
    for term in (marker, f"{marker} notes", marker[:-1]):
        assert client.get("/cases/", {"q": term}).context["total"] == 0

    # Counts, facets, charts and downloads count published cases only.
    n = len(published_cases)
    listing = client.get("/cases/")
    assert listing.context["total"] == n
    facets = {f["name"]: f["options"] for f in listing.context["facets"]}
    labelled = sum(1 for case in published_cases if case.labelled)
    with_published_people = n if any(state == Status.PUBLISHED for _p, state in people) else 0
    assert sum(o["count"] for o in facets["status"]) == n
    assert sum(o["count"] for o in facets["country"]) == n
    assert sum(o["count"] for o in facets["right"]) == labelled
    assert sum(o["count"] for o in facets["violation"]) == labelled
    assert sum(o["count"] for o in facets["role"]) == with_published_people
    assert client.get("/cases/?from=2000&to=2030").context["total"] == n
    home = client.get("/")
    assert home.context["totals"]["cases"] == n
    assert home.context["by_country"].total == n
    assert home.context["per_month"].total == n
    assert home.context["by_right"].total == labelled
    assert home.context["by_violation"].total == labelled
    assert home.context["totals"]["people"] == sum(
        1 for _p, state in people if state == Status.PUBLISHED)
    rows = list(csv.DictReader(io.StringIO(text_of(client.get("/cases.csv")))))
    assert sorted(r["reference"] for r in rows) == sorted(c.reference for c in published_cases)
    assert len(json.loads(text_of(client.get("/cases.json")))) == n
