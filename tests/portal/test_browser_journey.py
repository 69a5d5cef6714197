"""The learner journey in a real browser (Debian's chromium through Playwright).

Sign up, read a module, pass its quiz, fail an exam attempt and see the waiting period, pass
the exam (the failed attempt is moved two days into the past: time travel in the database),
open the verification page, download the credential JSON and verify it with the command.
Screenshots of the main pages go to artifacts/screenshots/ (gitignored).
"""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from portal.models import Credential, ExamAttempt
from tests.portal.conftest import SHOTS, complete_module

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def shot(page, name):
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def answer_exam(page, *, right: bool) -> None:
    """Answer every question of the open attempt: all right, or all wrong."""
    while True:
        page.wait_for_load_state()  # a click returns when the next page commits, not when loaded
        page.wait_for_selector("fieldset legend")
        labels = page.locator("fieldset label")
        for i in range(labels.count()):
            text = labels.nth(i).inner_text()
            is_right = text.startswith("Right answer") or text.startswith("Second answer")
            multiple = "choose all that apply" in page.locator("legend").inner_text()
            if right and (is_right if multiple else text.startswith("Right answer")):
                labels.nth(i).click()
            if not right and text.startswith("Wrong answer"):
                labels.nth(i).click()
        if page.locator("button[value=next]").count():
            page.click("button[value=next]")
        else:
            page.click("button[value=finish]")
            break
    page.wait_for_selector("text=Review and submit")
    page.click("text=Submit my answers")
    page.wait_for_selector("h1:has-text('Score report')")
    page.wait_for_load_state()


def test_learner_journey_in_chromium(page, live_server, curriculum, tmp_path):
    base = live_server.url

    # Sign up.
    page.goto(f"{base}/accounts/signup/")
    page.fill("#id_email", "journey@example.com")
    page.fill("#id_first_name", "Jo")
    page.fill("#id_last_name", "Urney")
    page.fill("#id_password1", "a-long-enough-passphrase")
    page.fill("#id_password2", "a-long-enough-passphrase")
    shot(page, "01-sign-up")
    page.click("button:has-text('Sign up')")
    page.wait_for_selector("h1:has-text('My learning')")
    shot(page, "02-dashboard")

    # Read a module: mark every section read, with the keyboard-reachable buttons (sent in the
    # background by portal.js; sections also count as read when their end scrolls into view).
    page.click("a:has-text('Modules')")
    page.click("a:has-text('Module Alpha')")
    page.wait_for_selector("nav.toc")
    shot(page, "03-module")
    while page.locator("form.mark-read button").count():
        page.locator("form.mark-read button").first.click()
        page.wait_for_timeout(100)
    page.wait_for_function("() => document.getElementById('read-count').textContent === '4'")
    assert "4 of 4 sections read" in page.inner_text("nav.toc")

    # Pass its quiz: all questions at once, graded on the server, then explained.
    page.click("a:has-text('Take the quiz')")
    page.wait_for_load_state()  # the items are counted below: the whole page, not its start
    for n in range(6):
        item = page.locator("li.quiz-item").nth(n)
        for i in range(item.locator("label").count()):
            label = item.locator("label").nth(i)
            text = label.inner_text()
            multiple = item.locator("input[type=checkbox]").count() > 0
            if text.startswith("Right answer") or (multiple and text.startswith("Second answer")):
                label.click()
    page.click("button:has-text('Submit my answers')")
    page.wait_for_selector("#result")
    page.wait_for_load_state()
    assert "Passed" in page.inner_text("#quiz-score")
    assert page.locator("text=Because the definition").count() == 6
    shot(page, "04-quiz")

    # The other required module is completed behind the scenes.
    learner = User.objects.get(email="journey@example.com")
    complete_module(learner, "beta")

    # Fail an exam attempt and see the waiting period.
    page.goto(f"{base}/exam/")
    page.click("button:has-text('Start the exam')")
    shot(page, "05-exam-question")
    answer_exam(page, right=False)
    assert "Not passed" in page.inner_text("main")
    assert "Waiting period: 1 day" in page.inner_text("main")
    assert page.locator("#waiting").is_visible()
    shot(page, "06-exam-failed")
    page.goto(f"{base}/exam/")
    assert page.locator("button:has-text('Start the exam')").count() == 0

    # Time travel: the failed attempt happened two days ago.
    ExamAttempt.objects.filter(user=learner).update(
        started_at=ExamAttempt.objects.get(user=learner).started_at - timedelta(days=2),
        submitted_at=ExamAttempt.objects.get(user=learner).submitted_at - timedelta(days=2),
    )
    page.reload()
    page.click("button:has-text('Start the exam')")
    answer_exam(page, right=True)
    assert "Passed" in page.inner_text("main")
    shot(page, "07-exam-passed")

    # The verification page, and the credential JSON verified with the command.
    page.click("a:has-text('View your credential')")
    page.wait_for_selector("#verdict")
    assert page.inner_text("#verdict") == "Valid"
    shot(page, "08-credential")
    with page.expect_download() as download_info:
        page.click("a:has-text('Download the Open Badge (JSON)')")
    saved = tmp_path / "credential.json"
    download_info.value.save_as(saved)
    out = StringIO()
    call_command("verify_credential", str(saved), stdout=out)
    assert "VALID" in out.getvalue()
    credential = Credential.objects.get(user=learner)
    assert f"urn:uuid:{credential.pk}" in saved.read_text()
