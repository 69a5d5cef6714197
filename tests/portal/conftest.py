"""Portal fixtures: a tiny synced curriculum, a fixed signing key, and learners at each stage."""

import os
import shutil
from pathlib import Path

import pytest
from django.db import connections
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

# --- Browser tests: Debian's chromium through Playwright ----------------------------------
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"  # gitignored


@pytest.fixture
def browser(monkeypatch):
    """Debian's chromium, headless: a failure in CI when it is missing, a skip elsewhere."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (make test installs Debian's chromium)")
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls a test makes
    # between page actions are plain synchronous code against the test database.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        # ORM calls made while Playwright's loop runs get their own connection (asgiref
        # context): close it here, or PostgreSQL refuses to drop the test database.
        connections.close_all()
        chromium.close()


def new_page(browser, *, timeout: int = 20_000, **context_options):
    """A page in a new context: 1280 x 900, downloads accepted, `timeout` ms per action."""
    options = {"accept_downloads": True, "viewport": {"width": 1280, "height": 900}}
    context = browser.new_context(**{**options, **context_options})
    context.set_default_timeout(timeout)
    return context.new_page()


@pytest.fixture
def page(browser):
    return new_page(browser)


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
