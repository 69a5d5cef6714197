"""The one query layer over the daily rollups. The bot, the API and the portal call these
functions, so one question gives one answer everywhere. Nothing here scans CostRecord.

Scoping lives here too: `scope_for(user, team_slugs)` refuses teams the user may not see.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from django.core.exceptions import PermissionDenied
from django.db.models import FloatField, Q, QuerySet, Sum
from django.db.models.functions import Cast

from metrics.models import (
    DAILY_CARBON_COLUMNS,
    DAILY_USAGE_COLUMNS,
    VIEW_ALL_SPEND,
    DailyCost,
    Team,
)
from metrics.money import round_to

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

CostColumn = Literal["effective_cost", "billed_cost"]
CENT = Decimal("0.01")
# The days a question may name: far enough inside date.min..date.max that the previous period
# and the end-exclusive bound never overflow. Entry points reject (or replace) other days.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2999, 12, 31)


class ScopeError(PermissionDenied):
    """The user asked about a team they may not see. Carries no numbers."""


@dataclass(frozen=True)
class Scope:
    """Which teams a query covers. `team_ids=None` means the whole organization (including
    the unallocated bucket); only FinOps admins get it."""

    team_ids: tuple[int, ...] | None
    label: str
    unallocated: bool = False  # only the spend no team was allocated (team_ids is None)

    @property
    def is_org(self) -> bool:
        return self.team_ids is None and not self.unallocated


def unallocated_scope_for(user: User | AnonymousUser) -> Scope:
    """The spend no team was allocated: a scope of its own, for FinOps admins only."""
    if not user.is_authenticated or not user.has_perm(VIEW_ALL_SPEND):
        raise ScopeError("Only FinOps admins can see unallocated spend.")
    return Scope(None, "unallocated spend", unallocated=True)


def scope_for(
    user: User | AnonymousUser,
    team_slugs: Sequence[str] | None = None,
    *,
    visible_teams: Sequence[Team] | None = None,
) -> Scope:
    """Resolve the teams a user asks about. No slugs: their own teams (all for admins).
    `visible_teams`: `Team.objects.visible_to(user)` when the caller has it already (a page
    that lists them anyway saves its queries)."""
    if not user.is_authenticated:
        raise ScopeError("Sign in first.")
    visible = Team.objects.visible_to(user)
    if team_slugs:
        if visible_teams is not None:
            by_slug = {t.slug: t for t in visible_teams}
            if any(s not in by_slug for s in team_slugs):
                raise ScopeError("You may not see that team's spend.")
            teams = [by_slug[s] for s in dict.fromkeys(team_slugs)]
            return Scope(tuple(sorted(t.pk for t in teams)), ", ".join(t.name for t in teams))
        teams = list(Team.objects.filter(slug__in=team_slugs))
        missing = set(team_slugs) - {t.slug for t in teams}
        if missing:
            raise ScopeError(f"Unknown team: {', '.join(sorted(missing))}")
        allowed = set(visible.values_list("pk", flat=True))
        if any(t.pk not in allowed for t in teams):
            raise ScopeError("You may not see that team's spend.")
        return Scope(tuple(sorted(t.pk for t in teams)), ", ".join(t.name for t in teams))
    if user.has_perm(VIEW_ALL_SPEND):
        return Scope(None, "the whole organization")
    own = list(visible) if visible_teams is None else list(visible_teams)
    if not own:
        raise ScopeError("You are not a member of any team yet.")
    return Scope(tuple(sorted(t.pk for t in own)), ", ".join(t.name for t in own))


@dataclass(frozen=True)
class SpendQuery:
    scope: Scope
    start: date
    end: date  # exclusive
    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    cost: CostColumn = "effective_cost"
    applications: tuple[str, ...] = ()  # application keys, exact

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> SpendQuery:
        """The previous period, calendar-aligned (`previous_window`): a month compares with
        the previous calendar month, anything else with the same number of days before."""
        start, end = previous_window(self.start, self.end)
        return self.over(start, end)

    def over(self, start: date, end: date) -> SpendQuery:
        """The same question over another period."""
        return SpendQuery(
            self.scope, start, end, self.providers, self.models, self.cost, self.applications
        )


def _add_months(day: date, months: int) -> date:
    """The same day `months` later (earlier if negative), clamped to the month's length."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def previous_window(start: date, end: date) -> tuple[date, date]:
    """The period a comparison puts before [start, end) (end exclusive).

    Calendar-aligned: whole calendar months ([Nov 1, Dec 1), a quarter, a year) compare with
    the same number of calendar months just before; a month to date ([Dec 1, Dec 8)) with the
    same days of the previous month ([Nov 1, Nov 8)); anything else (a week, the last 30
    days) with the same number of days just before. (A week to date is only known as such to
    the caller, e.g. the bot, which passes the same weekdays of last week explicitly.)"""
    if start.day == 1 and end.day == 1 and end > start:
        months = (end.year - start.year) * 12 + end.month - start.month
        return _add_months(start, -months), start
    if start.day == 1 and end > start and (end - timedelta(days=1)).month == start.month:
        prev_start = _add_months(start, -1)
        prev_end = min(prev_start + (end - start), start)
        return prev_start, prev_end
    return start - (end - start), start


def rollups(q: SpendQuery) -> QuerySet[DailyCost]:
    qs = DailyCost.objects.filter(day__gte=q.start, day__lt=q.end)
    if q.scope.team_ids is not None:
        qs = qs.filter(team_id__in=q.scope.team_ids)
    elif q.scope.unallocated:
        qs = qs.filter(team__isnull=True)
    if q.providers:
        qs = qs.filter(provider__in=q.providers)
    if q.models:
        match = Q()
        for m in q.models:
            # "gpt-4o" matches its dated snapshots ("gpt-4o-2024-08-06"), not "gpt-4o-mini".
            match |= Q(model__iexact=m) | Q(model__iregex=rf"^{re.escape(m)}-[0-9]")
        qs = qs.filter(match)
    if q.applications:
        qs = qs.filter(application_key__in=q.applications)
    return qs


