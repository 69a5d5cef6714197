"""The spend dashboards: numbers against metrics.queries and an independent Decimal sum of
the ledger lines, like-for-like comparisons, readable names, drill-down scoping, cursor
pages, CSV, empty states and the query count of each page."""

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from metrics import dashboards, queries
from metrics.models import (
    Alert,
    Budget,
    CostRecord,
    Recommendation,
    RemediationAction,
)
from metrics.queries import Scope, SpendQuery
from tests.portal.spend_ledger import ML_PROJECT, ML_WORKSPACE, build_ledger

TODAY = date(2026, 10, 4)
MAX_QUERIES = 12


@pytest.fixture
def today(monkeypatch):
    monkeypatch.setattr("portal.views.spend.ledger_today", lambda: TODAY)
    return TODAY


@pytest.fixture
def ledger(teams, today):
    return build_ledger(teams)


def text(response) -> str:
    body = response.content.decode()
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def ledger_sum(**filters) -> Decimal:
    """An independent sum of the raw lines (not the rollups)."""
    return sum(
        (r.effective_cost for r in CostRecord.objects.filter(**filters)), Decimal(0)
    ).quantize(Decimal("0.01"))


def test_partial_month_is_compared_with_the_same_days_of_last_month(ledger, teams):
    ml = Scope((teams["ml-platform"].pk,), "ml")
    october = SpendQuery(ml, date(2026, 10, 1), date(2026, 11, 1))
    view = dashboards.spend_view(october, today=TODAY)
    c = view.comparison
    # The dashboard's comparison is the query layer's (one cube instead of five queries).
    reference = queries.compare_periods(october)
    assert (c.totals, c.previous_totals) == (reference.totals, reference.previous_totals)
    assert c.compared_current == reference.compared_current
    assert c.data_through == reference.data_through == date(2026, 10, 4)
    assert c.like_for_like
    assert c.compared_current == tuple(date(2026, 10, d) for d in (1, 2, 3, 4))
    assert c.compared_previous == tuple(date(2026, 9, d) for d in (1, 2, 3, 4))
    assert c.totals == {"USD": Decimal("68")} and c.previous_totals == {"USD": Decimal("60")}
    assert round(c.change("USD"), 4) == round(8 / 60, 4)  # not 68/450 - 1 = -84.9%
    note = dashboards.comparison_note(c)
    assert "Data through 2026-10-04" in note and "Like for like: 4 days" in note
    # A week that the ledger stops inside: its 3 days with data against the first 3 days of
    # the week before.
    week_q = SpendQuery(ml, date(2026, 10, 2), date(2026, 10, 9))
    week = dashboards.spend_view(week_q, today=TODAY).comparison
    assert week.compared_previous == tuple(date(2026, 9, d) for d in (25, 26, 27))
    assert (week.totals, week.previous_totals) == ({"USD": Decimal("51")}, {"USD": Decimal("45")})
    # A complete calendar month compares with the whole previous calendar month.
    sep = dashboards.spend_view(SpendQuery(ml, date(2026, 9, 1), date(2026, 10, 1)), today=TODAY)
    assert sep.comparison.previous.start == date(2026, 8, 1)
    assert sep.totals == {"USD": Decimal("450")} and sep.change("USD") is None
    assert "has no data: no change can be computed" in dashboards.comparison_note(sep.comparison)
    # The organization's comparison (days with data read from its own cube) agrees too.
    org_q = SpendQuery(Scope(None, ""), date(2026, 10, 1), date(2026, 10, 31))
    org = dashboards.spend_view(org_q, today=TODAY).comparison
    assert org.totals == queries.compare_periods(org_q).totals == {"USD": Decimal("84")}
    assert org.previous_totals == queries.compare_periods(org_q).previous_totals


def test_team_view_numbers_match_the_query_layer_and_the_ledger(client, people, ledger, teams):
    client.force_login(people["lead"])
    page = text(client.get("/dashboard/?start=2026-10-01&end=2026-10-31"))
    q = SpendQuery(Scope((teams["ml-platform"].pk,), ""), date(2026, 10, 1), date(2026, 11, 1))
    report = queries.spend_report(q)
    assert report.totals == {"USD": Decimal("68")}
    assert ledger_sum(team=teams["ml-platform"], day__gte=date(2026, 10, 1)) == Decimal("68.00")
    assert "$68.00" in page
    assert "+13.3%" in page and "-84.9%" not in page
    assert "Like for like: 4 days with data on both sides" in page
    # Where it goes: provider, model and application rows from the same rollups.
    for b in report.by_provider + report.by_model:
        assert f"${b.amount:,.2f}" in page
    # Other teams' and unallocated spend is not on a team lead's page.
    assert "gpt-4o-mini" not in page and "aws" not in page


