"""Re-vetting on relation changes.

A field edit is caught by ReviewableModel.save(); changes to a record's relations
(violations, rights, sources, people involved, linked cases) are caught here, wherever
they come from: admin, import or shell.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from casework.models import Case, Involvement, Statement

_CHANGING = {"post_add", "post_remove", "post_clear"}


def _withdraw(model, instance, reverse, pk_set):
    if not reverse:
        instance.withdraw_after_edit()
    elif pk_set:
        for record in model.objects.filter(pk__in=pk_set):
            record.withdraw_after_edit()


@receiver(m2m_changed, sender=Case.violations.through)
@receiver(m2m_changed, sender=Case.rights.through)
@receiver(m2m_changed, sender=Case.sources.through)
def case_relations_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action in _CHANGING:
        # Reverse side (source.cases.add(...)): the cases in pk_set changed.
        _withdraw(Case, instance, reverse, pk_set)


@receiver(m2m_changed, sender=Statement.cases.through)
@receiver(m2m_changed, sender=Statement.signatories.through)
def statement_cases_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action in _CHANGING:
        _withdraw(Statement, instance, reverse, pk_set)


@receiver(post_save, sender=Involvement)
@receiver(post_delete, sender=Involvement)
def involvement_changed(sender, instance, **kwargs):
    case = Case.objects.filter(pk=instance.case_id).first()
    if case is not None:
        case.withdraw_after_edit()
