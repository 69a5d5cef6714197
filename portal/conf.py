"""Portal settings, read in one place.

Each value is declared with its default in `config/settings` (from the environment with
django-environ); these functions check what tests or deployments set and give it its type.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _flag(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes"}


def site_url() -> str:
    return str(settings.SITE_URL).rstrip("/")


def issuer_name() -> str:
    return str(settings.OB_ISSUER_NAME)


def signing_key_text() -> str:
    """OB_SIGNING_KEY: an Ed25519 private key in multibase (z3u2...); empty when unset."""
    return str(settings.OB_SIGNING_KEY or "").strip()


def signing_key_required() -> bool:
    """Production sets OB_SIGNING_KEY_REQUIRED: then no development key is ever generated."""
    return _flag(settings.OB_SIGNING_KEY_REQUIRED)


def dev_key_path() -> Path:
    return Path(settings.VAR_DIR) / "ob-signing-key.txt"


def self_signup_enabled() -> bool:
    return _flag(settings.PORTAL_SELF_SIGNUP)


def quiz_pass_ratio() -> Decimal:
    """Share of a module quiz's questions to answer correctly (latest answers) to pass it."""
    raw = str(settings.PORTAL_QUIZ_PASS_RATIO)
    try:
        value = Decimal(raw)
    except ArithmeticError:
        raise ImproperlyConfigured(f"PORTAL_QUIZ_PASS_RATIO is malformed: {raw!r}") from None
    if not Decimal(0) < value <= Decimal(1):
        raise ImproperlyConfigured(f"PORTAL_QUIZ_PASS_RATIO must be in (0, 1]: {raw!r}")
    return value


def renewal_window_days() -> int:
    """How long before expiry a credential holder may re-take the exam to renew it."""
    return int(settings.PORTAL_RENEWAL_WINDOW_DAYS)


def quiz_question_count() -> int:
    """Questions asked per quiz attempt (all of a module's when it has fewer); a retake
    draws the ones the previous attempt did not ask first."""
    raw = str(settings.PORTAL_QUIZ_QUESTIONS)
    if not raw.isdigit() or int(raw) < 1:
        raise ImproperlyConfigured(
            f"PORTAL_QUIZ_QUESTIONS must be a positive whole number: {raw!r}"
        )
    return int(raw)
