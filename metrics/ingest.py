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
price cost-less usage from the catalog -> roll up and carbon (metrics.rollups) -> summary.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import shutil
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from metrics.allocation import Allocator
from metrics.locks import ledger_lock
from metrics.models import CostRecord, ImportBatch, Team
from metrics.names import application_names_refresh
from metrics.pricing import batch_reprice_scope, reprice_rows
from metrics.rollups import rebuild_rollups
from metrics.sources import registry
from metrics.sources.base import IngestError
from metrics.sources.limits import scan_file

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
NULLABLE = {c for c, f in _FIELDS.items() if f.null}


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
    if path.stat().st_size == 0:
        raise IngestError(name, 0, "-", "the file is empty")
    sha = scan_file(path, name=name)  # size, gzip-bomb, line, column and NUL limits
    existing = ImportBatch.objects.filter(sha256=sha, status=ImportBatch.Status.DONE).first()
    if existing:
        return ImportResult(batch=existing, created=False)
    try:
        parser = registry.detect(path, source)
        with transaction.atomic():
            ledger_lock()
            batch = ImportBatch.objects.create(
                sha256=sha, source=parser.NAME, file_name=name, created_by=user
            )
            result = _load(batch, path, parser, name=name, progress=progress)
    except IngestError as exc:
        if exc.file == str(path):  # name the upload, not our temporary copy
            exc.file = name
        raise
    except IntegrityError:
        # Another worker imported the same bytes first: that import is the one that counts.
        existing = ImportBatch.objects.filter(sha256=sha).first()
        if existing is None:
            raise
        return ImportResult(batch=existing, created=False)
    _keep_copy(path, batch)
    return result


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


def _keep_copy(path: Path, batch: ImportBatch) -> None:
    """Keep the source so any record can be traced back to its file and line."""
    folder = Path(settings.MEDIA_ROOT) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{batch.sha256}{''.join(path.suffixes[-2:])}"
    if not target.exists():
        shutil.copyfile(path, target)
    ImportBatch.objects.filter(pk=batch.pk).update(stored_file=str(target))


def _load(
    batch: ImportBatch,
    path: Path,
    parser: Any,
    *,
    name: str,
    progress: Callable[[int], None] | None,
) -> ImportResult:
    allocator = Allocator.load()
    writer = _writer()
    currencies: dict[str, str] = {}
    keys: dict[tuple[str, Any, tuple[str, str] | None], set[date]] = defaultdict(set)
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    per_team: dict[int | None, int] = defaultdict(int)
    unallocated: dict[str, Decimal] = defaultdict(Decimal)
    warnings: list[str] = []
    rows = 0
    period = [None, None]
    timings: dict[str, float] = defaultdict(float)
    clock = time.perf_counter()
    for chunk in parser.parse(path):
        timings["parse"] += time.perf_counter() - clock
        clock = time.perf_counter()
        if chunk.empty:
            continue
        if name != str(path):  # errors name the upload, not our temporary file
            chunk.attrs["warnings"] = [
                w.replace(str(path), name) for w in chunk.attrs.get("warnings", [])
            ]
        warnings.extend(chunk.attrs.get("warnings", []))
        _check_currencies(chunk, currencies, name)
        chunk["team_id"] = allocator.allocate(chunk)
        chunk["day"] = chunk["charge_period_start"].dt.date
        chunk["batch_id"] = batch.pk
        scope = getattr(parser, "REPLACE_SCOPE", None)
        group_by = ["billing_account_id", "billing_period_start"] + ([scope] if scope else [])
        for key, days in chunk.groupby(group_by)["day"].unique().items():
            account, start, *rest = key
            keys[(account, start, (scope, rest[0]) if scope else None)].update(days)
        _accumulate(chunk, totals, per_team, unallocated)
        timings["allocate_and_sum"] += time.perf_counter() - clock
        clock = time.perf_counter()
        lo, hi = chunk["charge_period_start"].min(), chunk["charge_period_end"].max()
        period[0] = lo if period[0] is None or lo < period[0] else period[0]
        period[1] = hi if period[1] is None or hi > period[1] else period[1]
        writer(chunk)
        rows += len(chunk)
        timings["store"] += time.perf_counter() - clock
        if progress:
            progress(len(chunk))
        clock = time.perf_counter()
    if rows == 0:
        raise IngestError(name, 0, "-", "the file has no billing rows")
    clock = time.perf_counter()
    if connection.vendor == "postgresql" and rows >= 50_000:
        # Fresh statistics after a bulk load, or the planner keeps thinking the table is
        # small and picks nested loops for the replacement and rollup queries.
        with connection.cursor() as cur:
            cur.execute("ANALYZE metrics_costrecord")
    timings["analyze"] = time.perf_counter() - clock
    clock = time.perf_counter()
    replaced, days = _replace_older(batch, keys)
    timings["replace_older"] = time.perf_counter() - clock
    clock = time.perf_counter()
    scope = batch_reprice_scope(batch.pk)  # usage that arrived without cost, from the catalog
    if scope is not None:
        days |= reprice_rows(scope).days
    timings["pricing"] = time.perf_counter() - clock
    clock = time.perf_counter()
    rebuild_rollups(days)  # once, with carbon, for every day the import touched
    timings["rollups"] = time.perf_counter() - clock
    clock = time.perf_counter()
    application_names_refresh(batch_id=batch.pk)  # readable application names for dashboards
    timings["application_names"] = time.perf_counter() - clock
    teams = dict(Team.objects.filter(pk__in=[k for k in per_team if k]).values_list("pk", "slug"))
    batch.row_count = rows
    batch.replaced_count = replaced
    batch.status = ImportBatch.Status.DONE
    batch.finished_at = timezone.now()
    batch.summary = {
        "rows": rows,
        "source": parser.NAME,
        "totals": {cur: {k: str(v) for k, v in t.items()} for cur, t in sorted(totals.items())},
        "period": [period[0].isoformat(), period[1].isoformat()] if period[0] is not None else None,
        "records_per_team": {
            (teams.get(k, "?") if k else "unallocated"): v
            for k, v in sorted(per_team.items(), key=lambda kv: (kv[0] is None, str(kv[0])))
        },
        "unallocated_effective_cost": {cur: str(v) for cur, v in sorted(unallocated.items())},
        "replaced_rows": replaced,
        "warnings": warnings[:50],
        "seconds": {k: round(v, 3) for k, v in timings.items()},
    }
    batch.save()
    return ImportResult(batch=batch, created=True, warnings=warnings)


