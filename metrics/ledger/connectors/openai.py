"""OpenAI organization Costs and Usage APIs (admin key, `Authorization: Bearer`).

Daily buckets, grouped so that every row maps to a project (allocation) and a model (unit
economics): usage by project_id + model, costs by project_id + line_item.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings

from metrics.ledger.connectors.http import Params, ProviderClient

SOURCE = "openai"
KEY_SETTING = "OPENAI_ADMIN_KEY"
USAGE_ENDPOINTS = (
    "completions",
    "embeddings",
    "moderations",
    "images",
    "audio_speeches",
    "audio_transcriptions",
)
MAX_DAILY_BUCKETS = 31  # the API's limit for bucket_width=1d


def client(**options: Any) -> ProviderClient:
    return ProviderClient(
        settings.OPENAI_API_BASE_URL,
        {"Authorization": f"Bearer {settings.OPENAI_ADMIN_KEY}"},
        **options,
    )


def requests_for(start: datetime, end: datetime) -> list[tuple[str, str, Params]]:
    """(export kind, path, params) of each endpoint pulled for [start, end): the costs and
    every usage endpoint. Each kind is imported on its own (the parser's REPLACE_SCOPE keeps
    kinds apart), so one failing endpoint does not discard the others."""
    window: list[tuple[str, str]] = [
        ("start_time", str(int(start.timestamp()))),
        ("end_time", str(int(end.timestamp()))),
        ("bucket_width", "1d"),
        ("limit", str(MAX_DAILY_BUCKETS)),
    ]
    out: list[tuple[str, str, Params]] = [
        (
            "costs",
            "organization/costs",
            [*window, ("group_by", "project_id"), ("group_by", "line_item")],
        )
    ]
    out += [
        (
            f"usage/{endpoint}",
            f"organization/usage/{endpoint}",
            [*window, ("group_by", "project_id"), ("group_by", "model")],
        )
        for endpoint in USAGE_ENDPOINTS
    ]
    return out


def pull_openai(
    start: datetime, end: datetime, *, api: ProviderClient | None = None
) -> list[bytes]:
    """Every page of the costs and usage endpoints for [start, end), as received."""
    api = api or client()
    return [
        page for _kind, path, params in requests_for(start, end) for page in api.pages(path, params)
    ]


def pull_openai_parts(
    start: datetime, end: datetime, *, api: ProviderClient | None = None
) -> list[tuple[str, Callable[[], list[bytes]]]]:
    """One (export kind, pull) per endpoint: each pull fetches that endpoint's pages."""
    api = api or client()

    def pull(path: str, params: Params) -> Callable[[], list[bytes]]:
        return lambda: list(api.pages(path, params))

    return [(kind, pull(path, params)) for kind, path, params in requests_for(start, end)]
