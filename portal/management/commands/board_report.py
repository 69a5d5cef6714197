"""`python manage.py board_report --month 2026-10 --out report.pdf|report.pptx`."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from metrics.spend_filters import ledger_today
from portal.board_report import FORMATS, board_report_file, parse_month


class Command(BaseCommand):
    help = (
        "Write the monthly board report (a landscape deck, one message per slide) as PDF or "
        "PPTX; the format follows the --out extension. A month that has ended is stored and "
        "reused; the month in progress is rendered fresh."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="YYYY-MM, e.g. 2026-10")
        parser.add_argument("--out", required=True, help="report.pdf or report.pptx")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            month = parse_month(options["month"])
        except ValueError as exc:
            raise CommandError(f"--month: {exc}") from exc
        out = Path(options["out"])
        fmt = out.suffix.lower().lstrip(".")
        if fmt not in FORMATS:
            raise CommandError(f"--out must end in .pdf or .pptx, not {out.name!r}")
        if not out.parent.is_dir():
            raise CommandError(f"--out: folder {out.parent} does not exist")
        data, _ = board_report_file(month=month, fmt=fmt, today=ledger_today())
        out.write_bytes(data)
        self.stdout.write(f"Board report {month:%Y-%m} written to {out} ({len(data):,} bytes)")
