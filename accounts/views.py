"""Two-factor verification and enrolment, backup codes, sign out everywhere."""

from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from accounts import twofactor
from accounts.models import AuditEvent


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code"), max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "autofocus": True}),
    )


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/admin/"
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return "/admin/"


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Enter a code from the authenticator app or a backup code; enrol if there is none."""
    user = request.user
    if user.is_verified():
        return redirect(_next_url(request))
    if not twofactor.confirmed_devices(user):
        return redirect(f"/accounts/two-factor/enrol/?next={quote(_next_url(request))}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = twofactor.verify(user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            AuditEvent.objects.record(AuditEvent.Action.SIGN_IN, request=request,
                                      step="second factor", device=type(device).__name__)
            return redirect(_next_url(request))
        AuditEvent.objects.record(AuditEvent.Action.SIGN_IN_FAILED, request=request,
                                  step="second factor")
        form.add_error("token", _("That code is not valid, or it was already used."))
    return render(request, "accounts/two_factor.html", {"form": form, "next": _next_url(request)},
                  status=400 if form.errors else 200)


@login_required
def enrol(request: HttpRequest) -> HttpResponse:
    """New staff: scan the QR code, confirm with a first code, receive backup codes."""
    user = request.user
    if twofactor.confirmed_devices(user) and not user.is_verified():
        return redirect("accounts:two_factor")
    device = twofactor.pending_totp_device(user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].replace(" ", "")):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            codes = twofactor.new_backup_codes(user)
            AuditEvent.objects.record(AuditEvent.Action.SIGN_IN, request=request,
                                      step="two-factor enrolment")
            return render(request, "accounts/backup_codes.html",
                          {"codes": codes, "next": _next_url(request)})
        form.add_error("token", _("That code does not match. Check the time on your phone "
                                  "and enter the current code."))
    return render(request, "accounts/enrol.html", {
        "form": form, "qr_svg": twofactor.qr_code_svg(device),
        "secret": _base32(device), "next": _next_url(request),
    }, status=400 if form.errors else 200)


def _base32(device) -> str:
    from base64 import b32encode

    return b32encode(device.bin_key).decode()


@require_POST
@login_required
def regenerate_backup_codes(request: HttpRequest) -> HttpResponse:
    if not request.user.is_verified():
        return redirect("accounts:two_factor")
    codes = twofactor.new_backup_codes(request.user)
    return render(request, "accounts/backup_codes.html", {"codes": codes, "next": "/admin/"})


@require_POST
@login_required
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    user = request.user
    user.sign_out_everywhere()
    AuditEvent.objects.record(AuditEvent.Action.SIGN_OUT, user=user, request=request,
                              scope="every session")
    logout(request)
    messages.info(request, _("You are signed out on every device."))
    return redirect("admin:login")
