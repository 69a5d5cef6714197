"""Import billing files into the ledger: atomic, idempotent, streamed in chunks.

`billing_import(path)` is the one service behind the `import_billing` command, the portal/API
upload and the provider pulls. Contract:

- Same bytes again (SHA-256) -> nothing changes; the earlier batch is returned.
- A bad row anywhere -> IngestError (`file:row:column: reason`) and nothing is written.
- A newer export of the same billing account and period replaces the older rows of the days
  it covers (instead of doubling them).
- Daily rollups (metrics.DailyCost) are rebuilt once, for every day the import touched.

One direction, each step once, in one transaction under the ledger lock: detect -> scan
limits -> parse/validate/normalize (per chunk) -> allocate -> write -> replace older rows ->
price cost-less usage from the catalog -> roll up and carbon (metrics.ledger.rollups) -> summary.
The SHA-256 of a file of a size no imported file had is computed in a thread beside its first
chunks and settled before the ledger lock; a file of an imported size is hashed first (_Scan).

On PostgreSQL the write is a binary COPY built from the chunk's Arrow arrays
(metrics.ledger.pg_binary), each chunk's rows in (day, team) order for the index; a chunk it
cannot write exactly goes as CSV. The source file is copied to MEDIA_ROOT/imports while the
rows load and kept only once the import has committed.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import re
import shutil
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, localcontext
from functools import partial
from pathlib import Path
from queue import Full, Queue
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.conf import settings
from django.contrib.auth.models import User
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone

from metrics.economics.pricing.repricing import (
    batch_reprice_scope,
    may_need_pricing,
    reprice_rows,
)
from metrics.fields import MONEY_DIGITS, MONEY_PLACES
from metrics.ledger import pg_binary
from metrics.ledger.allocation import Allocator
from metrics.ledger.locks import ledger_lock
from metrics.ledger.names import application_names_store
from metrics.ledger.rollups import RollupSums, rebuild_rollups
from metrics.ledger.sources import registry
from metrics.ledger.sources.arrow import (
    EXACT,
    ChunkDecimals,
    ReparseSlowly,
    encode,
    plain,
    to_ledger_table,
    warnings_of,
)
from metrics.ledger.sources.base import MONEY_COLUMNS, IngestError
from metrics.ledger.sources.limits import check_limits, scan_file
from metrics.models import CostRecord, ImportBatch, ImportJob, Team
from metrics.money import format_money

logger = logging.getLogger(__name__)

# Ledger columns as stored (CostRecord field -> DB column); the frame column has the same name.
RECORD_COLUMNS = [f.column for f in CostRecord._meta.concrete_fields if f.column not in ("id",)]
TEXT_COLUMNS = [
    f.column
    for f in CostRecord._meta.concrete_fields
    if f.get_internal_type() in ("CharField", "TextField")
]
_FIELDS = {f.column: f for f in CostRecord._meta.concrete_fields}
DEFAULTED_TEXT = {c for c in TEXT_COLUMNS if _FIELDS[c].has_db_default()}
DEFAULTED_INT = {
    c
    for c, f in _FIELDS.items()
    if f.get_internal_type() == "BigIntegerField" and f.has_db_default()
}
DEFAULTED_DECIMAL = {
    c
    for c, f in _FIELDS.items()
    if f.get_internal_type() == "ExactDecimalField" and f.has_db_default()
}
NULLABLE = {c for c, f in _FIELDS.items() if f.null}
# An import of this many rows or more analyzes the ledger before it reads it back.
ANALYZE_MIN_ROWS = 50_000
# What the queries after the load filter and group on (replacement, pricing, rollups).
ANALYZED_COLUMNS = [
    "batch_id",
    "day",
    "team_id",
    "billing_account_id",
    "billing_period_start",
    "provider",
    "cost_source",
]
T = TypeVar("T")


@dataclass
class ImportResult:
    batch: ImportBatch
    created: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, Any]:
        return self.batch.summary


def expand_paths(paths: Iterable[str]) -> list[Path]:
    """Files, folders (recursively) and globs -> files. A path matching nothing is an error."""
    found: list[Path] = []
    for spec in paths:
        matches = [Path(p) for p in sorted(glob.glob(spec, recursive=True))] or [Path(spec)]
        for p in matches:
            if p.is_dir():
                found.extend(
                    sorted(q for q in p.rglob("*") if q.is_file() and not q.name.startswith("."))
                )
            elif p.is_file():
                found.append(p)
            else:
                raise IngestError(str(p), 0, "-", "no such file or directory")
    return found


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def billing_import(
    path: Path,
    *,
    source: str = "auto",
    user: User | None = None,
    display_name: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import one file. See the module docstring for the contract."""
    name = display_name or str(path)
    if not path.is_file():
        raise IngestError(name, 0, "-", "no such file")
    size = path.stat().st_size  # its limit is checked with the others, before any parse
    if size == 0:
        raise IngestError(name, 0, "-", "the file is empty")
    if _may_be_imported(size):
        # Probably the same bytes again: hash first, so a re-import writes nothing at all.
        scan = _Scan.finished(scan_file(path, name=name))
        done = ImportBatch.objects.filter(sha256=scan.sha, status=ImportBatch.Status.DONE)
        if found := done.first():
            return ImportResult(batch=found, created=False)
    else:
        check_limits(path, name=name)  # before any parser reads it
        scan = _Scan(path)  # the SHA-256 while the rows load
    keeper = _KeptCopy(path, scan.sha)  # copies the source while it is imported
    try:
        parser = registry.detect(path, source)
        parses = [parser.parse]
        if hasattr(parser, "parse_fallback"):  # the Arrow reader may hand over to pandas
            parses.append(parser.parse_fallback)
        for attempt, parse in enumerate(parses):
            try:
                with transaction.atomic():
                    batch = ImportBatch.objects.create(
                        sha256=scan.sha or f"pending:{uuid.uuid4().hex}",
                        source=parser.NAME,
                        file_name=name,
                        created_by=user,
                    )
                    result = _load(
                        batch,
                        path,
                        parse,
                        name=name,
                        source=parser.NAME,
                        scope=getattr(parser, "REPLACE_SCOPE", None),
                        progress=progress,
                        scan=scan,
                    )
                break
            except ReparseSlowly:
                if attempt + 1 == len(parses):
                    raise
                logger.info("%s: the fast reader gave up; reading it again with pandas", name)
    except _AlreadyImported as same:
        keeper.discard()
        return ImportResult(batch=same.batch, created=False)
    except IngestError as exc:
        keeper.discard()
        scan.raise_failure()  # the file could not be read to the end: say so first
        if exc.file == str(path):  # name the upload, not our temporary copy
            exc.file = name
        raise
    except IntegrityError:
        keeper.discard()
        # Another worker imported the same bytes first: that import is the one that counts.
        existing = ImportBatch.objects.filter(sha256=scan.result()).first()
        if existing is None:
            raise
        return ImportResult(batch=existing, created=False)
    except Exception:
        keeper.discard()
        scan.raise_failure()
        raise
    except BaseException:
        keeper.discard()
        raise
    keeper.keep(batch)
    return result


