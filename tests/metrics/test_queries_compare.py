"""metrics.queries: like-for-like comparisons, the data-through date, unit KPIs with matched
numerators and coverage, rankings and drivers. Every expected number is summed here, with
Decimal, from the rows this file creates (never through the function under test)."""

import math
from datetime import date, timedelta
from decimal import Decimal

import pytest

from metrics.models import DailyCost
from metrics.queries import (
    Scope,
    SpendQuery,
    compare_periods,
    data_days,
    data_through,
    drivers,
    model_kpis,
    previous_window,
    ranking,
    scope_for,
    spend_report,
    unit_kpis,
)

D = date.fromisoformat
FIRST = D("2026-09-08")  # the ledger starts on the 8th: September is partial
LAST = D("2026-10-13")  # ... and ends on Tuesday 13 October


def day_range(start, end):
    d = start
    while d < end:
        yield d
        d += timedelta(days=1)


def cost(team, provider, day):
    """Deterministic, different per team, provider and day."""
    base = {"openai": Decimal("10.00"), "kubernetes": Decimal("40.00"), "aws": Decimal("3.00")}
    bump = {"ml-platform": Decimal("1.10"), "search": Decimal("0.35"), None: Decimal("0.05")}
    return base[provider] + bump[team] * (day.day % 7)


# team, provider, model, application, requests/day, tokens/day, gpu hours/day
LINES = [
    ("ml-platform", "openai", "gpt-4o", "chatbot", 100, 5000, Decimal(0)),
    ("ml-platform", "kubernetes", "", "training", 0, 0, Decimal("8")),
    ("search", "openai", "gpt-4o-mini", "ranker", 400, 20000, Decimal(0)),
    (None, "aws", "", "", 0, 0, Decimal(0)),
]


@pytest.fixture
def ledger(teams):
    rows = []
    for day in day_range(FIRST, LAST + timedelta(days=1)):
        for team, prov, model, app, req, tok, gpu in LINES:
            if team == "search" and day.weekday() == 6:
                continue  # search spends nothing on Sundays: a zero, not a gap
            amount = cost(team, prov, day)
            rows.append(
                DailyCost(
                    team=teams[team] if team else None,
                    day=day,
                    provider=prov,
                    service_category="AI and Machine Learning",
                    model=model,
                    application_key=app,
                    currency="USD",
                    effective_cost=amount,
                    billed_cost=amount,
                    model_requests=req,
                    input_tokens=tok * 4 // 5,
                    output_tokens=tok // 5,
                    gpu_hours=gpu,
                    record_count=1,
                )
            )
    DailyCost.objects.bulk_create(rows)
    return rows


def total(teams_=None, start=FIRST, end=LAST + timedelta(days=1), provider=None, model=None):
    out = Decimal(0)
    for day in day_range(start, end):
        if not FIRST <= day <= LAST:
            continue
        for team, prov, mod, _app, *_ in LINES:
            if team == "search" and day.weekday() == 6:
                continue
            if teams_ is not None and team not in teams_:
                continue
            if (provider and prov != provider) or (model and mod != model):
                continue
            out += cost(team, prov, day)
    return out


def ml_scope(teams):
    return Scope((teams["ml-platform"].pk,), "ML Platform")


