"""Alerts in Slack: posted with buttons; clicks arrive as signed interactive payloads at
/slack/events; the message is updated (chat.update) to show who did what."""

import json
from datetime import date
from decimal import Decimal

import pytest

from bot.alerting import ACTION_UNAVAILABLE, ALERT_UNAVAILABLE, alerts_post
from bot.models import Delivery, Interaction
from bot.tasks import post_alerts
from metrics.models import Alert, RemediationAction
from tests.bot.conftest import action_body, post_signed
from tests.bot.limits import assert_within_slack_limits

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def alert(teams):
    teams["ml-platform"].slack_channel_id = "C0MLP"
    teams["ml-platform"].save()
    return Alert.objects.create(
        kind=Alert.Kind.BUDGET,
        dedupe_key="budget:1:2026-10:80",
        team=teams["ml-platform"],
        day=date(2026, 10, 15),
        amount=Decimal("812.40"),
        currency="USD",
        title="Ml-Platform reached 80% of its 2026-10 budget: $812.40 of $1,000.00",
        details={
            "threshold": 80,
            "spent": "812.40",
            "budget": "1000.00",
            "percent": 81.2,
            "application_key": "",
            "run": "0123456789abcdef0123456789abcdef",
        },
    )


@pytest.fixture
def proposed(alert):
    return RemediationAction.objects.create(
        kind=RemediationAction.Kind.BUDGET_CAP,
        team=alert.team,
        alert=alert,
        params={"application_key": "chatbot", "monthly_cap": "1000"},
    )


def click(client, capture, action_id, value, user, **kw):
    with capture(execute=True):
        response = post_signed(client, action_body(action_id, value, user_id=user, **kw), FORM)
    assert response.status_code == 200
    return response


def test_open_alerts_are_posted_once_with_buttons(fake_slack, alert, proposed):
    assert alerts_post() == 1
    assert alerts_post() == 0
    post_alerts.delay()  # the periodic task, on another "worker"
    (message,) = fake_slack.of("chat.postMessage")
    assert message["channel"] == "C0MLP"
    assert_within_slack_limits(message["blocks"])
    buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["text"]["text"] for b in buttons][:4] == [
        "Acknowledge",
        "Snooze 1 day",
        "Show details",
        "Approve: Hard budget cap on an application key (chatbot)",
    ]
    alert.refresh_from_db()
    assert alert.slack_channel == "C0MLP" and alert.slack_ts


def test_alert_without_a_channel_waits(fake_slack, alert):
    alert.team.slack_channel_id = ""
    alert.team.save()
    assert alerts_post() == 0 and fake_slack.calls == []


def test_acknowledge_by_a_team_member_updates_the_message(
    client, slack, alert, django_capture_on_commit_callbacks
):
    click(
        client,
        django_capture_on_commit_callbacks,
        "alert_ack",
        str(alert.pk),
        "UALICE",
        ts="1700.5",
    )
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED
    assert alert.acknowledged_by.email == "alice@example.com"
    (update,) = slack.of("chat.update")
    assert update["channel"] == "C0DEMOMLP" and update["ts"] == "1700.5"
    flat = json.dumps(update["blocks"])
    assert "Acknowledged by <@UALICE>" in flat and "Status: *Acknowledged*" in flat
    assert "alert_ack" not in flat  # the button is gone once acknowledged
    assert_within_slack_limits(update["blocks"])


def test_acknowledge_by_someone_from_another_team_is_refused(
    client, slack, alert, django_capture_on_commit_callbacks
):
    click(
        client,
        django_capture_on_commit_callbacks,
        "alert_ack",
        str(alert.pk),
        "UBOB",
        response_url=slack.response_url("a1"),
    )
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN
    assert slack.of("chat.update") == []
    (private,) = slack.of("response_url")
    assert private["response_type"] == "ephemeral" and private["text"] == ALERT_UNAVAILABLE
    assert Interaction.objects.get().allowed is False


def test_snooze_for_a_day(client, slack, alert, django_capture_on_commit_callbacks):
    click(client, django_capture_on_commit_callbacks, "alert_snooze", str(alert.pk), "ULEAD")
    alert.refresh_from_db()
    assert alert.status == Alert.Status.SNOOZED and alert.snoozed_until
    (update,) = slack.of("chat.update")
    flat = json.dumps(update["blocks"])
    assert "Snoozed for a day by <@ULEAD>" in flat and "Snoozed until" in flat


