"""GET /api/v1/spend/ and /api/v1/kpis/: hand-computed answers, defaults, validation."""

import math
from datetime import UTC, datetime, timedelta

import pytest

from metrics.economics.forecast import month_bounds
from metrics.ledger.ingest import rebuild_rollups
from tests.metrics.test_api_world import DAY, batch, record

D1 = DAY + timedelta(days=1)
PERIOD = f"start={DAY}&end={D1}"


@pytest.fixture
def ledger(teams):
    ml, search = teams["ml-platform"], teams["search"]
    b = batch()
    # The period: 5 and 6 October. ml-platform: 10.00 + 5.50 USD; search: 7.00 USD.
    record(
        b,
        ml,
        DAY,
        "10.00",
        billed="12.00",
        model="gpt-4o-2024-08-06",
        application_key="chat",
        model_requests=100,
        input_tokens=1000,
        cached_input_tokens=200,
        output_tokens=500,
    )
    record(
        b,
        ml,
        D1,
        "5.50",
        provider="anthropic",
        model="claude-sonnet-4",
        model_requests=0,
        input_tokens=300,
        output_tokens=0,
    )
    record(b, ml, D1, "2.25", model="gpt-4o-mini", model_requests=10, output_tokens=10)
    record(b, search, DAY, "7.00")
    # The previous equal period (3 and 4 October): 4.00 for ml-platform.
    record(b, ml, DAY - timedelta(days=2), "4.00")
    # No team: only FinOps admins see it.
    record(b, None, DAY, "3.00", provider="aws", model="")
    rebuild_rollups([DAY - timedelta(days=2), DAY, D1])
    return b


def test_spend_of_own_team_with_previous_period_breakdowns_and_kpis(client, people, ledger):
    client.force_login(people["engineer"])
    body = client.get(f"/api/v1/spend/?{PERIOD}").json()
    assert body["scope"] == {"name": "Ml-Platform", "organization": False, "teams": ["ml-platform"]}
    assert body["period"] == {"start": "2026-10-05", "end": "2026-10-06", "days": 2}
    assert body["totals"] == {"USD": "17.750000"}
    assert body["previous"] == {
        "start": "2026-10-03",
        "end": "2026-10-04",
        "days": 2,
        "totals": {"USD": "4.000000"},
    }
    # The ledger has no data at all for 4 October: like for like, 5 October (10.00) is
    # compared with 3 October (4.00) only, and the answer says so.
    assert body["change"]["USD"] == pytest.approx((10 - 4) / 4)
    assert body["comparison"]["like_for_like"] is True
    assert body["comparison"]["current_days"] == ["2026-10-05"]
    assert body["comparison"]["previous_days"] == ["2026-10-03"]
    assert body["comparison"]["previous_coverage"] == "partial"
    assert body["data_through"] == "2026-10-06"
    assert body["by_provider"] == [
        {"key": "openai", "currency": "USD", "amount": "12.250000"},
        {"key": "anthropic", "currency": "USD", "amount": "5.500000"},
    ]
    assert [b["key"] for b in body["by_model"]] == [
        "gpt-4o-2024-08-06",
        "claude-sonnet-4",
        "gpt-4o-mini",
    ]
    assert body["by_application"] == [{"key": "chat", "currency": "USD", "amount": "10.000000"}]
    assert body["daily"] == [
        {"day": "2026-10-05", "currency": "USD", "amount": "10.000000"},
        {"day": "2026-10-06", "currency": "USD", "amount": "7.750000"},
    ]
    kpis = body["kpis"]
    # Matched numerator: anthropic reports no requests, so its 5.50 is not in the numerator.
    assert kpis["cost_per_inference"] == pytest.approx(12.25 / 110)
    assert body["kpi_coverage"]["cost_per_inference"] == pytest.approx(12.25 / 17.75)
    assert body["kpi_coverage"]["cost_per_1k_tokens"] == pytest.approx(1.0)
    # Token density counts the tokens of providers that report output tokens (not anthropic's
    # 300 input tokens with no output in this period).
    assert kpis["token_density"] == pytest.approx((1000 + 200 + 500 + 10) / 510)
    assert kpis["cost_per_1k_tokens"] == pytest.approx(17.75 / 2010 * 1000)
    assert kpis["cache_hit_ratio"] == pytest.approx(200 / 1500)
    assert body["unallocated"] is None
    assert body["filters"] == {"providers": [], "models": [], "cost": "effective"}


def test_filters_billed_cost_and_model_snapshots(client, people, ledger):
    client.force_login(people["engineer"])
    billed = client.get(f"/api/v1/spend/?{PERIOD}&cost=billed").json()
    assert billed["totals"] == {"USD": "19.750000"}
    gpt4o = client.get(f"/api/v1/spend/?{PERIOD}&model=gpt-4o").json()
    assert gpt4o["totals"] == {"USD": "10.000000"}  # the snapshot, not gpt-4o-mini
    both = client.get(f"/api/v1/spend/?{PERIOD}&model=gpt-4o,gpt-4o-mini&provider=OpenAI").json()
    assert both["totals"] == {"USD": "12.250000"}
    assert both["filters"]["providers"] == ["openai"]
    top = client.get(f"/api/v1/spend/?{PERIOD}&top=1").json()
    assert len(top["by_model"]) == 1


