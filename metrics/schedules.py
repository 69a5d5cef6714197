"""Periodic jobs, kept in the database by django-celery-beat. Safe to re-run."""

from collections.abc import Mapping
from typing import Any

from django_celery_beat.models import IntervalSchedule, PeriodicTask

# name -> (task, every N seconds)
PERIODIC_TASKS: dict[str, tuple[str, int]] = {
    "worker heartbeat": ("metrics.heartbeat", 60),
    "pull OpenAI costs and usage": ("metrics.pull_openai", 60 * 60),
    "pull Anthropic usage and cost reports": ("metrics.pull_anthropic", 60 * 60),
    "refresh savings recommendations": ("metrics.refresh_recommendations", 24 * 60 * 60),
    "fill missing carbon estimates": ("metrics.carbon_backfill", 60 * 60),
    "evaluate budgets": ("metrics.evaluate_budgets", 60 * 60),
    "detect spend anomalies": ("metrics.detect_anomalies", 60 * 60),
    "wake snoozed alerts": ("metrics.wake_snoozed_alerts", 5 * 60),
    "measure remediation outcomes": ("metrics.measure_action_outcomes", 24 * 60 * 60),
}


def ensure_interval_tasks(tasks: Mapping[str, tuple[str, int]]) -> None:
    """Create or update one enabled beat entry per name -> (task, every N seconds); used by
    every app that has interval jobs (metrics, bot). Safe to re-run."""
    for name, (task, seconds) in tasks.items():
        every, _ = IntervalSchedule.objects.get_or_create(
            every=seconds, period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.update_or_create(
            name=name, defaults={"task": task, "interval": every, "enabled": True}
        )


def ensure_periodic_tasks() -> None:
    ensure_interval_tasks(PERIODIC_TASKS)


def ensure_periodic_tasks_after_migrate(**kwargs: Any) -> None:
    ensure_periodic_tasks()
