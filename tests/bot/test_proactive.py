"""Proactive messages: the weekly summary, waste nudges (caps, quiet hours, snooze, mute,
only on change) and the App Home tab."""

import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django_celery_beat.models import PeriodicTask

from bot.app_home import home_publish
from bot.models import Delivery, Nudge, NudgeMute
from bot.nudges import NudgePolicy, NudgeState, decide, nudge_title, nudges_send
from bot.summaries import weekly_summaries_post
from curriculum.services import curriculum_sync
from metrics.models import Alert, Recommendation
from tests.bot.conftest import action_body, dollars, event_body, expected, post_signed
from tests.bot.limits import assert_within_slack_limits
from tests.curriculum.conftest import write_curriculum
from tests.portal.conftest import complete_module

D = datetime.fromisoformat


def at(text):
    return D(text).replace(tzinfo=UTC)


@pytest.fixture
def channels(teams):
    ml, search = teams["ml-platform"], teams["search"]
    ml.slack_channel_id, ml.time_zone = "C0MLP", "Europe/Berlin"
    search.slack_channel_id, search.time_zone = "C0SRCH", "America/New_York"
    ml.save()
    search.save()
    return teams


@pytest.fixture
def recs(teams):
    ml = teams["ml-platform"]
    return [
        Recommendation.objects.create(
            kind=Recommendation.Kind.DOWNSIZE,
            dedupe_key="downsize:ml:chatbot",
            team=ml,
            subject="chatbot/gpt-4o",
            title="Switch chatbot from gpt-4o to gpt-4o-mini",
            estimated_monthly_saving=Decimal("300"),
        ),
        Recommendation.objects.create(
            kind=Recommendation.Kind.CACHING,
            dedupe_key="caching:ml:summarizer",
            team=ml,
            subject="summarizer",
            title="Turn prompt caching on for summarizer",
            estimated_monthly_saving=Decimal("100"),
        ),
    ]


# --- Weekly summary ----------------------------------------------------------------------------


def test_periodic_jobs_are_registered():
    tasks = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {"bot.post_alerts", "bot.weekly_summaries", "bot.send_nudges"} <= tasks


def test_weekly_summary_is_posted_monday_at_nine_local_time_once(slack, channels, recs):
    # Monday 2026-10-19: 07:05 UTC is 09:05 in Berlin and 03:05 in New York
    assert weekly_summaries_post(now=at("2026-10-19 06:55")) == 0  # 08:55 in Berlin
    assert weekly_summaries_post(now=at("2026-10-19 07:05")) == 1
    assert weekly_summaries_post(now=at("2026-10-19 07:30")) == 0  # already posted
    (message,) = slack.of("chat.postMessage")
    assert message["channel"] == "C0MLP"
    assert_within_slack_limits(message["blocks"])
    flat = json.dumps(message["blocks"])
    total = expected(
        teams={"ml-platform"}, start=D("2026-10-12").date(), end=D("2026-10-19").date()
    )
    before = expected(
        teams={"ml-platform"}, start=D("2026-10-05").date(), end=D("2026-10-12").date()
    )
    assert f"*{dollars(total)}* effective cost, 2026-10-12 to 2026-10-18" in flat
    # The ledger ends on the 15th: like for like, 12-15 October against 5-8 October.
    now = expected(teams={"ml-platform"}, start=D("2026-10-12").date(), end=D("2026-10-16").date())
    before = expected(
        teams={"ml-platform"}, start=D("2026-10-05").date(), end=D("2026-10-09").date()
    )
    assert (
        f"{(now - before) / before * 100:+.1f}% vs the same 4 days of the previous period "
        "(2026-10-05 to 2026-10-08)" in flat
    )
    assert "Data through 2026-10-15." in flat
    assert "Cost per inference" in flat and "gpt-4o" in flat
    assert "Switch chatbot from gpt-4o to gpt-4o-mini: saves about $300.00 a month" in flat
    assert "modules completed across" in flat  # the team's learning progress, from the portal
    # New York's Monday 09:00 comes later
    assert weekly_summaries_post(now=at("2026-10-19 13:05")) == 1
    assert slack.of("chat.postMessage")[1]["channel"] == "C0SRCH"
    assert weekly_summaries_post(now=at("2026-10-20 13:05")) == 0  # Tuesday


