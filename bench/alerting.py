"""Anomaly detection and budget evaluation over 200 teams x 400 days of daily rollups.

    DJANGO_SETTINGS_MODULE=config.settings.local \\
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_alerting .venv/bin/python bench/alerting.py

Creates the database if missing, migrates it, and (re)generates the rollups with COPY when
they are not already there: per team 3-4 models and one no-model row a day, a tenth of the
teams also billed in EUR, weekly rhythm, noise, price changes and injected spikes. Then times,
each next to a baseline measured in the same run (loading the series the job reads):

- the hourly anomaly job (yesterday and today, team totals and team x model series),
- an anomaly backfill over every day that has 28 days of history (about 370 days),
- budget evaluation (one USD budget per team, plus per-application budgets),
- the re-runs of both jobs, which must create nothing.

Target: the anomaly backfill, the hourly job and the budget evaluation under 10 s in total
on a 2-core machine. Machines here are noisy: compare the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEAMS = 200
DAYS = 400
TODAY = date(2026, 6, 20)
MODELS = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "claude-haiku-3.5", "gemini-1.5-pro"]
PROVIDERS = ["openai", "openai", "anthropic", "anthropic", "google"]
SLUG = "bench-team-{:03d}"


def ensure_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def generate(seed: int = 11) -> pd.DataFrame:
    """The rollup rows (without team ids: `team` is the team's index)."""
    rng = np.random.default_rng(seed)
    first = TODAY - timedelta(days=DAYS - 1)
    days = np.array([first + timedelta(days=i) for i in range(DAYS)], dtype=object)
    weekly = np.array([1.0, 1.05, 1.1, 1.05, 1.0, 0.45, 0.4])[np.array([d.weekday() for d in days])]
    parts = []
    for team in range(TEAMS):
        n_models = 3 + team % 2
        picks = rng.choice(len(MODELS), size=n_models, replace=False)
        currencies = ["USD", "EUR"] if team % 10 == 0 else ["USD"]
        for currency in currencies:
            for k, m in enumerate(picks):
                base = rng.lognormal(mean=3.0, sigma=1.0)  # ~$20 a day, long tail
                level = np.full(DAYS, base)
                change = rng.integers(30, DAYS)
                level[change:] *= rng.choice([0.5, 1.0, 1.0, 2.0, 3.0])  # a price change
                cost = level * weekly * rng.lognormal(0, 0.15, DAYS)
                spikes = rng.random(DAYS) < 0.004
                cost[spikes] *= rng.uniform(4, 12, spikes.sum())
                used = rng.random(DAYS) > 0.02  # a few days without usage
                parts.append(
                    pd.DataFrame(
                        {
                            "team": team,
                            "day": days[used],
                            "provider": PROVIDERS[m],
                            "service_category": "AI and Machine Learning",
                            "model": MODELS[m],
                            "application_key": f"app-{team}-{k % 2}",
                            "currency": currency,
                            "cost": cost[used],
                        }
                    )
                )
            infra = rng.lognormal(1.5, 0.3, DAYS)
            parts.append(
                pd.DataFrame(
                    {
                        "team": team,
                        "day": days,
                        "provider": "aws",
                        "service_category": "Compute",
                        "model": "",
                        "application_key": "",
                        "currency": currency,
                        "cost": infra,
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


def load(rows: pd.DataFrame) -> None:
    """Teams, rollups (COPY) and budgets; replaces any earlier bench data."""
    from django.db import connection, transaction

    from metrics.models import Alert, Budget, DailyCost, Team

    with transaction.atomic():
        Alert.objects.all().delete()
        Budget.objects.all().delete()
        DailyCost.objects.all().delete()
        Team.objects.filter(slug__startswith="bench-team-").delete()
        zones = ["UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Tokyo"]
        teams = Team.objects.bulk_create(
            Team(slug=SLUG.format(i), name=f"Bench team {i}", time_zone=zones[i % 4])
            for i in range(TEAMS)
        )
        ids = np.array([t.pk for t in teams])
        out = rows.assign(team_id=ids[rows["team"].to_numpy()])
        out["effective_cost"] = out["billed_cost"] = out["cost"].round(6)
        out["record_count"] = 24
        usage = ["input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens"]
        for name in [*usage, "model_requests", "gpu_hours"]:
            out[name] = 0
        columns = [
            *usage,
            "model_requests",
            "gpu_hours",
            "team_id",
            "day",
            "provider",
            "service_category",
            "model",
            "application_key",
            "currency",
            "billed_cost",
            "effective_cost",
            "record_count",
        ]
        buffer = io.StringIO()
        out[columns].to_csv(buffer, index=False, header=False)
        copy_sql = (
            f"COPY metrics_dailycost ({', '.join(columns)}) FROM STDIN (FORMAT csv, NULL '\\N')"
        )
        with connection.cursor() as cur:
            with cur.cursor.copy(copy_sql) as copy:
                copy.write(buffer.getvalue())
            cur.execute("ANALYZE metrics_dailycost")
        budgets = []
        for i, team in enumerate(teams):
            budgets.append(
                Budget(team=team, monthly_amount=700 + 37 * (i % 50), forecast_alert=True)
            )
            if i % 4 == 0:
                budgets.append(
                    Budget(
                        team=team,
                        application_key=f"app-{i}-0",
                        monthly_amount=300,
                        forecast_alert=True,
                    )
                )
        Budget.objects.bulk_create(budgets)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--regenerate", action="store_true", help="rebuild the rollups")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    url = os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_alerting")
    if not url.startswith("postgres"):
        sys.exit("bench/alerting.py needs PostgreSQL (DATABASE_URL=postgres://...)")
    ensure_database(url)

    import django

    django.setup()
    from django.core.management import call_command

    from metrics import queries
    from metrics.alerting.anomalies import ZSCORE_DAYS, anomalies_detect
    from metrics.alerting.budgets import budgets_evaluate
    from metrics.economics.forecast import series_window
    from metrics.models import Alert, Budget, DailyCost, Team

    call_command("migrate", verbosity=0)
    rows = generate()
    have = DailyCost.objects.count()
    if args.regenerate or have != len(rows) or Team.objects.count() != TEAMS:
        t, _ = timed(lambda: load(rows))
        print(f"loaded {len(rows):,} DailyCost rows for {TEAMS} teams x {DAYS} days in {t:.1f}s")
    else:
        print(f"reusing {have:,} DailyCost rows for {TEAMS} teams x {DAYS} days")
    Alert.objects.all().delete()
    first_day = TODAY - timedelta(days=DAYS - 1)
    one = timedelta(days=1)

    # Baselines: just loading the series each job reads.
    t_load_recent, _ = timed(
        lambda: queries.daily_series(
            team_ids=None,
            start=TODAY - timedelta(days=ZSCORE_DAYS + 1),
            end=TODAY + one,
            by_model=True,
        )
    )
    t_load_all, frame = timed(
        lambda: queries.daily_series(team_ids=None, start=first_day, end=TODAY + one, by_model=True)
    )
    start, end = series_window(TODAY)
    team_ids = list(Team.objects.values_list("pk", flat=True))
    t_load_budget, _ = timed(lambda: queries.daily_series(team_ids=team_ids, start=start, end=end))

    t_hourly, hourly = timed(lambda: anomalies_detect(start=TODAY - one, end=TODAY + one))
    t_hourly_again, hourly_again = timed(
        lambda: anomalies_detect(start=TODAY - one, end=TODAY + one)
    )
    Alert.objects.all().delete()
    backfill_start = first_day + timedelta(days=ZSCORE_DAYS)
    t_backfill, backfill = timed(lambda: anomalies_detect(start=backfill_start, end=TODAY + one))
    t_backfill_again, backfill_again = timed(
        lambda: anomalies_detect(start=backfill_start, end=TODAY + one)
    )
    t_budgets, budget_alerts = timed(lambda: budgets_evaluate(today=TODAY))
    t_budgets_again, budgets_again = timed(lambda: budgets_evaluate(today=TODAY))
    assert hourly_again == [] and backfill_again == [] and budgets_again == []

    series = (
        frame.groupby(["team_id", "currency"]).ngroups
        + frame[frame["model"] != ""].groupby(["team_id", "currency", "model"]).ngroups
    )
    stored = Alert.objects.values_list("kind").order_by("kind")
    by_kind = {k: stored.filter(kind=k).count() for k in ("anomaly", "budget", "forecast")}
    print(
        f"{len(frame):,} series-days in {series:,} series; "
        f"{Budget.objects.count()} budgets; today = {TODAY}"
    )
    print(f"{'step':<44}{'seconds':>9}{'ratio':>9}  result")
    lines = [
        ("baseline: load 29 days (by model)", t_load_recent, t_load_recent, ""),
        ("anomalies, hourly job (2 days)", t_hourly, t_load_recent, f"{len(hourly)} alerts"),
        ("  re-run", t_hourly_again, t_load_recent, "0 new"),
        ("baseline: load 400 days (by model)", t_load_all, t_load_all, ""),
        (
            f"anomalies, backfill ({(TODAY + one - backfill_start).days} days)",
            t_backfill,
            t_load_all,
            f"{len(backfill)} alerts",
        ),
        ("  re-run", t_backfill_again, t_load_all, "0 new"),
        ("baseline: load budget window (by team)", t_load_budget, t_load_budget, ""),
        (
            "budgets (thresholds + forecasts)",
            t_budgets,
            t_load_budget,
            f"{len(budget_alerts)} announced",
        ),
        ("  re-run", t_budgets_again, t_load_budget, "0 new"),
    ]
    for name, seconds, base, result in lines:
        print(f"{name:<44}{seconds:>9.3f}{seconds / base:>8.1f}x  {result}")
    total = t_hourly + t_backfill + t_budgets
    print(f"stored alerts by kind: {by_kind}")
    print(
        f"total (hourly anomalies + backfill + budgets): {total:.2f}s "
        f"({'under' if total < 10 else 'OVER'} the 10 s target)"
    )


if __name__ == "__main__":
    main()