@dataclass
class Breakdown:
    key: str
    currency: str
    amount: Decimal


@dataclass
class SpendReport:
    query: SpendQuery
    totals: dict[str, Decimal]
    previous_totals: dict[str, Decimal]
    by_provider: list[Breakdown]
    by_service_category: list[Breakdown]
    by_model: list[Breakdown]
    by_application: list[Breakdown]
    daily: list[tuple[date, str, Decimal]]
    usage: dict[str, float]
    kpis: dict[str, float]
    carbon_g: tuple[float, float] | None
    unallocated: dict[str, Decimal] = field(default_factory=dict)
    comparison: Comparison | None = None
    unit_kpis: dict[str, UnitKpi] = field(default_factory=dict)
    kpi_coverage: dict[str, float | None] = field(default_factory=dict)
    data_through: date | None = None

    def change(self, currency: str) -> float | None:
        """Relative change against the previous period, like for like (`compare_periods`:
        only days with data on both sides); None when the previous side had no spend."""
        if self.comparison is not None:
            return self.comparison.change(currency)
        before = self.previous_totals.get(currency, Decimal(0))
        if not before:
            return None
        return float((self.totals.get(currency, Decimal(0)) - before) / before)

    @property
    def is_empty(self) -> bool:
        return not any(self.totals.values())


def _by(qs: QuerySet[DailyCost], dim: str, col: str, top: int) -> list[Breakdown]:
    rows = qs.values(dim, "currency").annotate(amount=Sum(col)).order_by("-amount")[:top]
    return [Breakdown(str(r[dim] or "(none)"), r["currency"], _money(r["amount"])) for r in rows]


def _money(value: Any) -> Decimal:
    return round_to(Decimal(value or 0), Decimal("0.000001"))


def _totals(qs: QuerySet[DailyCost], col: str) -> dict[str, Decimal]:
    return {
        r["currency"]: _money(r["amount"])
        for r in qs.values("currency").annotate(amount=Sum(col)).order_by("currency")
    }


USAGE_FIELDS = [*DAILY_USAGE_COLUMNS, *DAILY_CARBON_COLUMNS]


def spend_report(
    q: SpendQuery, *, top: int = 5, previous: tuple[date, date] | None = None
) -> SpendReport:
    """Spend for a scope and period, compared like for like with the previous period
    (`compare_periods`), with breakdowns and unit KPIs with matched numerators (`unit_kpis`).

    `kpis` holds the KPI values (floats, NaN when undefined) and `kpi_coverage` the share of
    the scope's cost each money KPI covers; `data_through` is the ledger's last day with data
    up to the period's end."""
    qs = rollups(q)
    col = q.cost
    totals = _totals(qs, col)
    comparison = compare_periods(q, previous=previous)
    usage_raw = qs.aggregate(**{f: Sum(f) for f in USAGE_FIELDS})
    usage = {f: float(usage_raw[f] or 0) for f in USAGE_FIELDS}
    units = unit_kpis(q)
    kpi = {
        name: units[name].value
        for name in (
            "cost_per_inference",
            "token_density",
            "cost_per_1k_tokens",
            "cache_hit_ratio",
            "token_carbon_density",
        )
    }
    coverage = {
        name: units[name].coverage
        for name in ("cost_per_inference", "cost_per_1k_tokens", "cost_per_gpu_hour")
    }
    unallocated: dict[str, Decimal] = {}
    if q.scope.is_org:
        unallocated = _totals(qs.filter(team__isnull=True), col)
        org_total = sum(totals.values(), Decimal(0)) if len(totals) == 1 else Decimal(0)
        if org_total:
            kpi["unallocated_share"] = float(sum(unallocated.values(), Decimal(0)) / org_total)
    carbon = None
    if usage["gco2e_high"]:
        carbon = (usage["gco2e_low"], usage["gco2e_high"])
    daily = [
        (r["day"], r["currency"], _money(r["amount"]))
        for r in qs.values("day", "currency").annotate(amount=Sum(col)).order_by("day")
    ]
    return SpendReport(
        query=q,
        totals=totals,
        previous_totals=comparison.previous_totals,
        by_provider=_by(qs, "provider", col, top),
        by_service_category=_by(qs, "service_category", col, top),
        by_model=_by(qs.exclude(model=""), "model", col, top),
        by_application=_by(qs.exclude(application_key=""), "application_key", col, top),
        daily=daily,
        usage=usage,
        kpis=kpi,
        carbon_g=carbon,
        unallocated=unallocated,
        comparison=comparison,
        unit_kpis=units,
        kpi_coverage=coverage,
        data_through=comparison.data_through,
    )


def team_month_spend(
    team_ids: Iterable[int], month_start: date, upto: date
) -> dict[int, dict[str, Decimal]]:
    """Effective cost per team and currency from the month start to `upto` (exclusive)."""
    out: dict[int, dict[str, Decimal]] = {}
    rows = (
        DailyCost.objects.filter(team_id__in=list(team_ids), day__gte=month_start, day__lt=upto)
        .values("team_id", "currency")
        .annotate(amount=Sum("effective_cost"))
    )
    for r in rows:
        out.setdefault(r["team_id"], {})[r["currency"]] = _money(r["amount"])
    return out