# --- previous_window ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "prev"),
    [
        ("2026-11-01", "2026-12-01", ("2026-10-01", "2026-11-01")),  # November vs October
        ("2026-10-01", "2026-11-01", ("2026-09-01", "2026-10-01")),  # 31 days vs 30
        ("2026-03-01", "2026-04-01", ("2026-02-01", "2026-03-01")),  # not the last 31 days
        ("2026-12-01", "2026-12-05", ("2026-11-01", "2026-11-05")),  # month to date
        ("2026-03-01", "2026-03-31", ("2026-02-01", "2026-03-01")),  # clamped to February
        ("2026-07-01", "2026-10-01", ("2026-04-01", "2026-07-01")),  # a quarter
        ("2026-01-01", "2027-01-01", ("2025-01-01", "2026-01-01")),  # a year
        ("2026-10-05", "2026-10-12", ("2026-09-28", "2026-10-05")),  # a week
        ("2026-10-05", "2026-10-07", ("2026-10-03", "2026-10-05")),  # two days
        ("2026-10-14", "2026-10-15", ("2026-10-13", "2026-10-14")),  # a day
        ("2026-09-16", "2026-10-16", ("2026-08-17", "2026-09-16")),  # the last 30 days
    ],
)
def test_previous_window_is_calendar_aligned(start, end, prev):
    assert previous_window(D(start), D(end)) == (D(prev[0]), D(prev[1]))


# --- data through ------------------------------------------------------------------------


def test_data_through_is_the_last_day_with_data(ledger):
    assert data_through() == LAST
    assert data_through(providers=["aws"]) == LAST
    assert data_through(providers=["anthropic"]) is None
    assert data_through(before=D("2026-10-01")) == D("2026-09-30")
    assert len(data_days(D("2026-09-01"), D("2026-10-01"))) == 23  # from the 8th


def test_data_through_of_an_empty_ledger(db):
    assert data_through() is None


# --- like for like -------------------------------------------------------------------------


def test_a_week_past_the_data_compares_the_same_days(teams, ledger):
    # This week: Mon 12 to Sun 18 October, data through Tue 13.
    q = SpendQuery(ml_scope(teams), D("2026-10-12"), D("2026-10-19"))
    c = compare_periods(q)
    assert c.like_for_like is True
    assert c.compared_current == (D("2026-10-12"), D("2026-10-13"))
    assert c.compared_previous == (D("2026-10-05"), D("2026-10-06"))
    now = total({"ml-platform"}, D("2026-10-12"), D("2026-10-14"))
    before = total({"ml-platform"}, D("2026-10-05"), D("2026-10-07"))
    assert c.totals == {"USD": now} and c.previous_totals == {"USD": before}
    assert c.change("USD") == pytest.approx(float((now - before) / before))
    assert c.full_totals == {"USD": now}
    assert c.data_through == LAST
    assert c.current.coverage == "partial" and c.previous.coverage == "full"
    assert "Data through 2026-10-13." in c.notes()
    assert any("Like for like: 2 days" in n for n in c.notes())


def test_a_month_whose_previous_month_starts_late_compares_from_that_day(teams, ledger):
    q = SpendQuery(ml_scope(teams), D("2026-10-01"), D("2026-11-01"))
    c = compare_periods(q)
    # October has data 1-13, September from the 8th: offsets 7..12 are on both sides.
    assert c.compared_current == tuple(day_range(D("2026-10-08"), D("2026-10-14")))
    assert c.compared_previous == tuple(day_range(D("2026-09-08"), D("2026-09-14")))
    assert c.previous.coverage == "partial" and c.previous.days_with_data == 23
    assert c.totals["USD"] == total({"ml-platform"}, D("2026-10-08"), D("2026-10-14"))
    assert c.previous_totals["USD"] == total({"ml-platform"}, D("2026-09-08"), D("2026-09-14"))
    assert c.full_totals["USD"] == total({"ml-platform"}, D("2026-10-01"), D("2026-11-01"))
    notes = " ".join(c.notes())
    assert "has data for only 23 of 30 days" in notes


def test_full_months_compare_whole_months_of_different_length(teams, db):
    team = teams["ml-platform"]
    rows = [
        DailyCost(team=team, day=d, provider="openai", currency="USD", effective_cost=Decimal(2))
        for d in day_range(D("2026-09-01"), D("2026-11-01"))
    ]
    DailyCost.objects.bulk_create(rows)
    c = compare_periods(SpendQuery(ml_scope(teams), D("2026-10-01"), D("2026-11-01")))
    assert c.like_for_like is False
    assert c.totals == {"USD": Decimal(62)} and c.previous_totals == {"USD": Decimal(60)}
    assert c.change("USD") == pytest.approx(2 / 60)
    assert c.notes() == []


