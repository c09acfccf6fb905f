"""Sessions: rotated at sign-in, idle and absolute expiry, end on deactivation, sign out
everywhere."""

import time

import pytest
from django.conf import settings
from django.test import Client

from accounts.middleware import SIGNED_IN_AT
from tests import factories

pytestmark = pytest.mark.django_db


def test_session_key_changes_at_sign_in(researcher):
    client = Client()
    session = client.session  # an anonymous session, as a visitor would have
    session["before"] = 1
    session.save()
    before = session.session_key
    client.post("/admin/login/", {"username": researcher.username, "password": factories.PASSWORD})
    assert client.session.session_key != before


def test_idle_expiry_is_configured_and_renewed_on_each_request():
    assert settings.SESSION_COOKIE_AGE <= 60 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST


def test_absolute_lifetime_ends_an_active_session(researcher):
    client = factories.signed_in_client(researcher)
    assert client.get("/admin/").status_code == 200
    session = client.session
    session[SIGNED_IN_AT] = time.time() - settings.SESSION_ABSOLUTE_LIFETIME - 1
    session.save()
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_deactivating_an_account_ends_its_sessions(researcher):
    client = factories.signed_in_client(researcher)
    assert client.get("/admin/").status_code == 200
    researcher.is_active = False
    researcher.save()
    assert client.get("/admin/").status_code == 302


def test_sign_out_everywhere_ends_every_session(researcher):
    laptop = factories.signed_in_client(researcher)
    phone = factories.signed_in_client(researcher)
    assert phone.get("/admin/").status_code == 200
    assert laptop.post("/accounts/sign-out-everywhere/").status_code == 302
    assert phone.get("/admin/").status_code == 302
    assert laptop.get("/admin/").status_code == 302


def test_sign_out_works(researcher):
    client = factories.signed_in_client(researcher)
    client.post("/admin/logout/")
    assert client.get("/admin/").status_code == 302
