"""Block Kit primitives within Slack's limits (at most 50 blocks a message, 3000
characters in a section's text, 150 in a header, 10 fields of 2000 characters, 10 context
elements, 75 characters on a button) and mrkdwn escaping. Pure functions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

Block = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_TEXT = 75
MAX_BUTTONS = 25
MAX_FALLBACK_TEXT = 3000
MAX_LIST_LINES = 10
MAX_NAME = 80


# --- Formatting ----------------------------------------------------------------------------


def esc(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_date(moment: datetime) -> str:
    """A time Slack shows in each reader's own time zone (`<!date^...>`), with a UTC
    fallback for clients that cannot."""
    fallback = f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


# --- Block primitives ----------------------------------------------------------------------


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, MAX_HEADER_TEXT)}}


def section(text: str, *, fields: Sequence[str] = (), accessory: Block | None = None) -> Block:
    block: Block = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION_TEXT)},
    }
    if fields:
        block["fields"] = [
            {"type": "mrkdwn", "text": clip(f, MAX_FIELD_TEXT)} for f in fields[:MAX_FIELDS]
        ]
    if accessory:
        block["accessory"] = accessory
    return block


def context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": clip(t, MAX_SECTION_TEXT)}
            for t in texts[:MAX_CONTEXT_ELEMENTS]
        ],
    }


def button(text: str, action_id: str, *, value: str = "", url: str = "", style: str = "") -> Block:
    b: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(text, MAX_BUTTON_TEXT)},
        "action_id": action_id,
    }
    if value:
        b["value"] = value
    if url:
        b["url"] = url
    if style:
        b["style"] = style
    return b


def actions(*buttons: Block, block_id: str = "") -> Block:
    block: Block = {"type": "actions", "elements": list(buttons[:MAX_BUTTONS])}
    if block_id:
        block["block_id"] = block_id
    return block


def divider() -> Block:
    return {"type": "divider"}


def fit(blocks: list[Block]) -> list[Block]:
    """At most MAX_BLOCKS blocks; the last ones (links, buttons) are the ones kept."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    tail = [b for b in blocks[-2:] if b["type"] in ("actions", "context")]
    head = blocks[: MAX_BLOCKS - len(tail) - 1]
    dropped = len(blocks) - len(head) - len(tail)
    return [*head, context(f"… {dropped} more blocks left out"), *tail]


def bullet_lines(lines: Sequence[str], *, limit: int = MAX_LIST_LINES) -> str:
    shown = [f"• {line}" for line in lines[:limit]]
    if len(lines) > limit:
        shown.append(f"… and {len(lines) - limit} more")
    return "\n".join(shown)


_SLACK_TOKENS = re.compile(r"&lt;(@[A-Z0-9]+|!date\^\d+\^[^|&]*\|[^&]*)&gt;")


def esc_mentions(text: str) -> str:
    """Escape text but keep Slack user mentions (<@U123>) and dates (<!date^...>) working."""
    return _SLACK_TOKENS.sub(r"<\1>", esc(text))
