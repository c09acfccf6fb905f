"""python manage.py update_search_index [--rebuild]

Brings the search index of the published cases (casework.search_index) in the
CASEWORK_SEARCH_INDEX directory up to date: nothing to do when no public change has
committed since it was last updated; otherwise the cases written since are indexed
again, or the whole index is built anew (the first time, after many changes, or after
a case was deleted). Until then PostgreSQL answers the searches, exactly and more
slowly. Run it from cron or a timer, e.g. every minute; one runs at a time.
"""

import fcntl
import time

from django.core.management.base import BaseCommand, CommandError

from casework import search_index


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true",
                            help="Build the whole index anew, even if it is current.")

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
            except BlockingIOError:  # (cron starts one a minute; a build takes longer)
                self.stdout.write(f"Another update of {base} is running: left to it.")
                return
            opened = search_index.current()
            if (not options["rebuild"] and opened is not None
                    and search_index.is_current(alias, opened[2])):
                meta = opened[2]
                self.stdout.write(f"The search index is current ({meta['cases']:,} cases, "
                                  f"as of {meta.get('updated_at') or meta['built_at']}).")
                return
            started = time.monotonic()
            try:
                meta = self._update(options["rebuild"] or opened is None, base)
            except search_index.Standby as error:
                raise CommandError(str(error)) from None
            how = "built" if meta["changed"] is None else "updated"
            self.stdout.write(self.style.SUCCESS(
                f"Search index {how}: {meta['cases']:,} published cases, in "
                f"{time.monotonic() - started:.1f} s."))

    def _update(self, anew: bool, base) -> dict:
        if anew:
            self.stdout.write(f"Building the search index in {base} …")
            return search_index.build(progress=self.stdout.write)
        return search_index.update(progress=self.stdout.write)