def daily_series(
    *, team_ids: Iterable[int] | None, start: date, end: date, by_model: bool = False
) -> pd.DataFrame:
    """Daily effective cost (float, for statistics) per team (and model): the input of
    anomaly detection and forecasts. Columns: team_id, [model,] currency, day, cost."""
    qs = DailyCost.objects.filter(day__gte=start, day__lt=end)
    if team_ids is not None:
        qs = qs.filter(team_id__in=list(team_ids))
    dims = ["team_id", "currency", "day"] + (["model"] if by_model else [])
    # Summed exactly by the database, then cast to float there: decoding hundreds of
    # thousands of NUMERICs into Decimals costs more than the query itself.
    rows = qs.values_list(*dims).annotate(cost=_float_sum("effective_cost")).order_by("day")
    frame = pd.DataFrame.from_records(list(rows), columns=[*dims, "cost"])
    frame["cost"] = frame["cost"].astype(float)
    return frame


def _float_sum(column: str) -> Cast:
    return Cast(Sum(column), FloatField())


def application_month_spend(
    team_ids: Iterable[int], month_start: date, upto: date
) -> dict[tuple[int, str], dict[str, Decimal]]:
    """Effective cost per (team, application key) and currency from the month start to `upto`
    (exclusive); spend with no application key is left out. Used by per-application budgets."""
    out: dict[tuple[int, str], dict[str, Decimal]] = {}
    rows = (
        DailyCost.objects.filter(team_id__in=list(team_ids), day__gte=month_start, day__lt=upto)
        .exclude(application_key="")
        .values("team_id", "application_key", "currency")
        .annotate(amount=Sum("effective_cost"))
    )
    for r in rows:
        key = (r["team_id"], r["application_key"])
        out.setdefault(key, {})[r["currency"]] = _money(r["amount"])
    return out


def application_daily_series(*, team_ids: Iterable[int], start: date, end: date) -> pd.DataFrame:
    """Daily effective cost (float) per team, application key and currency, for rows that
    have an application key. Columns: team_id, application_key, currency, day, cost."""
    dims = ["team_id", "application_key", "currency", "day"]
    qs = (
        DailyCost.objects.filter(team_id__in=list(team_ids), day__gte=start, day__lt=end)
        .exclude(application_key="")
        .values_list(*dims)
        .annotate(cost=_float_sum("effective_cost"))
        .order_by("day")
    )
    frame = pd.DataFrame.from_records(list(qs), columns=[*dims, "cost"])
    frame["cost"] = frame["cost"].astype(float)
    return frame


USAGE_SUMS = ["effective_cost", "billed_cost", *DAILY_USAGE_COLUMNS]


def usage_frame(
    *,
    start: date,
    end: date,
    team_ids: Iterable[int] | None = None,
    providers: Sequence[str] = (),
    by: Sequence[str] = ("team_id", "provider", "model", "application_key", "currency", "day"),
) -> pd.DataFrame:
    """Cost and usage sums over the rollups of [start, end), grouped by `by` (DailyCost
    columns). Money stays Decimal, counts int: the input of what-if estimates and
    recommendations (metrics.economics.pricing, metrics.advice.recommendations)."""
    scope = Scope(tuple(sorted(team_ids)) if team_ids is not None else None, "")
    qs = rollups(SpendQuery(scope, start, end, providers=tuple(providers)))
    rows = list(qs.values(*by).annotate(**{f"{c}_sum": Sum(c) for c in USAGE_SUMS}).order_by(*by))
    frame = pd.DataFrame(rows, columns=[*by, *(f"{c}_sum" for c in USAGE_SUMS)])
    frame.columns = [*by, *USAGE_SUMS]
    for col in ("effective_cost", "billed_cost", "gpu_hours"):
        frame[col] = frame[col].map(lambda v: Decimal(v or 0))
    for col in ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens"):
        frame[col] = frame[col].fillna(0).astype("int64")
    frame["model_requests"] = frame["model_requests"].fillna(0).astype("int64")
    return frame


def known_dimensions() -> tuple[list[str], list[str]]:
    """Distinct provider keys and model names in the rollups: the words a spend question
    may name (the bot's question parser uses them)."""
    providers = DailyCost.objects.order_by("provider").values_list("provider", flat=True)
    models = DailyCost.objects.exclude(model="").order_by("model").values_list("model", flat=True)
    return list(providers.distinct()), list(models.distinct())


@dataclass
class ModelKpis:
    """Usage and unit economics of one model in one currency over a scope and period."""

    model: str
    currency: str
    effective_cost: Decimal
    model_requests: int
    input_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    output_tokens: int
    gco2e_low: float | None
    gco2e_high: float | None
    kpis: dict[str, float]


MODEL_KPI_SUMS = [
    "model_requests",
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "gco2e_low",
    "gco2e_high",
]


