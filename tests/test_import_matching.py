"""How import matches names, vocabulary, countries and sources to what exists."""

from io import StringIO

import pytest
from django.core.management import call_command

from casework.importing import normalise_name
from casework.models import Case, Organisation, Person, Source, Status
from tests import factories
from tests.csvfiles import case_row, write_csv

pytestmark = pytest.mark.django_db


def import_rows(tmp_path, user, *rows):
    path = write_csv(tmp_path / "cases.csv", list(rows))
    call_command("import_cases", str(path), user=user.username, stdout=StringIO(),
                 stderr=StringIO())


def parties(case, role):
    return [(i.person or i.organisation) for i in case.involvements.filter(role=role)]


def test_names_match_ignoring_case_accents_and_by_alias(coordinator, tmp_path):
    khadija = factories.make_person(coordinator, name="Khadija Ismayilova",
                                    other_names="Xədicə İsmayılova")
    mijatovic = factories.make_person(coordinator, name="Dunja Mijatović")
    import_rows(tmp_path, coordinator, case_row(
        defenders="XƏDİCƏ ismayilova; dunja mijatovic", lawyers="KHADIJA ISMAYILOVA"))
    case = Case.objects.get()
    assert parties(case, "targeted") == [khadija, mijatovic]
    assert parties(case, "lawyer") == [khadija]
    assert Person.objects.count() == 2


def test_normalised_names():
    assert normalise_name("  Xədicə   İsmayılova ") == "xadica ismayilova"
    assert normalise_name("Nils MUIŽNIEKS") == "nils muiznieks"
    assert normalise_name("Dunja Mijatović") == normalise_name("dunja mijatovic")


def test_unmatched_names_create_withheld_people_once(coordinator, tmp_path):
    import_rows(tmp_path, coordinator,
                case_row(reference="AZ-2020-001", defenders="New Person"),
                case_row(reference="AZ-2020-002", lawyers="new person"))
    person = Person.objects.get()
    assert person.name == "New Person"  # the first spelling in the file
    assert (person.identity_public, person.status) == (False, Status.DRAFT)
    assert person.created_by == coordinator


def test_perpetrators_match_organisations_then_people_else_a_new_organisation(
    coordinator, tmp_path
):
    court = factories.make_organisation(coordinator, name="Baku Court of Grave Crimes",
                                        other_names="Grave Crimes Court")
    judge = factories.make_person(coordinator, name="Judge Example")
    import_rows(tmp_path, coordinator,
                case_row(perpetrators="grave crimes court; Judge Example; Ministry of X"))
    found = parties(Case.objects.get(), "perpetrator")
    assert found[:2] == [court, judge]
    assert isinstance(found[2], Organisation) and found[2].name == "Ministry of X"
    assert found[2].kind == Organisation.Kind.OTHER
    assert Person.objects.count() == 1


def test_a_perpetrator_named_earlier_in_the_file_is_the_same_party(coordinator, tmp_path):
    """As it would be if the earlier rows had been imported first."""
    import_rows(tmp_path, coordinator,
                case_row(reference="AZ-2020-001", lawyers="Officer Newname"),
                case_row(reference="AZ-2020-002", perpetrators="officer newname; New Court"))
    officer = Person.objects.get(name="Officer Newname")
    second = Case.objects.get(reference="AZ-2020-002")
    assert parties(second, "perpetrator")[0] == officer
    assert not Organisation.objects.filter(name="Officer Newname").exists()
    assert Organisation.objects.filter(name="New Court").count() == 1


def test_vocabulary_by_slug_or_label_and_country_by_code_or_name(coordinator, tmp_path):
    import_rows(tmp_path, coordinator, case_row(
        country="azerbaijan", violations="CYBER-ATTACK; smear campaign",
        rights="Freedom of Expression"))
    case = Case.objects.get()
    assert case.country.code == "AZ"
    assert sorted(case.violations.values_list("slug", flat=True)) == [
        "cyber-attack", "smear-campaign"]
    assert list(case.rights.values_list("slug", flat=True)) == ["expression"]


def test_sources_match_by_url_or_are_created_as_drafts(coordinator, tmp_path):
    known = factories.make_source(coordinator, url="https://example.org/known")
    import_rows(tmp_path, coordinator, case_row(
        sources="https://example.org/known; https://example.org/new"))
    case = Case.objects.get()
    assert set(case.sources.all()) == {known, Source.objects.get(url="https://example.org/new")}
    new = Source.objects.get(url="https://example.org/new")
    assert (new.status, new.version, new.created_by) == (Status.DRAFT, 1, coordinator)
    assert new.history.get().history_change_reason == "import from cases.csv"
    assert new.history.get().history_user == coordinator


def test_a_name_shared_by_two_people_keeps_the_one_already_in_the_case(coordinator, tmp_path):
    factories.make_person(coordinator, name="Ali Aliyev")
    second = factories.make_person(coordinator, name="Ali Aliyev")
    case = factories.make_case(coordinator, reference="AZ-2020-001", title="A case")
    factories.involve(case, second)
    import_rows(tmp_path, coordinator, case_row(defenders="Ali Aliyev"))
    assert parties(case, "targeted") == [second]
    assert case.history.count() == 1  # unchanged: skipped


