"""Staff need a second factor (TOTP) before any admin page opens; enrolment, backup codes,
no code used twice."""

import re

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


def _sign_in(client: Client, user) -> None:
    response = client.post("/admin/login/?next=/admin/", {
        "username": user.username, "password": factories.PASSWORD})
    assert response.status_code == 302


def _code(device: TOTPDevice, offset: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset):06d}"


def test_password_alone_opens_no_admin_page(researcher):
    client = Client()
    _sign_in(client, researcher)
    for url in ("/admin/", "/admin/casework/case/", "/admin/casework/case/add/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/two-factor/")


def test_new_staff_enrol_with_a_qr_code_and_get_backup_codes(researcher):
    client = Client()
    _sign_in(client, researcher)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/two-factor/enrol/")
    assert "data:image/svg+xml" in response.text  # QR code drawn by us
    device = TOTPDevice.objects.get(user=researcher, confirmed=False)
    assert client.post("/accounts/two-factor/enrol/", {"token": "000000"}).status_code == 400
    device.refresh_from_db()
    device.throttle_reset()  # django-otp slows retries after a wrong code
    response = client.post("/accounts/two-factor/enrol/", {"token": _code(device), "next": "/admin/"})
    assert response.status_code == 200
    codes = re.findall(r"<code>(\w+)</code>", response.text)
    assert len(codes) == 10
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/admin/").status_code == 200


def test_returning_staff_enter_a_code_and_it_cannot_be_used_twice(researcher):
    device = TOTPDevice.objects.create(user=researcher, name="phone", confirmed=True)
    first = Client()
    _sign_in(first, researcher)
    code = _code(device)
    response = first.post("/accounts/two-factor/", {"token": code, "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert first.get("/admin/").status_code == 200

    second = Client()
    _sign_in(second, researcher)
    replay = second.post("/accounts/two-factor/", {"token": code, "next": "/admin/"})
    assert replay.status_code == 400
    assert "already used" in replay.text
    assert second.get("/admin/").status_code == 302
    assert AuditEvent.objects.filter(action="sign_in_failed", actor=researcher).exists()


def test_backup_codes_work_once(researcher):
    TOTPDevice.objects.create(user=researcher, name="phone", confirmed=True)
    from accounts.twofactor import new_backup_codes

    code = new_backup_codes(researcher)[0]
    client = Client()
    _sign_in(client, researcher)
    assert client.post("/accounts/two-factor/", {"token": code}).status_code == 302
    assert not StaticToken.objects.filter(token=code).exists()
    other = Client()
    _sign_in(other, researcher)
    assert other.post("/accounts/two-factor/", {"token": code}).status_code == 400


def test_two_factor_page_does_not_redirect_offsite(researcher):
    device = TOTPDevice.objects.create(user=researcher, name="phone", confirmed=True)
    client = Client()
    _sign_in(client, researcher)
    response = client.post("/accounts/two-factor/", {"token": _code(device),
                                                      "next": "https://evil.example/"})
    assert response["Location"] == "/admin/"


def test_non_staff_user_cannot_use_admin_at_all():
    user = factories.make_user(None)
    client = Client()
    response = client.post("/admin/login/", {"username": user.username,
                                             "password": factories.PASSWORD})
    assert response.status_code == 200  # the admin login refuses non-staff
    assert client.get("/admin/").status_code == 302