def model_kpis(q: SpendQuery) -> list[ModelKpis]:
    """KPIs per model and currency (one GROUP BY over the rollups), most expensive first.

    Money ratios use EffectiveCost whatever `q.cost` says (docs/definitions.md#unit-kpis), and
    are per currency: a model billed in two currencies gives two rows. Numerators are matched
    (`unit_kpis`): a model's cost per inference divides only its cost at providers that
    report requests in the scope and period (per 1k tokens: that report tokens). Spend with
    no model (cloud infrastructure) is left out. Undefined ratios (no requests, no tokens)
    are NaN."""
    every: list[dict[str, Any]] = [
        dict(r)
        for r in rollups(q)
        .values("provider", "model", "currency")
        .annotate(effective_cost=Sum("effective_cost"), **{f: Sum(f) for f in MODEL_KPI_SUMS})
        .order_by("model", "currency", "provider")
    ]
    # Which providers report requests / tokens in the scope and period (model or not).
    with_requests = {r["provider"] for r in every if (r["model_requests"] or 0) > 0}
    with_tokens = {
        r["provider"]
        for r in every
        if (r["input_tokens"] or 0) + (r["cached_input_tokens"] or 0) + (r["output_tokens"] or 0)
    }
    rows = [r for r in every if r["model"]]
    if not rows:
        return []
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        grouped.setdefault((r["model"], r["currency"]), []).append(r)
    out = []
    for (model, currency), parts in grouped.items():
        sums = {f: sum((r[f] or 0) for r in parts) for f in MODEL_KPI_SUMS}
        cost = sum((Decimal(r["effective_cost"] or 0) for r in parts), Decimal(0))
        requests = int(sums["model_requests"])
        tokens = int(sums["input_tokens"] + sums["cached_input_tokens"] + sums["output_tokens"])
        prompt = int(sums["input_tokens"] + sums["cached_input_tokens"])
        output = int(sums["output_tokens"])
        req_cost = sum(
            (Decimal(r["effective_cost"] or 0) for r in parts if r["provider"] in with_requests),
            Decimal(0),
        )
        tok_cost = sum(
            (Decimal(r["effective_cost"] or 0) for r in parts if r["provider"] in with_tokens),
            Decimal(0),
        )
        carbon = [r for r in parts if r["gco2e_high"] is not None]
        low = sum(float(r["gco2e_low"] or 0) for r in carbon) if carbon else None
        high = sum(float(r["gco2e_high"] or 0) for r in carbon) if carbon else None
        ratios = {
            "cost_per_inference": float(req_cost / requests) if requests else math.nan,
            "token_density": tokens / output if output else math.nan,
            "cost_per_1k_tokens": float(tok_cost * 1000 / tokens) if tokens else math.nan,
            "cache_hit_ratio": int(sums["cached_input_tokens"]) / prompt if prompt else math.nan,
            "token_carbon_density": (
                ((low or 0) + (high or 0)) / 2 / output * 1000 if output and carbon else math.nan
            ),
        }
        out.append(
            ModelKpis(
                model=model,
                currency=currency,
                effective_cost=_money(cost),
                model_requests=requests,
                input_tokens=int(sums["input_tokens"]),
                cached_input_tokens=int(sums["cached_input_tokens"]),
                cache_write_tokens=int(sums["cache_write_tokens"]),
                output_tokens=output,
                gco2e_low=low,
                gco2e_high=high,
                kpis=ratios,
            )
        )
    out.sort(key=lambda m: (-m.effective_cost, m.model, m.currency))
    return out


# --- How far the data goes ---------------------------------------------------------------


def data_days(start: date, end: date, *, providers: Sequence[str] = ()) -> set[date]:
    """The days of [start, end) that the ledger has any data for (of these providers).

    Coverage is a property of the ledger, not of a team: a team with no spend on a day the
    ledger covers spent nothing that day, while a day the ledger has no row for at all (the
    import has not reached it yet, or the history starts later) is unknown."""
    qs = DailyCost.objects.filter(day__gte=start, day__lt=end)
    if providers:
        qs = qs.filter(provider__in=list(providers))
    return set(qs.order_by().values_list("day", flat=True).distinct())


def data_through(*, providers: Sequence[str] = (), before: date | None = None) -> date | None:
    """The last day with data in the ledger (of these providers; before `before`, exclusive,
    when given), or None when there is none. Answers name it when their period runs past it."""
    qs = DailyCost.objects.all()
    if providers:
        qs = qs.filter(provider__in=list(providers))
    if before is not None:
        qs = qs.filter(day__lt=before)
    return qs.order_by("-day").values_list("day", flat=True).first()


Coverage = Literal["full", "partial", "none"]


@dataclass(frozen=True)
class Window:
    """A period [start, end) and which of its days the ledger has data for."""

    start: date
    end: date  # exclusive
    days_with_data: int
    first_with_data: date | None
    last_with_data: date | None

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def coverage(self) -> Coverage:
        if not self.days_with_data:
            return "none"
        return "full" if self.days_with_data == self.days else "partial"


@dataclass(frozen=True)
class ChangeRow:
    """One key of a dimension (a model, a team, ...) in a comparison, compared days only."""

    key: str
    currency: str
    current: Decimal
    previous: Decimal

    @property
    def delta(self) -> Decimal:
        return self.current - self.previous

    @property
    def change(self) -> float | None:
        return float(self.delta / self.previous) if self.previous else None


@dataclass
class Comparison:
    """Spend of a scope in two periods, like for like (see `compare_periods`).

    `totals`/`previous_totals` cover only the compared days (`compared_current`,
    `compared_previous`: the same day offsets, with data on both sides); `full_totals` is the
    whole current period as asked (every day with data). `rows` is the per-key split of the
    compared days by `dimension` (empty without one), largest absolute change first."""

    current: Window
    previous: Window
    compared_current: tuple[date, ...]
    compared_previous: tuple[date, ...]
    totals: dict[str, Decimal]
    previous_totals: dict[str, Decimal]
    full_totals: dict[str, Decimal]
    like_for_like: bool  # True when days were left out to compare like with like
    data_through: date | None
    dimension: str = ""
    rows: list[ChangeRow] = field(default_factory=list)

    def change(self, currency: str) -> float | None:
        """Relative change of the compared days (None when the previous side had no spend)."""
        before = self.previous_totals.get(currency, Decimal(0))
        if not before:
            return None
        return float((self.totals.get(currency, Decimal(0)) - before) / before)

    def delta(self, currency: str) -> Decimal:
        return self.totals.get(currency, Decimal(0)) - self.previous_totals.get(
            currency, Decimal(0)
        )

    def notes(self) -> list[str]:
        """What a reader must know to trust the change, in plain sentences."""
        out: list[str] = []
        cur, prev = self.current, self.previous
        if cur.coverage == "none":
            through = self.data_through.isoformat() if self.data_through else "none yet"
            out.append(f"The ledger has no data for this period yet (data through {through}).")
            return out
        if cur.last_with_data and cur.last_with_data < cur.end - timedelta(days=1):
            out.append(f"Data through {cur.last_with_data.isoformat()}.")
        if prev.coverage == "none":
            out.append(
                f"The previous period ({_span(prev.start, prev.end)}) has no data: no change "
                "can be computed."
            )
        elif prev.coverage == "partial":
            out.append(
                f"The previous period ({_span(prev.start, prev.end)}) has data for only "
                f"{prev.days_with_data} of {prev.days} days."
            )
        if self.like_for_like and self.compared_current:
            out.append(
                f"Like for like: {len(self.compared_current)} days with data on both sides "
                f"({_days_span(self.compared_current)} vs {_days_span(self.compared_previous)})."
            )
        return out


