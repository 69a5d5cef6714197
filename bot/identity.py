"""Who is asking: Slack ids to portal users, and "my team".

The database decides what a person may see (`metrics.queries.scope_for`). Slack user groups
only help pick "my team" for people the database puts in no team (a FinOps admin, say):
they never grant access.
"""

from __future__ import annotations

import logging
import zoneinfo
from datetime import date, datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from bot.transport import DeliveryError, call
from metrics.models import Team
from portal.models import Profile

logger = logging.getLogger(__name__)

USERGROUP_CACHE_SECONDS = 10 * 60  # usergroups.users.list is rate limited (tier 2)
USERGROUP_FAILURE_CACHE_SECONDS = 60


def user_for_slack_id(slack_user_id: str) -> User | None:
    if not slack_user_id:
        return None
    profile = (
        Profile.objects.select_related("user")
        .filter(slack_user_id=slack_user_id, user__is_active=True)
        .first()
    )
    return profile.user if profile else None


def user_for_identifier(identifier: str) -> User | None:
    """A portal user by e-mail (case-insensitive) or Slack user id."""
    identifier = identifier.strip()
    if "@" in identifier:
        users = get_user_model().objects.filter(
            Q(email__iexact=identifier) | Q(username__iexact=identifier), is_active=True
        )
        return users.order_by("pk").first()
    return user_for_slack_id(identifier)


def slack_id_of(user: User) -> str:
    profile = Profile.objects.filter(user=user).first()
    return profile.slack_user_id if profile else ""


def usergroup_members(usergroup_id: str) -> set[str] | None:
    """Slack user ids in a user group (cached), or None when Slack cannot tell us (no bot
    token configured, e.g. `manage.py ask` on a laptop, or Slack unreachable)."""
    if not settings.SLACK_BOT_TOKEN:
        return None
    cache_key = f"bot:usergroup:{usergroup_id}"
    cached = cache.get(cache_key)
    if cached is not None:
        return set(cached) if isinstance(cached, list) else None
    try:
        result = call("usergroups.users.list", {"usergroup": usergroup_id})
    except DeliveryError as exc:
        logger.warning("usergroups.users.list %s failed: %s", usergroup_id, exc)
        # remembered briefly, so a Slack outage does not slow every question down
        cache.set(cache_key, "unavailable", USERGROUP_FAILURE_CACHE_SECONDS)
        return None
    members = [str(u) for u in result.get("users", [])]
    cache.set(cache_key, members, USERGROUP_CACHE_SECONDS)
    return set(members)


def db_teams(user: User) -> list[Team]:
    """The teams the portal lists the person in."""
    return list(Team.objects.filter(memberships__user=user).distinct().order_by("name"))


def teams_of(user: User, slack_user_id: str = "") -> list[Team]:
    """The asker's teams: their memberships in the database; for someone with none, the
    teams whose Slack user group lists them (among the teams they may see)."""
    own = db_teams(user)
    if own or not slack_user_id:
        return own
    grouped = Team.objects.visible_to(user).exclude(slack_usergroup_id="").order_by("name")
    found = []
    for team in grouped:
        members = usergroup_members(team.slack_usergroup_id)
        if members is not None and slack_user_id in members:
            found.append(team)
    return found


def slack_group_teams(user: User, slack_user_id: str) -> list[Team]:
    """Teams whose Slack user group lists the person although the database does not: used
    to explain a refusal ("ask your lead to add you"), never to grant access."""
    if not slack_user_id:
        return []
    out = []
    for team in Team.objects.exclude(slack_usergroup_id="").exclude(memberships__user=user):
        members = usergroup_members(team.slack_usergroup_id)
        if members and slack_user_id in members:
            out.append(team)
    return out


def zone_of(team: Team | None) -> zoneinfo.ZoneInfo:
    return team.zone() if team is not None else zoneinfo.ZoneInfo("UTC")


def local_now(team: Team | None, now: datetime | None = None) -> datetime:
    return (now or timezone.now()).astimezone(zone_of(team))


PERSON_ZONE_CACHE_SECONDS = 24 * 60 * 60


def person_zone(slack_user_id: str, team: Team | None) -> zoneinfo.ZoneInfo:
    """The person's own time zone from their Slack profile (`users.info` `tz`, kept a day in
    the shared cache); the team's zone when Slack does not say or cannot be reached."""
    key = f"bot:tz:{slack_user_id}"
    tz = cache.get(key)
    if tz is None:
        try:
            info = call("users.info", {"user": slack_user_id})
            tz = str((info.get("user") or {}).get("tz") or "")
        except DeliveryError as exc:
            logger.warning("users.info for %s failed: %s", slack_user_id, exc)
            tz = ""
        cache.set(key, tz, PERSON_ZONE_CACHE_SECONDS)
    if tz:
        try:
            return zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return zone_of(team)


def person_now(slack_user_id: str, team: Team | None, now: datetime | None = None) -> datetime:
    """Now in the person's own time zone (quiet hours follow the person, not the team)."""
    return (now or timezone.now()).astimezone(person_zone(slack_user_id, team))


def local_today(team: Team | None, now: datetime | None = None) -> date:
    """Today in the team's time zone (UTC without a team)."""
    return local_now(team, now).date()
