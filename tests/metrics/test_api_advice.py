"""Alerts (acknowledge, snooze), recommendations (dismiss) and remediation actions (approve,
reject, dry-run) through the API: each calls the service, and its refusals map to HTTP."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from metrics.models import Alert, Recommendation, RemediationAction
from tests.metrics.test_api_world import world


@pytest.fixture
def objects(teams):
    return world(teams)


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def test_acknowledge_records_who_and_is_idempotent(client, people, objects):
    alert = objects["alert"]
    client.force_login(people["teammate"])
    body = post(client, f"/api/v1/alerts/{alert.pk}/acknowledge/").json()
    assert body["status"] == "acknowledged" and body["acknowledged_by"] == "dan@example.com"
    assert "run" not in body["details"]
    client.force_login(people["engineer"])
    again = post(client, f"/api/v1/alerts/{alert.pk}/acknowledge/").json()
    assert again["acknowledged_by"] == "dan@example.com"  # unchanged


def test_snooze_by_hours_or_until(client, people, objects):
    alert = objects["alert"]
    client.force_login(people["engineer"])
    before = timezone.now()
    body = post(client, f"/api/v1/alerts/{alert.pk}/snooze/", {"hours": 3}).json()
    until = datetime.fromisoformat(body["snoozed_until"])
    assert body["status"] == "snoozed"
    assert before + timedelta(hours=3) <= until <= timezone.now() + timedelta(hours=3)
    later = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    body = post(client, f"/api/v1/alerts/{alert.pk}/snooze/", {"until": later.isoformat()}).json()
    assert datetime.fromisoformat(body["snoozed_until"]) == later


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"hours": 2, "until": "2030-01-01T00:00:00Z"},
        {"until": "2020-01-01T00:00:00Z"},
        {"until": "2999-01-01T00:00:00Z"},
        {"hours": 0},
        {"hours": 10_000},
        {"until": "soon"},
    ],
)
def test_snooze_validation(client, people, objects, payload):
    client.force_login(people["engineer"])
    response = post(client, f"/api/v1/alerts/{objects['alert'].pk}/snooze/", payload)
    assert response.status_code == 400
    assert set(response.json()) <= {"until", "hours"}
    objects["alert"].refresh_from_db()
    assert objects["alert"].status == Alert.Status.OPEN


def test_alert_list_is_scoped_and_filtered(client, people, objects):
    client.force_login(people["engineer"])
    rows = client.get("/api/v1/alerts/").json()["results"]
    assert [r["id"] for r in rows] == [objects["alert"].pk]
    assert client.get("/api/v1/alerts/?status=acknowledged").json()["results"] == []
    assert client.get("/api/v1/alerts/?status=bogus").status_code == 400
    client.force_login(people["admin"])
    assert len(client.get("/api/v1/alerts/").json()["results"]) == 3
    assert len(client.get("/api/v1/alerts/?kind=anomaly").json()["results"]) == 1


def test_dismiss_needs_a_reason(client, people, objects):
    rec = objects["recommendation"]
    client.force_login(people["engineer"])
    for body in ({}, {"reason": "   "}):
        response = post(client, f"/api/v1/recommendations/{rec.pk}/dismiss/", body)
        assert response.status_code == 400 and list(response.json()) == ["reason"]
    done = post(client, f"/api/v1/recommendations/{rec.pk}/dismiss/", {"reason": "too risky"})
    assert done.json()["status"] == "dismissed"
    assert done.json()["dismissed_reason"] == "too risky"
    assert done.json()["dismissed_by"] == "alice@example.com"


def test_an_applied_recommendation_cannot_be_dismissed(client, people, objects):
    rec = objects["recommendation"]
    Recommendation.objects.filter(pk=rec.pk).update(status=Recommendation.Status.APPLIED)
    client.force_login(people["admin"])
    response = post(client, f"/api/v1/recommendations/{rec.pk}/dismiss/", {"reason": "x"})
    assert response.status_code == 409


def test_recommendations_largest_saving_first(client, people, objects, teams):
    Recommendation.objects.create(
        kind=Recommendation.Kind.CACHING,
        dedupe_key="caching:ml",
        team=teams["ml-platform"],
        title="Cache the system prompt",
        estimated_monthly_saving="99.00",
    )
    client.force_login(people["engineer"])
    rows = client.get("/api/v1/recommendations/").json()["results"]
    assert [r["estimated_monthly_saving"] for r in rows] == ["1234.56", "99.00"]


def test_engineer_cannot_approve_the_lead_can_once(
    client, people, objects, django_capture_on_commit_callbacks, settings
):
    settings.REMEDIATION_WEBHOOK_URL = ""  # the executor fails closed; what matters is once
    action = objects["action"]
    client.force_login(people["engineer"])
    listed = client.get("/api/v1/actions/").json()["results"]
    assert [(a["id"], a["can_approve"]) for a in listed] == [(action.pk, False)]
    refused = post(client, f"/api/v1/actions/{action.pk}/approve/")
    assert refused.status_code == 403
    action.refresh_from_db()
    assert action.status == RemediationAction.Status.PROPOSED

    client.force_login(people["lead"])
    with django_capture_on_commit_callbacks(execute=False) as queued:
        approved = post(client, f"/api/v1/actions/{action.pk}/approve/")
    assert approved.status_code == 200 and len(queued) == 1
    body = approved.json()
    assert body["status"] == "approved" and body["approved_by"] == "lead@example.com"
    assert post(client, f"/api/v1/actions/{action.pk}/approve/").status_code == 409
    assert post(client, f"/api/v1/actions/{action.pk}/reject/").status_code == 409


def test_reject_and_dry_run(client, people, objects, settings):
    settings.REMEDIATION_WEBHOOK_URL = "https://hooks.example.com/finops"
    action = objects["action"]
    client.force_login(people["engineer"])
    preview = post(client, f"/api/v1/actions/{action.pk}/dry-run/").json()
    assert preview["would_run"] is False and preview["status"] == "proposed"
    assert preview["preview"]["url"] == "https://hooks.example.com/finops"
    assert preview["preview"]["body"]["params"] == {"application_key": "chat", "cap": "1234.56"}
    action.refresh_from_db()
    assert action.dry_run_result["would_run"] is False
    assert post(client, f"/api/v1/actions/{action.pk}/reject/").status_code == 403

    client.force_login(people["admin"])
    rejected = post(client, f"/api/v1/actions/{action.pk}/reject/", {"reason": "not now"})
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["result"]["reason"] == "not now"
    assert post(client, f"/api/v1/actions/{action.pk}/approve/").status_code == 409


@pytest.mark.parametrize("pk", ["99999999999999999999999", "9223372036854775808", "abc", "-1"])
@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/api/v1/alerts/{}/"),
        ("post", "/api/v1/alerts/{}/acknowledge/"),
        ("get", "/api/v1/recommendations/{}/"),
        ("post", "/api/v1/actions/{}/approve/"),
        ("get", "/api/v1/budgets/{}/"),
        ("get", "/api/v1/records/{}/"),
        ("get", "/api/v1/allocation-rules/{}/"),
        ("get", "/api/v1/imports/{}/"),
    ],
)
def test_ids_that_cannot_exist_are_404(client, people, teams, method, path, pk):
    client.force_login(people["admin"])
    response = getattr(client, method)(path.format(pk), {}, content_type="application/json")
    assert response.status_code == 404
