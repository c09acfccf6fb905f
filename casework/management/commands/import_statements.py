"""python manage.py import_statements FILE --user USERNAME [--cases CASES.csv] [--dry-run]

Imports statements in the CSV exchange format (docs/csv-format.md) as drafts. Their
`cases` must exist in the database, or be in the cases file given with --cases, which
is then imported first in the same all-or-nothing run.
"""

from casework.management.commands.import_cases import ImportCommand


class Command(ImportCommand):
    help = __doc__
    kind = "statements"
    permission = "casework.import_statement"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--cases", metavar="CASES.csv",
                            help="Cases file to import in the same run, before the statements.")

    def permissions(self, options) -> list[str]:
        return [self.permission] + (["casework.import_case"] if options.get("cases") else [])

    def files(self, options) -> dict:
        files = {"statements": self._read(options["file"])}
        if options.get("cases"):
            files["cases"] = self._read(options["cases"])
        return files
