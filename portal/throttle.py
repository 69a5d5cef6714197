"""Sign-in throttling: failed passwords are counted in the cache, which every process shares
(the database cache by default, Redis when CACHE_URL points there), never in process memory.

After LOGIN_FAILURE_LIMIT failed sign-ins for one username, or LOGIN_FAILURE_LIMIT_PER_IP from
one address, further sign-ins for it (even with the right password) are refused until
LOGIN_LOCKOUT_SECONDS have passed since the last failure. A successful sign-in clears the
username's count. Counting is get-then-set: concurrent failures may be counted once, so a
parallel attacker gets at most a few more tries per window, never an unlimited number.

Both password backends (`portal.auth.EmailBackend`, `ThrottledModelBackend`) call
`refuse_if_throttled` first, so every password form (the portal's sign-in, the admin's) is
covered; `ThrottledAuthenticationForm` says why
and the portal's sign-in answers 429.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import AbstractBaseUser, User
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.http import HttpRequest, HttpResponse


def _limit(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().casefold().encode()).hexdigest()[:32]
    return f"login-failures:{kind}:{digest}"


def client_ip(request: HttpRequest | None) -> str:
    """REMOTE_ADDR: behind a proxy, set it from the proxy's header there (not trusted here)."""
    if request is None:
        return ""
    return str(request.META.get("REMOTE_ADDR", ""))


def _count(key: str) -> int:
    value = cache.get(key, 0)
    return value if isinstance(value, int) else 0


def login_is_throttled(*, username: str, ip: str) -> bool:
    if username and _count(_key("user", username)) >= _limit("LOGIN_FAILURE_LIMIT", 5):
        return True
    return bool(ip) and _count(_key("ip", ip)) >= _limit("LOGIN_FAILURE_LIMIT_PER_IP", 50)


def login_failure_record(*, username: str, ip: str) -> None:
    """Count one failed sign-in for the username and the address (sliding window)."""
    timeout = _limit("LOGIN_LOCKOUT_SECONDS", 900)
    for kind, value in (("user", username), ("ip", ip)):
        if value:
            key = _key(kind, value)
            cache.set(key, _count(key) + 1, timeout)


def login_success_reset(*, user: AbstractBaseUser) -> None:
    names = {user.get_username(), str(getattr(user, "email", "") or "")}
    cache.delete_many([_key("user", name) for name in names if name])


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **_: Any
) -> None:
    username = str(credentials.get("username") or "")
    login_failure_record(username=username, ip=client_ip(request))


def on_logged_in(sender: Any, request: Any, user: AbstractBaseUser, **_: Any) -> None:
    login_success_reset(user=user)


def refuse_if_throttled(request: HttpRequest | None, username: str | None) -> None:
    """Raise PermissionDenied (which stops Django's authenticate()) while throttled. Every
    password backend calls it before checking a password."""
    if login_is_throttled(username=username or "", ip=client_ip(request)):
        raise PermissionDenied("too many failed sign-ins")


class ThrottledModelBackend(ModelBackend):
    """Django's ModelBackend (usernames), refusing throttled sign-ins before any password check."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        refuse_if_throttled(request, username)
        return super().authenticate(request, username=username, password=password, **kwargs)


class ThrottledAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": (
            "Too many failed sign-in attempts. Wait %(minutes)s minutes, then try again "
            "(or reset your password)."
        ),
    }

    def clean(self) -> dict[str, Any]:
        username = str(self.cleaned_data.get("username") or "")
        if login_is_throttled(username=username, ip=client_ip(self.request)):
            minutes = max(1, _limit("LOGIN_LOCKOUT_SECONDS", 900) // 60)
            raise forms.ValidationError(
                self.error_messages["throttled"], code="throttled", params={"minutes": minutes}
            )
        return super().clean()


class ThrottledLoginView(LoginView):
    """The portal's sign-in: a throttled attempt says why, with 429 Too Many Requests."""

    form_class = ThrottledAuthenticationForm

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "throttled"):
            response.status_code = 429
        return response
