"""Import a generated billing file and compare with a plain COPY of the same file.

One command per case of issue #14 (PostgreSQL unless --sqlite):

    python bench/ingest.py --rows 1000000                   # FOCUS file, PostgreSQL
    python bench/ingest.py --rows 1000000 --ai              # generate_usage --format focus file
    python bench/ingest.py --rows 10000000 --no-baseline    # peak RSS of a 10M-row import
    python bench/ingest.py --rows 1000000 --sqlite          # the embedded default
    python bench/ingest.py --rows 500000 --cur              # AWS CUR sample, repeated
    python bench/ingest.py --rows 1000000 --repeat 3        # three runs and their median

Prints the baseline (a plain COPY of the same file into an all-text table without indexes),
the import, their ratio (lower is better; target <= 2x), rows per second (target >= 150k/s),
peak RSS of this process (the files are generated in a child process, so it is the import's)
and the import's phase timings. On SQLite the baseline is executemany into an empty table of
the same columns (SQLite has no COPY). The machine's load is printed too: compare ratios of
one run, not seconds across runs.

Files are generated once under var/bench/ and reused. Each run starts from a fresh database
(PostgreSQL: --pg-url, dropped and created; SQLite: var/bench/ingest.sqlite3), and on
PostgreSQL each measured step starts after a CHECKPOINT, so neither pays for writing out the
pages and WAL of the step before it. These machines vary by 20% from one minute to the next:
--repeat N runs baseline and import N times and prints the median.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def bench_file(rows: int, *, ai: bool) -> Path:
    """The benchmark's file (generated in a child process on first use)."""
    folder = ROOT / "var" / "bench"
    if ai:
        out = folder / f"ai_{rows}"
        found = sorted(out.glob("*.csv")) if out.exists() else []
        if not found:
            command = [
                sys.executable,
                "manage.py",
                "generate_usage",
                "--format",
                "focus",
                "--rows",
                str(rows),
                "--out",
                str(out),
                "--end",
                "2026-10-01",
            ]
            _generate(command, out)
            found = sorted(out.glob("*.csv"))
        return found[0]
    path = folder / f"focus_{rows}.csv"
    if not path.exists():
        code = (
            "from pathlib import Path; from bench.focusgen import write_focus_csv; "
            f"write_focus_csv(Path({str(path)!r}), {rows})"
        )
        _generate([sys.executable, "-c", code], path)
    return path


def cur_file(rows: int) -> Path:
    """The real AWS CUR sample of ../shared/data/billing, its records repeated to `rows`."""
    sample = ROOT.parent / "shared" / "data" / "billing" / "aws_cur_v1_sample_focus_converters.csv"
    if not sample.exists():
        raise SystemExit(f"{sample} is missing: --cur needs ../shared beside the checkout")
    path = ROOT / "var" / "bench" / f"cur_{rows}.csv"
    if not path.exists():
        header, *records = sample.read_text(encoding="utf-8").splitlines()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as out:
            out.write(header + "\n")
            for i in range(rows):
                out.write(records[i % len(records)] + "\n")
    return path


