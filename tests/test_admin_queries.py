"""Admin changelists run a constant number of queries whatever the number of rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from casework.models import Involvement, ViolationType
from tests import factories

pytestmark = pytest.mark.django_db

CHANGELISTS = ["case", "person", "organisation", "source", "statement", "involvement",
               "violationtype", "right"]


def _rows(researcher, n):
    violation = ViolationType.objects.first()
    for _ in range(n):
        case = factories.make_case(researcher)
        case.violations.add(violation)
        person = factories.make_person(researcher)
        factories.involve(case, person, Involvement.Role.TARGETED)
        statement = factories.make_statement(researcher, speaker=person)
        statement.cases.add(case)
        factories.make_source(researcher)


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("model", CHANGELISTS)
def test_changelist_query_count_does_not_grow_with_rows(administrator_client, researcher, model):
    url = f"/admin/casework/{model}/"
    _rows(researcher, 2)
    few = _count(administrator_client, url)
    _rows(researcher, 12)
    many = _count(administrator_client, url)
    assert many == few