def test_show_details_privately(client, slack, alert, django_capture_on_commit_callbacks):
    click(
        client,
        django_capture_on_commit_callbacks,
        "alert_details",
        str(alert.pk),
        "UALICE",
        response_url=slack.response_url("d1"),
    )
    (private,) = slack.of("response_url")
    assert private["replace_original"] is False
    flat = json.dumps(private["blocks"])
    assert "*Threshold*\\n80%" in flat and "*Spent of budget*\\n$812.40 of $1,000.00" in flat
    assert "*Kind*\\nBudget" in flat and "*Team*\\nMl-Platform" in flat
    # Internal bookkeeping and empty values are not shown; times are Slack dates.
    assert "run" not in flat.lower().split("raised")[0] and "application_key" not in flat
    assert "<!date^" in flat and "Application" not in flat
    assert_within_slack_limits(private["blocks"])
    click(
        client,
        django_capture_on_commit_callbacks,
        "alert_details",
        str(alert.pk),
        "UBOB",
        response_url=slack.response_url("d2"),
    )
    assert slack.of("response_url")[1]["text"] == ALERT_UNAVAILABLE


def test_approve_by_an_allowed_person_updates_the_message(
    client, slack, alert, proposed, django_capture_on_commit_callbacks
):
    click(
        client,
        django_capture_on_commit_callbacks,
        "action_approve",
        str(proposed.pk),
        "UFIONA",
        ts="1700.9",
    )
    proposed.refresh_from_db()
    assert proposed.approved_by.email == "finops@example.com" and proposed.approved_at
    assert proposed.status != RemediationAction.Status.PROPOSED
    (update,) = slack.of("chat.update")
    flat = json.dumps(update["blocks"])
    assert "approved by <@UFIONA>" in flat
    assert "Approved Hard budget cap on an application key (chatbot) by <@UFIONA>" in flat
    assert "action_approve" not in flat


def test_team_lead_may_approve_too(
    client, slack, alert, proposed, django_capture_on_commit_callbacks
):
    click(client, django_capture_on_commit_callbacks, "action_approve", str(proposed.pk), "ULEAD")
    proposed.refresh_from_db()
    assert proposed.approved_by.email == "lead@example.com"


def test_approve_by_a_disallowed_person_changes_nothing(
    client, slack, alert, proposed, django_capture_on_commit_callbacks
):
    click(
        client,
        django_capture_on_commit_callbacks,
        "action_approve",
        str(proposed.pk),
        "UALICE",
        response_url=slack.response_url("p1"),
    )
    proposed.refresh_from_db()
    assert proposed.status == RemediationAction.Status.PROPOSED and proposed.approved_by is None
    assert slack.of("chat.update") == []
    (private,) = slack.of("response_url")
    assert "only FinOps admins and the team's leads can approve" in private["text"]
    interaction = Interaction.objects.get()
    assert (interaction.action, interaction.allowed, interaction.slack_user_id) == (
        "approve",
        False,
        "UALICE",
    )


def test_approving_twice_is_refused_the_second_time(
    client, slack, alert, proposed, django_capture_on_commit_callbacks
):
    click(client, django_capture_on_commit_callbacks, "action_approve", str(proposed.pk), "UFIONA")
    click(
        client,
        django_capture_on_commit_callbacks,
        "action_approve",
        str(proposed.pk),
        "ULEAD",
        response_url=slack.response_url("p2"),
    )
    proposed.refresh_from_db()
    assert proposed.approved_by.email == "finops@example.com"
    assert "only a proposed one can be approved" in slack.of("response_url")[0]["text"]


def test_unsigned_click_is_refused_and_changes_nothing(client, slack, alert):
    body = action_body("alert_ack", str(alert.pk), user_id="UALICE")
    response = client.post("/slack/events", data=body, content_type=FORM)
    assert response.status_code == 401
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN and not Interaction.objects.exists()


def test_unknown_clicker_is_told_and_nothing_changes(
    client, slack, alert, django_capture_on_commit_callbacks
):
    click(
        client,
        django_capture_on_commit_callbacks,
        "alert_ack",
        str(alert.pk),
        "UNOBODY",
        response_url=slack.response_url("u"),
    )
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN
    assert "can't match your Slack account" in slack.of("response_url")[0]["text"]


