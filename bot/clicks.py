"""What every button handler needs: who clicked, where, and a private answer to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.transport import RESPONSE_URL, enqueue


@dataclass(frozen=True)
class Click:
    """A button click: who, and where the message is (to update it or answer privately)."""

    slack_user_id: str
    channel: str = ""
    ts: str = ""
    response_url: str = ""

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Click:
        container = body.get("container") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id") or ""
        ts = container.get("message_ts") or (body.get("message") or {}).get("ts") or ""
        return cls(
            slack_user_id=str((body.get("user") or {}).get("id", "")),
            channel=str(channel),
            ts=str(ts),
            response_url=str(body.get("response_url") or ""),
        )


def tell(click: Click, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
    """A private answer to the clicker, sent from a worker after commit."""
    payload: dict[str, Any] = {"text": text}
    if blocks:
        payload["blocks"] = blocks
    if click.response_url:
        payload.update(url=click.response_url, response_type="ephemeral", replace_original=False)
        enqueue(method=RESPONSE_URL, payload=payload)
    elif click.channel:
        payload.update(channel=click.channel, user=click.slack_user_id)
        enqueue(method="chat.postEphemeral", payload=payload)
