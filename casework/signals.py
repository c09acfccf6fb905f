"""Re-vetting on relation changes.

A field edit is caught by ReviewableModel.save(); changes to a record's relations
(violations, rights, sources, people involved, linked cases) are caught here, wherever
they come from: admin, import or shell.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from casework.models import Case, Involvement, Organisation, Right, Source, Statement, ViolationType

_CHANGING = {"post_add", "post_remove", "post_clear"}


def _withdraw(model, sender, instance, action, reverse, pk_set):
    if not reverse:
        if action in _CHANGING:
            instance.withdraw_after_edit()
        return
    if action == "pre_clear":
        # The reverse side cleared (source.cases.clear()): which records lose the link is
        # known only before.
        side = next(f for f in sender._meta.fields if f.related_model is model)
        other = next(f for f in sender._meta.fields if f.related_model is type(instance))
        instance._withdraw_ids = list(sender._base_manager.filter(
            **{other.attname: instance.pk}).values_list(side.attname, flat=True))
        return
    if action == "post_clear":
        pk_set = getattr(instance, "_withdraw_ids", ())
    if action in _CHANGING and pk_set:
        for record in model.objects.filter(pk__in=pk_set):
            record.withdraw_after_edit()


@receiver(m2m_changed, sender=Case.violations.through)
@receiver(m2m_changed, sender=Case.rights.through)
@receiver(m2m_changed, sender=Case.sources.through)
def case_relations_changed(sender, instance, action, reverse, pk_set, **kwargs):
    # Reverse side (source.cases.add(...)): the cases in pk_set changed.
    _withdraw(Case, sender, instance, action, reverse, pk_set)


@receiver(m2m_changed, sender=Statement.cases.through)
@receiver(m2m_changed, sender=Statement.signatories.through)
def statement_cases_changed(sender, instance, action, reverse, pk_set, **kwargs):
    _withdraw(Statement, sender, instance, action, reverse, pk_set)


@receiver(pre_delete, sender=ViolationType)
@receiver(pre_delete, sender=Right)
@receiver(pre_delete, sender=Source)
@receiver(pre_delete, sender=Organisation)
@receiver(pre_delete, sender=Case)
def linked_record_deleted(sender, instance, **kwargs):
    """Deleting a vocabulary term, a source, a signatory or a case takes its links with
    it by a database cascade, which sends no signal: unlink first, so that the cases and
    statements it leaves go back to draft and are searched as they now are, as for any
    other change of their links."""
    linked, field = _LINKED_BY[sender]
    # From each linking record's side, one by one: the history of its links (and
    # simple-history, which reads a change from the linking side only) need it so.
    for record in getattr(instance, linked).all():
        getattr(record, field).remove(instance)


# What links to a deleted record: (its reverse accessor, the linking record's field).
_LINKED_BY = {ViolationType: ("cases", "violations"), Right: ("cases", "rights"),
              Source: ("cases", "sources"), Organisation: ("signed_statements", "signatories"),
              Case: ("statements", "cases")}


@receiver(post_save, sender=Involvement)
@receiver(post_delete, sender=Involvement)
def involvement_changed(sender, instance, **kwargs):
    case = Case.objects.filter(pk=instance.case_id).first()
    if case is not None:
        case.withdraw_after_edit()
