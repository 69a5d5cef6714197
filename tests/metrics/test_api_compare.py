"""GET /api/v1/rankings/, /comparison/ and /drivers/: the same numbers as metrics.queries,
checked against Decimal sums of the rows, and scoped like every spend endpoint."""

from datetime import timedelta
from decimal import Decimal

from tests.metrics.test_queries_compare import LAST, D, day_range, ledger, total  # noqa: F401


def test_rankings_top_teams_for_an_admin(client, people, ledger):  # noqa: F811
    client.force_login(people["admin"])
    body = client.get("/api/v1/rankings/?by=team&top=2&start=2026-09-01&end=2026-09-30").json()
    start, end = D("2026-09-01"), D("2026-10-01")
    ml, search = total({"ml-platform"}, start, end), total({"search"}, start, end)
    assert [(r["key"], Decimal(r["amount"])) for r in body["rows"]] == [
        ("ml-platform", ml),
        ("search", search),
    ]
    assert body["keys"] == 3 and Decimal(body["totals"]["USD"]) == total(None, start, end)
    assert body["data_through"] == "2026-09-30"  # the last day with data up to the end


def test_rankings_refuse_other_teams_like_missing_ones(client, people, ledger):  # noqa: F811
    client.force_login(people["engineer"])
    assert client.get("/api/v1/rankings/?by=model&team=search").status_code == 404
    assert client.get("/api/v1/rankings/?by=colour").status_code == 400
    own = client.get("/api/v1/rankings/?by=provider&start=2026-10-01&end=2026-10-13").json()
    assert {r["key"] for r in own["rows"]} == {"openai", "kubernetes"}  # no aws: not theirs


def test_comparison_like_for_like_and_explicit_previous(client, people, ledger):  # noqa: F811
    client.force_login(people["engineer"])
    body = client.get("/api/v1/comparison/?start=2026-10-12&end=2026-10-18").json()
    assert body["comparison"]["like_for_like"] is True
    assert body["comparison"]["current_days"] == ["2026-10-12", "2026-10-13"]
    assert Decimal(body["previous_totals"]["USD"]) == total(
        {"ml-platform"}, D("2026-10-05"), D("2026-10-07")
    )
    assert body["data_through"] == LAST.isoformat()
    nov = client.get(
        "/api/v1/comparison/?start=2026-10-01&end=2026-10-07"
        "&previous_start=2026-09-10&previous_end=2026-09-16&by=provider"
    ).json()
    assert nov["previous"]["start"] == "2026-09-10" and nov["by"] == "provider"
    assert sum(Decimal(r["delta"]) for r in nov["rows"]) == Decimal(nov["totals"]["USD"]) - Decimal(
        nov["previous_totals"]["USD"]
    )
    half = client.get("/api/v1/comparison/?previous_start=2026-09-10")
    assert half.status_code == 400 and "previous_end" in half.json()


def test_drivers_decompose_and_link_the_dashboard(client, people, ledger, settings):  # noqa: F811
    settings.SITE_URL = "https://finops.example.com/"
    client.force_login(people["admin"])
    body = client.get("/api/v1/drivers/?start=2026-10-05&end=2026-10-11").json()
    delta = total(None, D("2026-10-05"), D("2026-10-12")) - total(
        None, D("2026-09-28"), D("2026-10-05")
    )
    assert [g["by"] for g in body["drivers"]] == ["model", "application", "provider"]
    for group in body["drivers"]:
        assert sum(Decimal(r["delta"]) for r in group["rows"]) == delta
    assert body["dashboard_url"] == (
        "https://finops.example.com/dashboard/?start=2026-10-05&end=2026-10-11"
    )
    _ = timedelta, day_range
