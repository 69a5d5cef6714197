import argparse
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from metrics.ledger.export import FOCUS_VERSION, ExportError, focus_export


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = (
        f"Export the ledger as FOCUS {FOCUS_VERSION} (CSV or Parquet, by the file suffix), with "
        "the AI columns as x_ extensions. --start/--end select days of ChargePeriodStart (UTC), "
        "both inclusive; --team selects the records allocated to one team."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, type=Path, metavar="FILE.csv|FILE.parquet")
        parser.add_argument("--start", type=_date, metavar="YYYY-MM-DD")
        parser.add_argument("--end", type=_date, metavar="YYYY-MM-DD")
        parser.add_argument("--team", metavar="SLUG")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = focus_export(
                out=options["out"],
                start=options["start"],
                end=options["end"],
                team=options["team"],
            )
        except ExportError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{result.path}: {result.rows} rows (FOCUS {FOCUS_VERSION})")
