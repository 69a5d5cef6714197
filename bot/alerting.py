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

from bot import identity
from bot.blocks.alert_cards import AlertCard, alert_blocks, alert_details_blocks, alert_text
from bot.blocks.kit import slack_date
from bot.clicks import Click, tell
from bot.models import Delivery, Interaction
from bot.remediation import action_card, action_label, refresh_message, tell_if_cannot_run
from bot.transport import deliver
from metrics.advice.remediation import action_approve
from metrics.alerting.alerts import alert_acknowledge, alert_snooze, last_wake
from metrics.models import VIEW_ALL_SPEND, Alert, RemediationAction, Team
from metrics.money import format_money

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

SNOOZE = timedelta(days=1)
POST_WINDOW = timedelta(days=2)  # alerts older than this are not announced late
VERBS = {
    "ack": "Acknowledged",
    "snooze": "Snoozed for a day",
    "approve": "Approved",
    "reject": "Rejected",
}


def alert_card(alert: Alert) -> AlertCard:
    """Everything the alert message shows, read fresh from the database."""
    action = (
        RemediationAction.objects.filter(alert=alert)
        .exclude(status=RemediationAction.Status.REJECTED)
        .select_related("approved_by", "team", "policy")
        .order_by("-proposed_at")
        .first()
    )
    history = []
    for i in Interaction.objects.filter(target=f"alert:{alert.pk}", allowed=True):
        verb = VERBS.get(i.action, i.action)
        if i.detail:
            verb += f" {i.detail}"
        history.append(f"{verb} by <@{i.slack_user_id}> at {slack_date(i.created_at)}")
    card_of_action = action_card(action) if action is not None else None
    amount = ""
    if alert.amount is not None:
        amount = format_money(alert.amount, alert.currency or "USD")
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
        action=card_of_action,
        portal_url=f"{settings.SITE_URL.rstrip('/')}/dashboard/?{urlencode(query)}",
    )


def alert_fields(alert: Alert) -> list[tuple[str, str]]:
    """The alert's fields as the API gives them (GET /api/v1/alerts/<id>/), with words for
    labels, money in one format, times in the reader's zone; empty and internal ones left
    out (the worker's run id, the audit trail: the history shows it)."""
    currency = alert.currency or "USD"
    d = alert.details if isinstance(alert.details, dict) else {}
    fields: list[tuple[str, str]] = [
        ("Kind", alert.get_kind_display()),
        ("Team", alert.team.name if alert.team else "Whole organization"),
        ("Day", alert.day.isoformat()),
        ("Status", alert.get_status_display()),
    ]
    if alert.amount is not None:
        fields.append(("Amount", format_money(alert.amount, currency)))
    if alert.subject:
        label = "Model" if alert.kind == Alert.Kind.ANOMALY else "Application"
        fields.append(
            (
                label,
                readable_application(alert.subject) if label == "Application" else alert.subject,
            )
        )
    if alert.kind == Alert.Kind.BUDGET:
        if "spent" in d and "budget" in d:
            fields.append(
                (
                    "Spent of budget",
                    f"{format_money(d['spent'], currency)} of "
                    f"{format_money(d['budget'], currency)}",
                )
            )
        if "percent" in d:
            fields.append(("Share of the budget", f"{d['percent']}%"))
        if "threshold" in d:
            fields.append(("Threshold", f"{d['threshold']}%"))
        if d.get("superseded_by"):
            fields.append(("Superseded by", f"the {d['superseded_by']}% threshold"))
    elif alert.kind == Alert.Kind.FORECAST:
        if "expected" in d:
            fields.append(("Expected month end", format_money(d["expected"], currency)))
        if "low" in d and "high" in d:
            fields.append(
                (
                    "Range",
                    f"{format_money(d['low'], currency)} to {format_money(d['high'], currency)}",
                )
            )
        if "budget" in d:
            fields.append(("Budget", format_money(d["budget"], currency)))
        if "month_to_date" in d:
            fields.append(("Month to date", format_money(d["month_to_date"], currency)))
        if "days_observed" in d:
            fields.append(
                (
                    "Days observed / remaining",
                    f"{d['days_observed']} / {d.get('days_remaining', '?')}",
                )
            )
    elif alert.kind == Alert.Kind.ANOMALY:
        if d.get("median_7d") is not None:
            fields.append(("7-day median", format_money(d["median_7d"], currency)))
        if d.get("median_28d") is not None:
            fields.append(("28-day median", format_money(d["median_28d"], currency)))
        z = d.get("zscore")
        fields.append(
            (
                "Robust z-score",
                f"{z:.1f}" if isinstance(z, (int, float)) else "above any spread (flat history)",
            )
        )
        if "history_days" in d:
            fields.append(("Days of history", str(d["history_days"])))
        rule = d.get("rule") if isinstance(d.get("rule"), dict) else None
        if rule:
            fields.append(
                (
                    "Rule",
                    f"over {rule.get('multiplier')}x the 7-day median, at least "
                    f"{format_money(rule.get('min_amount', 0), currency)}, "
                    f"z-score over {rule.get('zscore')}",
                )
            )
    if d.get("period"):
        fields.append(("Period", str(d["period"])))
    if alert.snoozed_until:
        fields.append(("Snoozed until", slack_date(alert.snoozed_until)))
    if alert.acknowledged_at:
        who = alert.acknowledged_by.get_username() if alert.acknowledged_by else "someone"
        fields.append(("Acknowledged", f"by {who} at {slack_date(alert.acknowledged_at)}"))
    fields.append(("Raised", slack_date(alert.created_at)))
    return fields


