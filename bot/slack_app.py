"""The one bolt App. Built lazily from settings so tests can point it at a fake Slack."""

from __future__ import annotations

import logging
import socket
from functools import lru_cache
from typing import Any
from urllib.error import URLError

from django.conf import settings
from slack_bolt import App, BoltResponse

from bot.oauth import oauth_enabled, oauth_settings
from bot.transport import web_client

logger = logging.getLogger(__name__)


class _DropConnectionFailures(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Failed to send a request to Slack API")


_sdk_logger = logging.getLogger("bot.slack_app.sdk")
_sdk_logger.addFilter(_DropConnectionFailures())


@lru_cache(maxsize=1)
def get_app() -> App:
    """Build the App once per process. Requests are verified with SLACK_SIGNING_SECRET (5
    minutes of replay window) before any middleware or listener of ours runs.

    With SLACK_CLIENT_ID and SLACK_CLIENT_SECRET the App serves multi-workspace OAuth
    installs (bot.oauth): each request is authorized with the token stored for its
    workspace. Without them it is the single-workspace bot (SLACK_BOT_TOKEN)."""
    multi_workspace = oauth_enabled()
    # Honours 429 Retry-After (see bot.transport). A connection failure surfaces in on_error
    # below as one warning; the SDK's own error lines for it (one per retry) would repeat it.
    client = web_client(logger=_sdk_logger)
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
    def on_error(
        error: Exception, body: dict[str, Any], logger: logging.Logger
    ) -> BoltResponse | None:
        if _is_unreachable(error):
            # Slack (auth.test or an API call) cannot be reached: a clear 503 Slack retries,
            # and one line in the log rather than a traceback per request.
            logger.warning("Slack is unreachable, answered 503: %s", error)
            return BoltResponse(
                status=503,
                body='{"error": "Slack is unreachable; try again later"}',
                headers={"content-type": "application/json"},
            )
        logger.exception("Slack handler failed: %s", error)
        return None

    return app


def _is_unreachable(error: BaseException) -> bool:
    """A network failure talking to Slack (connection refused, DNS, timeout)."""
    seen = 0
    current: BaseException | None = error
    while current is not None and seen < 10:
        if isinstance(current, URLError | ConnectionError | TimeoutError | socket.timeout):
            return True
        current = current.__cause__ or current.__context__
        seen += 1
    return False


def reset_app() -> None:
    """Forget the cached App (used when settings change, e.g. in tests)."""
    get_app.cache_clear()
