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

from metrics import queries
from metrics.api.common import (
    ERRORS,
    MoneyField,
    PeriodFilterSerializer,
    RatioField,
    resolve_scope,
)
from metrics.models import Team

COST_COLUMNS: dict[str, queries.CostColumn] = {
    "effective": "effective_cost",
    "billed": "billed_cost",
}


class SpendFilterSerializer(PeriodFilterSerializer):
    cost = serializers.ChoiceField(
        choices=sorted(COST_COLUMNS),
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


class SpendOutputSerializer(serializers.Serializer[Any]):
    scope = ScopeSerializer()
    period = PeriodSerializer()
    filters = FiltersSerializer()
    totals = serializers.DictField(child=MoneyField(), help_text="Per currency, never added up")
    previous = PreviousSerializer(help_text="The previous period of equal length")
    change = serializers.DictField(
        child=RatioField(), help_text="Relative change per currency; null without prior spend"
    )
    by_provider = BreakdownSerializer(many=True)
    by_service_category = BreakdownSerializer(many=True)
    by_model = BreakdownSerializer(many=True)
    by_application = BreakdownSerializer(many=True)
    daily = DailySerializer(many=True)
    usage = serializers.DictField(child=RatioField(), help_text="Token, request, GPU sums")
    kpis = KpiSerializer()
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


def _spend_query(request: Request, params: dict[str, Any], cost: str) -> queries.SpendQuery:
    scope = resolve_scope(request.user, params["team"])
    return queries.SpendQuery(
        scope=scope,
        start=params["start"],
        end=params["end"] + timedelta(days=1),
        providers=tuple(params["provider"]),
        models=tuple(params["model"]),
        cost=COST_COLUMNS[cost],
    )


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
    previous = q.previous()
    currencies = sorted(set(report.totals) | set(report.previous_totals))
    return {
        "scope": _scope(q.scope),
        "period": _period(q.start, q.end),
        "filters": _filters(q, cost),
        "totals": report.totals,
        "previous": {**_period(previous.start, previous.end), "totals": report.previous_totals},
        "change": {c: report.change(c) for c in currencies},
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
        q = _spend_query(request, data, data["cost"])
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
        q = _spend_query(request, data, "effective")
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
