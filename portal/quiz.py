"""Module quizzes that teach: attempts with drawn questions, shuffled choices and opaque values.

- An attempt draws `PORTAL_QUIZ_QUESTIONS` questions (all of them when the module has fewer)
  from the module's active quiz, preferring questions the previous attempt did not ask, then
  those it got wrong, and shuffles the questions and each question's choices.
- The browser never sees a choice's position: each choice is sent as an HMAC token keyed on
  the attempt, the question and the choice (`choice_token`), so a value means nothing outside
  its attempt and posting "the first value" is a random guess.
- Submitting grades every question on the server (all correct choices and nothing else),
  records the attempt, keeps the latest answer per question in `QuizAnswer`, and passes the
  quiz at `PORTAL_QUIZ_PASS_RATIO` of the questions asked. A failed attempt is reviewed without
  the right answers (`attempt_review`); the next attempt is a new draw.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from curriculum.models import Choice, Module, ModuleVersion, Question
from portal import conf
from portal.learning import LearningError, _locked_progress, _maybe_complete, quiz_needed
from portal.models import QuizAnswer, QuizAttempt, XapiStatement
from portal.xapi import xapi_record

_rng = random.SystemRandom()


def choice_token(attempt: QuizAttempt, qid: str, order: int) -> str:
    """The form value of one choice in one attempt: opaque, stable within the attempt."""
    message = f"quiz-choice:{attempt.public_id}:{qid}:{order}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:16]


def quiz_questions(module: Module) -> dict[str, Question]:
    """The module's active quiz questions with their choices, by qid (two queries)."""
    return {q.qid: q for q in Question.objects.quiz_for(module).prefetch_related("choices")}


def _draw(questions: list[Question], previous: QuizAttempt | None) -> list[Question]:
    count = min(conf.quiz_question_count(), len(questions))
    asked = {item["qid"] for item in previous.items} if previous else set()
    wrong = (
        {item["qid"] for item in previous.items if not item.get("correct")} if previous else set()
    )

    def rank(question: Question) -> tuple[int, float]:
        group = 0 if question.qid not in asked else (1 if question.qid in wrong else 2)
        return (group, _rng.random())

    drawn = sorted(questions, key=rank)[:count]
    _rng.shuffle(drawn)
    return drawn


def quiz_attempt_start(
    *,
    user: User,
    module: Module,
    now: datetime | None = None,
    questions: dict[str, Question] | None = None,
    version: ModuleVersion | None = None,
    latest: tuple[QuizAttempt | None, QuizAttempt | None] | None = None,
) -> QuizAttempt:
    """The learner's open attempt at this module's quiz, or a new one (a fresh draw and
    shuffle). Safe to call twice, also concurrently: one open attempt per learner and module.

    `questions` (quiz_questions), `version` (the module's current one) and `latest`
    (latest_attempts) may be passed by a caller that already loaded them.
    """
    open_attempt, previous = latest if latest is not None else latest_attempts(user, module)
    if open_attempt is not None:
        return open_attempt
    pool = list((questions if questions is not None else quiz_questions(module)).values())
    if not pool:
        raise LearningError(f"{module.slug} has no quiz")
    items = []
    for question in _draw(pool, previous):
        order = [choice.order for choice in question.choices.all()]
        _rng.shuffle(order)
        items.append({"qid": question.qid, "order": order, "chosen": [], "correct": None})
    try:
        with transaction.atomic():
            return QuizAttempt.objects.create(
                user=user,
                module=module,
                module_version=version or module.current(),
                items=items,
                started_at=now or timezone.now(),
                needed=quiz_needed(len(items)),
            )
    except IntegrityError:
        existing = QuizAttempt.objects.filter(
            user=user, module=module, submitted_at__isnull=True
        ).first()
        if existing is None:
            raise
        return existing


@dataclass(frozen=True)
class ShownChoice:
    token: str
    choice: Choice
    chosen: bool


@dataclass(frozen=True)
class ShownItem:
    number: int
    question: Question
    choices: list[ShownChoice]
    correct: bool | None  # None while the attempt is open

    @property
    def multiple(self) -> bool:
        return self.question.type == Question.Type.MULTIPLE

    @property
    def chosen_wrong(self) -> list[Choice]:
        return [c.choice for c in self.choices if c.chosen and not c.choice.is_correct]

    @property
    def missed_some(self) -> bool:
        """Every choice picked is right, but not all the right ones were picked."""
        return not self.correct and not self.chosen_wrong and any(c.chosen for c in self.choices)


