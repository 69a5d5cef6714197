"""Celery tasks for pricing, carbon, recommendations and remediation (see metrics/tasks.py
for the conventions): they take ids or ISO dates, call a service, are safe to run twice."""

import logging
from datetime import date

from celery import shared_task

from metrics.ledger.locks import job_lock

logger = logging.getLogger(__name__)

ADVICE_TIME_LIMIT = 30 * 60
# Longer than the hard time limit: a worker killed mid-run frees the lock when it expires.
ADVICE_LOCK_SECONDS = ADVICE_TIME_LIMIT + 5 * 60


@shared_task(name="metrics.reprice_ledger", time_limit=3600, soft_time_limit=3500)
def reprice_ledger(since: str = "") -> int:
    """Re-price usage from the catalog (queued when a price changes). Concurrent runs
    serialize on the rollup lock; a second run changes nothing."""
    from metrics.services import ledger_reprice

    return ledger_reprice(since=date.fromisoformat(since) if since else None)


@shared_task(name="metrics.reprice_batch", time_limit=3600, soft_time_limit=3500)
def reprice_batch(batch_id: int) -> int:
    from metrics.services import ledger_reprice_batch

    return ledger_reprice_batch(batch_id)


@shared_task(
    name="metrics.carbon_backfill", ignore_result=True, time_limit=1800, soft_time_limit=1700
)
def carbon_backfill() -> None:
    """Fill carbon estimates of rollup rows that have none yet. Safe to re-run."""
    from metrics.economics.carbon import carbon_backfill as backfill

    logger.info("carbon estimates filled for %s rollup rows", backfill())


@shared_task(
    name="metrics.refresh_recommendations",
    ignore_result=True,
    time_limit=ADVICE_TIME_LIMIT,
    soft_time_limit=ADVICE_TIME_LIMIT - 60,
)
def refresh_recommendations() -> None:
    """Daily: find savings and upsert recommendations. Never two at once (a lock in the
    shared cache); a run is idempotent anyway."""
    from metrics.advice.policies import policies_evaluate_recommendations
    from metrics.advice.recommendations.lifecycle import recommendation_refresh

    with job_lock("refresh_recommendations", ADVICE_LOCK_SECONDS) as mine:
        if mine:
            recommendation_refresh()
            policies_evaluate_recommendations()  # the Run stage: policies propose actions


@shared_task(name="metrics.action_execute", ignore_result=True, time_limit=300, soft_time_limit=270)
def action_execute(action_id: int) -> None:
    """Run an approved remediation action; at most once however many workers get it."""
    from metrics.advice.remediation import action_run

    action_run(action_id)
