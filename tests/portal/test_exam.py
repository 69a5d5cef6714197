"""The certification exam: eligibility, drawing, timer, saved answers, limits, reports."""

import re
from collections import Counter
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from curriculum.models import Question
from portal.exam import (
    AttemptClosed,
    ExamError,
    attempt_answer_save,
    attempt_start,
    attempt_submit,
    attempts_finalize_expired,
    exam_eligibility,
)
from portal.models import AttemptQuestion, Credential, ExamAttempt, XapiStatement
from tests.portal.conftest import answer_attempt, complete_all, complete_module, take_exam


@pytest.fixture
def ready(people, curriculum):
    """The standing engineer with every required module complete."""
    complete_all(people["engineer"])
    return people["engineer"]


def test_not_eligible_until_required_modules_are_complete(people, curriculum):
    engineer = people["engineer"]
    complete_module(engineer, "alpha")
    eligibility = exam_eligibility(user=engineer, exam=curriculum)
    assert not eligibility.can_start
    assert [m.slug for m in eligibility.missing_modules] == ["beta"]
    with pytest.raises(ExamError, match="required modules"):
        attempt_start(user=engineer, exam=curriculum)
    complete_module(engineer, "beta")
    assert exam_eligibility(user=engineer, exam=curriculum).can_start


def test_questions_are_drawn_by_domain_weight_and_shuffled(ready, curriculum):
    attempt = attempt_start(user=ready, exam=curriculum)
    items = list(AttemptQuestion.objects.filter(attempt=attempt).select_related("question"))
    assert Counter(item.domain for item in items) == {"domain-a": 6, "domain-b": 4}
    assert all(item.question.domain == item.domain for item in items)
    assert all(item.question.kind == Question.Kind.EXAM for item in items)
    assert [item.position for item in items] == list(range(1, 11))
    assert all(sorted(item.choice_order) == [0, 1, 2] for item in items)
    # Over many draws, choices are not always in file order and questions vary.
    attempt_submit(attempt=attempt)
    orders = {tuple(item.choice_order) for item in items}
    assert len(orders) > 1


def test_every_attempt_draws_the_same_domain_and_difficulty_blueprint(people, curriculum):
    """exam.yaml's difficulty_mix (0.3 / 0.5 / 0.2): domain-a's 6 questions split 2 / 3 / 1 and
    domain-b's 4 split 1 / 2 / 1 (largest remainder), in every attempt, whatever the draw."""
    expected = {
        ("domain-a", "foundation"): 2,
        ("domain-a", "practitioner"): 3,
        ("domain-a", "advanced"): 1,
        ("domain-b", "foundation"): 1,
        ("domain-b", "practitioner"): 2,
        ("domain-b", "advanced"): 1,
    }
    assert curriculum.difficulty_mix == {
        "foundation": "0.3",
        "practitioner": "0.5",
        "advanced": "0.2",
    }
    assert curriculum.blueprint() == expected
    drawn_ids: set[int] = set()
    for user in (people["engineer"], people["lead"], people["admin"]):
        complete_all(user)
        attempt = attempt_start(user=user, exam=curriculum)
        items = list(AttemptQuestion.objects.filter(attempt=attempt).select_related("question"))
        assert Counter((i.domain, i.question.difficulty) for i in items) == expected
        drawn_ids |= {i.question_id for i in items}
    assert len(drawn_ids) > 10  # the questions themselves still vary between attempts


def test_a_bank_too_small_for_a_difficulty_makes_the_exam_unavailable(ready, curriculum):
    Question.objects.filter(domain="domain-b", difficulty="advanced").update(retired=True)
    with pytest.raises(ExamError, match=r"domain-b \(advanced\) has 0 questions; 1 are needed"):
        attempt_start(user=ready, exam=curriculum)


