"""The Run stage in the portal: who sees which actions, approving and rejecting (only the
people allowed), why an approval failed when no executor is configured, the policies for
FinOps admins."""

from decimal import Decimal

import pytest

from metrics.advice.remediation import action_propose
from metrics.models import RemediationAction, RemediationPolicy


@pytest.fixture
def action(teams, people):
    policy = RemediationPolicy.objects.create(
        name="Route chatbot spikes",
        trigger="anomaly",
        team=teams["ml-platform"],
        min_amount=Decimal(50),
        action_kind="model_route",
        executor="litellm",
    )
    return action_propose(
        kind="model_route",
        team=teams["ml-platform"],
        params={"application_key": "chatbot", "from_model": "gpt-4o", "to_model": "gpt-4o-mini"},
        executor="litellm",
        policy=policy,
        expected_effect={"summary": "about $1,234.00 a month less"},
    )


def test_team_sees_its_actions_others_do_not(client, people, action):
    client.force_login(people["engineer"])
    page = client.get("/remediation/").content.decode()
    assert "Route gpt-4o to gpt-4o-mini (chatbot)" in page
    assert "about $1,234.00 a month less" in page
    assert "Approve and run once" not in page  # an engineer may not approve
    assert "Policies" not in page
    client.force_login(people["outsider"])
    assert "gpt-4o-mini" not in client.get("/remediation/").content.decode()
    assert client.get(f"/remediation/{action.pk}/").status_code == 404
    assert client.post(f"/remediation/{action.pk}/approve/").status_code == 404
    action.refresh_from_db()
    assert action.status == "proposed"


def test_engineer_cannot_approve(client, people, action):
    client.force_login(people["engineer"])
    response = client.post(f"/remediation/{action.pk}/approve/", follow=True)
    assert "You may not approve or reject this action." in response.content.decode()
    action.refresh_from_db()
    assert action.status == "proposed"


def test_approving_with_no_executor_configured_says_why(
    client, people, action, settings, django_capture_on_commit_callbacks
):
    settings.LITELLM_PROXY_URL = ""
    client.force_login(people["lead"])
    page = client.get(f"/remediation/{action.pk}/").content.decode()
    assert "It cannot run yet: the LiteLLM executor is not configured" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/remediation/{action.pk}/approve/", follow=True)
    reason = "the LiteLLM executor is not configured: LITELLM_PROXY_URL is not set"
    assert f"Approved, but it could not run: {reason}." in response.content.decode()
    page = client.get(f"/remediation/{action.pk}/").content.decode()
    assert "Why it failed" in page and reason in page
    action.refresh_from_db()
    assert action.status == "failed"


def test_reject_and_policies_for_admins(client, people, action):
    client.force_login(people["admin"])
    page = client.get("/remediation/").content.decode()
    assert "Policies" in page and "Route chatbot spikes" in page
    assert "<td>A spend anomaly of at least the minimum amount (50.00)</td>" in page
    response = client.post(f"/remediation/{action.pk}/reject/", {"reason": "not now"}, follow=True)
    assert "It will never run." in response.content.decode()
    action.refresh_from_db()
    assert action.status == RemediationAction.Status.REJECTED
    assert action.result["reason"] == "not now"
    assert client.post(f"/remediation/{action.pk}/explode/").status_code == 404


def test_the_measured_outcome_reads_in_the_one_money_format(client, people, action):
    action.outcome = {"days": 7, "before": {"USD": "70.00"}, "after": {"USD": "1234.5"}}
    action.save(update_fields=["outcome"])
    client.force_login(people["engineer"])
    page = client.get("/remediation/").content.decode()
    assert "<dd>$70.00 in the 7 days before; $1,234.50 in the 7 days after</dd>" in page, page
