"""What the spend dashboards and the board report show, computed from `metrics.queries`.

The team view and the organization view of the portal and the monthly board report read
these dataclasses; nothing here formats for a page. Every sum comes from the query layer's
rollup reads (`queries.spend_cube`, `queries.team_ranking`, ...): one cube per page instead
of a query per figure, so a page stays within a dozen queries (tests assert it).

Comparisons are the query layer's (`queries.previous_window`, `queries.compare_rows`, the
core of `queries.compare_periods`): like for like, calendar-aligned, only days with data on
both sides when the ledger stops inside a period, and they say so (`comparison_note`). Unit
KPIs are `queries.unit_kpis_from_rows` (matched numerators), per period and per day.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

import pandas as pd

from metrics import queries
from metrics.economics import forecast
from metrics.models import Alert, Budget, Recommendation
from metrics.money import round_to
from metrics.queries import SpendQuery

Stack = Literal["provider", "model"]
STACK_TOP = 6
OTHER = "Other"
KPI_NAMES = {
    "cost_per_inference": "Cost per inference",
    "cost_per_1k_tokens": "Cost per 1k tokens",
    "token_density": "Token density",
    "cache_hit_ratio": "Cache hit ratio",
}
KPI_DEFINITIONS = {
    "cost_per_inference": "effective cost of the providers that report requests / requests",
    "cost_per_1k_tokens": "effective cost of the providers that report tokens / tokens x 1000",
    "token_density": "(input + cached input + output tokens) / output tokens",
    "cache_hit_ratio": "cached input tokens / (input + cached input tokens)",
}


# --- Periods and like-for-like comparisons ---------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s month (negative: before)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def comparison_note(c: queries.Comparison) -> str:
    """What a reader must know about a comparison, in one line (the query layer's notes, or
    which period it compares with)."""
    notes = c.notes()
    if notes:
        return " ".join(notes)
    prev = c.previous
    return f"Compared with {_span(prev.start, prev.end)}."


def _span(start: date, end: date) -> str:
    last = end - timedelta(days=1)
    if last == start:
        return f"{start:%b} {start.day}, {start.year}"
    return f"{start:%b} {start.day} to {last:%b} {last.day}, {last.year}"


def compared_span(c: queries.Comparison) -> str:
    """ "Oct 1 to Oct 4, 2026 against Sep 1 to Sep 4, 2026" (the days actually compared)."""
    if not c.compared_current:
        return "no days with data on both sides"
    cur, prev = c.compared_current, c.compared_previous
    return (
        f"{_span(cur[0], cur[-1] + timedelta(days=1))} against "
        f"{_span(prev[0], prev[-1] + timedelta(days=1))}"
    )


def _within(rows: Iterable[dict[str, Any]], period: tuple[date, date]) -> list[dict[str, Any]]:
    return [r for r in rows if period[0] <= r["day"] < period[1]]


def _sum_by_currency(rows: Iterable[dict[str, Any]], col: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        out[r["currency"]] += r[col]
    return {c: v for c, v in sorted(out.items())}


# --- The team view ----------------------------------------------------------------------------


@dataclass
class Item:
    """One row of a breakdown: `key` as stored (id), `label` as shown (readable name)."""

    key: str
    label: str
    currency: str
    amount: Decimal
    share: float = 0.0


@dataclass
class BudgetOutlook:
    month: date
    currency: str
    budget: Decimal | None
    month_to_date: Decimal
    expected: Decimal | None  # forecast (current month only)
    low: Decimal | None
    high: Decimal | None
    daily_rate: Decimal | None
    days_left: int

    @property
    def used(self) -> float | None:
        return float(self.month_to_date / self.budget) if self.budget else None

    @property
    def projected(self) -> float | None:
        if not self.budget or self.expected is None:
            return None
        return float(self.expected / self.budget)


@dataclass
class SpendView:
    """Everything the team view shows for a scope, period and filters."""

    query: SpendQuery
    today: date
    stack: Stack
    comparison: queries.Comparison
    totals: dict[str, Decimal]
    currency: str  # the main currency (charts and KPIs are in it)
    daily: list[dict[str, Any]]  # day, key, amount (main currency), stacked series
    by_provider: list[Item]
    by_model: list[Item]
    by_application: list[Item]
    by_service_category: list[Item]
    usage: dict[str, float]
    kpis: dict[str, float]
    unit_kpis: dict[str, queries.UnitKpi]
    kpi_trend: list[dict[str, Any]]  # day, kpi, value
    carbon_g: tuple[float, float] | None
    outlook: BudgetOutlook | None
    forecast_days: list[dict[str, Any]]  # day, low, high, expected (daily, future days)
    daily_budget: Decimal | None
    alerts: list[Alert] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not any(self.totals.values())

    def change(self, currency: str) -> float | None:
        return self.comparison.change(currency)


def _main_currency(totals: dict[str, Decimal]) -> str:
    if not totals:
        return "USD"
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def _items(
    rows: Iterable[dict[str, Any]],
    dim: str,
    col: str,
    *,
    top: int,
    names: dict[str, str] | None = None,
    empty: str = "(none)",
) -> list[Item]:
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        sums[(r[dim] or "", r["currency"])] += r[col]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for (_, cur), v in sums.items():
        totals[cur] += v
    ordered = sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    out = []
    for (key, cur), amount in ordered:
        label = (names or {}).get(key) or key or empty
        share = float(amount / totals[cur]) if totals[cur] else 0.0
        out.append(Item(key, label, cur, round_to(amount, Decimal("0.000001")), share))
    return out


def _stacked(
    rows: Sequence[dict[str, Any]], dim: str, col: str, currency: str, *, empty: str
) -> list[dict[str, Any]]:
    """Daily series of the main currency stacked by `dim`: the largest STACK_TOP keys, the
    rest as "Other"."""
    mine = [r for r in rows if r["currency"] == currency]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for r in mine:
        totals[r[dim] or empty] += r[col]
    keep = {k for k, _ in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:STACK_TOP]}
    series: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for r in mine:
        key = r[dim] or empty
        series[(r["day"], key if key in keep else OTHER)] += r[col]
    return [
        {"day": d, "key": k, "amount": v}
        for (d, k), v in sorted(series.items(), key=lambda kv: (kv[0][0], kv[0][1]))
    ]


def _unit_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cube rows summed per provider and currency, shaped for `queries.unit_kpis_from_rows`."""
    sums: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        s = sums.setdefault(
            (r["provider"], r["currency"]),
            {"provider": r["provider"], "currency": r["currency"], "cost": Decimal(0)}
            | {f: 0 for f in queries.UNIT_FIELDS},
        )
        s["cost"] += r["effective_cost"]
        for f in queries.UNIT_FIELDS:
            s[f] += r[f]
    return list(sums.values())


