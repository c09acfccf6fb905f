"""python manage.py export_cases [--status STATUS] [--output FILE] [--user USERNAME]

Writes cases in the CSV exchange format (docs/csv-format.md), the format import_cases
reads, streamed row by row. The export is recorded in the audit log before the first row
is written: under --user when given (who must hold the export permission), else under the
operating-system account.
"""

import getpass

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.models import AuditEvent
from casework.exchange import CASE_COLUMNS, case_csv
from casework.models import Case, Status


class ExportCommand(BaseCommand):
    kind = "cases"
    permission = "casework.export_case"
    columns = CASE_COLUMNS

    def add_arguments(self, parser):
        parser.add_argument("--status", choices=list(Status.values),
                            help="Only records in this workflow status (default: all).")
        parser.add_argument("--output", metavar="FILE", help="Write here instead of stdout.")
        parser.add_argument("--user", help="Username the export is recorded under.")

    def queryset(self, user):
        """Every case; under --user, the cases that user may see (restricted ones only
        for their author, verifiers and administrators)."""
        return Case.objects.all() if user is None else Case.objects.visible_to(user)

    def lines(self, queryset, user):
        return case_csv(queryset, public=False)

    def handle(self, *args, **options):
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"],
                                                   is_active=True).first()
            if user is None:
                raise CommandError(f'No active user "{options["user"]}".')
            if not user.has_perm(self.permission):
                raise CommandError(f'"{user.username}" may not export {self.kind}.')
        queryset = self.queryset(user)
        if options["status"]:
            queryset = queryset.filter(status=options["status"])
        output = options["output"]
        # newline="": the csv module writes CRLF itself; a text-mode file must not touch it.
        try:
            stream = open(output, "w", encoding="utf-8", newline="") if output else None  # noqa: SIM115
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror}.") from None
        # Recorded before the first row is written, as the admin's exports are: an export
        # cut short (a broken pipe, Ctrl-C) has written rows too.
        AuditEvent.objects.record(
            AuditEvent.Action.EXPORT, user=user, kind=self.kind, via="command",
            system_user=getpass.getuser() if user is None else "",
            filters={"status": options["status"] or "any"}, rows=queryset.count(),
            output="file" if output else "stdout",
        )
        count = 0
        write = stream.write if stream else lambda line: self.stdout.write(line, ending="")
        try:
            for number, line in enumerate(self.lines(queryset, user)):
                write(line)
                count = number
        finally:
            if stream:
                stream.close()
        if output:
            self.stderr.write(f"{count} {self.kind} written to {output}.")


class Command(ExportCommand):
    help = __doc__
