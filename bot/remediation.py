"""The Run stage in Slack: proposed remediation actions, their approval and rejection, and
what happened afterwards, told in the message's thread.

- An action proposed on an alert lives in the alert's message (bot.alerting.alert_card).
  One proposed without an alert (a recommendation policy) gets its own message in its
  team's channel (`actions_post`).
- After it ran, the thread of that message gets the result (done, or why it failed: e.g.
  the executor is not configured) and, days later, the outcome (spend before and after).
  Each reply is a `Delivery` keyed by action, so telling twice is a no-op.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from bot import identity
from bot.blocks.alert_cards import ActionCard, action_blocks, action_text
from bot.clicks import Click, tell
from bot.models import Delivery, Interaction
from bot.transport import deliver
from metrics.advice.remediation import action_label, action_reject, executor_unavailable
from metrics.models import Alert, RemediationAction
from metrics.money import format_money

logger = logging.getLogger(__name__)

POST_WINDOW = timedelta(days=7)  # proposals older than this are not announced late


def _who(user: Any) -> str:
    slack_id = identity.slack_id_of(user)
    return f"<@{slack_id}>" if slack_id else user.get_username()


def _dry_run_line(preview: dict[str, Any] | None) -> str:
    if not preview:
        return ""
    if preview.get("error"):
        return f"cannot run: {preview['error']}"
    line = f"{preview.get('method', 'POST')} {preview.get('url') or '(no URL configured)'}"
    body = preview.get("body")
    if isinstance(body, dict):
        shown = {k: v for k, v in body.items() if k not in ("metadata", "approved_at")}
        line += f" {shown}"
    return line


def result_line(action: RemediationAction) -> str:
    result = action.result if isinstance(action.result, dict) else {}
    if action.status == RemediationAction.Status.SUCCEEDED:
        code = result.get("status_code")
        return f"done by the {action.executor} executor" + (f" (HTTP {code})" if code else "")
    if action.status == RemediationAction.Status.FAILED:
        why = result.get("error") or (
            f"the receiver answered HTTP {result['status_code']}"
            if result.get("status_code")
            else "unknown error"
        )
        return f"failed: {why}"
    if action.status == RemediationAction.Status.REJECTED:
        reason = result.get("reason") or "no reason given"
        return f"rejected by {result.get('rejected_by', 'someone')}: {reason}"
    return ""


def outcome_line(action: RemediationAction) -> str:
    outcome = action.outcome if isinstance(action.outcome, dict) else None
    if not outcome:
        return ""
    days = outcome.get("days", 7)
    parts = []
    for currency in sorted(outcome.get("before", {})):
        before = Decimal(outcome["before"][currency])
        after = Decimal(outcome.get("after", {}).get(currency, "0"))
        change = after - before
        pct = f" ({change / before * 100:+.1f}%)" if before else ""
        parts.append(
            f"{format_money(before, currency)} in the {days} days before, "
            f"{format_money(after, currency)} in the {days} days after{pct}"
        )
    return "; ".join(parts) or "no spend in the scope before or after"


def action_card(action: RemediationAction) -> ActionCard:
    effect = action.expected_effect if isinstance(action.expected_effect, dict) else {}
    summary = str(effect.get("summary") or "")
    if effect.get("monthly_saving") not in (None, "") and not summary:
        saving = format_money(Decimal(effect["monthly_saving"]), effect.get("currency", "USD"))
        summary = f"saves about {saving} a month"
    approvers = ""
    policy = action.policy
    if policy is not None:
        approvers = ", ".join(_who(u) for u in policy.approvers.all().order_by("pk"))
    return ActionCard(
        id=action.pk,
        label=action_label(action),
        status=action.status,
        approved_by=_who(action.approved_by) if action.approved_by else "",
        team=action.team.name,
        effect=summary,
        dry_run=_dry_run_line(action.dry_run_result),
        policy=policy.name if policy else "",
        approvers=approvers,
        result=result_line(action),
        outcome=outcome_line(action),
        portal_url=f"{settings.SITE_URL.rstrip('/')}/remediation/{action.pk}/",
    )


def action_thread(action: RemediationAction) -> tuple[str, str]:
    """(channel, ts) of the message the action lives in, or ("", "")."""
    alert = action.alert
    if alert is not None and alert.slack_ts:
        return alert.slack_channel, alert.slack_ts
    return action.slack_channel, action.slack_ts


def _channel(action: RemediationAction) -> str:
    if action.team.slack_channel_id:
        return action.team.slack_channel_id
    return str(getattr(settings, "SLACK_ALERTS_CHANNEL", ""))


def _load(action_id: int) -> RemediationAction | None:
    return (
        RemediationAction.objects.filter(pk=action_id)
        .select_related("team", "alert", "policy", "approved_by")
        .first()
    )


def actions_post(*, now: datetime | None = None) -> int:
    """Post proposed actions that have no message to live in (no alert, or an alert that is
    not in Slack) to their team's channel; then report what finished. Safe to re-run."""
    now = now or timezone.now()
    posted = 0
    pending = RemediationAction.objects.filter(
        status=RemediationAction.Status.PROPOSED,
        slack_ts="",
        proposed_at__gte=now - POST_WINDOW,
    ).select_related("team", "alert", "policy", "approved_by")
    for action in pending.order_by("proposed_at"):
        if action.alert is not None and (
            action.alert.slack_ts or action.alert.status == Alert.Status.OPEN
        ):
            continue  # shown in (or soon posted with) its alert's message
        channel = _channel(action)
        if not channel:
            continue
        card = action_card(action)
        delivery = deliver(
            method="chat.postMessage",
            payload={"channel": channel, "text": action_text(card), "blocks": action_blocks(card)},
            key=f"action:{action.pk}",
        )
        if delivery.status == Delivery.Status.SENT and delivery.ts:
            RemediationAction.objects.filter(pk=action.pk, slack_ts="").update(
                slack_channel=delivery.channel, slack_ts=delivery.ts
            )
            posted += 1
    finished = RemediationAction.objects.filter(
        status__in=[RemediationAction.Status.SUCCEEDED, RemediationAction.Status.FAILED],
        executed_at__gte=now - POST_WINDOW,
    ).values_list("pk", flat=True)
    for action_id in finished:
        action_report(action_id)
    return posted


