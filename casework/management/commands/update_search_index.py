"""python manage.py update_search_index [--force]

Builds the search index of the published cases (casework.search_index) in the
CASEWORK_SEARCH_INDEX directory, unless it is already current: no public change has
committed since it was built. Until it is rebuilt after a change, PostgreSQL answers the
searches, exactly and more slowly. Run it from cron or a timer, e.g. every minute; at a
million cases a build takes a few minutes and one runs at a time.
"""

import fcntl
import time

from django.core.management.base import BaseCommand, CommandError

from casework import search_index


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true",
                            help="Build even if the index is current.")

    def handle(self, *args, **options):
        alias = search_index.database_alias()
        if alias is None:
            raise CommandError("The search index needs CASEWORK_SEARCH_INDEX (a directory) "
                               "and a PostgreSQL database.")
        base = search_index.directory()
        base.mkdir(parents=True, exist_ok=True)
        with open(base / ".lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CommandError(f"Another build of {base} is running.") from None
            opened = search_index.current()
            if (not options["force"] and opened is not None
                    and search_index.is_current(alias, opened[2])):
                self.stdout.write(f"The search index is current ({opened[2]['cases']:,} "
                                  f"cases, built {opened[2]['built_at']}).")
                return
            self.stdout.write(f"Building the search index in {base} …")
            started = time.monotonic()
            meta = search_index.build(progress=self.stdout.write)
            self.stdout.write(self.style.SUCCESS(
                f"Search index built: {meta['cases']:,} published cases in "
                f"{time.monotonic() - started:.1f} s."))