def test_a_quiet_day_of_the_team_is_a_zero_not_a_gap(teams, ledger):
    # search spends nothing on Sundays, but the ledger has data: the Sunday is compared.
    q = SpendQuery(Scope((teams["search"].pk,), "Search"), D("2026-10-05"), D("2026-10-12"))
    c = compare_periods(q)
    assert c.like_for_like is False and len(c.compared_current) == 7
    assert c.totals["USD"] == total({"search"}, D("2026-10-05"), D("2026-10-12"))


def test_no_previous_data_and_no_current_data_are_said(teams, ledger):
    first_week = SpendQuery(ml_scope(teams), D("2026-09-08"), D("2026-09-15"))
    c = compare_periods(first_week)
    assert c.previous.coverage == "none" and c.change("USD") is None
    assert any("has no data: no change can be computed" in n for n in c.notes())
    later = SpendQuery(ml_scope(teams), D("2026-10-14"), D("2026-10-15"))  # "yesterday"
    c = compare_periods(later)
    assert c.current.coverage == "none" and c.totals == {}
    assert c.notes() == ["The ledger has no data for this period yet (data through 2026-10-13)."]


def test_explicit_previous_period_and_split_by_model(teams, ledger, people):
    q = SpendQuery(scope_for(people["admin"]), D("2026-10-01"), D("2026-10-08"))
    c = compare_periods(q, previous=(D("2026-09-10"), D("2026-09-17")), dimension="model")
    assert c.previous.start == D("2026-09-10") and c.like_for_like is False
    by_key = {r.key: r for r in c.rows}
    assert set(by_key) == {"gpt-4o", "gpt-4o-mini", "(none)"}
    assert by_key["gpt-4o-mini"].current == total(
        {"search"}, D("2026-10-01"), D("2026-10-08"), model="gpt-4o-mini"
    )
    assert sum((r.delta for r in c.rows), Decimal(0)) == c.delta("USD")


def test_spend_report_uses_the_like_for_like_change(teams, ledger):
    q = SpendQuery(ml_scope(teams), D("2026-10-12"), D("2026-10-19"))
    report = spend_report(q)
    now = total({"ml-platform"}, D("2026-10-12"), D("2026-10-14"))
    before = total({"ml-platform"}, D("2026-10-05"), D("2026-10-07"))
    assert report.totals == {"USD": now}
    assert report.previous_totals == {"USD": before}
    assert report.change("USD") == pytest.approx(float((now - before) / before))
    assert report.data_through == LAST


# --- unit KPIs: matched numerators and coverage ------------------------------------------


def test_cost_per_inference_divides_only_the_cost_of_providers_with_requests(teams, ledger):
    start, end = D("2026-10-05"), D("2026-10-12")
    q = SpendQuery(ml_scope(teams), start, end)
    k = unit_kpis(q)
    openai = total({"ml-platform"}, start, end, provider="openai")
    gpu = total({"ml-platform"}, start, end, provider="kubernetes")
    cpi = k["cost_per_inference"]
    assert cpi.providers == ("openai",)
    assert cpi.covered_cost == openai and cpi.total_cost == openai + gpu
    assert cpi.value == pytest.approx(float(openai / (100 * 7)))
    assert cpi.coverage == pytest.approx(float(openai / (openai + gpu)))
    assert k["cost_per_1k_tokens"].value == pytest.approx(float(openai / (5000 * 7) * 1000))
    assert k["gpu_hours"].value == pytest.approx(8 * 7)
    assert k["cost_per_gpu_hour"].value == pytest.approx(float(gpu / 56))
    assert k["cost_per_gpu_hour"].coverage == pytest.approx(float(gpu / (openai + gpu)))
    report = spend_report(q)
    assert report.kpis["cost_per_inference"] == pytest.approx(cpi.value)
    assert report.kpi_coverage["cost_per_inference"] == pytest.approx(cpi.coverage)
    # The unmatched ratio (all cost over the requests) is what the bot used to say.
    assert report.kpis["cost_per_inference"] < float((openai + gpu) / 700) / 3


