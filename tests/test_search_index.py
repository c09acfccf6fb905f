"""The search index (casework.search_index) answers /cases/ exactly as PostgreSQL does,
and only while it is current.

Transactional tests: the index is built from committed data in its own snapshot, and each
change commits, as on a live site.
"""

import datetime
import fcntl
import json
import re
import threading

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from benchmarks.datagen import populate
from casework import public_cache, search_index
from casework.filters import CaseFilter, public_case_filter
from casework.models import Case, Right
from tests import factories

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True),
              pytest.mark.skipif("connection.vendor != 'postgresql'",
                                 reason="the index's freshness check is PostgreSQL's")]

SEARCHES = [
    {"q": "graffiti"},
    {"q": "Mammadov"},  # stored as Məmmədov
    {"q": "məmmədov"},
    {"q": "ismailova"},
    {"q": '"peaceful protest"'},
    {"q": '"peaceful protest'},  # an unclosed quote
    {"q": '"freedom of expression"'},  # a stop word inside a phrase
    {"q": "human rights"},
    {"q": "graffiti or hooliganism"},
    {"q": "the hooliganism"},
    {"q": "journalist -graffiti"},
    {"q": '-"peaceful protest" arrested'},
    {"q": "-graffiti"},
    {"q": "o'brien: spraying"},
    {"q": "spraying-graffiti"},
    {"q": "journalist", "country": "AZ", "right": "expression"},
    {"country": "AZ", "violation": "arbitrary-detention", "from": "2016", "to": "2018"},
    {"right": ["expression", "peaceful-assembly"], "role": "journalist"},
    {"from": "2016-05", "to": "2016-05-20"},
    {"from": "2019-02-03"},
    {"to": "2015"},
    {"q": "edges", "to": "2016-05-19"},
    {"q": "edges", "to": "2016-05-20"},
    {"q": "edges", "from": "2016-05-31"},
    {"q": "edges", "from": "2016-06"},
    {"q": "edges", "from": "2014-02-28"},
    {"q": "edges", "from": "2014-03"},
    {"q": "edges", "to": "2015-12-30"},
    {"q": "edges", "from": "2015-12-31", "to": "2015-12-31"},
    {"status": "ongoing", "country": ["AZ", "GE"]},
    {"q": "human", "sort": "oldest"},
    {"q": "rights", "sort": "newest"},
    {"sort": "published"},
    {"sort": "oldest", "violation": "arbitrary-detention"},
    {},
]


@pytest.fixture
def updates_only(monkeypatch):
    """Updates never turn into builds for the share of cases changed. With other tests
    running beside these (pytest-xdist), every row written while one of their
    transactions is open counts as possibly changed; updates stay correct, but would
    often build anew instead."""
    monkeypatch.setattr(search_index, "REBUILD_SHARE", 1e9)


@pytest.fixture
def index_dir(tmp_path):
    search_index._opened.clear()
    with override_settings(CASEWORK_SEARCH_INDEX=str(tmp_path / "search-index")):
        yield tmp_path / "search-index"
    search_index._opened.clear()


def page(client, params, *, indexed: bool, page_number=1):
    response = client.get("/cases/", {**params, "page": page_number})
    assert response.status_code == 200, (params, response.content[:500])
    assert response.context["indexed"] is indexed, params
    facets = {f"{facet['name']}:{option['value']}": option["count"]
              for facet in response.context["facets"] for option in facet["options"]}
    references = [case.reference for case in response.context["page"].object_list]
    return response.context["total"], facets, references


def matches(params) -> tuple[set[int], set[int]]:
    """Every match's id, from PostgreSQL and from the index."""
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    for name, value in params.items():
        query.setlist(name, value if isinstance(value, list) else [value])
    case_filter: CaseFilter = public_case_filter(query)
    assert case_filter.is_valid(), case_filter.form.errors
    indexed = search_index.find(case_filter)
    assert indexed is not None, params
    found = set(indexed.ids(0, 100_000))
    assert len(found) == indexed.count()
    return set(case_filter.filtered().values_list("pk", flat=True)), found


