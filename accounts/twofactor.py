"""Second factor: TOTP devices and single-use backup codes (django-otp)."""

from io import BytesIO

import qrcode
import qrcode.image.svg
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

BACKUP_CODES = 10


def confirmed_devices(user) -> list:
    return list(devices_for_user(user, confirmed=True))


def pending_totp_device(user) -> TOTPDevice:
    """The unconfirmed authenticator being enrolled (one at a time)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def qr_code_svg(device: TOTPDevice) -> str:
    """The enrolment QR code as inline SVG, drawn on our server (no third-party service)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def new_backup_codes(user) -> list[str]:
    """Replace the user's backup codes with fresh ones; each works once."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name="Backup codes")
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def verify(user, token: str):
    """The device that accepts this token, or None. TOTP refuses a code already used
    (django-otp remembers the last time step); a backup code is deleted when used."""
    token = (token or "").replace(" ", "").strip()
    if not token:
        return None
    for device in confirmed_devices(user):
        if device.verify_is_allowed()[0] and device.verify_token(token):
            return device
    return None
