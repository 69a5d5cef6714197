from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from curriculum.services import curriculum_sync
from curriculum.yaml_lines import ContentError


class Command(BaseCommand):
    help = (
        "Load curriculum/content into the database (idempotent, versioned, retires, never deletes)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--content-dir", type=Path, default=None, help="default: curriculum/content"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = curriculum_sync(content_dir=options["content_dir"])
        except ContentError as exc:
            raise CommandError(str(exc)) from exc
        for line in report.lines():
            self.stdout.write(line)
