"""Who may see whose learning record: HR everyone, team leads the members of their teams."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Q, QuerySet

from metrics.models import VIEW_ALL_SPEND, Team, TeamMembership
from portal.models import ModuleProgress

VIEW_ALL = "portal.view_people_progress"
VIEW_TEAMS = "portal.view_team_progress"


def can_view_people(viewer: Any) -> bool:
    return bool(
        viewer.is_authenticated and (viewer.has_perm(VIEW_ALL) or viewer.has_perm(VIEW_TEAMS))
    )


# Who counts as a learner on People: the Learner role, and #11's external candidates.
LEARNING_GROUPS = ("Learner", "Candidate")
# Roles of staff who run the portal; they are listed only once they learn something.
STAFF_GROUPS = ("HR", "FinOps admin", "Author")


def learners(users: QuerySet[User]) -> QuerySet[User]:
    """People who learn: learners and candidates who hold no staff role, and anyone (staff
    included) with a module started, an exam attempt or a credential."""
    has_learned = (
        Q(module_progress__isnull=False)
        | Q(exam_attempts__isnull=False)
        | Q(credentials__isnull=False)
    )
    learner_only = Q(groups__name__in=LEARNING_GROUPS) & ~Q(
        pk__in=users.model._default_manager.filter(groups__name__in=STAFF_GROUPS).values("pk")
    )
    return users.filter(
        pk__in=users.model._default_manager.filter(learner_only | has_learned).values("pk")
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


@dataclass(frozen=True)
class Navigation:
    """Which menu items a person gets: learning ones when they learn, Spend when they have
    spend to see (a team, or the organization-wide permission)."""

    learning: bool
    spend: bool


def navigation_annotations() -> dict[str, Any]:
    """Annotations that answer navigation_for() from the user row itself: the sign-in backend
    (portal.auth.EmailBackend.get_user) loads the user with them, so menus cost no query."""
    return {
        "nav_learning_group": Exists(
            User.groups.through.objects.filter(
                user_id=OuterRef("pk"), group__name__in=LEARNING_GROUPS
            )
        ),
        "nav_progress": Exists(ModuleProgress.objects.filter(user_id=OuterRef("pk"))),
        "nav_team": Exists(TeamMembership.objects.filter(user_id=OuterRef("pk"))),
    }


def navigation_for(user: Any) -> Navigation:
    """Menu items for `user`: from the annotations when the user came with them, otherwise
    one query (remembered on the user object for the rest of the request)."""
    if not user.is_authenticated:
        return Navigation(learning=False, spend=False)
    cached = getattr(user, "_portal_navigation", None)
    if isinstance(cached, Navigation):
        return cached
    names = ("nav_learning_group", "nav_progress", "nav_team")
    if all(hasattr(user, name) for name in names):
        row = {name: getattr(user, name) for name in names}
    else:
        row = (
            get_user_model()
            ._default_manager.filter(pk=user.pk)
            .annotate(**navigation_annotations())
            .values(*names)
            .first()
        ) or {}
    navigation = Navigation(
        learning=bool(row.get("nav_learning_group") or row.get("nav_progress")),
        spend=bool(row.get("nav_team")) or user.has_perm(VIEW_ALL_SPEND),
    )
    user._portal_navigation = navigation
    return navigation
