"""Learning use cases: reading modules, module quizzes, progress per module and track.

A module is complete when every `##` section of the version being read is marked read and its
quiz is passed (latest answers, PORTAL_QUIZ_PASS_RATIO correct). Completing any version counts:
a learner who finished version 1 stays done when authors publish version 2.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from curriculum.models import Choice, Module, ModuleVersion, Question, Track
from portal import conf
from portal.models import Credential, ModuleProgress, QuizAnswer, XapiStatement
from portal.xapi import xapi_record


class LearningError(ValueError):
    """The request does not fit the module (unknown section, question or choice)."""


# --- Read side --------------------------------------------------------------------------


@dataclass
class ModuleStatus:
    module: Module
    progress: ModuleProgress | None = None  # the most recently touched version
    completed_version: int | None = None

    @property
    def completed(self) -> bool:
        return self.completed_version is not None

    @property
    def started(self) -> bool:
        return self.progress is not None

    @property
    def percent(self) -> int:
        if self.completed:
            return 100
        return self.progress.percent() if self.progress else 0

    @property
    def state(self) -> str:
        if self.completed:
            return "done"
        return "in progress" if self.started else "not started"

    @property
    def resume_section(self) -> str:
        return self.progress.last_section if self.progress else ""


@dataclass
class TrackSummary:
    track: Track
    modules: list[ModuleStatus] = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(1 for status in self.modules if status.completed)

    @property
    def total(self) -> int:
        return len(self.modules)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def module_statuses(user: Any, modules: Iterable[Module] | None = None) -> list[ModuleStatus]:
    """Status of every published module (catalogue order) for one learner: two queries."""
    catalogue = list(modules) if modules is not None else list(Module.objects.catalogue())
    statuses = {module.pk: ModuleStatus(module) for module in catalogue}
    if user.is_authenticated:
        rows = (
            ModuleProgress.objects.for_user(user)
            .filter(module__in=list(statuses))
            .select_related("module_version")
            .order_by("updated_at")
        )
        for row in rows:
            status = statuses[row.module_id]
            status.progress = row  # ordered by updated_at: the last one wins
            if row.completed_at is not None:
                version = row.module_version.version
                status.completed_version = max(status.completed_version or 0, version)
    return [statuses[module.pk] for module in catalogue]


def tracks_overview(user: Any) -> list[TrackSummary]:
    summaries: dict[int, TrackSummary] = {}
    for status in module_statuses(user):
        track = status.module.track
        summaries.setdefault(track.pk, TrackSummary(track)).modules.append(status)
    return sorted(summaries.values(), key=lambda summary: summary.track.order)


@dataclass
class Dashboard:
    tracks: list[TrackSummary]
    done: list[ModuleStatus]
    in_progress: list[ModuleStatus]
    resume: ModuleStatus | None
    next_up: ModuleStatus | None


def learner_dashboard(user: Any) -> Dashboard:
    tracks = tracks_overview(user)
    statuses = [status for summary in tracks for status in summary.modules]
    in_progress = [s for s in statuses if s.started and not s.completed]
    in_progress.sort(key=lambda s: s.progress.updated_at if s.progress else timezone.now())
    in_progress.reverse()
    not_started = [s for s in statuses if not s.started and not s.completed]
    required_first = sorted(not_started, key=lambda s: not s.module.required_for_exam)
    return Dashboard(
        tracks=tracks,
        done=[s for s in statuses if s.completed],
        in_progress=in_progress,
        resume=in_progress[0] if in_progress else None,
        next_up=required_first[0] if required_first else None,
    )


def completed_module_ids(user: Any) -> set[int]:
    return set(
        ModuleProgress.objects.for_user(user).completed().values_list("module_id", flat=True)
    )


def current_progress(user: Any, version: ModuleVersion) -> ModuleProgress | None:
    if not user.is_authenticated:
        return None
    return ModuleProgress.objects.filter(user=user, module_version=version).first()


# --- Quiz read side -----------------------------------------------------------------------


@dataclass
class QuizItem:
    question: Question
    choices: list[Choice]
    answer: QuizAnswer | None

    @property
    def correct_orders(self) -> set[int]:
        return {choice.order for choice in self.choices if choice.is_correct}


@dataclass
class QuizState:
    items: list[QuizItem]
    needed: int

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def answered(self) -> int:
        return sum(1 for item in self.items if item.answer is not None)

    @property
    def correct(self) -> int:
        return sum(1 for item in self.items if item.answer is not None and item.answer.correct)

    @property
    def passed(self) -> bool:
        return self.answered == self.total and self.correct >= self.needed


def quiz_needed(total: int) -> int:
    return math.ceil(total * conf.quiz_pass_ratio())


def quiz_state(user: Any, module: Module, version: ModuleVersion) -> QuizState:
    questions = list(Question.objects.quiz_for(module).prefetch_related("choices"))
    answers: dict[int, QuizAnswer] = {}
    if user.is_authenticated:
        answers = {
            answer.question_id: answer
            for answer in QuizAnswer.objects.filter(
                user=user, module_version=version, question__in=questions
            )
        }
    items = [QuizItem(q, list(q.choices.all()), answers.get(q.pk)) for q in questions]
    return QuizState(items=items, needed=quiz_needed(len(items)))


# --- Write side ---------------------------------------------------------------------------


def _locked_progress(user: User, version: ModuleVersion) -> ModuleProgress:
    progress, _ = ModuleProgress.objects.get_or_create(
        user=user, module_version=version, defaults={"module_id": version.module_id}
    )
    return (
        ModuleProgress.objects.select_for_update()
        .select_related("module_version")
        .get(pk=progress.pk)
    )


def _maybe_complete(progress: ModuleProgress, module: Module, now: datetime) -> None:
    """Mark complete (once) when all sections are read and the quiz is passed; xAPI it."""
    if progress.completed_at is not None:
        return
    if not set(progress.module_version.required_section_ids) <= set(progress.sections_read):
        return
    if progress.quiz_passed_at is None and Question.objects.quiz_for(module).exists():
        return
    progress.completed_at = now
    xapi_record(
        user=progress.user,
        verb=XapiStatement.Verb.COMPLETED,
        kind="module",
        slug=module.slug,
        name=module.title,
        timestamp=now,
        result={"completion": True},
        extensions={
            conf.site_url() + "/xapi/extensions/module-version": progress.module_version.version
        },
    )


def progress_mark_section_read(
    *,
    user: User,
    module: Module,
    section_id: str,
    now: datetime | None = None,
) -> ModuleProgress:
    """Mark one `##` section of the module's current version read; safe to repeat."""
    version = module.current()
    if section_id not in version.section_ids:
        raise LearningError(f"{module.slug} has no section {section_id!r}")
    moment = now or timezone.now()
    with transaction.atomic():
        progress = _locked_progress(user, version)
        if section_id not in progress.sections_read:
            progress.sections_read = [*progress.sections_read, section_id]
        progress.last_section = section_id
        _maybe_complete(progress, module, moment)
        progress.save()
    return progress