def _span(start: date, end: date) -> str:
    last = end - timedelta(days=1)
    return start.isoformat() if last == start else f"{start.isoformat()} to {last.isoformat()}"


def _days_span(days: Sequence[date]) -> str:
    if not days:
        return "no days"
    first, last = min(days), max(days)
    text = _span(first, last + timedelta(days=1))
    if (last - first).days + 1 != len(days):
        text += f", {len(days)} days"
    return text


def _window(start: date, end: date, with_data: set[date]) -> Window:
    inside = sorted(d for d in with_data if start <= d < end)
    return Window(
        start, end, len(inside), inside[0] if inside else None, inside[-1] if inside else None
    )


DIMENSIONS: dict[str, str] = {
    "team": "team__slug",
    "model": "model",
    "provider": "provider",
    "application": "application_key",
    "service_category": "service_category",
}
Dimension = Literal["team", "model", "provider", "application", "service_category"]
UNALLOCATED = "(unallocated)"


def _key(dimension: str, value: Any) -> str:
    if value in (None, ""):
        return UNALLOCATED if dimension == "team" else "(none)"
    return str(value)


def compare_periods(
    q: SpendQuery,
    *,
    previous: tuple[date, date] | None = None,
    dimension: Dimension | None = None,
) -> Comparison:
    """Compare the spend of `q` (scope, period, filters, cost column) with a previous period,
    like for like.

    `previous` defaults to `previous_window(q.start, q.end)` (calendar-aligned); pass any other
    [start, end) to compare e.g. November with October or two arbitrary ranges. When both
    periods have data for every day, the whole periods are compared (a 31-day month with a
    30-day one). Otherwise only the day offsets that have data on both sides count (day i of
    the current period with day i of the previous): the current month to date with the same
    days of the last month, a week whose last two days are not imported yet with the same five
    days of the week before, a month whose previous month starts on the 8th from the 8th on.
    Days with data are those of the ledger (`data_days`, per provider filter), not of the
    scope: a team's quiet day is a zero, not a gap. Read-only; one query per side."""
    prev_start, prev_end = previous or previous_window(q.start, q.end)
    with_data = data_days(q.start, q.end, providers=q.providers) | data_days(
        prev_start, prev_end, providers=q.providers
    )
    field_name = DIMENSIONS[dimension] if dimension else None
    return compare_rows(
        q,
        previous=(prev_start, prev_end),
        with_data=with_data,
        rows=_daily_sums(q, q.start, q.end, field_name),
        previous_rows=_daily_sums(q, prev_start, prev_end, field_name),
        through=data_through(providers=q.providers, before=q.end),
        dimension=dimension,
    )


def compare_rows(
    q: SpendQuery,
    *,
    previous: tuple[date, date],
    with_data: set[date],
    rows: Iterable[tuple[date, str, str, Decimal]],
    previous_rows: Iterable[tuple[date, str, str, Decimal]],
    through: date | None,
    dimension: Dimension | None = None,
) -> Comparison:
    """The comparison `compare_periods` computes, from rows already read: `rows` and
    `previous_rows` are (day, currency, key, amount) of each period (key "" without a
    dimension; rows outside the period are ignored), `with_data`
    the ledger's days with data in them (`data_days`), `through` the ledger's last day before
    `q.end`. Pure: for callers that read one cube for several figures (the dashboards)."""
    prev_start, prev_end = previous
    cur_w = _window(q.start, q.end, with_data)
    prev_w = _window(prev_start, prev_end, with_data)
    if cur_w.coverage == "full" and prev_w.coverage == "full":
        cur_days = [q.start + timedelta(days=i) for i in range(cur_w.days)]
        prev_days = [prev_start + timedelta(days=i) for i in range(prev_w.days)]
        like_for_like = False
    else:
        offsets = [
            i
            for i in range(min(cur_w.days, prev_w.days))
            if q.start + timedelta(days=i) in with_data
            and prev_start + timedelta(days=i) in with_data
        ]
        cur_days = [q.start + timedelta(days=i) for i in offsets]
        prev_days = [prev_start + timedelta(days=i) for i in offsets]
        like_for_like = True
    cur_set, prev_set = set(cur_days), set(prev_days)
    totals: dict[str, Decimal] = {}
    full: dict[str, Decimal] = {}
    previous_totals: dict[str, Decimal] = {}
    split: dict[tuple[str, str], list[Decimal]] = {}
    for day, currency, key, amount in rows:
        if not q.start <= day < q.end:
            continue
        full[currency] = full.get(currency, Decimal(0)) + amount
        if day in cur_set:
            totals[currency] = totals.get(currency, Decimal(0)) + amount
            if dimension:
                split.setdefault((key, currency), [Decimal(0), Decimal(0)])[0] += amount
    for day, currency, key, amount in previous_rows:
        if day in prev_set:
            previous_totals[currency] = previous_totals.get(currency, Decimal(0)) + amount
            if dimension:
                split.setdefault((key, currency), [Decimal(0), Decimal(0)])[1] += amount
    change_rows = [
        ChangeRow(key, currency, _money(a), _money(b))
        for (key, currency), (a, b) in split.items()
        if a or b
    ]
    change_rows.sort(key=lambda r: (-abs(r.delta), r.key, r.currency))
    return Comparison(
        current=cur_w,
        previous=prev_w,
        compared_current=tuple(cur_days),
        compared_previous=tuple(prev_days),
        totals={c: _money(v) for c, v in sorted(totals.items())},
        previous_totals={c: _money(v) for c, v in sorted(previous_totals.items())},
        full_totals={c: _money(v) for c, v in sorted(full.items())},
        like_for_like=like_for_like,
        data_through=through,
        dimension=dimension or "",
        rows=change_rows,
    )


