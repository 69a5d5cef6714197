"""Celery entry points for the ledger. Tasks take ids, call a service, are safe to re-run."""

from celery import shared_task
from django.db.models import F
from django.utils import timezone

from metrics.models import WorkerHeartbeat


@shared_task(name="metrics.heartbeat", ignore_result=True, time_limit=30, soft_time_limit=20)
def heartbeat(hostname: str = "") -> None:
    """Record that a worker ran a task; repeated runs bump one row per host."""
    name = hostname or heartbeat.request.hostname or "unknown"
    WorkerHeartbeat.objects.get_or_create(hostname=name, defaults={"last_seen": timezone.now()})
    WorkerHeartbeat.objects.filter(hostname=name).update(
        last_seen=timezone.now(), beats=F("beats") + 1
    )


@shared_task(name="metrics.reallocate", time_limit=3600, soft_time_limit=3500)
def reallocate() -> int:
    """Re-apply allocation rules to history (queued when a rule changes). Safe to re-run."""
    from metrics.services import ledger_reallocate

    return ledger_reallocate()
