"""Learning progress for Slack messages, when the portal provides it.

The portal's learning models are built separately; until `portal.learning` offers
`team_learning_summary(team) -> str` and `user_learning_summary(user) -> str` (one line each,
e.g. "4 of 10 modules done, 1 credential"), the summaries and the Home tab leave learning out.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from metrics.models import Team

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)


def _portal_function(name: str) -> Any:
    try:
        module = importlib.import_module("portal.learning")
    except ImportError:
        return None
    return getattr(module, name, None)


def team_learning(team: Team) -> str:
    summarize = _portal_function("team_learning_summary")
    if summarize is None:
        return ""
    try:
        return str(summarize(team) or "")
    except Exception:  # a learning summary must never stop a spend summary
        logger.exception("team learning summary failed for %s", team.slug)
        return ""


def user_learning(user: User) -> str:
    summarize = _portal_function("user_learning_summary")
    if summarize is None:
        return ""
    try:
        return str(summarize(user) or "")
    except Exception:
        logger.exception("user learning summary failed for %s", user.pk)
        return ""