def _daily_sums(
    q: SpendQuery, start: date, end: date, field_name: str | None
) -> list[tuple[date, str, str, Decimal]]:
    dims = ["day", "currency", *([field_name] if field_name else [])]
    out = []
    for r in rollups(q.over(start, end)).values(*dims).annotate(amount=Sum(q.cost)).order_by():
        key = _key(field_name or "", r[field_name]) if field_name else ""
        if field_name == "team__slug":
            key = _key("team", r[field_name])
        out.append((r["day"], r["currency"], key, Decimal(r["amount"] or 0)))
    return out


# --- Rankings and drivers ------------------------------------------------------------------


@dataclass(frozen=True)
class RankRow:
    key: str
    name: str  # the team's name for teams, else the key
    currency: str
    amount: Decimal
    share: float | None  # of the scope's total in that currency


@dataclass
class Ranking:
    query: SpendQuery
    dimension: str
    rows: list[RankRow]  # in the order asked (largest first unless ascending)
    totals: dict[str, Decimal]
    keys: int  # how many keys there are in all (rows may be cut to `top`)
    data_through: date | None


def ranking(
    q: SpendQuery, dimension: Dimension, *, top: int | None = None, ascending: bool = False
) -> Ranking:
    """Spend of `q` split by `dimension` ("team", "model", "provider", "application",
    "service_category"), largest first (`ascending`: cheapest first), at most `top` rows.

    A breakdown is a ranking without `top`. Spend with no team shows as "(unallocated)" in a
    team ranking of the organization; spend with no model/application is left out of model
    and application rankings (it is not a model's). Shares are of the scope's total per
    currency, so rows of one currency add up to 100% with what is left out."""
    field_name = DIMENSIONS[dimension]
    qs = rollups(q)
    if dimension == "model":
        qs = qs.exclude(model="")
    elif dimension == "application":
        qs = qs.exclude(application_key="")
    values = [field_name, "currency"] + (["team__name"] if dimension == "team" else [])
    rows = list(qs.values(*values).annotate(amount=Sum(q.cost)).order_by())
    totals = _totals(rollups(q), q.cost)
    out = []
    for r in rows:
        amount = _money(r["amount"])
        key = _key(dimension, r[field_name])
        name = (r.get("team__name") or UNALLOCATED) if dimension == "team" else key
        total = totals.get(r["currency"], Decimal(0))
        out.append(
            RankRow(key, name, r["currency"], amount, float(amount / total) if total else None)
        )
    out = [r for r in out if r.amount or not ascending]
    out.sort(key=lambda r: (r.amount if ascending else -r.amount, r.key, r.currency))
    return Ranking(
        query=q,
        dimension=dimension,
        rows=out[:top] if top else out,
        totals=totals,
        keys=len(out),
        data_through=data_through(providers=q.providers, before=q.end),
    )


@dataclass
class Drivers:
    """Why spend changed: the comparison and its split by each dimension."""

    comparison: Comparison
    by: dict[str, list[ChangeRow]]  # dimension -> rows, largest absolute change first

    def top(self, n: int = 3) -> list[tuple[str, ChangeRow]]:
        """The n largest contributors over all dimensions (dimension, row)."""
        rows = [(d, r) for d, rs in self.by.items() for r in rs]
        rows.sort(key=lambda dr: (-abs(dr[1].delta), dr[0], dr[1].key))
        return rows[:n]


def drivers(
    q: SpendQuery,
    *,
    previous: tuple[date, date] | None = None,
    dimensions: Sequence[Dimension] = ("model", "application", "provider"),
) -> Drivers:
    """Decompose the change of `q` against the previous period (like for like, as
    `compare_periods`) by each dimension. In each dimension the rows' deltas add up to the
    total delta (spend with no model/application shows as "(none)")."""
    base = compare_periods(q, previous=previous)
    by = {str(d): compare_periods(q, previous=previous, dimension=d).rows for d in dimensions}
    return Drivers(comparison=base, by=by)


# --- Unit KPIs with matched numerators -----------------------------------------------------

UNIT_FIELDS = [
    "model_requests",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "gpu_hours",
    "gco2e_low",
    "gco2e_high",
]


@dataclass(frozen=True)
class UnitKpi:
    """A unit KPI with the cost it divides and the share of the scope's cost that is.

    `value` is NaN when undefined (no units, several currencies). `coverage` is covered_cost /
    total_cost (None when the scope cost nothing); `providers` reported the unit."""

    name: str
    value: float
    units: float
    covered_cost: Decimal
    total_cost: Decimal
    providers: tuple[str, ...]
    currency: str

    @property
    def coverage(self) -> float | None:
        return float(self.covered_cost / self.total_cost) if self.total_cost else None


