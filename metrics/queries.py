"""The one query layer over the daily rollups. The bot, the API and the portal call these
functions, so one question gives one answer everywhere. Nothing here scans CostRecord.

Scoping lives here too: `scope_for(user, team_slugs)` refuses teams the user may not see.
"""

from __future__ import annotations

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

from metrics import kpis
from metrics.models import VIEW_ALL_SPEND, DailyCost, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

CostColumn = Literal["effective_cost", "billed_cost"]
CENT = Decimal("0.01")


class ScopeError(PermissionDenied):
    """The user asked about a team they may not see. Carries no numbers."""


@dataclass(frozen=True)
class Scope:
    """Which teams a query covers. `team_ids=None` means the whole organization (including
    the unallocated bucket); only FinOps admins get it."""

    team_ids: tuple[int, ...] | None
    label: str

    @property
    def is_org(self) -> bool:
        return self.team_ids is None


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
        """The previous period of equal length, ending where this one starts."""
        return SpendQuery(
            self.scope,
            self.start - timedelta(days=self.days),
            self.start,
            self.providers,
            self.models,
            self.cost,
            self.applications,
        )


def rollups(q: SpendQuery) -> QuerySet[DailyCost]:
    qs = DailyCost.objects.filter(day__gte=q.start, day__lt=q.end)
    if q.scope.team_ids is not None:
        qs = qs.filter(team_id__in=q.scope.team_ids)
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

    def change(self, currency: str) -> float | None:
        """Relative change against the previous equal period (None when it had no spend)."""
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
    return Decimal(value or 0).quantize(Decimal("0.000001"))


def _totals(qs: QuerySet[DailyCost], col: str) -> dict[str, Decimal]:
    return {
        r["currency"]: _money(r["amount"])
        for r in qs.values("currency").annotate(amount=Sum(col)).order_by("currency")
    }


USAGE_FIELDS = [
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "model_requests",
    "gpu_hours",
    "gco2e_low",
    "gco2e_high",
    "energy_kwh_low",
    "energy_kwh_high",
]


def spend_report(q: SpendQuery, *, top: int = 5) -> SpendReport:
    """Spend for a scope and period, with the previous equal period, breakdowns and KPIs."""
    qs = rollups(q)
    col = q.cost
    totals = _totals(qs, col)
    previous = _totals(rollups(q.previous()), col)
    usage_raw = qs.aggregate(**{f: Sum(f) for f in USAGE_FIELDS}, cost=Sum("effective_cost"))
    usage = {f: float(usage_raw[f] or 0) for f in USAGE_FIELDS}
    frame = pd.DataFrame([{**usage, "effective_cost": float(usage_raw["cost"] or 0)}])
    kpi = {
        "cost_per_inference": kpis.scalar(kpis.cost_per_inference(frame)),
        "token_density": kpis.scalar(kpis.token_density(frame)),
        "cost_per_1k_tokens": kpis.scalar(kpis.cost_per_1k_tokens(frame)),
        "cache_hit_ratio": kpis.scalar(kpis.cache_hit_ratio(frame)),
        "token_carbon_density": kpis.scalar(kpis.token_carbon_density(frame)),
    }
    if len({c for c in totals}) > 1:
        # Ratios over money in several currencies would add them together: not defined.
        kpi["cost_per_inference"] = kpi["cost_per_1k_tokens"] = math.nan
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
        previous_totals=previous,
        by_provider=_by(qs, "provider", col, top),
        by_service_category=_by(qs, "service_category", col, top),
        by_model=_by(qs.exclude(model=""), "model", col, top),
        by_application=_by(qs.exclude(application_key=""), "application_key", col, top),
        daily=daily,
        usage=usage,
        kpis=kpi,
        carbon_g=carbon,
        unallocated=unallocated,
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


