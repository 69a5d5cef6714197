"""A small ledger for the dashboard tests: real CostRecord lines rolled up by the import
path's own `rebuild_rollups`, so the records behind a number and the rollups agree.

September 2026 (30 days) and October 1-4 (the ledger stops there):
- ml-platform: OpenAI gpt-4o on project proj_ml-platform-8244a8 (10.00 a day in September,
  12.00 in October; 100 requests, 50,000 input and 5,000 output tokens a day) and Anthropic
  claude-sonnet-4 on workspace wrkspc_b1b8 (5.00 a day);
- search: OpenAI gpt-4o-mini 3.00 a day;
- unallocated: AWS compute 1.00 a day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from metrics.ledger.ingest import rebuild_rollups
from metrics.models import CostRecord, ImportBatch

FIRST = date(2026, 9, 1)
LAST = date(2026, 10, 4)
ML_PROJECT = "proj_ml-platform-8244a8"
ML_WORKSPACE = "wrkspc_b1b8"


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def line(batch, n, team, day, provider, model, app, amount, **usage):
    return CostRecord(
        batch=batch,
        source_line=n,
        team=team,
        day=day,
        billing_period_start=_at(day.replace(day=1)),
        billing_period_end=_at((day.replace(day=1) + timedelta(days=32)).replace(day=1)),
        charge_period_start=_at(day),
        charge_period_end=_at(day + timedelta(days=1)),
        charge_category="Usage",
        billed_cost=Decimal(amount),
        effective_cost=Decimal(amount),
        billing_currency="USD",
        provider=provider,
        model=model,
        application_key=app,
        service_category="AI and Machine Learning" if model else "Compute",
        service_name={"openai": "OpenAI API", "anthropic": "Claude API"}.get(provider, "EC2"),
        sub_account_id=app,
        sub_account_name="ML platform chat" if app == ML_PROJECT else app,
        **usage,
    )


def build_ledger(teams) -> dict[str, object]:
    batch = ImportBatch.objects.create(sha256="t" * 64, source="test", file_name="test.csv")
    ml, search = teams["ml-platform"], teams["search"]
    rows = []
    n = 0
    day = FIRST
    while day <= LAST:
        october = day.month == 10
        n += 1
        rows.append(
            line(
                batch,
                n,
                ml,
                day,
                "openai",
                "gpt-4o",
                ML_PROJECT,
                "12.00" if october else "10.00",
                model_requests=100,
                input_tokens=50_000,
                output_tokens=5_000,
            )
        )
        n += 1
        rows.append(
            line(
                batch,
                n,
                ml,
                day,
                "anthropic",
                "claude-sonnet-4",
                ML_WORKSPACE,
                "5.00",
                model_requests=20,
                input_tokens=10_000,
                output_tokens=1_000,
            )
        )
        n += 1
        rows.append(
            line(
                batch,
                n,
                search,
                day,
                "openai",
                "gpt-4o-mini",
                "proj_search-1",
                "3.00",
                model_requests=300,
                input_tokens=30_000,
                output_tokens=3_000,
            )
        )
        n += 1
        rows.append(line(batch, n, None, day, "aws", "", "", "1.00"))
        day += timedelta(days=1)
    CostRecord.objects.bulk_create(rows)
    rebuild_rollups({r.day for r in rows})
    from metrics.ledger.names import application_names_refresh

    application_names_refresh(batch_id=batch.pk)
    return {"batch": batch, "rows": len(rows)}
