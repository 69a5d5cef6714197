"""Answering questions asked in Slack: who asked, where to answer, and the one delivery.

Called from Celery tasks (the request handlers only record the request and acknowledge).
"""

from __future__ import annotations

from typing import Any

from bot import identity
from bot.blocks.answers import answer_blocks, answer_summary
from bot.models import Delivery, SlackEvent
from bot.services import Answer, answer_question
from bot.transport import RESPONSE_URL, deliver
from metrics.models import Team


def command_answer(*, slack_user_id: str, text: str, response_url: str, key: str) -> Delivery:
    """Answer a `/finops` command through its response_url (visible to the asker only).
    Safe to re-run: the delivery key is the command's trigger id."""
    answer = _answer(slack_user_id, text)
    payload = {
        "url": response_url,
        "response_type": "ephemeral",
        "replace_original": True,
        "text": answer_summary(answer),
        "blocks": answer_blocks(answer),
    }
    return deliver(method=RESPONSE_URL, payload=payload, key=f"command:{key}")


def event_answer(*, event_id: str) -> Delivery | None:
    """Answer a mention or a direct message recorded as a SlackEvent. Safe to re-run: one
    delivery per event id. In a channel, numbers are posted for everyone only in the
    channel of the team they belong to; elsewhere the asker alone sees them."""
    record = SlackEvent.objects.filter(event_id=event_id).first()
    if record is None:
        return None
    event: dict[str, Any] = record.payload.get("event", {})
    slack_user_id = str(event.get("user", ""))
    channel = str(event.get("channel", ""))
    answer = _answer(slack_user_id, str(event.get("text", "")))
    payload: dict[str, Any] = {
        "channel": channel,
        "text": answer_summary(answer),
        "blocks": answer_blocks(answer),
    }
    direct = event.get("channel_type") == "im"
    if direct:
        return deliver(method="chat.postMessage", payload=payload, key=f"event:{event_id}")
    payload["thread_ts"] = str(event.get("thread_ts") or event.get("ts") or "")
    if _public_in(channel, answer):
        return deliver(method="chat.postMessage", payload=payload, key=f"event:{event_id}")
    payload["user"] = slack_user_id
    return deliver(method="chat.postEphemeral", payload=payload, key=f"event:{event_id}")


def _answer(slack_user_id: str, text: str) -> Answer:
    user = identity.user_for_slack_id(slack_user_id)
    return answer_question(user=user, text=text, slack_user_id=slack_user_id)


def _public_in(channel: str, answer: Answer) -> bool:
    """Help and clarifications may be public; numbers only in their own team's channel."""
    if answer.kind in ("help", "clarify"):
        return True
    if answer.kind != "spend" or not answer.team_slugs:
        return False
    channels = set(
        Team.objects.filter(slug__in=answer.team_slugs).values_list("slack_channel_id", flat=True)
    )
    return channels == {channel}
