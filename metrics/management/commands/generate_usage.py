from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from metrics.synthetic.generator import generate


class Command(BaseCommand):
    help = (
        "Write synthetic multi-provider AI usage: the providers' native formats (OpenAI, "
        "Anthropic, AWS CUR 2.0, Azure, GCP, OpenCost) or one FOCUS 1.2 CSV. The same --seed "
        "and --end give the same bytes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=30, help="days of usage (default 30)")
        parser.add_argument("--teams", type=int, default=3, help="teams (default 3)")
        parser.add_argument(
            "--rows",
            type=int,
            default=10_000,
            help="usage rows to aim for; at least one per workload and day (default 10000)",
        )
        parser.add_argument("--out", default="var/generated", help="output folder")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--format", choices=["native", "focus"], default="native")
        parser.add_argument(
            "--end",
            type=date.fromisoformat,
            default=None,
            help="day after the last generated day, YYYY-MM-DD (default: today, UTC)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            files = generate(
                days=options["days"],
                teams=options["teams"],
                rows=options["rows"],
                out=Path(options["out"]),
                seed=options["seed"],
                output_format=options["format"],
                end=options["end"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        for path in files:
            self.stdout.write(f"{path} ({path.stat().st_size:,} bytes)")
