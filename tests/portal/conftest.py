"""Portal fixtures: a tiny synced curriculum, a fixed signing key, and learners at each stage."""

from pathlib import Path

import pytest
from django.utils import timezone

from curriculum.models import Exam, Module, Question
from curriculum.services import curriculum_sync
from portal.exam import attempt_answer_save, attempt_start, attempt_submit
from portal.learning import progress_mark_section_read, quiz_answer_submit
from portal.models import AttemptQuestion, Rubric
from portal.openbadges.multibase import SigningKey
from portal.rubrics import rubric_sync
from tests.curriculum.conftest import write_curriculum
from tests.portal.hr_helpers import write_rubric

TEST_KEY = SigningKey.generate().to_multibase()


@pytest.fixture(autouse=True)
def signing_key(settings):
    """Sign with a throwaway key: tests never write var/ob-signing-key.txt."""
    settings.OB_SIGNING_KEY = TEST_KEY
    settings.SITE_URL = "http://testserver"
    return SigningKey.from_multibase(TEST_KEY)


@pytest.fixture
def curriculum(db, tmp_path: Path):
    """Two modules (alpha: crawl, beta: walk), six-question quizzes, a 10-question exam
    (domain-a 0.6, domain-b 0.4; pass mark 8; 3 attempts in 12 months; waits 1 then 14 days)."""
    curriculum_sync(content_dir=write_curriculum(tmp_path / "content"))
    return Exam.objects.get()


def complete_module(user, slug: str, *, quiz: bool = True) -> None:
    module = Module.objects.get(slug=slug)
    for section_id in module.current().section_ids:
        progress_mark_section_read(user=user, module=module, section_id=section_id)
    if quiz:
        for question in Question.objects.quiz_for(module).prefetch_related("choices"):
            quiz_answer_submit(
                user=user, module=module, qid=question.qid, chosen=question.correct_orders()
            )


def complete_all(user) -> None:
    for module in Module.objects.published():
        complete_module(user, module.slug)


def answer_attempt(attempt, *, correct: int, now=None) -> None:
    """Answer the first `correct` questions right and the rest wrong."""
    items = AttemptQuestion.objects.filter(attempt=attempt).select_related("question")
    for n, item in enumerate(items.prefetch_related("question__choices").order_by("position")):
        right = item.question.correct_orders()
        if n < correct:
            indexes = [i for i, order in enumerate(item.choice_order) if order in right]
        else:
            indexes = [next(i for i, o in enumerate(item.choice_order) if o not in right)]
        attempt_answer_save(attempt=attempt, position=item.position, shown_indexes=indexes, now=now)


def take_exam(user, exam, *, correct: int, now=None):
    now = now or timezone.now()
    attempt = attempt_start(user=user, exam=exam, now=now)
    answer_attempt(attempt, correct=correct, now=now)
    return attempt_submit(attempt=attempt, now=now)


@pytest.fixture
def certified(people, curriculum):
    """The standing engineer, with every module done and a passed exam (a credential)."""
    engineer = people["engineer"]
    complete_all(engineer)
    attempt = take_exam(engineer, curriculum, correct=10)
    assert attempt.passed
    return engineer.credentials.get()


# --- HR (rubrics over the test curriculum) ---


@pytest.fixture
def rubric_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "rubrics"
    write_rubric(directory)
    return directory


@pytest.fixture
def rubric(curriculum, rubric_dir, tmp_path) -> Rubric:
    rubric_sync(rubric_dir=rubric_dir, curriculum_dir=tmp_path / "content")
    return Rubric.objects.get(slug="test-role")
