"""Teams (with their month-end forecast), allocation rules and billing imports."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from metrics.api.budgets import (
    ForecastParamsSerializer,
    TeamForecastSerializer,
    forecast_budget,
)
from metrics.api.common import ERROR_400, ERROR_404, TeamSlugField
from metrics.economics.forecast import forecast_month_end
from metrics.ledger.ingest import import_precheck, job_rows_done, store_upload
from metrics.ledger.sources.base import IngestError
from metrics.ledger.sources.registry import SOURCES
from metrics.models import AllocationRule, ImportBatch, ImportJob, Team
from metrics.tasks import queue_import


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
        compares with the team's budget in that currency (metrics.economics.forecast explains
        how)."""
        team = self.get_object()
        params = ForecastParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        as_of = params.validated_data.get("as_of") or team.local_today()
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


class ImportJobSerializer(serializers.ModelSerializer[ImportJob]):
    rows_done = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "file_name",
            "source",
            "status",
            "rows_done",
            "batch",
            "already_imported",
            "summary",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "status_url",
        ]

    def get_rows_done(self, job: ImportJob) -> int:
        return job_rows_done(job)

    def get_summary(self, job: ImportJob) -> dict[str, Any] | None:
        return job.batch.summary if job.batch is not None else None

    def get_status_url(self, job: ImportJob) -> str:
        url = reverse("import-job-detail", args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class ImportBatchViewSet(viewsets.ReadOnlyModelViewSet[ImportBatch]):
    """Imported files. POST a billing file (multipart `file`, optional `source`) to import it."""

    serializer_class = ImportBatchSerializer
    permission_classes = [LedgerAdminPermission]
    queryset = ImportBatch.objects.all()
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=ImportUploadSerializer, responses={202: ImportJobSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Store the file and queue its import: 202 with `status_url` (progress, then the
        summary or the `file:row:column` error). Oversized uploads answer 413; files over
        the import limits, empty or of no known format, 400 at once."""
        upload = ImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        file = upload.validated_data["file"]
        try:
            # Django already spooled a large upload to a temporary file; copy it block by block.
            path = store_upload(file.name, file.chunks(), size=file.size)
        except IngestError as exc:
            return Response({"error": str(exc)}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        source = upload.validated_data["source"]
        try:
            import_precheck(path, source=source, display_name=file.name)
        except IngestError as exc:
            path.unlink(missing_ok=True)
            return Response({"error": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        job = ImportJob.objects.create(
            file_name=file.name,
            path=str(path),
            source=source,
            created_by=request.user,  # type: ignore[misc]
        )
        queue_import(job)
        body = ImportJobSerializer(job, context={"request": request}).data
        return Response(
            body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]}
        )


class ImportJobViewSet(viewsets.ReadOnlyModelViewSet[ImportJob]):
    """Queued imports: status, rows done so far, then the batch summary or the error."""

    serializer_class = ImportJobSerializer
    permission_classes = [LedgerAdminPermission]
    queryset = ImportJob.objects.select_related("batch")