def action_report(action_id: int) -> None:
    """Tell the action's thread what happened (once per result and once per outcome) and
    redraw its message."""
    action = _load(action_id)
    if action is None:
        return
    channel, ts = action_thread(action)
    if not channel or not ts:
        return
    if action.status in (RemediationAction.Status.SUCCEEDED, RemediationAction.Status.FAILED):
        icon = (
            ":white_check_mark:" if action.status == RemediationAction.Status.SUCCEEDED else ":x:"
        )
        approved = f", approved by {_who(action.approved_by)}" if action.approved_by else ""
        deliver(
            method="chat.postMessage",
            payload={
                "channel": channel,
                "thread_ts": ts,
                "text": f"{icon} {action_label(action)}{approved}: {result_line(action)}",
            },
            key=f"action-result:{action.pk}",
        )
    if action.outcome:
        deliver(
            method="chat.postMessage",
            payload={
                "channel": channel,
                "thread_ts": ts,
                "text": f":bar_chart: Effect of {action_label(action)}: {outcome_line(action)}",
            },
            key=f"action-outcome:{action.pk}",
        )
    refresh_message(action)


def refresh_message(action: RemediationAction) -> None:
    from bot.alerting import alert_message_refresh

    if action.alert is not None and action.alert.slack_ts:
        alert_message_refresh(
            alert_id=action.alert.pk, channel=action.alert.slack_channel, ts=action.alert.slack_ts
        )
    elif action.slack_ts:
        card = action_card(action)
        deliver(
            method="chat.update",
            payload={
                "channel": action.slack_channel,
                "ts": action.slack_ts,
                "text": action_text(card),
                "blocks": action_blocks(card),
            },
        )


def tell_if_cannot_run(action: RemediationAction, click: Click) -> None:
    """After an approval: say at once why it cannot run, when its executor is not set up."""
    reason = executor_unavailable(action.executor)
    if reason:
        tell(
            click,
            f"Approved, but it could not run: {reason}. Ask a FinOps admin to configure the "
            "executor; the action is marked failed, with the reason, in the portal.",
        )


def reject_click(*, action_id: int, click: Click) -> bool:
    """Reject a proposed action (the same people as approving)."""
    from bot.alerting import ACTION_UNAVAILABLE, _can_see_team  # alerting imports this module

    user = identity.user_for_slack_id(click.slack_user_id)
    if user is None:
        tell(click, "I can't match your Slack account to anyone in the AI FinOps portal.")
        return False
    action = _load(action_id)
    if action is None or not _can_see_team(user, action.team_id):
        tell(click, ACTION_UNAVAILABLE)  # another team's action answers like a missing one
        return False
    target = f"alert:{action.alert_id}" if action.alert_id else f"action:{action.pk}"
    try:
        action_reject(action=action, user=user, reason="rejected in Slack")
    except PermissionDenied:
        Interaction.objects.create(
            action="reject",
            target=target,
            slack_user_id=click.slack_user_id,
            user=user,
            allowed=False,
            detail="not allowed",
        )
        tell(click, "Sorry, only the people who may approve this action can reject it.")
        return False
    except ValidationError as exc:
        tell(click, " ".join(exc.messages))
        return False
    Interaction.objects.create(
        action="reject",
        target=target,
        slack_user_id=click.slack_user_id,
        user=user,
        allowed=True,
        detail=action_label(action)[:300],
    )
    from bot.tasks import queue_after_commit, report_action

    queue_after_commit(report_action, action.pk)
    return True
