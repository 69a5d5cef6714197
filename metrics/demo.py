"""Demo usage for `seed_demo`: generated native provider files, imported like real ones.

Idempotent: the files are generated deterministically up to yesterday; importing the same
bytes again is a no-op, and a later day's files replace the overlapping days.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from django.conf import settings
from django.core.management import call_command

from metrics import generator
from metrics.ingest import billing_import, expand_paths
from metrics.models import AllocationRule, Budget, Team

DEMO_BUDGETS = {"ml-platform": "30000", "search": "8000", "support-assistant": "12000"}


def seed_usage(out: TextIO, *, days: int = 60, rows: int = 20_000) -> None:
    teams = {t.slug: t for t in Team.objects.filter(slug__in=generator.team_slugs(3))}
    if not teams:
        out.write("No demo teams: skipping demo usage.\n")
        return
    for slug, team in teams.items():
        names = {
            generator.openai_project(slug): f"{team.name} (OpenAI project)",
            generator.anthropic_workspace(slug): f"{team.name} (Anthropic workspace)",
        }
        for pattern, name in names.items():
            rule, _ = AllocationRule.objects.get_or_create(
                field=AllocationRule.Field.APPLICATION,
                pattern=pattern,
                defaults={"team": team, "priority": 50, "note": "demo"},
            )
            if not rule.application_name:  # readable names on the dashboards
                AllocationRule.objects.filter(pk=rule.pk).update(application_name=name)
        Budget.objects.get_or_create(
            team=team,
            application_key="",
            currency="USD",
            defaults={
                "monthly_amount": Decimal(DEMO_BUDGETS.get(slug, "10000")),
                "thresholds": [50, 80, 100],
            },
        )
    call_command("load_prices", stdout=out)
    folder = Path(settings.MEDIA_ROOT) / "demo-usage"
    end = date.today()
    call_command(
        "generate_usage",
        "--days",
        str(days),
        "--teams",
        "3",
        "--rows",
        str(rows),
        "--out",
        str(folder),
        "--seed",
        "1",
        "--end",
        (end - timedelta(days=0)).isoformat(),
        stdout=out,
    )
    for path in expand_paths([str(folder)]):
        result = billing_import(path)
        state = "imported" if result.created else "already imported"
        out.write(f"  demo usage {path.name}: {result.batch.row_count} rows {state}\n")