@dataclass(frozen=True)
class QuizFeedback:
    question: Question
    answer: QuizAnswer
    correct_orders: set[int]
    passed_now: bool  # this answer made the learner pass the quiz


def quiz_answer_submit(
    *,
    user: User,
    module: Module,
    qid: str,
    chosen: set[int],
    now: datetime | None = None,
) -> QuizFeedback:
    """Check one quiz answer on the server and keep it (the latest answer counts).

    `chosen` holds Choice.order values. Raises LearningError for a question outside this
    module's quiz or choices that do not exist.
    """
    question = Question.objects.quiz_for(module).prefetch_related("choices").filter(qid=qid).first()
    if question is None:
        raise LearningError(f"{qid!r} is not a question of the {module.slug} quiz")
    orders = {choice.order for choice in question.choices.all()}
    if not chosen or not chosen <= orders:
        raise LearningError("choose one of the answers")
    if question.type == Question.Type.SINGLE and len(chosen) != 1:
        raise LearningError("choose exactly one answer")
    version = module.current()
    moment = now or timezone.now()
    correct = question.is_answered_correctly(chosen)
    with transaction.atomic():
        progress = _locked_progress(user, version)
        answer, created = QuizAnswer.objects.get_or_create(
            user=user,
            question=question,
            module_version=version,
            defaults={"chosen": sorted(chosen), "correct": correct, "answered_at": moment},
        )
        if not created:
            answer.chosen, answer.correct, answer.answered_at = sorted(chosen), correct, moment
            answer.attempts += 1
            answer.save(update_fields=["chosen", "correct", "answered_at", "attempts"])
        passed_now = False
        if progress.quiz_passed_at is None:
            state = quiz_state(user, module, version)
            if state.passed:
                passed_now = True
                progress.quiz_passed_at = moment
                xapi_record(
                    user=user,
                    verb=XapiStatement.Verb.PASSED,
                    kind="quiz",
                    slug=module.slug,
                    name=f"Quiz: {module.title}",
                    timestamp=moment,
                    result={
                        "success": True,
                        "completion": True,
                        "score": {
                            "raw": state.correct,
                            "min": 0,
                            "max": state.total,
                            "scaled": round(state.correct / state.total, 4),
                        },
                    },
                )
        _maybe_complete(progress, module, moment)
        progress.save()
    return QuizFeedback(question, answer, question.correct_orders(), passed_now)


