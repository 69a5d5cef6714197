"""What the spend dashboards and the board report show, computed from `metrics.queries`.

The team view and the organization view of the portal and the monthly board report read
these dataclasses; nothing here formats for a page. Every sum comes from the query layer's
rollup reads (`queries.spend_cube`, `queries.team_ranking`, ...): one cube per page instead
of a query per figure, so a page stays within a dozen queries (tests assert it).

Comparisons are like for like (DESIGN.md "Comparisons"): a calendar month compares with the
previous calendar month, any other period with the same number of days before it; when the
ledger stops inside the period (its last day with data is before the period's end), only
the days with data are compared with the same number of days at the start of the previous
period, and the comparison says so.
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
from django.db.models import Max

from metrics import forecast, kpis, queries
from metrics.models import Alert, Budget, Recommendation
from metrics.queries import Scope, SpendQuery

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


def is_calendar_month(start: date, end: date) -> bool:
    """[start, end) is exactly one calendar month."""
    return start.day == 1 and end == add_months(start, 1)


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period a comparison looks at: the previous calendar month for a calendar month,
    else the same number of days ending where this one starts."""
    if is_calendar_month(start, end):
        return add_months(start, -1), start
    days = (end - start).days
    return start - timedelta(days=days), start


def data_through(q: SpendQuery) -> date | None:
    """The ledger's last day with data for the filters of `q` (providers, models), over
    every team: a team with no spend on a day the ledger covers did spend nothing. One
    query (a backward scan of the day index)."""
    qs = queries.rollups(
        SpendQuery(Scope(None, ""), date.min, date.max, q.providers, q.models, q.cost)
    )
    day = qs.aggregate(last=Max("day"))["last"]
    return day if isinstance(day, date) else None


@dataclass(frozen=True)
class Comparison:
    """Totals of the compared days of a period and of the previous period, per currency."""

    current: dict[str, Decimal]
    previous: dict[str, Decimal]
    current_period: tuple[date, date]  # [start, end) actually compared
    previous_period: tuple[date, date]
    partial: bool  # the ledger stops inside the period: fewer days than the period compared
    data_through: date | None

    @property
    def days(self) -> int:
        return max(0, (self.current_period[1] - self.current_period[0]).days)

    def change(self, currency: str) -> float | None:
        """Relative change (None when the previous period had no spend in that currency)."""
        before = self.previous.get(currency, Decimal(0))
        if not before:
            return None
        return float((self.current.get(currency, Decimal(0)) - before) / before)

    @property
    def note(self) -> str:
        (a, b), (c, d) = self.current_period, self.previous_period
        if self.days <= 0:
            return "No data in this period yet."
        span = f"{_day(a)} to {_day(b - timedelta(days=1))} against {_day(c)} to "
        span += _day(d - timedelta(days=1))
        if self.partial:
            return (
                f"Data through {_day(self.data_through)}: the {self.days} days with data, "
                f"{span} (the same number of days)."
            )
        return f"{span}."


def _day(d: date | None) -> str:
    return f"{d:%b} {d.day}, {d.year}" if d else "-"


def compared_periods(
    start: date, end: date, through: date | None
) -> tuple[tuple[date, date], tuple[date, date], bool]:
    """(current, previous, partial): the like-for-like windows of [start, end) when the
    ledger's last day with data is `through`."""
    prev = previous_period(start, end)
    if through is None or through < start:
        return (start, start), (prev[0], prev[0]), through is not None
    if through + timedelta(days=1) >= end:
        return (start, end), prev, False
    days = (through - start).days + 1
    return (
        (start, through + timedelta(days=1)),
        (
            prev[0],
            min(prev[1], prev[0] + timedelta(days=days)),
        ),
        True,
    )


