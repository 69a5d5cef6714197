from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from curriculum.services import curriculum_lint, curriculum_summary


class Command(BaseCommand):
    help = "Check curriculum/content against the authoring rules; exit 1 listing file:line: reason."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--content-dir", type=Path, default=None, help="default: curriculum/content"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        problems = curriculum_lint(options["content_dir"])
        if problems:
            for problem in problems:
                self.stdout.write(str(problem))
            raise CommandError(f"{len(problems)} curriculum problem(s)", returncode=1)
        for line in curriculum_summary(options["content_dir"]).lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("curriculum lint: no problems"))
