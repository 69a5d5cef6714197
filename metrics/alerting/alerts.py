"""Alert services shared by every entry point (Celery jobs, the REST API, Slack buttons).

Alerts are created once: `Alert.dedupe_key` is unique, and `alerts_create_once` treats a
unique-key conflict as "another worker got there first". Acknowledge and snooze lock the
row and check its status, so a double click or two workers change it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from metrics.models import VIEW_ALL_SPEND, Alert, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    AnyUser = User | AnonymousUser

KEY_BATCH = 500


def alerts_create_once(*, alerts: Sequence[Alert]) -> list[Alert]:
    """Insert the unsaved `alerts` whose `dedupe_key` does not exist yet; returns the rows this
    call inserted (fresh from the database, in input order).

    Keys that exist already are skipped, and so are keys another worker inserts at the same
    moment (INSERT ... ON CONFLICT DO NOTHING / INSERT OR IGNORE): "another worker got there
    first". Rows are inserted in key order, so two workers never wait on each other in a
    cycle. Each alert's `details["run"]` records the call that created it, which is how this
    call tells its own rows from a concurrent worker's.
    """
    if not alerts:
        return []
    existing: set[str] = set()
    keys = sorted({a.dedupe_key for a in alerts})
    for lo in range(0, len(keys), KEY_BATCH):
        existing.update(
            Alert.objects.filter(dedupe_key__in=keys[lo : lo + KEY_BATCH]).values_list(
                "dedupe_key", flat=True
            )
        )
    fresh = sorted((a for a in alerts if a.dedupe_key not in existing), key=lambda a: a.dedupe_key)
    if not fresh:
        return []
    run = uuid.uuid4().hex
    title_max = Alert._meta.get_field("title").max_length or 300
    for alert in fresh:
        alert.details = {**(alert.details or {}), "run": run}
        if len(alert.title) > title_max:  # long team, model or application names
            alert.title = alert.title[: title_max - 1] + "…"
    Alert.objects.bulk_create(fresh, batch_size=KEY_BATCH, ignore_conflicts=True)
    mine: dict[str, Alert] = {}
    fresh_keys = [a.dedupe_key for a in fresh]
    for lo in range(0, len(fresh_keys), KEY_BATCH):
        for row in Alert.objects.filter(dedupe_key__in=fresh_keys[lo : lo + KEY_BATCH]):
            if isinstance(row.details, dict) and row.details.get("run") == run:
                mine[row.dedupe_key] = row
    return [mine.pop(a.dedupe_key) for a in alerts if a.dedupe_key in mine]


def _check_can_see(alert: Alert, user: AnyUser) -> None:
    if not user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    if alert.team_id is None:
        if not user.has_perm(VIEW_ALL_SPEND):
            raise PermissionDenied("Only FinOps admins handle organization-wide alerts.")
        return
    if not Team.objects.visible_to(user).filter(pk=alert.team_id).exists():
        raise PermissionDenied("You may not handle that team's alerts.")


def _event(action: str, user: AnyUser, at: datetime, **extra: Any) -> dict[str, Any]:
    return {"action": action, "user": user.pk, "at": at.isoformat(), **extra}


def alert_acknowledge(*, alert: Alert, user: AnyUser) -> Alert:
    """Mark an open or snoozed alert acknowledged by `user` (who must see its team).

    Safe to repeat: an alert already acknowledged (or resolved) is returned unchanged, and
    two simultaneous clicks record one acknowledgement. Returns the fresh row.
    """
    _check_can_see(alert, user)
    now = timezone.now()
    with transaction.atomic():
        row = Alert.objects.select_for_update().get(pk=alert.pk)
        if row.status in (Alert.Status.OPEN, Alert.Status.SNOOZED):
            row.status = Alert.Status.ACKNOWLEDGED
            row.acknowledged_by_id = user.pk
            row.acknowledged_at = now
            row.snoozed_until = None
            row.details = _with_event(row, _event("ack", user, now))
            row.save(
                update_fields=[
                    "status",
                    "acknowledged_by",
                    "acknowledged_at",
                    "snoozed_until",
                    "details",
                ]
            )
    return row


def alert_snooze(*, alert: Alert, user: AnyUser, until: datetime) -> Alert:
    """Silence an open or snoozed alert until `until` (aware, in the future). While snoozed,
    anomalies of the same team/model/currency are not raised again either. Acknowledged or
    resolved alerts are returned unchanged. Returns the fresh row."""
    _check_can_see(alert, user)
    now = timezone.now()
    if timezone.is_naive(until):
        raise ValidationError("Snooze until needs a time zone.")
    if until <= now:
        raise ValidationError("Snooze until must be in the future.")
    with transaction.atomic():
        row = Alert.objects.select_for_update().get(pk=alert.pk)
        if row.status in (Alert.Status.OPEN, Alert.Status.SNOOZED):
            row.status = Alert.Status.SNOOZED
            row.snoozed_until = until
            row.details = _with_event(row, _event("snooze", user, now, until=until.isoformat()))
            row.save(update_fields=["status", "snoozed_until", "details"])
    return row


def alerts_wake_snoozed(*, now: datetime | None = None) -> int:
    """Reopen snoozed alerts whose snooze has ended; returns how many. Each gets a "woke"
    event in its audit trail (the bot then updates its Slack message and tells the team).
    Safe to re-run and to overlap: each row is reopened under a row lock, once."""
    now = now or timezone.now()
    woken = 0
    due = Alert.objects.filter(status=Alert.Status.SNOOZED, snoozed_until__lte=now)
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            row = Alert.objects.select_for_update().filter(pk=pk).first()
            if (
                row is None
                or row.status != Alert.Status.SNOOZED
                or row.snoozed_until is None
                or row.snoozed_until > now
            ):
                continue
            event = {
                "action": "woke",
                "user": None,
                "at": now.isoformat(),
                "snoozed_until": row.snoozed_until.isoformat(),
            }
            row.status = Alert.Status.OPEN
            row.snoozed_until = None
            row.details = _with_event(row, event)
            row.save(update_fields=["status", "snoozed_until", "details"])
            woken += 1
    return woken


def last_wake(alert: Alert) -> dict[str, Any] | None:
    """The alert's latest "woke" event when it is the latest event (not acted on since)."""
    events = (alert.details or {}).get("events") if isinstance(alert.details, dict) else None
    if not isinstance(events, list) or not events:
        return None
    last = events[-1]
    return last if isinstance(last, dict) and last.get("action") == "woke" else None


def _with_event(alert: Alert, event: dict[str, Any]) -> dict[str, Any]:
    """The alert's details with `event` appended to its audit trail ("events")."""
    details = dict(alert.details) if isinstance(alert.details, dict) else {}
    events = details.get("events")
    details["events"] = [*(events if isinstance(events, list) else []), event]
    return details
