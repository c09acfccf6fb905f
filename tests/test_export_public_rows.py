"""case_rows(public=True), the serialiser behind the public download, after its rewrite
for speed: only published cases, people, organisations and sources; public names only."""

import pytest

from casework.exchange import case_row, case_rows
from casework.models import Case
from tests import factories

pytestmark = pytest.mark.django_db


def test_public_rows_show_only_published_records_and_public_names(researcher, verifier):
    case = factories.make_case(researcher, reference="AZ-2016-001", title="Public case")
    named = factories.publish(factories.make_person(researcher, name="Named Defender",
                                                    identity_public=True), researcher, verifier)
    withheld = factories.publish(factories.make_person(researcher, name="Secret Real Name",
                                                       pseudonym="Defender A"),
                                 researcher, verifier)
    unpublished = factories.make_person(researcher, name="Draft Person", identity_public=True)
    court = factories.publish(factories.make_organisation(researcher, name="A Court"),
                              researcher, verifier)
    draft_org = factories.make_organisation(researcher, name="Draft Ministry")
    for party in (named, withheld, unpublished):
        factories.involve(case, party)
    factories.involve(case, court, role="perpetrator")
    factories.involve(case, draft_org, role="perpetrator")
    case.sources.set([
        factories.publish(factories.make_source(researcher, url="https://pub.example/1"),
                          researcher, verifier),
        factories.make_source(researcher, url="https://draft.example/2"),
    ])
    factories.make_case(researcher, reference="AZ-2016-002")  # a draft case
    restricted = factories.make_case(researcher, reference="AZ-2016-003", restricted=True)
    factories.publish(restricted, researcher, verifier)
    factories.publish(case, researcher, verifier)

    rows = list(case_rows(Case.objects.all(), public=True))
    assert [row["reference"] for row in rows] == ["AZ-2016-001"]
    row = rows[0]
    assert row["defenders"] == "Named Defender; Defender A"
    assert row["perpetrators"] == "A Court"
    assert row["sources"] == "https://pub.example/1"
    assert "Secret" not in str(rows) and "Draft" not in str(rows)
    assert case_row(case, public=True) == row

    internal = case_row(case, public=False)
    assert internal["defenders"] == "Named Defender; Secret Real Name; Draft Person"
    assert internal["perpetrators"] == "A Court; Draft Ministry"


def test_rows_stream_in_chunks_with_a_constant_number_of_queries_per_chunk(
    researcher, django_assert_num_queries
):
    for n in range(5):
        case = factories.make_case(researcher, reference=f"AZ-2016-{n:03d}")
        factories.involve(case, factories.make_person(researcher))
    with django_assert_num_queries(3 * 6):  # per page of 2: the page, then 5 relations
        rows = list(case_rows(Case.objects.all(), public=False, chunk_size=2))
    assert [row["reference"] for row in rows] == [f"AZ-2016-{n:03d}" for n in range(5)]
