"""Module quizzes that teach: opaque choice values, attempts, review without the answers,
retakes that reshuffle and redraw. Exam choice values are checked here too."""

import re

import pytest
from django.urls import reverse

from curriculum.models import Choice, Question
from portal.exam import attempt_start
from portal.models import ModuleProgress, QuizAnswer, QuizAttempt, XapiStatement
from tests.portal.conftest import complete_all

CHOICE_RE = re.compile(
    r'<input type="(?:radio|checkbox)" name="q-(?P<qid>[\w-]+)" value="(?P<value>[^"]+)" '
    r'id="(?P<id>[^"]+)">\s*<label for="(?P=id)">(?P<label>[^<]*)</label>'
)


@pytest.fixture
def learner_client(client, people, curriculum):
    client.force_login(people["engineer"])
    return client


def quiz_url(slug="alpha"):
    return reverse("portal:module_quiz", args=[slug])


def form_choices(html):
    """{qid: [(value, label text)]} as the quiz form shows them."""
    found = {}
    for match in CHOICE_RE.finditer(html):
        found.setdefault(match["qid"], []).append((match["value"], match["label"]))
    return found


def answers(choices, *, wrong=()):
    """Form data answering every question right, except the qids in `wrong`."""
    data = {"action": "submit"}
    for qid, shown in choices.items():
        question = Question.objects.get(qid=qid)
        right = {c.text for c in question.choices.all() if c.is_correct}
        if qid in wrong:
            data[f"q-{qid}"] = [v for v, text in shown if text not in right][:1]
        else:
            data[f"q-{qid}"] = [v for v, text in shown if text in right]
    return data


def submit(client, html, *, wrong=()):
    attempt = re.search(r'name="attempt" value="([^"]+)"', html)[1]
    return client.post(quiz_url(), {**answers(form_choices(html), wrong=wrong), "attempt": attempt})


def test_quiz_choice_values_are_opaque_per_question_and_attempt(learner_client, people, client):
    html = learner_client.get(quiz_url()).content.decode()
    shown = form_choices(html)
    assert len(shown) == 6
    values = [value for choices in shown.values() for value, _ in choices]
    assert len(set(values)) == len(values)  # unique across questions
    assert all(re.fullmatch(r"[0-9a-f]{16}", value) for value in values)
    orders = {str(o) for o in Choice.objects.values_list("order", flat=True)}
    pks = {str(pk) for pk in Choice.objects.values_list("pk", flat=True)}
    assert not set(values) & (orders | pks)
    assert "Because the definition" not in html and "is-correct" not in html

    # Another learner's attempt at the same quiz gets other values for the same choices.
    client.force_login(people["teammate"])
    other = form_choices(client.get(quiz_url()).content.decode())
    assert not set(values) & {value for choices in other.values() for value, _ in choices}


def test_posting_the_first_position_passes_nothing(learner_client, people):
    learner_client.get(quiz_url())
    attempt = QuizAttempt.objects.get(user=people["engineer"])
    data = {"action": "submit", "attempt": str(attempt.public_id)}
    data.update({f"q-{item['qid']}": ["0"] for item in attempt.items})
    learner_client.post(quiz_url(), data)
    attempt.refresh_from_db()
    assert attempt.is_open and attempt.score is None
    assert not QuizAnswer.objects.filter(user=people["engineer"]).exists()
    # The old per-question form (question=..., choice=0) is gone too.
    learner_client.post(quiz_url(), {"question": "alpha-q1", "choice": "0"})
    progress = ModuleProgress.objects.filter(user=people["engineer"]).first()
    assert progress is None or progress.quiz_passed_at is None


def test_a_failed_attempt_says_what_was_wrong_and_why_not_what_is_right(learner_client, people):
    q1 = Question.objects.get(qid="alpha-q1")
    wrong_choice = q1.choices.get(text="Second answer for alpha-q1")
    wrong_choice.feedback = "Second answers are tempting but measure the wrong thing."
    wrong_choice.save()
    html = learner_client.get(quiz_url()).content.decode()
    shown = form_choices(html)
    data = answers(shown, wrong=("alpha-q2", "alpha-q3"))
    data["q-alpha-q1"] = [v for v, text in shown["alpha-q1"] if text == wrong_choice.text]
    data["attempt"] = re.search(r'name="attempt" value="([^"]+)"', html)[1]
    response = learner_client.post(quiz_url(), data)
    assert response.status_code == 302 and response["Location"].endswith("#result")

    review = learner_client.get(quiz_url()).content.decode()
    assert "Not passed yet" in review and "3 of 6 correct, 5 needed" in review
    assert review.count("Not right.") == 3 and review.count("Correct.") == 3
    assert review.count('<span aria-hidden="true">✗</span> <strong>Not right.') == 3  # icon+text
    assert "Second answers are tempting but measure the wrong thing." in review
    for qid in ("alpha-q1", "alpha-q2", "alpha-q3"):
        assert f"Right answer for {qid}" not in review  # the right choice is not given away
        assert f"Because the definition of {qid} says so." not in review
    assert "Because the definition of alpha-q4 says so." in review  # right ones are explained
    assert "Try again" in review
    attempt = QuizAttempt.objects.get(user=people["engineer"])
    assert (attempt.score, attempt.passed) == (3, False)
    assert XapiStatement.objects.filter(user=people["engineer"], verb="failed").count() == 1


