"""`python manage.py export_xapi --out FILE`: xAPI statements for a Learning Record Store."""

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from portal.xapi import xapi_export


class Command(BaseCommand):
    help = "Write learning xAPI statements (completed, passed, failed) as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", default="-", help="file to write, - for stdout")
        parser.add_argument("--since", default="", help="only statements stored after (ISO)")

    def handle(self, *args: Any, **options: Any) -> None:
        since = None
        if options["since"]:
            since = parse_datetime(options["since"])
            if since is None:
                raise CommandError(f"--since is not an ISO date-time: {options['since']!r}")
        export = xapi_export(since=since)
        payload = json.dumps(export, indent=2) + "\n"
        if options["out"] == "-":
            sys.stdout.write(payload)
            return
        Path(options["out"]).write_text(payload, encoding="utf-8")
        self.stderr.write(f"{len(export['statements'])} statements written to {options['out']}")
