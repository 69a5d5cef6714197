"""Alerts (budget thresholds, forecasts, anomalies): list, acknowledge, snooze.

Anyone who sees an alert's team may acknowledge or snooze it (metrics.alerting.alerts); alerts with
no team (organization-wide) are for FinOps admins only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from metrics.alerting.alerts import alert_acknowledge, alert_snooze
from metrics.api.common import (
    ERROR_400,
    ERROR_404,
    ListFilterSerializer,
    MoneyField,
    service_errors,
    user_label,
    visible,
)
from metrics.models import Alert, Team

MAX_SNOOZE = timedelta(days=90)


class AlertSerializer(serializers.ModelSerializer[Alert]):
    team = serializers.SlugRelatedField[Team](slug_field="slug", read_only=True, allow_null=True)
    amount = MoneyField(allow_null=True)
    acknowledged_by = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = [
            "id",
            "kind",
            "team",
            "budget",
            "subject",
            "day",
            "amount",
            "currency",
            "title",
            "details",
            "status",
            "snoozed_until",
            "acknowledged_by",
            "acknowledged_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_acknowledged_by(self, alert: Alert) -> str | None:
        return user_label(alert.acknowledged_by)

    def to_representation(self, instance: Alert) -> dict[str, Any]:
        data = super().to_representation(instance)
        if isinstance(data.get("details"), dict):
            # The worker run id is bookkeeping of alerts_create_once, not information.
            data["details"] = {k: v for k, v in data["details"].items() if k != "run"}
        return data


class AlertFilterSerializer(ListFilterSerializer):
    status = serializers.ChoiceField(choices=Alert.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=Alert.Kind.choices, required=False)


class SnoozeSerializer(serializers.Serializer[Any]):
    until = serializers.DateTimeField(required=False, help_text="ISO 8601, in the future")
    hours = serializers.IntegerField(
        required=False, min_value=1, max_value=int(MAX_SNOOZE.total_seconds() // 3600)
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("until" in attrs) == ("hours" in attrs):
            raise serializers.ValidationError(
                {"until": "Give either `until` or `hours` (one of them)."}
            )
        now = timezone.now()
        until = attrs.get("until") or now + timedelta(hours=attrs["hours"])
        if until <= now:
            raise serializers.ValidationError({"until": "Must be in the future."})
        if until > now + MAX_SNOOZE:
            raise serializers.ValidationError({"until": "At most 90 days ahead."})
        attrs["until"] = until
        return attrs


class AlertViewSet(viewsets.ReadOnlyModelViewSet[Alert]):
    """Alerts of your teams, newest first (FinOps admins: all, including organization-wide
    ones). Filter with `status`, `kind`, `team`."""

    serializer_class = AlertSerializer

    def get_queryset(self) -> QuerySet[Alert]:
        qs = visible(
            Alert.objects.select_related("team", "acknowledged_by"), self.request.user
        ).order_by("-created_at", "-pk")
        if self.action == "list":
            qs = AlertFilterSerializer(data=self.request.query_params).filter(qs)
        return qs

    @extend_schema(parameters=[AlertFilterSerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses={200: AlertSerializer, 404: ERROR_404})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        """Acknowledge the alert (open or snoozed ones; repeating it changes nothing)."""
        alert = self.get_object()
        with service_errors():
            alert = alert_acknowledge(alert=alert, user=request.user)
        return Response(AlertSerializer(alert).data)

    @extend_schema(
        request=SnoozeSerializer,
        responses={200: AlertSerializer, 400: ERROR_400, 404: ERROR_404},
    )
    @action(detail=True, methods=["post"])
    def snooze(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        """Silence the alert until a time (`until`) or for a number of `hours`; anomalies of
        the same team and model are not raised again meanwhile."""
        alert = self.get_object()
        body = SnoozeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with service_errors():
            alert = alert_snooze(alert=alert, user=request.user, until=body.validated_data["until"])
        return Response(AlertSerializer(alert).data)
