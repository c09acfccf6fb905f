"""python manage.py export_statements [--status STATUS] [--output FILE] [--user USERNAME]

Writes statements in the CSV exchange format, the format import_statements reads.
"""

from casework.exchange import STATEMENT_COLUMNS, csv_lines, statement_rows
from casework.management.commands.export_cases import ExportCommand
from casework.models import Statement


class Command(ExportCommand):
    help = __doc__
    kind = "statements"
    permission = "casework.export_statement"
    columns = STATEMENT_COLUMNS

    def queryset(self):
        return Statement.objects.all()

    def lines(self, queryset):
        return csv_lines(statement_rows(queryset), self.columns)
