"""The shared benchmark generator keeps its API: CSV rows in the exchange format, and
populate() filling the database with published, searchable cases."""

import pytest

from benchmarks.datagen import case_rows, populate
from casework.exchange import CASE_COLUMNS
from casework.models import Case, Involvement

pytestmark = pytest.mark.django_db


@pytest.mark.smoke
def test_case_rows_are_realistic_exchange_rows():
    rows = list(case_rows(200, seed=1))
    assert rows == list(case_rows(200, seed=1))  # deterministic
    assert all(list(row) == CASE_COLUMNS for row in rows)
    text = " ".join(row["defenders"] + row["lawyers"] for row in rows)
    assert any(letter in text for letter in "əığşçöü")  # Azerbaijani letters
    assert any("а" <= letter <= "я" for letter in text)  # Cyrillic
    assert {len(row["started_on"]) for row in rows} >= {4, 7, 10}  # partial dates
    assert any(";" in row["violations"] for row in rows)
    assert len({row["reference"] for row in rows}) == 200


@pytest.mark.smoke
def test_populate_inserts_published_searchable_cases(client):
    counts = populate(40, batch_size=15)
    populate(5, batch_size=15)  # a second run adds, it does not collide
    assert counts["cases"] == 40 and Case.objects.published().count() == 45
    assert Involvement.objects.filter(case__in=Case.objects.all()).count() >= 45 * 2
    case = Case.objects.published().first()
    word = case.title.split()[-1]
    response = client.get("/cases/", {"q": word})
    assert response.context["total"] >= 1
    assert client.get(case.get_absolute_url()).status_code == 200
