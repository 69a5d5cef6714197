"""Builders shared by the API tests (no tests here): a small ledger with objects of the
engineer's team (ml-platform), another team (search) and the unallocated bucket, each with
an amount that appears nowhere else, so a leak shows up as a substring of a response."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from metrics.ledger.ingest import rebuild_rollups
from metrics.models import (
    Alert,
    AllocationRule,
    Budget,
    CostRecord,
    ImportBatch,
    ImportJob,
    Recommendation,
    RemediationAction,
    Team,
)

DAY = date(2026, 10, 5)
# Amounts that identify whose data a body shows.
ML = "1234.56"
SEARCH = "9876.54"
UNALLOCATED = "4321.09"


def batch(name: str = "ledger.csv") -> ImportBatch:
    return ImportBatch.objects.create(sha256=name.ljust(64, "0"), source="focus", file_name=name)


def record(
    b: ImportBatch,
    team: Team | None,
    day: date,
    cost: str,
    *,
    provider: str = "openai",
    model: str = "gpt-4o",
    application_key: str = "",
    currency: str = "USD",
    billed: str | None = None,
    **usage: int,
) -> CostRecord:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return CostRecord.objects.create(
        batch=b,
        source_line=CostRecord.objects.count() + 2,
        team=team,
        day=day,
        billing_period_start=start.replace(day=1),
        billing_period_end=start.replace(day=1) + timedelta(days=31),
        charge_period_start=start,
        charge_period_end=start + timedelta(days=1),
        charge_category="Usage",
        billed_cost=Decimal(billed if billed is not None else cost),
        effective_cost=Decimal(cost),
        billing_currency=currency,
        provider=provider,
        model=model,
        application_key=application_key,
        service_category="AI and Machine Learning",
        **usage,
    )


def world(teams: dict[str, Team]) -> dict[str, object]:
    """One object of each kind for ml-platform (the engineer's team), one for search (the
    outsider's), and organization-wide ones (unallocated cost, an org alert)."""
    ml, search = teams["ml-platform"], teams["search"]
    b = batch()
    rec_ml = record(b, ml, DAY, ML, model_requests=1000, input_tokens=50_000, output_tokens=5_000)
    record(b, search, DAY, SEARCH)
    rec_unalloc = record(b, None, DAY, UNALLOCATED, provider="aws", model="")
    rebuild_rollups([DAY])
    budget = Budget.objects.create(team=ml, monthly_amount=Decimal(ML), thresholds=[50, 100])
    Budget.objects.create(team=search, monthly_amount=Decimal(SEARCH))
    alert = Alert.objects.create(
        kind=Alert.Kind.BUDGET,
        dedupe_key="budget:ml",
        team=ml,
        budget=budget,
        day=DAY,
        amount=Decimal(ML),
        currency="USD",
        title="ml-platform reached 100%",
    )
    Alert.objects.create(
        kind=Alert.Kind.BUDGET,
        dedupe_key="budget:search",
        team=search,
        day=DAY,
        amount=Decimal(SEARCH),
        currency="USD",
        title="search reached 100%",
    )
    org_alert = Alert.objects.create(
        kind=Alert.Kind.ANOMALY,
        dedupe_key="anomaly:org",
        team=None,
        day=DAY,
        amount=Decimal(UNALLOCATED),
        currency="USD",
        title="unallocated spend jumped",
    )
    rec = Recommendation.objects.create(
        kind=Recommendation.Kind.DOWNSIZE,
        dedupe_key="downsize:ml",
        team=ml,
        subject="chat on openai/gpt-4o",
        title="Move chat to gpt-4o-mini",
        estimated_monthly_saving=Decimal(ML),
    )
    Recommendation.objects.create(
        kind=Recommendation.Kind.BATCH,
        dedupe_key="batch:search",
        team=search,
        title="Batch the search indexer",
        estimated_monthly_saving=Decimal(SEARCH),
    )
    action = RemediationAction.objects.create(
        kind=RemediationAction.Kind.BUDGET_CAP,
        team=ml,
        recommendation=rec,
        params={"application_key": "chat", "cap": ML},
    )
    RemediationAction.objects.create(
        kind=RemediationAction.Kind.BUDGET_CAP,
        team=search,
        params={"application_key": "indexer", "cap": SEARCH},
    )
    rule = AllocationRule.objects.create(
        priority=10, team=ml, field=AllocationRule.Field.SUB_ACCOUNT, pattern="ml-*"
    )
    job = ImportJob.objects.create(file_name="oct.csv", path="/nonexistent", batch=b)
    from metrics.models import RemediationPolicy

    policy = RemediationPolicy.objects.create(
        name="Cap ml-platform at 100%",
        trigger="budget",
        team=ml,
        action_kind="budget_cap",
        params={"application_key": "chat"},
    )
    return {
        "policy": policy,
        "team": ml,
        "batch": b,
        "import_job": job,
        "record": rec_ml,
        "unallocated_record": rec_unalloc,
        "budget": budget,
        "alert": alert,
        "org_alert": org_alert,
        "recommendation": rec,
        "action": action,
        "rule": rule,
    }
