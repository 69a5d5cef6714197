"""`python manage.py ask "QUESTION" --user EMAIL_OR_SLACK_ID`: the bot's answer as text,
through the same service as Slack, for people without a Slack workspace."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bot.blocks.answers import answer_text
from bot.identity import slack_id_of, user_for_identifier
from bot.services import answer_question


class Command(BaseCommand):
    help = "Ask the Slack bot a spend question offline and print its answer as plain text."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("question", help='e.g. "what did my team spend last week?"')
        parser.add_argument(
            "--user", required=True, help="who asks: an e-mail or a Slack user id (U0123ABCD)"
        )
        parser.add_argument(
            "--today",
            type=date.fromisoformat,
            default=None,
            help="answer as if today were this date (YYYY-MM-DD); default: today in the "
            "asker's team time zone",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        identifier = str(options["user"])
        user = user_for_identifier(identifier)
        if user is None:
            raise CommandError(
                f"No active user with the e-mail or Slack user id {identifier!r}. "
                "Demo accounts are listed by `python manage.py seed_demo`."
            )
        slack_user_id = identifier if "@" not in identifier else slack_id_of(user)
        answer = answer_question(
            user=user,
            text=str(options["question"]),
            today=options["today"],
            slack_user_id=slack_user_id,
        )
        self.stdout.write(answer_text(answer))