def readable_application(key: str) -> str:
    from metrics.queries import readable_name, readable_names

    return readable_name(key, readable_names([key]))


def breakdown_lines(alert: Alert) -> tuple[str, ...]:
    """An anomaly's models: spend that day against the 7-day median, the ones that broke the
    rule marked."""
    rows = (alert.details or {}).get("breakdown") or []
    currency = alert.currency or "USD"
    lines = []
    for row in rows:
        if not isinstance(row, dict) or "model" not in row or "cost" not in row:
            continue
        line = f"{row['model']}: {format_money(row['cost'], currency)}"
        median = row.get("median_7d")
        if row.get("ratio") is not None and median is not None:
            line += f", {row['ratio']}x its 7-day median ({format_money(median, currency)})"
        elif median == 0:
            line += ", new (nothing in the 7 days before)"
        if row.get("anomalous"):
            line += " (anomalous)"
        lines.append(line)
    return tuple(lines)


def _action_label(action: RemediationAction) -> str:
    return action_label(action)


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
    return posted + alerts_announce_woken(now=now)


def alerts_announce_woken(*, now: datetime | None = None) -> int:
    """Alerts whose snooze ended (metrics.alerting.alerts.alerts_wake_snoozed): redraw the message
    (no more "Snoozed until") and tell the team in the thread, shown in the channel too.
    Once per wake (the reply is keyed by the wake time). Returns how many were told."""
    now = now or timezone.now()
    told = 0
    woken = Alert.objects.filter(
        status=Alert.Status.OPEN,
        created_at__gte=now - timedelta(days=60),
    ).exclude(slack_ts="")
    for alert in woken.select_related("team"):
        wake = last_wake(alert)
        if wake is None:
            continue
        key = f"alert-woke:{alert.pk}:{wake.get('at', '')}"
        if Delivery.objects.filter(key=key, status=Delivery.Status.SENT).exists():
            continue
        alert_message_refresh(alert_id=alert.pk, channel=alert.slack_channel, ts=alert.slack_ts)
        card = alert_card(alert)
        reply = deliver(
            method="chat.postMessage",
            payload={
                "channel": alert.slack_channel,
                "thread_ts": alert.slack_ts,
                "reply_broadcast": True,
                "text": f":alarm_clock: The snooze is over: this alert is open again. "
                f"{alert_text(card)}",
            },
            key=key,
        )
        told += reply.status == Delivery.Status.SENT
    return told


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
    user = identity.user_for_slack_id(click.slack_user_id)
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
            tell(click, alert.title, alert_details_blocks(alert_card(alert), alert_fields(alert)))
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
    user = identity.user_for_slack_id(click.slack_user_id)
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
    tell_if_cannot_run(action, click)
    if action.alert_id:
        _refresh_later(action.alert_id, click)
    else:
        action.refresh_from_db()
        refresh_message(action)
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
