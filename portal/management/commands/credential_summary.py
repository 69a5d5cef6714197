"""`python manage.py credential_summary (--email E... | --team SLUG | --all) --out DIR [--csv]`."""

import getpass
import socket
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.summaries import PAPERS, summaries_write, summary_people


class Command(BaseCommand):
    help = (
        "Write PDF credential summaries (one per certified or evaluated person, the same PDFs "
        "as the portal) into DIR, and index.csv with --csv. Every file is audit-logged."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--email", nargs="+", default=[], help="these people (any status)")
        who.add_argument("--team", help="certified or evaluated members of this team (slug)")
        who.add_argument("--all", action="store_true", help="every certified or evaluated person")
        parser.add_argument("--out", type=Path, required=True, help="folder to write into")
        parser.add_argument("--csv", action="store_true", help="also write index.csv")
        parser.add_argument("--paper", choices=PAPERS, default="a4")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            people = summary_people(
                emails=options["email"], team=options["team"], everyone=options["all"]
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if not people:
            self.stdout.write("Nobody to summarize (no certified or evaluated person matched).")
        label = f"manage.py credential_summary ({getpass.getuser()}@{socket.gethostname()})"
        try:
            written = summaries_write(
                people=people,
                out=options["out"],
                paper=options["paper"],
                with_csv=options["csv"],
                actor_label=label,
            )
        except OSError as exc:
            raise CommandError(f"{options['out']}: cannot write: {exc.strerror}") from None
        for path in written:
            self.stdout.write(str(path))
        self.stdout.write(
            self.style.SUCCESS(f"{len(people)} summaries written to {options['out']}")
        )
