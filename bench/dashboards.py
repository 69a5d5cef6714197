"""The spend dashboards (team view, organization view) and the board report on a large ledger.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_spend .venv/bin/python bench/dashboards.py --rows 10000000
    .venv/bin/python bench/dashboards.py --rows 200000 --iterations 30     # a quick run

The ledger is bench/spend_query.py's (same generator, same marker: an existing one is
reused): `--rows` CostRecord lines over 365 days for 40 teams, rolled up by the import path.
"Today" is pinned to the ledger's last day (2026-10-31). Pages are requested through Django's
test client in this process (middleware, sessions, templates, the vendored charts' specs: the
whole server side of a page; the browser's drawing is not timed), one client, one page at a
time:

- team view: a team lead's `/dashboard/` for a random 30-day period of their team, half of
  the requests stacked by model, some filtered by a model;
- team view, month to date: `/dashboard/` with no parameters (what the bot links to);
- organization view: a FinOps admin's `/dashboard/org/` for a random 30-day period;
- baselines in the same loop: `/healthz` through the same client (the framework's floor) and
  the raw `SUM` over CostRecord of the team and period (what a page without rollups pays).

Prints p50/p95 per page, their ratio to each baseline, and the queries of each page (the
tests assert at most 12). Then the board report of October 2026: the deck's numbers, the PDF
(WeasyPrint, SVG charts) and the PPTX (PNG charts), timed cold (first render, charts not
cached) and warm. Targets (issue 13): p95 < 100 ms per page; board report < 5 s.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.spend_query import (  # noqa: E402
    LAST_DAY,
    SLUG,
    ensure_database,
    generate,
    marker,
    percentile,
    raw_sum,
    vacuum,
)

PERIOD_DAYS = 30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--teams", type=int, default=40)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    url = os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_spend")
    if not url.startswith("postgres"):
        sys.exit("bench/dashboards.py needs PostgreSQL (DATABASE_URL=postgres://...)")
    ensure_database(url)

    import django

    django.setup()
    from decimal import Decimal

    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from metrics.models import Budget, ImportBatch, Team, TeamMembership
    from portal import board_report
    from portal.roles import Role, ensure_role_groups
    from portal.views import spend

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    wanted = marker(args.rows, args.teams, args.days)
    if not ImportBatch.objects.filter(file_name=wanted).exists():
        print(f"generating {args.rows:,} lines, {args.teams} teams x {args.days} days")
        generate(args.rows, args.teams, args.days)
        vacuum()
    else:
        print(f"reusing the ledger: {wanted}")
    ensure_role_groups()
    teams = list(Team.objects.filter(slug__startswith=SLUG.format(0)[:-3]).order_by("pk"))
    for t in teams:
        Budget.objects.get_or_create(
            team=t, application_key="", currency="USD", defaults={"monthly_amount": Decimal(5000)}
        )

    def person(email: str, role: Role) -> User:
        user, _ = User.objects.get_or_create(username=email, defaults={"email": email})
        user.groups.add(Group.objects.get(name=role.value))
        return user

    admin = person("bench-admin@example.com", Role.FINOPS_ADMIN)
    lead = person("bench-lead@example.com", Role.TEAM_LEAD)
    TeamMembership.objects.get_or_create(
        team=teams[0], user=lead, defaults={"role": TeamMembership.Role.LEAD}
    )
    spend.ledger_today = lambda: LAST_DAY  # type: ignore[assignment]  # pin "today"
    lead_client, admin_client, plain = Client(), Client(), Client()
    lead_client.force_login(lead)
    admin_client.force_login(admin)

    first = LAST_DAY - timedelta(days=args.days - 1)
    rng = random.Random(args.seed)
    models = ["gpt-4o", "claude-sonnet-4", "gpt-4o-mini"]

    def period() -> tuple[date, date]:
        start = first + timedelta(days=rng.randrange(PERIOD_DAYS, args.days - PERIOD_DAYS + 1))
        return start, start + timedelta(days=PERIOD_DAYS - 1)

    def team_url() -> tuple[str, date, date]:
        start, end = period()
        url = f"/dashboard/?team={teams[0].slug}&start={start}&end={end}"
        if rng.random() < 0.5:
            url += "&stack=model"
        if rng.random() < 0.25:
            url += f"&model={rng.choice(models)}"
        return url, start, end

    def org_url() -> str:
        start, end = period()
        return f"/dashboard/org/?start={start}&end={end}"

    def get(client: Client, url: str) -> float:
        t = time.perf_counter()
        response = client.get(url)
        seconds = time.perf_counter() - t
        assert response.status_code == 200, (url, response.status_code)
        return seconds

    # Query counts (the tests assert <= 12), then a warm-up.
    counts = {}
    for name, client, url in [
        ("team view", lead_client, team_url()[0]),
        ("team view, month to date", lead_client, "/dashboard/"),
        ("organization view", admin_client, org_url()),
    ]:
        with CaptureQueriesContext(connection) as ctx:
            get(client, url)
        counts[name] = len(ctx.captured_queries)
    for _ in range(3):
        get(lead_client, team_url()[0])
        get(admin_client, org_url())
        get(plain, "/healthz")

    times: dict[str, list[float]] = {
        "team view": [],
        "team view, month to date": [],
        "organization view": [],
        "healthz": [],
        "raw SUM": [],
    }
    for i in range(args.iterations):
        url, start, end = team_url()
        steps = [
            ("team view", lambda url=url: get(lead_client, url)),
            ("team view, month to date", lambda: get(lead_client, "/dashboard/")),
            ("organization view", lambda: get(admin_client, org_url())),
            ("healthz", lambda: get(plain, "/healthz")),
            ("raw SUM", lambda s=start, e=end: _timed_raw(teams[0].pk, s, e)),
        ]
        if i % 2:
            steps.reverse()
        for name, fn in steps:
            times[name].append(fn())

    floor = percentile(times["healthz"], 0.95)
    raw = percentile(times["raw SUM"], 0.95)
    print(
        f"\n{args.iterations} requests per page, one client; milliseconds; x = p95 / baseline p95"
    )
    print(f"{'page':<30}{'p50':>9}{'p95':>9}{'x healthz':>11}{'x raw SUM':>11}{'queries':>9}")
    for name, values in times.items():
        p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
        print(
            f"{name:<30}{p50 * 1000:>9.1f}{p95 * 1000:>9.1f}{p95 / floor:>10.1f}x"
            f"{p95 / raw:>10.2f}x{counts.get(name, ''):>9}"
        )
    for name in ("team view", "team view, month to date", "organization view"):
        p95 = percentile(times[name], 0.95)
        print(f"target p95 < 100 ms for {name}: {'met' if p95 < 0.1 else 'NOT met'}")

    # The board report of the ledger's last month, cold then warm.
    month = LAST_DAY.replace(day=1)
    for label in ("cold", "warm"):
        t0 = time.perf_counter()
        deck = board_report.build_deck(month, today=LAST_DAY + timedelta(days=1))
        t1 = time.perf_counter()
        pdf = board_report.render_pdf(deck)
        t2 = time.perf_counter()
        pptx = board_report.render_pptx(deck)
        t3 = time.perf_counter()
        print(
            f"board report {month:%Y-%m} ({label}): numbers {t1 - t0:.2f} s, PDF {t2 - t1:.2f} s "
            f"({len(pdf):,} bytes), PPTX {t3 - t2:.2f} s ({len(pptx):,} bytes), "
            f"total {t3 - t0:.2f} s: target < 5 s {'met' if t3 - t0 < 5 else 'NOT met'}"
        )


def _timed_raw(team_id: int, start: date, end: date) -> float:
    t = time.perf_counter()
    raw_sum(team_id, start, end + timedelta(days=1))
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
