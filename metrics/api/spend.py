"""Spend and KPI questions: thin wrappers around metrics.queries (the bot and the portal ask
the same functions, so one question gets one answer everywhere)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics import queries, spend_filters
from metrics.api.common import (
    ERRORS,
    LedgerDayField,
    MoneyField,
    PeriodFilterSerializer,
    RatioField,
    resolve_scope,
)
from metrics.models import Team


class SpendFilterSerializer(PeriodFilterSerializer):
    cost = serializers.ChoiceField(
        choices=sorted(spend_filters.COST_COLUMNS),
        default="effective",
        help_text="effective (amortized, the default) or billed (as invoiced).",
    )
    top = serializers.IntegerField(
        min_value=1, max_value=100, default=5, help_text="Rows per breakdown (largest first)."
    )


class ScopeSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(help_text="The teams, or the whole organization")
    organization = serializers.BooleanField(help_text="The whole organization (FinOps admins)")
    teams = serializers.ListField(
        child=serializers.CharField(), allow_null=True, help_text="Slugs; null for the org"
    )


class PeriodSerializer(serializers.Serializer[Any]):
    start = serializers.DateField()
    end = serializers.DateField(help_text="Last day included")
    days = serializers.IntegerField()


class BreakdownSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    currency = serializers.CharField()
    amount = MoneyField()


class DailySerializer(serializers.Serializer[Any]):
    day = serializers.DateField()
    currency = serializers.CharField()
    amount = MoneyField()


class PreviousSerializer(PeriodSerializer):
    totals = serializers.DictField(child=MoneyField(), help_text="Per currency")


class KpiSerializer(serializers.Serializer[Any]):
    cost_per_inference = RatioField(help_text="EffectiveCost / model requests")
    token_density = RatioField(help_text="(input + cached input + output) / output tokens")
    cost_per_1k_tokens = RatioField(help_text="EffectiveCost / total tokens x 1000")
    cache_hit_ratio = RatioField(help_text="cached input / (input + cached input) tokens")
    token_carbon_density = RatioField(help_text="gCO2e per 1k output tokens (estimate)")
    unallocated_share = RatioField(required=False, help_text="Organization scope only")


class CarbonSerializer(serializers.Serializer[Any]):
    low = serializers.FloatField(help_text="gCO2e, low estimate")
    high = serializers.FloatField(help_text="gCO2e, high estimate")


class FiltersSerializer(serializers.Serializer[Any]):
    providers = serializers.ListField(child=serializers.CharField())
    models = serializers.ListField(child=serializers.CharField())
    cost = serializers.CharField(help_text="effective or billed")


class ComparisonSerializer(serializers.Serializer[Any]):
    like_for_like = serializers.BooleanField(
        help_text="True when days were left out so that both sides have data for the same days"
    )
    current_days = serializers.ListField(
        child=serializers.DateField(), help_text="Days of this period that were compared"
    )
    previous_days = serializers.ListField(
        child=serializers.DateField(), help_text="The matching days of the previous period"
    )
    current_coverage = serializers.CharField(
        help_text="full, partial or none: the days of the period the ledger has data for"
    )
    previous_coverage = serializers.CharField(help_text="full, partial or none")
    notes = serializers.ListField(child=serializers.CharField(), help_text="For people")


class KpiCoverageSerializer(serializers.Serializer[Any]):
    cost_per_inference = RatioField(help_text="Share of the cost from providers with requests")
    cost_per_1k_tokens = RatioField(help_text="Share of the cost from providers with tokens")
    cost_per_gpu_hour = RatioField(help_text="Share of the cost from providers with GPU hours")


class SpendOutputSerializer(serializers.Serializer[Any]):
    scope = ScopeSerializer()
    period = PeriodSerializer()
    filters = FiltersSerializer()
    totals = serializers.DictField(child=MoneyField(), help_text="Per currency, never added up")
    previous = PreviousSerializer(
        help_text="The previous period (calendar-aligned); totals over the compared days only"
    )
    change = serializers.DictField(
        child=RatioField(),
        help_text="Relative change per currency, like for like; null without prior spend",
    )
    comparison = ComparisonSerializer(help_text="How the change was computed")
    data_through = serializers.DateField(
        allow_null=True, help_text="The ledger's last day with data up to the period's end"
    )
    by_provider = BreakdownSerializer(many=True)
    by_service_category = BreakdownSerializer(many=True)
    by_model = BreakdownSerializer(many=True)
    by_application = BreakdownSerializer(many=True)
    daily = DailySerializer(many=True)
    usage = serializers.DictField(child=RatioField(), help_text="Token, request, GPU sums")
    kpis = KpiSerializer(
        help_text="Unit KPIs with matched numerators (docs/definitions.md#matched-numerators)"
    )
    kpi_coverage = KpiCoverageSerializer(help_text="Share of the scope's cost each KPI covers")
    carbon_g = CarbonSerializer(
        allow_null=True,
        help_text=(
            "Estimated range (EcoLogits); null if unknown. Assumes no measured latency: "
            "generation time is modeled from the model size"
        ),
    )
    unallocated = serializers.DictField(
        child=MoneyField(), allow_null=True, help_text="Organization scope only, else null"
    )


class ModelKpiSerializer(serializers.Serializer[Any]):
    model = serializers.CharField()
    currency = serializers.CharField()
    effective_cost = MoneyField()
    model_requests = serializers.IntegerField()
    input_tokens = serializers.IntegerField()
    cached_input_tokens = serializers.IntegerField()
    cache_write_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    gco2e_low = RatioField()
    gco2e_high = RatioField()
    cost_per_inference = RatioField()
    token_density = RatioField()
    cost_per_1k_tokens = RatioField()
    cache_hit_ratio = RatioField()
    token_carbon_density = RatioField()


class KpiOutputSerializer(serializers.Serializer[Any]):
    scope = ScopeSerializer()
    period = PeriodSerializer()
    filters = FiltersSerializer()
    models = ModelKpiSerializer(many=True, help_text="Most expensive first")


def _spend_query(request: Request, params: dict[str, Any]) -> queries.SpendQuery:
    filters: spend_filters.SpendFilters = params["filters"]
    return filters.query_for(resolve_scope(request.user, list(filters.teams) or None))


def _scope(scope: queries.Scope) -> dict[str, Any]:
    slugs = None
    if scope.team_ids is not None:
        slugs = list(
            Team.objects.filter(pk__in=scope.team_ids)
            .order_by("slug")
            .values_list("slug", flat=True)
        )
    return {"name": scope.label, "organization": scope.is_org, "teams": slugs}


def _period(start: date, end_exclusive: date) -> dict[str, Any]:
    return {
        "start": start,
        "end": end_exclusive - timedelta(days=1),
        "days": (end_exclusive - start).days,
    }


def _filters(q: queries.SpendQuery, cost: str) -> dict[str, Any]:
    return {"providers": list(q.providers), "models": list(q.models), "cost": cost}


def spend_payload(report: queries.SpendReport, *, cost: str) -> dict[str, Any]:
    q = report.query
    comparison = report.comparison or queries.compare_periods(q)
    previous = comparison.previous
    currencies = sorted(set(report.totals) | set(report.previous_totals))
    return {
        "scope": _scope(q.scope),
        "period": _period(q.start, q.end),
        "filters": _filters(q, cost),
        "totals": report.totals,
        "previous": {**_period(previous.start, previous.end), "totals": report.previous_totals},
        "change": {c: report.change(c) for c in currencies},
        "comparison": comparison_payload(comparison),
        "data_through": report.data_through,
        "kpi_coverage": report.kpi_coverage,
        "by_provider": [asdict(b) for b in report.by_provider],
        "by_service_category": [asdict(b) for b in report.by_service_category],
        "by_model": [asdict(b) for b in report.by_model],
        "by_application": [asdict(b) for b in report.by_application],
        "daily": [{"day": d, "currency": c, "amount": a} for d, c, a in report.daily],
        "usage": report.usage,
        "kpis": report.kpis,
        "carbon_g": (
            {"low": report.carbon_g[0], "high": report.carbon_g[1]} if report.carbon_g else None
        ),
        "unallocated": report.unallocated if q.scope.is_org else None,
    }


def comparison_payload(c: queries.Comparison) -> dict[str, Any]:
    return {
        "like_for_like": c.like_for_like,
        "current_days": list(c.compared_current),
        "previous_days": list(c.compared_previous),
        "current_coverage": c.current.coverage,
        "previous_coverage": c.previous.coverage,
        "notes": c.notes(),
    }


class SpendApi(APIView):
    """Spend of your teams (or the ones named) over a period, with the previous equal period,
    breakdowns, the daily series, KPIs and the carbon estimate. Totals are per currency and
    never added across currencies. Default period: the month to date."""

    @extend_schema(
        parameters=[SpendFilterSerializer], responses={200: SpendOutputSerializer, **ERRORS}
    )
    def get(self, request: Request) -> Response:
        params = SpendFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        q = _spend_query(request, data)
        report = queries.spend_report(q, top=data["top"])
        return Response(SpendOutputSerializer(spend_payload(report, cost=data["cost"])).data)


class KpiApi(APIView):
    """Unit economics per model (and currency) for your teams or the ones named: cost per
    inference, token density, cost per 1k tokens, cache hit ratio and token carbon density.
    Ratios that are undefined (no requests, no output tokens) are null."""

    @extend_schema(
        parameters=[PeriodFilterSerializer], responses={200: KpiOutputSerializer, **ERRORS}
    )
    def get(self, request: Request) -> Response:
        params = PeriodFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        q = _spend_query(request, data)
        rows = [
            {**{k: v for k, v in asdict(m).items() if k != "kpis"}, **m.kpis}
            for m in queries.model_kpis(q)
        ]
        payload = {
            "scope": _scope(q.scope),
            "period": _period(q.start, q.end),
            "filters": _filters(q, "effective"),
            "models": rows,
        }
        return Response(KpiOutputSerializer(payload).data)


# --- Rankings, comparisons, drivers ---------------------------------------------------------

DIMENSION_CHOICES = ["team", "model", "provider", "application", "service_category"]


class RankingFilterSerializer(SpendFilterSerializer):
    by = serializers.ChoiceField(choices=DIMENSION_CHOICES, help_text="What to rank")
    order = serializers.ChoiceField(
        choices=["desc", "asc"], default="desc", help_text="desc: most expensive first"
    )
    top = serializers.IntegerField(  # type: ignore[assignment]
        min_value=1, max_value=100, required=False, help_text="Rows (default: all)"
    )


class RankRowSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(help_text="Team slug, model, provider key, application key")
    name = serializers.CharField(help_text="For people (a team's name)")
    currency = serializers.CharField()
    amount = MoneyField()
    share = RatioField(help_text="Of the scope's total in that currency")


class RankingOutputSerializer(serializers.Serializer[Any]):
    scope = ScopeSerializer()
    period = PeriodSerializer()
    filters = FiltersSerializer()
    by = serializers.CharField()
    rows = RankRowSerializer(many=True)
    keys = serializers.IntegerField(help_text="Keys in all (rows may be cut to `top`)")
    totals = serializers.DictField(child=MoneyField(), help_text="Per currency")
    data_through = serializers.DateField(allow_null=True)


class RankingApi(APIView):
    """Spend split by team, model, provider, application or service category, most expensive
    first (or cheapest first with order=asc), optionally the top N: "top 3 teams last month",
    "spend by model". Team rankings of the organization show unallocated spend as a row."""

    @extend_schema(
        parameters=[RankingFilterSerializer], responses={200: RankingOutputSerializer, **ERRORS}
    )
    def get(self, request: Request) -> Response:
        params = RankingFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        q = _spend_query(request, data)
        r = queries.ranking(q, data["by"], top=data.get("top"), ascending=data["order"] == "asc")
        payload = {
            "scope": _scope(q.scope),
            "period": _period(q.start, q.end),
            "filters": _filters(q, data["cost"]),
            "by": r.dimension,
            "rows": [asdict(row) for row in r.rows],
            "keys": r.keys,
            "totals": r.totals,
            "data_through": r.data_through,
        }
        return Response(RankingOutputSerializer(payload).data)


class ComparisonFilterSerializer(SpendFilterSerializer):
    previous_start = LedgerDayField(
        required=False, help_text="First day of the period to compare with (default: previous)"
    )
    previous_end = LedgerDayField(required=False, help_text="Its last day, included")
    by = serializers.ChoiceField(
        choices=DIMENSION_CHOICES, required=False, help_text="Split the change by"
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        start, end = attrs.get("previous_start"), attrs.get("previous_end")
        if (start is None) != (end is None):
            raise serializers.ValidationError(
                {"previous_end": "Give both previous_start and previous_end, or neither."}
            )
        if start is not None and end is not None and end < start:
            raise serializers.ValidationError({"previous_end": "Must not be before start."})
        return attrs


class WindowSerializer(PeriodSerializer):
    coverage = serializers.CharField(help_text="full, partial or none (days with ledger data)")
    days_with_data = serializers.IntegerField()


class ChangeRowSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    currency = serializers.CharField()
    current = MoneyField()
    previous = MoneyField()
    delta = MoneyField()
    change = RatioField(help_text="null when the previous side had no spend")


class ComparisonOutputSerializer(serializers.Serializer[Any]):
    scope = ScopeSerializer()
    filters = FiltersSerializer()
    current = WindowSerializer()
    previous = WindowSerializer()
    totals = serializers.DictField(child=MoneyField(), help_text="Compared days only")
    previous_totals = serializers.DictField(child=MoneyField(), help_text="Compared days only")
    full_totals = serializers.DictField(child=MoneyField(), help_text="The whole current period")
    change = serializers.DictField(child=RatioField())
    comparison = ComparisonSerializer()
    data_through = serializers.DateField(allow_null=True)
    by = serializers.CharField(allow_blank=True)
    rows = ChangeRowSerializer(many=True, help_text="Largest absolute change first")


def _window_payload(w: queries.Window) -> dict[str, Any]:
    return {**_period(w.start, w.end), "coverage": w.coverage, "days_with_data": w.days_with_data}


def _change_rows(rows: list[queries.ChangeRow]) -> list[dict[str, Any]]:
    return [{**asdict(r), "delta": r.delta, "change": r.change} for r in rows]


def _comparison_query(request: Request) -> tuple[queries.SpendQuery, dict[str, Any]]:
    params = ComparisonFilterSerializer(data=request.query_params)
    params.is_valid(raise_exception=True)
    data = params.validated_data
    return _spend_query(request, data), data


def _previous(data: dict[str, Any]) -> tuple[date, date] | None:
    if data.get("previous_start") is None:
        return None
    return data["previous_start"], data["previous_end"] + timedelta(days=1)


def _comparison_body(q: queries.SpendQuery, c: queries.Comparison, cost: str) -> dict[str, Any]:
    currencies = sorted(set(c.totals) | set(c.previous_totals))
    return {
        "scope": _scope(q.scope),
        "filters": _filters(q, cost),
        "current": _window_payload(c.current),
        "previous": _window_payload(c.previous),
        "totals": c.totals,
        "previous_totals": c.previous_totals,
        "full_totals": c.full_totals,
        "change": {cur: c.change(cur) for cur in currencies},
        "comparison": comparison_payload(c),
        "data_through": c.data_through,
        "by": c.dimension,
        "rows": _change_rows(c.rows),
    }


class ComparisonApi(APIView):
    """This period against another, like for like: by default the previous period
    (calendar-aligned: a month with the previous calendar month); only days with ledger data
    on both sides are compared, and `comparison.notes` says what was left out. Optionally the
    change split by a dimension (`by`)."""

    @extend_schema(
        parameters=[ComparisonFilterSerializer],
        responses={200: ComparisonOutputSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        q, data = _comparison_query(request)
        c = queries.compare_periods(q, previous=_previous(data), dimension=data.get("by"))
        return Response(ComparisonOutputSerializer(_comparison_body(q, c, data["cost"])).data)


class DriverGroupSerializer(serializers.Serializer[Any]):
    by = serializers.CharField()
    rows = ChangeRowSerializer(many=True)


class DriversOutputSerializer(ComparisonOutputSerializer):
    drivers = DriverGroupSerializer(many=True, help_text="Per dimension, largest change first")
    dashboard_url = serializers.CharField(help_text="The portal view of the same change")


class DriversApi(APIView):
    """Why spend changed: the like-for-like comparison (as /comparison/) decomposed by model,
    application and provider, each dimension's rows adding up to the total change."""

    @extend_schema(
        parameters=[ComparisonFilterSerializer],
        responses={200: DriversOutputSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        q, data = _comparison_query(request)
        d = queries.drivers(q, previous=_previous(data))
        body = _comparison_body(q, d.comparison, data["cost"])
        body["drivers"] = [{"by": k, "rows": _change_rows(rows)} for k, rows in d.by.items()]
        body["dashboard_url"] = spend_filters.dashboard_url(q)
        return Response(DriversOutputSerializer(body).data)
