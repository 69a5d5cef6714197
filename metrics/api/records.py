"""The ledger's billing lines (CostRecord), filtered, cursor-paginated, or streamed as CSV.

Spend questions never read this table (they read the rollups through metrics.queries); this
endpoint is for tracing a number back to its lines and for downloads. Engineers see the
lines of their teams; only FinOps admins see the unallocated ones.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpResponseBase, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import pagination, renderers, serializers, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from metrics import spend_filters
from metrics.api.common import (
    LedgerDayField,
    ListParam,
    MoneyField,
    TeamParam,
    drf_errors,
    visible,
)
from metrics.ledger.csv_safety import csv_safe
from metrics.models import CostRecord, Team

# (CSV header, queryset path), in CSV column order.
CSV_COLUMNS = [
    ("id", "id"),
    ("day", "day"),
    ("team", "team__slug"),
    ("provider", "provider"),
    ("model", "model"),
    ("application_key", "application_key"),
    ("service_category", "service_category"),
    ("service_name", "service_name"),
    ("charge_category", "charge_category"),
    ("charge_description", "charge_description"),
    ("billing_account_id", "billing_account_id"),
    ("sub_account_id", "sub_account_id"),
    ("region_id", "region_id"),
    ("resource_id", "resource_id"),
    ("sku_id", "sku_id"),
    ("charge_period_start", "charge_period_start"),
    ("charge_period_end", "charge_period_end"),
    ("billed_cost", "billed_cost"),
    ("effective_cost", "effective_cost"),
    ("currency", "billing_currency"),
    ("input_tokens", "input_tokens"),
    ("cached_input_tokens", "cached_input_tokens"),
    ("cache_write_tokens", "cache_write_tokens"),
    ("output_tokens", "output_tokens"),
    ("model_requests", "model_requests"),
    ("gpu_hours", "gpu_hours"),
    ("cost_source", "cost_source"),
    ("tags", "tags"),
    ("batch", "batch_id"),
    ("source_line", "source_line"),
]


class RecordFilterSerializer(serializers.Serializer[Any]):
    team = TeamParam(
        help_text="Team slug(s), comma-separated; lines of teams you may not see are never "
        "listed (the filter then matches nothing)."
    )
    start = LedgerDayField(help_text="First day (UTC ledger day), included.")
    end = LedgerDayField(help_text="Last day, included.")
    provider = ListParam(help_text="Provider key(s), comma-separated.")
    model = ListParam(help_text="Model name(s), comma-separated, exact.")
    application = ListParam(help_text="Application key(s), comma-separated.")
    unallocated = serializers.BooleanField(
        required=False, default=False, help_text="Only lines no team was allocated (admins)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start"), attrs.get("end")
        if start and end:
            drf_errors(lambda: spend_filters.check_period(start, end))
        return attrs


class RecordSerializer(serializers.ModelSerializer[CostRecord]):
    team = serializers.SlugRelatedField[Team](slug_field="slug", read_only=True, allow_null=True)
    currency = serializers.CharField(source="billing_currency")
    billed_cost = MoneyField()
    effective_cost = MoneyField()
    gpu_hours = MoneyField()

    class Meta:
        model = CostRecord
        fields = [
            header for header, _ in CSV_COLUMNS if header not in ("currency", "batch", "team")
        ] + ["team", "currency", "batch"]
        read_only_fields = fields


class CSVRenderer(renderers.BaseRenderer):
    """text/csv. Lists are streamed by the view; this renders the rest (one record, or an
    error, which the view turns into JSON anyway)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        rows = data if isinstance(data, list) else [data]
        rows = [r for r in rows if isinstance(r, dict)]
        if not rows:
            return b""
        header = list(rows[0])
        lines = [header, *([r.get(h) for h in header] for r in rows)]
        return "".join(_csv_line(_cell(v) for v in line) for line in lines).encode()


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_line(values: Any) -> str:
    return str(csv.writer(_Echo()).writerow(list(values)))


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, str):
        return csv_safe(value)  # text never runs as a spreadsheet formula
    return value


def csv_stream(qs: QuerySet[CostRecord]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([header for header, _ in CSV_COLUMNS])
    paths = [path for _, path in CSV_COLUMNS]
    for row in qs.values_list(*paths).iterator(chunk_size=2000):
        yield writer.writerow([_cell(v) for v in row])


class RecordPagination(pagination.CursorPagination):
    ordering = ("-day", "-id")

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        """DRF checks the cursor's offset but not its position: a forged `p=abc` would reach the
        day filter and fail there (a 500). Any position that is not a day is an invalid cursor."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                date.fromisoformat(str(cursor.position))
            except ValueError:
                raise NotFound(self.invalid_cursor_message) from None
        return cursor

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class RecordViewSet(viewsets.ReadOnlyModelViewSet[CostRecord]):
    """Billing lines of your teams (FinOps admins: all, including unallocated ones), newest
    day first. `?format=csv` or `Accept: text/csv` streams every matching line as CSV."""

    serializer_class = RecordSerializer
    pagination_class = RecordPagination
    renderer_classes = [renderers.JSONRenderer, renderers.BrowsableAPIRenderer, CSVRenderer]

    def get_queryset(self) -> QuerySet[CostRecord]:
        return visible(CostRecord.objects.select_related("team"), self.request.user)

    def filtered(self, params: dict[str, Any]) -> QuerySet[CostRecord]:
        qs = self.get_queryset()
        if params.get("team"):
            qs = qs.filter(team__slug__in=params["team"])
        if params.get("unallocated"):
            qs = qs.filter(team__isnull=True)
        if params.get("start"):
            qs = qs.filter(day__gte=params["start"])
        if params.get("end"):
            qs = qs.filter(day__lt=params["end"] + timedelta(days=1))
        if params.get("provider"):
            qs = qs.filter(provider__in=[p.lower() for p in params["provider"]])
        if params.get("model"):
            match = Q()
            for m in params["model"]:
                match |= Q(model__iexact=m)
            qs = qs.filter(match)
        if params.get("application"):
            qs = qs.filter(application_key__in=params["application"])
        return qs

    @extend_schema(
        parameters=[
            RecordFilterSerializer,
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                enum=["json", "csv"],
                description="csv: stream every matching line (no pagination)",
            ),
        ],
    )
    def list(  # type: ignore[override]  # a CSV download is a streaming response
        self, request: Request, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        params = RecordFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        qs = self.filtered(params.validated_data)
        if getattr(request.accepted_renderer, "format", None) == "csv":
            data = params.validated_data
            name = "records"
            if data.get("start") or data.get("end"):
                name += f"-{data.get('start') or 'first'}-{data.get('end') or 'last'}"
            response = StreamingHttpResponse(
                csv_stream(qs.order_by("day", "id")), content_type="text/csv; charset=utf-8"
            )
            response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
            return response
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(RecordSerializer(page, many=True).data)

    def finalize_response(
        self, request: Request, response: Any, *args: Any, **kwargs: Any
    ) -> Response:
        # Errors are JSON whatever the client accepted: a CSV "detail" column helps nobody.
        if (
            isinstance(response, Response)
            and response.status_code >= 400
            and getattr(getattr(request, "accepted_renderer", None), "format", None) == "csv"
        ):
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)
