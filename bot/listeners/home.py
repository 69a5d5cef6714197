"""The App Home tab, published afresh each time someone opens it."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.tasks import publish_home, queue_after_commit


def register(app: App) -> None:
    app.event("app_home_opened")(on_home_opened)


def on_home_opened(event: dict[str, Any]) -> None:
    if event.get("tab", "home") != "home" or not event.get("user"):
        return
    slack_user_id = str(event["user"])
    queue_after_commit(publish_home, slack_user_id)