def unit_kpis(q: SpendQuery) -> dict[str, UnitKpi]:
    """Cost per inference, cost per 1k tokens, token density, cache hit ratio, token carbon
    density and GPU hours of `q`, with matched numerators
    (docs/definitions.md#matched-numerators): a cost per unit divides only the EffectiveCost
    of the providers that report that unit in the scope and period by those units, and
    says which share of the scope's EffectiveCost that is. One GROUP BY over the rollups;
    Decimal money. Money ratios over several currencies are NaN (not defined)."""
    rows: list[dict[str, Any]] = [
        dict(r)
        for r in rollups(q)
        .values("provider", "currency")
        .annotate(cost=Sum("effective_cost"), **{f: Sum(f) for f in UNIT_FIELDS})
        .order_by("provider", "currency")
    ]
    return unit_kpis_from_rows(rows)


def unit_kpis_from_rows(rows: Sequence[dict[str, Any]]) -> dict[str, UnitKpi]:
    """`unit_kpis` of rows already summed per provider and currency (keys: provider,
    currency, cost = EffectiveCost, and UNIT_FIELDS). Pure: the dashboards compute the KPIs
    and their daily trend from the one cube they read."""
    currencies = sorted({r["currency"] for r in rows})
    currency = currencies[0] if len(currencies) == 1 else ""
    total = sum((Decimal(r["cost"] or 0) for r in rows), Decimal(0))

    def tokens(r: dict[str, Any]) -> int:
        return (
            int(r["input_tokens"] or 0)
            + int(r["cached_input_tokens"] or 0)
            + int(r["output_tokens"] or 0)
        )

    def kpi(name: str, reports: Any, units: Any, scale: Decimal = Decimal(1)) -> UnitKpi:
        chosen = [r for r in rows if reports(r)]
        cost = sum((Decimal(r["cost"] or 0) for r in chosen), Decimal(0))
        n = sum(units(r) for r in chosen)
        value = math.nan
        if n and currency:
            value = float(cost * scale / Decimal(n))
        return UnitKpi(
            name,
            value,
            float(n),
            _money(cost),
            _money(total),
            tuple(sorted({r["provider"] for r in chosen})),
            currency,
        )

    def ratio(name: str, reports: Any, num: Any, den: Any, scale: float = 1) -> UnitKpi:
        chosen = [r for r in rows if reports(r)]
        n, d = sum(num(r) for r in chosen), sum(den(r) for r in chosen)
        cost = sum((Decimal(r["cost"] or 0) for r in chosen), Decimal(0))
        return UnitKpi(
            name,
            float(n) * scale / float(d) if d else math.nan,
            float(d),
            _money(cost),
            _money(total),
            tuple(sorted({r["provider"] for r in chosen})),
            currency,
        )

    out = {
        "cost_per_inference": kpi(
            "cost_per_inference",
            lambda r: (r["model_requests"] or 0) > 0,
            lambda r: int(r["model_requests"] or 0),
        ),
        "cost_per_1k_tokens": kpi(
            "cost_per_1k_tokens", lambda r: tokens(r) > 0, tokens, Decimal(1000)
        ),
        "token_density": ratio(
            "token_density",
            lambda r: (r["output_tokens"] or 0) > 0,
            tokens,
            lambda r: int(r["output_tokens"] or 0),
        ),
        "cache_hit_ratio": ratio(
            "cache_hit_ratio",
            lambda r: (r["input_tokens"] or 0) + (r["cached_input_tokens"] or 0) > 0,
            lambda r: int(r["cached_input_tokens"] or 0),
            lambda r: int(r["input_tokens"] or 0) + int(r["cached_input_tokens"] or 0),
        ),
        "token_carbon_density": ratio(
            "token_carbon_density",
            lambda r: (r["output_tokens"] or 0) > 0 and r["gco2e_high"] is not None,
            lambda r: ((r["gco2e_low"] or 0) + (r["gco2e_high"] or 0)) / 2,
            lambda r: int(r["output_tokens"] or 0),
            scale=1000,
        ),
        "cost_per_gpu_hour": kpi(
            "cost_per_gpu_hour",
            lambda r: (r["gpu_hours"] or 0) > 0,
            lambda r: Decimal(r["gpu_hours"] or 0),
        ),
    }
    gpu = out["cost_per_gpu_hour"]
    out["gpu_hours"] = UnitKpi(
        "gpu_hours", gpu.units, gpu.units, gpu.covered_cost, gpu.total_cost, gpu.providers, currency
    )
    return out


# --- Dashboards and the board report (portal spend views) -----------------------------------

CUBE_SUMS = ["effective_cost", "billed_cost", *DAILY_USAGE_COLUMNS, "gco2e_low", "gco2e_high"]
CUBE_MONEY = ("effective_cost", "billed_cost", "gpu_hours")


