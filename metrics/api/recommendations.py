"""Savings recommendations: list, dismiss with a reason (metrics.advice.recommendations)."""

from __future__ import annotations

from typing import Any

from django.db.models import FloatField, QuerySet
from django.db.models.functions import Cast
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from metrics.advice.recommendations.lifecycle import recommendation_dismiss
from metrics.api.common import (
    ERROR_400,
    ERROR_404,
    ERROR_409,
    ListFilterSerializer,
    MoneyField,
    service_errors,
    user_label,
    visible,
)
from metrics.models import Recommendation, Team


class RecommendationSerializer(serializers.ModelSerializer[Recommendation]):
    team = serializers.SlugRelatedField[Team](slug_field="slug", read_only=True, allow_null=True)
    estimated_monthly_saving = MoneyField()
    dismissed_by = serializers.SerializerMethodField()

    class Meta:
        model = Recommendation
        fields = [
            "id",
            "kind",
            "team",
            "subject",
            "title",
            "estimated_monthly_saving",
            "currency",
            "evidence",
            "status",
            "dismissed_reason",
            "dismissed_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_dismissed_by(self, rec: Recommendation) -> str | None:
        return user_label(rec.dismissed_by)


class RecommendationFilterSerializer(ListFilterSerializer):
    status = serializers.ChoiceField(choices=Recommendation.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=Recommendation.Kind.choices, required=False)


class DismissSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=2000, help_text="Why (required)")


class RecommendationViewSet(viewsets.ReadOnlyModelViewSet[Recommendation]):
    """Savings recommendations for your teams, largest estimated monthly saving first
    (FinOps admins: all). Savings of different kinds for one workload overlap."""

    serializer_class = RecommendationSerializer

    def get_queryset(self) -> QuerySet[Recommendation]:
        # Sorted as numbers: on SQLite the exact decimal column is text.
        qs = visible(
            Recommendation.objects.select_related("team", "dismissed_by"), self.request.user
        ).order_by(Cast("estimated_monthly_saving", FloatField()).desc(), "pk")
        if self.action == "list":
            qs = RecommendationFilterSerializer(data=self.request.query_params).filter(qs)
        return qs

    @extend_schema(parameters=[RecommendationFilterSerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=DismissSerializer,
        responses={200: RecommendationSerializer, 400: ERROR_400, 404: ERROR_404, 409: ERROR_409},
    )
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        """Dismiss with a reason (required). It stays quiet for 30 days; an applied
        recommendation cannot be dismissed (409)."""
        rec = self.get_object()
        body = DismissSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with service_errors(conflict=True):
            rec = recommendation_dismiss(
                recommendation=rec, user=request.user, reason=body.validated_data["reason"]
            )
        return Response(RecommendationSerializer(rec).data)
