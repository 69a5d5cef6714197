"""Roles are Django groups with permissions; `ensure_role_groups` keeps them in step.

Team lead is both a group (what a lead may do) and a per-team membership role (which teams).
"""

from enum import StrEnum
from typing import Any

from django.contrib.auth.models import AnonymousUser, Group, Permission, User


class Role(StrEnum):
    LEARNER = "Learner"
    AUTHOR = "Author"
    HR = "HR"
    TEAM_LEAD = "Team lead"
    FINOPS_ADMIN = "FinOps admin"
    CANDIDATE = "Candidate"


# app_label.codename, or app_label.* for every permission of an app.
ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.LEARNER: [],
    Role.AUTHOR: ["curriculum.*"],
    Role.HR: [
        "portal.view_people_progress",
        "portal.revoke_credential",
        "portal.invite_people",
        "portal.evaluate_people",
        "portal.edit_rubric",
        "portal.view_summary_log",
    ],
    Role.TEAM_LEAD: ["portal.view_team_progress"],
    Role.FINOPS_ADMIN: [
        "metrics.*",
        "django_celery_beat.*",
        "portal.view_profile",
        "portal.view_credential",
        "portal.revoke_credential",
        "portal.invite_people",
        "portal.export_xapi",
    ],
    # An external candidate takes modules and the exam; sees no spend and no team.
    Role.CANDIDATE: ["portal.candidate"],
}


def ensure_role_groups() -> None:
    """Create or update one group per role with exactly its permissions. Safe to re-run."""
    for role, specs in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        perms: list[Permission] = []
        for spec in specs:
            app_label, codename = spec.split(".", 1)
            qs = Permission.objects.filter(content_type__app_label=app_label)
            perms.extend(qs if codename == "*" else qs.filter(codename=codename))
        group.permissions.set(perms)


def ensure_role_groups_after_migrate(**kwargs: Any) -> None:
    ensure_role_groups()


def user_roles(user: "User | AnonymousUser") -> list[Role]:
    if not user.is_authenticated:
        return []
    names = set(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]
    return [role for role in Role if role.value in names]
