"""The team spend query through the query layer, against a plain SUM over the raw ledger.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_spend .venv/bin/python bench/spend_query.py --rows 10000000
    .venv/bin/python bench/spend_query.py --rows 200000 --iterations 50     # a quick run

Creates the database if missing, migrates it, and (re)generates the ledger when it does not
have the requested shape: `--rows` CostRecord lines over `--days` days (default 365) for
`--teams` teams (default 40), written by one `INSERT ... SELECT generate_series` per million
rows (secondary indexes dropped during the load and rebuilt after), then the DailyCost
rollups with `metrics.ledger.ingest.rebuild_rollups` (the import path's own GROUP BY, plus carbon).
Lines are in day order with teams interleaved, as imports of provider-wide billing files
leave them: 3% unallocated, a tenth of the teams also billed in EUR, ten models of four
providers plus cloud infrastructure lines, a few applications per team.

Then, for `--iterations` random (team, 30-day period) pairs, each measured in the same loop:

- spend_report: `metrics.queries.spend_report` for one team, the whole answer the bot, the
  API (/api/v1/spend/) and the portal give (totals, previous period, breakdowns, daily series,
  KPIs, carbon);
- spend total: `metrics.queries.team_month_spend`, the per-currency total alone (the bot's
  home tab and budget checks);
- raw SUM: `SELECT billing_currency, SUM(effective_cost) FROM metrics_costrecord WHERE
  team_id = %s AND day >= %s AND day < %s GROUP BY billing_currency` (the (team, day) index
  on the raw table helps it), the baseline.

Each result is checked against the raw SUM. Prints p50 and p95 of each and the ratios.
Targets (issue 4): p95 of the query layer under 50 ms and at least 50x faster than the raw
SUM. Machines here are noisy: compare ratios of the same run, not seconds across runs.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LAST_DAY = date(2026, 10, 31)
SLUG = "bench-spend-{:03d}"
CHUNK = 1_000_000
PERIOD_DAYS = 30
MODELS = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("openai", "o3"),
    ("anthropic", "claude-sonnet-4"),
    ("anthropic", "claude-haiku-3.5"),
    ("google", "gemini-1.5-pro"),
    ("google", "gemini-1.5-flash"),
    ("aws", "llama-3-70b"),
    ("openai", "text-embedding-3-small"),
    ("anthropic", "claude-opus-4"),
]


def ensure_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def marker(rows: int, teams: int, days: int) -> str:
    return f"bench_spend rows={rows} teams={teams} days={days} last={LAST_DAY}"


def generate(rows: int, teams: int, days: int) -> None:
    """Replace the ledger with `rows` generated lines and rebuild the rollups."""
    from django.db import connection

    from metrics.ledger.ingest import rebuild_rollups
    from metrics.models import ImportBatch, Team

    first = LAST_DAY - timedelta(days=days - 1)
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE metrics_costrecord, metrics_dailycost, metrics_alert, "
            "metrics_remediationaction, metrics_recommendation, metrics_budget, "
            "metrics_allocationrule, metrics_importbatch RESTART IDENTITY CASCADE"
        )
    Team.objects.filter(slug__startswith="bench-spend-").delete()
    team_ids = [
        t.pk
        for t in Team.objects.bulk_create(
            Team(slug=SLUG.format(i), name=f"Bench spend {i}") for i in range(teams)
        )
    ]
    batch = ImportBatch.objects.create(
        sha256="bench".ljust(64, "0"),
        source="focus",
        file_name=marker(rows, teams, days),
        status=ImportBatch.Status.DONE,
        row_count=rows,
    )
    providers = "ARRAY[" + ",".join(f"'{p}'" for p, _ in MODELS) + "]"
    models = "ARRAY[" + ",".join(f"'{m}'" for _, m in MODELS) + "]"
    ids = "ARRAY[" + ",".join(str(i) for i in team_ids) + "]::bigint[]"
    with connection.cursor() as cur:
        cur.execute(
            "SELECT indexdef, indexname FROM pg_indexes WHERE tablename = 'metrics_costrecord' "
            "AND indexname <> 'metrics_costrecord_pkey'"
        )
        indexes = cur.fetchall()
        for _, name in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        cur.execute("SET synchronous_commit = off")
        cur.execute("SELECT setseed(0.42)")
        t0 = time.perf_counter()
        for lo in range(0, rows, CHUNK):
            hi = min(rows, lo + CHUNK)
            # s: one generated line; t = team index, m = model index (skewed: cheap models are
            # used most), k = 0 for a cloud infrastructure line.
            cur.execute(
                f"""
                INSERT INTO metrics_costrecord (
                    batch_id, source_line, team_id, day, billing_account_id, sub_account_id,
                    billing_period_start, billing_period_end, charge_period_start,
                    charge_period_end, charge_category, billed_cost, effective_cost,
                    billing_currency, provider_name, service_name, service_category, provider,
                    model, application_key, input_tokens, cached_input_tokens,
                    cache_write_tokens, output_tokens, model_requests, gpu_hours)
                SELECT
                    %(batch)s, s.g %% 2000000000 + 2,
                    CASE WHEN s.u < 0.03 THEN NULL ELSE ({ids})[s.t + 1] END,
                    s.day, 'acct-' || (s.t %% 4), 'sub-' || s.t,
                    date_trunc('month', s.day), date_trunc('month', s.day) + interval '1 month',
                    s.day + make_interval(hours => (s.g %% 24)::int),
                    s.day + make_interval(hours => (s.g %% 24)::int + 1),
                    'Usage', s.cost, CASE WHEN s.k = 0 THEN s.cost * 0.8 ELSE s.cost END,
                    CASE WHEN s.t %% 10 = 0 AND s.u > 0.7 THEN 'EUR' ELSE 'USD' END,
                    CASE WHEN s.k = 0 THEN 'AWS' ELSE initcap(({providers})[s.m + 1]) END,
                    CASE WHEN s.k = 0 THEN 'Amazon EC2' ELSE 'AI models' END,
                    CASE WHEN s.k = 0 THEN 'Compute' ELSE 'AI and Machine Learning' END,
                    CASE WHEN s.k = 0 THEN 'aws' ELSE ({providers})[s.m + 1] END,
                    CASE WHEN s.k = 0 THEN '' ELSE ({models})[s.m + 1] END,
                    CASE WHEN s.k = 0 THEN '' ELSE 'app-' || s.t || '-' || (s.g %% 3) END,
                    s.k * (s.g %% 4000), s.k * (s.g %% 700), s.k * (s.g %% 50),
                    s.k * (s.g %% 900 + 1), s.k * (s.g %% 20 + 1),
                    CASE WHEN s.k = 0 THEN 1 ELSE 0 END
                FROM (
                    SELECT g,
                        %(first)s::date + (g * %(days)s / %(rows)s)::int AS day,
                        floor(random() * %(teams)s)::int AS t,
                        floor(power(random(), 1.6) * {len(MODELS)})::int AS m,
                        CASE WHEN random() < 0.15 THEN 0 ELSE 1 END AS k,
                        random() AS u,
                        round((random() * random() * 4)::numeric, 9) AS cost
                    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint - 1) AS g
                ) AS s
                """,
                {
                    "batch": batch.pk,
                    "first": first,
                    "days": days,
                    "rows": rows,
                    "teams": teams,
                    "lo": lo,
                    "hi": hi,
                },
            )
            print(f"  {hi:>12,} lines ({time.perf_counter() - t0:.0f}s)", flush=True)
        for definition, _ in indexes:
            cur.execute(definition)
        print(f"  indexes rebuilt ({time.perf_counter() - t0:.0f}s)", flush=True)
    t1 = time.perf_counter()
    rebuild_rollups(first + timedelta(days=i) for i in range(days))
    print(f"  rollups rebuilt in {time.perf_counter() - t1:.0f}s", flush=True)


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE metrics_costrecord")
        cur.execute("VACUUM ANALYZE metrics_dailycost")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def raw_sum(team_id: int, start: date, end: date) -> dict[str, Decimal]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT billing_currency, SUM(effective_cost) FROM metrics_costrecord "
            "WHERE team_id = %s AND day >= %s AND day < %s GROUP BY billing_currency",
            [team_id, start, end],
        )
        return {currency: amount for currency, amount in cur.fetchall()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--teams", type=int, default=40)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--regenerate", action="store_true", help="rebuild the ledger")
    args = parser.parse_args()
    if args.days < 2 * PERIOD_DAYS:
        sys.exit(f"--days must be at least {2 * PERIOD_DAYS}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    url = os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_spend")
    if not url.startswith("postgres"):
        sys.exit("bench/spend_query.py needs PostgreSQL (DATABASE_URL=postgres://...)")
    ensure_database(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from metrics import queries
    from metrics.models import DailyCost, ImportBatch, Team

    call_command("migrate", verbosity=0)
    wanted = marker(args.rows, args.teams, args.days)
    if args.regenerate or not ImportBatch.objects.filter(file_name=wanted).exists():
        print(f"generating {args.rows:,} lines, {args.teams} teams x {args.days} days")
        generate(args.rows, args.teams, args.days)
        vacuum()
    else:
        print(f"reusing the ledger: {wanted}")
    teams = list(Team.objects.filter(slug__startswith="bench-spend-").order_by("pk"))
    with connection.cursor() as cur:
        cur.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'metrics_costrecord'")
        (records,) = cur.fetchone()
        cur.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('metrics_costrecord')), "
            "pg_size_pretty(pg_total_relation_size('metrics_dailycost'))"
        )
        raw_size, rollup_size = cur.fetchone()
    rollup_rows = DailyCost.objects.count()
    print(
        f"CostRecord ~{records:,} lines ({raw_size}); DailyCost {rollup_rows:,} rows "
        f"({rollup_size}, {records / max(rollup_rows, 1):.0f} lines per rollup row)"
    )

    first = LAST_DAY - timedelta(days=args.days - 1)
    rng = random.Random(args.seed)
    cases = []
    for _ in range(args.iterations):
        team = rng.choice(teams)
        start = first + timedelta(days=rng.randrange(PERIOD_DAYS, args.days - PERIOD_DAYS + 1))
        cases.append((team, start, start + timedelta(days=PERIOD_DAYS)))

    def report(team: Team, start: date, end: date) -> queries.SpendReport:
        scope = queries.Scope((team.pk,), team.name)
        return queries.spend_report(queries.SpendQuery(scope, start, end))

    # Warm-up: connections, plans, the catalog; then every case once per path, interleaved.
    for team, start, end in cases[:5]:
        report(team, start, end)
        raw_sum(team.pk, start, end)
    t_report, t_total, t_raw = [], [], []
    for i, (team, start, end) in enumerate(cases):
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("report", partial(report, team, start, end)),
            ("total", partial(queries.team_month_spend, [team.pk], start, end)),
            ("raw", partial(raw_sum, team.pk, start, end)),
        ]
        if i % 2:
            steps.reverse()  # neither path always runs on a cache the other just warmed
        results: dict[str, Any] = {}
        for name, fn in steps:
            seconds, results[name] = timed(fn)
            {"report": t_report, "total": t_total, "raw": t_raw}[name].append(seconds)
        exact = {c: Decimal(a).quantize(Decimal("0.000001")) for c, a in results["raw"].items()}
        assert results["report"].totals == exact, (team.slug, start, results["report"].totals)
        assert results["total"].get(team.pk, {}) == exact, (team.slug, start)

    raw_p50, raw_p95 = percentile(t_raw, 0.5), percentile(t_raw, 0.95)
    print(
        f"\n{len(cases)} random (team, {PERIOD_DAYS}-day period) queries; "
        "milliseconds; ratio = raw SUM p50 / p50 and raw SUM p95 / p95"
    )
    print(f"{'path':<58}{'p50':>9}{'p95':>9}{'x p50':>9}{'x p95':>9}")
    rows = [
        ("query layer: spend_report (whole answer, ~8 queries)", t_report),
        ("query layer: spend total (team_month_spend, 1 query)", t_total),
        ("baseline: raw SUM over CostRecord ((team, day) index)", t_raw),
    ]
    for name, times in rows:
        p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
        print(
            f"{name:<58}{p50 * 1000:>9.2f}{p95 * 1000:>9.2f}"
            f"{raw_p50 / p50:>8.1f}x{raw_p95 / p95:>8.1f}x"
        )
    for name, times in rows[:2]:
        p95 = percentile(times, 0.95)
        verdict = "met" if p95 < 0.05 and raw_p95 / p95 >= 50 else "NOT met"
        print(f"target (p95 < 50 ms and >= 50x the raw SUM) for {name.split(': ')[1]}: {verdict}")


if __name__ == "__main__":
    main()
