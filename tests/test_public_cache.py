"""The home page's figures and the unfiltered case list's facet counts are cached, and
never outlive a change: every request checks the database's log of public changes.

Transactional tests: each request and each change commits, as on a live site (inside a
test's own transaction nothing is cached, see casework.public_cache).
"""

import csv
import io

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from casework.models import Right
from tests import factories
from tests.csvfiles import write_csv

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True),
              pytest.mark.skipif("connection.vendor != 'postgresql'",
                                 reason="the change log is PostgreSQL's")]


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def home(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    assert response.status_code == 200
    return response.context, len(queries)


def facet_counts(client, **params) -> dict[str, int]:
    response = client.get("/cases/", params)
    return {f"{facet['name']}:{option['value']}": option["count"]
            for facet in response.context["facets"] for option in facet["options"]}


def test_figures_are_counted_once_and_recounted_after_every_public_change(
        client, researcher, verifier, coordinator, tmp_path):
    first = factories.publish(factories.make_case(researcher, title="First"), researcher,
                              verifier)
    second = factories.make_case(researcher, title="Second", country="GE")
    second.rights.add(Right.objects.get(slug="expression"))
    factories.publish(second, researcher, verifier)

    context, counted = home(client)
    assert context["totals"]["cases"] == 2
    context, served = home(client)
    assert context["totals"]["cases"] == 2 and served < counted  # from the cache
    assert facet_counts(client)["country:GE"] == 1

    # A retraction: the next visitor sees it, whichever app server they reach.
    second.refresh_from_db()
    second.retract(verifier, "Consent withdrawn")
    context, _ = home(client)
    assert context["totals"]["cases"] == 1
    assert [bar.value for bar in context["by_right"].bars if bar.label.endswith(
        "expression")] == [0]
    assert "country:GE" not in facet_counts(client)

    # A draft written behind the site (no public change) keeps the cache.
    factories.make_case(researcher, title="A draft")
    _, served = home(client)
    assert served < counted

    # A vocabulary label shown in a chart.
    right = Right.objects.get(slug="expression")
    right.label = "Freedom of speech"
    right.save()
    assert "Freedom of speech" in [bar.label for bar in home(client)[0]["by_right"].bars]

    # A person published or retracted: the people total.
    person = factories.publish(factories.make_person(researcher), researcher, verifier)
    assert home(client)[0]["totals"]["people"] == 1
    person.retract(verifier, "Consent withdrawn")
    assert home(client)[0]["totals"]["people"] == 0

    # An import that changes a published case (batch path, SQL only): back to draft.
    first.refresh_from_db()
    out = io.StringIO()
    call_command("export_cases", stdout=out)
    rows = [row for row in csv.DictReader(io.StringIO(out.getvalue(), newline=""))
            if row["reference"] == first.reference]
    rows[0]["title"] = "First, corrected"
    call_command("import_cases", str(write_csv(tmp_path / "c.csv", rows)),
                 user=coordinator.username, stdout=io.StringIO())
    assert home(client)[0]["totals"]["cases"] == 0
    assert facet_counts(client) == {"right:expression": 0, "right:association": 0,
                                    "right:peaceful-assembly": 0, "status:ongoing": 0,
                                    "status:concluded": 0}


def test_figures_counted_in_a_transaction_that_rolls_back_are_never_kept(
        client, researcher, verifier):
    case = factories.make_case(researcher)
    assert home(client)[0]["totals"]["cases"] == 0
    try:
        with transaction.atomic():
            factories.publish(case, researcher, verifier)
            assert home(client)[0]["totals"]["cases"] == 1  # its own change, counted
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    assert home(client)[0]["totals"]["cases"] == 0


def test_one_writing_transaction_logs_one_change(researcher, verifier):
    def logged() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM casework_publicchange")
            return cursor.fetchone()[0]

    before = logged()
    with transaction.atomic():
        for _ in range(3):
            factories.publish(factories.make_case(researcher), researcher, verifier)
    assert logged() == before + 1
    factories.make_case(researcher)  # a draft: nothing public
    assert logged() == before + 1


class ReplicaRouter:
    """docs/deployment.md "Scaling out": public reads routed to a replica."""

    def db_for_read(self, model, **hints):
        return "replica"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, *args, **hints):
        return True


@pytest.fixture
def replica():
    """A second connection to the test database, standing for a replica."""
    connections.settings["replica"] = {**connection.settings_dict}
    replica = connections["replica"]
    for name in ("connect", "temporary_connection", "cursor", "chunked_cursor"):
        method = getattr(replica, name)
        if hasattr(method, "wrapped"):  # the test case's "not allowed in this test" guard
            setattr(replica, name, method.wrapped)
    replica.connect()
    yield replica
    connections["replica"].close()
    del connections["replica"]
    del connections.settings["replica"]


def test_with_a_replica_the_figures_and_their_snapshot_come_from_the_replica(
        client, researcher, verifier, replica):
    """A retraction the primary has committed and the replica has not yet replayed (a
    transaction on the replica that began before it) must not be taken as seen."""
    case = factories.publish(factories.make_case(researcher), researcher, verifier)
    with override_settings(DATABASE_ROUTERS=[ReplicaRouter()]):
        with transaction.atomic(using="replica"):
            with replica.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cursor.execute("SELECT count(*) FROM casework_case")  # the replica's state
            case.refresh_from_db()
            case.retract(verifier, "Consent withdrawn")  # committed on the primary
            assert client.get("/").context["totals"]["cases"] == 1  # the replica's lag
        assert client.get("/").context["totals"]["cases"] == 0  # caught up: counted again


def test_each_searchs_facet_counts_are_kept_apart_and_recounted_after_a_change(
        client, researcher, verifier):
    cases = {}
    for country, title in (("GE", "Blogger detained"), ("AZ", "Lawyer disbarred")):
        case = factories.make_case(researcher, title=title, country=country)
        case.rights.add(Right.objects.get(slug="expression"))
        cases[country] = factories.publish(case, researcher, verifier)

    def timed(params):
        with CaptureQueriesContext(connection) as queries:
            counts = facet_counts(client, **params)
        return counts, len(queries)

    by_right, counted = timed({"right": "expression"})
    assert (by_right["country:GE"], by_right["country:AZ"]) == (1, 1)
    again, served = timed({"right": "expression"})
    assert again == by_right and served < counted  # from the cache
    assert facet_counts(client, q="blogger")["country:GE"] == 1  # another search, its own
    assert "country:AZ" not in facet_counts(client, q="blogger")
    assert facet_counts(client, q="blogger", sort="oldest") == facet_counts(client, q="blogger")

    cases["GE"].retract(verifier, "Consent withdrawn")
    assert "country:GE" not in facet_counts(client, right="expression")
    assert "country:GE" not in facet_counts(client, q="blogger")
