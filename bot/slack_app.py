"""The one bolt App. Built lazily from settings so tests can point it at a fake Slack."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from django.conf import settings
from slack_bolt import App

from bot.transport import web_client

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def get_app() -> App:
    """Build the App once per process. Requests are verified with SLACK_SIGNING_SECRET (5
    minutes of replay window) before any middleware or listener of ours runs."""
    app = App(
        signing_secret=settings.SLACK_SIGNING_SECRET,
        client=web_client(),  # honours 429 Retry-After (see bot.transport)
        token_verification_enabled=False,  # no auth.test at start-up: the bot may start offline
        request_verification_enabled=True,
        # Django answers a request once the listeners return: listeners only record and
        # acknowledge, and queue the slow work for Celery (transaction.on_commit).
        process_before_response=True,
        logger=logger,
    )

    from bot.listeners import register

    register(app)

    @app.error
    def on_error(error: Exception, body: dict[str, Any], logger: logging.Logger) -> None:
        logger.exception("Slack handler failed: %s", error)

    return app


def reset_app() -> None:
    """Forget the cached App (used when settings change, e.g. in tests)."""
    get_app.cache_clear()