def test_admin_sees_the_organization_with_unallocated_cost(client, people, ledger):
    client.force_login(people["admin"])
    org = client.get(f"/api/v1/spend/?{PERIOD}").json()
    assert org["scope"]["organization"] is True and org["scope"]["teams"] is None
    assert org["totals"] == {"USD": "27.750000"}
    assert org["unallocated"] == {"USD": "3.000000"}
    assert org["kpis"]["unallocated_share"] == pytest.approx(3 / 27.75)
    two = client.get(f"/api/v1/spend/?{PERIOD}&team=search,ml-platform").json()
    assert two["scope"]["teams"] == ["ml-platform", "search"]
    assert two["totals"] == {"USD": "24.750000"} and two["unallocated"] is None


def test_currencies_are_never_added(client, people, teams, ledger):
    record(ledger, teams["ml-platform"], DAY, "100.00", currency="EUR", model="mistral-large")
    rebuild_rollups([DAY])
    client.force_login(people["engineer"])
    body = client.get(f"/api/v1/spend/?{PERIOD}").json()
    assert body["totals"] == {"EUR": "100.000000", "USD": "17.750000"}
    assert body["change"] == {"EUR": None, "USD": pytest.approx(1.5)}  # like for like
    assert body["kpis"]["cost_per_inference"] is None  # undefined across currencies


def test_default_period_is_the_month_to_date(client, people, teams):
    today = datetime.now(UTC).date()
    first, _ = month_bounds(today)
    b = batch()
    record(b, teams["ml-platform"], today, "1.25")
    record(b, teams["ml-platform"], first - timedelta(days=1), "8.00")  # last month
    rebuild_rollups([today, first - timedelta(days=1)])
    client.force_login(people["lead"])
    body = client.get("/api/v1/spend/").json()
    assert body["period"]["start"] == first.isoformat()
    assert body["period"]["end"] == today.isoformat()
    assert body["totals"] == {"USD": "1.250000"}


def test_empty_period_answers_zero_not_an_error(client, people, teams):
    client.force_login(people["engineer"])
    body = client.get("/api/v1/spend/?start=2020-01-01&end=2020-01-31").json()
    assert body["totals"] == {} and body["daily"] == [] and body["carbon_g"] is None
    assert all(v is None for v in body["kpis"].values())


@pytest.mark.parametrize(
    "query,param",
    [
        ("start=2026-13-01", "start"),
        ("start=05/10/2026", "start"),
        ("end=2026-02-30", "end"),
        ("start=2026-10-06&end=2026-10-05", "end"),
        ("start=0001-01-01&end=2026-01-01", "start"),
        ("start=1971-01-01&end=2026-01-01", "end"),  # longer than ten years
        ("cost=list", "cost"),
        ("top=0", "top"),
        ("top=x", "top"),
        ("team=not a slug", "team"),
        ("provider=" + "x" * 40, "provider"),
        ("model=" + ",".join(f"m{i}" for i in range(30)), "model"),
    ],
)
def test_validation_errors_are_400_naming_the_parameter(client, people, teams, query, param):
    client.force_login(people["engineer"])
    response = client.get(f"/api/v1/spend/?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [param]


def test_unknown_and_hidden_teams_answer_alike(client, people, teams):
    client.force_login(people["engineer"])
    hidden = client.get("/api/v1/spend/?team=search")
    unknown = client.get("/api/v1/spend/?team=no-such-team")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["detail"].replace("search", "X") == unknown.json()["detail"].replace(
        "no-such-team", "X"
    )


def test_kpis_per_model(client, people, ledger):
    client.force_login(people["engineer"])
    body = client.get(f"/api/v1/kpis/?{PERIOD}").json()
    rows = {m["model"]: m for m in body["models"]}
    assert list(rows) == ["gpt-4o-2024-08-06", "claude-sonnet-4", "gpt-4o-mini"]
    gpt = rows["gpt-4o-2024-08-06"]
    assert gpt["effective_cost"] == "10.000000" and gpt["model_requests"] == 100
    assert gpt["cost_per_inference"] == pytest.approx(0.1)
    assert gpt["token_density"] == pytest.approx(1700 / 500)
    assert gpt["cost_per_1k_tokens"] == pytest.approx(10 / 1700 * 1000)
    assert gpt["cache_hit_ratio"] == pytest.approx(200 / 1200)
    claude = rows["claude-sonnet-4"]  # no requests, no output tokens: undefined, not 0
    assert claude["cost_per_inference"] is None and claude["token_density"] is None
    assert claude["cost_per_1k_tokens"] == pytest.approx(5.5 / 300 * 1000)
    assert rows["gpt-4o-mini"]["cache_hit_ratio"] is None
    only = client.get(f"/api/v1/kpis/?{PERIOD}&provider=anthropic").json()
    assert [m["model"] for m in only["models"]] == ["claude-sonnet-4"]


def test_model_kpis_query_reads_rollups_only(people, ledger, django_assert_num_queries):
    from metrics.queries import SpendQuery, model_kpis, scope_for

    q = SpendQuery(scope_for(people["admin"]), DAY, D1 + timedelta(days=1))
    with django_assert_num_queries(1):
        rows = model_kpis(q)
    # The organization: search's gpt-4o too; the unallocated AWS line has no model.
    assert [r.model for r in rows] == [
        "gpt-4o-2024-08-06",
        "gpt-4o",
        "claude-sonnet-4",
        "gpt-4o-mini",
    ]
    assert math.isnan(rows[2].kpis["cost_per_inference"])
