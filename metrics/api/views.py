"""Teams (with their month-end forecast), allocation rules and billing imports."""

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from metrics.api.budgets import (
    ForecastParamsSerializer,
    TeamForecastSerializer,
    forecast_budget,
)
from metrics.api.common import ERROR_400, ERROR_404, TeamSlugField
from metrics.budgets import local_today
from metrics.forecast import forecast_month_end
from metrics.ingest import billing_import, store_upload
from metrics.models import AllocationRule, ImportBatch, Team
from metrics.sources.base import IngestError
from metrics.sources.registry import SOURCES


class TeamSerializer(serializers.ModelSerializer[Team]):
    class Meta:
        model = Team
        fields = ["id", "slug", "name", "slack_channel_id", "slack_usergroup_id", "time_zone"]


class TeamViewSet(viewsets.ReadOnlyModelViewSet[Team]):
    """Teams the caller may see: all for FinOps admins, otherwise their own."""

    serializer_class = TeamSerializer
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"

    def get_queryset(self) -> QuerySet[Team]:
        return Team.objects.visible_to(self.request.user).order_by("name")

    @extend_schema(
        parameters=[ForecastParamsSerializer],
        responses={200: TeamForecastSerializer, 400: ERROR_400, 404: ERROR_404},
    )
    @action(detail=True, methods=["get"])
    def forecast(self, request: Request, slug: str | None = None, **kwargs: object) -> Response:
        """Month-end spend forecast of the team (expected, with a low-high range) and how it
        compares with the team's budget in that currency (metrics.forecast explains how)."""
        team = self.get_object()
        params = ForecastParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        as_of = params.validated_data.get("as_of") or local_today(team, timezone.now())
        currency = params.validated_data.get("currency")
        found = forecast_month_end([team.pk], as_of, currency=currency).get(team.pk)
        payload = {
            "team": team.slug,
            "as_of": as_of,
            "forecast": found,
            "budget": forecast_budget(team, found.currency, found.expected) if found else None,
        }
        return Response(TeamForecastSerializer(payload).data)


class LedgerAdminPermission(permissions.DjangoModelPermissions):
    """FinOps admins (model permissions on the ledger); reading needs the view permission."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


class AllocationRuleSerializer(serializers.ModelSerializer[AllocationRule]):
    team = TeamSlugField()

    class Meta:
        model = AllocationRule
        fields = [
            "id",
            "priority",
            "team",
            "field",
            "tag_key",
            "pattern",
            "active",
            "note",
            "application_name",
            "updated_at",
        ]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("field") == AllocationRule.Field.TAG and not attrs.get("tag_key"):
            raise serializers.ValidationError({"tag_key": "A tag rule needs the tag key."})
        return attrs


class AllocationRuleViewSet(viewsets.ModelViewSet[AllocationRule]):
    """Allocation rules. Any change re-allocates history in the background."""

    serializer_class = AllocationRuleSerializer
    permission_classes = [LedgerAdminPermission]
    queryset = AllocationRule.objects.select_related("team").order_by("priority", "id")


class ImportBatchSerializer(serializers.ModelSerializer[ImportBatch]):
    class Meta:
        model = ImportBatch
        fields = [
            "id",
            "file_name",
            "source",
            "status",
            "row_count",
            "replaced_count",
            "summary",
            "created_at",
            "finished_at",
        ]


class ImportUploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField()
    source = serializers.ChoiceField(choices=["auto", *SOURCES], default="auto")  # type: ignore[assignment]


class ImportBatchViewSet(viewsets.ReadOnlyModelViewSet[ImportBatch]):
    """Imported files. POST a billing file (multipart `file`, optional `source`) to import it."""

    serializer_class = ImportBatchSerializer
    permission_classes = [LedgerAdminPermission]
    queryset = ImportBatch.objects.all()
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=ImportUploadSerializer, responses={201: ImportBatchSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        upload = ImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        file = upload.validated_data["file"]
        try:
            # Django already spooled a large upload to a temporary file; copy it block by block.
            path = store_upload(file.name, file.chunks(), size=file.size)
        except IngestError as exc:
            return Response({"error": str(exc)}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        try:
            result = billing_import(
                path,
                source=upload.validated_data["source"],
                user=request.user,  # type: ignore[arg-type]
                display_name=file.name,
            )
        except IngestError as exc:
            return Response({"error": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        finally:
            path.unlink(missing_ok=True)
        body = ImportBatchSerializer(result.batch).data
        return Response(
            {**body, "already_imported": not result.created},
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )
