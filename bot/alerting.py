"""Budget, forecast and anomaly alerts in Slack: posting them with buttons, and what the
buttons do. The state changes are metrics' services (alert_acknowledge, alert_snooze,
action_approve, which check permissions); this module records who clicked and refreshes the
message so everyone in the channel sees who did what."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from bot import people
from bot.blocks import ActionCard, AlertCard, alert_blocks, alert_details_blocks, alert_text, money
from bot.clicks import Click, tell
from bot.models import Delivery, Interaction
from bot.transport import deliver
from metrics.alerts import alert_acknowledge, alert_snooze
from metrics.models import VIEW_ALL_SPEND, Alert, RemediationAction, Team
from metrics.remediation import action_approve

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

SNOOZE = timedelta(days=1)
POST_WINDOW = timedelta(days=2)  # alerts older than this are not announced late
VERBS = {"ack": "Acknowledged", "snooze": "Snoozed for a day", "approve": "Approved"}


def alert_card(alert: Alert) -> AlertCard:
    """Everything the alert message shows, read fresh from the database."""
    action = (
        RemediationAction.objects.filter(alert=alert)
        .exclude(status=RemediationAction.Status.REJECTED)
        .select_related("approved_by")
        .order_by("-proposed_at")
        .first()
    )
    history = []
    for i in Interaction.objects.filter(target=f"alert:{alert.pk}", allowed=True):
        verb = VERBS.get(i.action, i.action)
        if i.detail:
            verb += f" {i.detail}"
        history.append(f"{verb} by <@{i.slack_user_id}> at {i.created_at:%Y-%m-%d %H:%M} UTC")
    action_card = None
    if action is not None:
        approver = ""
        if action.approved_by is not None:
            slack_id = people.slack_id_of(action.approved_by)
            approver = f"<@{slack_id}>" if slack_id else action.approved_by.get_username()
        action_card = ActionCard(
            id=action.pk,
            label=_action_label(action),
            status=action.status,
            approved_by=approver,
        )
    amount = ""
    if alert.amount is not None:
        amount = money(alert.amount, alert.currency or "USD")
    team_name = alert.team.name if alert.team else "Whole organization"
    query = {"team": alert.team.slug} if alert.team else {}
    return AlertCard(
        breakdown=breakdown_lines(alert),
        id=alert.pk,
        kind=alert.kind,
        title=alert.title,
        team=team_name,
        day=alert.day,
        status=alert.status,
        amount=amount,
        snoozed_until=alert.snoozed_until,
        history=tuple(history),
        action=action_card,
        portal_url=f"{settings.SITE_URL.rstrip('/')}/dashboard/?{urlencode(query)}",
    )


def breakdown_lines(alert: Alert) -> tuple[str, ...]:
    """An anomaly's models: spend that day against the 7-day median, the ones that broke the
    rule marked."""
    rows = (alert.details or {}).get("breakdown") or []
    currency = alert.currency or "USD"
    lines = []
    for row in rows:
        if not isinstance(row, dict) or "model" not in row or "cost" not in row:
            continue
        line = f"{row['model']}: {money(row['cost'], currency)}"
        median = row.get("median_7d")
        if row.get("ratio") is not None and median is not None:
            line += f", {row['ratio']}x its 7-day median ({money(median, currency)})"
        elif median == 0:
            line += ", new (nothing in the 7 days before)"
        if row.get("anomalous"):
            line += " (anomalous)"
        lines.append(line)
    return tuple(lines)


def _action_label(action: RemediationAction) -> str:
    params = action.params if isinstance(action.params, dict) else {}
    target = params.get("application_key") or params.get("pool") or ""
    label = action.get_kind_display()
    return f"{label} ({target})" if target else label


def alert_channel(alert: Alert) -> str:
    if alert.team is not None and alert.team.slack_channel_id:
        return alert.team.slack_channel_id
    return str(getattr(settings, "SLACK_ALERTS_CHANNEL", ""))


def alerts_post(*, now: datetime | None = None) -> int:
    """Post open alerts that are not in Slack yet to their team's channel; returns how many
    were posted. Safe to re-run and on several workers: one delivery per alert."""
    now = now or timezone.now()
    posted = 0
    pending = Alert.objects.filter(
        status=Alert.Status.OPEN, slack_ts="", created_at__gte=now - POST_WINDOW
    ).select_related("team")
    for alert in pending.order_by("created_at"):
        channel = alert_channel(alert)
        if not channel:
            continue
        card = alert_card(alert)
        delivery = deliver(
            method="chat.postMessage",
            payload={"channel": channel, "text": alert_text(card), "blocks": alert_blocks(card)},
            key=f"alert:{alert.pk}",
        )
        if delivery.status == Delivery.Status.SENT and delivery.ts:
            Alert.objects.filter(pk=alert.pk, slack_ts="").update(
                slack_channel=delivery.channel, slack_ts=delivery.ts
            )
            posted += 1
    return posted


def alert_message_refresh(*, alert_id: int, channel: str, ts: str) -> Delivery | None:
    """Redraw an alert message from the database (chat.update)."""
    alert = Alert.objects.filter(pk=alert_id).select_related("team").first()
    if alert is None or not channel or not ts:
        return None
    card = alert_card(alert)
    payload = {"channel": channel, "ts": ts, "text": alert_text(card), "blocks": alert_blocks(card)}
    return deliver(method="chat.update", payload=payload)


# One answer for "does not exist" and "not yours to see", so clicks cannot probe for ids.
ALERT_UNAVAILABLE = "This alert doesn't exist, or it isn't one you can see."
ACTION_UNAVAILABLE = "This action doesn't exist, or it isn't one you can see."


def alert_click(*, action: str, alert_id: int, click: Click) -> bool:
    """Acknowledge, snooze or show an alert for the clicking person. Returns whether it was
    allowed. Refusals and details go to the clicker alone; a change redraws the message."""
    target = f"alert:{alert_id}"
    user = people.user_for_slack_id(click.slack_user_id)
    if user is None:
        _record(action, target, click, None, allowed=False, detail="unknown Slack user")
        tell(click, "I can't match your Slack account to anyone in the AI FinOps portal.")
        return False
    alert = Alert.objects.filter(pk=alert_id).select_related("team").first()
    if alert is None or not _can_see(user, alert):
        # Another team's alert answers exactly like a missing one: ids reveal nothing.
        _record(action, target, click, user, allowed=False, detail="missing or not visible")
        tell(click, ALERT_UNAVAILABLE)
        return False
    try:
        if action == "details":
            tell(
                click,
                alert.title,
                alert_details_blocks(alert_card(alert), alert.details or {}),
            )
            return True
        before = alert.status
        if action == "ack":
            after = alert_acknowledge(alert=alert, user=user)
        elif action == "snooze":
            after = alert_snooze(alert=alert, user=user, until=timezone.now() + SNOOZE)
        else:
            raise ValueError(f"unknown alert action {action!r}")
    except PermissionDenied as exc:
        _record(action, target, click, user, allowed=False, detail=str(exc))
        tell(click, f"Sorry, you can't do that: {exc}")
        return False
    if before not in (Alert.Status.OPEN, Alert.Status.SNOOZED):
        tell(click, f"This alert is already {after.get_status_display().lower()}.")
        return True
    _record(action, target, click, user, allowed=True)
    _refresh_later(alert.pk, click)
    return True


def approve_click(*, action_id: int, click: Click) -> bool:
    """Approve a proposed remediation action. Only people allowed to approve can (metrics'
    rule: the approve permission, or a lead of the action's team); others are told so
    privately, and nothing changes."""
    user = people.user_for_slack_id(click.slack_user_id)
    if user is None:
        _record("approve", f"action:{action_id}", click, None, allowed=False, detail="unknown")
        tell(click, "I can't match your Slack account to anyone in the AI FinOps portal.")
        return False
    action = RemediationAction.objects.filter(pk=action_id).select_related("team").first()
    if action is None or not _can_see_team(user, action.team_id):
        _record("approve", f"action:{action_id}", click, user, allowed=False, detail="missing")
        tell(click, ACTION_UNAVAILABLE)
        return False
    target = f"alert:{action.alert_id}" if action.alert_id else f"action:{action.pk}"
    try:
        action_approve(action=action, user=user)
    except PermissionDenied:
        _record("approve", target, click, user, allowed=False, detail="not allowed")
        tell(
            click,
            "Sorry, only FinOps admins and the team's leads can approve remediation actions.",
        )
        return False
    except ValidationError as exc:
        tell(click, " ".join(exc.messages))
        return False
    _record("approve", target, click, user, allowed=True, detail=_action_label(action))
    if action.alert_id:
        _refresh_later(action.alert_id, click)
    return True


def _can_see(user: User, alert: Alert) -> bool:
    return _can_see_team(user, alert.team_id)


def _can_see_team(user: User, team_id: int | None) -> bool:
    """Org-wide objects (no team) are for those who see all spend; others for the team's."""
    if user.has_perm(VIEW_ALL_SPEND):
        return True
    return team_id is not None and Team.objects.visible_to(user).filter(pk=team_id).exists()


def _record(
    action: str, target: str, click: Click, user: User | None, *, allowed: bool, detail: str = ""
) -> None:
    Interaction.objects.create(
        action=action,
        target=target,
        slack_user_id=click.slack_user_id,
        user=user,
        allowed=allowed,
        detail=detail[:300],
    )


def _refresh_later(alert_id: int, click: Click) -> None:
    from bot.tasks import queue_after_commit, refresh_alert_message

    if click.channel and click.ts:
        queue_after_commit(refresh_alert_message, alert_id, click.channel, click.ts)
