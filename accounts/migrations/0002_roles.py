"""The four roles as groups with permissions (docs/roles.md explains them)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

RECORDS = ["case", "statement", "person", "organisation", "source", "involvement"]
REVIEWABLE = ["case", "statement", "person", "organisation", "source"]
VOCABULARY = ["violationtype", "right"]


def _codenames(role: str) -> list[str]:
    view_all = [f"view_{m}" for m in RECORDS + VOCABULARY]
    edit = [f"{a}_{m}" for m in RECORDS for a in ("add", "change")]
    if role == "Researcher":
        return view_all + edit + [f"submit_{m}" for m in REVIEWABLE]
    if role == "Verifier":
        return view_all + [f"{a}_{m}" for m in REVIEWABLE for a in ("verify", "publish", "retract")]
    if role == "Coordinator":
        return (
            view_all + edit
            + [f"{a}_{m}" for m in REVIEWABLE for a in ("publish", "retract")]
            + ["import_case", "export_case", "import_statement", "export_statement", "view_reports"]
        )
    raise ValueError(role)


def create_roles(apps, schema_editor):
    # Permissions are normally created after migrate; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role in ("Researcher", "Verifier", "Coordinator"):
        group, _ = Group.objects.get_or_create(name=role)
        perms = Permission.objects.filter(
            content_type__app_label="casework", codename__in=_codenames(role)
        )
        group.permissions.set(perms)
    administrator, _ = Group.objects.get_or_create(name="Administrator")
    administrator.permissions.set(Permission.objects.all())


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("casework", "0002_vocabulary"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("sessions", "0001_initial"),
    ]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