def test_the_index_answers_every_search_as_postgresql_does(
        client, index_dir, researcher, verifier):
    populate(700, batch_size=250, seed=3)
    # Cases to look for that the generator does not write.
    for title in ["Seamus O'Brien spraying graffiti", "Spraying-graffiti protest"]:
        factories.publish(factories.make_case(researcher, title=title), researcher, verifier)
    # Periods that end or start on the edges of the ranges below.
    for started_on, precision, ended_on, ended_precision in [
            (datetime.date(2016, 5, 20), "day", None, "day"),
            (datetime.date(2016, 5, 1), "month", None, "day"),
            (datetime.date(2013, 1, 1), "year", datetime.date(2014, 2, 1), "month"),
            (None, "day", datetime.date(2015, 12, 31), "day")]:
        factories.publish(factories.make_case(
            researcher, title="Edges", started_on=started_on, started_on_precision=precision,
            ended_on=ended_on, ended_on_precision=ended_precision), researcher, verifier)
    call_command("update_search_index")

    for params in SEARCHES:
        in_postgres, in_index = matches(params)
        assert in_index == in_postgres, params
        # (When nothing matches a query exactly, PostgreSQL looks for close matches.)
        total, facets, references = page(client, params,
                                         indexed=bool(in_postgres) or "q" not in params)
        with override_settings(CASEWORK_SEARCH_INDEX=None):
            expected = page(client, params, indexed=False)
        # The same pages: date orders by their keys; relevance as PostgreSQL ranks the
        # index's first search_index.RERANKED matches (here every match).
        assert (total, facets, references) == expected, params
    assert sum(bool(matches(p)[0]) for p in SEARCHES) >= len(SEARCHES) - 3  # not vacuous

    # The same number of queries whatever the number of results.
    queries = []
    for params in [{"q": "human rights"}, {"q": "spraying-graffiti"}]:
        with CaptureQueriesContext(connection) as captured:
            total = page(client, params, indexed=True)[0]
        queries.append(len(captured))
        assert total
    assert queries[0] == queries[1]


def test_the_home_page_takes_its_breakdowns_from_a_current_index(client, index_dir, verifier):
    populate(80, batch_size=80, seed=17)
    call_command("update_search_index")

    def home() -> tuple:
        context = client.get("/").context
        return context["totals"], {name: [(bar.label, bar.value, bar.url)
                                          for bar in context[name].bars]
                                   for name in ("by_right", "by_violation", "by_country")}

    with override_settings(CASEWORK_SEARCH_INDEX=None, CASEWORK_PUBLIC_CACHE=False):
        counted = home()
    assert counted[0]["cases"] == 80 and all(counted[1].values())
    with CaptureQueriesContext(connection) as captured:
        assert home() == counted
    counting = [query["sql"] for query in captured.captured_queries
                if "jsonb_object_keys" in query["sql"] or "casework_case_rights" in query["sql"]
                or "casework_case_violations" in query["sql"]]
    assert not counting  # the index counted them

    # A retraction: the index is stale, and PostgreSQL counts without the case at once.
    case = Case.objects.published().order_by("id").first()
    rights = {right.label for right in case.rights.all()}
    case.retract(verifier, "Consent withdrawn")
    totals, charts = home()
    assert totals["cases"] == 79
    assert {label: value for label, value, _url in charts["by_right"]} == {
        label: value - (label in rights) for label, value, _url in counted[1]["by_right"]}


def test_relevance_is_postgresqls_not_bm25s(client, index_dir, researcher, verifier):
    """BM25 favours short texts: 24 short cases with the word in their title outscored,
    in the index, the case that also has it in its long summary. PostgreSQL's ts_rank
    ranks that case first, and so must a search the index answers."""
    for n in range(24):
        factories.publish(factories.make_case(researcher, title=f"Disbarment {n}"),
                          researcher, verifier)
    long = factories.publish(factories.make_case(
        researcher, title="Disbarment of a human rights lawyer",
        summary="The bar association ordered the disbarment " + "of the lawyer " * 200),
        researcher, verifier)
    call_command("update_search_index")
    for number in (1, 2):
        indexed = page(client, {"q": "disbarment"}, indexed=True, page_number=number)
        with override_settings(CASEWORK_SEARCH_INDEX=None):
            assert indexed == page(client, {"q": "disbarment"}, indexed=False,
                                   page_number=number)
        assert len(indexed[2]) == (20 if number == 1 else 5)
        if number == 1:
            assert indexed[2][0] == long.reference


