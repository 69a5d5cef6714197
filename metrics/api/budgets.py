"""Budgets (CRUD) and month-end forecasts per team.

Who may do what: everyone reads the budgets of their teams; team leads create, change and
delete the budgets of the teams they lead; FinOps admins (the budget model permissions)
those of every team. Budget alerts are evaluated by the Celery job (metrics.alerting.budgets).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, permissions, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics.alerting.budgets import DEFAULT_THRESHOLDS
from metrics.api.common import MoneyField, TeamSlugField, visible
from metrics.models import Budget, Team

CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
MAX_THRESHOLDS = 10
BUDGET_PERMISSIONS = {
    "POST": "metrics.add_budget",
    "PUT": "metrics.change_budget",
    "PATCH": "metrics.change_budget",
    "DELETE": "metrics.delete_budget",
}


def can_manage_budget(user: Any, team: Team, method: str) -> bool:
    """FinOps admins (model permission for the method) or a lead of `team`."""
    if not user.is_authenticated:
        return False
    perm = BUDGET_PERMISSIONS.get(method, "metrics.change_budget")
    return bool(user.has_perm(perm)) or Team.objects.led_by(user).filter(pk=team.pk).exists()


class VisibleTeamField(TeamSlugField):
    """A team slug; teams the requesting user may not see read as unknown."""

    default_error_messages = {
        **TeamSlugField.default_error_messages,
        "does_not_exist": "No team you may see is called {value}.",
    }

    def get_queryset(self) -> QuerySet[Team]:
        request = self.context.get("request")
        if request is None:
            return Team.objects.none()
        return Team.objects.visible_to(request.user)


class BudgetSerializer(serializers.ModelSerializer[Budget]):
    team = VisibleTeamField()
    application_key = serializers.CharField(
        max_length=300,
        allow_blank=True,
        default="",
        help_text="Empty: the whole team; else one application key of it.",
    )
    monthly_amount = serializers.DecimalField(
        max_digits=24, decimal_places=2, min_value=Decimal("0.01"), coerce_to_string=True
    )
    currency = serializers.CharField(max_length=3, default="USD", help_text="ISO 4217 code")
    thresholds = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=1000),
        required=False,
        max_length=MAX_THRESHOLDS,
        help_text=f"Percents of the monthly amount; empty: {DEFAULT_THRESHOLDS}.",
    )

    class Meta:
        model = Budget
        fields = [
            "id",
            "team",
            "application_key",
            "monthly_amount",
            "currency",
            "thresholds",
            "forecast_alert",
            "active",
        ]

    def validate_currency(self, value: str) -> str:
        value = value.strip().upper()
        if not CURRENCY_RE.match(value):
            raise serializers.ValidationError("A three-letter currency code, e.g. USD.")
        return value

    def validate_thresholds(self, value: list[int]) -> list[int]:
        return sorted(set(value))

    def to_representation(self, instance: Budget) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["monthly_amount"] = MoneyField().to_representation(instance.monthly_amount)
        try:
            data["thresholds"] = instance.threshold_list
        except (TypeError, ValueError):  # edited by hand in the admin
            data["thresholds"] = DEFAULT_THRESHOLDS
        return data


class BudgetFilterSerializer(serializers.Serializer[Any]):
    team = serializers.SlugField(required=False, help_text="One team slug")


class BudgetPermission(permissions.BasePermission):
    """Reading: anyone who sees the team (the queryset decides). Writing: see module doc."""

    message = "Only the team's leads and FinOps admins change its budgets."

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return can_manage_budget(request.user, obj.team, request.method or "")


class BudgetViewSet(viewsets.ModelViewSet[Budget]):
    """Monthly budgets of your teams (FinOps admins: all). Team leads manage their teams'
    budgets, FinOps admins every budget; engineers read them. Alerts fire at each threshold
    once per month, and when the month-end forecast goes over the amount."""

    serializer_class = BudgetSerializer
    permission_classes = [permissions.IsAuthenticated, BudgetPermission]

    def get_queryset(self) -> QuerySet[Budget]:
        qs = visible(Budget.objects.select_related("team"), self.request.user)
        if self.action == "list":
            params = BudgetFilterSerializer(data=self.request.query_params)
            params.is_valid(raise_exception=True)
            if "team" in params.validated_data:
                qs = qs.filter(team__slug=params.validated_data["team"])
        return qs.order_by("team__slug", "application_key", "currency", "pk")

    @extend_schema(parameters=[BudgetFilterSerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def _check_team(self, team: Team) -> None:
        if not can_manage_budget(self.request.user, team, self.request.method or ""):
            raise exceptions.PermissionDenied(BudgetPermission.message)

    def _save(self, serializer: serializers.BaseSerializer[Budget]) -> None:
        try:
            with transaction.atomic():
                serializer.save()
        except IntegrityError as exc:  # a concurrent create of the same budget
            raise serializers.ValidationError(
                {"non_field_errors": ["A budget for this team, application and currency exists."]}
            ) from exc

    def perform_create(self, serializer: serializers.BaseSerializer[Budget]) -> None:
        self._check_team(serializer.validated_data["team"])  # type: ignore[index]
        self._save(serializer)

    def perform_update(self, serializer: serializers.BaseSerializer[Budget]) -> None:
        team = serializer.validated_data.get("team")  # type: ignore[union-attr]
        if team is not None:
            self._check_team(team)  # moving a budget needs the right on both teams
        self._save(serializer)


# --- Forecast --------------------------------------------------------------------------------


class ForecastParamsSerializer(serializers.Serializer[Any]):
    as_of = serializers.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        help_text="Project as of this day. Default: today in the team's time zone.",
    )
    currency = serializers.CharField(
        required=False,
        max_length=3,
        help_text="Default: the currency the team spent most in recently.",
    )

    def validate_as_of(self, value: Any) -> Any:
        if not 1970 <= value.year <= 2999:
            raise serializers.ValidationError("Must be between 1970-01-01 and 2999-12-31.")
        return value

    def validate_currency(self, value: str) -> str:
        value = value.strip().upper()
        if not CURRENCY_RE.match(value):
            raise serializers.ValidationError("A three-letter currency code, e.g. USD.")
        return value


class ForecastSerializer(serializers.Serializer[Any]):
    expected = MoneyField()
    low = MoneyField()
    high = MoneyField()
    currency = serializers.CharField()
    month = serializers.CharField(help_text="YYYY-MM")
    month_to_date = MoneyField()
    daily_rate = MoneyField()
    days_observed = serializers.IntegerField()
    days_remaining = serializers.IntegerField(help_text="Today included")


class ForecastBudgetSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    monthly_amount = MoneyField()
    currency = serializers.CharField()
    expected_percent = serializers.FloatField(help_text="Expected month-end spend / budget")
    over_budget = serializers.BooleanField()


class TeamForecastSerializer(serializers.Serializer[Any]):
    team = serializers.CharField()
    as_of = serializers.DateField()
    forecast = ForecastSerializer(allow_null=True, help_text="Null: no spend in the window")
    budget = ForecastBudgetSerializer(
        allow_null=True, help_text="The team's active budget in the forecast's currency"
    )


def forecast_budget(team: Team, currency: str, expected: Decimal) -> dict[str, Any] | None:
    budget = Budget.objects.filter(
        team=team, application_key="", currency=currency, active=True
    ).first()
    if budget is None or not budget.monthly_amount:
        return None
    amount = Decimal(budget.monthly_amount)
    return {
        "id": budget.pk,
        "monthly_amount": amount,
        "currency": currency,
        "expected_percent": float(round(expected * 100 / amount, 1)),
        "over_budget": expected > amount,
    }
