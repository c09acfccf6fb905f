"""Session lifetime and the two-factor requirement for staff."""

import time
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse

SIGNED_IN_AT = "casework_signed_in_at"
# Pages a staff member must reach before their second factor is verified.
_OPEN_TO_UNVERIFIED = ("/admin/login/", "/admin/logout/", "/accounts/")


class SessionLifetimeMiddleware:
    """Ends a session after SESSION_ABSOLUTE_LIFETIME, however active it was (the idle
    expiry is SESSION_COOKIE_AGE, renewed on each request)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            started = request.session.get(SIGNED_IN_AT)
            if started is None or time.time() - started > settings.SESSION_ABSOLUTE_LIFETIME:
                logout(request)
        return self.get_response(request)


class RequireTwoFactorMiddleware:
    """No admin page opens for a staff account until it has passed a second factor:
    staff without a device are sent to enrol, the others to enter a code."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            settings.TWO_FACTOR_REQUIRED
            and request.path.startswith("/admin/")
            and not request.path.startswith(_OPEN_TO_UNVERIFIED)
            and user.is_authenticated
            and user.is_staff
            and not user.is_verified()
        ):
            return redirect(
                f"{reverse('accounts:two_factor')}?next={quote(request.get_full_path())}"
            )
        return self.get_response(request)
