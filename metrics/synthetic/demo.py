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

from metrics.ledger.ingest import billing_import, expand_paths
from metrics.models import AllocationRule, Budget, Team
from metrics.synthetic import generator

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


def seed_run_stage(out: TextIO) -> None:
    """Two remediation policies and one proposed action, so the demo shows the Run stage's
    whole loop (approve it in Slack or at /remediation/; without LITELLM_PROXY_URL the
    approval says why it cannot run). Idempotent."""
    from django.contrib.auth import get_user_model

    from metrics.advice.policies import policy_propose
    from metrics.models import RemediationAction, RemediationPolicy

    team = Team.objects.filter(slug="ml-platform").first()
    if team is None:
        out.write("No demo teams: skipping the Run stage demo.\n")
        return
    lead = get_user_model().objects.filter(username="lead@example.com").first()
    route, _ = RemediationPolicy.objects.get_or_create(
        name="Route ml-platform's gpt-4o spikes to gpt-4o-mini",
        defaults={
            "trigger": RemediationPolicy.Trigger.ANOMALY,
            "team": team,
            "min_amount": Decimal("100"),
            "action_kind": RemediationAction.Kind.MODEL_ROUTE,
            "params": {
                "application_key": generator.openai_project("ml-platform"),
                "provider": "openai",
                "from_model": "gpt-4o-2024-08-06",
                "to_model": "gpt-4o-mini",
            },
            "executor": "litellm",
        },
    )
    if lead is not None:
        route.approvers.add(lead)
    RemediationPolicy.objects.get_or_create(
        name="Cap an application key at 100% of its budget",
        defaults={
            "trigger": RemediationPolicy.Trigger.BUDGET,
            "min_percent": 100,
            "action_kind": RemediationAction.Kind.BUDGET_CAP,
            "executor": "webhook",
        },
    )
    action = policy_propose(
        route, kind=RemediationAction.Kind.MODEL_ROUTE, team=team, params=dict(route.params)
    )
    state = "proposed" if action is not None else "already there"
    out.write(f"  Run stage: 2 remediation policies, 1 action {state}\n")
