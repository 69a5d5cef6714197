"""The JSON toolkit shared by the JSON parsers (openai, anthropic, opencost).

Loading a document within the size limits (numbers with a fraction become Decimal, never
float), walking the buckets of a usage/cost page, exact numbers and times with errors naming
file, position and field, and turning rows into a ledger frame.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd

from metrics.ledger.sources.base import IngestError, finish_frame
from metrics.ledger.sources.limits import NESTED_JSON, read_json_bytes

CHUNK_ROWS = 50_000  # rows per normalized frame


@dataclass(frozen=True)
class ResultItem:
    line: int  # 1-based position of the result, counted across buckets and pages
    path: str  # where it sits in the document, e.g. "[1].data[3].results[0]"
    bucket_start: Any
    bucket_end: Any
    result: dict[str, Any]


def is_json_text(head: str) -> bool:
    return head.lstrip()[:1] in ("{", "[")


def load_json(path: Path) -> Any:
    """The whole document; numbers with a fraction become Decimal (exact text, never float)."""
    file = str(path)
    data = read_json_bytes(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(file, 0, "-", f"not UTF-8 text: {exc}") from exc
    if not text.strip():
        raise IngestError(file, 0, "-", "the file is empty")
    if "\\u0000" in text:
        raise IngestError(file, 0, "-", "a NUL character (\\u0000) in a JSON string")
    try:
        # NaN/Infinity are not JSON; some exporters write them for "unknown": read as null.
        return json.loads(text, parse_float=Decimal, parse_constant=lambda _: None)
    except json.JSONDecodeError as exc:
        raise IngestError(
            file, 0, "-", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        raise IngestError(file, 0, "-", f"not valid JSON: {NESTED_JSON}") from exc


def iter_results(doc: Any, *, file: str, start_key: str, end_key: str) -> Iterator[ResultItem]:
    """Results of every bucket of a page, a list of pages, or a bare list of buckets."""
    line = 0
    for path, bucket in _buckets(doc, file=file, start_key=start_key):
        results = bucket.get("results", bucket.get("result"))
        if results is None:
            raise IngestError(file, 0, f"{path}.results", "the bucket has no results array")
        if not isinstance(results, list):
            raise IngestError(file, 0, f"{path}.results", "expected an array of results")
        for i, result in enumerate(results):
            line += 1
            if not isinstance(result, dict):
                raise IngestError(file, line, f"{path}.results[{i}]", "expected an object")
            yield ResultItem(
                line=line,
                path=f"{path}.results[{i}]",
                bucket_start=bucket.get(start_key),
                bucket_end=bucket.get(end_key),
                result=result,
            )


def _buckets(doc: Any, *, file: str, start_key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    def is_page(obj: Any) -> bool:
        return isinstance(obj, dict) and "data" in obj

    if is_page(doc):
        pages: list[tuple[str, Any]] = [("data", doc)]
    elif isinstance(doc, list) and doc and all(is_page(p) for p in doc):
        pages = [(f"[{i}].data", p) for i, p in enumerate(doc)]
    elif isinstance(doc, list):
        pages = [("", {"data": doc})]
    else:
        raise IngestError(
            file,
            0,
            "-",
            "expected a page {data: [buckets], has_more, next_page}, a list of pages or a "
            f"list of buckets; found a JSON {type(doc).__name__}",
        )
    for prefix, page in pages:
        data = page["data"]
        if not isinstance(data, list):
            raise IngestError(file, 0, prefix or "data", "expected an array of buckets")
        for i, bucket in enumerate(data):
            path = f"{prefix}[{i}]"
            if not isinstance(bucket, dict) or start_key not in bucket:
                raise IngestError(
                    file, 0, path, f"expected a bucket object with {start_key!r} and results"
                )
            yield path, bucket


def text_value(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def int_value(obj: dict[str, Any], key: str, *, file: str, line: int, field: str = "") -> int:
    """A non-negative whole number; missing or null is 0."""
    value = obj.get(key)
    if value is None:
        return 0
    whole = isinstance(value, int) and not isinstance(value, bool)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        whole, value = True, int(value)
    if not whole:
        raise IngestError(file, line, field or key, f"{value!r} is not a whole number")
    if value < 0:
        raise IngestError(file, line, field or key, f"{value!r} is negative")
    return int(value)


def decimal_value(value: Any, *, file: str, line: int, field: str) -> Decimal:
    """A JSON number (Decimal or int after load_json) or decimal text, exactly."""
    if isinstance(value, bool) or value is None:
        number = None
    elif isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            number = None
    else:
        number = None
    if number is None or not number.is_finite():
        if value is None:
            raise IngestError(file, line, field, "a value is required")
        raise IngestError(file, line, field, f"{value!r} is not a decimal number")
    return number


def money_text(value: Any, *, file: str, line: int, field: str) -> str:
    return format(decimal_value(value, file=file, line=line, field=field), "f")


def unix_time(value: Any, *, file: str, line: int, field: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise IngestError(file, line, field, f"{value!r} is not a unix time in seconds")
    return datetime.fromtimestamp(int(value), tz=UTC)


def iso_time(value: Any, *, file: str, line: int, field: str) -> datetime:
    """RFC 3339 text ("2025-08-01T00:00:00Z"); a time without offset is taken as UTC."""
    if not isinstance(value, str):
        raise IngestError(file, line, field, f"{value!r} is not an RFC 3339 date/time")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise IngestError(file, line, field, f"{value!r} is not an RFC 3339 date/time") from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _plain(value: Any) -> Any:
    # Decimal -> its exact text: raw keeps the number as published, never via float.
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def raw_json(obj: dict[str, Any], **extra: Any) -> str:
    return json.dumps({**obj, **extra}, default=_plain, separators=(",", ":"))


def month_bounds(start: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Calendar month (UTC) of each timestamp: the billing period of API usage."""
    month = start.dt.tz_localize(None).dt.to_period("M")
    return (
        month.dt.to_timestamp().dt.tz_localize("UTC"),
        (month + 1).dt.to_timestamp().dt.tz_localize("UTC"),
    )


def rows_to_frame(rows: Iterable[dict[str, Any]], *, file: str) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    for col in ("charge_period_start", "charge_period_end"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    frame["billing_period_start"], frame["billing_period_end"] = month_bounds(
        frame["charge_period_start"]
    )
    return finish_frame(frame, file=file)


def frames(rows: Iterable[dict[str, Any]], *, file: str) -> Iterator[pd.DataFrame]:
    """`rows` as normalized frames of at most CHUNK_ROWS rows each (every JSON source)."""
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK_ROWS:
            yield rows_to_frame(chunk, file=file)
            chunk = []
    if chunk:
        yield rows_to_frame(chunk, file=file)
