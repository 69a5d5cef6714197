import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from tqdm import tqdm

from metrics.ledger.ingest import (
    ImportResult,
    billing_import,
    describe,
    expand_paths,
    job_rows_done,
)
from metrics.ledger.sources.base import IngestError
from metrics.ledger.sources.registry import SOURCES
from metrics.models import ImportJob


class Command(BaseCommand):
    help = (
        "Import billing files (files, folders, globs) into the ledger. Each file is atomic and "
        "idempotent: a bad row writes nothing; the same file twice changes nothing. Several "
        "files on PostgreSQL with a Celery worker running are imported by the workers in "
        "parallel (one file per task)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--source", default="auto", choices=["auto", *SOURCES])
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument(
            "--workers",
            choices=["auto", "yes", "no"],
            default="auto",
            help="auto: hand several files to Celery workers when one answers (PostgreSQL)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            files = expand_paths(options["paths"])
        except IngestError as exc:
            raise CommandError(str(exc)) from exc
        if self._use_workers(options["workers"], files):
            failures = self._through_workers(files, options)
        else:
            failures = sum(not self._import_here(path, options) for path in files)
        if failures:
            raise CommandError(f"{failures} of {len(files)} file(s) failed; see the errors above")

    # --- one by one, in this process ---------------------------------------------------------

    def _import_here(self, path: Path, options: dict[str, Any]) -> bool:
        tty = sys.stderr.isatty() and not options["no_progress"]
        bar = tqdm(
            desc=path.name, unit=" rows", disable=not tty, leave=False, file=self.stderr._out
        )
        progress: Callable[[int], None] = bar.update
        if not tty and not options["no_progress"]:
            progress = _PlainProgress(path.name, self.stderr.write)
        try:
            result = billing_import(path, source=options["source"], progress=progress)
        except IngestError as exc:
            self.stderr.write(self.style.ERROR(f"{exc}  (nothing imported from this file)"))
            return False
        finally:
            bar.close()
        self.stdout.write(describe(result))
        return True

    # --- several files, by the workers -----------------------------------------------------

    def _use_workers(self, mode: str, files: list[Path]) -> bool:
        if mode == "no" or (mode == "auto" and len(files) < 2):
            return False
        if connection.vendor != "postgresql":
            if mode == "yes":
                raise CommandError("parallel imports need PostgreSQL (SQLite has one writer)")
            return False
        try:
            from config.celery import app

            alive = bool(app.control.ping(timeout=1.0))
        except Exception:
            alive = False
        if mode == "yes" and not alive:
            raise CommandError("no Celery worker answered; start one or use --workers no")
        return alive

    def _through_workers(self, files: list[Path], options: dict[str, Any]) -> int:
        from metrics.tasks import queue_import

        with transaction.atomic():
            jobs = [
                ImportJob.objects.create(
                    file_name=str(path),
                    path=str(path.resolve()),
                    source=options["source"],
                    delete_after=False,
                )
                for path in files
            ]
            for job in jobs:
                queue_import(job)
        self.stderr.write(f"queued {len(jobs)} file(s) for the Celery workers")
        pending = {job.pk for job in jobs}
        last: dict[int, tuple[str, int]] = {}
        started = time.monotonic()
        while pending:
            time.sleep(1.0)
            for job in ImportJob.objects.filter(pk__in=pending).select_related("batch"):
                state = (job.status, job_rows_done(job))
                if state != last.get(job.pk) and not options["no_progress"]:
                    rate = state[1] / max(time.monotonic() - started, 1e-9)
                    self.stderr.write(
                        f"{job.file_name}: {state[0]}, {state[1]:,} rows ({rate:,.0f} rows/s)"
                    )
                last[job.pk] = state
                if job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
                    pending.discard(job.pk)
        failures = 0
        for job in ImportJob.objects.filter(pk__in=[j.pk for j in jobs]).order_by("pk"):
            if job.status == ImportJob.Status.FAILED or job.batch is None:
                failures += 1
                self.stderr.write(
                    self.style.ERROR(f"{job.error}  (nothing imported from this file)")
                )
                continue
            self.stdout.write(
                describe(ImportResult(batch=job.batch, created=not job.already_imported))
            )
        return failures


class _PlainProgress:
    """Progress as plain lines (logs, CI, pipes): at most one every 5 seconds."""

    def __init__(self, name: str, write: Callable[[str], None]) -> None:
        self.name = name
        self.write = write
        self.rows = 0
        self.started = time.monotonic()
        self.shown = self.started

    def __call__(self, rows: int) -> None:
        self.rows += rows
        now = time.monotonic()
        if now - self.shown >= 5:
            self.shown = now
            rate = self.rows / max(now - self.started, 1e-9)
            self.write(f"{self.name}: {self.rows:,} rows ({rate:,.0f} rows/s)")
