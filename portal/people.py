"""Who may see whose learning record: HR everyone, team leads the members of their teams."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import QuerySet

from metrics.models import Team

VIEW_ALL = "portal.view_people_progress"
VIEW_TEAMS = "portal.view_team_progress"


def can_view_people(viewer: Any) -> bool:
    return bool(
        viewer.is_authenticated and (viewer.has_perm(VIEW_ALL) or viewer.has_perm(VIEW_TEAMS))
    )


def people_visible_to(viewer: Any) -> QuerySet[User]:
    """People whose progress and credentials `viewer` may see (never their exam answers).

    HR is organization-wide here; a team lead (the Team lead role plus a lead membership)
    sees the members of the teams they lead; everyone else sees nobody.
    """
    users: QuerySet[User] = get_user_model()._default_manager.filter(is_active=True)
    if not viewer.is_authenticated:
        return users.none()
    if viewer.has_perm(VIEW_ALL):
        return users
    if viewer.has_perm(VIEW_TEAMS):
        teams = Team.objects.led_by(viewer)
        return users.filter(team_memberships__team__in=teams).distinct()
    return users.none()
