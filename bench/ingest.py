"""Import a generated FOCUS CSV and compare with a plain COPY of the same file.

    .venv/bin/python bench/ingest.py --rows 1000000              # PostgreSQL (default)
    .venv/bin/python bench/ingest.py --rows 1000000 --sqlite     # the embedded default

Prints both times, the ratio (import / COPY, lower is better; target <= 2x), rows per
second (target >= 100k/s) and peak RSS. On SQLite the baseline is executemany into an
empty table of the same columns (SQLite has no COPY). Machines here are noisy: compare the
ratio, not the seconds.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--file", type=Path, help="a CSV to import instead of the generated one")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/bench_ingest")
    args = parser.parse_args()

    from bench.focusgen import write_focus_csv

    data = args.file or ROOT / "var" / "bench" / f"focus_{args.rows}.csv"
    if not data.exists():
        t = time.perf_counter()
        write_focus_csv(data, args.rows)
        print(
            f"generated {data} ({data.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f}s"
        )

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
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from metrics.ledger.ingest import billing_import

    call_command("migrate", verbosity=0)
    with data.open() as fh:
        header = next(csv.reader(fh))
    cols = ", ".join(f'"{c}" text' for c in header)

    with connection.cursor() as cur:
        cur.execute(f"CREATE TABLE bench_raw ({cols})")
    t0 = time.perf_counter()
    if connection.vendor == "postgresql":
        with (
            connection.cursor() as cur,
            cur.cursor.copy("COPY bench_raw FROM STDIN (FORMAT csv, HEADER true)") as copy,
            data.open("rb") as fh,
        ):
            while block := fh.read(1 << 20):
                copy.write(block)
    else:
        marks = ", ".join("?" * len(header))
        raw = connection.connection.cursor()
        with data.open(newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            raw.executemany(f"INSERT INTO bench_raw VALUES ({marks})", reader)
        connection.connection.commit()
    baseline = time.perf_counter() - t0

    t1 = time.perf_counter()
    result = billing_import(data)
    ours = time.perf_counter() - t1
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = result.batch.row_count
    print(f"database: {connection.vendor}, rows: {rows:,}")
    print(
        f"baseline (plain {'COPY' if connection.vendor == 'postgresql' else 'executemany'}): {baseline:.2f}s"
    )
    print(f"import_billing (parse, validate, allocate, store, rollups): {ours:.2f}s")
    print(f"ratio import/baseline: {ours / baseline:.2f}x; throughput {rows / ours:,.0f} rows/s")
    print(f"peak RSS: {peak_mb:,.0f} MB")
    print("phases (s): " + ", ".join(f"{k} {v}" for k, v in result.summary["seconds"].items()))


if __name__ == "__main__":
    main()