def _may_be_imported(size: int) -> bool:
    """Whether an imported file had this many bytes (a batch that does not say counts)."""
    done = ImportBatch.objects.filter(status=ImportBatch.Status.DONE)
    return done.filter(summary__file_bytes=size).exists()


class _AlreadyImported(Exception):
    """The file's SHA-256, known only once its rows were loading, is an imported batch's."""

    def __init__(self, batch: ImportBatch) -> None:
        super().__init__(batch.pk)
        self.batch = batch


class _Scan:
    """The SHA-256 of a file (the import's idempotency key), computed in a thread while its
    rows are parsed and written: it takes nine tenths of the limits scan's time, and reads
    the file about four times as fast as the import loads it, so it ends within the first
    chunks instead of delaying them. The limits are checked before (`check_limits`).

    The import settles with it on its own connection before it takes the ledger lock
    (`_settle_scan`), inside its transaction: the same bytes as an imported batch make the
    import a no-op (what it wrote is rolled back), and an error hashing the file is the
    import's (`raise_failure`). A file of the same size as an imported one is hashed before
    anything is written instead (`billing_import`), so a re-import writes nothing."""

    def __init__(self, path: Path | None) -> None:
        self.sha: str | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if path is not None:
            self._thread = threading.Thread(
                target=self._run, args=(path,), name="ingest-sha256", daemon=True
            )
            self._thread.start()

    @classmethod
    def finished(cls, sha: str) -> _Scan:
        scan = cls(None)
        scan.sha = sha
        return scan

    def _run(self, path: Path) -> None:
        try:
            self.sha = sha256_of(path)
        except BaseException as exc:  # raised by result(), in the importing thread
            self._error = exc

    def ready(self) -> bool:
        return self._thread is None or not self._thread.is_alive()

    def result(self) -> str:
        """The SHA-256, once the whole file has been read; the error if hashing failed."""
        self.raise_failure()
        assert self.sha is not None
        return self.sha

    def raise_failure(self) -> None:
        """Raise the error hashing the file, if there was one (waits for the hash to end)."""
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error


def _settle_scan(scan: _Scan, batch: ImportBatch) -> None:
    """Give the batch the file's SHA-256 (an error hashing the file raises here): unless
    another batch has it already, then the import is a no-op (_AlreadyImported rolls it
    back). Runs on the import's connection, between two writes."""
    sha = scan.result()
    if batch.sha256 == sha:
        return
    done = ImportBatch.objects.filter(sha256=sha, status=ImportBatch.Status.DONE)
    if found := done.first():
        raise _AlreadyImported(found)
    ImportBatch.objects.filter(pk=batch.pk).update(sha256=sha)  # IntegrityError: a race
    batch.sha256 = sha


def import_precheck(path: Path, *, source: str = "auto", display_name: str | None = None) -> None:
    """What an upload can be refused for at once, before it is queued: empty, over the
    limits (metrics/ledger/sources/limits.py), or of no known format. Raises IngestError."""
    name = display_name or str(path)
    if path.stat().st_size == 0:
        raise IngestError(name, 0, "-", "the file is empty")
    scan_file(path, name=name)
    try:
        registry.detect(path, source)
    except IngestError as exc:
        exc.file = name
        raise


