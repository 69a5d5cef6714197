"""Celery entry points for the bot. Thin: each calls one service. Tasks are safe to run
twice (every Slack call is keyed in `Delivery`), time-limited, and the periodic ones never
overlap (a lock in the shared cache)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from metrics.ledger.locks import job_lock

logger = logging.getLogger(__name__)

PERIODIC_LIMIT = 10 * 60


@contextmanager
def exclusive(name: str, seconds: int = PERIODIC_LIMIT + 60) -> Iterator[bool]:
    """Yield True when this run holds the lock `name`; another worker holding it makes this
    run a no-op. The project's job lock (`metrics.ledger.locks.job_lock`): it expires a minute
    after the task's time limit, so a killed worker frees it, and this run releases only its
    own token, never the lock of a run that took it over after it expired."""
    with job_lock(f"bot:{name}", seconds) as held:
        yield held


def queue_after_commit(task: Any, *args: Any) -> None:
    """Queue `task` once the current transaction commits. When the broker cannot take it,
    run it here instead: a slower answer beats a lost one (an event's id is already
    recorded, so Slack's retry would not bring it back)."""

    def send() -> None:
        try:
            task.delay(*args)
        except Exception:
            logger.exception("broker unavailable: running %s in this process", task.name)
            task.apply(args=args)

    transaction.on_commit(send)


def _periodic(name: str, job: Callable[[], object]) -> None:
    with exclusive(name) as held:
        if not held:
            logger.info("another worker runs %s: skipping this run", name)
            return
        logger.info("%s: %s", name, job())


@shared_task(name="bot.send_delivery", ignore_result=True, time_limit=120, soft_time_limit=100)
def send_delivery(delivery_id: int) -> None:
    from bot.transport import send_queued

    send_queued(delivery_id)


@shared_task(name="bot.answer_command", ignore_result=True, time_limit=120, soft_time_limit=100)
def answer_command(slack_user_id: str, text: str, response_url: str, trigger_id: str) -> None:
    from bot.replies import command_answer

    command_answer(
        slack_user_id=slack_user_id, text=text, response_url=response_url, key=trigger_id
    )


@shared_task(name="bot.answer_event", ignore_result=True, time_limit=120, soft_time_limit=100)
def answer_event(event_id: str) -> None:
    from bot.replies import event_answer

    event_answer(event_id=event_id)


@shared_task(name="bot.publish_home", ignore_result=True, time_limit=60, soft_time_limit=50)
def publish_home(slack_user_id: str) -> None:
    from bot.app_home import home_publish

    home_publish(slack_user_id=slack_user_id)


@shared_task(
    name="bot.refresh_alert_message", ignore_result=True, time_limit=60, soft_time_limit=50
)
def refresh_alert_message(alert_id: int, channel: str, ts: str) -> None:
    from bot.alerting import alert_message_refresh

    alert_message_refresh(alert_id=alert_id, channel=channel, ts=ts)


@shared_task(name="bot.report_action", ignore_result=True, time_limit=60, soft_time_limit=50)
def report_action(action_id: int) -> None:
    """A remediation action ran, was rejected or was measured: tell its Slack thread."""
    from bot.remediation import action_report

    action_report(action_id)


@shared_task(
    name="bot.post_actions",
    ignore_result=True,
    time_limit=PERIODIC_LIMIT,
    soft_time_limit=PERIODIC_LIMIT - 30,
)
def post_actions() -> None:
    from bot.remediation import actions_post

    _periodic("post_actions", actions_post)


@shared_task(
    name="bot.post_alerts",
    ignore_result=True,
    time_limit=PERIODIC_LIMIT,
    soft_time_limit=PERIODIC_LIMIT - 30,
)
def post_alerts() -> None:
    from bot.alerting import alerts_post

    _periodic("post_alerts", alerts_post)


@shared_task(
    name="bot.weekly_summaries",
    ignore_result=True,
    time_limit=PERIODIC_LIMIT,
    soft_time_limit=PERIODIC_LIMIT - 30,
)
def weekly_summaries() -> None:
    from bot.summaries import weekly_summaries_post

    _periodic("weekly_summaries", weekly_summaries_post)


@shared_task(
    name="bot.send_nudges",
    ignore_result=True,
    time_limit=PERIODIC_LIMIT,
    soft_time_limit=PERIODIC_LIMIT - 30,
)
def send_nudges() -> None:
    from bot.nudges import nudges_send

    _periodic("send_nudges", nudges_send)


@shared_task(
    name="bot.send_learning_nudges",
    ignore_result=True,
    time_limit=PERIODIC_LIMIT,
    soft_time_limit=PERIODIC_LIMIT - 30,
)
def send_learning_nudges() -> None:
    from bot.learning_nudges import learning_nudges_send

    _periodic("send_learning_nudges", learning_nudges_send)


EVENT_KEEP_DAYS = 7  # Slack stops retrying an event after about an hour
DELIVERY_KEEP_DAYS = 90


@shared_task(
    name="bot.prune",
    ignore_result=True,
    time_limit=PERIODIC_LIMIT,
    soft_time_limit=PERIODIC_LIMIT - 30,
)
def prune() -> None:
    """Forget old event ids and sent deliveries (failed ones stay for an operator)."""
    from datetime import timedelta

    from bot.models import Delivery, SlackEvent

    now = timezone.now()
    events, _ = SlackEvent.objects.filter(
        received_at__lt=now - timedelta(days=EVENT_KEEP_DAYS)
    ).delete()
    sent, _ = Delivery.objects.filter(
        status=Delivery.Status.SENT, updated_at__lt=now - timedelta(days=DELIVERY_KEEP_DAYS)
    ).delete()
    logger.info("pruned %d Slack event ids and %d sent deliveries", events, sent)
