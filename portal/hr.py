"""HR: who sees which evaluation, proposed levels from evidence, evaluations and candidates.

Who sees what (checked here, used by every view, download and command):
- HR (`portal.view_people_progress`) sees everyone, every evaluation and every candidate;
  only HR (`portal.evaluate_people`) evaluates, invites candidates and compares them.
- A team lead sees the evaluations of the members of the teams they lead (never candidates).
- A person sees their own summary; an evaluation of them (levels and notes) only once HR
  shares it with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group, User
from django.db import transaction
from django.db.models import Q, QuerySet

from curriculum.models import ExamDomain, Module
from metrics.models import Team
from portal.accounts import user_invite
from portal.models import (
    Candidacy,
    Credential,
    Evaluation,
    EvaluationLevel,
    ExamAttempt,
    ModuleProgress,
    Rubric,
    RubricVersion,
)
from portal.people import VIEW_ALL, VIEW_TEAMS
from portal.roles import Role

EVALUATE = "portal.evaluate_people"
EDIT_RUBRIC = "portal.edit_rubric"
VIEW_LOG = "portal.view_summary_log"
CANDIDATE = "portal.candidate"

Viewer = User | AnonymousUser


class EvaluationError(ValueError):
    pass


# --- Permissions ----------------------------------------------------------------------------


def can_evaluate(viewer: Any) -> bool:
    return bool(viewer.is_authenticated and viewer.has_perm(EVALUATE))


def is_candidate(user: Any) -> bool:
    """An external candidate: the Candidate role's permission, read from the permission cache
    Django already holds for the request (no extra query on every page)."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "is_superuser", False):
        return False
    return bool(user.has_perm(CANDIDATE))


def evaluations_visible_to(viewer: Any) -> QuerySet[Evaluation]:
    """Evaluations `viewer` may read, notes included."""
    evaluations = Evaluation.objects.select_related("subject", "rubric_version__rubric")
    if not viewer.is_authenticated:
        return evaluations.none()
    if viewer.has_perm(VIEW_ALL):
        return evaluations
    own_shared = Q(subject_id=viewer.pk, shared_with_subject=True)
    if viewer.has_perm(VIEW_TEAMS):
        team_members = Q(
            subject__team_memberships__team__in=Team.objects.led_by(viewer),
            is_candidate=False,
            subject__candidacy__isnull=True,
        )
        return evaluations.filter(own_shared | team_members).distinct()
    return evaluations.filter(own_shared)


def summary_subjects_visible_to(viewer: Any) -> QuerySet[User]:
    """People whose credential summary `viewer` may download: HR everyone, a team lead the
    members of the teams they lead (not candidates), everyone themselves."""
    users: QuerySet[User] = get_user_model()._default_manager.filter(is_active=True)
    if not viewer.is_authenticated:
        return users.none()
    if viewer.has_perm(VIEW_ALL):
        return users
    mine = Q(pk=viewer.pk)
    if viewer.has_perm(VIEW_TEAMS):
        members = Q(team_memberships__team__in=Team.objects.led_by(viewer), candidacy__isnull=True)
        return users.filter(mine | members).distinct()
    return users.filter(mine)


# --- Evidence and proposals -----------------------------------------------------------------


@dataclass(frozen=True)
class ExamEvidence:
    attempt_id: int
    passed: bool
    submitted_at: datetime | None
    score: int | None
    question_count: int
    domains: list[dict[str, Any]]  # {"slug", "title", "correct", "total"}


@dataclass
class PersonEvidence:
    """Facts about one person's learning that the rubrics and the summaries use."""

    modules_completed: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    exam: ExamEvidence | None = None
    credential: Credential | None = None

    def domain(self, slug: str) -> dict[str, Any] | None:
        if self.exam is None:
            return None
        return next((d for d in self.exam.domains if d.get("slug") == slug), None)


