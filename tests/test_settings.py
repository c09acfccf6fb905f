"""Settings come from the environment: safe local defaults, loud failure in production."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.smoke


def _check(env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("CASEWORK_DEVELOPMENT", "DEBUG", "SECRET_KEY", "DATABASE_URL")}
    return subprocess.run(
        [sys.executable, "manage.py", "check"], env={**clean, **env},
        capture_output=True, text=True, timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _check({"ALLOWED_HOSTS": "casework.example.org"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_starts_with_a_secret_key_and_debug_stays_off():
    result = _check({"SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "casework.example.org"})
    assert result.returncode == 0, result.stderr
    debug = subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']="
         "'casework.settings'; from django.conf import settings; print(settings.DEBUG, "
         "settings.DATABASES['default']['ENGINE'])"],
        env={**{k: v for k, v in os.environ.items() if k not in ("CASEWORK_DEVELOPMENT",
                                                                    "DATABASE_URL", "DEBUG")},
             "SECRET_KEY": "x" * 60}, capture_output=True, text=True, timeout=60)
    assert debug.stdout.split() == ["False", "django.db.backends.sqlite3"]


def test_database_url_switches_to_postgresql():
    result = subprocess.run(
        [sys.executable, "-c", "import os; os.environ['DJANGO_SETTINGS_MODULE']="
         "'casework.settings'; from django.conf import settings; "
         "print(settings.DATABASES['default']['ENGINE'])"],
        env={**os.environ, "CASEWORK_DEVELOPMENT": "1",
             "DATABASE_URL": "postgres://u:p@db.example.org/casework"},
        capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "django.db.backends.postgresql"