def test_stacking_switch_and_model_filter_live_in_the_url(client, people, ledger):
    client.force_login(people["lead"])
    base = "/dashboard/?start=2026-10-01&end=2026-10-31"
    by_provider = client.get(base).content.decode()
    by_model = client.get(base + "&stack=model").content.decode()
    assert "Daily spend by provider" in by_provider and "Daily spend by model" in by_model
    assert '"title": "Model"' in by_model and '"title": "Provider"' in by_provider
    page = text(client.get(base + "&model=gpt-4o&stack=model"))
    assert "$48.00" in page  # 4 days x 12.00
    assert ledger_sum(model="gpt-4o", day__gte=date(2026, 10, 1)) == Decimal("48.00")
    assert "claude-sonnet-4" not in page.split("Where it goes")[1].split("Unit economics")[0]


def test_applications_show_readable_names_with_the_key_in_a_tooltip(client, people, ledger):
    client.force_login(people["lead"])
    body = client.get("/dashboard/?start=2026-10-01&end=2026-10-31").content.decode()
    assert f'title="{ML_PROJECT}">ML platform chat</a>' in body
    assert f">{ML_WORKSPACE}</a>" in body  # no name anywhere: the key itself
    records = client.get("/dashboard/records/?start=2026-10-01&end=2026-10-31").content.decode()
    assert f'title="{ML_PROJECT}">ML platform chat</td>' in records
    rows = list(
        csv.DictReader(
            io.StringIO(
                b"".join(
                    client.get(
                        "/dashboard/records.csv?start=2026-10-01&end=2026-10-31"
                    ).streaming_content
                ).decode()
            )
        )
    )
    assert {r["application_key"] for r in rows} == {ML_PROJECT, ML_WORKSPACE}  # ids in CSV


def test_records_csv_streams_the_lines_behind_the_total(client, people, ledger, teams):
    client.force_login(people["lead"])
    response = client.get("/dashboard/records.csv?start=2026-10-01&end=2026-10-31&provider=openai")
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 4 and {r["team"] for r in rows} == {"ml-platform"}
    total = sum(Decimal(r["effective_cost"]) for r in rows)
    q = SpendQuery(
        Scope((teams["ml-platform"].pk,), ""), date(2026, 10, 1), date(2026, 11, 1), ("openai",)
    )
    assert total == queries.spend_report(q).totals["USD"] == Decimal("48")


def test_another_teams_views_and_records_are_404(client, people, ledger):
    client.force_login(people["engineer"])  # ml-platform
    for url in (
        "/dashboard/?team=search",
        "/dashboard/records/?team=search",
        "/dashboard/records.csv?team=search",
        "/dashboard/records/?team=no-such-team",
    ):
        assert client.get(url).status_code == 404, url
    rows = list(
        csv.DictReader(
            io.StringIO(
                b"".join(
                    client.get(
                        "/dashboard/records.csv?start=2026-09-01&end=2026-10-31"
                    ).streaming_content
                ).decode()
            )
        )
    )
    assert rows and {r["team"] for r in rows} == {"ml-platform"}  # no unallocated, no search
    assert client.get("/dashboard/org/").status_code == 403
    assert client.get("/dashboard/org/board-report/?month=2026-09").status_code == 403


def test_records_are_cursor_paginated_without_gaps_or_repeats(client, people, ledger, teams):
    client.force_login(people["lead"])
    url = "/dashboard/records/?start=2026-09-01&end=2026-10-31"
    seen: list[str] = []
    pages = 0
    while url:
        body = client.get(url).content.decode()
        pages += 1
        seen += re.findall(r"<tr><td>([^<]+)</td><td>Ml-Platform</td><td>(\w+)</td>", body)
        match = re.search(r'href="([^"]+)" rel="next"', body)
        url = match.group(1).replace("&amp;", "&") if match else None
    expected = CostRecord.objects.filter(team=teams["ml-platform"]).count()
    assert pages == 2 and len(seen) == expected == 68
    assert len(set(seen)) == 68  # every (day, provider) line once: no repeats, no gaps
    assert client.get("/dashboard/records/?cursor=forged").status_code == 404


