"""python manage.py import_cases FILE --user USERNAME [--dry-run]

Imports cases in the CSV exchange format (docs/csv-format.md) as drafts. All or nothing:
any error in the file and nothing is written; every error is listed, with its row and
column. Exits non-zero when there is an error.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from casework.importing import ImportFileError, counted, import_together, max_bytes, read_csv


class ImportCommand(BaseCommand):
    kind = "cases"
    permission = "casework.import_case"

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file in the exchange format (UTF-8)")
        parser.add_argument(
            "--user", required=True,
            help="Username the import is recorded under (history, audit log); that user "
                 "must hold the import permission (Coordinator or Administrator).",
        )
        parser.add_argument("--dry-run", action="store_true",
                            help="Check the file and show what would change; write nothing.")

    def permissions(self, options) -> list[str]:
        return [self.permission]

    def _user(self, username: str, permissions: list[str]):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f'No active user "{username}".')
        if not all(user.has_perm(perm) for perm in permissions):
            raise CommandError(f'"{username}" may not import {self.kind} '
                               "(only Coordinators and Administrators may).")
        return user

    def _read(self, path: str) -> tuple[bytes, str]:
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"{path}: no such file.")
        size = file.stat().st_size
        if size > max_bytes():
            # Refuse before reading a huge file into memory, in read_csv's words.
            try:
                read_csv(b"", file.name, [], size=size)
            except ImportFileError as error:
                raise CommandError(str(error)) from None
        return file.read_bytes(), file.name

    def _progress(self, phase: str, done: int, total: int) -> None:
        if total >= 1000:
            self.stderr.write(f"{phase}: {done:,}/{total:,} rows", ending="\r" if done < total else "\n")

    def files(self, options) -> dict:
        return {"cases": self._read(options["file"])}

    def handle(self, *args, **options):
        user = self._user(options["user"], self.permissions(options))
        files = self.files(options)
        try:
            reports = import_together(user, dry_run=options["dry_run"],
                                      progress=self._progress, **files)
        except ImportFileError as error:
            raise CommandError("\n".join(error.messages)) from None
        errors = 0
        for report in reports:
            for error in report.errors:
                # Two files in one run (--cases): each error says which file it is in.
                where = f"{report.filename}: " if len(reports) > 1 else ""
                self.stderr.write(f"{where}{error}")
            errors += len(report.errors)
            self.stdout.write(report.summary())
            if report.ok and report.changes:
                self.stdout.write("What the updates change (row, reference: columns):")
                for line in report.change_lines():
                    self.stdout.write(f"  {line}")
        if errors:
            raise CommandError(f"{counted(errors, 'error')}: nothing was imported.")


class Command(ImportCommand):
    help = __doc__
