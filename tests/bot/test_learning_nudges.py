"""Learning nudges: modules left before certification, a credential about to expire; sent
under the nudge policy (only on change, caps, mute) as a DM through the fake Slack."""

from datetime import UTC, datetime, timedelta

import pytest
from django_celery_beat.models import PeriodicTask

from bot.learning_nudges import LearningStatus, learning_nudges_send, learning_status
from bot.models import Nudge, NudgeKind, NudgeMute
from tests.bot.limits import assert_within_slack_limits

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
