"""Learning nudges: modules left before certification, a credential about to expire; sent
under the nudge policy (only on change, caps, mute) as a DM through the fake Slack."""

from datetime import UTC, datetime, timedelta

import pytest
from django_celery_beat.models import PeriodicTask

from bot.learning_nudges import LearningStatus, learning_nudges_send, learning_status
from bot.models import Nudge, NudgeKind, NudgeMute
from curriculum.models import Exam
from curriculum.services import curriculum_sync
from tests.bot.limits import assert_within_slack_limits
from tests.curriculum.conftest import module_body, module_text, write_curriculum
from tests.portal.conftest import TEST_KEY, complete_module, take_exam

NOW = datetime(2026, 10, 20, 14, 0, tzinfo=UTC)  # a Tuesday: working hours in UTC, Europe, US


@pytest.fixture
def statuses(monkeypatch, fake_slack, slack_people):
    """The learning status of each person by Slack id (everyone else: nothing started)."""
    by_slack_id: dict[str, LearningStatus] = {}

    def status(user, now):
        return by_slack_id.get(user.profile.slack_user_id, LearningStatus(0, 0))

    monkeypatch.setattr("bot.learning_nudges.learning_status", status)
    return by_slack_id


def test_learning_nudges_run_as_a_periodic_task():
    assert PeriodicTask.objects.filter(task="bot.send_learning_nudges", enabled=True).exists()


def test_learning_status_reads_the_portal(slack_people):
    # no required modules and no credential in this database: nothing to say
    assert learning_status(slack_people["engineer"], NOW) == LearningStatus(0, 0)


def test_modules_left_before_certification_is_sent_on_change_only(fake_slack, statuses):
    statuses["UALICE"] = LearningStatus(modules_done=3, modules_left=2)

    first = learning_nudges_send(now=NOW)

    assert first.sent == 1
    (dm,) = fake_slack.of("chat.postMessage")
    assert dm["channel"] == "DALICE"  # conversations.open with the learner
    assert dm["text"] == "2 modules left before certification"
    assert_within_slack_limits(dm["blocks"])
    assert Nudge.objects.get().kind == NudgeKind.MODULES_LEFT
    # the same number of modules left is never sent again
    later = learning_nudges_send(now=NOW + timedelta(days=1))
    assert later.sent == 0 and later.skipped == {"nothing changed since the last nudge": 1}
    statuses["UALICE"] = LearningStatus(modules_done=4, modules_left=1)
    assert learning_nudges_send(now=NOW + timedelta(hours=2)).skipped == {
        "daily cap for the person": 1
    }
    assert learning_nudges_send(now=NOW + timedelta(days=2)).sent == 1
    assert fake_slack.of("chat.postMessage")[-1]["text"] == "1 module left before certification"
    # muted: never again
    NudgeMute.objects.create(slack_user_id="UALICE", kind=NudgeKind.MODULES_LEFT)
    statuses["UALICE"] = LearningStatus(modules_done=3, modules_left=3)
    assert learning_nudges_send(now=NOW + timedelta(days=4)).skipped == {"muted or snoozed": 1}


def test_credential_expiring_within_30_days_is_sent_once(fake_slack, statuses):
    statuses["UDAN"] = LearningStatus(
        modules_done=10,
        modules_left=0,
        credential_id="c-1",
        credential_expires=NOW + timedelta(days=40),
    )
    assert learning_nudges_send(now=NOW).sent == 0  # more than 30 days away

    assert learning_nudges_send(now=NOW + timedelta(days=28)).sent == 1  # 12 days left
    (dm,) = fake_slack.of("chat.postMessage")
    assert dm["channel"] == "DDAN"
    assert dm["text"] == f"Your credential expires on {NOW + timedelta(days=40):%Y-%m-%d}"
    assert "/credentials/" in str(dm["blocks"])
    assert Nudge.objects.get().kind == NudgeKind.CREDENTIAL_EXPIRING
    assert learning_nudges_send(now=NOW + timedelta(days=30)).sent == 0  # only on change
    # at night (02:00 UTC: night in Europe and America) nothing is sent, even for news
    statuses["UDAN"] = LearningStatus(
        modules_done=10,
        modules_left=0,
        credential_id="c-2",
        credential_expires=NOW + timedelta(days=45),
    )
    night = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    assert learning_nudges_send(now=night).skipped == {"quiet hours": 1}


# --- Real learners (the real portal.learning and credentials, no stand-in status) ------------


@pytest.fixture
def learners(settings, fake_slack, slack_people, tmp_path):
    """alice behind (alpha of the two required modules done), dan enrolled (alpha started,
    nothing complete), lead certified (both done, exam passed); everyone else never started.
    gamma is an optional module (not required for the exam) that alice also completed."""
    settings.OB_SIGNING_KEY = TEST_KEY
    content = write_curriculum(tmp_path / "content")
    (content / "modules" / "03-gamma.md").write_text(
        module_text("gamma", 3, module_body("gamma"), required_for_exam="false")
    )
    (content / "quizzes" / "gamma.yaml").write_text(
        (content / "quizzes" / "alpha.yaml").read_text().replace("alpha", "gamma")
    )
    curriculum_sync(content_dir=content)
    alice, dan, lead = (slack_people[who] for who in ("engineer", "teammate", "lead"))
    complete_module(alice, "alpha")
    complete_module(alice, "gamma")
    complete_module(dan, "alpha", quiz=False)  # every section read, the quiz not passed
    complete_module(lead, "alpha")
    complete_module(lead, "beta")
    assert take_exam(lead, Exam.objects.get(), correct=10, now=NOW - timedelta(days=1)).passed
    return slack_people


def test_learning_status_of_real_learners(learners):
    # the optional module counts neither as done nor as left
    assert learning_status(learners["engineer"], NOW) == LearningStatus(1, 1)
    assert learning_status(learners["teammate"], NOW) == LearningStatus(0, 2)
    lead = learning_status(learners["lead"], NOW)
    assert (lead.modules_done, lead.modules_left) == (2, 0)
    assert lead.credential_expires is not None and lead.credential_expires > NOW
    assert learning_status(learners["outsider"], NOW) == LearningStatus(0, 2)


def test_only_the_learner_who_is_behind_gets_a_nudge(learners, fake_slack):
    run = learning_nudges_send(now=NOW)
    # alice is behind; dan has completed nothing yet; the lead is certified for years
    assert run.sent == 1
    (dm,) = fake_slack.of("chat.postMessage")
    assert dm["channel"] == "DALICE"
    assert dm["text"] == "1 module left before certification"
    complete_module(learners["engineer"], "beta")  # done: nothing more to say
    assert learning_nudges_send(now=NOW + timedelta(days=2)).sent == 0
