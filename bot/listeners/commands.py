from typing import Any

from slack_bolt import Ack, App, Say

HELP_TEXT = (
    "*AI FinOps* answers questions about AI spend.\n"
    "• `/finops spend [team] [period] [provider|model]`, "
    "e.g. `/finops spend ml-platform last week`\n"
    "• `/finops help`: this message\n"
    "You can also mention me: `@finops what did my team spend last week?`"
)


def register(app: App) -> None:
    app.command("/finops")(finops_command)
    app.event("app_mention")(on_mention)


def finops_command(ack: Ack, command: dict[str, Any]) -> None:
    ack(text=HELP_TEXT, response_type="ephemeral")


def on_mention(event: dict[str, Any], say: Say) -> None:
    say(text=HELP_TEXT, thread_ts=event.get("thread_ts") or event.get("ts"))