def test_weekly_summary_through_the_celery_task(slack, channels, monkeypatch):
    from bot.tasks import weekly_summaries

    monkeypatch.setattr("django.utils.timezone.now", lambda: at("2026-10-19 07:05"))
    weekly_summaries.delay()
    weekly_summaries.delay()
    assert len(slack.of("chat.postMessage")) == 1
    assert Delivery.objects.get(key__startswith="weekly:").status == Delivery.Status.SENT


@pytest.fixture
def curriculum(db, tmp_path):
    """Two required modules (alpha, beta) from the curriculum tests' content."""
    curriculum_sync(content_dir=write_curriculum(tmp_path / "content"))


def test_weekly_summary_and_home_tab_show_the_real_learning_progress(slack, channels, curriculum):
    # The real portal.learning (no stand-in): alice completed alpha, dan completed both.
    alice = User.objects.get(email="alice@example.com")
    dan = User.objects.get(email="dan@example.com")
    complete_module(alice, "alpha")
    complete_module(dan, "alpha")
    complete_module(dan, "beta")
    weekly_summaries_post(now=at("2026-10-19 07:05"))
    flat = json.dumps(slack.of("chat.postMessage")[0]["blocks"])
    assert "3 modules completed across 3 people, 0 valid credentials" in flat
    home_publish(slack_user_id="UALICE")
    (publish,) = slack.of("views.publish")
    assert "1 of 2 modules done" in json.dumps(publish["view"]["blocks"])


def test_a_failed_summary_is_recorded_and_retried(slack, channels):
    slack.script("chat.postMessage", ("error", "not_in_channel"))
    assert weekly_summaries_post(now=at("2026-10-19 07:05")) == 0
    failed = Delivery.objects.get(key__startswith="weekly:")
    assert failed.status == Delivery.Status.FAILED and "not_in_channel" in failed.error
    assert weekly_summaries_post(now=at("2026-10-19 07:10")) == 1


# --- Nudges: the policy ------------------------------------------------------------------------

NOW = at("2026-10-20 08:00")  # Tuesday, 10:00 in Berlin
LOCAL = D("2026-10-20 10:00")


def state(**kw):
    return NudgeState(
        **{"muted": False, "last_fingerprint": None, "person_sent": [], "team_sent": [], **kw}
    )


@pytest.mark.parametrize(
    "s,local,reason",
    [
        (state(), LOCAL, None),
        (state(muted=True), LOCAL, "muted or snoozed"),
        (state(), D("2026-10-20 08:59"), "quiet hours"),
        (state(), D("2026-10-20 18:00"), "quiet hours"),
        (state(), D("2026-10-24 11:00"), "quiet hours"),  # Saturday
        (state(last_fingerprint="f"), LOCAL, "nothing changed since the last nudge"),
        (state(person_sent=[NOW - timedelta(hours=23)]), LOCAL, "daily cap for the person"),
        (
            state(person_sent=[NOW - timedelta(days=d) for d in (2, 3, 4)]),
            LOCAL,
            "weekly cap for the person",
        ),
        (state(person_sent=[NOW - timedelta(days=d) for d in (2, 3, 8)]), LOCAL, None),
        (state(team_sent=[NOW - timedelta(hours=1)] * 2), LOCAL, "daily cap for the team"),
    ],
)
def test_policy(s, local, reason):
    assert decide(fingerprint="f", state=s, now=NOW, local=local, policy=NudgePolicy()) == reason


# --- Nudges: sent through Slack, state in the database -----------------------------------------


