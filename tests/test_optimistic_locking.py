import pytest

from casework.models import Case, StaleRecordError
from tests import factories

pytestmark = pytest.mark.django_db


def test_second_save_of_a_stale_copy_is_refused(researcher):
    case = factories.make_case(researcher, title="Original")
    first = Case.objects.get(pk=case.pk)
    second = Case.objects.get(pk=case.pk)
    first.title = "First editor"
    first.save()
    second.title = "Second editor"
    with pytest.raises(StaleRecordError, match="changed by someone else"):
        second.save()
    assert Case.objects.get(pk=case.pk).title == "First editor"


def _change_form_data(case, **overrides):
    data = {
        "reference": case.reference, "title": case.title, "summary": case.summary,
        "country": case.country.code, "location": case.location, "situation": case.situation,
        "started_on": "", "started_on_precision": "", "ended_on": "", "ended_on_precision": "",
        "internal_notes": case.internal_notes, "version": case.version,
        "involvements-TOTAL_FORMS": "0", "involvements-INITIAL_FORMS": "0",
        "involvements-MIN_NUM_FORMS": "0", "involvements-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_admin_refuses_the_second_of_two_concurrent_edits(researcher, researcher_client,
                                                          other_researcher):
    case = factories.make_case(researcher, title="Original title")
    url = f"/admin/casework/case/{case.pk}/change/"
    loaded_by_both = _change_form_data(case)

    other = factories.signed_in_client(other_researcher)
    first = other.post(url, {**loaded_by_both, "title": "Title by the first editor"})
    assert first.status_code == 302

    second = researcher_client.post(url, {**loaded_by_both, "summary": "Summary by the second"})
    assert second.status_code == 200
    assert "Someone else saved this record" in second.text
    # The message says who changed what since the second editor opened the record.
    assert f"{other_researcher.username} at" in second.text
    assert "title" in second.text.split("Changes since")[1].split("Open the record")[0]
    case.refresh_from_db()
    assert case.title == "Title by the first editor"
    assert case.summary == ""
