"""The review workflow: every allowed and forbidden transition, and the two-person rule."""

import pytest

from casework.models import Status, WorkflowError
from tests import factories

pytestmark = pytest.mark.django_db


def test_full_path_draft_to_published(researcher, verifier):
    case = factories.make_case(researcher)
    assert case.status == Status.DRAFT
    case.submit_for_review(researcher)
    assert case.status == Status.IN_REVIEW
    case.verify(verifier)
    assert case.status == Status.VERIFIED and case.verified_by == verifier
    case.publish(verifier)
    case.refresh_from_db()
    assert case.status == Status.PUBLISHED and case.published_by == verifier
    assert case.published_at is not None


def test_coordinator_may_publish_a_verified_case(researcher, verifier, coordinator):
    case = factories.make_case(researcher)
    case.submit_for_review(researcher)
    case.verify(verifier)
    case.publish(coordinator)
    assert case.status == Status.PUBLISHED


@pytest.mark.parametrize("status_path,action", [
    ([], "verify"),
    ([], "publish"),
    ([], "retract"),
    ([], "send_back"),
    (["submit_for_review"], "publish"),
    (["submit_for_review"], "submit_for_review"),
    (["submit_for_review"], "retract"),
    (["submit_for_review", "verify"], "verify"),
    (["submit_for_review", "verify"], "submit_for_review"),
    (["submit_for_review", "verify"], "retract"),
    (["submit_for_review", "verify", "publish"], "publish"),
    (["submit_for_review", "verify", "publish"], "verify"),
    (["submit_for_review", "verify", "publish"], "send_back"),
    (["submit_for_review", "verify", "publish"], "submit_for_review"),
])
def test_transition_from_wrong_status_is_refused(researcher, verifier, administrator,
                                                 status_path, action):
    case = factories.make_case(researcher)
    for step in status_path:
        getattr(case, step)(verifier if step != "submit_for_review" else researcher)
    before = case.status
    with pytest.raises(WorkflowError, match="can be"):
        if action in ("send_back", "retract"):
            getattr(case, action)(administrator, "a note")
        else:
            getattr(case, action)(administrator)
    case.refresh_from_db()
    assert case.status == before


def test_send_back_from_review_and_from_verified_needs_a_note(researcher, verifier):
    case = factories.make_case(researcher)
    case.submit_for_review(researcher)
    with pytest.raises(WorkflowError, match="note is required"):
        case.send_back(verifier, "  ")
    case.send_back(verifier, "Second source needed for the sentence date")
    case.refresh_from_db()
    assert case.status == Status.DRAFT
    assert case.review_note == "Second source needed for the sentence date"
    case.submit_for_review(researcher)
    case.verify(verifier)
    case.send_back(verifier, "Wrong country")
    assert case.status == Status.DRAFT


def test_retract_needs_a_reason_and_takes_the_case_off_the_public_view(published_case, verifier):
    with pytest.raises(WorkflowError, match="reason is required"):
        published_case.retract(verifier, "")
    published_case.retract(verifier, "Victim asked us to take it down")
    assert published_case.status == Status.RETRACTED
    assert not published_case.__class__.objects.published().filter(pk=published_case.pk).exists()


def test_retracted_case_can_be_resubmitted(published_case, researcher, verifier):
    published_case.retract(verifier, "Needs rework")
    published_case.submit_for_review(researcher)
    assert published_case.status == Status.IN_REVIEW


def test_two_person_rule_creator_cannot_verify(administrator, verifier):
    case = factories.make_case(administrator)
    case.submit_for_review(administrator)
    with pytest.raises(WorkflowError, match="Two-person rule"):
        case.verify(administrator)
    case.verify(verifier)
    assert case.status == Status.VERIFIED


def test_two_person_rule_last_editor_cannot_verify(researcher, administrator, verifier):
    case = factories.make_case(researcher)
    case.title = "Edited by the administrator"
    case.updated_by = administrator
    case.save()
    case.submit_for_review(researcher)
    with pytest.raises(WorkflowError, match="Two-person rule"):
        case.verify(administrator)


@pytest.mark.parametrize("role,action", [
    ("Researcher", "verify"), ("Researcher", "publish"), ("Researcher", "retract"),
    ("Researcher", "send_back"), ("Verifier", "submit_for_review"),
    ("Coordinator", "verify"), ("Coordinator", "submit_for_review"),
])
def test_role_without_permission_is_refused(researcher, verifier, role, action):
    actor = factories.make_user(role)
    case = factories.make_case(researcher)
    # Put the case where the action would otherwise be allowed.
    if action in ("verify", "send_back"):
        case.submit_for_review(researcher)
    elif action == "publish":
        case.submit_for_review(researcher)
        case.verify(verifier)
    elif action == "retract":
        factories.publish(case, researcher, verifier)
    with pytest.raises(WorkflowError, match="permission"):
        if action in ("send_back", "retract"):
            getattr(case, action)(actor, "note")
        else:
            getattr(case, action)(actor)


def test_status_cannot_be_assigned_directly(researcher):
    case = factories.make_case(researcher)
    case.status = Status.PUBLISHED
    case.save()
    case.refresh_from_db()
    assert case.status == Status.DRAFT


def test_new_record_always_starts_as_draft(researcher):
    case = factories.make_case(researcher, status=Status.PUBLISHED)
    assert case.status == Status.DRAFT


@pytest.mark.parametrize("maker", ["make_statement", "make_person", "make_organisation",
                                   "make_source"])
def test_other_records_share_the_workflow(researcher, verifier, maker):
    record = getattr(factories, maker)(researcher)
    with pytest.raises(WorkflowError):
        record.publish(verifier)
    factories.publish(record, researcher, verifier)
    assert type(record).objects.published().filter(pk=record.pk).exists()


def test_transitions_are_audited(researcher, verifier):
    from accounts.models import AuditEvent

    case = factories.make_case(researcher)
    factories.publish(case, researcher, verifier)
    events = AuditEvent.objects.filter(action="transition", object_id=str(case.pk))
    assert [e.details["transition"] for e in events.order_by("id")] == [
        "submit_for_review", "verify", "publish"]
    assert events.filter(actor=verifier).count() == 2