def person_evidence(user: Any) -> PersonEvidence:
    """Completed modules (first completion), the exam attempt that counts (the latest pass,
    else the latest finished attempt) and the latest credential."""
    evidence = PersonEvidence()
    done = (
        ModuleProgress.objects.for_user(user)
        .completed()
        .select_related("module")
        .order_by("completed_at")
    )
    for progress in done:
        if progress.module.slug not in evidence.modules_completed and progress.completed_at:
            evidence.modules_completed[progress.module.slug] = (
                progress.module.title,
                progress.completed_at,
            )
    attempts = ExamAttempt.objects.for_user(user).finished().order_by("-submitted_at")
    attempt = attempts.filter(status=ExamAttempt.Status.PASSED).first() or attempts.first()
    if attempt is not None:
        evidence.exam = ExamEvidence(
            attempt_id=attempt.pk,
            passed=attempt.passed,
            submitted_at=attempt.submitted_at,
            score=attempt.score,
            question_count=attempt.question_count,
            domains=list(attempt.domain_scores or []),
        )
    evidence.credential = (
        Credential.objects.for_user(user).select_related("exam").order_by("-issued_at").first()
    )
    return evidence


@dataclass(frozen=True)
class Proposal:
    level: str  # a level slug, or "" when there is no evidence
    evidence: list[str]


def _ratio(evidence: PersonEvidence, domains: list[str]) -> tuple[int, int] | None:
    correct = total = 0
    for slug in domains:
        scores = evidence.domain(slug)
        if scores:
            correct += int(scores.get("correct", 0))
            total += int(scores.get("total", 0))
    return (correct, total) if total else None


def propose_levels(version: RubricVersion, evidence: PersonEvidence) -> dict[str, Proposal]:
    """A proposed level per competency from the mapped modules and exam domains.

    Levels are ranked lowest first. With M the competency's modules and D its exam domains:
    the third level needs every module of M, at least 80% on D and a valid credential; the
    second every module of M and at least 60% on D (or a valid credential); the first any
    module of M or at least 40% on D. The top level is never proposed: it takes an interview.
    """
    levels = [lv["slug"] for lv in version.levels]
    highest = max(len(levels) - 1, 1)
    module_titles = dict(Module.objects.values_list("slug", "title"))
    domain_titles = dict(ExamDomain.objects.values_list("slug", "title"))
    credential = evidence.credential
    valid = credential is not None and credential.state() == Credential.State.VALID
    proposals: dict[str, Proposal] = {}
    for competency in version.competencies:
        lines: list[str] = []
        modules: list[str] = competency.get("modules", [])
        done = [m for m in modules if m in evidence.modules_completed]
        for slug in modules:
            title = module_titles.get(slug, slug)
            if slug in evidence.modules_completed:
                lines.append(
                    f"Module '{title}' completed {evidence.modules_completed[slug][1]:%Y-%m-%d}"
                )
            else:
                lines.append(f"Module '{title}' not completed")
        ratio = _ratio(evidence, competency.get("exam_domains", []))
        for slug in competency.get("exam_domains", []):
            scores = evidence.domain(slug)
            title = domain_titles.get(slug, slug)
            if scores and scores.get("total"):
                lines.append(
                    f"Exam domain '{title}': {scores['correct']}/{scores['total']} "
                    f"({round(100 * scores['correct'] / scores['total'])}%)"
                )
            else:
                lines.append(f"Exam domain '{title}': no exam result")
        if credential is not None:
            lines.append(
                f"Credential {credential.state().label.lower()} "
                f"(expires {credential.expires_at:%Y-%m-%d})"
            )
        share = ratio[0] / ratio[1] if ratio else None
        all_done = len(done) == len(modules)
        rank = 0
        if all_done and share is not None and share >= 0.8 and valid:
            rank = 3
        elif all_done and ((share is not None and share >= 0.6) or valid):
            rank = 2
        elif done or (share is not None and share >= 0.4):
            rank = 1
        rank = min(rank, highest)
        proposals[competency["slug"]] = Proposal(levels[rank - 1] if rank else "", lines)
    return proposals


# --- Evaluations ------------------------------------------------------------------------------


def evaluation_start(*, subject: User, rubric: Rubric, by: User) -> Evaluation:
    """A new evaluation against the rubric's current version, each competency pre-filled with
    the proposed level and the evidence behind it (a snapshot: later learning does not change
    what HR saw)."""
    version = rubric.current()
    proposals = propose_levels(version, person_evidence(subject))
    with transaction.atomic():
        evaluation = Evaluation.objects.create(
            subject=subject,
            rubric_version=version,
            evaluator=by,
            is_candidate=is_candidate(subject),
        )
        EvaluationLevel.objects.bulk_create(
            EvaluationLevel(
                evaluation=evaluation,
                competency=c["slug"],
                proposed_level=proposals[c["slug"]].level,
                evidence=proposals[c["slug"]].evidence,
            )
            for c in version.competencies
        )
    return evaluation


