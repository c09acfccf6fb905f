"""Headers, cookies, error pages and `check --deploy` with production settings."""

import os
import subprocess
import sys

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

PRODUCTION_ENV = {
    "SECRET_KEY": "k7#Qz9!vR2@pL5$wN8^tY1&uI4*oP6(aS3)dF0_gH-jK+lZ=xC", "ALLOWED_HOSTS":
    "casework.example.org", "DATABASE_URL": "postgres://casework@db.example.org/casework",
}


def _production(args, extra=None):
    env = {k: v for k, v in os.environ.items()
           if k not in ("CASEWORK_DEVELOPMENT", "DEBUG", "DATABASE_URL")}
    return subprocess.run([sys.executable, *args], env={**env, **PRODUCTION_ENV, **(extra or {})},
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_passes_with_production_settings_and_nothing_silenced():
    result = _production(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 silenced" in result.stdout


def test_production_headers_and_cookie_settings():
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='casework.settings';"
        "django.setup(); from django.conf import settings as s;"
        "print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SESSION_COOKIE_SECURE,"
        " s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_HTTPONLY,"
        " s.SESSION_COOKIE_SAMESITE)"
    )
    result = _production(["-c", code])
    assert result.stdout.split() == ["31536000", "True", "True", "True", "__Host-sessionid",
                                     "__Host-csrftoken", "True", "Lax"], result.stderr


def test_production_refuses_to_run_without_two_factor():
    result = _production(["manage.py", "check"], {"CASEWORK_2FA_REQUIRED": "0"})
    assert result.returncode != 0 and "CASEWORK_2FA_REQUIRED" in result.stderr


@pytest.mark.parametrize("url", ["/", "/cases/", "/admin/login/"])
def test_every_response_carries_the_security_headers(client, url):
    response = client.get(url)
    policy = response["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'",
                      "script-src 'self'"):
        assert directive in policy
    assert "unsafe-inline" not in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_no_inline_script_without_a_nonce(client, researcher):
    import re

    pages = [client.get("/").text, client.get("/admin/login/").text,
             client.get("/cases/").text]
    for html in pages:
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or "nonce=" in tag, tag


def test_session_cookie_is_httponly_and_lax(researcher):
    client = Client()
    client.post("/admin/login/", {"username": researcher.username,
                                  "password": "correct-horse-battery-staple"})
    from django.conf import settings

    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


@override_settings(DEBUG=False)
def test_404_is_generic(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Not found" in response.text and "Traceback" not in response.text
    assert "urlpatterns" not in response.text


@override_settings(DEBUG=False)
def test_403_is_our_own_page(researcher):
    from tests import factories

    client = factories.signed_in_client(researcher)
    response = client.get("/admin/accounts/user/")
    assert response.status_code == 403
    assert "Not allowed" in response.text


@override_settings(DEBUG=False, ROOT_URLCONF="tests.urls_error")
def test_500_is_generic_and_reveals_nothing():
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "secret-detail" not in response.text and "Traceback" not in response.text