def _sum_by_currency(rows: Iterable[dict[str, Any]], col: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        out[r["currency"]] += r[col]
    return {c: v for c, v in sorted(out.items())}


def _within(rows: Iterable[dict[str, Any]], period: tuple[date, date]) -> list[dict[str, Any]]:
    return [r for r in rows if period[0] <= r["day"] < period[1]]


def comparison_from(
    rows: Sequence[dict[str, Any]], q: SpendQuery, through: date | None
) -> Comparison:
    """A like-for-like comparison from cube rows (with a `day` dimension) covering both
    periods of `q`."""
    current, previous, partial = compared_periods(q.start, q.end, through)
    return Comparison(
        current=_sum_by_currency(_within(rows, current), q.cost),
        previous=_sum_by_currency(_within(rows, previous), q.cost),
        current_period=current,
        previous_period=previous,
        partial=partial,
        data_through=through,
    )


def compare(q: SpendQuery) -> Comparison:
    """The like-for-like comparison of `q` on its own (two queries)."""
    through = data_through(q)
    prev = previous_period(q.start, q.end)
    rows = queries.spend_cube(q, dims=("day", "currency"), start=prev[0])
    return comparison_from(rows, q, through)


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
    comparison: Comparison
    totals: dict[str, Decimal]
    currency: str  # the main currency (charts and KPIs are in it)
    daily: list[dict[str, Any]]  # day, key, amount (main currency), stacked series
    by_provider: list[Item]
    by_model: list[Item]
    by_application: list[Item]
    by_service_category: list[Item]
    usage: dict[str, float]
    kpis: dict[str, float]
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
        out.append(Item(key, label, cur, amount.quantize(Decimal("0.000001")), share))
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


def _kpi_frame(rows: Sequence[dict[str, Any]], currency: str) -> pd.DataFrame:
    cols = ["effective_cost", *queries.USAGE_FIELDS[:6], "gco2e_low", "gco2e_high"]
    data = [
        {
            "day": r["day"],
            "provider": r["provider"],
            **{c: float(r.get(c) or 0) for c in cols},
        }
        for r in rows
        if r["currency"] == currency
    ]
    return pd.DataFrame(data, columns=["day", "provider", *cols])


def _kpis(frame: pd.DataFrame) -> dict[str, float]:
    if frame.empty:
        return {k: math.nan for k in KPI_NAMES}
    return {
        "cost_per_inference": kpis.scalar(kpis.cost_per_inference(frame)),
        "cost_per_1k_tokens": kpis.scalar(kpis.cost_per_1k_tokens(frame)),
        "token_density": kpis.scalar(kpis.token_density(frame)),
        "cache_hit_ratio": kpis.scalar(kpis.cache_hit_ratio(frame)),
    }


def _kpi_trend(frame: pd.DataFrame) -> list[dict[str, Any]]:
    if frame.empty:
        return []
    by = ["day"]
    series = {
        "cost_per_inference": kpis.cost_per_inference(frame, by),
        "cost_per_1k_tokens": kpis.cost_per_1k_tokens(frame, by),
        "token_density": kpis.token_density(frame, by),
        "cache_hit_ratio": kpis.cache_hit_ratio(frame, by),
    }
    out = []
    for name, s in series.items():
        if not isinstance(s, pd.Series):
            continue
        for day, value in s.items():
            if value is not None and math.isfinite(float(value)):
                out.append({"day": day, "kpi": name, "value": float(value)})
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
    prev = previous_period(q.start, q.end)
    window_start = forecast.series_window(min(q.end - timedelta(days=1), today))[0]
    cube_start = min(prev[0], window_start, month_start(q.start))
    rows = queries.spend_cube(q, start=cube_start)
    if q.scope.is_org and not q.applications and rows:
        # The organization's cube covers every team with the same filters as data_through:
        # its last day is the ledger's last day within the window.
        through: date | None = max(r["day"] for r in rows)
    else:
        through = data_through(q)
    comparison = comparison_from(rows, q, through)
    period = _within(rows, (q.start, q.end))
    col = q.cost
    totals = _sum_by_currency(period, col)
    currency = _main_currency(totals)
    apps = queries.spend_cube(q, dims=("application_key", "service_category", "currency"))
    by_application = _items(apps, "application_key", col, top=top)
    names = queries.readable_names([*(i.key for i in by_application), *name_keys])
    for item in by_application:
        item.label = names.get(item.key) or item.key or "(none)"
    frame = _kpi_frame(period, currency)
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
        kpis=_kpis(frame),
        kpi_trend=_kpi_trend(frame),
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
    current: Decimal
    previous: Decimal

    @property
    def change(self) -> float | None:
        return float((self.current - self.previous) / self.previous) if self.previous else None


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
    ranking_rows = queries.team_ranking(q.scope, c.current_period, c.previous_period, q.cost)
    ranking = [
        TeamRank(r["slug"], r["name"], r["currency"], r["current"], r["previous"])
        for r in ranking_rows
        if r["team_id"] is not None
    ]
    ranking.sort(key=lambda t: (-t.current, t.name))
    unallocated = {
        r["currency"]: r["current"] for r in ranking_rows if r["team_id"] is None and r["current"]
    }
    share = None
    compared = c.current
    if len(compared) == 1:
        total = next(iter(compared.values()))
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
