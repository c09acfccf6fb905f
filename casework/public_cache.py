"""Exact caching of the public site's costliest figures: the home page's totals and charts
and each search's facet counts, which at a million cases take seconds to count and are
the same for every visitor who asks.

A figure is computed once, with the PostgreSQL snapshot it was computed in, and served
from the cache while no change to a public record has committed outside that snapshot.
Triggers (migration 0010_public_changes) log every such change with its transaction
id, whatever wrote it — the admin, an import, a bulk update — so a retraction is
never followed by a stale count, on any app server: each request asks the database
(one indexed query), never the cache alone.

The snapshot is taken, and the log read, on the database the figures are counted on.
Nothing is cached on a hot standby, whose snapshots do not list the transactions
running on the primary. Only a transaction that has
written nothing stores a figure: one that wrote may still roll back, and its own
changes are in its figures. Entries are keyed by the database's identity and its
server's start time, so a restore or another database never finds them. On SQLite
nothing is cached.
"""

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connections, router
from django.utils.translation import get_language

from casework.models import Case, Organisation, Person, Right, Statement, ViolationType

logger = logging.getLogger(__name__)

VERSION = 3  # raise when a figure is counted differently: older entries are then ignored
TIMEOUT = 24 * 3600
# The models the cached figures are counted from: all must be read from one database.
COUNTED = (Case, Person, Organisation, Statement, Right, ViolationType)


def _alias() -> str | None:
    """The database the figures are read from, or None if they are not cacheable there."""
    aliases = {router.db_for_read(model) for model in COUNTED}
    if len(aliases) != 1 or not settings.CASEWORK_PUBLIC_CACHE:
        return None
    alias = aliases.pop()
    return alias if connections[alias].vendor == "postgresql" else None


# Whether a public change has committed that a snapshot (the three parameters) did not
# see, or transaction ids went backwards (another cluster). Also the search index's test.
CHANGED_SINCE = (
    "(pg_snapshot_xmax(pg_current_snapshot()) < pg_snapshot_xmax(%s::pg_snapshot) "
    "OR EXISTS (SELECT 1 FROM casework_publicchange "
    "WHERE xact >= pg_snapshot_xmin(%s::pg_snapshot) "
    "AND NOT pg_visible_in_snapshot(xact, %s::pg_snapshot)))")


def _changed_since(database, snapshot: str) -> bool:
    with database.cursor() as cursor:
        cursor.execute(f"SELECT {CHANGED_SINCE}", [snapshot] * 3)  # noqa: S608 (constant)
        return cursor.fetchone()[0]


def cached[T](name: str, compute: Callable[[], T]) -> T:
    """compute(), or its value computed earlier if no public record changed since."""
    alias = _alias()
    if alias is None:
        return compute()
    database = connections[alias]
    with database.cursor() as cursor:
        # Taken before computing: a change that commits meanwhile may be in the figure
        # too, and will make the entry stale at once (never the other way round).
        cursor.execute(
            "SELECT system_identifier, 'casework_publicchange'::regclass::oid, "
            "extract(epoch FROM pg_postmaster_start_time()), "
            "pg_current_snapshot()::text, pg_current_xact_id_if_assigned() IS NULL, "
            "pg_is_in_recovery() FROM pg_control_system()")
        system, log_table, started, snapshot, read_only, standby = cursor.fetchone()
    if standby:
        # A hot standby's snapshots list no running transactions (it keeps them all as
        # subtransactions), so a change in flight at counting time would pass for seen.
        return compute()
    # The server's start time too: a database restored from a physical backup reuses
    # transaction ids, so a snapshot taken before the restore means nothing after it.
    key = (f"casework:public:{VERSION}:{system}:{log_table}:{started}:{get_language()}:"
           f"{name}")
    try:
        entry = cache.get(key)
    except Exception:  # the cache is down: count, as without it
        logger.warning("public figures cache unavailable", exc_info=True)
        entry, read_only = None, False
    if entry is not None and not _changed_since(database, entry[0]):
        return entry[1]
    value = compute()
    if read_only:
        try:
            cache.set(key, (snapshot, value), TIMEOUT)
        except Exception:
            logger.warning("public figures cache unavailable", exc_info=True)
    return value
