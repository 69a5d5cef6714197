"""Alert and remediation-action cards: buttons, details, plain-text fallbacks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from bot.blocks.kit import (
    MAX_CONTEXT_ELEMENTS,
    MAX_FALLBACK_TEXT,
    MAX_FIELDS,
    Block,
    actions,
    bullet_lines,
    button,
    clip,
    context,
    esc,
    esc_mentions,
    fit,
    section,
    slack_date,
)

# --- Alerts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionCard:
    id: int
    label: str
    status: str
    approved_by: str = ""  # Slack mention or a name
    team: str = ""
    effect: str = ""  # the expected effect, one sentence
    dry_run: str = ""  # what the executor would send, one line
    policy: str = ""
    approvers: str = ""  # who may approve (mentions or names), when a policy names them
    result: str = ""  # after it ran: what happened (or why it failed)
    outcome: str = ""  # spend before and after
    portal_url: str = ""


def action_lines(a: ActionCard) -> list[str]:
    """The proposed action as mrkdwn lines (escaped; mentions kept)."""
    text = f"Proposed remediation: *{esc(a.label)}* ({a.status})"
    if a.approved_by:
        text += f", approved by {esc_mentions(a.approved_by)}"
    lines = [text]
    if a.effect:
        lines.append(f"Expected effect: {esc(a.effect)}")
    if a.dry_run:
        lines.append(f"Dry run: {esc(clip(a.dry_run, 400))}")
    if a.policy:
        who = f"; approval by {esc_mentions(a.approvers)}" if a.approvers else ""
        lines.append(f"Policy: {esc(a.policy)}{who}")
    if a.result:
        lines.append(f"Result: {esc(clip(a.result, 400))}")
    if a.outcome:
        lines.append(f"Outcome: {esc(a.outcome)}")
    return lines


def action_buttons(a: ActionCard) -> list[Block]:
    if a.status != "proposed":
        return []
    return [
        button(f"Approve: {a.label}", "action_approve", value=str(a.id), style="danger"),
        button("Reject", "action_reject", value=str(a.id)),
    ]


def action_blocks(a: ActionCard) -> list[Block]:
    """A proposed action's own message (one proposed without an alert, e.g. from a
    recommendation policy)."""
    blocks: list[Block] = [
        section(f":wrench: *{esc(a.label)}* for {esc(a.team)}"),
        section("\n".join(action_lines(a)[1:]) or "No details."),
        context(f"Status: *{a.status.capitalize()}*"),
    ]
    buttons = action_buttons(a)
    if a.portal_url:
        buttons.append(button("Open in the portal", "open_portal", url=a.portal_url))
    if buttons:
        blocks.append(actions(*buttons, block_id=f"action:{a.id}"))
    return fit(blocks)


def action_text(a: ActionCard) -> str:
    return clip(f"Proposed remediation: {a.label} for {a.team} ({a.status})", MAX_FALLBACK_TEXT)


@dataclass(frozen=True)
class AlertCard:
    id: int
    kind: str
    title: str
    team: str
    day: date
    status: str
    amount: str = ""
    snoozed_until: datetime | None = None
    history: tuple[str, ...] = ()
    action: ActionCard | None = None
    portal_url: str = ""
    breakdown: tuple[str, ...] = ()  # an anomaly's models, one line each


ALERT_ICONS = {
    "budget": ":moneybag:",
    "forecast": ":chart_with_upwards_trend:",
    "anomaly": ":rotating_light:",
}


def alert_blocks(card: AlertCard) -> list[Block]:
    icon = ALERT_ICONS.get(card.kind, ":bell:")
    lines = [f"{icon} *{esc(card.title)}*", f"{esc(card.team)} · {card.day.isoformat()}"]
    if card.amount:
        lines[-1] += f" · {esc(card.amount)}"
    status = card.status.capitalize()
    if card.status == "snoozed" and card.snoozed_until:
        status += f" until {slack_date(card.snoozed_until)}"
    blocks: list[Block] = [section("\n".join(lines))]
    if card.breakdown:
        blocks.append(section("*By model*\n" + bullet_lines([esc(b) for b in card.breakdown])))
    blocks.append(context(f"Status: *{status}*"))
    if card.action:
        blocks.append(section("\n".join(action_lines(card.action))))
    if card.history:
        blocks.append(context(*(esc_mentions(h) for h in card.history[-MAX_CONTEXT_ELEMENTS:])))
    buttons: list[Block] = []
    if card.status in ("open", "snoozed"):
        buttons.append(button("Acknowledge", "alert_ack", value=str(card.id), style="primary"))
        buttons.append(button("Snooze 1 day", "alert_snooze", value=str(card.id)))
    buttons.append(button("Show details", "alert_details", value=str(card.id)))
    if card.action:
        buttons.extend(action_buttons(card.action))
    if card.portal_url:
        buttons.append(button("Open in the portal", "open_portal", url=card.portal_url))
    blocks.append(actions(*buttons, block_id=f"alert:{card.id}"))
    return fit(blocks)


def alert_text(card: AlertCard) -> str:
    return clip(f"{card.title} ({card.team}, {card.status})", MAX_FALLBACK_TEXT)


def alert_details_blocks(card: AlertCard, fields: Sequence[tuple[str, str]]) -> list[Block]:
    """A readable card of an alert: labelled values (the API's fields, in words), the
    anomaly's model breakdown, and who did what."""
    shown = [f"*{esc(label)}*\n{esc_mentions(clip(value, 300))}" for label, value in fields]
    blocks: list[Block] = [section(f"*{esc(card.title)}*")]
    for i in range(0, len(shown), MAX_FIELDS):
        blocks.append(section(" ", fields=shown[i : i + MAX_FIELDS]))
    if not shown:
        blocks.append(section("No details recorded."))
    if card.breakdown:
        blocks.append(section("*By model*\n" + bullet_lines([esc(b) for b in card.breakdown])))
    if card.history:
        blocks.append(context(*(esc_mentions(h) for h in card.history[-MAX_CONTEXT_ELEMENTS:])))
    if card.portal_url:
        blocks.append(actions(button("Open in the portal", "open_portal", url=card.portal_url)))
    return fit(blocks)
