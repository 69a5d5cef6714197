"""Portal settings with their defaults, read in one place.

Each value can be set in `config/settings` (from the environment with django-environ); until it
is, the environment variable of the same name is read directly, then the default applies.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _setting(name: str, default: Any) -> Any:
    if hasattr(settings, name):
        return getattr(settings, name)
    return os.environ.get(name, default)


def site_url() -> str:
    return str(settings.SITE_URL).rstrip("/")


def issuer_name() -> str:
    return str(_setting("OB_ISSUER_NAME", "AI FinOps"))


def signing_key_text() -> str:
    """OB_SIGNING_KEY: an Ed25519 private key in multibase (z3u2...); empty when unset."""
    return str(_setting("OB_SIGNING_KEY", "") or "").strip()


def signing_key_required() -> bool:
    """Production sets OB_SIGNING_KEY_REQUIRED: then no development key is ever generated."""
    value = _setting("OB_SIGNING_KEY_REQUIRED", False)
    return value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes"}


def dev_key_path() -> Path:
    return Path(settings.VAR_DIR) / "ob-signing-key.txt"


def self_signup_enabled() -> bool:
    value = _setting("PORTAL_SELF_SIGNUP", True)
    return value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes"}


def quiz_pass_ratio() -> Decimal:
    """Share of a module quiz's questions to answer correctly (latest answers) to pass it."""
    raw = str(_setting("PORTAL_QUIZ_PASS_RATIO", "0.8"))
    try:
        value = Decimal(raw)
    except ArithmeticError:
        raise ImproperlyConfigured(f"PORTAL_QUIZ_PASS_RATIO is malformed: {raw!r}") from None
    if not Decimal(0) < value <= Decimal(1):
        raise ImproperlyConfigured(f"PORTAL_QUIZ_PASS_RATIO must be in (0, 1]: {raw!r}")
    return value


def renewal_window_days() -> int:
    """How long before expiry a credential holder may re-take the exam to renew it."""
    return int(_setting("PORTAL_RENEWAL_WINDOW_DAYS", 180))


def quiz_question_count() -> int:
    """Questions asked per quiz attempt (all of a module's when it has fewer); a retake
    draws the ones the previous attempt did not ask first."""
    raw = str(_setting("PORTAL_QUIZ_QUESTIONS", "6"))
    if not raw.isdigit() or int(raw) < 1:
        raise ImproperlyConfigured(
            f"PORTAL_QUIZ_QUESTIONS must be a positive whole number: {raw!r}"
        )
    return int(raw)
