"""Remediation policies (the Run stage's rules, metrics.advice.policies): FinOps admins only.

A policy says when to propose an action (an anomaly, a budget threshold, a recommendation),
what to propose, through which executor, and who may approve it (approvers by email; empty:
FinOps admins and the team's leads)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from rest_framework import serializers, viewsets

from metrics.advice.policies import policy_errors
from metrics.api.common import NulSafeSlugRelatedField, TeamSlugField, json_without_nul
from metrics.api.views import LedgerAdminPermission
from metrics.models import RemediationPolicy


class PolicySerializer(serializers.ModelSerializer[RemediationPolicy]):
    team = TeamSlugField(required=False, allow_null=True, help_text="Empty: every team")
    approvers = NulSafeSlugRelatedField(
        slug_field="email",
        many=True,
        required=False,
        queryset=get_user_model().objects.filter(is_active=True),
        help_text="Emails of the people who may approve its actions",
    )
    created_by = serializers.SlugRelatedField[Any](slug_field="email", read_only=True)

    class Meta:
        model = RemediationPolicy
        fields = [
            "id",
            "name",
            "enabled",
            "trigger",
            "team",
            "min_amount",
            "min_percent",
            "recommendation_kind",
            "action_kind",
            "params",
            "executor",
            "approvers",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["id", "created_by", "created_at"]

    def validate_params(self, value: Any) -> Any:
        return json_without_nul(value, field="params")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        current = self.instance

        def value(name: str, default: Any) -> Any:
            if name in attrs:
                return attrs[name]
            return getattr(current, name) if current is not None else default

        errors = policy_errors(
            trigger=value("trigger", ""),
            action_kind=value("action_kind", ""),
            executor=value("executor", "webhook"),
            params=value("params", {}),
            recommendation_kind=value("recommendation_kind", ""),
            min_amount=value("min_amount", None),
        )
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class PolicyViewSet(viewsets.ModelViewSet[RemediationPolicy]):
    """Remediation policies, for FinOps admins: the alert and recommendation jobs evaluate
    the enabled ones and propose actions that only the named approvers may approve."""

    serializer_class = PolicySerializer
    permission_classes = [LedgerAdminPermission]

    def get_queryset(self) -> QuerySet[RemediationPolicy]:
        return (
            RemediationPolicy.objects.select_related("team", "created_by")
            .prefetch_related("approvers")
            .order_by("name")
        )

    def perform_create(self, serializer: serializers.BaseSerializer[RemediationPolicy]) -> None:
        serializer.save(created_by=self.request.user)