def test_link_button_is_acknowledged(client, slack, django_capture_on_commit_callbacks):
    click(client, django_capture_on_commit_callbacks, "open_portal", "", "UALICE")
    assert not Delivery.objects.exists()


def test_one_anomaly_one_message_with_the_model_breakdown(fake_slack, teams):
    from datetime import timedelta

    from metrics.alerting.anomalies import anomalies_detect
    from metrics.models import DailyCost

    team = teams["ml-platform"]
    team.slack_channel_id = "C0MLP"
    team.save()
    day = date(2026, 6, 15)
    for i in range(1, 21):
        DailyCost.objects.create(
            team=team,
            day=day - timedelta(days=i),
            provider="openai",
            model="gpt-4o",
            currency="USD",
            effective_cost=Decimal(10),
            billed_cost=Decimal(10),
        )
    DailyCost.objects.create(
        team=team,
        day=day,
        provider="openai",
        model="gpt-4o",
        currency="USD",
        effective_cost=Decimal(100),
        billed_cost=Decimal(100),
    )
    (alert,) = anomalies_detect(start=day, end=day + timedelta(1))
    assert alert.subject == ""
    assert alerts_post() == 1
    (message,) = fake_slack.of("chat.postMessage")
    flat = json.dumps(message["blocks"])
    assert "*By model*" in flat
    assert "gpt-4o: $100.00, 10.0x its 7-day median ($10.00) (anomalous)" in flat
    assert_within_slack_limits(message["blocks"])


@pytest.mark.parametrize(
    ("action_id", "kind"),
    [
        ("alert_ack", "alert"),
        ("alert_snooze", "alert"),
        ("alert_details", "alert"),
        ("action_approve", "action"),
        ("action_reject", "action"),
    ],
)
def test_another_teams_object_answers_exactly_like_a_missing_one(
    client, slack, alert, proposed, django_capture_on_commit_callbacks, action_id, kind
):
    """#12: "not allowed" and "does not exist" must not differ, or clicks probe for ids."""
    existing = alert.pk if kind == "alert" else proposed.pk
    answers = []
    for n, value in enumerate([existing, 999_999]):
        click(
            client,
            django_capture_on_commit_callbacks,
            action_id,
            str(value),
            "UBOB",  # of the search team; the alert and action are ml-platform's
            response_url=slack.response_url(f"x{n}"),
        )
        answer = dict(slack.of("response_url")[-1])
        answer.pop("_path")  # which fake response_url it went to
        answers.append(answer)
    assert answers[0] == answers[1]
    assert answers[0]["text"] == (ALERT_UNAVAILABLE if kind == "alert" else ACTION_UNAVAILABLE)
    alert.refresh_from_db()
    proposed.refresh_from_db()
    assert alert.status == Alert.Status.OPEN
    assert proposed.status == RemediationAction.Status.PROPOSED


def test_a_snoozed_alert_that_wakes_up_updates_the_message_and_tells_the_team(
    client, slack, alert, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from metrics.alerting.alerts import alerts_wake_snoozed

    assert alerts_post() == 1
    alert.refresh_from_db()
    ts = alert.slack_ts
    click(
        client,
        django_capture_on_commit_callbacks,
        "alert_snooze",
        str(alert.pk),
        "ULEAD",
        channel="C0MLP",
        ts=ts,
    )
    alert.refresh_from_db()
    assert alert.status == Alert.Status.SNOOZED
    assert "Snoozed until" in json.dumps(slack.of("chat.update")[-1]["blocks"])
    assert alerts_wake_snoozed(now=timezone.now() + timedelta(days=2)) == 1
    assert alerts_wake_snoozed(now=timezone.now() + timedelta(days=2)) == 0
    assert alerts_post() == 1  # the wake is announced
    assert alerts_post() == 0  # once
    redrawn = json.dumps(slack.of("chat.update")[-1]["blocks"])
    assert "Status: *Open*" in redrawn and "Snoozed until" not in redrawn
    assert "alert_snooze" in redrawn  # the buttons are back
    (told,) = [m for m in slack.of("chat.postMessage") if m.get("thread_ts") == ts]
    assert told["reply_broadcast"] is True
    assert told["text"].startswith(":alarm_clock: The snooze is over: this alert is open again.")
