"""python manage.py export_statements [--status STATUS] [--output FILE] [--user USERNAME]

Writes statements in the CSV exchange format, the format import_statements reads.
"""

from casework.exchange import STATEMENT_COLUMNS, csv_lines, statement_rows
from casework.management.commands.export_cases import ExportCommand
from casework.models import Case, Statement


class Command(ExportCommand):
    help = __doc__
    kind = "statements"
    permission = "casework.export_statement"
    columns = STATEMENT_COLUMNS

    def queryset(self, user):
        return Statement.objects.all()

    def lines(self, queryset, user):
        # The `cases` column names only cases the --user may see.
        cases = Case.objects.visible_to(user) if user is not None else None
        return csv_lines(statement_rows(queryset, cases=cases), self.columns)
