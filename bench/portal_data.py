"""Generated learners for bench/portal.py: 10,000 people at every stage of the journey.

Imported after `django.setup()`. Everything is derived from one seeded `random.Random`, so two
runs build the same population. Users, exam attempts and credentials go through bulk_create
(their ids are needed); module progress, quiz answers and attempt questions, the big tables,
go through COPY. Learners are spread over these stages (shares of `--learners`):

- new (12%): an account and nothing else;
- learning (38%): 0-9 modules completed in catalogue order, the next one part-read (and for
  some, its quiz part-answered);
- ready (20%): every module completed; no attempt yet, or one or two failed attempts whose
  waiting period is over: eligible to start the exam now;
- waiting (5%): every module completed, failed within the last 14 days;
- certified (25%): every module completed, passed (some after failing first), credential
  issued on the pass; passes older than the validity are expired credentials, 3% revoked.

Quiz answers are the latest answers (one row per question, like the product keeps them),
attempt questions are drawn by domain quota from the real bank with shuffled choices.
Credentials are stored unsigned (`document` empty): no page measured reads the document, and
signing 2,500 of them would dominate the set-up. No xAPI statements either, for the same reason.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import connection
from django.utils import timezone

from curriculum.models import Choice, Exam, Module, Question
from portal.credentials import add_months
from portal.models import Credential, ExamAttempt, Profile
from portal.roles import Role

PASSWORD = "bench-portal-pass"
EMAIL = "learner{:05d}@bench.example.com"
FIRST = ["Ada", "Ben", "Chloe", "Dev", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi"]
LAST = ["Lopez", "Meyer", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi", "Singh", "Tanaka"]
STAGES = [
    ("new", 0.12),
    ("learning", 0.38),
    ("ready", 0.20),
    ("waiting", 0.05),
    ("certified", 0.25),
]


@dataclass
class QuizQuestion:
    pk: int
    orders: list[int]
    correct: list[int]


@dataclass
class ModuleFacts:
    pk: int
    slug: str
    version_id: int
    sections: list[str]
    quiz: list[QuizQuestion]


@dataclass
class Curriculum:
    modules: list[ModuleFacts]
    exam: Exam
    quotas: dict[str, int]
    bank: dict[str, list[int]]  # domain -> question ids
    choice_orders: dict[int, list[int]]
    correct_orders: dict[int, list[int]]
    domain_titles: dict[str, str]


@dataclass
class Population:
    users: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))  # by stage
    counts: dict[str, int] = field(default_factory=dict)  # rows per table


def load_curriculum() -> Curriculum:
    exam = Exam.objects.filter(retired=False).order_by("slug").first()
    if exam is None:
        raise SystemExit("no exam in the curriculum: curriculum_sync loaded nothing?")
    choices: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    for question_id, order, is_correct in Choice.objects.values_list(
        "question_id", "order", "is_correct"
    ):
        choices[question_id].append((order, is_correct))
    modules = []
    for module in Module.objects.catalogue():
        version = module.current()
        quiz = [
            QuizQuestion(
                q.pk,
                sorted(o for o, _ in choices[q.pk]),
                sorted(o for o, ok in choices[q.pk] if ok),
            )
            for q in Question.objects.quiz_for(module)
        ]
        modules.append(ModuleFacts(module.pk, module.slug, version.pk, version.section_ids, quiz))
    quotas = exam.questions_per_domain()
    bank: dict[str, list[int]] = defaultdict(list)
    for pk, domain in Question.objects.exam_bank().values_list("pk", "domain"):
        bank[domain].append(pk)
    return Curriculum(
        modules=modules,
        exam=exam,
        quotas=quotas,
        bank=dict(bank),
        choice_orders={pk: sorted(o for o, _ in rows) for pk, rows in choices.items()},
        correct_orders={pk: sorted(o for o, ok in rows if ok) for pk, rows in choices.items()},
        domain_titles=dict(exam.domains.values_list("slug", "title")),
    )


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    count = 0
    with connection.cursor() as cur:
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with cur.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


class Builder:
    """Accumulates the rows of one population, then writes them."""

    def __init__(self, cur: Curriculum, rng: random.Random, now: datetime) -> None:
        self.cur, self.rng, self.now = cur, rng, now
        self.progress: list[tuple[Any, ...]] = []
        self.answers: list[tuple[Any, ...]] = []
        # Attempts are bulk_created (ids needed), their questions COPYed afterwards.
        self.attempts: list[tuple[int, ExamAttempt, list[tuple[Any, ...]]]] = []
        self.credentials: list[tuple[int, int]] = []  # (user id, index into attempts)

    # --- modules ------------------------------------------------------------------------
    def complete_module(self, user_id: int, module: ModuleFacts, at: datetime) -> None:
        started = at - timedelta(hours=self.rng.uniform(0.5, 72))
        self.progress.append(
            (
                user_id,
                module.version_id,
                module.pk,
                json.dumps(module.sections),
                module.sections[-1] if module.sections else "",
                at,
                at,
                started,
                at,
            )
        )
        needed = -(-len(module.quiz) * 4 // 5)  # ceil(0.8 n)
        wrong = self.rng.sample(range(len(module.quiz)), len(module.quiz) - needed)
        wrong = wrong[: self.rng.randint(0, len(wrong))]
        for index, question in enumerate(module.quiz):
            self.answers.append(self.answer(user_id, module, question, index not in wrong, at))

    def answer(
        self, user_id: int, module: ModuleFacts, question: QuizQuestion, right: bool, at: datetime
    ) -> tuple[Any, ...]:
        if right or len(question.orders) == len(question.correct):
            chosen = question.correct
        else:
            chosen = [self.rng.choice([o for o in question.orders if o not in question.correct])]
        return (
            user_id,
            question.pk,
            module.version_id,
            json.dumps(chosen),
            right,
            self.rng.choice([1, 1, 1, 2, 3]),
            at - timedelta(minutes=self.rng.uniform(1, 30)),
        )

    def partial_module(self, user_id: int, module: ModuleFacts, at: datetime) -> None:
        read = self.rng.randint(1, len(module.sections))
        sections = module.sections[:read]
        self.progress.append(
            (
                user_id,
                module.version_id,
                module.pk,
                json.dumps(sections),
                sections[-1],
                None,
                None,
                at - timedelta(hours=self.rng.uniform(0.5, 48)),
                at,
            )
        )
        if read == len(module.sections):
            answered = self.rng.randint(0, len(module.quiz) - 1)
            for question in module.quiz[:answered]:
                right = self.rng.random() < 0.7
                self.answers.append(self.answer(user_id, module, question, right, at))

    # --- exam ---------------------------------------------------------------------------
    def attempt(self, user_id: int, started: datetime, *, passed: bool) -> int:
        exam = self.cur.exam
        drawn: list[tuple[int, str]] = []
        for domain, count in self.cur.quotas.items():
            drawn.extend((pk, domain) for pk in self.rng.sample(self.cur.bank[domain], count))
        self.rng.shuffle(drawn)
        pass_mark = exam.pass_mark()
        total = len(drawn)
        score = (
            self.rng.randint(pass_mark, total)
            if passed
            else self.rng.randint(total // 3, pass_mark - 1)
        )
        right = set(self.rng.sample(range(total), score))
        duration = timedelta(minutes=self.rng.uniform(15, exam.duration_minutes - 1))
        submitted = started + duration
        tally: dict[str, list[int]] = {slug: [0, 0] for slug in self.cur.quotas}
        questions = []
        for position, (question_id, domain) in enumerate(drawn, start=1):
            shown = list(self.cur.choice_orders[question_id])
            self.rng.shuffle(shown)
            correct = self.cur.correct_orders[question_id]
            ok = position - 1 in right
            chosen = correct if ok else [next(o for o in shown if o not in correct)]
            tally[domain][0] += int(ok)
            tally[domain][1] += 1
            answered = started + duration * position / (total + 1)
            questions.append(
                (position, question_id, domain, json.dumps(shown), json.dumps(chosen), answered, ok)
            )
        attempt = ExamAttempt(
            user_id=user_id,
            exam=exam,
            exam_version=exam.version,
            status=ExamAttempt.Status.PASSED if passed else ExamAttempt.Status.FAILED,
            started_at=started,
            deadline=started + timedelta(minutes=exam.duration_minutes),
            submitted_at=submitted,
            question_count=total,
            pass_mark=pass_mark,
            score=score,
            domain_scores=[
                {"slug": s, "title": self.cur.domain_titles.get(s, s), "correct": c, "total": t}
                for s, (c, t) in tally.items()
            ],
        )
        self.attempts.append((user_id, attempt, questions))
        return len(self.attempts) - 1

    # --- one learner --------------------------------------------------------------------
    def learner(self, user_id: int, stage: str, joined: datetime) -> None:
        rng, now, modules = self.rng, self.now, self.cur.modules
        if stage == "new":
            return
        if stage == "learning":
            done = rng.randint(0, len(modules) - 1)
            last = now - timedelta(hours=1)
        else:
            # Exam takers finished the modules in the first half of their time here.
            done = len(modules)
            last = joined + (now - joined) * rng.uniform(0.2, 0.5)
        moments = sorted(joined + (last - joined) * rng.random() for _ in range(done + 1))
        for module, at in zip(modules[:done], moments, strict=False):
            self.complete_module(user_id, module, at)
        if stage == "learning":
            self.partial_module(user_id, modules[done], moments[-1])
            return
        ready_at = moments[-1] + timedelta(days=rng.uniform(1, 10))
        if stage == "ready":
            # Failed attempts (if any) 20 days apart, the last one's wait long over.
            failures = rng.choices([0, 1, 2], weights=[6, 3, 1])[0]
            while failures and ready_at + timedelta(days=20 * failures) > now:
                failures -= 1
            for n in range(failures):
                self.attempt(user_id, ready_at + timedelta(days=20 * n), passed=False)
        elif stage == "waiting":
            recent = now - timedelta(days=rng.uniform(0.2, 13))
            self.attempt(user_id, max(recent, moments[-1] + timedelta(hours=1)), passed=False)
        else:
            failures = rng.choices([0, 1, 2], weights=[7, 2, 1])[0]
            gaps = [timedelta(days=rng.uniform(15, 40)) for _ in range(failures)]
            while failures and ready_at + sum(gaps[:failures], timedelta()) > now:
                failures -= 1
            moment = ready_at
            for gap in gaps[:failures]:
                self.attempt(user_id, moment, passed=False)
                moment += gap
            passed_at = min(moment, now - timedelta(hours=2))
            self.credentials.append((user_id, self.attempt(user_id, passed_at, passed=True)))

    # --- writing ------------------------------------------------------------------------
    def write(self, population: Population, names: dict[int, str]) -> None:
        counts = population.counts
        counts["module progress"] = copy_rows(
            "portal_moduleprogress",
            [
                "user_id",
                "module_version_id",
                "module_id",
                "sections_read",
                "last_section",
                "quiz_passed_at",
                "completed_at",
                "started_at",
                "updated_at",
            ],
            self.progress,
        )
        counts["quiz answers"] = copy_rows(
            "portal_quizanswer",
            [
                "user_id",
                "question_id",
                "module_version_id",
                "chosen",
                "correct",
                "attempts",
                "answered_at",
            ],
            self.answers,
        )
        saved = ExamAttempt.objects.bulk_create(
            [attempt for _, attempt, _ in self.attempts], batch_size=2000
        )
        counts["exam attempts"] = len(saved)
        counts["attempt questions"] = copy_rows(
            "portal_attemptquestion",
            [
                "attempt_id",
                "position",
                "question_id",
                "domain",
                "choice_order",
                "chosen",
                "answered_at",
                "correct",
            ],
            (
                (attempt.pk, *row)
                for attempt, (_, _, rows) in zip(saved, self.attempts, strict=True)
                for row in rows
            ),
        )
        validity = self.cur.exam.validity_months
        credentials = []
        for user_id, index in self.credentials:
            attempt = saved[index]
            assert attempt.submitted_at is not None
            revoked = self.rng.random() < 0.03
            credentials.append(
                Credential(
                    user_id=user_id,
                    exam=self.cur.exam,
                    attempt=attempt,
                    holder_name=names[user_id],
                    issued_at=attempt.submitted_at,
                    expires_at=add_months(attempt.submitted_at, validity),
                    revoked_at=attempt.submitted_at + timedelta(days=30) if revoked else None,
                    revocation_reason="bench: revoked" if revoked else "",
                )
            )
        Credential.objects.bulk_create(credentials, batch_size=2000)
        counts["credentials"] = len(credentials)


def populate(learners: int, *, seed: int = 7) -> Population:
    """Create `learners` learners and their records in the (empty, migrated) database."""
    rng = random.Random(seed)
    now = timezone.now()
    cur = load_curriculum()
    password = make_password(PASSWORD)
    joined = [now - timedelta(days=rng.uniform(30, 900)) for _ in range(learners)]
    users = User.objects.bulk_create(
        [
            User(
                username=EMAIL.format(i),
                email=EMAIL.format(i),
                first_name=rng.choice(FIRST),
                last_name=rng.choice(LAST),
                password=password,
                date_joined=joined[i],
                last_login=now - timedelta(days=rng.uniform(0, 30)),
            )
            for i in range(learners)
        ],
        batch_size=2000,
    )
    Profile.objects.bulk_create([Profile(user=user) for user in users], batch_size=5000)
    group = Group.objects.get(name=Role.LEARNER.value)
    User.groups.through.objects.bulk_create(
        [User.groups.through(user_id=user.pk, group_id=group.pk) for user in users],
        batch_size=5000,
    )
    population = Population()
    builder = Builder(cur, rng, now)
    stages, weights = zip(*STAGES, strict=True)
    for user, start in zip(users, joined, strict=True):
        stage = rng.choices(stages, weights=weights)[0]
        population.users[stage].append(user.pk)
        builder.learner(user.pk, stage, start)
    names = {user.pk: f"{user.first_name} {user.last_name}" for user in users}
    builder.write(population, names)
    population.counts["users"] = len(users)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return population
