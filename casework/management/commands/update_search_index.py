"""python manage.py update_search_index [--rebuild] [--every SECONDS]

Brings the search index of the published cases (casework.search_index) in the
CASEWORK_SEARCH_INDEX directory up to date: nothing to do when no public change has
committed since it was last updated; otherwise the cases written since are indexed
again, or the whole index is built anew (the first time, after many changes, after a
case was deleted or a restart of the database server). Until then PostgreSQL answers
the searches, exactly and more slowly. Run it from cron every minute, or as a service
with --every (a check every few seconds costs one query); one runs at a time.
"""

import fcntl
import logging
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from casework import search_index

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true",
                            help="Build the whole index anew, even if it is current.")
        parser.add_argument("--every", type=float, metavar="SECONDS",
                            help="Keep running: check again every SECONDS (a service; "
                                 "reports only what it changes).")

    def handle(self, *args, **options):
        if search_index.database_alias() is None:
            raise CommandError("The search index needs CASEWORK_SEARCH_INDEX (a directory) "
                               "and a PostgreSQL database.")
        every, rebuild = options["every"], options["rebuild"]
        if not every:
            self.bring_up_to_date(rebuild, quiet=False)
            return
        while True:
            try:
                self.bring_up_to_date(rebuild, quiet=True)
                rebuild = False
            except CommandError as error:  # a standby: said without a traceback
                logger.warning("search index not updated: %s", error)
            except BaseException as error:  # the database restarting, a full disk, a
                if search_index.stops_the_process(error):  # Tantivy panic
                    raise
                logger.exception("search index update failed; trying again in %s s", every)
            close_old_connections()
            time.sleep(every)

    def bring_up_to_date(self, rebuild: bool, quiet: bool) -> None:
        base, alias = search_index.directory(), search_index.database_alias()
        base.mkdir(parents=True, exist_ok=True)
        with open(base / ".lock", "w") as lock:
            try:  # a rebuild waits its turn; an update leaves the work to the one running
                fcntl.flock(lock, fcntl.LOCK_EX | (0 if rebuild else fcntl.LOCK_NB))
            except BlockingIOError:  # (cron starts one a minute; a build takes longer)
                if not quiet:
                    self.stdout.write(f"Another update of {base} is running: left to it.")
                return
            opened = search_index.current()
            if not rebuild and opened is not None and search_index.is_current(alias, opened[2]):
                meta = opened[2]
                if not quiet:
                    self.stdout.write(
                        f"The search index is current ({meta['cases']:,} cases, as of "
                        f"{meta.get('updated_at') or meta['built_at']}).")
                return
            started = time.monotonic()
            try:  # (a standby is refused before anything is written)
                if rebuild or opened is None:
                    self.stdout.write(f"Building the search index in {base} …")
                    meta = search_index.build(progress=self.stdout.write)
                else:
                    meta = search_index.update(progress=self.stdout.write)
            except search_index.Standby as error:
                raise CommandError(str(error)) from None
            how = "built" if meta["changed"] is None else "updated"
            self.stdout.write(self.style.SUCCESS(
                f"Search index {how}: {meta['cases']:,} published cases, in "
                f"{time.monotonic() - started:.1f} s."))
