"""Demo people and teams. Idempotent: running it again changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from curriculum.models import Exam, Module, Question
from metrics.models import Team, TeamMembership
from portal.exam import attempt_answer_save, attempt_start, attempt_submit, current_exam
from portal.learning import progress_mark_section_read, quiz_answer_submit
from portal.models import AttemptQuestion, Credential, ModuleProgress, Profile
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


def _complete_module(user: Any, module: Module, *, sections: int | None = None) -> None:
    """Read `sections` sections (all by default) and, when all are read, ace the quiz."""
    version = module.current()
    ids = version.section_ids if sections is None else version.section_ids[:sections]
    for section_id in ids:
        progress_mark_section_read(user=user, module=module, section_id=section_id)
    if sections is not None:
        return
    for question in Question.objects.quiz_for(module).prefetch_related("choices"):
        quiz_answer_submit(
            user=user, module=module, qid=question.qid, chosen=question.correct_orders()
        )


def _pass_exam(user: Any, exam: Exam) -> None:
    attempt = attempt_start(user=user, exam=exam)
    items = AttemptQuestion.objects.filter(attempt=attempt).select_related("question")
    for item in items.prefetch_related("question__choices"):
        correct = item.question.correct_orders()
        indexes = [i for i, order in enumerate(item.choice_order) if order in correct]
        attempt_answer_save(attempt=attempt, position=item.position, shown_indexes=indexes)
    attempt_submit(attempt=attempt)


def seed_learning(stdout: Any) -> None:
    """Demo learners: Alice three modules done, Bob one in progress, Carol certified.

    Idempotent: a learner who already has progress is left alone. Needs the curriculum
    (sync_curriculum runs first in `manage.py demo`).
    """
    modules = list(Module.objects.catalogue())
    exam = current_exam()
    if not modules:
        stdout.write("No curriculum loaded: run sync_curriculum to get demo learners.")
        return
    user_model = get_user_model()
    alice = user_model.objects.get(username="alice@example.com")
    bob = user_model.objects.get(username="bob@example.com")
    carol = user_model.objects.get(username="carol@example.com")
    if not ModuleProgress.objects.filter(user=alice).exists():
        for module in modules[:3]:
            _complete_module(alice, module)
    if not ModuleProgress.objects.filter(user=bob).exists():
        _complete_module(bob, modules[0], sections=2)
    if not ModuleProgress.objects.filter(user=carol).exists():
        for module in modules:
            _complete_module(carol, module)
    credential = Credential.objects.filter(user=carol).first()
    if credential is None and exam is not None:
        _pass_exam(carol, exam)
        credential = Credential.objects.filter(user=carol).first()
    stdout.write("Demo learners: alice (3 modules done), bob (module 1 in progress), carol.")
    if credential is not None:
        stdout.write(f"  carol's credential: /credentials/{credential.pk}/")