def test_correct_answers_never_reach_the_browser(client, ready, curriculum):
    client.force_login(ready)
    response = client.post(reverse("portal:exam_home"))
    attempt = ExamAttempt.objects.get(user=ready)
    assert response["Location"] == reverse("portal:attempt_question", args=[attempt.public_id, 1])
    for item in AttemptQuestion.objects.filter(attempt=attempt).select_related("question"):
        html = client.get(
            reverse("portal:attempt_question", args=[attempt.public_id, item.position])
        ).content.decode()
        assert item.question.prompt in html
        assert item.question.explanation not in html
        assert "correct" not in html.lower()
        # Values are the indexes shown, not the choices' positions in the bank.
        values = re.findall(r'name="choice" value="(\d+)"', html)
        assert values == ["0", "1", "2"]
        shown_texts = re.findall(r'<label for="choice-\d">([^<]+)</label>', html)
        texts = {c.order: c.text for c in item.question.choices.all()}
        assert shown_texts == [texts[order] for order in item.choice_order]


def test_answers_are_saved_as_you_go_and_survive_a_reload(client, ready, curriculum):
    client.force_login(ready)
    client.post(reverse("portal:exam_home"))
    attempt = ExamAttempt.objects.get(user=ready)
    url = reverse("portal:attempt_question", args=[attempt.public_id, 3])
    response = client.post(url, {"choice": ["2"], "go": "next"})
    assert response["Location"] == reverse("portal:attempt_question", args=[attempt.public_id, 4])
    item = AttemptQuestion.objects.get(attempt=attempt, position=3)
    assert item.chosen == [item.choice_order[2]] and item.answered_at is not None
    html = client.get(url).content.decode()
    assert re.search(r'value="2" id="choice-2" checked', html)
    assert 'class="answered"' in html


def test_single_choice_questions_take_one_answer(ready, curriculum):
    attempt = attempt_start(user=ready, exam=curriculum)
    single = AttemptQuestion.objects.filter(attempt=attempt, question__type="single").first()
    with pytest.raises(ExamError):
        attempt_answer_save(attempt=attempt, position=single.position, shown_indexes=[0, 1])
    with pytest.raises(ExamError):
        attempt_answer_save(attempt=attempt, position=single.position, shown_indexes=[7])


def test_after_the_deadline_only_answers_saved_in_time_count(ready, curriculum):
    start = timezone.now()
    attempt = attempt_start(user=ready, exam=curriculum, now=start)
    answer_attempt(attempt, correct=7, now=start + timedelta(minutes=5))
    late = start + timedelta(minutes=curriculum.duration_minutes, seconds=1)
    last = AttemptQuestion.objects.get(attempt=attempt, position=10)
    right = [i for i, o in enumerate(last.choice_order) if o in last.question.correct_orders()]
    with pytest.raises(AttemptClosed, match="Time is up"):
        attempt_answer_save(attempt=attempt, position=10, shown_indexes=right, now=late)
    attempt.refresh_from_db()
    assert attempt.status == ExamAttempt.Status.FAILED  # graded on the spot: 7 < 8
    assert attempt.score == 7 and attempt.submitted_at == attempt.deadline


def test_a_late_submit_counts_saved_answers_only(ready, curriculum):
    start = timezone.now()
    attempt = attempt_start(user=ready, exam=curriculum, now=start)
    answer_attempt(attempt, correct=10, now=start + timedelta(minutes=1))
    # An answer saved in time but with an answered_at forged after the deadline does not count.
    AttemptQuestion.objects.filter(attempt=attempt, position=1).update(
        answered_at=attempt.deadline + timedelta(seconds=1)
    )
    graded = attempt_submit(attempt=attempt, now=start + timedelta(hours=2))
    assert graded.score == 9 and graded.passed
    assert attempt_submit(attempt=graded).score == 9  # idempotent


def test_open_attempts_past_deadline_are_graded_by_the_task(ready, curriculum):
    start = timezone.now() - timedelta(hours=1)
    attempt = attempt_start(user=ready, exam=curriculum, now=start)
    assert attempts_finalize_expired() == 1
    attempt.refresh_from_db()
    assert attempt.status == ExamAttempt.Status.FAILED and attempt.score == 0
    assert attempts_finalize_expired() == 0


