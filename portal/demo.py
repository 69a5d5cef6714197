"""Demo people and teams. Idempotent: running it again changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from metrics.models import Team, TeamMembership
from portal.models import Profile
from portal.roles import Role, ensure_role_groups


@dataclass(frozen=True)
class DemoUser:
    email: str
    password: str
    first_name: str
    last_name: str
    roles: tuple[Role, ...]
    teams: tuple[tuple[str, str], ...]  # (team slug, membership role)
    slack_user_id: str
    is_staff: bool = False


DEMO_TEAMS = [
    ("ml-platform", "ML Platform", "C0DEMOMLP", "S0DEMOMLP", "Europe/Berlin"),
    ("search", "Search", "C0DEMOSRCH", "S0DEMOSRCH", "America/New_York"),
    ("support-assistant", "Support Assistant", "C0DEMOSUP", "S0DEMOSUP", "UTC"),
]

M, L = TeamMembership.Role.MEMBER, TeamMembership.Role.LEAD
DEMO_USERS = [
    DemoUser(
        "finops@example.com",
        "finops-demo-pass",
        "Fiona",
        "Ops",
        (Role.FINOPS_ADMIN, Role.LEARNER),
        (),
        "U0DEMOFIN",
        is_staff=True,
    ),
    DemoUser(
        "lead@example.com",
        "lead-demo-pass",
        "Lee",
        "Lead",
        (Role.TEAM_LEAD, Role.LEARNER),
        (("ml-platform", L),),
        "U0DEMOLEAD",
    ),
    DemoUser(
        "alice@example.com",
        "alice-demo-pass",
        "Alice",
        "Engineer",
        (Role.LEARNER,),
        (("ml-platform", M),),
        "U0DEMOALICE",
    ),
    DemoUser(
        "bob@example.com",
        "bob-demo-pass",
        "Bob",
        "Engineer",
        (Role.LEARNER,),
        (("search", M),),
        "U0DEMOBOB",
    ),
    DemoUser(
        "carol@example.com",
        "carol-demo-pass",
        "Carol",
        "Engineer",
        (Role.LEARNER,),
        (("support-assistant", M),),
        "U0DEMOCAROL",
    ),
    DemoUser(
        "hr@example.com",
        "hr-demo-pass",
        "Hana",
        "Recruiter",
        (Role.HR,),
        (),
        "U0DEMOHR",
        is_staff=False,
    ),
    DemoUser(
        "author@example.com",
        "author-demo-pass",
        "Arun",
        "Author",
        (Role.AUTHOR, Role.LEARNER),
        (),
        "U0DEMOAUTH",
        is_staff=True,
    ),
]


@transaction.atomic
def seed_people() -> list[DemoUser]:
    """Create or refresh the demo teams and users; returns the users (for printing)."""
    ensure_role_groups()
    teams = {}
    for slug, name, channel, usergroup, tz in DEMO_TEAMS:
        teams[slug], _ = Team.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name,
                "slack_channel_id": channel,
                "slack_usergroup_id": usergroup,
                "time_zone": tz,
            },
        )
    user_model = get_user_model()
    for spec in DEMO_USERS:
        user, created = user_model.objects.get_or_create(
            username=spec.email,
            defaults={
                "email": spec.email,
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "is_staff": spec.is_staff,
            },
        )
        if created:
            user.set_password(spec.password)
            user.save(update_fields=["password"])
        user.groups.set([Group.objects.get(name=r.value) for r in spec.roles])
        Profile.objects.update_or_create(user=user, defaults={"slack_user_id": spec.slack_user_id})
        for slug, role in spec.teams:
            TeamMembership.objects.update_or_create(
                team=teams[slug], user=user, defaults={"role": role}
            )
    return DEMO_USERS