def spend_cube(
    q: SpendQuery,
    *,
    dims: Sequence[str] = ("day", "provider", "model", "currency"),
    start: date | None = None,
) -> list[dict[str, Any]]:
    """Cost and usage sums of the scope and filters of `q`, grouped by `dims` (DailyCost
    columns; "month" groups by calendar month), from `start` (default `q.start`) to `q.end`.
    One GROUP BY over the rollups. Money (and GPU hours) stay Decimal, counts int, carbon
    float (an estimate); None sums become 0. The dashboards derive totals, stacked series,
    breakdowns and KPI trends from one cube instead of a query each."""
    from django.db.models.functions import TruncMonth

    qs = rollups(
        SpendQuery(q.scope, start or q.start, q.end, q.providers, q.models, q.cost, q.applications)
    )
    names = list(dims)
    if "month" in names:
        qs = qs.annotate(month=TruncMonth("day"))
    rows = qs.values(*names).annotate(**{f"s_{c}": Sum(c) for c in CUBE_SUMS}).order_by(*names)
    out = []
    for r in rows:
        item: dict[str, Any] = {d: r[d] for d in names}
        if "month" in item and hasattr(item["month"], "date"):
            item["month"] = item["month"].date()
        for c in CUBE_SUMS:
            value = r[f"s_{c}"]
            if c in CUBE_MONEY:
                item[c] = Decimal(value or 0)
            elif c.startswith("gco2e"):
                item[c] = float(value or 0)
            else:
                item[c] = int(value or 0)
        out.append(item)
    return out


def team_ranking(q: SpendQuery, comparison: Comparison | None = None) -> list[dict[str, Any]]:
    """Spend per team and currency of `q` (all its filters), one query with conditional
    sums: `current` over the whole period, and, like for like with `comparison` (of the same
    query: `compare_periods` or `compare_rows`), `compared` over its compared current days
    and `previous` over its compared previous days. Unallocated spend is the row with team
    None (organization scope only). Rows: team_id, slug, name, currency, current, compared,
    previous (Decimal)."""
    current_days = comparison.compared_current if comparison else ()
    previous_days = comparison.compared_previous if comparison else ()
    lo = min([q.start, *previous_days])
    qs = rollups(q.over(lo, q.end))
    in_cur = Q(day__gte=q.start, day__lt=q.end)
    cols = {"cur": Sum(q.cost, filter=in_cur)}
    if current_days:
        cols["cmp"] = Sum(q.cost, filter=Q(day__in=list(current_days)))
        cols["prev"] = Sum(q.cost, filter=Q(day__in=list(previous_days)))
    rows: list[dict[str, Any]] = [
        dict(r)
        for r in qs.values("team_id", "team__slug", "team__name", "currency")
        .annotate(**cols)
        .order_by("team__name", "currency")
    ]
    return [
        {
            "team_id": r["team_id"],
            "slug": r["team__slug"] or "",
            "name": r["team__name"] or "Unallocated",
            "currency": r["currency"],
            "current": _money(r["cur"]),
            "compared": _money(r.get("cmp")),
            "previous": _money(r.get("prev")),
        }
        for r in rows
    ]


def unallocated_sources(q: SpendQuery, *, top: int = 8) -> list[dict[str, Any]]:
    """Where unallocated spend comes from: provider, service category and application key
    of the spend no team was allocated, largest first. Organization scope only (else [])."""
    if not q.scope.is_org:
        return []
    rows = (
        rollups(q)
        .filter(team__isnull=True)
        .values("provider", "service_category", "application_key", "currency")
        .annotate(amount=Sum(q.cost))
        .order_by("-amount", "provider")[:top]
    )
    return [{**r, "amount": _money(r["amount"])} for r in rows]


def readable_names(keys: Iterable[str]) -> dict[str, str]:
    """{application key: readable name} for the keys that have one: an application
    allocation rule's `application_name` first, then the provider's own name (OpenAI project
    name, FOCUS SubAccountName, a named API key). Keys without a name are absent: show the
    key itself, and keep the key in a tooltip and in CSV exports. Two queries."""
    from metrics.ledger.names import names_for

    return names_for(keys)


def readable_name(key: str, names: dict[str, str]) -> str:
    """The label to show for an application key: its readable name, else the key."""
    return names.get(key) or key or "(none)"


def savings(scope: Scope, *, start: date | None = None, end: date | None = None) -> dict[str, Any]:
    """Estimated monthly savings of recommendations, per currency: `realized` = applied, or
    acted on by a remediation action that succeeded (in [start, end) when given, by the
    action's execution or the recommendation's last update); `open` = still open. One
    query. Rows of `top_realized`/`top_open`: title, team, currency, saving (Decimal)."""
    from django.db.models import Exists, OuterRef

    from metrics.models import Recommendation, RemediationAction

    recs = Recommendation.objects.all()
    if scope.team_ids is not None:
        recs = recs.filter(team_id__in=scope.team_ids)
    succeeded = RemediationAction.objects.filter(
        status=RemediationAction.Status.SUCCEEDED, recommendation_id=OuterRef("pk")
    )
    applied = Q(status=Recommendation.Status.APPLIED)
    if start is not None and end is not None:
        succeeded = succeeded.filter(executed_at__date__gte=start, executed_at__date__lt=end)
        applied &= Q(updated_at__date__gte=start, updated_at__date__lt=end)
    rows = (
        recs.annotate(acted=Exists(succeeded))
        .filter(applied | Q(acted=True) | Q(status=Recommendation.Status.OPEN))
        .values("title", "team__name", "currency", "estimated_monthly_saving", "status", "acted")
        .order_by("-estimated_monthly_saving", "pk")
    )
    out: dict[str, Any] = {"realized": {}, "open": {}, "top_realized": [], "top_open": []}
    for r in rows:
        # An applied recommendation is here only within the window (the filter above).
        realized = r["acted"] or r["status"] == Recommendation.Status.APPLIED
        if not realized and r["status"] != Recommendation.Status.OPEN:
            continue
        kind = "realized" if realized else "open"
        saving = _money(r["estimated_monthly_saving"])
        out[kind][r["currency"]] = out[kind].get(r["currency"], Decimal(0)) + saving
        out[f"top_{kind}"].append(
            {
                "title": r["title"],
                "team": r["team__name"] or "Organization",
                "currency": r["currency"],
                "saving": saving,
            }
        )
    return out
