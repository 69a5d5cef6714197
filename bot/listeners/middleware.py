"""Global middleware: runs after bolt has verified the request's signature."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from slack_bolt import App, BoltRequest, BoltResponse

from bot.models import SlackEvent

logger = logging.getLogger(__name__)


def register(app: App) -> None:
    app.use(deduplicate_events)


def deduplicate_events(
    req: BoltRequest, body: dict[str, Any], next: Callable[[], None]
) -> BoltResponse | None:
    """Run each Slack event once. Slack retries an event it thinks we missed (with
    X-Slack-Retry-Num); the event id is recorded in the database before any listener runs,
    so a retry, on whichever process it lands, is acknowledged and does nothing."""
    event_id = body.get("event_id")
    if body.get("type") != "event_callback" or not event_id:
        next()
        return None
    try:
        with transaction.atomic():
            SlackEvent.objects.create(
                event_id=str(event_id),
                event_type=str((body.get("event") or {}).get("type", "")),
                payload={"event": body.get("event") or {}, "team_id": body.get("team_id", "")},
            )
    except IntegrityError:
        SlackEvent.objects.filter(event_id=event_id).update(retries_seen=F("retries_seen") + 1)
        retry = (req.headers.get("x-slack-retry-num") or ["?"])[0]
        logger.info("Slack event %s seen before (retry %s): ignored", event_id, retry)
        return BoltResponse(status=200, body="")
    next()
    return None