def _generate(command: list[str], target: Path) -> None:
    started = time.perf_counter()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local"}
    env.pop("DATABASE_URL", None)
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    print(f"generated {target} in {time.perf_counter() - started:.1f}s")


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--ai", action="store_true", help="a generate_usage --format focus file")
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--file", type=Path, help="a billing file to import instead")
    parser.add_argument(
        "--cur",
        action="store_true",
        help="the AWS CUR sample of ../shared repeated to --rows rows (the pandas reader)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the plain COPY")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs, each on a fresh database: baseline then import (prints each and the median)",
    )
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/bench_ingest")
    args = parser.parse_args()

    data = args.file or (cur_file(args.rows) if args.cur else bench_file(args.rows, ai=args.ai))
    print(f"file: {data} ({data.stat().st_size / 1e6:,.0f} MB); {load()}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    # The 10M-row file (3.4 GB) is over the default upload limit (INGEST_MAX_FILE_BYTES, 2 GiB):
    # the benchmark measures the import, not the limit, so it raises it for its own file.
    size = data.stat().st_size
    if size > int(os.environ.get("INGEST_MAX_FILE_BYTES", 2 * 1024**3)):
        os.environ["INGEST_MAX_FILE_BYTES"] = str(size)
    # A fresh media folder, emptied after each run: every run pays for keeping its copy of the
    # source file, as a first import does (a copy kept by an earlier run would be skipped).
    media = Path(tempfile.mkdtemp(prefix="media-", dir=ROOT / "var" / "bench"))
    os.environ["MEDIA_ROOT"] = str(media)
    ratios = []
    imports = []
    for run in range(1, args.repeat + 1):
        if args.repeat > 1:
            print(f"--- run {run} of {args.repeat}")
        try:
            baseline, ours = one_run(args, data)
        finally:
            shutil.rmtree(media, ignore_errors=True)
        if run < args.repeat:
            media.mkdir()
        imports.append(ours)
        if baseline is not None:
            ratios.append(ours / baseline)
    if args.repeat > 1:
        rows = args.rows
        print(
            f"=== median of {args.repeat} runs: import {statistics.median(imports):.2f}s, "
            f"{rows / statistics.median(imports):,.0f} rows/s"
            + (f", ratio {statistics.median(ratios):.2f}x" if ratios else "")
            + f" (ratios: {', '.join(f'{r:.2f}x' for r in ratios)})"
        )


def fresh_database(args: argparse.Namespace) -> None:
    """An empty database for one run (PostgreSQL: dropped and created; SQLite: a new file)."""
    if "django.db" in sys.modules:  # a later run: let go of the database to drop it
        from django.db import connections

        connections.close_all()
    if args.sqlite:
        db = ROOT / "var" / "bench" / "ingest.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{db}"
        return
    import psycopg

    base, name = args.pg_url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = args.pg_url


def one_run(args: argparse.Namespace, data: Path) -> tuple[float | None, float]:
    """Baseline then import on a fresh database; prints both. (baseline, import) seconds."""
    fresh_database(args)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from metrics.ledger.ingest import billing_import

    call_command("migrate", verbosity=0)
    settle()
    baseline = None if args.no_baseline else plain_copy(data)
    settle()

    started = time.perf_counter()
    result = billing_import(data)
    ours = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = result.batch.row_count
    print(f"database: {connection.vendor}, rows: {rows:,}; {load()}")
    if baseline is not None:
        kind = "COPY" if connection.vendor == "postgresql" else "executemany"
        print(f"baseline (plain {kind} into text columns, no index): {baseline:.2f}s")
    print(f"import_billing (parse, validate, allocate, store, rollups): {ours:.2f}s")
    if baseline is not None:
        print(f"ratio import/baseline: {ours / baseline:.2f}x")
    print(f"throughput: {rows / ours:,.0f} rows/s")
    print(f"peak RSS: {peak_mb:,.0f} MB")
    seconds = result.summary["seconds"]
    print("phases (s): " + ", ".join(f"{k} {v}" for k, v in seconds.items()))
    print(
        "  (parse, allocate_and_sum and encode run in the read-ahead thread, overlapping "
        "store; total is the wall time)"
    )
    return baseline, ours


def settle() -> None:
    """Start a measured step with no checkpoint pending (PostgreSQL): without it the import
    pays for writing out the baseline's 345 MB of pages and WAL (max_wal_size is 1 GB here),
    and the baseline for the migrations'. Needs a superuser or pg_checkpoint."""
    from django.db import DatabaseError
    from django.db import connection as conn

    if conn.vendor != "postgresql":
        return
    try:
        with conn.cursor() as cur:
            cur.execute("CHECKPOINT")
    except DatabaseError as exc:
        print(f"no CHECKPOINT between the steps ({exc}): the import may pay the baseline's")


def plain_copy(data: Path) -> float:
    """Seconds to load the file as it is into a table of text columns without indexes."""
    import gzip

    from django.db import connection as conn

    gz = data.suffix == ".gz"
    if data.suffix == ".parquet":
        raise SystemExit("no COPY baseline for Parquet: use --no-baseline")

    with gzip.open(data, "rt") if gz else data.open() as fh:
        header = next(csv.reader(fh))
    cols = ", ".join(f'"{c}" text' for c in header)
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE bench_raw ({cols})")
    started = time.perf_counter()
    if conn.vendor == "postgresql":
        with (
            conn.cursor() as cur,
            cur.cursor.copy("COPY bench_raw FROM STDIN (FORMAT csv, HEADER true)") as copy,
            gzip.open(data, "rb") if gz else data.open("rb") as fh,
        ):
            while block := fh.read(1 << 20):
                copy.write(block)
    else:
        marks = ", ".join("?" * len(header))
        raw = conn.connection.cursor()
        with gzip.open(data, "rt", newline="") if gz else data.open(newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            raw.executemany(f"INSERT INTO bench_raw VALUES ({marks})", reader)
        conn.connection.commit()
    elapsed = time.perf_counter() - started
    with conn.cursor() as cur:
        cur.execute("DROP TABLE bench_raw")  # its pages would only slow the import down
    return elapsed


if __name__ == "__main__":
    main()