@dataclass(frozen=True)
class LevelInput:
    level: str
    note: str = ""
    interview_notes: str = ""


def evaluation_update(
    *,
    evaluation: Evaluation,
    levels: dict[str, LevelInput],
    recommendation: str,
    summary: str,
    shared: bool,
    by: User,
) -> Evaluation:
    """Confirm or override each competency's level. An override (a level other than the
    proposed one) needs a note saying why. All or nothing: one bad field changes nothing."""
    version = evaluation.rubric_version
    valid_levels = {lv["slug"] for lv in version.levels}
    titles = {c["slug"]: c["title"] for c in version.competencies}
    if recommendation not in Evaluation.Recommendation.values:
        raise EvaluationError(f"recommendation: unknown value {recommendation!r}")
    with transaction.atomic():
        rows = {
            row.competency: row
            for row in EvaluationLevel.objects.select_for_update().filter(evaluation=evaluation)
        }
        for competency, given in levels.items():
            row = rows.get(competency)
            if row is None:
                raise EvaluationError(f"{competency}: not a competency of this rubric version")
            if given.level and given.level not in valid_levels:
                raise EvaluationError(f"{titles[competency]}: unknown level {given.level!r}")
            overrides = bool(
                given.level and row.proposed_level and given.level != row.proposed_level
            )
            if overrides and not given.note.strip():
                raise EvaluationError(
                    f"{titles[competency]}: say why you override the proposed level "
                    f"({version.level_title(row.proposed_level)}) in the note"
                )
            row.level = given.level
            row.note = given.note.strip()
            row.interview_notes = given.interview_notes.strip()
            row.save(update_fields=["level", "note", "interview_notes"])
        evaluation.recommendation = recommendation
        evaluation.summary = summary.strip()
        evaluation.shared_with_subject = shared
        evaluation.evaluator = by
        evaluation.save(
            update_fields=[
                "recommendation",
                "summary",
                "shared_with_subject",
                "evaluator",
                "updated_at",
            ]
        )
    return evaluation


# --- Candidates -------------------------------------------------------------------------------


def candidate_invite(
    *, email: str, first_name: str, last_name: str, rubric: Rubric, invited_by: User
) -> User:
    """Invite an external candidate for a role: the learner invitation (set-password e-mail),
    plus the Candidate role; no team, so no spend."""
    with transaction.atomic():
        user = user_invite(
            email=email, first_name=first_name, last_name=last_name, invited_by=invited_by
        )
        user.groups.add(Group.objects.get_or_create(name=Role.CANDIDATE.value)[0])
        Candidacy.objects.create(user=user, rubric=rubric, invited_by=invited_by)
    return user


@dataclass
class ComparisonRow:
    person: User
    evaluation: Evaluation | None
    levels: dict[str, str]  # competency slug -> level title ("" when not set)
    exam: ExamEvidence | None
    credential_state: str


def candidates_compare(rubric: Rubric) -> tuple[RubricVersion, list[ComparisonRow]]:
    """The candidates for one role side by side: levels (latest evaluation against this
    rubric), exam score by domain, credential status."""
    version = rubric.current()
    rows: list[ComparisonRow] = []
    candidacies = rubric.candidacies.select_related("user").order_by(
        "user__last_name", "user__first_name", "user__email"
    )
    for candidacy in candidacies:
        person = candidacy.user
        evaluation = (
            Evaluation.objects.filter(subject=person, rubric_version__rubric=rubric)
            .select_related("rubric_version")
            .prefetch_related("levels")
            .order_by("-updated_at")
            .first()
        )
        levels: dict[str, str] = {}
        if evaluation is not None:
            for row in evaluation.levels.all():
                levels[row.competency] = (
                    evaluation.rubric_version.level_title(row.level) if row.level else ""
                )
        evidence = person_evidence(person)
        state = evidence.credential.state().label if evidence.credential else "No credential"
        rows.append(ComparisonRow(person, evaluation, levels, evidence.exam, str(state)))
    return version, rows