def _check_currencies(chunk: pd.DataFrame, seen: dict[str, str], name: str) -> None:
    """One billing account bills in one currency; a second one in a file is an error."""
    pairs = chunk[["billing_account_id", "billing_currency"]].drop_duplicates()
    for account, currency in pairs.itertuples(index=False):
        first = seen.setdefault(account, currency)
        if first != currency:
            mask = (chunk["billing_account_id"] == account) & (
                chunk["billing_currency"] == currency
            )
            line = int(chunk.loc[mask, "source_line"].iloc[0])
            raise IngestError(
                name,
                line,
                "BillingCurrency",
                f"mixed currencies for billing account {account!r}: {first} and {currency}",
            )


def _accumulate(
    chunk: pd.DataFrame,
    totals: dict[str, dict[str, Decimal]],
    per_team: dict[int | None, int],
    unallocated: dict[str, Decimal],
) -> None:
    for currency, group in chunk.groupby("billing_currency"):
        for col in ("billed_cost", "effective_cost"):
            totals[str(currency)][col] += _decimal_sum(group[col])
        open_rows = group[group["team_id"].isna()]
        if len(open_rows):
            unallocated[str(currency)] += _decimal_sum(open_rows["effective_cost"])
    for team_id, count in chunk["team_id"].value_counts(dropna=False).items():
        per_team[None if pd.isna(team_id) else int(team_id)] += int(count)  # type: ignore[call-overload]


def _decimal_sum(values: pd.Series) -> Decimal:
    """Exact sum of decimal strings: each distinct value is converted once."""
    counts = values.dropna().value_counts()
    return sum((Decimal(str(v)) * int(n) for v, n in counts.items()), Decimal(0))


