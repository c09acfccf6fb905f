"""Audit-log entries for sign-ins, sign-outs, lockouts, and role and permission changes.

Only names and identifiers are recorded, never passwords or other credentials.
"""

import time

from axes.signals import user_locked_out
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_save, pre_save
from django.dispatch import receiver
from simple_history.models import HistoricalRecords

from accounts.middleware import SIGNED_IN_AT
from accounts.models import AuditEvent, User


def _current_request():
    return getattr(HistoricalRecords.context, "request", None)


@receiver(user_logged_in)
def signed_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = time.time()
    AuditEvent.objects.record(AuditEvent.Action.SIGN_IN, user=user, request=request,
                              step="password")


@receiver(user_login_failed)
def sign_in_failed(sender, credentials, request=None, **kwargs):
    # credentials holds the username and a masked password; keep the username only.
    AuditEvent.objects.record(AuditEvent.Action.SIGN_IN_FAILED, request=request,
                              username=str(credentials.get("username", ""))[:150])


@receiver(user_logged_out)
def signed_out(sender, request, user, **kwargs):
    if user is not None:
        AuditEvent.objects.record(AuditEvent.Action.SIGN_OUT, user=user, request=request)


@receiver(user_locked_out)
def locked_out(sender, request, username=None, ip_address=None, **kwargs):
    AuditEvent.objects.record(AuditEvent.Action.LOCKOUT, request=request,
                              username=str(username or "")[:150])


@receiver(m2m_changed, sender=User.groups.through)
def roles_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    request = _current_request()
    if reverse:  # group.user_set.add(...): instance is the group
        names = list(User.objects.filter(pk__in=pk_set or []).values_list("username", flat=True))
        AuditEvent.objects.record(AuditEvent.Action.ROLE_CHANGE, request=request, obj=instance,
                                  change=action.removeprefix("post_"), users=names)
    else:
        groups = list(Group.objects.filter(pk__in=pk_set or []).values_list("name", flat=True))
        AuditEvent.objects.record(AuditEvent.Action.ROLE_CHANGE, request=request, obj=instance,
                                  change=action.removeprefix("post_"), roles=groups)


@receiver(m2m_changed, sender=User.user_permissions.through)
@receiver(m2m_changed, sender=Group.permissions.through)
def permissions_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    from django.contrib.auth.models import Permission

    codenames = sorted(Permission.objects.filter(pk__in=pk_set or []).values_list(
        "codename", flat=True)) if not reverse else []
    AuditEvent.objects.record(AuditEvent.Action.PERMISSION_CHANGE, request=_current_request(),
                              obj=instance, change=action.removeprefix("post_"),
                              permissions=codenames[:200])


_FLAGS = ("is_active", "is_staff", "is_superuser")


@receiver(pre_save, sender=User)
def remember_flags(sender, instance, **kwargs):
    if instance.pk:
        instance._old_flags = User.objects.filter(pk=instance.pk).values(*_FLAGS).first()


@receiver(post_save, sender=User)
def flags_changed(sender, instance, created, **kwargs):
    old = getattr(instance, "_old_flags", None)
    if created or not old:
        return
    changed = {f: getattr(instance, f) for f in _FLAGS if old[f] != getattr(instance, f)}
    if changed:
        AuditEvent.objects.record(AuditEvent.Action.PERMISSION_CHANGE,
                                  request=_current_request(), obj=instance, **changed)
