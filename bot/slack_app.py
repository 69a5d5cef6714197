"""The one bolt App. Built lazily from settings so tests can point it at a fake Slack."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from django.conf import settings
from slack_bolt import App
from slack_sdk import WebClient

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def get_app() -> App:
    """Build the App once per process. Requests are verified with SLACK_SIGNING_SECRET."""
    client = WebClient(token=settings.SLACK_BOT_TOKEN or None, base_url=settings.SLACK_API_BASE_URL)
    app = App(
        signing_secret=settings.SLACK_SIGNING_SECRET,
        client=client,
        token_verification_enabled=False,  # no auth.test at start-up: the bot may start offline
        request_verification_enabled=True,
        process_before_response=True,  # Django handles requests synchronously
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
