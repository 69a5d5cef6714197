"""Budgets CRUD and the per-team month-end forecast."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from metrics.economics.forecast import forecast_month_end
from metrics.ledger.ingest import rebuild_rollups
from metrics.models import Budget
from tests.metrics.test_api_world import batch, record


def test_lead_manages_budgets_of_their_team(client, people, teams):
    client.force_login(people["lead"])
    created = client.post(
        "/api/v1/budgets/",
        {"team": "ml-platform", "monthly_amount": "2500.5", "currency": "eur"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["monthly_amount"] == "2500.50" and body["currency"] == "EUR"
    assert body["thresholds"] == [50, 80, 100] and body["application_key"] == ""
    budget = Budget.objects.get(pk=body["id"])
    assert budget.team == teams["ml-platform"] and budget.monthly_amount == Decimal("2500.50")

    again = client.post(
        "/api/v1/budgets/",
        {"team": "ml-platform", "monthly_amount": "10", "currency": "EUR"},
        content_type="application/json",
    )
    assert again.status_code == 400 and "non_field_errors" in again.json()

    changed = client.patch(
        f"/api/v1/budgets/{budget.pk}/",
        {"thresholds": [100, 75, 75]},
        content_type="application/json",
    )
    assert changed.status_code == 200 and changed.json()["thresholds"] == [75, 100]
    moved = client.patch(
        f"/api/v1/budgets/{budget.pk}/", {"team": "search"}, content_type="application/json"
    )
    assert moved.status_code == 400 and list(moved.json()) == ["team"]
    assert client.delete(f"/api/v1/budgets/{budget.pk}/").status_code == 204
    assert not Budget.objects.exists()


def test_a_lead_of_one_team_cannot_move_a_budget_to_a_team_they_only_belong_to(
    client, people, teams
):
    from metrics.models import TeamMembership

    TeamMembership.objects.create(team=teams["search"], user=people["lead"])
    budget = Budget.objects.create(team=teams["ml-platform"], monthly_amount=Decimal("10"))
    client.force_login(people["lead"])
    moved = client.patch(
        f"/api/v1/budgets/{budget.pk}/", {"team": "search"}, content_type="application/json"
    )
    assert moved.status_code == 403
    budget.refresh_from_db()
    assert budget.team == teams["ml-platform"]


@pytest.mark.parametrize(
    "payload,param",
    [
        ({"monthly_amount": "0"}, "monthly_amount"),
        ({"monthly_amount": "-5"}, "monthly_amount"),
        ({"monthly_amount": "1.234"}, "monthly_amount"),
        ({"monthly_amount": "abc"}, "monthly_amount"),
        ({"monthly_amount": "10", "currency": "dollars"}, "currency"),
        ({"monthly_amount": "10", "thresholds": [0]}, "thresholds"),
        ({"monthly_amount": "10", "thresholds": "50"}, "thresholds"),
        ({"monthly_amount": "10", "thresholds": list(range(1, 20))}, "thresholds"),
        ({"monthly_amount": "10", "team": "nope"}, "team"),
    ],
)
def test_budget_validation(client, people, teams, payload, param):
    client.force_login(people["admin"])
    response = client.post(
        "/api/v1/budgets/", {"team": "search", **payload}, content_type="application/json"
    )
    assert response.status_code == 400
    assert param in response.json()


def test_engineer_reads_budgets_of_own_team_only(client, people, teams):
    Budget.objects.create(team=teams["ml-platform"], monthly_amount=Decimal("10"))
    Budget.objects.create(team=teams["search"], monthly_amount=Decimal("20"))
    client.force_login(people["engineer"])
    rows = client.get("/api/v1/budgets/").json()["results"]
    assert [(r["team"], r["monthly_amount"]) for r in rows] == [("ml-platform", "10")]
    assert client.get("/api/v1/budgets/?team=search").json()["results"] == []


def test_team_forecast_matches_the_forecast_service_and_compares_with_the_budget(
    client, people, teams
):
    ml = teams["ml-platform"]
    today = date(2026, 10, 20)
    b = batch()
    days = [today - timedelta(days=i) for i in range(1, 15)]
    for i, day in enumerate(days):
        record(b, ml, day, f"{100 + i}.00")
    rebuild_rollups(days)
    Budget.objects.create(team=ml, monthly_amount=Decimal("2000"))
    client.force_login(people["engineer"])
    body = client.get(f"/api/v1/teams/ml-platform/forecast/?as_of={today}").json()
    expected = forecast_month_end([ml.pk], today)[ml.pk]
    assert body["team"] == "ml-platform" and body["as_of"] == "2026-10-20"
    assert body["forecast"]["expected"] == str(expected.expected)
    assert body["forecast"]["low"] == str(expected.low)
    assert body["forecast"]["high"] == str(expected.high)
    assert body["forecast"]["currency"] == "USD" and body["forecast"]["month"] == "2026-10"
    assert body["forecast"]["days_remaining"] == 12
    assert body["budget"]["over_budget"] is (expected.expected > 2000)
    assert body["budget"]["expected_percent"] == pytest.approx(
        float(expected.expected) / 2000 * 100, abs=0.06
    )


def test_forecast_without_spend_is_null_and_bad_params_are_400(client, people, teams):
    client.force_login(people["lead"])
    body = client.get("/api/v1/teams/ml-platform/forecast/").json()
    assert body["forecast"] is None and body["budget"] is None
    bad = client.get("/api/v1/teams/ml-platform/forecast/?as_of=2026-02-31&currency=us")
    assert bad.status_code == 400 and set(bad.json()) == {"as_of", "currency"}


@pytest.mark.parametrize(
    "method,url,body,param",
    [
        ("post", "/api/v1/budgets/", {"team": "\x00ml", "monthly_amount": "1"}, "team"),
        ("post", "/api/v1/budgets/", {"team": "ml-platform\x00", "monthly_amount": "1"}, "team"),
        (
            "post",
            "/api/v1/budgets/",
            {"team": "ml-platform", "monthly_amount": "1", "application_key": "a\x00"},
            "application_key",
        ),
        ("get", "/api/v1/budgets/?team=%00", None, "team"),
        ("get", "/api/v1/records/?provider=open%00ai", None, "provider"),
        ("get", "/api/v1/records/?application=%00", None, "application"),
        ("get", "/api/v1/spend/?model=gpt%00", None, "model"),
        ("get", "/api/v1/kpis/?team=ml%00", None, "team"),
        ("get", "/api/v1/alerts/?team=%00", None, "team"),
        (
            "post",
            "/api/v1/allocation-rules/",
            {"priority": 1, "team": "\x00", "field": "provider", "pattern": "x"},
            "team",
        ),
    ],
)
def test_null_bytes_are_a_400_not_a_database_error(client, people, teams, method, url, body, param):
    client.force_login(people["admin"])
    kwargs = {"data": body, "content_type": "application/json"} if body is not None else {}
    response = getattr(client, method)(url, **kwargs)
    assert response.status_code == 400
    assert param in response.json()
