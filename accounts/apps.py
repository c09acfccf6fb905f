from django.apps import AppConfig
from django.db.models.signals import post_migrate


def grant_administrators_everything(sender, **kwargs):
    """The Administrator role holds every permission, including those of apps added later."""
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.filter(name="Administrator").first()
    if group is not None:
        group.permissions.set(Permission.objects.all())


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and audit"

    def ready(self) -> None:
        post_migrate.connect(grant_administrators_everything, sender=self)
