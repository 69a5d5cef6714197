"""`python manage.py invite_user EMAIL`: create a learner and e-mail a set-password link."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from metrics.models import Team
from portal.accounts import AccountError, user_invite


class Command(BaseCommand):
    help = "Invite a person: creates a learner account and e-mails a link to set a password."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--team", default="", help="team slug to add them to (as a member)")

    def handle(self, *args: Any, **options: Any) -> None:
        team = None
        if options["team"]:
            team = Team.objects.filter(slug=options["team"]).first()
            if team is None:
                raise CommandError(f"No team with slug {options['team']!r}")
        try:
            user = user_invite(
                email=options["email"],
                first_name=options["first_name"],
                last_name=options["last_name"],
                team=team,
            )
        except AccountError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Invitation sent to {user.email}."))
