"""How each provider pull went, per export kind (metrics.models.ConnectorStatus): the last
success, the last error, failures in a row, and the next scheduled run (from the beat
schedule). After CONNECTOR_ALERT_FAILURES failures in a row an organization alert (kind
`connector`) is raised once per failing streak; the bot posts it to SLACK_ALERTS_CHANNEL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from metrics.alerting.alerts import alerts_create_once
from metrics.ledger.providers import display_name
from metrics.models import Alert, ConnectorStatus

TASKS = {"openai": "metrics.pull_openai", "anthropic": "metrics.pull_anthropic"}


def record_success(source: str, kind: str, rows: int) -> None:
    ConnectorStatus.objects.update_or_create(
        source=source,
        kind=kind,
        defaults={"last_success_at": timezone.now(), "last_rows": rows, "failures": 0},
    )


def record_failure(source: str, kind: str, error: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        status, _ = ConnectorStatus.objects.get_or_create(source=source, kind=kind)
        ConnectorStatus.objects.filter(pk=status.pk).update(
            last_error=error[:2000], last_error_at=now, failures=F("failures") + 1
        )
        status.refresh_from_db()
    limit = int(settings.CONNECTOR_ALERT_FAILURES)
    if status.failures >= limit:
        streak_start = status.last_success_at.isoformat() if status.last_success_at else "never"
        name = display_name(source)
        alerts_create_once(
            alerts=[
                Alert(
                    kind=Alert.Kind.CONNECTOR,
                    dedupe_key=f"connector:{source}:{kind}:{streak_start}"[:300],
                    team=None,
                    subject=f"{source} {kind}"[:300],
                    day=now.date(),
                    title=(
                        f"The {name} {kind} pull failed {status.failures} times in a row: {error}"
                    )[:300],
                    details={
                        "source": source,
                        "kind": kind,
                        "failures": status.failures,
                        "last_error": error[:1000],
                        "last_success_at": status.last_success_at.isoformat()
                        if status.last_success_at
                        else None,
                    },
                )
            ]
        )


@dataclass(frozen=True)
class Connection:
    source: str
    kind: str
    last_success_at: datetime | None
    last_rows: int
    last_error: str
    last_error_at: datetime | None
    failures: int
    next_run: datetime | None


def next_run(source: str) -> datetime | None:
    """When beat runs this source's pull next: its last run plus its interval."""
    from django_celery_beat.models import PeriodicTask

    task = (
        PeriodicTask.objects.filter(task=TASKS.get(source, ""), enabled=True)
        .select_related("interval")
        .first()
    )
    if task is None or task.interval is None:
        return None
    every = timedelta(seconds=task.interval.every * _seconds(task.interval.period))
    return (task.last_run_at or timezone.now()) + every


def _seconds(period: str) -> int:
    return {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}.get(period, 1)


def connections() -> list[Connection]:
    """Every export kind seen so far, failing ones first."""
    nexts = {source: next_run(source) for source in TASKS}
    rows = ConnectorStatus.objects.order_by("-failures", "source", "kind")
    return [
        Connection(
            r.source,
            r.kind,
            r.last_success_at,
            r.last_rows,
            r.last_error,
            r.last_error_at,
            r.failures,
            nexts.get(r.source),
        )
        for r in rows
    ]
