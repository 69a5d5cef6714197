"""Celery beat jobs for budgets, anomalies (both then let remediation policies propose
actions: metrics.advice.policies), snoozed alerts and remediation outcomes (conventions:
metrics/tasks.py).

Each job is idempotent (alerts are keyed by `Alert.dedupe_key`) and cannot overlap another
run of itself: `single_run` takes a lock in the shared cache (the database cache by default,
Redis when CACHE_URL points there), never in process memory.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from metrics.ledger.locks import job_lock

logger = logging.getLogger(__name__)

ALERTING_TIME_LIMIT = 10 * 60
# Longer than the hard time limit: a worker killed mid-run frees the lock when it expires.
ALERTING_LOCK_SECONDS = ALERTING_TIME_LIMIT + 5 * 60


@contextmanager
def single_run(name: str, seconds: int = ALERTING_LOCK_SECONDS) -> Iterator[bool]:
    """Yield True when this process holds the lock `name`, False when another run does
    (metrics.ledger.locks.job_lock: expires after `seconds`, released only by its holder)."""
    with job_lock(name, seconds) as mine:
        yield mine


@shared_task(
    name="metrics.evaluate_budgets",
    time_limit=ALERTING_TIME_LIMIT,
    soft_time_limit=ALERTING_TIME_LIMIT - 60,
)
def evaluate_budgets() -> list[int]:
    """Check every active budget as of now (each team on its local date); returns the ids
    of the alerts to announce."""
    from metrics.advice.policies import policies_evaluate_alerts
    from metrics.alerting.budgets import budgets_evaluate_now

    with single_run("evaluate_budgets") as mine:
        if not mine:
            return []
        alerts = budgets_evaluate_now(now=timezone.now())
        policies_evaluate_alerts()
        return [a.pk for a in alerts]


@shared_task(
    name="metrics.detect_anomalies",
    time_limit=ALERTING_TIME_LIMIT,
    soft_time_limit=ALERTING_TIME_LIMIT - 60,
)
def detect_anomalies(start: str = "", end: str = "") -> list[int]:
    """Check [start, end) (ISO dates; default yesterday and today, UTC ledger days: billing
    data for yesterday often arrives late) for spend anomalies; returns new alert ids."""
    from metrics.advice.policies import policies_evaluate_alerts
    from metrics.alerting.anomalies import anomalies_detect

    today = timezone.now().date()
    first = date.fromisoformat(start) if start else today - timedelta(days=1)
    last = date.fromisoformat(end) if end else today + timedelta(days=1)
    with single_run("detect_anomalies") as mine:
        if not mine:
            return []
        alerts = anomalies_detect(start=first, end=last)
        policies_evaluate_alerts()  # the Run stage: policies propose actions
        return [a.pk for a in alerts]


@shared_task(name="metrics.wake_snoozed_alerts", ignore_result=True, time_limit=60)
def wake_snoozed_alerts() -> int:
    """Reopen alerts whose snooze has ended (a conditional update: safe to overlap)."""
    from metrics.alerting.alerts import alerts_wake_snoozed

    return alerts_wake_snoozed(now=timezone.now())


@shared_task(name="metrics.measure_action_outcomes", ignore_result=True, time_limit=600)
def measure_action_outcomes() -> int:
    """Daily: spend before/after of executed remediation actions (conditional updates)."""
    from metrics.advice.remediation import actions_measure_outcomes

    return actions_measure_outcomes(now=timezone.now())
