"""Pulls from the providers' admin APIs (OpenAI, Anthropic), run by Celery beat.

Each connector returns the raw pages it received. One pull is stored as ONE import: the pages
joined into a JSON list (`bundle`), which the openai/anthropic parsers read like a single page.
One import per pull matters because ingest replaces older rows of the same billing account and
days: importing the costs page and the usage page of the same days as two imports would let
the second replace the first. Pulling the same finished days again gives the same bytes, so the
import's SHA-256 makes a repeated pull a no-op.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta


def bundle(pages: Sequence[bytes]) -> bytes:
    """The pages, byte for byte, as one JSON list of pages."""
    return b"[" + b",\n".join(page.strip() for page in pages) + b"]\n"


def count_results(pages: Sequence[bytes]) -> int:
    """Result rows across all buckets of all pages (0: nothing to import)."""
    total = 0
    for page in pages:
        for bucket in json.loads(page).get("data") or []:
            total += len(bucket.get("results") or [])
    return total


def day_window(
    start: str | date | None = None, end: str | date | None = None
) -> tuple[datetime, datetime]:
    """[start 00:00 UTC, end 00:00 UTC): ISO dates, end exclusive.

    Without arguments: yesterday and today (today's buckets are partial and are pulled again
    by the next run; yesterday's are final by then)."""
    today = datetime.now(UTC).date()
    first = date.fromisoformat(start) if isinstance(start, str) and start else start
    last = date.fromisoformat(end) if isinstance(end, str) and end else end
    first = first or today - timedelta(days=1)
    last = last or today + timedelta(days=1)
    if last <= first:
        raise ValueError(f"the window is empty: end {last} is not after start {first}")
    return (
        datetime.combine(first, datetime.min.time(), tzinfo=UTC),
        datetime.combine(last, datetime.min.time(), tzinfo=UTC),
    )
