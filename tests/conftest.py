import pytest
from django.test import Client

from tests import factories


def pytest_collection_modifyitems(items):
    """A transactional test empties the database after it; without serialized_rollback
    the groups and vocabularies that migrations write are then gone for the tests that
    follow it on the same worker."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        transactional = (marker is not None and (marker.kwargs.get("transaction")
                                                 or (marker.args and marker.args[0]))
                         or {"transactional_db", "live_server"} & set(item.fixturenames))
        if transactional and not (marker and marker.kwargs.get("serialized_rollback")):
            raise pytest.UsageError(f"{item.nodeid}: a transactional test needs "
                                    "serialized_rollback=True (tests/conftest.py)")


@pytest.fixture
def researcher(db):
    return factories.make_user("Researcher")


@pytest.fixture
def other_researcher(db):
    return factories.make_user("Researcher")


@pytest.fixture
def verifier(db):
    return factories.make_user("Verifier")


@pytest.fixture
def coordinator(db):
    return factories.make_user("Coordinator")


@pytest.fixture
def administrator(db):
    return factories.make_user("Administrator")


@pytest.fixture
def visitor(db):
    """An anonymous member of the public."""
    return Client()


def _client_for(user) -> Client:
    return factories.signed_in_client(user)


@pytest.fixture
def researcher_client(researcher):
    return _client_for(researcher)


@pytest.fixture
def verifier_client(verifier):
    return _client_for(verifier)


@pytest.fixture
def coordinator_client(coordinator):
    return _client_for(coordinator)


@pytest.fixture
def administrator_client(administrator):
    return _client_for(administrator)


@pytest.fixture
def published_case(researcher, verifier):
    case = factories.make_case(researcher, title="Published case", summary="A public summary")
    return factories.publish(case, researcher, verifier)
