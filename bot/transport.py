"""Talking to Slack's Web API: one client factory, and `deliver`, which records every call.

The base URL comes from SLACK_API_BASE_URL, so tests (and a laptop) run against a local fake.
Slack answers 429 with Retry-After when we go too fast; the slack_sdk retry handlers wait
that long and try again. What still fails is stored on the `Delivery` row as failed, with the
error, so nothing is lost silently and an operator can see (and replay) it.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from bot.models import Delivery

logger = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 3
MAX_DELIVERY_ATTEMPTS = 3
RESPONSE_URL = "response_url"  # the `method` of a reply posted to a slash command's URL


class DeliveryError(Exception):
    pass


def retry_handlers() -> list[RetryHandler]:
    return [
        RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ConnectionErrorRetryHandler(max_retry_count=2),
        ServerErrorRetryHandler(max_retry_count=2),
    ]


def web_client(token: str | None = None, *, logger: logging.Logger | None = None) -> WebClient:
    return WebClient(
        token=token or settings.SLACK_BOT_TOKEN or None,
        base_url=settings.SLACK_API_BASE_URL,
        timeout=10,
        retry_handlers=retry_handlers(),
        logger=logger,
    )


def call(method: str, payload: dict[str, Any]) -> dict[str, Any]:
    """One Web API call (or a POST to a response_url). Raises DeliveryError on failure."""
    if method == RESPONSE_URL:
        body = {k: v for k, v in payload.items() if k != "url"}
        hook = WebhookClient(payload["url"], timeout=10, retry_handlers=retry_handlers())
        try:
            response = hook.send_dict(body)
        except (SlackClientError, OSError) as exc:
            raise DeliveryError(f"response_url unreachable: {exc}") from exc
        if response.status_code != 200:
            raise DeliveryError(f"response_url answered {response.status_code}: {response.body}")
        return {"ok": True}
    try:
        result = web_client().api_call(method, json=payload)
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else None
        status = exc.response.status_code if exc.response is not None else "?"
        raise DeliveryError(f"{method} failed ({status}): {error or exc}") from exc
    except (SlackClientError, OSError) as exc:
        raise DeliveryError(f"{method} failed: {exc}") from exc
    return dict(result.data) if isinstance(result.data, dict) else {"ok": True}


def deliver(*, method: str, payload: dict[str, Any], key: str = "", channel: str = "") -> Delivery:
    """Make a Slack call now, at most once per `key`, and record how it went.

    Side effects: one `Delivery` row per key. A key already sent (or being sent by another
    worker) is not sent again: the existing row is returned. A key that failed is tried
    again, up to MAX_DELIVERY_ATTEMPTS calls in all. Without a key the call is recorded
    under a fresh one (nothing to deduplicate, e.g. a Home tab refresh).
    """
    key = key or f"once:{uuid.uuid4()}"
    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(
                key=key,
                method=method,
                channel=channel or str(payload.get("channel", "")),
                payload=payload,
                attempts=1,
            )
    except IntegrityError:
        delivery = Delivery.objects.get(key=key)
        # Only a failed delivery may be claimed again; the conditional update makes sure a
        # single worker wins that claim.
        claimed = Delivery.objects.filter(
            pk=delivery.pk,
            status=Delivery.Status.FAILED,
            attempts=delivery.attempts,
            attempts__lt=MAX_DELIVERY_ATTEMPTS,
        ).update(status=Delivery.Status.PENDING, attempts=delivery.attempts + 1)
        if not claimed:
            logger.info("delivery %s already %s: not sending again", key, delivery.status)
            return delivery
        delivery.refresh_from_db()
    return _send(delivery)


def enqueue(
    *, method: str, payload: dict[str, Any], key: str = "", channel: str = ""
) -> Delivery | None:
    """Record a Slack call now and make it from a Celery worker once the current
    transaction commits (a request handler stays fast: Slack wants its answer in 3 s).

    Returns None when `key` was recorded before (a retried request): nothing is queued.
    """
    from bot.tasks import queue_after_commit, send_delivery

    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(
                key=key or f"once:{uuid.uuid4()}",
                method=method,
                channel=channel or str(payload.get("channel", "")),
                payload=payload,
                attempts=0,
            )
    except IntegrityError:
        logger.info("delivery %s was queued before: not queuing again", key)
        return None
    queue_after_commit(send_delivery, delivery.pk)
    return delivery


def send_queued(delivery_id: int) -> Delivery | None:
    """Send a delivery recorded by `enqueue`; a second worker (or a redelivered task)
    finds it claimed and does nothing."""
    claimed = Delivery.objects.filter(
        pk=delivery_id, status=Delivery.Status.PENDING, attempts=0
    ).update(attempts=1)
    if not claimed:
        return None
    return _send(Delivery.objects.get(pk=delivery_id))


def redeliver(delivery_id: int) -> Delivery | None:
    """Send a failed delivery again, whatever its attempts so far (an operator's replay,
    from the admin). Only one caller wins the failed -> pending claim."""
    delivery = Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.FAILED).first()
    if delivery is None:
        return None
    claimed = Delivery.objects.filter(
        pk=delivery.pk, status=Delivery.Status.FAILED, attempts=delivery.attempts
    ).update(status=Delivery.Status.PENDING, attempts=delivery.attempts + 1)
    if not claimed:
        return None
    delivery.refresh_from_db()
    return _send(delivery)


def _send(delivery: Delivery) -> Delivery:
    try:
        result = call(delivery.method, delivery.payload)
    except DeliveryError as exc:
        logger.warning("Slack delivery %s failed: %s", delivery.key, exc)
        delivery.status = Delivery.Status.FAILED
        delivery.error = str(exc)[:2000]
        delivery.save(update_fields=["status", "error", "updated_at"])
        return delivery
    delivery.status = Delivery.Status.SENT
    delivery.ts = str(result.get("ts") or result.get("message_ts") or "")
    channel = result.get("channel")
    delivery.channel = channel if isinstance(channel, str) and channel else delivery.channel
    delivery.error = ""
    delivery.save(update_fields=["status", "ts", "channel", "error", "updated_at"])
    return delivery