def test_only_one_open_attempt_per_learner(ready, curriculum):
    first = attempt_start(user=ready, exam=curriculum)
    assert attempt_start(user=ready, exam=curriculum) == first
    with pytest.raises(IntegrityError), transaction.atomic():
        ExamAttempt.objects.create(
            user=ready,
            exam=curriculum,
            exam_version=1,
            started_at=timezone.now(),
            deadline=timezone.now(),
            question_count=10,
            pass_mark=8,
        )


def test_waiting_periods_and_attempt_limit_are_enforced_on_the_server(ready, curriculum):
    t0 = timezone.now() - timedelta(days=60)
    take_exam(ready, curriculum, correct=3, now=t0)
    with pytest.raises(ExamError, match="Waiting period: 1 day"):
        attempt_start(user=ready, exam=curriculum, now=t0 + timedelta(hours=23))
    t1 = t0 + timedelta(days=1, hours=1)
    take_exam(ready, curriculum, correct=3, now=t1)
    eligibility = exam_eligibility(user=ready, exam=curriculum, now=t1 + timedelta(days=13))
    assert eligibility.reasons == ["Waiting period: 14 days after a failed attempt."]
    assert eligibility.next_attempt_at == t1 + timedelta(days=14)
    t2 = t1 + timedelta(days=15)
    take_exam(ready, curriculum, correct=3, now=t2)
    blocked = exam_eligibility(user=ready, exam=curriculum, now=t2 + timedelta(days=30))
    assert not blocked.can_start and blocked.attempts_left == 0
    assert any("all 3 attempts" in reason for reason in blocked.reasons)
    # The window is 12 months from the oldest attempt in it.
    later = exam_eligibility(user=ready, exam=curriculum, now=t0 + timedelta(days=370))
    assert later.can_start


def test_score_report_per_domain_and_credential_on_pass(client, ready, curriculum):
    attempt = take_exam(ready, curriculum, correct=9)
    assert attempt.passed and attempt.score == 9
    assert sum(d["total"] for d in attempt.domain_scores) == 10
    assert {d["slug"] for d in attempt.domain_scores} == {"domain-a", "domain-b"}
    assert sum(d["correct"] for d in attempt.domain_scores) == 9
    credential = Credential.objects.get(user=ready)
    assert credential.attempt == attempt
    client.force_login(ready)
    html = client.get(reverse("portal:attempt_report", args=[attempt.public_id])).content.decode()
    assert "Passed" in html and "Domain A" in html and "Domain B" in html
    assert reverse("portal:credential_verify", args=[credential.pk]) in html
    verbs = list(
        XapiStatement.objects.filter(
            user=ready, verb__in=["passed", "failed"], object_id__contains="/exam/"
        ).values_list("verb", flat=True)
    )
    assert verbs == ["passed"]


def test_failed_report_shows_the_waiting_period(client, ready, curriculum):
    attempt = take_exam(ready, curriculum, correct=2)
    client.force_login(ready)
    html = client.get(reverse("portal:attempt_report", args=[attempt.public_id])).content.decode()
    assert "Not passed" in html and "Waiting period: 1 day" in html
    assert 'id="waiting"' in html
    statement = XapiStatement.objects.get(user=ready, verb="failed").statement
    assert statement["result"]["success"] is False and statement["result"]["score"]["raw"] == 2


def test_renewal_only_in_the_window_before_expiry_and_it_extends(ready, curriculum):
    t0 = timezone.now() - timedelta(days=700)
    take_exam(ready, curriculum, correct=10, now=t0)
    credential = Credential.objects.get(user=ready)
    first_expiry = credential.expires_at
    early = exam_eligibility(user=ready, exam=curriculum, now=t0 + timedelta(days=30))
    assert not early.can_start and "renewal opens" in early.reasons[0]
    renew_at = first_expiry - timedelta(days=20)
    eligibility = exam_eligibility(user=ready, exam=curriculum, now=renew_at)
    assert eligibility.can_start and eligibility.renewal
    take_exam(ready, curriculum, correct=10, now=renew_at)
    credential.refresh_from_db()
    assert Credential.objects.filter(user=ready).count() == 1  # same id, shared links hold
    assert credential.expires_at > first_expiry and credential.renewal_count == 1
    assert credential.document["validUntil"].startswith(f"{credential.expires_at:%Y-%m-%d}")