def test_nudge_is_capped_per_person_and_sent_only_on_change(slack, channels, recs):
    first = nudges_send(now=NOW)
    assert first.sent == 1 and first.skipped == {"daily cap for the person": 1}
    (dm,) = slack.of("chat.postMessage")
    assert dm["channel"] == "DLEAD"  # conversations.open with the team lead
    assert_within_slack_limits(dm["blocks"])
    assert "Switch chatbot from gpt-4o to gpt-4o-mini" in dm["text"] and "$300.00" in dm["text"]
    again = nudges_send(now=NOW + timedelta(minutes=30))  # a restart, another worker: same state
    assert again.sent == 0
    next_day = nudges_send(now=NOW + timedelta(days=1))
    assert next_day.sent == 1 and next_day.skipped == {"nothing changed since the last nudge": 1}
    assert "prompt caching" in slack.of("chat.postMessage")[1]["text"]
    recs[0].estimated_monthly_saving = Decimal("305")  # the same finding, rounded
    recs[0].save()
    assert nudges_send(now=NOW + timedelta(days=2)).sent == 0
    recs[0].estimated_monthly_saving = Decimal("900")  # news
    recs[0].save()
    assert nudges_send(now=NOW + timedelta(days=2)).sent == 1
    assert Nudge.objects.filter(recipient="ULEAD").count() == 3


def test_no_nudges_in_quiet_hours(slack, channels, recs):
    assert nudges_send(now=at("2026-10-20 17:00")).skipped == {"quiet hours": 2}  # 19:00 Berlin
    # Slack gives no zone for the person: the team's applies; only users.info was asked.
    assert {method for method, _ in slack.calls} == {"users.info"}


def test_team_cap(slack, channels, recs, people):
    # without a lead, every member of the team is nudged, up to the team's daily cap
    from metrics.models import TeamMembership

    TeamMembership.objects.filter(role=TeamMembership.Role.LEAD).delete()
    run = nudges_send(now=NOW, policy=NudgePolicy(team_per_day=1))
    assert run.sent == 1
    # UALICE gets the first; UDAN hits the team cap twice, UALICE her own cap once
    assert run.skipped == {"daily cap for the team": 2, "daily cap for the person": 1}


def snooze_click(client, capture, action_id, nudge, user):
    with capture(execute=True):
        body = action_body(action_id, str(nudge.pk), user_id=user, channel="DLEAD", ts="1700.7")
        assert post_signed(client, body, "application/x-www-form-urlencoded").status_code == 200


def test_snooze_a_week_through_the_button(
    client, slack, channels, recs, django_capture_on_commit_callbacks
):
    nudges_send(now=NOW)
    nudge = Nudge.objects.get()
    snooze_click(client, django_capture_on_commit_callbacks, "nudge_snooze_week", nudge, "ULEAD")
    mute = NudgeMute.objects.get()
    assert mute.kind == "" and mute.until is not None
    (update,) = slack.of("chat.update")
    assert "Snoozed every nudge until" in update["text"]
    assert "nudge_snooze_day" not in json.dumps(update["blocks"])
    # snoozed: nothing for the week, whatever changes, then nudges resume
    recs[0].estimated_monthly_saving = Decimal("900")
    recs[0].save()
    clicked = mute.until - timedelta(days=7)  # the click happened "now", on the real clock
    for hours in (1, 30, 80, 7 * 24 - 1):
        run = nudges_send(now=clicked + timedelta(hours=hours))
        assert run.sent == 0 and run.skipped == {"muted or snoozed": 2}
    after = (mute.until + timedelta(days=1)).replace(hour=11, minute=0)
    while after.weekday() >= 5:
        after += timedelta(days=1)
    assert nudges_send(now=after).sent == 1  # nudges resume once the week is over


def test_snooze_a_day_and_mute_a_kind(
    client, slack, channels, recs, django_capture_on_commit_callbacks
):
    nudges_send(now=NOW)
    nudge = Nudge.objects.get()
    snooze_click(client, django_capture_on_commit_callbacks, "nudge_mute", nudge, "ULEAD")
    assert (
        NudgeMute.objects.get().kind == "frontier_model" and NudgeMute.objects.get().until is None
    )
    recs[0].estimated_monthly_saving = Decimal("900")  # changed, but muted for good
    recs[0].save()
    run = nudges_send(now=NOW + timedelta(days=1))
    assert run.sent == 1 and "prompt caching" in slack.of("chat.postMessage")[-1]["text"]
    nudge = Nudge.objects.order_by("-created_at").first()
    snooze_click(client, django_capture_on_commit_callbacks, "nudge_snooze_day", nudge, "ULEAD")
    assert nudges_send(now=NOW + timedelta(days=2) - timedelta(hours=1)).sent == 0