def attempt_items(
    attempt: QuizAttempt, questions: dict[str, Question] | None = None
) -> list[ShownItem]:
    """The attempt's questions as shown, choices in the attempt's order with their tokens."""
    if questions is None:
        questions = quiz_questions(attempt.module)
    shown: list[ShownItem] = []
    for number, item in enumerate(attempt.items, start=1):
        question = questions.get(item["qid"])
        if question is None:  # retired since the draw: it no longer counts either way
            continue
        by_order = {choice.order: choice for choice in question.choices.all()}
        chosen = set(item.get("chosen") or [])
        shown.append(
            ShownItem(
                number=number,
                question=question,
                choices=[
                    ShownChoice(
                        choice_token(attempt, question.qid, order), by_order[order], order in chosen
                    )
                    for order in item["order"]
                    if order in by_order
                ],
                correct=item.get("correct"),
            )
        )
    return shown


def quiz_attempt_submit(
    *,
    attempt: QuizAttempt,
    answers: dict[str, list[str]],
    now: datetime | None = None,
) -> QuizAttempt:
    """Grade an open attempt. `answers` maps qid -> the tokens posted for it.

    Raises LearningError (and changes nothing) when a question is unanswered, a token does not
    belong to the question in this attempt, or a single-answer question has two. A submitted
    attempt is returned as it is (a double submit changes nothing).
    """
    moment = now or timezone.now()
    module = attempt.module
    questions = quiz_questions(module)
    with transaction.atomic():
        locked = QuizAttempt.objects.select_for_update().get(pk=attempt.pk)
        if not locked.is_open:
            return locked
        graded: list[dict[str, Any]] = []
        missing: list[int] = []
        for number, item in enumerate(locked.items, start=1):
            question = questions.get(item["qid"])
            if question is None:
                continue
            by_token = {choice_token(locked, item["qid"], order): order for order in item["order"]}
            posted = answers.get(item["qid"], [])
            if not posted:
                missing.append(number)
                continue
            if any(token not in by_token for token in posted):
                raise LearningError(f"Question {number}: that answer is not one of its choices.")
            chosen = sorted({by_token[token] for token in posted})
            if question.type == Question.Type.SINGLE and len(chosen) != 1:
                raise LearningError(f"Question {number}: choose exactly one answer.")
            graded.append(
                {**item, "chosen": chosen, "correct": question.is_answered_correctly(set(chosen))}
            )
        if missing:
            listed = ", ".join(str(n) for n in missing)
            raise LearningError(
                f"Answer every question before submitting (not answered: {listed})."
            )
        locked.items = graded
        locked.score = sum(1 for item in graded if item["correct"])
        locked.needed = quiz_needed(len(graded))
        locked.passed = locked.score >= locked.needed
        locked.submitted_at = moment
        locked.save(update_fields=["items", "score", "needed", "passed", "submitted_at"])
        for item in graded:
            _keep_latest_answer(locked, questions[item["qid"]], item, moment)
        progress = _locked_progress(locked.user, locked.module_version)
        score = {
            "raw": locked.score,
            "min": 0,
            "max": len(graded),
            "scaled": round(locked.score / max(1, len(graded)), 4),
        }
        xapi_record(
            user=locked.user,
            verb=XapiStatement.Verb.PASSED if locked.passed else XapiStatement.Verb.FAILED,
            kind="quiz",
            slug=module.slug,
            name=f"Quiz: {module.title}",
            timestamp=moment,
            result={"success": bool(locked.passed), "completion": True, "score": score},
            registration=str(locked.public_id),
        )
        if locked.passed and progress.quiz_passed_at is None:
            progress.quiz_passed_at = moment
        _maybe_complete(progress, module, moment)
        progress.save()
    return locked


def _keep_latest_answer(
    attempt: QuizAttempt, question: Question, item: dict[str, Any], moment: datetime
) -> None:
    answer, created = QuizAnswer.objects.get_or_create(
        user=attempt.user,
        question=question,
        module_version=attempt.module_version,
        defaults={"chosen": item["chosen"], "correct": item["correct"], "answered_at": moment},
    )
    if not created:
        answer.chosen, answer.correct, answer.answered_at = item["chosen"], item["correct"], moment
        answer.attempts += 1
        answer.save(update_fields=["chosen", "correct", "answered_at", "attempts"])


def latest_attempts(user: Any, module: Module) -> tuple[QuizAttempt | None, QuizAttempt | None]:
    """(the open attempt, the latest submitted attempt) of this learner at this quiz."""
    rows = list(
        QuizAttempt.objects.for_user(user).filter(module=module).order_by("-started_at")[:2]
    )
    open_attempt = next((row for row in rows if row.is_open), None)
    last = next((row for row in rows if not row.is_open), None)
    return open_attempt, last
