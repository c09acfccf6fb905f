"""A pg_dump of the database restores into an empty database with the same rows
(docs/deployment.md, "Backup and restore")."""

import shutil
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

# serialized_rollback: other transactional tests flush the database, roles included.
pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _tool(name: str) -> str:
    path = PG_BIN / name
    return str(path) if path.exists() else shutil.which(name)


def _conninfo(dbname: str) -> dict:
    settings = connection.settings_dict
    return {"dbname": dbname, "user": settings["USER"], "host": settings["HOST"] or None,
            "port": settings["PORT"] or None, "password": settings["PASSWORD"] or None}


def _fingerprint(dbname: str) -> dict[str, tuple[int, str]]:
    """Row count and a checksum of every row, per table."""
    with psycopg.connect(**{k: v for k, v in _conninfo(dbname).items() if v}) as db:
        tables = [row[0] for row in db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
        result = {}
        for table in tables:
            count, digest = db.execute(
                f'SELECT count(*), md5(coalesce(string_agg(t::text, \'|\' ORDER BY t::text), \'\')) '  # noqa: S608
                f'FROM "{table}" t').fetchone()
            result[table] = (count, digest)
        return result


def _pg_args(dbname: str) -> list[str]:
    info = _conninfo(dbname)
    args = ["--dbname", dbname, "--username", info["user"]]
    if info["host"]:
        args += ["--host", info["host"]]
    if info["port"]:
        args += ["--port", str(info["port"])]
    return args


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_dump needs PostgreSQL")
def test_dump_restores_into_an_empty_database_with_the_same_content(tmp_path):
    call_command("load_demo", stdout=open("/dev/null", "w"))
    source = connection.settings_dict["NAME"]
    target = f"restore_check_{uuid.uuid4().hex[:8]}"
    dump = tmp_path / "casework.dump"
    subprocess.run([_tool("pg_dump"), "--format=custom", "--file", str(dump),
                    *_pg_args(source)], check=True, timeout=300)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{target}"')
    try:
        subprocess.run([_tool("pg_restore"), "--no-owner", "--exit-on-error",
                        *_pg_args(target), str(dump)], check=True, timeout=300)
        before, after = _fingerprint(source), _fingerprint(target)
        assert before["casework_case"][0] >= 5 and before["casework_historicalcase"][0] > 0
        assert after == before
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