def _replace_older(
    batch: ImportBatch, keys: dict[tuple[str, Any, tuple[str, str] | None], set[date]]
) -> tuple[int, set[date]]:
    """Delete rows of earlier imports for the same account, billing period and days.

    A parser may narrow "the same export" with REPLACE_SCOPE, a column whose value tells
    separate exports of one account apart (e.g. OpenAI's usage vs costs pages)."""
    replaced = 0
    days: set[date] = set()
    for (account, start, scope), covered in keys.items():
        covered_days = set(covered)
        days |= covered_days
        if not account:
            continue  # no billing account: nothing identifies "the same export" safely
        qs = CostRecord.objects.filter(
            billing_account_id=account,
            billing_period_start=start.to_pydatetime(),
            day__in=covered_days,
        ).exclude(batch=batch)
        if scope:
            qs = qs.filter(**{scope[0]: scope[1]})
        replaced += qs._raw_delete(qs.db)  # plain DELETE: no cascades or signals to honour
    return replaced, days


# --- writers -------------------------------------------------------------------------------


def _writer() -> Callable[[pd.DataFrame], None]:
    return _copy_postgres if connection.vendor == "postgresql" else _insert_sqlite


def _db_frame(chunk: pd.DataFrame, *, time_format: str) -> pd.DataFrame:
    """Every value as the text the database expects (None for NULL)."""
    out = pd.DataFrame(index=chunk.index)
    for col in RECORD_COLUMNS:
        values = chunk[col]
        if col in (
            "billing_period_start",
            "billing_period_end",
            "charge_period_start",
            "charge_period_end",
        ):
            codes, uniques = pd.factorize(values)
            formatted = pd.Index(uniques).strftime(time_format)
            out[col] = pd.Series(formatted.to_numpy()[codes], index=chunk.index)
        elif col == "day":
            codes, uniques = pd.factorize(values)
            out[col] = pd.Series([d.isoformat() for d in uniques], dtype=object).to_numpy()[codes]
        elif col == "tags":
            out[col] = values.where(values.notna(), "{}")
        elif col == "team_id":
            out[col] = values.astype(object).where(values.notna(), None)
        else:
            out[col] = values
    return out


def _prune(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop columns that hold only their database default in this chunk (fewer values to
    bind or copy; the database fills the default)."""
    keep = []
    for col in frame.columns:
        values = frame[col]
        if col in DEFAULTED_TEXT and (values == "").all():
            continue
        if col in NULLABLE and values.isna().all():
            continue
        if col in DEFAULTED_INT and (values == 0).all():
            continue
        keep.append(col)
    return frame[keep]


def _insert_sqlite(chunk: pd.DataFrame) -> None:
    frame = _prune(_db_frame(chunk, time_format="%Y-%m-%d %H:%M:%S"))
    values = frame.to_numpy(dtype=object)
    values[pd.isna(values)] = None
    cols = ", ".join(frame.columns)
    marks = ", ".join(["?"] * len(frame.columns))
    sql = f"INSERT INTO metrics_costrecord ({cols}) VALUES ({marks})"  # noqa: S608
    connection.ensure_connection()
    raw = connection.connection.cursor()  # the sqlite3 cursor: no per-call wrappers
    try:
        raw.executemany(sql, values.tolist())
    finally:
        raw.close()


def _copy_postgres(chunk: pd.DataFrame) -> None:
    """COPY the chunk as CSV written by Arrow: every valid value quoted, NULL unquoted, so
    an empty string stays an empty string and a missing value becomes NULL."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    frame = _prune(_db_frame(chunk, time_format="%Y-%m-%d %H:%M:%S+00"))
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    pacsv.write_csv(
        table,
        sink,
        write_options=pacsv.WriteOptions(include_header=False, quoting_style="all_valid"),
    )
    cols = ", ".join(frame.columns)
    with connection.cursor() as cur:
        raw = cur.cursor  # psycopg 3
        with raw.copy(f"COPY metrics_costrecord ({cols}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(sink.getvalue().to_pybytes())


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
            f"  {currency}: billed {Decimal(t['billed_cost']):,.2f}, "
            f"effective {Decimal(t['effective_cost']):,.2f}"
        )
    lines.append(
        "  records per team: "
        + ", ".join(f"{team} {n}" for team, n in s["records_per_team"].items())
    )
    if s["unallocated_effective_cost"]:
        lines.append(
            "  unallocated: "
            + ", ".join(
                f"{c} {Decimal(v):,.2f}" for c, v in s["unallocated_effective_cost"].items()
            )
        )
    if s["replaced_rows"]:
        lines.append(f"  replaced {s['replaced_rows']} rows of older imports of the same period")
    lines.extend(f"  warning: {w}" for w in s.get("warnings", []))
    return "\n".join(lines)
