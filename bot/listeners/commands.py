"""The `/finops` slash command. Slack wants an answer within 3 seconds: the listener only
acknowledges; the answer is computed by a Celery worker and sent to the response_url."""

from __future__ import annotations

import uuid
from typing import Any

from slack_bolt import Ack, App

from bot.blocks.answers import help_blocks, help_text
from bot.tasks import answer_command, queue_after_commit

HELP_TEXT = help_text()


def register(app: App) -> None:
    app.command("/finops")(finops_command)


def is_help(text: str) -> bool:
    words = text.lower().split()
    return not words or words[0] in ("help", "?", "-h", "--help")


def finops_command(ack: Ack, command: dict[str, Any]) -> None:
    text = str(command.get("text") or "").strip()
    if is_help(text):
        ack(text=HELP_TEXT, blocks=help_blocks(), response_type="ephemeral")
        return
    ack(text=":hourglass_flowing_sand: Looking that up…", response_type="ephemeral")
    args = (
        str(command.get("user_id", "")),
        text,
        str(command.get("response_url", "")),
        str(command.get("trigger_id") or uuid.uuid4()),
    )
    queue_after_commit(answer_command, *args)