def billing_import_bytes(
    name: str, data: bytes, *, source: str = "auto", user: User | None = None
) -> ImportResult:
    """Import bytes (an upload or a pulled API page) through the same path as a file."""
    folder = Path(settings.MEDIA_ROOT) / "incoming"
    folder.mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256(data).hexdigest()
    suffix = "".join(Path(name).suffixes[-2:]) or ".dat"
    path = folder / f"{sha}{suffix}"
    path.write_bytes(data)
    try:
        return billing_import(path, source=source, user=user, display_name=name)
    finally:
        path.unlink(missing_ok=True)


def store_upload(name: str, chunks: Iterable[bytes], size: int | None = None) -> Path:
    """Write an upload to MEDIA_ROOT/incoming block by block (never whole in memory).

    Refuses it when larger than INGEST_MAX_FILE_BYTES (checked on the declared size first,
    then while writing). The caller deletes the file when done with it."""
    limit = int(settings.INGEST_MAX_FILE_BYTES)
    too_big = IngestError(
        name, 0, "-", f"the upload is over the limit of {limit:,} bytes (INGEST_MAX_FILE_BYTES)"
    )
    if size is not None and size > limit:
        raise too_big
    folder = Path(settings.MEDIA_ROOT) / "incoming"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = "".join(Path(name).suffixes[-2:])[:24] or ".dat"
    if not all(ch.isalnum() or ch == "." for ch in suffix):
        suffix = ".dat"
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    written = 0
    try:
        with path.open("wb") as fh:
            for block in chunks:
                written += len(block)
                if written > limit:
                    raise too_big
                fh.write(block)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


# --- Queued imports (the upload API, `import_billing` with workers) ----------------------------


def progress_path(job: ImportJob) -> Path:
    """Rows done so far, written by the worker outside the import's transaction (which
    other connections cannot see into) and read by the status API."""
    return Path(settings.MEDIA_ROOT) / "incoming" / f"job-{job.pk}.progress"


def job_rows_done(job: ImportJob) -> int:
    if job.status != ImportJob.Status.RUNNING:
        return job.rows_done
    try:
        return int(progress_path(job).read_text() or 0)
    except (OSError, ValueError):
        return 0


class _JobProgress:
    def __init__(self, job: ImportJob) -> None:
        self.path = progress_path(job)
        self.rows = 0
        self.written = 0.0

    def __call__(self, rows: int) -> None:
        self.rows += rows
        now = time.monotonic()
        if now - self.written >= 0.5:
            self.written = now
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(str(self.rows))
            tmp.replace(self.path)


