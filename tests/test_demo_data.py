import pytest
from django.core.management import call_command

from casework.models import Case, Involvement, Organisation, Person, Statement

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]

SEED_CASES = ["AZ-2016-001", "AZ-2016-002", "AZ-2016-003", "AZ-2016-004", "AZ-2016-005"]


def test_load_demo_publishes_every_seed_case_and_statement():
    call_command("load_demo", stdout=open("/dev/null", "w"))
    published = set(Case.objects.published().values_list("reference", flat=True))
    assert set(SEED_CASES) <= published
    assert set(Statement.objects.published().values_list("reference", flat=True)) >= {
        "ST-2016-001", "ST-2016-002", "ST-2016-003"}
    bagirov = Person.objects.get(name="Khalid Bagirov")
    assert bagirov.defender_type == Person.DefenderType.LAWYER
    assert Involvement.objects.filter(
        case__reference="AZ-2016-001", person=bagirov, role=Involvement.Role.TARGETED).exists()
    assert Involvement.objects.filter(
        case__reference="AZ-2016-001", role=Involvement.Role.PERPETRATOR,
        organisation__name="Azerbaijan Bar Association").exists()
    assert "Xədicə İsmayılova" in Person.objects.get(name="Khadija Ismayilova").alias_list


def test_load_demo_twice_creates_no_duplicates():
    call_command("load_demo", stdout=open("/dev/null", "w"))
    counts = [m.objects.count() for m in (Case, Person, Organisation, Statement, Involvement)]
    call_command("load_demo", stdout=open("/dev/null", "w"))
    assert [m.objects.count() for m in (Case, Person, Organisation, Statement, Involvement)] == counts


def test_public_case_page_shows_demo_case(client):
    call_command("load_demo", stdout=open("/dev/null", "w"))
    response = client.get("/cases/AZ-2016-002/")
    assert response.status_code == 200
    assert "Giyas Ibrahimov sentenced" in response.text


def test_demo_history_names_who_did_each_step():
    call_command("load_demo", stdout=open("/dev/null", "w"))
    case = Case.objects.get(reference="AZ-2016-002")
    assert all(h.history_user is not None for h in case.history.all())
    assert case.history.first().history_user.username == "verifier"