def test_kpis_are_undefined_without_units_and_in_several_currencies(teams, ledger):
    q = SpendQuery(ml_scope(teams), D("2026-10-05"), D("2026-10-12"), providers=("kubernetes",))
    k = unit_kpis(q)
    assert math.isnan(k["cost_per_inference"].value) and k["cost_per_inference"].coverage == 0
    DailyCost.objects.create(
        team=teams["ml-platform"],
        day=D("2026-10-06"),
        provider="openai",
        model="mistral",
        currency="EUR",
        effective_cost=Decimal(5),
        model_requests=10,
    )
    k = unit_kpis(SpendQuery(ml_scope(teams), D("2026-10-05"), D("2026-10-12")))
    assert math.isnan(k["cost_per_inference"].value)


def test_model_kpis_use_matched_numerators(teams, ledger, people):
    start, end = D("2026-10-05"), D("2026-10-12")
    rows = {m.model: m for m in model_kpis(SpendQuery(scope_for(people["admin"]), start, end))}
    mini = total({"search"}, start, end, model="gpt-4o-mini")
    searched_days = sum(1 for d in day_range(start, end) if d.weekday() != 6)
    assert rows["gpt-4o-mini"].kpis["cost_per_inference"] == pytest.approx(
        float(mini / (400 * searched_days))
    )


# --- rankings and drivers ------------------------------------------------------------------


def test_ranking_by_team_for_the_organization(teams, ledger, people):
    start, end = D("2026-09-01"), D("2026-10-01")
    r = ranking(SpendQuery(scope_for(people["admin"]), start, end), "team")
    expected = {
        "ml-platform": total({"ml-platform"}, start, end),
        "search": total({"search"}, start, end),
        "(unallocated)": total({None}, start, end),
    }
    assert [(row.key, row.amount) for row in r.rows] == sorted(
        expected.items(), key=lambda kv: -kv[1]
    )
    assert r.rows[0].name == "Ml-Platform"
    assert sum(row.amount for row in r.rows) == r.totals["USD"] == total(None, start, end)
    assert sum(row.share for row in r.rows) == pytest.approx(1.0)
    top1 = ranking(SpendQuery(scope_for(people["admin"]), start, end), "team", top=1)
    assert len(top1.rows) == 1 and top1.keys == 3
    cheapest = ranking(
        SpendQuery(scope_for(people["admin"]), start, end), "team", top=1, ascending=True
    )
    assert cheapest.rows[0].key == "(unallocated)"


def test_ranking_by_model_leaves_out_spend_without_a_model(teams, ledger):
    start, end = D("2026-10-01"), D("2026-10-14")
    r = ranking(SpendQuery(ml_scope(teams), start, end), "model")
    assert [(row.key, row.amount) for row in r.rows] == [
        ("gpt-4o", total({"ml-platform"}, start, end, model="gpt-4o"))
    ]


def test_drivers_add_up_to_the_change_in_every_dimension(teams, ledger, people):
    q = SpendQuery(scope_for(people["admin"]), D("2026-10-05"), D("2026-10-12"))
    d = drivers(q)
    delta = d.comparison.delta("USD")
    assert delta == total(None, D("2026-10-05"), D("2026-10-12")) - total(
        None, D("2026-09-28"), D("2026-10-05")
    )
    for dim, rows in d.by.items():
        assert sum((r.delta for r in rows), Decimal(0)) == delta, dim
    top = d.top(3)
    assert len(top) == 3
    assert abs(top[0][1].delta) >= abs(top[1][1].delta) >= abs(top[2][1].delta)
