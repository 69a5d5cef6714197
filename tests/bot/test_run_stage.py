"""The Run stage end to end: a FinOps admin's policy, an anomaly, the proposed action (with
its expected effect and dry run) in Slack, an approval click (a signed request to the real
/slack/events endpoint) by the person the policy names, one execution against a local fake
LiteLLM proxy, and the result and the before/after spend posted in the alert's thread."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bot.alerting import alerts_post
from bot.remediation import actions_post
from metrics.advice.policies import policies_evaluate_recommendations
from metrics.advice.remediation import actions_measure_outcomes
from metrics.models import (
    Alert,
    DailyCost,
    ModelPrice,
    Recommendation,
    RemediationAction,
    RemediationPolicy,
)
from metrics.tasks_alerting import detect_anomalies
from tests.bot.conftest import action_body, post_signed
from tests.fakes.litellm import FakeLiteLLM

FORM = "application/x-www-form-urlencoded"
MASTER = "sk-master-test"


def spend(team, day, amount, model="gpt-4o"):
    tokens = int(amount * 100_000)  # usage for the what-if at catalog prices
    DailyCost.objects.create(
        team=team,
        day=day,
        provider="openai",
        model=model,
        application_key="chatbot",
        currency="USD",
        effective_cost=Decimal(amount),
        billed_cost=Decimal(amount),
        input_tokens=tokens,
        output_tokens=tokens // 10,
        model_requests=100,
    )


@pytest.fixture
def litellm(settings):
    with FakeLiteLLM(MASTER, keys=("chatbot",)) as fake:
        settings.LITELLM_PROXY_URL = fake.url
        settings.LITELLM_MASTER_KEY = MASTER
        yield fake


@pytest.fixture
def world(fake_slack, slack_people, teams):
    team = teams["ml-platform"]
    team.slack_channel_id = "C0MLP"
    team.save()
    for model, i, o in (("gpt-4o", "2.50", "10"), ("gpt-4o-mini", "0.15", "0.60")):
        ModelPrice.objects.create(
            provider="openai",
            model=model,
            effective_date=timezone.now().date() - timedelta(days=400),
            input_per_mtok=Decimal(i),
            output_per_mtok=Decimal(o),
        )
    today = timezone.now().date()
    for n in range(1, 21):
        spend(team, today - timedelta(days=n), 10)
    spend(team, today, 100)  # the spike
    policy = RemediationPolicy.objects.create(
        name="Route chatbot spikes to the mini model",
        trigger=RemediationPolicy.Trigger.ANOMALY,
        team=team,
        min_amount=Decimal(50),
        action_kind=RemediationAction.Kind.MODEL_ROUTE,
        params={"application_key": "chatbot", "to_model": "gpt-4o-mini"},
        executor="litellm",
        created_by=slack_people["admin"],
    )
    policy.approvers.add(slack_people["lead"])
    return {"team": team, "policy": policy, "today": today, "people": slack_people}


def click(client, capture, action_id, value, user, **kw):
    with capture(execute=True):
        response = post_signed(client, action_body(action_id, value, user_id=user, **kw), FORM)
    assert response.status_code == 200
    return response


def thread_replies(fake, ts):
    return (
        [p for m, p in fake.of("chat.postMessage") if p.get("thread_ts") == ts]
        if False
        else [p for p in fake.of("chat.postMessage") if p.get("thread_ts") == ts]
    )


def test_policy_anomaly_slack_approval_one_execution_and_the_effect_in_the_thread(
    client, fake_slack, world, litellm, django_capture_on_commit_callbacks
):
    # The hourly anomaly job finds the spike; the policy proposes its action.
    with django_capture_on_commit_callbacks(execute=True):
        (alert_id,) = detect_anomalies()
    alert = Alert.objects.get(pk=alert_id)
    action = RemediationAction.objects.get(alert=alert)
    assert action.policy == world["policy"] and action.status == "proposed"
    assert action.executor == "litellm"
    assert action.params == {
        "application_key": "chatbot",
        "to_model": "gpt-4o-mini",
        "from_model": "gpt-4o",
    }
    assert Decimal(action.expected_effect["monthly_saving"]) > 0
    assert action.dry_run_result["body"]["aliases"] == {"gpt-4o": "gpt-4o-mini"}
    assert litellm.requests == []  # a dry run sends nothing
    # Re-running the job proposes nothing new.
    detect_anomalies()
    assert RemediationAction.objects.count() == 1

    # The alert goes to Slack with the proposal, its expected effect and dry run.
    assert alerts_post() == 1
    (message,) = fake_slack.of("chat.postMessage")
    flat = json.dumps(message["blocks"])
    assert "Route gpt-4o to gpt-4o-mini (chatbot)" in flat
    assert "Expected effect:" in flat and "a month less" in flat
    assert "Dry run: POST " + litellm.url + "/key/update" in flat
    assert "approval by <@ULEAD>" in flat
    alert.refresh_from_db()
    ts = alert.slack_ts

    # A FinOps admin the policy does not name may not approve; nothing runs.
    click(
        client,
        django_capture_on_commit_callbacks,
        "action_approve",
        str(action.pk),
        "UFIONA",
        channel="C0MLP",
        ts=ts,
    )
    action.refresh_from_db()
    assert action.status == "proposed" and litellm.requests == []

    # The lead it names approves: one execution against the proxy.
    click(
        client,
        django_capture_on_commit_callbacks,
        "action_approve",
        str(action.pk),
        "ULEAD",
        channel="C0MLP",
        ts=ts,
    )
    action.refresh_from_db()
    assert action.status == "succeeded" and action.approved_by == world["people"]["lead"]
    assert len(litellm.requests) == 1
    request = litellm.requests[0]
    assert request["headers"]["Authorization"] == f"Bearer {MASTER}"
    assert litellm.keys["chatbot"]["aliases"] == {"gpt-4o": "gpt-4o-mini"}
    # A second click (or a second worker) runs nothing more.
    click(
        client,
        django_capture_on_commit_callbacks,
        "action_approve",
        str(action.pk),
        "ULEAD",
        channel="C0MLP",
        ts=ts,
    )
    assert len(litellm.requests) == 1

    (result,) = thread_replies(fake_slack, ts)
    assert result["channel"] == "C0MLP"
    assert "Route gpt-4o to gpt-4o-mini (chatbot), approved by <@ULEAD>" in result["text"]
    assert "done by the litellm executor (HTTP 200)" in result["text"]
    updated = json.dumps(fake_slack.of("chat.update")[-1]["blocks"])
    assert "(succeeded)" in updated and "action_approve" not in updated

    # A week later: the spend of the scope before and after, in the same thread.
    ran = action.executed_at.date()
    for n in range(1, 8):
        spend(world["team"], ran + timedelta(days=n), 4, model="gpt-4o-mini")
    assert actions_measure_outcomes(now=action.executed_at + timedelta(days=5)) == 0  # too early
    with django_capture_on_commit_callbacks(execute=True):
        assert actions_measure_outcomes(now=action.executed_at + timedelta(days=9)) == 1
        assert actions_measure_outcomes(now=action.executed_at + timedelta(days=9)) == 0
    action.refresh_from_db()
    # Before: the 7 days before the day it ran (10 a day); after: the 7 days after (4 a day).
    assert action.outcome["before"] == {"USD": "70.00"}
    assert action.outcome["after"] == {"USD": "28.00"}
    replies = thread_replies(fake_slack, ts)
    assert len(replies) == 2
    assert replies[1]["text"] == (
        ":bar_chart: Effect of Route gpt-4o to gpt-4o-mini (chatbot): $70.00 in the 7 days "
        "before, $28.00 in the 7 days after (-60.0%)"
    )
    # Reporting again (the periodic job) posts nothing twice.
    actions_post()
    assert len(thread_replies(fake_slack, ts)) == 2


def test_approving_with_no_executor_configured_says_why_in_slack(
    client, fake_slack, world, settings, django_capture_on_commit_callbacks
):
    settings.LITELLM_PROXY_URL = ""
    with django_capture_on_commit_callbacks(execute=True):
        detect_anomalies()
    assert alerts_post() == 1
    alert = Alert.objects.get()
    action = RemediationAction.objects.get()
    click(
        client,
        django_capture_on_commit_callbacks,
        "action_approve",
        str(action.pk),
        "ULEAD",
        channel="C0MLP",
        ts=alert.slack_ts,
        response_url=fake_slack.response_url("a1"),
    )
    action.refresh_from_db()
    assert action.status == "failed"
    reason = "the LiteLLM executor is not configured: LITELLM_PROXY_URL is not set"
    assert action.result["error"] == reason
    (private,) = fake_slack.of("response_url")
    assert f"Approved, but it could not run: {reason}" in private["text"]
    (reply,) = thread_replies(fake_slack, alert.slack_ts)
    assert reply["text"].startswith(":x: ") and f"failed: {reason}" in reply["text"]


def test_a_recommendation_policy_proposes_in_its_own_message(
    client, fake_slack, world, litellm, django_capture_on_commit_callbacks
):
    team = world["team"]
    rec = Recommendation.objects.create(
        kind="downsize",
        dedupe_key="downsize:chatbot",
        team=team,
        subject="chatbot on gpt-4o",
        title="Move chatbot from gpt-4o to gpt-4o-mini",
        estimated_monthly_saving=Decimal("1800"),
        evidence={"provider": "openai", "model_from": "gpt-4o", "model_to": "gpt-4o-mini"},
    )
    policy = RemediationPolicy.objects.create(
        name="Apply downsizing over $1000",
        trigger=RemediationPolicy.Trigger.RECOMMENDATION,
        recommendation_kind="downsize",
        min_amount=Decimal(1000),
        executor="litellm",
    )
    (action,) = policies_evaluate_recommendations()
    assert action.recommendation == rec and action.policy == policy
    assert action.expected_effect["monthly_saving"] == "1800.00"
    assert policies_evaluate_recommendations() == []
    assert actions_post() == 1
    (message,) = fake_slack.of("chat.postMessage")
    flat = json.dumps(message["blocks"])
    assert "saves about $1,800.00 a month" in flat and "action_reject" in flat
    action.refresh_from_db()
    # The policy names nobody: FinOps admins and the team's leads approve; Reject works.
    click(
        client,
        django_capture_on_commit_callbacks,
        "action_reject",
        str(action.pk),
        "UFIONA",
        channel=action.slack_channel,
        ts=action.slack_ts,
    )
    action.refresh_from_db()
    assert action.status == "rejected" and litellm.requests == []
    redrawn = json.dumps(fake_slack.of("chat.update")[-1]["blocks"])
    assert "Status: *Rejected*" in redrawn and "Result: rejected by finops@example.com" in redrawn
    assert "action_approve" not in redrawn
