"""The door of /slack/events: what is checked before a request reaches bolt.

Bolt verifies signatures too, but it parses the body first and trusts its shape, so a hostile
body could make it raise (a 500). Here, in this order: the signature over the raw bytes (401),
the body is UTF-8 JSON or a form whose `payload` is a JSON object (400), and the fields bolt
reads have the types Slack sends (otherwise the request is signed but not one of Slack's: 200,
ignored). Pure functions; the view maps their verdicts to responses.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

# Slack's replay window: a timestamp more than 5 minutes away is refused.
MAX_CLOCK_SKEW_SECONDS = 60 * 5
# Fields bolt reads without checking their type, with the type Slack sends.
_OBJECT_FIELDS = ("event", "user", "team", "channel", "container", "message", "view", "enterprise")
_LIST_OF_OBJECT_FIELDS = ("actions", "authorizations")
_STRING_FIELDS = ("type", "team_id", "user_id", "channel_id", "api_app_id", "enterprise_id")


@dataclass(frozen=True)
class Verdict:
    """status None: hand the request to bolt; otherwise answer `status` with `reason`."""

    status: int | None
    reason: str = ""


PASS = Verdict(None)


def signature_is_valid(
    *,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    secret: str,
    now: float | None = None,
) -> bool:
    """Slack's v0 signature (HMAC-SHA256 of `v0:<timestamp>:<body>`) over the raw bytes."""
    if not secret or not timestamp or not signature:
        return False
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
        return False
    expected = (
        "v0="
        + hmac.new(
            secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256
        ).hexdigest()
    )
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def _shape_problem(data: Mapping[str, Any]) -> str:
    for name in _OBJECT_FIELDS:
        if name in data and not isinstance(data[name], dict):
            return f"{name} is not an object"
    for name in _LIST_OF_OBJECT_FIELDS:
        if name in data and not (
            isinstance(data[name], list) and all(isinstance(i, dict) for i in data[name])
        ):
            return f"{name} is not a list of objects"
    for name in _STRING_FIELDS:
        if name in data and not isinstance(data[name], str):
            return f"{name} is not a string"
    for name in ("event", "user", "team", "channel", "view"):
        nested = data.get(name)
        if isinstance(nested, dict):
            for key in ("type", "id", "user", "channel", "team", "callback_id"):
                value = nested.get(key)
                if key in nested and value is not None and not isinstance(value, str | dict):
                    return f"{name}.{key} has an unexpected type"
    if data.get("type") in ("view_submission", "view_closed"):
        view = data.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("type"), str):
            return "a view payload without view.type"
    return ""


def body_verdict(body: bytes, content_type: str) -> Verdict:
    """Parse the body the way bolt will; 400 when it cannot, 200 when its shape is not Slack's."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Verdict(400, "the body is not UTF-8")
    try:
        if content_type.startswith("application/json") or text.startswith("{"):
            data: Any = json.loads(text)
        else:
            form = parse_qs(text, keep_blank_values=True)
            if "payload" not in form:
                return PASS  # slash commands and ssl_check are flat forms of strings
            data = json.loads(form["payload"][0])
    except (ValueError, RecursionError):
        return Verdict(400, "the body is not valid JSON")
    if not isinstance(data, dict):
        return Verdict(200, "ignored: the body is not a JSON object")
    problem = _shape_problem(data)
    return Verdict(200, f"ignored: {problem}") if problem else PASS
