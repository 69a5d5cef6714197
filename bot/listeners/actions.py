"""Buttons on alerts and nudges. Each click is acknowledged at once; the state change is a
short database update (metrics' services check who may do it), and the message is redrawn
by a worker."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App

from bot.alerting import alert_click, approve_click
from bot.clicks import Click
from bot.nudges import nudge_click
from bot.remediation import reject_click

logger = logging.getLogger(__name__)

ALERT_ACTIONS = {"alert_ack": "ack", "alert_snooze": "snooze", "alert_details": "details"}
NUDGE_ACTIONS = ("nudge_snooze_day", "nudge_snooze_week", "nudge_mute", "nudge_unmute")


def register(app: App) -> None:
    for action_id in ALERT_ACTIONS:
        app.action(action_id)(on_alert_button)
    app.action("action_approve")(on_approve_button)
    app.action("action_reject")(on_reject_button)
    for action_id in NUDGE_ACTIONS:
        app.action(action_id)(on_nudge_button)
    app.action("open_portal")(on_link_button)


def _id(action: dict[str, Any]) -> int | None:
    try:
        return int(str(action.get("value", "")))
    except ValueError:
        logger.warning(
            "button %s with a bad value %r", action.get("action_id"), action.get("value")
        )
        return None


def on_alert_button(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
    ack()
    alert_id = _id(action)
    if alert_id is not None:
        alert_click(
            action=ALERT_ACTIONS[action["action_id"]],
            alert_id=alert_id,
            click=Click.from_body(body),
        )


def on_approve_button(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
    ack()
    action_id = _id(action)
    if action_id is not None:
        approve_click(action_id=action_id, click=Click.from_body(body))


def on_reject_button(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
    ack()
    action_id = _id(action)
    if action_id is not None:
        reject_click(action_id=action_id, click=Click.from_body(body))


def on_nudge_button(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
    ack()
    nudge_id = _id(action)
    if nudge_id is not None:
        nudge_click(action=action["action_id"], nudge_id=nudge_id, click=Click.from_body(body))


def on_link_button(ack: Ack) -> None:
    ack()  # link buttons open the URL in the browser; Slack still tells us about the click