def test_pages_across_the_reranked_first_matches_follow_on(
        client, index_dir, monkeypatch, capsys):
    """Past search_index.RERANKED (30 here) the pages continue in the index's order:
    no case twice, none missing; an error while PostgreSQL ranks falls back wholly."""
    populate(120, batch_size=120, seed=21)
    call_command("update_search_index")
    monkeypatch.setattr(search_index, "RERANKED", 30)
    params = {"q": "human rights"}
    total = page(client, params, indexed=True)[0]
    assert total > 40
    seen = []
    for number in range(1, (total + 19) // 20 + 1):
        seen += page(client, params, indexed=True, page_number=number)[2]
    assert len(seen) == len(set(seen)) == total
    assert set(seen) == set(Case.objects.filter(pk__in=matches(params)[0])
                            .values_list("reference", flat=True))
    with override_settings(CASEWORK_SEARCH_INDEX=None):
        in_postgres = page(client, params, indexed=False)

    def broken(*args):
        raise RuntimeError("ranking failed")

    monkeypatch.setattr(search_index, "_in_postgresql_order", broken)
    assert page(client, params, indexed=False) == in_postgres  # answered by PostgreSQL


def test_second_pages_follow_the_same_order(client, index_dir):
    populate(90, batch_size=50, seed=5)
    call_command("update_search_index")
    for params in [{}, {"sort": "oldest"}, {"sort": "published"}]:
        indexed = page(client, params, indexed=True, page_number=3)
        with override_settings(CASEWORK_SEARCH_INDEX=None):
            assert indexed == page(client, params, indexed=False, page_number=3)
        assert indexed[2]


def test_a_public_change_sends_searches_to_postgresql_until_the_index_is_rebuilt(
        client, index_dir, researcher, verifier, capsys):
    first = factories.publish(factories.make_case(researcher, title="Graffiti in Baku"),
                              researcher, verifier)
    second = factories.make_case(researcher, title="Graffiti in Tbilisi", country="GE")
    second.rights.add(Right.objects.get(slug="expression"))
    factories.publish(second, researcher, verifier)
    call_command("update_search_index")
    assert "Search index built: 2 published cases, in" in capsys.readouterr().out
    assert page(client, {"q": "graffiti"}, indexed=True)[0] == 2

    # Nothing public changed: the command leaves the index as it is.
    call_command("update_search_index")
    assert "The search index is current (2 cases, as of" in capsys.readouterr().out

    # A draft written meanwhile is no public change: the index still answers.
    factories.make_case(researcher, title="Graffiti draft")
    assert page(client, {"q": "graffiti"}, indexed=True)[0] == 2

    # A retraction: at once, PostgreSQL answers, and never counts the retracted case.
    second.refresh_from_db()
    second.retract(verifier, "Consent withdrawn")
    total, facets, references = page(client, {"q": "graffiti"}, indexed=False)
    assert (total, references) == (1, [first.reference])
    assert not facets.get("country:GE") and not facets.get("right:expression")

    call_command("update_search_index")  # (2 of 2 cases changed: built anew)
    assert "Search index built: 1 published cases" in capsys.readouterr().out
    total, facets, references = page(client, {"q": "graffiti"}, indexed=True)
    assert (total, references) == (1, [first.reference])
    assert not facets.get("country:GE") and not facets.get("right:expression")


def test_unpublished_and_restricted_cases_never_reach_the_index(
        client, index_dir, researcher, verifier):
    marker = "zqxmarker"
    factories.make_case(researcher, title=f"Draft {marker}")
    restricted = factories.publish(factories.make_case(researcher, title=f"Kept {marker}"),
                                   researcher, verifier)
    Case.objects.filter(pk=restricted.pk).update(restricted=True)
    factories.publish(factories.make_case(researcher, title="Public case"), researcher,
                      verifier)
    call_command("update_search_index")
    total, facets, references = page(client, {}, indexed=True)
    assert total == 1 and sum(v for k, v in facets.items() if k.startswith("status:")) == 1
    assert matches({"q": marker}) == (set(), set())
    assert client.get("/cases/", {"q": marker}).context["total"] == 0


def test_without_a_built_index_or_on_error_postgresql_answers(
        client, index_dir, researcher, verifier, monkeypatch):
    factories.publish(factories.make_case(researcher, title="Graffiti in Baku"), researcher,
                      verifier)
    assert page(client, {"q": "graffiti"}, indexed=False)[0] == 1  # nothing built yet
    call_command("update_search_index")
    assert page(client, {"q": "graffiti"}, indexed=True)[0] == 1

    def broken(*args, **kwargs):
        raise OSError("disk gone")

    monkeypatch.setattr(search_index, "current", broken)
    assert page(client, {"q": "graffiti"}, indexed=False)[0] == 1
    monkeypatch.undo()
    # A query that finds nothing exactly: PostgreSQL looks for close matches.
    response = client.get("/cases/", {"q": "grafiti"})
    assert response.context["close_matches"] and response.context["total"] == 1


def test_the_command_needs_a_directory_and_runs_one_at_a_time(index_dir, capsys):
    with override_settings(CASEWORK_SEARCH_INDEX=None), pytest.raises(CommandError):
        call_command("update_search_index")
    index_dir.mkdir(parents=True)
    with open(index_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # an update running in another process
        call_command("update_search_index")
    assert "Another update of" in capsys.readouterr().out
    assert not (index_dir / "current.json").exists()


def test_tsquery_reading():
    parse = search_index.parse_tsquery
    assert parse("'graffiti' | 'hooligan' & !( 'human' <-> 'right' )") == (
        "or", [("term", "graffiti"), ("and", [("term", "hooligan"), (
            "not", ("phrase", [(0, "human"), (1, "right")]))])])
    assert parse("'freedom' <2> 'express' <-> 'o''brien'") == (
        "phrase", [(0, "freedom"), (2, "express"), (3, "o'brien")])
    with pytest.raises(search_index.Unsupported):
        parse("'graf':*")
    with pytest.raises(search_index.Unsupported):
        parse("'a' <-> ( 'b' | 'c' )")
    assert search_index.parse_tsvector("'brien':7A 'o''x':6,9 'right':10B") == [
        ("brien", 7, "A"), ("o'x", 6, "D"), ("o'x", 9, "D"), ("right", 10, "B")]
    assert connection.vendor == "postgresql"


def test_updates_index_the_changed_cases_again_and_a_deletion_rebuilds(
        client, index_dir, updates_only, researcher, verifier, capsys):
    populate(300, batch_size=100, seed=7)
    call_command("update_search_index")
    capsys.readouterr()
    searches = [{"q": "graffiti"}, {"q": "zebra"}, {"q": "aardvark"}, {"country": "GE"},
                {"sort": "published"}, {"sort": "oldest"}, {}, {"from": "1900"},
                {"to": "2030"}]

    # A case published, a published case's title edited, another retracted, and one
    # moved to another country (a facet) with QuerySet.update, all after the build.
    new = factories.publish(factories.make_case(researcher, title="Zebra crossing protest",
                                                country="GE"), researcher, verifier)
    edited, retracted, moved = Case.objects.published().exclude(pk=new.pk).order_by("id")[:3]
    edited.title = "Aardvark sanctuary raided"
    edited.save()  # back to draft for re-vetting, then published again
    factories.publish(edited, researcher, verifier)
    retracted.retract(verifier, "Consent withdrawn")
    Case.objects.filter(pk=moved.pk).update(facet_keys={**moved.facet_keys, "country:GE": 1},
                                            started_on_precision="",
                                            ended_on_precision="")  # (a raw write)
    assert page(client, {"q": "zebra"}, indexed=False)[0] == 1  # stale: PostgreSQL

    call_command("update_search_index")
    out = capsys.readouterr().out
    # The three public changes indexed again, the retracted case removed. (Rows that
    # transactions of other tests running meanwhile keep "maybe unseen" are read again
    # too: more, never fewer.)
    indexed_again, removed = map(int, re.search(
        r"([\d,]+) cases indexed again and ([\d,]+) removed", out).groups())
    assert indexed_again >= 3 and removed == 1
    assert "Search index updated: 300 published cases" in out
    assert len(list(index_dir.glob("index-*"))) == 1  # the same build, updated
    for params in searches:
        in_postgres, in_index = matches(params)
        assert in_index == in_postgres, params
        indexed = page(client, params, indexed=bool(in_postgres) or "q" not in params)
        with override_settings(CASEWORK_SEARCH_INDEX=None):
            assert indexed[:2] == page(client, params, indexed=False)[:2], params
            if "q" not in params:
                assert indexed[2] == page(client, params, indexed=False)[2], params
    assert matches({"q": "aardvark"})[1] == {edited.pk}
    assert retracted.pk not in matches({})[1]

    # A published case deleted leaves no row behind: the count tells, and it rebuilds.
    Case.objects.filter(pk=new.pk).delete()
    call_command("update_search_index")
    out = capsys.readouterr().out
    assert "A case was deleted: building the index anew." in out
    assert "Search index built: 299 published cases" in out
    assert len(list(index_dir.glob("index-*"))) == 1  # the old build removed
    assert matches({"q": "zebra"}) == (set(), set())


def test_a_restarted_server_or_unreadable_metadata_means_a_new_build(
        client, index_dir, researcher, verifier, capsys):
    factories.publish(factories.make_case(researcher, title="Graffiti in Baku"), researcher,
                      verifier)
    call_command("update_search_index")
    (index_dir / "index-killed-build").mkdir()  # left by a build that was killed
    assert page(client, {"q": "graffiti"}, indexed=True)[0] == 1

    # A restored database restarts its server and reuses transaction ids: the index
    # (built, as far as the check can tell, before the restart) is not used, and the
    # next run builds it anew rather than trusting an update.
    current = index_dir / "current.json"
    meta = json.loads(current.read_text())
    current.write_text(json.dumps({**meta, "server_started": "2000-01-01 00:00:00+00"}))
    assert page(client, {"q": "graffiti"}, indexed=False)[0] == 1
    call_command("update_search_index")
    assert "Search index built: 1 published cases" in capsys.readouterr().out
    assert page(client, {"q": "graffiti"}, indexed=True)[0] == 1
    assert [p.name for p in index_dir.glob("index-*")] == [
        json.loads(current.read_text())["directory"]]  # the killed build's removed

    # Unreadable metadata: PostgreSQL answers, and the next run builds anew.
    current.write_text("{")
    assert page(client, {"q": "graffiti"}, indexed=False)[0] == 1
    call_command("update_search_index")
    assert "Search index built: 1 published cases" in capsys.readouterr().out
    assert page(client, {"q": "graffiti"}, indexed=True)[0] == 1


def test_changes_applied_as_a_replica_are_logged_too(client, index_dir, researcher, verifier):
    """Logical replication applies changes with session_replication_role = replica,
    which skips ordinary triggers (migration 0011 makes the log's fire always)."""
    case = factories.publish(factories.make_case(researcher, title="Graffiti in Baku"),
                             researcher, verifier)
    call_command("update_search_index")
    assert page(client, {"q": "graffiti"}, indexed=True)[0] == 1
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("UPDATE casework_case SET restricted = true WHERE id = %s", [case.pk])
    assert page(client, {"q": "graffiti"}, indexed=False)[0] == 0


def test_an_error_of_the_index_while_answering_falls_back(
        client, index_dir, researcher, verifier, monkeypatch):
    factories.publish(factories.make_case(researcher, title="Graffiti in Baku"), researcher,
                      verifier)
    call_command("update_search_index")

    class Panic(BaseException):  # as pyo3's PanicException: not an Exception
        pass

    def panic(self, *args):
        raise Panic("assertion failed")

    for method in ("count", "facet_counts", "ids"):
        with monkeypatch.context() as patched:
            patched.setattr(search_index.IndexedSearch, method, panic)
            assert page(client, {"q": "graffiti"}, indexed=False)[0] == 1, method
    assert page(client, {"q": "graffiti"}, indexed=True)[0] == 1


def test_a_row_written_in_a_savepoint_of_a_transaction_open_during_an_update_is_indexed(
        client, index_dir, updates_only, researcher, verifier, capsys):
    """A row written inside a savepoint carries the subtransaction's id, which no
    snapshot lists: the update after the transaction commits must still find it."""
    populate(20, batch_size=20, seed=9)
    case = factories.publish(factories.make_case(researcher, title="Graffiti in Baku"),
                             researcher, verifier)
    call_command("update_search_index")
    other = psycopg.connect(**connection.get_connection_params())
    try:
        other.execute("BEGIN")
        other.execute("SELECT pg_current_xact_id()")  # the parent's id first
        other.execute("SAVEPOINT edit")
        other.execute("UPDATE casework_case SET search_document = search_document || "
                      "' zebrafinch' WHERE id = %s", [case.pk])
        other.execute("RELEASE SAVEPOINT edit")
        # While it is open, another public change, and an update that records a
        # snapshot in which the open transaction (not its savepoint) is listed.
        factories.publish(factories.make_case(researcher, title="Another"), researcher,
                          verifier)
        call_command("update_search_index")
        assert "Search index updated" in capsys.readouterr().out
        other.execute("COMMIT")
    finally:
        other.close()
    assert page(client, {"q": "zebrafinch"}, indexed=False)[0] == 1  # stale: PostgreSQL
    call_command("update_search_index")
    assert "Search index updated" in capsys.readouterr().out
    assert matches({"q": "zebrafinch"}) == ({case.pk}, {case.pk})
    assert page(client, {"q": "zebrafinch"}, indexed=True)[0] == 1


@pytest.fixture
def standby():
    """The database answering as a hot standby does (pg_is_in_recovery() is true): a
    function of that name earlier in the search path."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE FUNCTION public.pg_is_in_recovery() RETURNS boolean "
                       "LANGUAGE sql AS 'SELECT true'")
        cursor.execute("SET search_path TO public, pg_catalog")
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET search_path")
        cursor.execute("DROP FUNCTION public.pg_is_in_recovery()")


def test_on_a_standby_neither_the_index_nor_the_cache_is_used(
        client, index_dir, researcher, verifier, request):
    """A standby's snapshots list no running transactions, so the change log's check
    cannot be trusted there."""
    factories.publish(factories.make_case(researcher, title="Graffiti in Baku"), researcher,
                      verifier)
    call_command("update_search_index")
    assert page(client, {"q": "graffiti"}, indexed=True)[0] == 1
    request.getfixturevalue("standby")
    assert page(client, {"q": "graffiti"}, indexed=False)[0] == 1
    with pytest.raises(CommandError, match="cannot be built from a standby"):
        call_command("update_search_index", "--rebuild")
    counted = []
    for _ in range(2):
        public_cache.cached("test-figure", lambda: counted.append(1))
    assert len(counted) == 2  # counted each time, never cached


def test_as_a_service_it_updates_the_index_soon_after_a_change(
        client, index_dir, updates_only, researcher, verifier, capsys, monkeypatch):
    populate(20, batch_size=20, seed=11)
    call_command("update_search_index")
    capsys.readouterr()
    naps = []

    class Stop(Exception):
        pass

    def sleep(seconds):
        naps.append(seconds)
        if len(naps) == 1:  # a publication while it waits
            factories.publish(factories.make_case(researcher, title="Zebra crossing"),
                              researcher, verifier)
        else:
            raise Stop

    monkeypatch.setattr("casework.management.commands.update_search_index.time.sleep", sleep)
    with pytest.raises(Stop):
        call_command("update_search_index", "--every", "5")
    out = capsys.readouterr().out
    assert naps == [5, 5]
    assert "current" not in out  # quiet while there is nothing to do
    assert "Search index updated: 21 published cases" in out
    assert page(client, {"q": "zebra"}, indexed=True)[0] == 1


def test_a_failed_update_releases_the_index_at_once(
        index_dir, updates_only, researcher, verifier, monkeypatch):
    populate(20, batch_size=20, seed=13)
    call_command("update_search_index")
    factories.publish(factories.make_case(researcher, title="Zebra crossing"), researcher,
                      verifier)
    document = search_index._document

    def broken(*args):
        raise ValueError("disk full")

    monkeypatch.setattr(search_index, "_document", broken)
    with pytest.raises(ValueError) as failure:  # its traceback kept, as a log handler may
        search_index.update()
    monkeypatch.setattr(search_index, "_document", document)
    updated = search_index.update()  # not "LockBusy"
    # An update, not a build (which says "changed": None); other tests' open transactions
    # may make it read more cases again, never fewer.
    assert updated["changed"] >= 1 and updated["cases"] == 21
    assert failure.value


def test_the_service_carries_on_after_a_panic_and_a_rebuild_waits_its_turn(
        index_dir, researcher, verifier, capsys, monkeypatch):
    from casework.management.commands import update_search_index as command

    factories.publish(factories.make_case(researcher, title="Graffiti"), researcher,
                      verifier)

    class Panic(BaseException):
        pass

    class Stop(Exception):
        pass

    turns = []
    bring_up_to_date = command.Command.bring_up_to_date

    def turn(self, rebuild, quiet):
        turns.append(rebuild)
        if len(turns) == 1:
            raise Panic("a Tantivy panic")
        bring_up_to_date(self, rebuild, quiet)

    def sleep(seconds):
        if len(turns) == 2:
            raise Stop

    monkeypatch.setattr(command.Command, "bring_up_to_date", turn)
    monkeypatch.setattr(command.time, "sleep", sleep)
    with pytest.raises(Stop):
        call_command("update_search_index", "--every", "5")
    assert "Search index built: 1 published cases" in capsys.readouterr().out
    monkeypatch.undo()

    # The nightly rebuild waits for an update running meanwhile instead of giving up.
    lock = open(index_dir / ".lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    threading.Timer(0.5, lock.close).start()
    call_command("update_search_index", "--rebuild")
    assert "Search index built: 1 published cases" in capsys.readouterr().out
