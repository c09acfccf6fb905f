"""Exact caching of the public site's costliest figures: the home page's totals and charts
and the facet counts of the unfiltered case list, which at a million cases take seconds
to count and are the same for every visitor.

A figure is computed once, with the PostgreSQL snapshot it was computed in, and served
from the cache while no change to a public record has committed outside that snapshot.
Triggers (migration 0010_public_changes) log every such change with its transaction
id, whatever wrote it — the admin, an import, a bulk update — so a retraction is
never followed by a stale count, on any app server: each request asks the database
(one indexed query), never the cache alone.

Only a transaction that has written nothing stores a figure: one that wrote may still
roll back, and its own changes are in its figures. On SQLite nothing is cached.
"""

from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection

TIMEOUT = 24 * 3600  # an entry lives a day at most …
KEEP_CHANGES = 7  # days: … and the log keeps a week, far beyond any transaction


def _enabled() -> bool:
    return connection.vendor == "postgresql" and settings.CASEWORK_PUBLIC_CACHE


def _changed_since(snapshot: str) -> bool:
    """Whether a public change has committed that `snapshot` did not see."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM casework_publicchange "
            "WHERE xact >= pg_snapshot_xmin(%s::pg_snapshot) "
            "AND NOT pg_visible_in_snapshot(xact, %s::pg_snapshot))", [snapshot, snapshot])
        return cursor.fetchone()[0]


def cached[T](name: str, compute: Callable[[], T]) -> T:
    """compute(), or its value computed earlier if no public record changed since."""
    if not _enabled():
        return compute()
    key = f"casework:public:{name}"
    entry = cache.get(key)
    if entry is not None and not _changed_since(entry[0]):
        return entry[1]
    with connection.cursor() as cursor:
        # Taken before computing: a change that commits meanwhile may be in the figure
        # too, and will make the entry stale at once (never the other way round).
        cursor.execute("SELECT pg_current_snapshot()::text, "
                       "pg_current_xact_id_if_assigned() IS NULL")
        snapshot, read_only = cursor.fetchone()
    value = compute()
    if read_only:
        cache.set(key, (snapshot, value), TIMEOUT)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM casework_publicchange "
                           "WHERE logged_at < now() - make_interval(days => %s)", [KEEP_CHANGES])
    return value