def test_only_the_recipient_can_silence_a_nudge(
    client, slack, channels, recs, django_capture_on_commit_callbacks
):
    nudges_send(now=NOW)
    snooze_click(
        client, django_capture_on_commit_callbacks, "nudge_mute", Nudge.objects.get(), "UALICE"
    )
    assert not NudgeMute.objects.exists()
    assert slack.of("chat.update") == []


def test_undeliverable_nudge_is_recorded_failed_and_not_counted(slack, channels, recs):
    slack.script("chat.postMessage", *[(429, 0)] * 8)  # both nudges, with all their retries
    run = nudges_send(now=NOW)
    assert run.sent == 0
    assert set(Nudge.objects.values_list("status", flat=True)) == {Nudge.Status.FAILED}
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.FAILED}
    assert nudges_send(now=NOW + timedelta(minutes=5)).sent == 1  # a failed one does not count


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_one_nudge(fake_slack, channels, recs, slack_people):
    errors = []

    def worker():
        try:
            nudges_send(now=NOW)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert Nudge.objects.filter(status=Nudge.Status.SENT).count() == 1
    assert len(fake_slack.of("chat.postMessage")) == 1


# --- App Home ----------------------------------------------------------------------------------


def test_app_home_shows_team_spend_against_budget_and_open_alerts(
    client, slack, budget, teams, django_capture_on_commit_callbacks
):
    Alert.objects.create(
        kind="anomaly",
        dedupe_key="a1",
        team=teams["ml-platform"],
        day=D("2026-10-15").date(),
        title="gpt-4o spend 4x its usual",
    )
    Alert.objects.create(
        kind="anomaly",
        dedupe_key="a2",
        team=teams["search"],
        day=D("2026-10-15").date(),
        title="search's own alert",
    )
    event = {"type": "app_home_opened", "user": "UALICE", "channel": "D1", "tab": "home"}
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            post_signed(
                client, event_body(event, event_id="EvHome"), "application/json"
            ).status_code
            == 200
        )
    (publish,) = slack.of("views.publish")
    assert publish["user_id"] == "UALICE" and publish["view"]["type"] == "home"
    flat = json.dumps(publish["view"]["blocks"])
    month = expected(
        teams={"ml-platform"}, start=D("2026-10-01").date(), end=D("2026-10-16").date()
    )
    assert f"*Ml-Platform*: {dollars(month)} spent in October 2026" in flat
    assert f"Budget: {dollars(month)} of $1,000.00 ({month / 10:.1f}%)" in flat
    assert "gpt-4o spend 4x its usual" in flat and "search's own alert" not in flat
    # Each alert links to the portal and can be acknowledged from the Home tab.
    accessories = [b["accessory"] for b in publish["view"]["blocks"] if "accessory" in b]
    assert [a["action_id"] for a in accessories] == ["alert_ack"]
    assert "/dashboard/?team=ml-platform|gpt-4o spend 4x its usual" in flat
    assert_within_slack_limits(publish["view"]["blocks"])


def test_app_home_for_an_unknown_person(slack):
    home_publish(slack_user_id="UNOBODY")
    (publish,) = slack.of("views.publish")
    assert "can't match your Slack account" in json.dumps(publish["view"])


def test_app_home_messages_tab_is_ignored(client, slack, django_capture_on_commit_callbacks):
    event = {"type": "app_home_opened", "user": "UALICE", "channel": "D1", "tab": "messages"}
    with django_capture_on_commit_callbacks(execute=True):
        post_signed(client, event_body(event, event_id="EvHomeMsgs"), "application/json")
    assert slack.of("views.publish") == []


