"""Anthropic Admin API usage and cost reports (admin key in `x-api-key`, `anthropic-version`).

Daily buckets: usage grouped by workspace, API key, model and service tier; costs by
workspace and description (which names the model and token type).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from metrics.ledger.connectors.http import Params, ProviderClient

SOURCE = "anthropic"
KEY_SETTING = "ANTHROPIC_ADMIN_KEY"
API_VERSION = "2023-06-01"
MAX_DAILY_BUCKETS = 31  # the API's limit for bucket_width=1d


def client(**options: Any) -> ProviderClient:
    return ProviderClient(
        settings.ANTHROPIC_API_BASE_URL,
        {"x-api-key": settings.ANTHROPIC_ADMIN_KEY, "anthropic-version": API_VERSION},
        **options,
    )


def pull_anthropic(
    start: datetime, end: datetime, *, api: ProviderClient | None = None
) -> list[bytes]:
    """Every page of the messages usage report and the cost report for [start, end)."""
    api = api or client()
    window = [
        ("starting_at", start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("ending_at", end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("bucket_width", "1d"),
        ("limit", str(MAX_DAILY_BUCKETS)),
    ]
    usage_groups = ["workspace_id", "api_key_id", "model", "service_tier"]
    requests: list[tuple[str, Params]] = [
        (
            "organizations/usage_report/messages",
            [*window, *(("group_by[]", g) for g in usage_groups)],
        ),
        (
            "organizations/cost_report",
            [*window, ("group_by[]", "workspace_id"), ("group_by[]", "description")],
        ),
    ]
    return [page for path, params in requests for page in api.pages(path, params)]