def import_job_run(job_id: int) -> ImportJob:
    """Run one queued import. Safe to run twice: a finished job is left as it is, and a job
    whose worker died mid-import (nothing of it was committed) simply runs again."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
        return job
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING, started_at=timezone.now()
    )
    job.status = ImportJob.Status.RUNNING
    progress = _JobProgress(job)
    progress.path.parent.mkdir(parents=True, exist_ok=True)
    fields: dict[str, Any]
    try:
        result = billing_import(
            Path(job.path),
            source=job.source,
            user=job.created_by,
            display_name=job.file_name,
            progress=progress,
        )
    except IngestError as exc:
        fields = {"status": ImportJob.Status.FAILED, "error": str(exc)}
    else:
        fields = {
            "status": ImportJob.Status.DONE,
            "batch": result.batch,
            "already_imported": not result.created,
            "rows_done": result.batch.row_count,
        }
    fields["finished_at"] = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(**fields)
    progress.path.unlink(missing_ok=True)
    if job.delete_after:
        Path(job.path).unlink(missing_ok=True)
    job.refresh_from_db()
    return job


class _KeptCopy:
    """The source kept so any record can be traced back to its file and line: copied in a
    thread while the import runs (the kernel copies; no GIL held), under a partial name that
    becomes the kept file, named by its SHA-256, only once the import has committed."""

    def __init__(self, path: Path, sha: str | None = None) -> None:
        self.folder = Path(settings.MEDIA_ROOT) / "imports"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.suffix = "".join(path.suffixes[-2:])
        self.partial = self.folder / f".{uuid.uuid4().hex}.partial"
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        if sha is None or not self._target(sha).exists():
            self.thread = threading.Thread(
                target=self._copy, args=(path,), name="ingest-keep-copy", daemon=True
            )
            self.thread.start()

    def _target(self, sha: str) -> Path:
        return self.folder / f"{sha}{self.suffix}"

    def _copy(self, path: Path) -> None:
        try:
            shutil.copyfile(path, self.partial)
        except BaseException as exc:  # raised by keep(), in the caller's thread
            self.error = exc

    def _join(self) -> None:
        if self.thread is not None:
            self.thread.join()

    def keep(self, batch: ImportBatch) -> None:
        self._join()
        if self.error is not None:
            self.partial.unlink(missing_ok=True)
            raise self.error
        target = self._target(batch.sha256)
        if self.thread is not None:
            self.partial.replace(target)  # the same bytes kept before: the same content
        ImportBatch.objects.filter(pk=batch.pk).update(stored_file=str(target))

    def discard(self) -> None:
        self._join()
        self.partial.unlink(missing_ok=True)


def _load(
    batch: ImportBatch,
    path: Path,
    parse: Callable[[Path], Iterable[Any]],
    *,
    name: str,
    source: str,
    scope: str | None,
    progress: Callable[[int], None] | None,
    scan: _Scan,
) -> ImportResult:
    allocator = Allocator.load()
    encode_chunk, write_chunk = _writer()
    currencies: dict[str, str] = {}
    keys: dict[tuple[str, Any, tuple[str, str] | None], set[date]] = defaultdict(set)
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    per_team: dict[int | None, int] = defaultdict(int)
    unallocated: dict[str, Decimal] = defaultdict(Decimal)
    app_names: dict[str, str] = {}
    warnings: list[str] = []
    period: list[Any] = [None, None]
    unpriced = [False]  # any row catalog pricing would look at (see may_need_pricing)
    # The batch's own rollups, added up while it is read (PostgreSQL; see rebuild_rollups).
    sums = RollupSums() if connection.vendor == "postgresql" else None
    timings: dict[str, float] = defaultdict(float)
    group_by = ["billing_account_id", "billing_period_start"] + ([scope] if scope else [])

    def prepared() -> Iterator[_Payload]:
        """Parse, validate, allocate, add up and encode each chunk. Runs in the read-ahead
        thread: pure CPU on Arrow arrays, no database (the connection belongs to the caller)."""
        clock = time.perf_counter()
        for raw in parse(path):
            timings["parse"] += time.perf_counter() - clock
            clock = time.perf_counter()
            if len(raw) == 0:
                continue
            table = to_ledger_table(raw)
            chunk_warnings = warnings_of(table)
            if name != str(path):  # errors name the upload, not our temporary file
                chunk_warnings = [w.replace(str(path), name) for w in chunk_warnings]
            warnings.extend(chunk_warnings)
            _check_currencies(table, currencies, name)
            team = _allocate(allocator, table)
            day = pc.cast(table.column("charge_period_start"), pa.date32())
            table = (
                table.append_column("team_id", team)
                .append_column("day", day)
                .append_column("batch_id", pa.array(np.full(len(table), batch.pk, dtype=np.int64)))
            )
            money = ChunkDecimals(table)  # each amount column read once, for all below
            _check_magnitudes(table, money, name)
            found = table.group_by(group_by).aggregate([("day", "distinct")]).to_pylist()
            for entry in found:
                scope_key = (scope, entry[scope]) if scope else None
                account_key = (entry["billing_account_id"], entry["billing_period_start"])
                keys[(*account_key, scope_key)].update(entry["day_distinct"])
            try:
                _accumulate(table, money, totals, per_team, unallocated)
            except ArithmeticError as exc:  # `1e999999999`: a total past 1,000 digits
                raise IngestError(
                    name, 0, "-", "an amount is out of range (its total has over 1,000 digits)"
                ) from exc
            app_names.update(_application_names(table))
            unpriced[0] = unpriced[0] or may_need_pricing(table)
            if sums is not None:
                sums.add(table, money)
            lo = pc.min(table.column("charge_period_start")).as_py()
            hi = pc.max(table.column("charge_period_end")).as_py()
            period[0] = lo if period[0] is None or lo < period[0] else period[0]
            period[1] = hi if period[1] is None or hi > period[1] else period[1]
            timings["allocate_and_sum"] += time.perf_counter() - clock
            clock = time.perf_counter()
            payload = encode_chunk(table, money)
            timings["encode"] += time.perf_counter() - clock
            yield payload
            clock = time.perf_counter()

    # The database writes chunk N while the read-ahead thread prepares chunk N+1 (Arrow and
    # the PostgreSQL server work outside the GIL), so the write path costs about
    # max(parse, write) rather than their sum. Overlapping phases: see "total".
    rows = 0
    started = time.perf_counter()
    with read_ahead(prepared()) as chunks:
        clock = time.perf_counter()
        for payload in chunks:
            timings["wait_for_chunks"] += time.perf_counter() - clock
            clock = time.perf_counter()
            try:
                write_chunk(payload)
            except DataError as exc:  # a value the database refuses: the file's row and column
                raise _refused(exc, payload, name) from exc
            rows += payload.rows
            if scan.ready():
                _settle_scan(scan, batch)  # between two writes, on this connection
            timings["store"] += time.perf_counter() - clock
            if progress:
                progress(payload.rows)
            clock = time.perf_counter()
    clock = time.perf_counter()
    _settle_scan(scan, batch)  # before anything else is read or locked
    timings["wait_for_scan"] = time.perf_counter() - clock
    if rows == 0:
        raise IngestError(name, 0, "-", "the file has no billing rows")
    clock = time.perf_counter()
    # Parsing and writing this batch's own rows needs no lock (parallel imports overlap
    # there); from here on the ledger is shared: replacement, pricing and rollups run under
    # the ledger lock, one import at a time, each seeing the ones committed before it.
    ledger_lock()
    timings["wait_for_lock"] = time.perf_counter() - clock
    clock = time.perf_counter()
    days: set[date] = set().union(*keys.values())
    candidates = _overlapping_batches(batch, min(days), max(days)) if days else []
    # Replacement and pricing read the ledger (rollups too, after either); a first import
    # of a period with its costs read nothing back: the rollups come from the chunks' sums.
    if candidates or unpriced[0]:
        _analyze(rows)
    timings["analyze"] = time.perf_counter() - clock
    clock = time.perf_counter()
    replaced = _replace_older(candidates, keys)
    overlapping = bool(candidates)
    span = [min(days).isoformat(), max(days).isoformat()]  # the days of this batch's rows
    timings["replace_older"] = time.perf_counter() - clock
    clock = time.perf_counter()
    # Usage without cost, priced from the catalog. Nothing to price when the batch has no
    # such rows and no other batch has rows on its days (whose catalog prices its rows
    # might replace): then the scope's query would only read the batch back to find none.
    pricing_scope = batch_reprice_scope(batch.pk) if unpriced[0] or overlapping else None
    priced: set[date] = set()
    if pricing_scope is not None:
        priced = reprice_rows(pricing_scope).days
        days |= priced
    timings["pricing"] = time.perf_counter() - clock
    clock = time.perf_counter()
    # Once, with carbon, for every day the import touched. When only this batch's rows, as
    # written, are on those days, their sums from the chunks are the rollups.
    rebuild_rollups(days, sums=sums if not overlapping and not priced else None)
    timings["rollups"] = time.perf_counter() - clock
    clock = time.perf_counter()
    application_names_store(app_names)  # readable application names for dashboards
    timings["application_names"] = time.perf_counter() - clock
    timings["total"] = time.perf_counter() - started
    teams = dict(Team.objects.filter(pk__in=[k for k in per_team if k]).values_list("pk", "slug"))
    batch.row_count = rows
    batch.replaced_count = replaced
    batch.status = ImportBatch.Status.DONE
    batch.finished_at = timezone.now()
    batch.summary = {
        "rows": rows,
        "source": source,
        "totals": {cur: {k: plain(v) for k, v in t.items()} for cur, t in sorted(totals.items())},
        "period": [_iso(period[0]), _iso(period[1])] if period[0] is not None else None,
        "records_per_team": {
            (teams.get(k, "?") if k else "unallocated"): v
            for k, v in sorted(per_team.items(), key=lambda kv: (kv[0] is None, str(kv[0])))
        },
        "unallocated_effective_cost": {cur: plain(v) for cur, v in sorted(unallocated.items())},
        "replaced_rows": replaced,
        # The days its rows are on: later imports look for rows to replace only in the
        # batches whose days overlap theirs (see _replace_older).
        "days": span,
        # A file of this size is hashed before it is loaded (see _may_be_imported).
        "file_bytes": path.stat().st_size,
        "warnings": warnings[:50],
        "seconds": {k: round(v, 3) for k, v in timings.items()},
    }
    batch.save()
    return ImportResult(batch=batch, created=True, warnings=warnings)


_DONE = object()


@contextmanager
def read_ahead(items: Iterator[T], depth: int = 1) -> Iterator[Iterator[T]]:
    """Iterate `items` in a background thread, at most `depth` items ahead of the consumer.

    An exception raised while producing is re-raised in the consumer, at the item where it
    happened; leaving the block early (an error while consuming) stops the thread."""
    queue: Queue[Any] = Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put((_DONE, exc))
            return
        put((_DONE, None))

    def consume() -> Iterator[T]:
        while True:
            item, error = queue.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item

    thread = threading.Thread(target=produce, name="ingest-read-ahead", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        thread.join()
        close = getattr(items, "close", None)
        if close is not None:
            close()  # a generator's finally blocks (open files) run now, not at GC


def _iso(value: datetime) -> str:
    """Like pandas' Timestamp.isoformat() of the former summaries: `...T00:00:00+00:00`."""
    return value.astimezone(UTC).isoformat()


