"""`python manage.py slack_socket`: run the bot over Slack's Socket Mode, for local
development without a public URL (HTTP mode, POST /slack/events, is for production)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run the Slack bot over Socket Mode (needs SLACK_APP_TOKEN and SLACK_BOT_TOKEN)."

    def handle(self, *args: Any, **options: Any) -> None:
        missing = [
            name for name in ("SLACK_APP_TOKEN", "SLACK_BOT_TOKEN") if not getattr(settings, name)
        ]
        if missing:
            raise CommandError(
                f"Set {' and '.join(missing)} (an app-level token xapp-... with the "
                "connections:write scope, and the bot token xoxb-...) to use Socket Mode."
            )
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        from bot.slack_app import get_app

        self.stdout.write("Connecting to Slack over Socket Mode; Ctrl-C stops.")
        SocketModeHandler(get_app(), settings.SLACK_APP_TOKEN).start()
