"""Passwords: Argon2, at least 12 characters, long passphrases welcome, common and
user-like ones refused. Brute force: django-axes locks after 5 failures."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.models import AuditEvent, User
from tests import factories

pytestmark = pytest.mark.django_db


def test_passwords_are_hashed_with_argon2(researcher):
    assert User.objects.get(pk=researcher.pk).password.startswith("argon2")


def test_long_passphrases_are_accepted():
    validate_password("a long passphrase about tea, rivers and quiet mountains " * 2)


@pytest.mark.parametrize("password,reason", [
    ("short-pass1", "too short"),
    ("password1234", "too common"),
    ("123456789012", "entirely numeric"),
])
def test_weak_passwords_are_refused(password, reason):
    with pytest.raises(ValidationError, match=reason):
        validate_password(password)


def test_passwords_like_the_username_are_refused():
    user = User(username="khadija.researcher", email="khadija@example.org")
    with pytest.raises(ValidationError, match="too similar"):
        validate_password("khadija.researcher1", user)


def _attempt(client, username, password, ip="203.0.113.7"):
    return client.post("/admin/login/", {"username": username, "password": password},
                       REMOTE_ADDR=ip)


def test_five_failures_lock_the_account_even_with_the_right_password(researcher):
    client = Client()
    for _ in range(4):
        assert _attempt(client, researcher.username, "wrong-password-1").status_code == 200
    assert _attempt(client, researcher.username, "wrong-password-1").status_code == 429
    locked = _attempt(client, researcher.username, factories.PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.text
    # From another address too: the lock is on the username.
    assert _attempt(Client(), researcher.username, factories.PASSWORD,
                    ip="198.51.100.9").status_code == 429
    assert AuditEvent.objects.filter(action="lockout").exists()
    assert AuditEvent.objects.filter(action="sign_in_failed").count() >= 5


def test_five_failures_from_one_address_lock_that_address(researcher):
    client = Client()
    for n in range(5):
        _attempt(client, f"nobody{n}", "wrong-password-1", ip="192.0.2.50")
    assert _attempt(client, researcher.username, factories.PASSWORD,
                    ip="192.0.2.50").status_code == 429
    assert _attempt(Client(), researcher.username, factories.PASSWORD,
                    ip="192.0.2.51").status_code == 302


def test_sign_ins_and_failures_are_audited_without_passwords(researcher):
    client = Client()
    _attempt(client, researcher.username, "not-the-password-xyz")
    _attempt(client, researcher.username, factories.PASSWORD)
    failed = AuditEvent.objects.get(action="sign_in_failed")
    assert failed.details["username"] == researcher.username
    assert failed.ip_address == "203.0.113.7"
    signed_in = AuditEvent.objects.get(action="sign_in", actor=researcher)
    assert signed_in.ip_address == "203.0.113.7"
    everything = str(list(AuditEvent.objects.values()))
    assert "not-the-password-xyz" not in everything and factories.PASSWORD not in everything
