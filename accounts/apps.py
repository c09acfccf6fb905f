from django.apps import AppConfig
from django.db.models.signals import post_migrate


def grant_administrators_everything(sender, **kwargs):
    """The Administrator role holds every permission, including those of apps added later."""
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.filter(name="Administrator").first()
    if group is not None:
        missing = Permission.objects.exclude(group=group)
        if missing.exists():
            group.permissions.add(*missing)


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and audit"

    def ready(self) -> None:
        from accounts import signals  # noqa: F401  (audit log of sign-ins and role changes)

        post_migrate.connect(grant_administrators_everything, sender=self)