def _check_currencies(table: pa.Table, seen: dict[str, str], name: str) -> None:
    """One billing account bills in one currency; a second one in a file is an error."""
    pairs = table.group_by(["billing_account_id", "billing_currency"]).aggregate([]).to_pylist()
    for pair in pairs:
        account, currency = pair["billing_account_id"], pair["billing_currency"]
        first = seen.setdefault(account, currency)
        if first != currency:
            mask = pc.and_(
                pc.equal(table.column("billing_account_id"), account),
                pc.equal(table.column("billing_currency"), currency),
            )
            line = int(pc.min(table.column("source_line").filter(mask)).as_py())
            raise IngestError(
                name,
                line,
                "BillingCurrency",
                f"mixed currencies for billing account {account!r}: {first} and {currency}",
            )


def _allocate(allocator: Allocator, table: pa.Table) -> pa.Array:
    """Team id per row: the allocator runs once per distinct combination of the columns its
    rules read (tags, accounts, ...), then the answer is spread back to the rows."""
    columns = allocator.columns()
    codes = None
    combos: dict[str, list[Any]] = {}
    radix = 1
    parts = []
    for col in columns:
        encoded = encode(table.column(col))
        parts.append((col, encoded.dictionary, encoded.indices, len(encoded.dictionary) + 1))
    for _col, _dictionary, indices, size in parts:
        idx = pc.cast(pc.fill_null(indices, size - 1), pa.int64())
        term = pc.multiply(idx, radix)
        codes = term if codes is None else pc.add(codes, term)
        radix *= size
    assert codes is not None
    distinct = pc.unique(codes)
    positions = pc.index_in(codes, value_set=distinct)
    keys = distinct.to_numpy(zero_copy_only=False).astype(np.int64)
    radix = 1
    for col, dictionary, _, size in parts:
        idx = (keys // radix) % size
        values = np.array([*dictionary.to_pylist(), None], dtype=object)
        combos[col] = list(values[idx])
        radix *= size
    frame = pd.DataFrame(combos)
    teams = allocator.allocate(frame)
    team_array = pa.Array.from_pandas(teams.astype("Int64"), type=pa.int64())
    return team_array.take(positions)


# Amounts and quantities the ledger holds: MONEY_DIGITS digits, MONEY_PLACES of them after the
# point, so at most 18 before it. Every reader of the ledger (the query layer, budgets,
# forecasts, the money formatter) computes within that; a larger one is an export error.
WHOLE_DIGITS = MONEY_DIGITS - MONEY_PLACES


def _check_magnitudes(table: pa.Table, money: ChunkDecimals, name: str) -> None:
    """IngestError naming the file's line and column of the first amount or quantity of
    10^18 or more."""
    for col in MONEY_COLUMNS:
        row = money.first_beyond(col, WHOLE_DIGITS)
        if row is not None:
            line = table.column("source_line")[row].as_py()
            shown = table.column(col)[row].as_py()
            shown = shown if len(shown) <= 40 else shown[:40] + "..."
            raise IngestError(
                name,
                line,
                col,
                f"{shown!r} is out of range: amounts and quantities must have at most "
                f"{WHOLE_DIGITS} digits before the point",
            )


def _accumulate(
    table: pa.Table,
    money: ChunkDecimals,
    totals: dict[str, dict[str, Decimal]],
    per_team: dict[int | None, int],
    unallocated: dict[str, Decimal],
) -> None:
    currency = table.column("billing_currency")
    found = pc.unique(currency).to_pylist()
    open_rows = pc.is_null(table.column("team_id"))
    with localcontext(EXACT):  # totals past 28 digits stay exact (or raise Inexact)
        for cur in found:
            mask = None if len(found) == 1 else pc.equal(currency, cur)
            for col in ("billed_cost", "effective_cost"):
                totals[str(cur)][col] += money.total(col, mask)
            unowned = open_rows if mask is None else pc.and_(mask, open_rows)
            if pc.any(unowned).as_py():
                unallocated[str(cur)] += money.total("effective_cost", unowned)
    counts = pc.value_counts(table.column("team_id"))
    for team_id, count in zip(
        counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
    ):
        per_team[None if team_id is None else int(team_id)] += int(count)


def _application_names(table: pa.Table) -> dict[str, str]:
    """{application key: name} the provider gives in this chunk: the sub-account name when
    the key is the sub-account id, else the resource name when the key is the resource id
    (what `metrics.ledger.names` records; computed here, from Arrow, rather than by reading
    the batch back from the database)."""
    key = table.column("application_key")
    if not pc.any(pc.not_equal(key, "")).as_py():
        return {}

    def named(id_col: str, name_col: str) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
        name = pc.utf8_trim_whitespace(table.column(name_col))
        ok = pc.and_(
            pc.and_(pc.equal(key, table.column(id_col)), pc.not_equal(name, "")),
            pc.not_equal(name, key),
        )
        return pc.fill_null(ok, False), name

    by_sub, sub_name = named("sub_account_id", "sub_account_name")
    by_res, res_name = named("resource_id", "resource_name")
    name = pc.if_else(by_sub, sub_name, pc.if_else(by_res, res_name, None))
    pairs = pa.table({"key": key, "name": name}).filter(
        pc.and_(pc.not_equal(key, ""), pc.is_valid(name))
    )
    found = pairs.group_by(["key", "name"]).aggregate([])
    return dict(zip(found.column("key").to_pylist(), found.column("name").to_pylist(), strict=True))


def _analyze(rows: int) -> None:
    """Fresh statistics after a bulk load (PostgreSQL, ANALYZE_MIN_ROWS rows or more), or
    the planner keeps thinking the table is small and picks nested loops for the replacement,
    pricing and rollup queries that follow. Only the columns those queries filter and group
    on: a full ANALYZE reads every column. An import that runs none of them leaves the
    statistics to autovacuum, which analyzes a table after a tenth of it changed."""
    if connection.vendor != "postgresql" or rows < ANALYZE_MIN_ROWS:
        return
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE metrics_costrecord ({', '.join(ANALYZED_COLUMNS)})")


def _replace_older(
    candidates: list[int], keys: dict[tuple[str, Any, tuple[str, str] | None], set[date]]
) -> int:
    """Delete rows of earlier imports (`candidates`, see _overlapping_batches) for the same
    account, billing period and days. Returns the number of rows deleted.

    A parser may narrow "the same export" with REPLACE_SCOPE, a column whose value tells
    separate exports of one account apart (e.g. OpenAI's usage vs costs pages). Only the
    batches whose days overlap this import's are searched (their summaries say which days
    they cover; a batch whose summary does not say is always searched): a first import of a
    period reads none of the ledger."""
    replaced = 0
    if not candidates:
        return 0
    for (account, start, scope), covered in keys.items():
        if not account:
            continue  # no billing account: nothing identifies "the same export" safely
        qs = CostRecord.objects.filter(
            batch_id__in=candidates,
            billing_account_id=account,
            billing_period_start=start,
            day__in=sorted(covered),
        )
        if scope:
            qs = qs.filter(**{scope[0]: scope[1]})
        replaced += qs._raw_delete(qs.db)  # plain DELETE: no cascades or signals to honour
    return replaced


def _overlapping_batches(batch: ImportBatch, first: date, last: date) -> list[int]:
    """Other batches that may have rows between the two days (inclusive)."""
    found = []
    others = ImportBatch.objects.exclude(pk=batch.pk).values_list("pk", "summary__days")
    for pk, span in others:
        try:
            lo, hi = (date.fromisoformat(d) for d in span)
        except (TypeError, ValueError):  # no day range recorded (older batches): search it
            found.append(pk)
            continue
        if lo <= last and hi >= first:
            found.append(pk)
    return found


# --- writers -------------------------------------------------------------------------------


@dataclass
class _Payload:
    """One chunk encoded for the database: the columns sent and what to send."""

    columns: list[str]
    rows: int
    data: Any  # PostgreSQL: a COPY body (binary or CSV); SQLite: tuples for executemany
    binary: bool = False
    # The source line of each row, as written (read only to name a row the database refuses).
    lines: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


_COPY_CONTEXT = re.compile(r"line (\d+), column (\w+)")


def _refused(exc: DataError, payload: _Payload, name: str) -> IngestError:
    """The file, line and column of a value the database refused in a COPY (PostgreSQL names
    the row of the chunk as written and the column; `payload.lines` maps it to the file)."""
    cause = exc.__cause__
    diag = getattr(cause, "diag", None)
    found = _COPY_CONTEXT.search(getattr(diag, "context", None) or "")
    line, column = 0, "-"
    if found:
        row = int(found.group(1)) - 1
        line = int(payload.lines[row]) if 0 <= row < len(payload.lines) else 0
        column = found.group(2)
    reason = getattr(diag, "message_primary", None) or str(exc).splitlines()[0]
    return IngestError(name, line, column, f"the database refused the value: {reason}")


def _writer() -> tuple[Callable[[pa.Table, ChunkDecimals], _Payload], Callable[[_Payload], None]]:
    """(encode, write): encode runs in the read-ahead thread, write on the connection."""
    if connection.vendor == "postgresql":
        pg_types = _pg_types()
        return partial(_encode_postgres, pg_types=pg_types), _copy_postgres
    return _encode_sqlite, _insert_sqlite


def _pg_types() -> dict[str, str]:
    """The ledger's column types as the server has them (the binary COPY writes each type's
    own binary form, so it goes by the table, not by the model)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = 'metrics_costrecord'::regclass AND attnum > 0"
            " AND NOT attisdropped"
        )
        return dict(cur.fetchall())


def _db_table(table: pa.Table, time_format: str | None) -> pa.Table:
    """The record columns the database must be told (those holding only their database
    default in this chunk are left out: fewer values to copy; the database fills them).
    Timestamps become text in `time_format`, or stay timestamps when it is None."""
    keep = []
    arrays = []
    for col in RECORD_COLUMNS:
        values = table.column(col)
        if col == "tags":
            values = pc.fill_null(values, "{}")
            if pc.all(pc.equal(values, "{}")).as_py():
                continue  # the column's default
        if col in DEFAULTED_TEXT and pc.all(pc.equal(values, "")).as_py() is not False:
            continue
        if col in NULLABLE and values.null_count == len(values):
            continue
        if col in DEFAULTED_INT and pc.all(pc.equal(values, 0)).as_py() is not False:
            continue
        if col in DEFAULTED_DECIMAL and pc.all(pc.equal(values, "0")).as_py() is not False:
            continue  # `0` exactly: the default's scale too (`0.00` is sent as it is)
        if time_format and pa.types.is_timestamp(values.type):
            values = _time_text(values, time_format)
        keep.append(col)
        arrays.append(values)
    return pa.Table.from_arrays(arrays, names=keep)


def _time_text(values: pa.ChunkedArray, time_format: str) -> pa.Array:
    """Timestamps as text, each distinct value formatted once (Arrow's CSV writer formats
    every timestamp cell itself, ten times slower than the whole COPY)."""
    seconds = pc.cast(values, pa.timestamp("s", tz="UTC"), safe=False)
    encoded = encode(seconds)
    return pc.strftime(encoded.dictionary, format=time_format).take(encoded.indices)


# The (day, team) index takes each chunk's rows in its own order: sorted, they go to a few
# neighbouring index pages instead of one page per row (a third of the index's cost).
INDEX_ORDER = [("day", "ascending"), ("team_id", "ascending")]


def _encode_sqlite(table: pa.Table, money: ChunkDecimals | None = None) -> _Payload:
    table = table.take(pc.sort_indices(table, sort_keys=INDEX_ORDER))  # see INDEX_ORDER
    frame = _db_table(table, "%Y-%m-%d %H:%M:%S")  # Django's SQLite form
    columns = []
    for col in frame.column_names:
        values = frame.column(col)
        if pa.types.is_date(values.type):
            values = pc.cast(values, pa.string())
        columns.append(values.to_pylist())
    return _Payload(frame.column_names, len(frame), list(zip(*columns, strict=True)))


def _insert_sqlite(payload: _Payload) -> None:
    cols = ", ".join(payload.columns)
    marks = ", ".join(["?"] * len(payload.columns))
    sql = f"INSERT INTO metrics_costrecord ({cols}) VALUES ({marks})"  # noqa: S608
    connection.ensure_connection()
    raw = connection.connection.cursor()  # the sqlite3 cursor: no per-call wrappers
    try:
        raw.executemany(sql, payload.data)
    finally:
        raw.close()


def _encode_postgres(
    table: pa.Table, money: ChunkDecimals | None = None, *, pg_types: dict[str, str]
) -> _Payload:
    """The chunk as a binary COPY body (see pg_binary), or as CSV when a column cannot be
    written in binary: every valid value quoted, NULL unquoted, so an empty string stays an
    empty string and a missing value becomes NULL."""
    order = pc.sort_indices(table, sort_keys=INDEX_ORDER)
    frame = _db_table(table, None)
    lines = table.column("source_line").take(order).to_numpy()
    decimals = money.of if money is not None else None
    encoded = pg_binary.encode_rows(frame, pg_types, order=order, decimals=decimals)
    if encoded is not None:
        columns, body = encoded
        return _Payload(columns, len(frame), body, binary=True, lines=lines)
    table = table.take(order)
    frame = _db_table(table, "%Y-%m-%d %H:%M:%S+00")
    sink = pa.BufferOutputStream()
    pacsv.write_csv(
        frame,
        sink,
        write_options=pacsv.WriteOptions(
            include_header=False, quoting_style="all_valid", batch_size=65536
        ),
    )
    return _Payload(frame.column_names, len(frame), sink.getvalue(), lines=lines)


def _copy_postgres(payload: _Payload) -> None:
    cols = ", ".join(payload.columns)
    form = "binary" if payload.binary else "csv"
    with connection.wrap_database_errors, connection.cursor() as cur:  # DataError: _refused
        raw = cur.cursor  # psycopg 3
        with raw.copy(f"COPY metrics_costrecord ({cols}) FROM STDIN (FORMAT {form})") as copy:
            if payload.binary:
                copy.write(pg_binary.HEADER)
            copy.write(memoryview(payload.data))
            if payload.binary:
                copy.write(pg_binary.TRAILER)


def describe(result: ImportResult) -> str:
    """Human summary of one import (used by the command and the portal)."""
    s = result.summary
    if not result.created:
        return (
            f"{result.batch.file_name}: already imported (batch {result.batch.pk}); nothing changed"
        )
    lines = [f"{result.batch.file_name}: {s['rows']} rows ({s['source']}), batch {result.batch.pk}"]
    if s.get("period"):
        lines.append(f"  period: {s['period'][0]} .. {s['period'][1]}")
    for currency, t in s["totals"].items():
        lines.append(
            f"  {currency}: billed {format_money(t['billed_cost'])}, "
            f"effective {format_money(t['effective_cost'])}"
        )
    lines.append(
        "  records per team: "
        + ", ".join(f"{team} {n}" for team, n in s["records_per_team"].items())
    )
    if s["unallocated_effective_cost"]:
        lines.append(
            "  unallocated: "
            + ", ".join(format_money(v, c) for c, v in s["unallocated_effective_cost"].items())
        )
    if s["replaced_rows"]:
        lines.append(f"  replaced {s['replaced_rows']} rows of older imports of the same period")
    lines.extend(f"  warning: {w}" for w in s.get("warnings", []))
    seconds = dict(s.get("seconds") or {})
    if seconds:
        # Newer summaries carry the wall time ("total"; parse and encode overlap the store).
        total = seconds.pop("total", None) or sum(seconds.values())
        rate = f", {s['rows'] / total:,.0f} rows/s" if total else ""
        lines.append(
            f"  phases ({total:.1f} s{rate}): "
            + ", ".join(f"{k} {v:.2f} s" for k, v in seconds.items())
        )
    return "\n".join(lines)
