"""`python manage.py sync_rubrics`: load the hiring rubrics of portal/content/rubrics/."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from curriculum.yaml_lines import ContentError
from portal.rubrics import rubric_sync


class Command(BaseCommand):
    help = (
        "Load the hiring rubrics (YAML) into the database: atomic, idempotent, versioned. "
        "A bad file fails with file:line: reason and changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rubric-dir", type=Path, default=None, help="default: portal/content/rubrics"
        )
        parser.add_argument(
            "--curriculum-dir",
            type=Path,
            default=None,
            help="the curriculum the mappings are checked against (default: curriculum/content)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = rubric_sync(
                rubric_dir=options["rubric_dir"], curriculum_dir=options["curriculum_dir"]
            )
        except ContentError as exc:
            raise CommandError(str(exc)) from exc
        for line in report.lines():
            self.stdout.write(line)