def test_retake_reshuffles_and_draws_the_questions_not_asked(learner_client, people, settings):
    settings.PORTAL_QUIZ_QUESTIONS = 4
    first_html = learner_client.get(quiz_url()).content.decode()
    first = form_choices(first_html)
    assert len(first) == 4
    submit(learner_client, first_html, wrong=list(first)[:2])
    learner_client.post(quiz_url(), {"action": "retake"})
    second_html = learner_client.get(quiz_url()).content.decode()
    second = form_choices(second_html)
    all_qids = {f"alpha-q{n}" for n in range(1, 7)}
    assert all_qids - set(first) <= set(second)  # the two not asked come first
    assert len(second) == 4
    first_values = {v for choices in first.values() for v, _ in choices}
    assert not first_values & {v for choices in second.values() for v, _ in choices}
    assert "Your last attempt: 2 of 4 correct, 4 needed" in second_html
    assert QuizAttempt.objects.filter(user=people["engineer"]).count() == 2


def test_passing_records_the_attempt_and_completes_the_module(learner_client, people):
    from tests.portal.conftest import complete_module

    complete_module(people["engineer"], "alpha", quiz=False)
    html = learner_client.get(quiz_url()).content.decode()
    submit(learner_client, html, wrong=("alpha-q1",))
    progress = ModuleProgress.objects.get(user=people["engineer"])
    assert progress.quiz_passed_at is not None and progress.completed_at is not None
    review = learner_client.get(quiz_url()).content.decode()
    assert "Passed" in review and "5 of 6 correct" in review
    # Once passed, the review may show the right answers and every explanation.
    assert "Because the definition of alpha-q1 says so." in review
    answers_kept = QuizAnswer.objects.filter(user=people["engineer"])
    assert answers_kept.count() == 6 and answers_kept.filter(correct=False).count() == 1
    verbs = XapiStatement.objects.filter(user=people["engineer"]).values_list("verb", flat=True)
    assert sorted(verbs) == ["completed", "passed"]


def test_unanswered_questions_are_named_and_nothing_is_recorded(learner_client, people):
    html = learner_client.get(quiz_url()).content.decode()
    data = answers(form_choices(html))
    data.pop("q-alpha-q4")
    data["attempt"] = re.search(r'name="attempt" value="([^"]+)"', html)[1]
    learner_client.post(quiz_url(), data)
    page = learner_client.get(quiz_url()).content.decode()
    assert "Answer every question before submitting (not answered:" in page
    assert QuizAttempt.objects.get(user=people["engineer"]).is_open
    assert not QuizAnswer.objects.exists()


def test_another_learners_attempt_cannot_be_submitted(learner_client, people, client):
    html = learner_client.get(quiz_url()).content.decode()
    client.force_login(people["teammate"])
    submit(client, html)
    assert QuizAttempt.objects.get(user=people["engineer"]).is_open
    assert (
        not QuizAttempt.objects.filter(user=people["teammate"])
        .filter(submitted_at__isnull=False)
        .exists()
    )


def test_choose_all_that_apply_is_said_once(learner_client):
    question = Question.objects.get(qid="alpha-q6")
    html = learner_client.get(quiz_url()).content.decode()
    assert html.count("all that apply") == 1  # the fixture prompt does not say it
    question.prompt = "Which are effective costs? Select all that apply."
    question.save()
    QuizAttempt.objects.all().delete()
    html = learner_client.get(quiz_url()).content.decode()
    assert html.count("all that apply") == 1  # the prompt says it; no extra hint


def test_exam_choice_values_do_not_reveal_the_key(people, curriculum, client):
    """Exam values are indexes into a per-attempt shuffle: the file's first (correct) choice
    is not always value 0, and no value is a Choice position or id."""
    engineer = people["engineer"]
    complete_all(engineer)
    attempt = attempt_start(user=engineer, exam=curriculum)
    client.force_login(engineer)
    key_values = set()
    for item in attempt.questions.select_related("question").order_by("position"):
        html = client.get(
            reverse("portal:attempt_question", args=[attempt.public_id, item.position])
        ).content.decode()
        values = re.findall(r'name="choice" value="([^"]+)"', html)
        assert values == [str(i) for i in range(len(item.choice_order))]
        key_values.add(item.choice_order.index(0))  # where the file's first choice went
    assert len(key_values) > 1


def test_a_choice_can_say_why_it_is_wrong_in_the_quiz_file(curriculum, tmp_path):
    """`why:` on a choice (optional) loads into Choice.feedback; questions without one keep
    their content hash, so adding the key to the format re-versioned nothing."""
    from curriculum.services import curriculum_sync
    from tests.curriculum.conftest import edit

    before = dict(Question.objects.values_list("qid", "content_hash"))
    quiz = tmp_path / "content" / "quizzes" / "alpha.yaml"
    edit(
        quiz,
        '      - text: "Wrong answer for alpha-q2"\n',
        '      - text: "Wrong answer for alpha-q2"\n        why: "It counts the cache twice."\n',
    )
    curriculum_sync(content_dir=tmp_path / "content")
    choice = Choice.objects.get(question__qid="alpha-q2", text="Wrong answer for alpha-q2")
    assert choice.feedback == "It counts the cache twice."
    after = dict(Question.objects.values_list("qid", "content_hash"))
    assert [qid for qid in before if before[qid] != after[qid]] == ["alpha-q2"]
    edit(quiz, "        why: ", "        wy: ")
    from curriculum.content_loader import load_content
    from curriculum.yaml_lines import ContentError

    with pytest.raises(ContentError, match="unknown key 'wy'"):
        load_content(tmp_path / "content")