def _kpi_trend(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_day[r["day"]].append(r)
    out = []
    for day in sorted(by_day):
        values = queries.unit_kpis_from_rows(_unit_rows(by_day[day]))
        for name in KPI_NAMES:
            value = values[name].value
            if math.isfinite(value):
                out.append({"day": day, "kpi": name, "value": value})
    return out


def _outlook(
    rows: Sequence[dict[str, Any]],
    q: SpendQuery,
    today: date,
    currency: str,
    budget: Decimal | None,
) -> tuple[BudgetOutlook, list[dict[str, Any]]]:
    """Budget outlook of the month the period ends in (forecast when that is this month)."""
    last = min(q.end - timedelta(days=1), today)
    m_start, m_end = forecast.month_bounds(last)
    mine = [r for r in rows if r["currency"] == currency]
    mtd = sum((r["effective_cost"] for r in mine if m_start <= r["day"] <= last), Decimal(0))
    if not m_start <= today < m_end:
        return BudgetOutlook(m_start, currency, budget, mtd, None, None, None, None, 0), []
    daily: dict[date, float] = defaultdict(float)
    for r in mine:
        daily[r["day"]] += float(r["effective_cost"])
    series = pd.Series(daily, dtype=float)
    p = forecast.project_month_end(series, today=today)
    f = forecast.to_forecast(p, currency=currency, today=today)
    days: list[dict[str, Any]] = []
    if p.days_observed and p.days_remaining:
        spent_before = p.month_to_date - float(daily.get(today, 0.0))
        low_rate = (p.low - spent_before) / p.days_remaining
        high_rate = (p.high - spent_before) / p.days_remaining
        for i in range(p.days_remaining):
            days.append(
                {
                    "day": today + timedelta(days=i),
                    "low": round(low_rate, 2),
                    "high": round(high_rate, 2),
                    "expected": round(p.daily_rate, 2),
                }
            )
    outlook = BudgetOutlook(
        m_start,
        currency,
        budget,
        f.month_to_date,
        f.expected,
        f.low,
        f.high,
        f.daily_rate,
        p.days_remaining,
    )
    return outlook, days


def spend_view(
    q: SpendQuery,
    *,
    today: date,
    stack: Stack = "provider",
    top: int = 10,
    budgets: Sequence[Budget] | None = None,
    with_advice: bool = True,
    name_keys: Iterable[str] = (),
) -> SpendView:
    """The team view of `q`. Queries: the day cube (period, previous period and the
    forecast's window at once), the data-through day (not for the organization: its cube
    tells), the application/category cube, the readable names (of the applications shown
    and of `name_keys`), the budgets, and with `with_advice` open alerts and
    recommendations."""
    prev = queries.previous_window(q.start, q.end)
    last = min(q.end - timedelta(days=1), today)
    cube_start = min(prev[0], month_start(last))
    if month_start(last) == month_start(today):
        # This month's forecast reads the last four weeks, perhaps before the period.
        cube_start = min(cube_start, forecast.series_window(today)[0])
    rows = queries.spend_cube(q, start=cube_start)
    compared = (min(prev[0], q.start), q.end)
    if q.scope.is_org and not q.models and not q.applications:
        # The organization's cube covers every team with the provider filter of data_days:
        # its days are the ledger's days with data.
        with_data = {r["day"] for r in rows if compared[0] <= r["day"] < compared[1]}
    else:
        with_data = queries.data_days(*compared, providers=q.providers)
    through = max(with_data) if with_data else None
    if through is None:
        through = queries.data_through(providers=q.providers, before=q.end)
    col = q.cost
    comparison = queries.compare_rows(
        q,
        previous=prev,
        with_data=with_data,
        rows=[(r["day"], r["currency"], "", r[col]) for r in rows],
        previous_rows=[(r["day"], r["currency"], "", r[col]) for r in _within(rows, prev)],
        through=through,
    )
    period = _within(rows, (q.start, q.end))
    totals = _sum_by_currency(period, col)
    currency = _main_currency(totals)
    apps = queries.spend_cube(q, dims=("application_key", "service_category", "currency"))
    by_application = _items(apps, "application_key", col, top=top)
    names = queries.readable_names([*(i.key for i in by_application), *name_keys])
    for item in by_application:
        item.label = names.get(item.key) or item.key or "(none)"
    unit = queries.unit_kpis_from_rows(_unit_rows(period))
    usage = {
        f: float(sum(r[f] for r in period)) for f in queries.CUBE_SUMS if not f.endswith("_cost")
    }
    carbon = (usage["gco2e_low"], usage["gco2e_high"]) if usage["gco2e_high"] else None
    team_ids = q.scope.team_ids
    if budgets is None:
        qs = Budget.objects.filter(active=True, application_key="")
        if team_ids is not None:
            qs = qs.filter(team_id__in=team_ids)
        budgets = list(qs)
    budget_total = sum((b.monthly_amount for b in budgets if b.currency == currency), Decimal(0))
    budget = budget_total or None
    outlook, forecast_days = _outlook(rows, q, today, currency, budget)
    alerts: list[Alert] = []
    recs: list[Recommendation] = []
    if with_advice:
        alert_qs = Alert.objects.filter(status=Alert.Status.OPEN).select_related("team")
        rec_qs = Recommendation.objects.filter(status=Recommendation.Status.OPEN)
        if team_ids is not None:
            alert_qs = alert_qs.filter(team_id__in=team_ids)
            rec_qs = rec_qs.filter(team_id__in=team_ids)
        alerts = list(alert_qs[:10])
        recs = list(rec_qs.select_related("team").order_by("-estimated_monthly_saving")[:5])
    days_in_month = (add_months(outlook.month, 1) - outlook.month).days
    return SpendView(
        query=q,
        today=today,
        stack=stack,
        comparison=comparison,
        totals=totals,
        currency=currency,
        daily=_stacked(
            period,
            stack,
            col,
            currency,
            empty="(no model)" if stack == "model" else "(none)",
        ),
        by_provider=_items(period, "provider", col, top=top),
        by_model=_items([r for r in period if r["model"]], "model", col, top=top),
        by_application=by_application,
        by_service_category=_items(apps, "service_category", col, top=top),
        usage=usage,
        kpis={name: unit[name].value for name in KPI_NAMES},
        unit_kpis=unit,
        kpi_trend=_kpi_trend(period),
        carbon_g=carbon,
        outlook=outlook,
        forecast_days=forecast_days if q.end > today else [],
        daily_budget=(budget / days_in_month).quantize(Decimal("0.01")) if budget else None,
        alerts=alerts,
        recommendations=recs,
        names=names,
    )


# --- The organization view --------------------------------------------------------------------


@dataclass
class TeamRank:
    slug: str
    name: str
    currency: str
    current: Decimal  # the whole period
    compared: Decimal  # the compared days of the period (like for like)
    previous: Decimal  # the compared days of the previous period

    @property
    def change(self) -> float | None:
        return float((self.compared - self.previous) / self.previous) if self.previous else None


@dataclass
class OrgView:
    spend: SpendView
    ranking: list[TeamRank]
    unallocated: dict[str, Decimal]
    unallocated_share: float | None
    unallocated_sources: list[Item]
    months: list[dict[str, Any]]  # month, currency, amount, change, gco2e_low/high, partial
    model_mix: list[dict[str, Any]]  # month, model, amount, share (main currency)
    savings: dict[str, Any]
    names: dict[str, str]


MIX_TOP = 6


def org_view(q: SpendQuery, *, today: date, stack: Stack = "provider", months: int = 6) -> OrgView:
    """The organization view: the team view of the whole organization plus the ranking of
    teams (like for like), the unallocated share and its sources, the last `months` months
    (month over month, model mix, carbon) and savings."""
    source_rows = queries.unallocated_sources(q)
    spend = spend_view(
        q,
        today=today,
        stack=stack,
        with_advice=False,
        name_keys=[r["application_key"] for r in source_rows],
    )
    names = spend.names
    c = spend.comparison
    ranking_rows = queries.team_ranking(q, c)
    ranking = [
        TeamRank(r["slug"], r["name"], r["currency"], r["current"], r["compared"], r["previous"])
        for r in ranking_rows
        if r["team_id"] is not None
    ]
    ranking.sort(key=lambda t: (-t.current, t.name))
    unallocated = {
        r["currency"]: r["current"] for r in ranking_rows if r["team_id"] is None and r["current"]
    }
    share = None
    if len(spend.totals) == 1:
        total = next(iter(spend.totals.values()))
        share = float(sum(unallocated.values(), Decimal(0)) / total) if total else None
    sources = [
        Item(
            r["application_key"],
            " / ".join(
                p
                for p in (
                    r["provider"],
                    r["service_category"],
                    names.get(r["application_key"]) or r["application_key"],
                )
                if p
            ),
            r["currency"],
            r["amount"],
        )
        for r in source_rows
    ]
    first = add_months(month_start(min(q.end - timedelta(days=1), today)), -(months - 1))
    monthly_q = replace(q, start=first, end=add_months(first, months))
    cube = queries.spend_cube(monthly_q, dims=("month", "model", "currency"), start=first)
    month_rows = _months(cube, q.cost, spend.comparison.data_through)
    mix = _model_mix(cube, q.cost, spend.currency)
    return OrgView(
        spend=spend,
        ranking=ranking,
        unallocated=unallocated,
        unallocated_share=share,
        unallocated_sources=sources,
        months=month_rows,
        model_mix=mix,
        savings=queries.savings(q.scope),
        names=names,
    )


def _months(cube: Sequence[dict[str, Any]], col: str, through: date | None) -> list[dict[str, Any]]:
    sums: dict[tuple[date, str], dict[str, Any]] = {}
    for r in cube:
        key = (r["month"], r["currency"])
        s = sums.setdefault(key, {"amount": Decimal(0), "gco2e_low": 0.0, "gco2e_high": 0.0})
        s["amount"] += r[col]
        s["gco2e_low"] += r["gco2e_low"]
        s["gco2e_high"] += r["gco2e_high"]
    out = []
    for (month, cur), s in sorted(sums.items()):
        before = sums.get((add_months(month, -1), cur))
        partial = through is not None and through < add_months(month, 1) - timedelta(days=1)
        change = None
        if before and before["amount"] and not partial:
            change = float((s["amount"] - before["amount"]) / before["amount"])
        out.append({"month": month, "currency": cur, **s, "change": change, "partial": partial})
    return out


def _model_mix(cube: Sequence[dict[str, Any]], col: str, currency: str) -> list[dict[str, Any]]:
    mine = [r for r in cube if r["currency"] == currency]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for r in mine:
        totals[r["model"] or "(no model)"] += r[col]
    keep = {k for k, _ in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:MIX_TOP]}
    sums: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    month_totals: dict[date, Decimal] = defaultdict(Decimal)
    for r in mine:
        model = r["model"] or "(no model)"
        sums[(r["month"], model if model in keep else OTHER)] += r[col]
        month_totals[r["month"]] += r[col]
    return [
        {
            "month": m,
            "model": k,
            "amount": v,
            "share": float(v / month_totals[m]) if month_totals[m] else 0.0,
        }
        for (m, k), v in sorted(sums.items())
    ]


def pivot(
    rows: Iterable[dict[str, Any]], row: str, column: str, value: str
) -> tuple[list[str], list[tuple[Any, list[Any]]]]:
    """Long rows as a table: (column keys in first-seen order, [(row key, [value or None per
    column])] in row order). For the tables behind the charts: one line per day."""
    columns: dict[str, None] = {}
    table: dict[Any, dict[str, Any]] = {}
    for r in rows:
        columns.setdefault(r[column], None)
        table.setdefault(r[row], {})[r[column]] = r[value]
    keys = list(columns)
    return keys, [(k, [cells.get(c) for c in keys]) for k, cells in table.items()]