def test_nudge_states_the_saving_once_in_one_format_with_readable_names(slack, channels):
    from metrics.models import AllocationRule

    ml = channels["ml-platform"]
    AllocationRule.objects.create(
        field=AllocationRule.Field.APPLICATION,
        pattern="proj_chat-1a2b3c",
        team=ml,
        priority=1,
        application_name="Support chatbot",
    )
    Recommendation.objects.create(
        kind=Recommendation.Kind.DOWNSIZE,
        dedupe_key="downsize:ml:proj",
        team=ml,
        subject="proj_chat-1a2b3c on gpt-4o",
        title="Route proj_chat-1a2b3c on gpt-4o to gpt-4o-mini: about $13,744.66 a month "
        "(62%) less than wrkspc_01ABCDEFGHJKMNPQRSTVWXYZ",
        estimated_monthly_saving=Decimal("13744.66"),
    )
    assert nudges_send(now=NOW).sent == 1
    (dm,) = slack.of("chat.postMessage")
    flat = dm["text"] + json.dumps(dm["blocks"])
    assert "proj_" not in flat and "wrkspc_" not in flat
    assert "Route Support chatbot on gpt-4o to gpt-4o-mini" in flat
    assert "Anthropic workspace …WXYZ" in flat
    assert "USD" not in flat and flat.count("13,744.66") == 2  # fallback text + the card, once each
    assert dm["text"] == (
        "Route Support chatbot on gpt-4o to gpt-4o-mini than Anthropic workspace …WXYZ: "
        "saves about $13,744.66 a month"
    )


@pytest.mark.parametrize(
    "title",
    [
        "Route chat to gpt-4o-mini: about $1,234.56 a month (40%) less",
        "Route chat to gpt-4o-mini: about €1,234.56 a month (40%) less",
        "Route chat to gpt-4o-mini: about CHF 1,234.56 a month (40%) less",
        "Route chat to gpt-4o-mini: about USD 1234.56 a month (40%) less",  # stored before
    ],
)
def test_a_nudge_title_leaves_out_the_saving_in_any_money_format(title):
    # The card shows the saving on its own line (metrics.money.format_money), never twice.
    assert nudge_title(Recommendation(title=title)) == "Route chat to gpt-4o-mini"


def test_quiet_hours_follow_the_persons_slack_time_zone(slack, channels, recs):
    from django.core.cache import cache

    # 08:00 UTC: 10:00 in Berlin (the team), 01:00 in Los Angeles (the lead): quiet.
    slack.responses["users.info"] = {
        "ok": True,
        "user": {"id": "ULEAD", "tz": "America/Los_Angeles"},
    }
    assert nudges_send(now=NOW).skipped == {"quiet hours": 2}
    assert slack.of("chat.postMessage") == []
    # 17:00 UTC: 19:00 in Berlin (quiet for the team) but 10:00 in Los Angeles: sent.
    assert nudges_send(now=at("2026-10-20 17:00")).sent == 1
    cache.clear()
    slack.responses["users.info"] = {"ok": True, "user": {"id": "ULEAD", "tz": "Asia/Tokyo"}}
    assert nudges_send(now=at("2026-10-21 17:00")).skipped == {"quiet hours": 2}  # 02:00 Tokyo


def test_unmute_from_slack(client, slack, channels, recs, django_capture_on_commit_callbacks):
    nudges_send(now=NOW)
    nudge = Nudge.objects.get()
    snooze_click(client, django_capture_on_commit_callbacks, "nudge_mute", nudge, "ULEAD")
    assert NudgeMute.objects.count() == 1
    muted = json.dumps(slack.of("chat.update")[-1]["blocks"])
    assert "nudge_unmute" in muted  # the muted message offers the way back
    snooze_click(client, django_capture_on_commit_callbacks, "nudge_unmute", nudge, "ULEAD")
    assert NudgeMute.objects.count() == 0
    update = slack.of("chat.update")[-1]
    assert "Unmuted" in update["text"] and "nudge_unmute" not in json.dumps(update["blocks"])
