"""Users and the append-only audit log."""

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import F
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """Casework's user; custom from the first migration so it can grow without pain."""

    # Part of the session hash: bumping it ends every session of this user at once.
    session_generation = models.PositiveIntegerField(default=0, editable=False)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def _get_session_auth_hash(self, secret=None):
        return salted_hmac(
            "accounts.User.get_session_auth_hash",
            f"{self.password}:{self.session_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def sign_out_everywhere(self) -> None:
        """End all of this user's sessions, on every device."""
        User.objects.filter(pk=self.pk).update(session_generation=F("session_generation") + 1)
        self.refresh_from_db(fields=["session_generation"])


def client_address(request) -> str | None:
    """The client's address as the reverse proxy hands it to us (REMOTE_ADDR)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionDenied("The audit log is append-only.")

    def delete(self):
        raise PermissionDenied("The audit log is append-only.")


class AuditManager(models.Manager.from_queryset(AuditQuerySet)):
    def record(self, action: str, *, user=None, request=None, obj=None, **details) -> "AuditEvent":
        """Append one entry. `details` must never hold confidential field values."""
        request_user = getattr(request, "user", None)
        if user is None and getattr(request_user, "is_authenticated", False):
            user = request_user
        return self.create(
            action=action,
            actor=user if user is not None and user.pk else None,
            actor_username=getattr(user, "username", "") or "",
            object_type=obj._meta.label_lower if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            # A record may name itself otherwise here (a person whose name is withheld).
            object_label=str(getattr(obj, "audit_label", obj))[:200] if obj is not None else "",
            ip_address=client_address(request),
            details=details,
        )


class AuditEvent(models.Model):
    """Who did what, when, from where. Append-only: no update, no delete."""

    class Action(models.TextChoices):
        SIGN_IN = "sign_in", _("sign-in")
        SIGN_IN_FAILED = "sign_in_failed", _("failed sign-in")
        SIGN_OUT = "sign_out", _("sign-out")
        LOCKOUT = "lockout", _("lockout")
        TRANSITION = "transition", _("workflow transition")
        IMPORT = "import", _("import")
        EXPORT = "export", _("export")
        RESTORE = "restore", _("restore")
        DELETE = "delete", _("deletion")
        ROLE_CHANGE = "role_change", _("role change")
        PERMISSION_CHANGE = "permission_change", _("permission change")

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    actor = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept when the account is deleted, so the log still says who it was.
    actor_username = models.CharField(max_length=150, blank=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    objects = AuditManager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # Admin filter "actions of this kind, newest first".
            models.Index(fields=["action", "-at"], name="audit_action_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_username or '-'} {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionDenied("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionDenied("The audit log is append-only.")