USAGE_SUMS = [
    "effective_cost",
    "billed_cost",
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "model_requests",
    "gpu_hours",
]


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
    recommendations (metrics.pricing, metrics.recommendations)."""
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

    Money ratios use EffectiveCost whatever `q.cost` says (DESIGN.md defines them so), and
    are per currency: a model billed in two currencies gives two rows. Spend with no model
    (cloud infrastructure) is left out. Undefined ratios (no requests, no output tokens) are
    NaN, as in metrics.kpis."""
    rows: list[dict[str, Any]] = [
        dict(r)
        for r in rollups(q)
        .exclude(model="")
        .values("model", "currency")
        .annotate(effective_cost=Sum("effective_cost"), **{f: Sum(f) for f in MODEL_KPI_SUMS})
        .order_by("model", "currency")
    ]
    if not rows:
        return []
    by = ["model", "currency"]
    frame = pd.DataFrame(
        [
            {
                **{f: float(r[f] or 0) for f in MODEL_KPI_SUMS},
                "model": r["model"],
                "currency": r["currency"],
                "effective_cost": float(r["effective_cost"] or 0),
            }
            for r in rows
        ]
    )
    ratios = {
        "cost_per_inference": kpis.cost_per_inference(frame, by),
        "token_density": kpis.token_density(frame, by),
        "cost_per_1k_tokens": kpis.cost_per_1k_tokens(frame, by),
        "cache_hit_ratio": kpis.cache_hit_ratio(frame, by),
        "token_carbon_density": kpis.token_carbon_density(frame, by),
    }
    out = []
    for r in rows:
        key = (r["model"], r["currency"])
        out.append(
            ModelKpis(
                model=r["model"],
                currency=r["currency"],
                effective_cost=_money(r["effective_cost"]),
                model_requests=int(r["model_requests"] or 0),
                input_tokens=int(r["input_tokens"] or 0),
                cached_input_tokens=int(r["cached_input_tokens"] or 0),
                cache_write_tokens=int(r["cache_write_tokens"] or 0),
                output_tokens=int(r["output_tokens"] or 0),
                gco2e_low=r["gco2e_low"],
                gco2e_high=r["gco2e_high"],
                kpis={name: float(series.loc[key]) for name, series in ratios.items()},  # type: ignore[union-attr]
            )
        )
    out.sort(key=lambda m: (-m.effective_cost, m.model, m.currency))
    return out


# --- Dashboards and the board report (portal spend views) -----------------------------------

CUBE_SUMS = [
    "effective_cost",
    "billed_cost",
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "model_requests",
    "gpu_hours",
    "gco2e_low",
    "gco2e_high",
]
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


def team_ranking(
    scope: Scope, current: tuple[date, date], previous: tuple[date, date], cost: CostColumn
) -> list[dict[str, Any]]:
    """Spend per team and currency in `current` and `previous` ([start, end) each), one
    query with conditional sums. Unallocated spend is the row with team None (organization
    scope only). Rows: team_id, slug, name, currency, current, previous (Decimal)."""
    lo = min(current[0], previous[0])
    hi = max(current[1], previous[1])
    qs = DailyCost.objects.filter(day__gte=lo, day__lt=hi)
    if scope.team_ids is not None:
        qs = qs.filter(team_id__in=scope.team_ids)
    in_cur = Q(day__gte=current[0], day__lt=current[1])
    in_prev = Q(day__gte=previous[0], day__lt=previous[1])
    rows = (
        qs.values("team_id", "team__slug", "team__name", "currency")
        .annotate(cur=Sum(cost, filter=in_cur), prev=Sum(cost, filter=in_prev))
        .order_by("team__name", "currency")
    )
    return [
        {
            "team_id": r["team_id"],
            "slug": r["team__slug"] or "",
            "name": r["team__name"] or "Unallocated",
            "currency": r["currency"],
            "current": _money(r["cur"]),
            "previous": _money(r["prev"]),
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
    from metrics.names import names_for

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