def test_org_view_ranks_teams_like_for_like_and_shows_unallocated(client, people, ledger, teams):
    rec = Recommendation.objects.create(
        kind=Recommendation.Kind.DOWNSIZE,
        dedupe_key="r1",
        team=teams["ml-platform"],
        title="Move summaries to gpt-4o-mini",
        estimated_monthly_saving=Decimal("123.45"),
        status=Recommendation.Status.APPLIED,
    )
    RemediationAction.objects.create(
        kind=RemediationAction.Kind.MODEL_ROUTE,
        team=teams["ml-platform"],
        recommendation=rec,
        status=RemediationAction.Status.SUCCEEDED,
    )
    Recommendation.objects.create(
        kind=Recommendation.Kind.CACHING,
        dedupe_key="r2",
        team=teams["search"],
        title="Cache the search prompt",
        estimated_monthly_saving=Decimal("40"),
    )
    client.force_login(people["admin"])
    page = text(client.get("/dashboard/org/?start=2026-10-01&end=2026-10-31"))
    org = dashboards.org_view(
        SpendQuery(Scope(None, ""), date(2026, 10, 1), date(2026, 11, 1)), today=TODAY
    )
    ml = next(t for t in org.ranking if t.slug == "ml-platform")
    assert (ml.current, ml.previous) == (Decimal("68"), Decimal("60"))
    assert [t.slug for t in org.ranking] == ["ml-platform", "search"]
    assert "Ml-Platform $68.00 60.00 +13.3%" in page
    assert "Search $12.00 12.00 +0.0%" in page
    assert org.unallocated == {"USD": Decimal("4")} and "$4.00" in page
    assert "(4.8% of the total" in page  # 4 of 84
    assert ledger_sum(team__isnull=True, day__gte=date(2026, 10, 1)) == Decimal("4.00")
    sep = next(m for m in org.months if m["month"] == date(2026, 9, 1))
    assert sep["amount"] == Decimal("570") and "$570.00" in page
    assert "(partial: data through Oct. 4, 2026)" in page
    assert "$123.45 a month" in page and "$40.00 a month" in page
    assert {r["model"] for r in org.model_mix} == {
        "gpt-4o",
        "claude-sonnet-4",
        "gpt-4o-mini",
        "(no model)",
    }


def test_each_page_stays_within_twelve_queries(client, people, ledger, teams):
    Budget.objects.create(team=teams["ml-platform"], monthly_amount=Decimal("600"))
    Alert.objects.create(
        kind=Alert.Kind.BUDGET, dedupe_key="a1", team=teams["ml-platform"], day=TODAY, title="80%"
    )
    pages = {
        "lead": [
            "/dashboard/",
            "/dashboard/?start=2026-09-01&end=2026-10-31&stack=model&model=gpt-4o",
            "/dashboard/?team=ml-platform&provider=openai&application=" + ML_PROJECT,
            "/dashboard/records/?start=2026-09-01&end=2026-10-31",
        ],
        "admin": ["/dashboard/", "/dashboard/org/", "/dashboard/org/?cost=billed&stack=model"],
    }
    for who, urls in pages.items():
        client.force_login(people[who])
        for url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            assert len(ctx.captured_queries) <= MAX_QUERIES, (url, len(ctx.captured_queries))


def test_budget_line_and_forecast_band(client, people, ledger, teams):
    Budget.objects.create(team=teams["ml-platform"], monthly_amount=Decimal("620"))
    client.force_login(people["lead"])
    response = client.get("/dashboard/?start=2026-10-01&end=2026-10-31")
    page = text(response)
    assert "$68.00 of $620.00" in page
    assert "monthly budget per day ($20.00)" in page  # 620 / 31 days
    spec = response.context["daily_spec"]
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["bar", "area", "line", "rule"]
    outlook = response.context["view"].outlook
    assert outlook.low <= outlook.expected <= outlook.high and outlook.month_to_date == Decimal(
        "68"
    )


def test_empty_states_say_what_to_do(client, people, today):
    client.force_login(people["lead"])
    page = text(client.get("/dashboard/"))
    assert "The ledger is empty" in page and "python manage.py import_billing PATH" in page
    assert "No budget set" in page and "POST /api/v1/budgets/" in page
