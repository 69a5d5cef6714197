"""Remediation actions (the Run stage): list, approve, reject, dry-run (metrics.advice.remediation).

Everyone who sees an action's team sees the action and may dry-run it; approving and
rejecting need the approve permission (FinOps admins) or being a lead of its team. An
approved action is executed once by a Celery worker after the approval is committed.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from metrics.advice.remediation import action_approve, action_dry_run, action_reject, can_approve
from metrics.api.common import (
    ERROR_403,
    ERROR_404,
    ERROR_409,
    ListFilterSerializer,
    service_errors,
    user_label,
    visible,
)
from metrics.models import RemediationAction, Team


class ActionSerializer(serializers.ModelSerializer[RemediationAction]):
    team = serializers.SlugRelatedField[Team](slug_field="slug", read_only=True)
    approved_by = serializers.SerializerMethodField()
    can_approve = serializers.SerializerMethodField(
        help_text="Whether you may approve or reject it (when it is proposed)"
    )

    class Meta:
        model = RemediationAction
        fields = [
            "id",
            "kind",
            "team",
            "recommendation",
            "alert",
            "params",
            "executor",
            "status",
            "proposed_at",
            "approved_by",
            "approved_at",
            "executed_at",
            "dry_run_result",
            "result",
            "policy",
            "expected_effect",
            "outcome",
            "can_approve",
        ]
        read_only_fields = fields

    def get_approved_by(self, obj: RemediationAction) -> str | None:
        return user_label(obj.approved_by)

    def get_can_approve(self, obj: RemediationAction) -> bool:
        request = self.context.get("request")
        return request is not None and can_approve(request.user, obj)


class ActionFilterSerializer(ListFilterSerializer):
    status = serializers.ChoiceField(choices=RemediationAction.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=RemediationAction.Kind.choices, required=False)


class RejectSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class DryRunSerializer(serializers.Serializer[Any]):
    executor = serializers.CharField(allow_null=True, required=False)
    would_run = serializers.BooleanField(help_text="True only for an approved action")
    status = serializers.CharField()
    preview = serializers.DictField(help_text="What the executor would send (no signature)")


class ActionViewSet(viewsets.ReadOnlyModelViewSet[RemediationAction]):
    """Remediation actions of your teams, newest first (FinOps admins: all). Nothing runs
    without a human approval, and an approved action runs at most once."""

    serializer_class = ActionSerializer

    def get_queryset(self) -> QuerySet[RemediationAction]:
        qs = visible(
            RemediationAction.objects.select_related("team", "approved_by"), self.request.user
        ).order_by("-proposed_at", "-pk")
        if self.action == "list":
            qs = ActionFilterSerializer(data=self.request.query_params).filter(qs)
        return qs

    @extend_schema(parameters=[ActionFilterSerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def _answer(self, obj: RemediationAction) -> Response:
        fresh = self.get_queryset().get(pk=obj.pk)
        return Response(ActionSerializer(fresh, context={"request": self.request}).data)

    @extend_schema(
        request=None,
        responses={200: ActionSerializer, 403: ERROR_403, 404: ERROR_404, 409: ERROR_409},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        """Approve a proposed action (FinOps admins, leads of its team); it then runs once.
        403 for others who see it; 409 when it is no longer proposed."""
        obj = self.get_object()
        with service_errors(conflict=True):
            obj = action_approve(action=obj, user=request.user)
        return self._answer(obj)

    @extend_schema(
        request=RejectSerializer,
        responses={200: ActionSerializer, 403: ERROR_403, 404: ERROR_404, 409: ERROR_409},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        """Reject a proposed action (same people as approving); it can never run."""
        obj = self.get_object()
        body = RejectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with service_errors(conflict=True):
            obj = action_reject(action=obj, user=request.user, reason=body.validated_data["reason"])
        return self._answer(obj)

    @extend_schema(request=None, responses={200: DryRunSerializer, 404: ERROR_404})
    @action(detail=True, methods=["post"], url_path="dry-run")
    def dry_run(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        """What executing the action would send, without sending anything; the preview is
        stored on the action (`dry_run_result`) for whoever approves it."""
        obj = self.get_object()
        preview = action_dry_run(action=obj, record=True)
        payload = {
            "executor": preview.get("executor"),
            "would_run": preview.get("would_run", False),
            "status": preview.get("status", obj.status),
            "preview": preview,
        }
        return Response(DryRunSerializer(payload).data)
