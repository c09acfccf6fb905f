"""python manage.py clear_import_uploads [--older-than HOURS]

Deletes admin import uploads whose preview was never confirmed (casework.uploads). Run it
from cron, e.g. hourly; a confirmation after the files are gone asks for the upload again.
"""

from django.core.management.base import BaseCommand

from casework.uploads import clear_uploads, upload_dir


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=float, default=2.0, metavar="HOURS",
                            help="Delete uploads older than this many hours (default 2).")

    def handle(self, *args, **options):
        removed = clear_uploads(options["older_than"] * 3600)
        self.stdout.write(f"{removed} unconfirmed import upload(s) deleted from {upload_dir()}.")
