"""Remediation policies: validation (admin and API), each trigger proposing once with its
expected effect and dry run, approval only by the people a policy names, and the LiteLLM
executor against a local fake proxy."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from metrics.advice.policies import policies_evaluate_alerts
from metrics.advice.remediation import (
    action_approve,
    action_propose,
    action_run,
    executor_unavailable,
)
from metrics.alerting.budgets import budgets_evaluate
from metrics.models import Budget, DailyCost, RemediationAction, RemediationPolicy
from tests.fakes.litellm import FakeLiteLLM

MASTER = "sk-master-test"


@pytest.fixture
def litellm(settings):
    with FakeLiteLLM(MASTER, keys=("chatbot",)) as fake:
        settings.LITELLM_PROXY_URL = fake.url
        settings.LITELLM_MASTER_KEY = MASTER
        yield fake


def test_a_bad_policy_is_refused_naming_the_field(client, people):
    client.force_login(people["admin"])
    response = client.post(
        "/api/v1/policies/",
        {"name": "x", "trigger": "anomaly", "action_kind": "", "executor": "nope", "params": []},
        content_type="application/json",
    )
    assert response.status_code == 400
    body = response.json()
    assert "no executor named 'nope'" in str(body["executor"])
    assert "say which action" in str(body["action_kind"])
    assert "JSON object" in str(body["params"])
    assert RemediationPolicy.objects.count() == 0
    with pytest.raises(ValidationError) as err:
        RemediationPolicy(name="y", trigger="budget", action_kind="reboot").full_clean()
    assert "action_kind" in err.value.message_dict


def test_a_nul_byte_in_policy_params_is_a_400_not_a_500(client, people):
    # Found by tests/portal/test_fuzz.py on PostgreSQL: jsonb refuses \u0000 (DataError, 500).
    client.force_login(people["admin"])
    response = client.post(
        "/api/v1/policies/",
        {
            "name": "x",
            "trigger": "anomaly",
            "action_kind": "route_model",
            "params": {"from_model": "a\x00b", "nested": [{"k\x00": 1}]},
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "NUL" in str(response.json()["params"])
    response = client.post(
        "/api/v1/policies/",
        {"name": "x", "trigger": "anomaly", "action_kind": "route_model", "approvers": "a\x00b"},
    )
    assert response.status_code == 400
    assert "approvers" in response.json()
    assert RemediationPolicy.objects.count() == 0


def test_a_budget_at_100_percent_proposes_a_cap_once_and_only_named_people_approve(
    teams, people, litellm, django_capture_on_commit_callbacks
):
    team = teams["ml-platform"]
    budget = Budget.objects.create(
        team=team, application_key="chatbot", monthly_amount=Decimal("100"), thresholds=[100]
    )
    DailyCost.objects.create(
        team=team,
        day=date(2026, 10, 3),
        provider="openai",
        model="gpt-4o",
        application_key="chatbot",
        currency="USD",
        effective_cost=Decimal("194"),
        billed_cost=Decimal("194"),
    )
    policy = RemediationPolicy.objects.create(
        name="Cap keys over budget",
        trigger="budget",
        min_percent=100,
        action_kind="budget_cap",
        executor="litellm",
    )
    policy.approvers.add(people["lead"])
    alerts = budgets_evaluate(today=date(2026, 10, 4))
    (action,) = policies_evaluate_alerts(alerts)
    assert action.alert.budget == budget and action.kind == "budget_cap"
    assert action.params == {"application_key": "chatbot", "monthly_cap": "100.00"}
    assert action.expected_effect["monthly_saving"] == "94.00"
    assert action.dry_run_result["body"]["max_budget"] == 100.0
    assert policies_evaluate_alerts(alerts) == []  # once per policy and alert
    with pytest.raises(PermissionDenied):
        action_approve(action=action, user=people["admin"])  # not named by the policy
    with django_capture_on_commit_callbacks(execute=True):
        action_approve(action=action, user=people["lead"])
    action.refresh_from_db()
    assert action.status == "succeeded"
    assert litellm.keys["chatbot"]["max_budget"] == 100.0
    assert litellm.keys["chatbot"]["budget_duration"] == "30d"
    assert len(litellm.requests) == 1


def test_below_the_policy_threshold_nothing_is_proposed(teams):
    team = teams["ml-platform"]
    Budget.objects.create(team=team, monthly_amount=Decimal("1000"), thresholds=[50, 100])
    DailyCost.objects.create(
        team=team,
        day=date(2026, 10, 3),
        provider="openai",
        currency="USD",
        effective_cost=Decimal("600"),
        billed_cost=Decimal("600"),
    )
    RemediationPolicy.objects.create(
        name="Cap at 100%", trigger="budget", min_percent=100, action_kind="budget_cap"
    )
    alerts = budgets_evaluate(today=date(2026, 10, 4))
    assert alerts and policies_evaluate_alerts(alerts) == []


def test_litellm_executor_reports_a_refusal_and_what_it_cannot_do(teams, people, litellm, settings):
    settings.LITELLM_MASTER_KEY = "sk-wrong"
    action = action_propose(
        kind="model_route",
        team=teams["ml-platform"],
        params={"application_key": "chatbot", "from_model": "gpt-4o", "to_model": "gpt-4o-mini"},
        executor="litellm",
    )
    RemediationAction.objects.filter(pk=action.pk).update(
        status="approved", approved_by=people["admin"], approved_at="2026-10-04T00:00:00Z"
    )
    assert action_run(action.pk) is False
    action.refresh_from_db()
    assert action.status == "failed" and action.result["status_code"] == 401
    assert litellm.keys["chatbot"]["aliases"] == {}
    gpu = action_propose(
        kind="gpu_scale_down",
        team=teams["ml-platform"],
        params={"cluster": "c"},
        executor="litellm",
    )
    RemediationAction.objects.filter(pk=gpu.pk).update(
        status="approved", approved_at="2026-10-04T00:00:00Z"
    )
    assert action_run(gpu.pk) is False
    gpu.refresh_from_db()
    assert "cannot run a 'Scale a GPU pool down'" in gpu.result["error"]
    settings.LITELLM_PROXY_URL = ""
    assert executor_unavailable("litellm") == (
        "the LiteLLM executor is not configured: LITELLM_PROXY_URL is not set"
    )
    assert executor_unavailable("nope") == "no executor named 'nope'"