def test_namesakes_in_one_case_stay_apart_on_the_round_trip(coordinator, tmp_path):
    from casework.exchange import case_csv

    first = factories.make_person(coordinator, name="Anonymous")
    second = factories.make_person(coordinator, name="Anonymous")
    court = factories.make_organisation(coordinator, name="Same Name")
    officer = factories.make_person(coordinator, name="Same Name")
    case = factories.make_case(coordinator, reference="AZ-2020-001", title="A case")
    for party in (first, second):
        factories.involve(case, party)
    for party in (court, officer):
        factories.involve(case, party, role="perpetrator")
    path = tmp_path / "cases.csv"
    path.write_text("".join(case_csv(Case.objects.all(), public=False)), encoding="utf-8")
    assert "Anonymous; Anonymous" in path.read_text(encoding="utf-8")
    out = StringIO()
    call_command("import_cases", str(path), user=coordinator.username, stdout=out)
    assert "0 updated, 1 unchanged" in out.getvalue()
    assert sorted(parties(case, "targeted"), key=lambda p: p.pk) == [first, second]
    assert set(parties(case, "perpetrator")) == {court, officer}


def test_invisible_characters_pasted_into_names_are_ignored(coordinator, tmp_path):
    emin = factories.make_person(coordinator, name="Emin Hüseynov")
    import_rows(tmp_path, coordinator,
                case_row(defenders="Emin Hüseynov\u200b; \ufeffNew\u00adcomer"))
    case = Case.objects.get()
    assert parties(case, "targeted")[0] == emin
    assert Person.objects.filter(name="Newcomer").exists()


def test_sources_are_compared_by_web_address_on_reimport(coordinator, tmp_path):
    from casework.exchange import case_csv

    twice = [factories.make_source(coordinator, url="https://example.org/a") for _ in range(2)]
    other = factories.make_source(coordinator, url="https://example.org/b")
    case = factories.make_case(coordinator, reference="AZ-2020-001", title="A case")
    case.sources.set([*twice, other])
    path = tmp_path / "cases.csv"
    path.write_text("".join(case_csv(Case.objects.all(), public=False)), encoding="utf-8")
    out = StringIO()
    call_command("import_cases", str(path), user=coordinator.username, stdout=out)
    assert "0 updated, 1 unchanged" in out.getvalue()

    import_rows(tmp_path, coordinator, case_row(
        title="A case", sources="https://example.org/a; https://example.org/c"))
    assert set(case.sources.values_list("url", flat=True)) == {
        "https://example.org/a", "https://example.org/c"}
    assert set(twice) <= set(case.sources.all())  # both records of the address stay


def test_a_stored_name_holding_an_invisible_character_still_matches(coordinator, tmp_path):
    pasted = factories.make_person(coordinator, name="Emin\u200b Hüseynov")
    import_rows(tmp_path, coordinator, case_row(defenders="Emin Hüseynov"))
    assert parties(Case.objects.get(), "targeted") == [pasted]
    assert Person.objects.count() == 1


def test_a_namesake_named_by_an_alias_is_not_taken_twice(coordinator, tmp_path):
    first = factories.make_person(coordinator, name="Anonymous", other_names="Anon")
    second = factories.make_person(coordinator, name="Anonymous")
    case = factories.make_case(coordinator, reference="AZ-2020-001", title="A case")
    for person in (first, second):
        factories.involve(case, person)
    for cell in ("Anon; Anonymous", "Anonymous; Anon"):  # in either order
        import_rows(tmp_path, coordinator, case_row(title="A case", defenders=cell))
        assert sorted(parties(case, "targeted"), key=lambda p: p.pk) == [first, second]
        assert case.history.count() == 1  # unchanged: skipped


def test_joiners_in_persian_and_kurdish_names_are_kept_but_not_needed_to_match(
        coordinator, tmp_path):
    stored = factories.make_person(coordinator, name="Mohammadreza")
    import_rows(tmp_path, coordinator,
                case_row(defenders="Mohammad\u200creza; Newname\u200cwith Joiner"))
    case = Case.objects.get()
    assert parties(case, "targeted")[0] == stored
    assert Person.objects.filter(name="Newname\u200cwith Joiner").exists()


@pytest.mark.parametrize("written, code", [
    ("Cote d'Ivoire", "CI"), ("Côte d’Ivoire", "CI"), ("united  states", "US"), ("UK", "GB"),
    ("Türkiye", "TR"), ("Turkey", "TR"), ("Kosovo", "XK"), ("xk", "XK"),
    ("Republic of Moldova", "MD"), ("Moldova, Republic of", "MD"), ("Moldova", "MD"),
    ("Kyrgyz Republic", "KG"), ("The Netherlands", "NL"), ("the Gambia", "GM"),
    ("The Bahamas", "BS"), ("Bosnia", "BA"), ("Korea, Republic of", "KR"),
    ("Republic of Korea", "KR"), ("South Korea", "KR"), ("Ivory Coast", "CI"),
    ("Great Britain", "GB"), ("Burma", "MM"), ("Vatican", "VA"), ("Holy See", "VA"),
    ("U.S.", "US"), ("Nauru", "NR"), ("Swaziland", "SZ"), ("Russian Federation", "RU"),
    ("Russia", "RU"), ("Iran (Islamic Republic of)", "IR"), ("Islamic Republic of Iran", "IR")])
def test_countries_match_by_name_ignoring_accents_and_by_common_short_names(written, code):
    from django_countries import countries

    from casework.importing import country_code

    assert country_code(written) == code
    assert countries.name("NR") == "Nauru"  # as pages, reports and exports name it
