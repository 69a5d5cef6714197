import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from metrics.ingest import billing_import, describe, expand_paths
from metrics.sources.base import IngestError
from metrics.sources.registry import SOURCES


class Command(BaseCommand):
    help = (
        "Import billing files (files, folders, globs) into the ledger. Each file is atomic and "
        "idempotent: a bad row writes nothing; the same file twice changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--source", default="auto", choices=["auto", *SOURCES])
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            files = expand_paths(options["paths"])
        except IngestError as exc:
            raise CommandError(str(exc)) from exc
        failures = 0
        for path in files:
            bar = tqdm(
                desc=path.name,
                unit=" rows",
                disable=options["no_progress"] or not sys.stderr.isatty(),
                leave=False,
                file=self.stderr._out,
            )
            try:
                result = billing_import(path, source=options["source"], progress=bar.update)
            except IngestError as exc:
                failures += 1
                self.stderr.write(self.style.ERROR(f"{exc}  (nothing imported from this file)"))
                continue
            finally:
                bar.close()
            self.stdout.write(describe(result))
        if failures:
            raise CommandError(f"{failures} of {len(files)} file(s) failed; see the errors above")
