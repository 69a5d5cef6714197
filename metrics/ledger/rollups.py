"""Daily rollups (metrics.DailyCost): rebuilt from the ledger for the days a write touched.

Ledger writers (imports, re-pricing, re-allocation) call `rebuild_rollups(days)` once, at the
end of their transaction and under the ledger lock (`metrics.ledger.locks.ledger_lock`), with every
day they changed; it rebuilds those days' rollups and their carbon estimates.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import connection

from metrics.economics.carbon import carbon_fill_rollups
from metrics.models import DailyCost

DAYS_PER_STATEMENT = 200


def rebuild_rollups(days: Iterable[date]) -> list[date]:
    """Recompute DailyCost for the given days from CostRecord (one GROUP BY per batch of
    days), then their carbon estimates. Returns the days rebuilt, sorted."""
    day_list = sorted(set(days))
    for i in range(0, len(day_list), DAYS_PER_STATEMENT):
        part = day_list[i : i + DAYS_PER_STATEMENT]
        DailyCost.objects.filter(day__in=part).delete()
        placeholders = ", ".join(["%s"] * len(part))
        with connection.cursor() as cur:
            cur.execute(
                f"""
                INSERT INTO metrics_dailycost (team_id, day, provider, service_category, model,
                    application_key, currency, billed_cost, effective_cost, input_tokens,
                    cached_input_tokens, cache_write_tokens, output_tokens, model_requests,
                    gpu_hours, record_count)
                SELECT team_id, day, provider, service_category, model, application_key,
                    billing_currency, SUM(billed_cost), SUM(effective_cost), SUM(input_tokens),
                    SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens),
                    SUM(model_requests), SUM(gpu_hours), COUNT(*)
                FROM metrics_costrecord
                WHERE day IN ({placeholders})
                GROUP BY team_id, day, provider, service_category, model, application_key,
                    billing_currency
                """,  # noqa: S608 - only placeholders are interpolated
                part,
            )
    if day_list:
        carbon_fill_rollups(day_list)
    return day_list
