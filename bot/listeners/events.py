"""Questions by mention (`@finops what did my team spend last week?`) and by direct
message. Events are acknowledged at once; a Celery worker answers."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.tasks import answer_event, queue_after_commit


def register(app: App) -> None:
    app.event("app_mention")(on_mention)
    app.event("message")(on_message)


def _answer_later(body: dict[str, Any]) -> None:
    event_id = str(body.get("event_id", ""))
    if event_id:
        queue_after_commit(answer_event, event_id)


def on_mention(body: dict[str, Any]) -> None:
    _answer_later(body)


def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
    # Only people's own messages in a DM with the bot; edits, joins and bots are ignored.
    if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
        return
    _answer_later(body)
