"""Ship the controlled vocabulary; administrators may edit it afterwards."""

from django.db import migrations

VIOLATIONS = [
    ("arbitrary-detention", "Arbitrary detention"),
    ("imprisonment", "Imprisonment"),
    ("judicial-harassment", "Judicial harassment"),
    ("disbarment", "Disbarment"),
    ("ill-treatment", "Ill-treatment"),
    ("cyber-attack", "Cyber-attack"),
    ("smear-campaign", "Smear campaign"),
    ("censorship", "Censorship"),
    ("restrictive-law", "Restrictive law"),
    ("travel-ban", "Travel ban"),
    ("funding-restriction", "Funding restriction"),
    ("intimidation", "Intimidation"),
    ("surveillance", "Surveillance"),
    ("physical-attack", "Physical attack"),
    ("killing", "Killing"),
    ("enforced-disappearance", "Enforced disappearance"),
    ("protest-disruption", "Protest disruption"),
]
RIGHTS = [
    ("expression", "Freedom of expression"),
    ("association", "Freedom of association"),
    ("peaceful-assembly", "Freedom of peaceful assembly"),
]


def add_terms(apps, schema_editor):
    for model_name, terms in (("ViolationType", VIOLATIONS), ("Right", RIGHTS)):
        model = apps.get_model("casework", model_name)
        for slug, label in terms:
            model.objects.get_or_create(slug=slug, defaults={"label": label})


class Migration(migrations.Migration):
    dependencies = [("casework", "0001_initial")]
    operations = [migrations.RunPython(add_terms, migrations.RunPython.noop)]
