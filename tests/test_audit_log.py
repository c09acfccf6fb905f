"""The audit log: who, when, what, from where; append-only; administrators read it."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied

from accounts.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


def test_role_changes_are_audited_with_the_acting_administrator(administrator_client,
                                                                 administrator, researcher):
    verifier_group = Group.objects.get(name="Verifier")
    page = administrator_client.get(f"/admin/accounts/user/{researcher.pk}/change/")
    assert page.status_code == 200
    researcher.groups.add(verifier_group)
    event = AuditEvent.objects.filter(action="role_change", object_id=str(researcher.pk)).first()
    assert event.details["roles"] == ["Verifier"] and event.details["change"] == "add"


def test_group_permission_changes_are_audited():
    from django.contrib.auth.models import Permission

    group = Group.objects.get(name="Researcher")
    group.permissions.add(Permission.objects.get(codename="delete_case"))
    event = AuditEvent.objects.filter(action="permission_change",
                                      object_id=str(group.pk)).first()  # newest first
    assert event.details["permissions"] == ["delete_case"]


def test_superuser_and_staff_flags_are_audited(researcher):
    researcher.is_superuser = True
    researcher.save()
    event = AuditEvent.objects.filter(action="permission_change",
                                      object_id=str(researcher.pk)).first()
    assert event.details == {"is_superuser": True}


def test_audit_entries_cannot_be_changed_or_deleted(researcher):
    event = AuditEvent.objects.record("export", user=researcher, rows=3)
    event.details = {"rows": 0}
    with pytest.raises(PermissionDenied):
        event.save()
    with pytest.raises(PermissionDenied):
        event.delete()
    with pytest.raises(PermissionDenied):
        AuditEvent.objects.all().delete()
    with pytest.raises(PermissionDenied):
        AuditEvent.objects.update(action="x")


def test_administrators_read_and_filter_but_cannot_edit(administrator_client, researcher):
    event = AuditEvent.objects.record("export", user=researcher, rows=3)
    listing = administrator_client.get("/admin/accounts/auditevent/", {"action__exact": "export"})
    assert listing.status_code == 200 and researcher.username in listing.text
    change = administrator_client.post(f"/admin/accounts/auditevent/{event.pk}/change/",
                                       {"action": "sign_in"})
    assert change.status_code == 403
    delete = administrator_client.post(f"/admin/accounts/auditevent/{event.pk}/delete/",
                                       {"post": "yes"})
    assert delete.status_code == 403
    assert administrator_client.get("/admin/accounts/auditevent/add/").status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk, action="export").exists()


@pytest.mark.parametrize("role", ["Researcher", "Verifier", "Coordinator"])
def test_other_roles_cannot_read_the_audit_log(role):
    client = factories.signed_in_client(factories.make_user(role))
    assert client.get("/admin/accounts/auditevent/").status_code == 403


def test_audit_never_holds_confidential_values(researcher, verifier):
    person = factories.make_person(researcher, name="SECRET Realname", pseudonym="Activist A",
                                   contact_details="SECRET-PHONE-555",
                                   internal_notes="SECRET-NOTE")
    factories.publish(person, researcher, verifier)
    events = AuditEvent.objects.filter(object_id=str(person.pk))
    assert events.count() == 3  # submitted, verified, published
    assert "SECRET" not in str(list(AuditEvent.objects.values()))
    assert {event.object_label for event in events} == {f"Activist A (person #{person.pk})"}
    shown = factories.publish(factories.make_person(researcher, name="Public Name",
                                                    identity_public=True), researcher, verifier)
    assert AuditEvent.objects.filter(object_id=str(shown.pk)).latest("id").object_label == (
        "Public Name")
