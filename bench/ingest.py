"""Import a generated billing file and compare with a plain COPY of the same file.

One command per case of issue #14 (PostgreSQL unless --sqlite):

    python bench/ingest.py --rows 1000000                   # FOCUS file, PostgreSQL
    python bench/ingest.py --rows 1000000 --ai              # generate_usage --format focus file
    python bench/ingest.py --rows 10000000 --no-baseline    # peak RSS of a 10M-row import
    python bench/ingest.py --rows 1000000 --sqlite          # the embedded default
    python bench/ingest.py --rows 500000 --cur              # AWS CUR sample, repeated

Prints the baseline (a plain COPY of the same file into an all-text table without indexes),
the import, their ratio (lower is better; target <= 2x), rows per second (target >= 150k/s),
peak RSS of this process (the files are generated in a child process, so it is the import's)
and the import's phase timings. On SQLite the baseline is executemany into an empty table of
the same columns (SQLite has no COPY). The machine's load is printed too: compare ratios of
one run, not seconds across runs.

Files are generated once under var/bench/ and reused. Each run starts from a fresh database
(PostgreSQL: --pg-url, dropped and created; SQLite: var/bench/ingest.sqlite3).
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
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
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/bench_ingest")
    args = parser.parse_args()

    data = args.file or (cur_file(args.rows) if args.cur else bench_file(args.rows, ai=args.ai))
    print(f"file: {data} ({data.stat().st_size / 1e6:,.0f} MB); {load()}")

    if args.sqlite:
        db = ROOT / "var" / "bench" / "ingest.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    else:
        import psycopg

        base, name = args.pg_url.rsplit("/", 1)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = args.pg_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    # A fresh media folder: every run pays for keeping its copy of the source file, as a
    # first import does (a copy kept by an earlier run would be skipped).
    media = Path(tempfile.mkdtemp(prefix="media-", dir=ROOT / "var" / "bench"))
    os.environ["MEDIA_ROOT"] = str(media)
    # The 10M-row file (3.4 GB) is over the default upload limit (INGEST_MAX_FILE_BYTES, 2 GiB):
    # the benchmark measures the import, not the limit, so it raises it for its own file.
    size = data.stat().st_size
    if size > int(os.environ.get("INGEST_MAX_FILE_BYTES", 2 * 1024**3)):
        os.environ["INGEST_MAX_FILE_BYTES"] = str(size)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from metrics.ledger.ingest import billing_import

    call_command("migrate", verbosity=0)
    baseline = None if args.no_baseline else plain_copy(data)

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
    shutil.rmtree(media, ignore_errors=True)
    print(f"throughput: {rows / ours:,.0f} rows/s")
    print(f"peak RSS: {peak_mb:,.0f} MB")
    seconds = result.summary["seconds"]
    print("phases (s): " + ", ".join(f"{k} {v}" for k, v in seconds.items()))
    print(
        "  (parse, allocate_and_sum and encode run in the read-ahead thread, overlapping "
        "store; total is the wall time)"
    )


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
