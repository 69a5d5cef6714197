"""The certification exam: eligibility, drawing questions, saving answers, grading.

Everything that makes the exam fair is decided here, on the server:

- Eligibility: every published module with `required_for_exam` completed; at most
  `max_attempts` attempts started in the last `attempt_window_months`; after the n-th failed
  attempt since the last pass, a wait of `waiting_days[n-1]` days (the last entry repeats);
  a holder of a valid credential may re-take it only in the renewal window before expiry.
- Drawing: `Exam.blueprint()` questions per domain and difficulty from the active bank (every
  attempt has the same domain x difficulty mix), chosen with the system's CSPRNG; questions
  and each question's choices are shuffled per attempt.
- Timer: `deadline = started_at + duration`. Saving an answer after the deadline is refused;
  grading counts only answers saved by the deadline. An attempt left open past its deadline is
  graded on the next request that touches it (or by `portal.tasks.finalize_expired_attempts`).
- Answers are stored as Choice.order positions (choices are edited in place by position).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from curriculum.models import Choice, Exam, Module, Question
from portal import conf
from portal.credentials import add_months, credential_issue_or_renew
from portal.learning import completed_module_ids
from portal.models import AttemptQuestion, Credential, ExamAttempt, XapiStatement
from portal.xapi import iso_duration, xapi_record

_rng = random.SystemRandom()


class ExamError(Exception):
    """A request the exam rules refuse; the message is shown to the learner."""


class ExamUnavailable(ExamError):
    pass


class AttemptClosed(ExamError):
    pass


def current_exam() -> Exam | None:
    return Exam.objects.filter(retired=False).order_by("slug").first()


# --- Eligibility --------------------------------------------------------------------------


@dataclass
class Eligibility:
    exam: Exam
    missing_modules: list[Module] = field(default_factory=list)
    open_attempt: ExamAttempt | None = None
    attempts_in_window: int = 0
    next_attempt_at: datetime | None = None
    reasons: list[str] = field(default_factory=list)
    active_credential: Credential | None = None
    renewal: bool = False
    history: list[ExamAttempt] = field(default_factory=list)  # finished attempts, newest first
    renewal_opens_at: datetime | None = None  # with a valid credential: when re-taking opens
    credential_reason: str = ""  # the reason (among `reasons`) that is only "already certified"

    @property
    def can_start(self) -> bool:
        return self.open_attempt is None and not self.reasons

    @property
    def other_reasons(self) -> list[str]:
        """What stands in the way besides holding a valid credential (that one is good news)."""
        return [reason for reason in self.reasons if reason != self.credential_reason]

    @property
    def attempts_left(self) -> int:
        return max(0, self.exam.max_attempts - self.attempts_in_window)


def exam_eligibility(
    *,
    user: Any,
    exam: Exam,
    now: datetime | None = None,
    completed_ids: set[int] | None = None,
    credentials: list[Credential] | None = None,
    catalogue: list[Module] | None = None,
) -> Eligibility:
    """Whether `user` may start an attempt now, and if not, why and from when. Read-only
    apart from grading this user's attempt left open past its deadline.

    completed_ids (module ids the user completed), credentials (the user's credentials) and
    catalogue (Module.objects.catalogue()) may be passed by a caller that already loaded them,
    to save queries.
    """
    moment = now or timezone.now()
    result = Eligibility(exam=exam)
    attempts = list(ExamAttempt.objects.filter(user=user, exam=exam).order_by("started_at"))
    for index, attempt in enumerate(attempts):
        if attempt.is_open:
            attempts[index] = attempt_finalize_if_expired(attempt=attempt, now=moment)
            if attempts[index].is_open:
                result.open_attempt = attempts[index]
    history = [attempt for attempt in attempts if not attempt.is_open]
    result.history = list(reversed(history))
    if result.open_attempt is not None:
        return result

    modules = catalogue if catalogue is not None else list(Module.objects.catalogue())
    required = [module for module in modules if module.required_for_exam]
    done = completed_ids if completed_ids is not None else completed_module_ids(user)
    result.missing_modules = [module for module in required if module.pk not in done]
    if result.missing_modules:
        result.reasons.append(
            f"Complete the required modules first ({len(result.missing_modules)} to go)."
        )

    window_start = add_months(moment, -exam.attempt_window_months)
    in_window = [a for a in history if a.started_at > window_start]
    result.attempts_in_window = len(in_window)
    waits: list[datetime] = []
    if len(in_window) >= exam.max_attempts:
        frees_at = add_months(in_window[-exam.max_attempts].started_at, exam.attempt_window_months)
        waits.append(frees_at)
        result.reasons.append(
            f"You have used all {exam.max_attempts} attempts allowed in "
            f"{exam.attempt_window_months} months."
        )
    failures_since_pass = 0
    for attempt in reversed(history):
        if attempt.passed:
            break
        failures_since_pass += 1
    if history and not history[-1].passed and exam.waiting_days:
        days = exam.waiting_days[min(failures_since_pass, len(exam.waiting_days)) - 1]
        ends = (history[-1].submitted_at or history[-1].started_at) + timedelta(days=int(days))
        if ends > moment:
            waits.append(ends)
            result.reasons.append(
                f"Waiting period: {days} day{'s' if days != 1 else ''} after a failed attempt."
            )

    if credentials is None:
        credentials = list(Credential.objects.for_user(user).filter(exam=exam))
    active = next(
        (
            c
            for c in credentials
            if c.exam_id == exam.pk and c.state(at=moment) == Credential.State.VALID
        ),
        None,
    )
    if active is not None:
        result.active_credential = active
        opens = active.expires_at - timedelta(days=conf.renewal_window_days())
        result.renewal_opens_at = opens
        if opens > moment:
            waits.append(opens)
            result.credential_reason = (
                f"You hold a valid credential; renewal opens on {opens:%Y-%m-%d}, "
                f"{conf.renewal_window_days()} days before it expires."
            )
            result.reasons.append(result.credential_reason)
        else:
            result.renewal = True
    if waits:
        result.next_attempt_at = max(waits)
    return result


# --- Starting -----------------------------------------------------------------------------


def _draw(exam: Exam) -> list[tuple[Question, str]]:
    """Questions by the exam's blueprint (`Exam.blueprint()`: per domain by weight, and within
    each domain per difficulty by `difficulty_mix`), so that every attempt has the same mix;
    shuffled across domains."""
    drawn: list[tuple[Question, str]] = []
    blueprint = exam.blueprint()
    if not blueprint:
        raise ExamUnavailable("The exam has no active domains.")
    domains = sorted({domain for domain, _ in blueprint})
    bank = (
        Question.objects.exam_bank()
        .filter(domain__in=domains)
        .only("id", "domain", "difficulty")
        .order_by("pk")
    )
    by_cell: dict[tuple[str, str], list[Question]] = defaultdict(list)
    for question in bank:
        by_cell[(question.domain, question.difficulty)].append(question)
        by_cell[(question.domain, "")].append(question)  # "" = any difficulty
    for (domain, level), count in blueprint.items():
        pool = by_cell.get((domain, level), [])
        if len(pool) < count:
            label = f"{domain} ({level})" if level else domain
            raise ExamUnavailable(
                f"The question bank for {label} has {len(pool)} questions; {count} are needed."
            )
        drawn.extend((question, domain) for question in _rng.sample(pool, count))
    _rng.shuffle(drawn)
    return drawn


def attempt_start(*, user: User, exam: Exam, now: datetime | None = None) -> ExamAttempt:
    """Start an attempt, or return the learner's open one. Raises ExamError when not eligible.

    Two concurrent starts cannot both succeed: a partial unique constraint allows one open
    attempt per learner and exam, and the loser gets the winner's attempt back.
    """
    moment = now or timezone.now()
    eligibility = exam_eligibility(user=user, exam=exam, now=moment)
    if eligibility.open_attempt is not None:
        return eligibility.open_attempt
    if not eligibility.can_start:
        raise ExamError(" ".join(eligibility.reasons))
    drawn = _draw(exam)
    choice_orders: dict[int, list[int]] = defaultdict(list)
    for question_id, order in Choice.objects.filter(
        question_id__in=[q.pk for q, _ in drawn]
    ).values_list("question_id", "order"):
        choice_orders[question_id].append(order)
    try:
        with transaction.atomic():
            attempt = ExamAttempt.objects.create(
                user=user,
                exam=exam,
                exam_version=exam.version,
                started_at=moment,
                deadline=moment + timedelta(minutes=exam.duration_minutes),
                question_count=len(drawn),
                pass_mark=exam.pass_mark(),
            )
            rows = []
            for position, (question, domain) in enumerate(drawn, start=1):
                shown = sorted(choice_orders[question.pk])
                _rng.shuffle(shown)
                rows.append(
                    AttemptQuestion(
                        attempt=attempt,
                        position=position,
                        question=question,
                        domain=domain,
                        choice_order=shown,
                    )
                )
            AttemptQuestion.objects.bulk_create(rows)
    except IntegrityError:
        existing = ExamAttempt.objects.filter(
            user=user, exam=exam, status=ExamAttempt.Status.IN_PROGRESS
        ).first()
        if existing is None:
            raise
        return existing
    return attempt


# --- Answering ------------------------------------------------------------------------------


def attempt_answer_save(
    *,
    attempt: ExamAttempt,
    position: int,
    shown_indexes: list[int],
    now: datetime | None = None,
) -> AttemptQuestion:
    """Save the answer to question `position` (choices given as indexes in the order shown).

    An empty list clears the answer. Refused (AttemptClosed) once the attempt is graded or its
    deadline has passed; in the latter case the attempt is graded on the spot.
    """
    moment = now or timezone.now()
    if moment > attempt.deadline:
        # Grade outside the refused save, so the grading is not rolled back with it.
        attempt_submit(attempt=attempt, now=moment)
        raise AttemptClosed(
            "Time is up: this answer was not saved. Answers saved before the deadline count."
        )
    with transaction.atomic():
        locked = ExamAttempt.objects.select_for_update().get(pk=attempt.pk)
        if not locked.is_open:
            raise AttemptClosed("This attempt is over; answers can no longer change.")
        item = AttemptQuestion.objects.select_related("question").get(
            attempt=locked, position=position
        )
        if any(index < 0 or index >= len(item.choice_order) for index in shown_indexes):
            raise ExamError("That choice does not exist.")
        unique = sorted(set(shown_indexes))
        if item.question.type == Question.Type.SINGLE and len(unique) > 1:
            raise ExamError("Choose one answer.")
        item.chosen = sorted(item.choice_order[index] for index in unique)
        item.answered_at = moment if unique else None
        item.save(update_fields=["chosen", "answered_at"])
    return item


# --- Grading ------------------------------------------------------------------------------


def attempt_submit(*, attempt: ExamAttempt, now: datetime | None = None) -> ExamAttempt:
    """Grade the attempt (idempotent: a graded attempt is returned as it is).

    Counts only answers saved by the deadline. Records xAPI passed/failed and, on a pass,
    issues or renews the credential, all in one transaction.
    """
    moment = now or timezone.now()
    with transaction.atomic():
        locked = (
            ExamAttempt.objects.select_for_update()
            .select_related("exam", "user")
            .get(pk=attempt.pk)
        )
        if not locked.is_open:
            return locked
        items = list(AttemptQuestion.objects.filter(attempt=locked))
        correct_by_question: dict[int, set[int]] = defaultdict(set)
        for question_id, order in Choice.objects.filter(
            question_id__in=[item.question_id for item in items], is_correct=True
        ).values_list("question_id", "order"):
            correct_by_question[question_id].add(order)
        domains = {
            domain.slug: domain.title for domain in locked.exam.domains.order_by("order", "slug")
        }
        tally: dict[str, list[int]] = {slug: [0, 0] for slug in domains}
        for item in items:
            in_time = item.answered_at is not None and item.answered_at <= locked.deadline
            item.correct = in_time and set(item.chosen) == correct_by_question[item.question_id]
            counts = tally.setdefault(item.domain, [0, 0])
            counts[0] += int(bool(item.correct))
            counts[1] += 1
        AttemptQuestion.objects.bulk_update(items, ["correct"])
        locked.score = sum(counts[0] for counts in tally.values())
        locked.domain_scores = [
            {"slug": slug, "title": domains.get(slug, slug), "correct": c, "total": t}
            for slug, (c, t) in tally.items()
            if t
        ]
        locked.submitted_at = min(moment, locked.deadline)
        passed = locked.score >= locked.pass_mark
        locked.status = ExamAttempt.Status.PASSED if passed else ExamAttempt.Status.FAILED
        locked.save(update_fields=["score", "domain_scores", "submitted_at", "status"])
        xapi_record(
            user=locked.user,
            verb=XapiStatement.Verb.PASSED if passed else XapiStatement.Verb.FAILED,
            kind="exam",
            slug=locked.exam.slug,
            name=locked.exam.title,
            timestamp=locked.submitted_at,
            result={
                "success": passed,
                "completion": True,
                "duration": iso_duration(locked.submitted_at - locked.started_at),
                "score": {
                    "raw": locked.score,
                    "min": 0,
                    "max": locked.question_count,
                    "scaled": round(locked.score / max(1, locked.question_count), 4),
                },
            },
            registration=str(locked.public_id),
        )
        if passed:
            credential_issue_or_renew(attempt=locked)
    return locked


def attempt_finalize_if_expired(
    *, attempt: ExamAttempt, now: datetime | None = None
) -> ExamAttempt:
    moment = now or timezone.now()
    if attempt.is_open and moment > attempt.deadline:
        return attempt_submit(attempt=attempt, now=moment)
    return attempt


def attempts_finalize_expired(*, now: datetime | None = None) -> int:
    """Grade every attempt left open past its deadline; returns how many. Safe to re-run."""
    moment = now or timezone.now()
    count = 0
    for attempt in ExamAttempt.objects.filter(
        status=ExamAttempt.Status.IN_PROGRESS, deadline__lt=moment
    ):
        graded = attempt_submit(attempt=attempt, now=moment)
        count += int(graded.submitted_at is not None)
    return count


# --- Reading an attempt -------------------------------------------------------------------


@dataclass(frozen=True)
class ShownQuestion:
    """What the browser may see of a question during an attempt: no correctness, no
    explanation, choices in the attempt's shuffled order with index values."""

    position: int
    prompt: str
    multiple: bool
    choices: list[tuple[int, str, bool]]  # (index shown, text, chosen)
    answered: bool


def shown_question(item: AttemptQuestion) -> ShownQuestion:
    texts = {choice.order: choice.text for choice in item.question.choices.all()}
    chosen = set(item.chosen)
    return ShownQuestion(
        position=item.position,
        prompt=item.question.prompt,
        multiple=item.question.type == Question.Type.MULTIPLE,
        choices=[
            (index, texts.get(order, ""), order in chosen)
            for index, order in enumerate(item.choice_order)
        ],
        answered=bool(item.chosen),
    )


def attempt_progress(attempt: ExamAttempt) -> list[dict[str, Any]]:
    """Position and answered flag of each question (for the navigation), one query."""
    return [
        {"position": position, "answered": bool(chosen)}
        for position, chosen in AttemptQuestion.objects.filter(attempt=attempt)
        .order_by("position")
        .values_list("position", "chosen")
    ]
