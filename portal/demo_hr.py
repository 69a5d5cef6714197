"""Demo data for HR: a certified learner with an evaluation, two candidates for one role with
evaluations, and an expired credential. Idempotent: what exists is left alone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from curriculum.models import Module
from curriculum.yaml_lines import ContentError
from metrics.models import Team, TeamMembership
from portal.credentials import credential_sign
from portal.demo_people import _complete_module
from portal.exam import attempt_answer_save, attempt_start, attempt_submit, current_exam
from portal.hr import LevelInput, evaluation_start, evaluation_update
from portal.models import AttemptQuestion, Candidacy, Credential, Evaluation, Rubric
from portal.roles import Role
from portal.rubrics import rubric_sync

CANDIDATES = [
    # e-mail, password, first, last, modules to complete (None: all, and pass the exam)
    ("dev.candidate@example.com", "dev-demo-pass", "Devi", "Candidate", None),
    ("erin.candidate@example.com", "erin-demo-pass", "Erin", "Candidate", 4),
]
EXPIRED = ("eve@example.com", "eve-demo-pass", "Eve", "Expired")
ROLE = "ai-platform-engineer"


def _exam_with_misses(user: Any, *, misses: int) -> None:
    """Take the exam, answering `misses` questions wrong (spread over the domains)."""
    exam = current_exam()
    if exam is None:
        return
    attempt = attempt_start(user=user, exam=exam)
    items = AttemptQuestion.objects.filter(attempt=attempt).select_related("question")
    for n, item in enumerate(items.prefetch_related("question__choices").order_by("position")):
        right = item.question.correct_orders()
        if n % 7 == 0 and misses > 0:
            misses -= 1
            indexes = [next(i for i, o in enumerate(item.choice_order) if o not in right)]
        else:
            indexes = [i for i, order in enumerate(item.choice_order) if order in right]
        attempt_answer_save(attempt=attempt, position=item.position, shown_indexes=indexes)
    attempt_submit(attempt=attempt)


def _person(email: str, password: str, first: str, last: str) -> tuple[Any, bool]:
    user, created = get_user_model().objects.get_or_create(
        username=email, defaults={"email": email, "first_name": first, "last_name": last}
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
        user.groups.add(Group.objects.get_or_create(name=Role.LEARNER.value)[0])
    return user, created


def _evaluate(
    subject: Any,
    rubric: Rubric,
    hr: Any,
    plan: dict[str, tuple[str, str, str]],
    *,
    recommendation: str,
    summary: str,
    shared: bool,
) -> None:
    if Evaluation.objects.filter(subject=subject, rubric_version__rubric=rubric).exists():
        return
    evaluation = evaluation_start(subject=subject, rubric=rubric, by=hr)
    levels = {}
    for row in evaluation.levels.all():
        level, note, interview = plan.get(row.competency, (row.proposed_level, "", ""))
        if level != row.proposed_level and row.proposed_level and not note:
            note = "Confirmed in the interview."
        levels[row.competency] = LevelInput(level or row.proposed_level, note, interview)
    evaluation_update(
        evaluation=evaluation,
        levels=levels,
        recommendation=recommendation,
        summary=summary,
        shared=shared,
        by=hr,
    )


def seed_hr(stdout: Any) -> None:
    if not Rubric.objects.exists():
        try:
            rubric_sync()
        except ContentError as exc:
            stdout.write(f"Rubrics not loaded ({exc}): run sync_rubrics.")
            return
    modules = list(Module.objects.catalogue())
    if not modules or current_exam() is None:
        stdout.write("No curriculum loaded: run sync_curriculum to get the HR demo.")
        return
    user_model = get_user_model()
    hr = user_model.objects.get(username="hr@example.com")
    practitioner = Rubric.objects.get(slug="finops-ai-practitioner")
    platform = Rubric.objects.get(slug=ROLE)

    carol = user_model.objects.get(username="carol@example.com")
    if Credential.objects.filter(user=carol).exists():
        _evaluate(
            carol,
            practitioner,
            hr,
            {
                "llm-unit-economics": (
                    "advanced",
                    "Built the cost-per-ticket metric the support team now reports monthly.",
                    "Explained matched numerators without prompting.",
                ),
                "governance-culture": ("practitioner", "", "Runs the monthly cost review."),
            },
            recommendation="yes",
            summary="Ready to lead FinOps for AI for the support organization.",
            shared=True,
        )

    candidate_group = Group.objects.get_or_create(name=Role.CANDIDATE.value)[0]
    for email, password, first, last, count in CANDIDATES:
        user, created = _person(email, password, first, last)
        user.groups.add(candidate_group)
        Candidacy.objects.get_or_create(user=user, defaults={"rubric": platform, "invited_by": hr})
        if created:
            for module in modules if count is None else modules[:count]:
                _complete_module(user, module)
            if count is None:
                _exam_with_misses(user, misses=4)
    devi = user_model.objects.get(username=CANDIDATES[0][0])
    erin = user_model.objects.get(username=CANDIDATES[1][0])
    _evaluate(
        devi,
        platform,
        hr,
        {
            "gpu-kubernetes-cost": (
                "advanced",
                "Designed MIG partitioning for an inference cluster; cut idle GPU cost by a third.",
                "Clear on cold-start trade-offs.",
            ),
        },
        recommendation="strong_yes",
        summary="Strong platform engineer with real GPU cost work.",
        shared=False,
    )
    _evaluate(
        erin,
        platform,
        hr,
        {
            "optimization-model-strategy": (
                "practitioner",
                "Shipped prompt caching in a previous role, measured the saving.",
                "Good on quality checks; less on routing.",
            ),
        },
        recommendation="no",
        summary="Promising; not yet at the level for this role.",
        shared=False,
    )

    eve, created = _person(*EXPIRED)
    search = Team.objects.filter(slug="search").first()
    if search is not None:
        TeamMembership.objects.get_or_create(team=search, user=eve)
    if not Credential.objects.filter(user=eve).exists():
        for module in modules:
            _complete_module(eve, module)
        _exam_with_misses(eve, misses=2)
        credential = Credential.objects.filter(user=eve).first()
        if credential is not None:
            # Certified two years and a month ago: the credential has run out.
            issued = timezone.now() - timedelta(days=760)
            credential.issued_at = issued
            credential.expires_at = issued + timedelta(days=730)
            credential.save(update_fields=["issued_at", "expires_at"])
            credential_sign(credential=credential)
    stdout.write(
        "HR demo: carol evaluated (shared); candidates devi and erin for "
        "'AI platform engineer (cost-aware)' with evaluations; eve's credential has expired."
    )