# --- Required modules: the one count behind Slack, the people list and the nudges ---------


@dataclass(frozen=True)
class RequiredModules:
    done: int  # required modules completed (any version)
    total: int  # published modules required for the exam

    @property
    def left(self) -> int:
        return self.total - self.done


@dataclass(frozen=True)
class RequiredCounts:
    total: int
    done: dict[int, int]

    def of(self, user_id: int) -> RequiredModules:
        return RequiredModules(done=self.done.get(user_id, 0), total=self.total)


def required_modules_done(user_ids: Iterable[int]) -> RequiredCounts:
    """How many required modules each user has completed, in one query. Only required
    modules count: a completed optional or retired module never makes "12 of 10"."""
    required = Module.objects.required()
    done = (
        ModuleProgress.objects.filter(user_id__in=list(user_ids), module__in=required)
        .completed()
        .values("user_id")
        .annotate(modules=Count("module_id", distinct=True))
        .values_list("user_id", "modules")
    )
    return RequiredCounts(total=required.count(), done=dict(done))


def required_modules(user: Any) -> RequiredModules:
    return required_modules_done([user.pk]).of(user.pk)


# --- One-line summaries for Slack (bot.summaries and bot.app_home read these) ----------------


def user_learning_summary(user: Any) -> str:
    """e.g. "4 of 10 modules done, credential valid until 2028-06-01"."""
    required = required_modules(user)
    done, total = required.done, required.total
    credential = Credential.objects.filter(user=user).active().order_by("-expires_at").first()
    text = f"{done} of {total} modules done"
    if credential:
        text += f", credential valid until {credential.expires_at:%Y-%m-%d}"
    return text


def team_learning_summary(team: Any) -> str:
    """e.g. "12 modules completed across 4 people, 1 credential earned"."""
    members = list(team.members.values_list("pk", flat=True))
    if not members:
        return ""
    done = (
        ModuleProgress.objects.filter(user_id__in=members)
        .completed()
        .values("user_id", "module_id")
        .distinct()
        .count()
    )
    credentials = Credential.objects.filter(user_id__in=members).active().count()
    plural = "s" if credentials != 1 else ""
    return (
        f"{done} module{'s' if done != 1 else ''} completed across {len(members)} "
        f"{'person' if len(members) == 1 else 'people'}, {credentials} valid credential{plural}"
    )
