"""The one bolt App. Built lazily from settings so tests can point it at a fake Slack."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from django.conf import settings
from slack_bolt import App

from bot.oauth import oauth_enabled, oauth_settings
from bot.transport import web_client

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def get_app() -> App:
    """Build the App once per process. Requests are verified with SLACK_SIGNING_SECRET (5
    minutes of replay window) before any middleware or listener of ours runs.

    With SLACK_CLIENT_ID and SLACK_CLIENT_SECRET the App serves multi-workspace OAuth
    installs (bot.oauth): each request is authorized with the token stored for its
    workspace. Without them it is the single-workspace bot (SLACK_BOT_TOKEN)."""
    multi_workspace = oauth_enabled()
    client = web_client()  # honours 429 Retry-After (see bot.transport)
    if multi_workspace:
        client.token = None  # tokens come from the installation store, per workspace
    app = App(
        signing_secret=settings.SLACK_SIGNING_SECRET,
        client=client,
        oauth_settings=oauth_settings(logger) if multi_workspace else None,
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
