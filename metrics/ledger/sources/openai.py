"""OpenAI organization Usage API and Costs API pages (JSON).

Accepted shapes: a saved page (`{"object": "page", "data": [buckets], "has_more", "next_page"}`),
a bare array of buckets (what the OpenAI cookbook prints), or a JSON list of pages (what our
connector stores for one pull). Each bucket is `{"start_time", "end_time", "results": [...]}`
with unix-second times; each result is one ledger record:

- `organization.usage.<endpoint>.result` (completions, embeddings, moderations, images,
  audio_speeches, audio_transcriptions, ...): tokens and requests, no money. Billed and
  effective cost are "0" and the description says the row is unpriced usage; pricing comes
  later from a price catalog.
- `organization.costs.result`: the money (`amount.value` in `amount.currency`), per project and
  line item, no tokens.

Tokens: OpenAI documents `input_tokens` as the total input *including* cached tokens (and, in
newer API versions, cache-write tokens, reported as `input_cache_write_tokens`). The ledger
stores the three parts apart so they can be summed without double counting:
input_tokens = input_tokens - input_cached_tokens - input_cache_write_tokens,
cached_input_tokens = input_cached_tokens, cache_write_tokens = input_cache_write_tokens.
Token density (input + cached input + output) / output then counts every input token once.
Audio token fields are kept in `raw` only: OpenAI's definitions disagree between API versions
on whether `input_tokens` already contains them, so adding them could double count.

The helpers at the bottom (JSON loading, exact numbers, frames) are shared with the other
JSON parsers (anthropic, opencost).
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

from metrics.ledger.sources.base import AI_SERVICE_CATEGORY, IngestError, finish_frame
from metrics.ledger.sources.limits import NESTED_JSON, read_json_bytes

NAME = "openai"
CHUNK_ROWS = 50_000
# Each endpoint is its own export: a newer costs page must not replace usage rows of the same
# days, nor completions replace embeddings. Rows carry the endpoint in this column
# ("costs", "usage/completions", ...); ingest replaces older rows only within one value.
REPLACE_SCOPE = "sku_meter"

USAGE_PREFIX = "organization.usage."
COSTS_OBJECT = "organization.costs.result"

# Usage endpoints that are priced per unit other than tokens: result field -> pricing unit.
QUANTITY_FIELDS = {
    "images": "Images",
    "characters": "Characters",
    "seconds": "Seconds",
    "usage_bytes": "Bytes",
    "num_sessions": "Sessions",
}


def sniff(path: Path, head: str) -> bool:
    return is_json_text(head) and (f'"{USAGE_PREFIX}' in head or f'"{COSTS_OBJECT}"' in head)


def parse(path: Path) -> Iterator[pd.DataFrame]:
    file = str(path)
    doc = load_json(path)
    rows: list[dict[str, Any]] = []
    for item in iter_results(doc, file=file, start_key="start_time", end_key="end_time"):
        rows.append(_row(item, file=file))
        if len(rows) >= CHUNK_ROWS:
            yield rows_to_frame(rows, file=file)
            rows = []
    if rows:
        yield rows_to_frame(rows, file=file)


def _row(item: ResultItem, *, file: str) -> dict[str, Any]:
    result, line = item.result, item.line
    obj = text_value(result, "object")
    start = unix_time(item.bucket_start, file=file, line=line, field="start_time")
    end = unix_time(item.bucket_end, file=file, line=line, field="end_time")
    project_id = text_value(result, "project_id")
    api_key_id = text_value(result, "api_key_id")
    row: dict[str, Any] = {
        "source_line": line,
        "charge_period_start": start,
        "charge_period_end": end,
        "billing_account_id": text_value(result, "organization_id") or "openai",
        "billing_account_name": text_value(result, "organization_name") or "OpenAI organization",
        "billing_account_type": "Organization",
        "sub_account_id": project_id,
        "sub_account_name": text_value(result, "project_name") or project_id,
        "sub_account_type": "Project" if project_id else "",
        "charge_category": "Usage",
        "charge_frequency": "Usage-Based",
        "pricing_category": "Standard",
        "provider": "openai",
        "provider_name": "OpenAI",
        "publisher_name": "OpenAI",
        "invoice_issuer_name": "OpenAI",
        "service_name": "OpenAI API",
        "service_category": AI_SERVICE_CATEGORY,
        "service_subcategory": "Generative AI",
        "resource_id": api_key_id,
        "resource_type": "API key" if api_key_id else "",
        "application_key": project_id or api_key_id,
        "raw": raw_json(result, start_time=item.bucket_start, end_time=item.bucket_end),
    }
    if obj == COSTS_OBJECT:
        row.update(_cost_fields(result, file=file, line=line))
    elif obj.startswith(USAGE_PREFIX):
        row.update(_usage_fields(result, obj, file=file, line=line))
    else:
        raise IngestError(
            file,
            line,
            "object",
            f"{obj or None!r} is neither an {USAGE_PREFIX}*.result nor an {COSTS_OBJECT}",
        )
    return row


def _usage_fields(result: dict[str, Any], obj: str, *, file: str, line: int) -> dict[str, Any]:
    endpoint = obj.removeprefix(USAGE_PREFIX).removesuffix(".result")
    total_input = int_value(result, "input_tokens", file=file, line=line)
    cached = int_value(result, "input_cached_tokens", file=file, line=line)
    cache_write = int_value(result, "input_cache_write_tokens", file=file, line=line)
    if cached + cache_write > total_input:
        raise IngestError(
            file,
            line,
            "input_cached_tokens",
            f"cached ({cached}) plus cache-write ({cache_write}) tokens exceed input_tokens "
            f"({total_input}), which includes them",
        )
    output = int_value(result, "output_tokens", file=file, line=line)
    fields: dict[str, Any] = {
        "billed_cost": "0",
        "effective_cost": "0",
        "billing_currency": "USD",
        "charge_description": (
            f"Unpriced usage ({endpoint}): OpenAI's usage API reports no cost; priced later "
            "from the price catalog"
        ),
        "model": text_value(result, "model"),
        "input_tokens": total_input - cached - cache_write,
        "cached_input_tokens": cached,
        "cache_write_tokens": cache_write,
        "output_tokens": output,
        "model_requests": int_value(result, "num_model_requests", file=file, line=line),
        "sku_meter": f"usage/{endpoint}",
    }
    unit_field = next((f for f in QUANTITY_FIELDS if result.get(f) is not None), None)
    if unit_field:
        quantity = money_text(result[unit_field], file=file, line=line, field=unit_field)
        unit = QUANTITY_FIELDS[unit_field]
    elif total_input or output:
        quantity, unit = str(total_input + output), "Tokens"
    else:
        quantity, unit = None, ""
    fields.update(
        pricing_quantity=quantity,
        pricing_unit=unit,
        consumed_quantity=quantity,
        consumed_unit=unit,
    )
    return fields


def _cost_fields(result: dict[str, Any], *, file: str, line: int) -> dict[str, Any]:
    amount = result.get("amount")
    if not isinstance(amount, dict):
        raise IngestError(file, line, "amount", "expected an object {value, currency}")
    value = money_text(amount.get("value"), file=file, line=line, field="amount.value")
    currency = text_value(amount, "currency").upper()
    if not currency:
        raise IngestError(file, line, "amount.currency", "a currency is required")
    line_item = text_value(result, "line_item")
    # Line items read like "gpt-4o-2024-08-06, input" or "ft-gpt-4o-mini..., training".
    model = line_item.rsplit(", ", 1)[0] if ", " in line_item else ""
    return {
        "billed_cost": value,
        "effective_cost": value,
        "billing_currency": currency,
        "charge_description": line_item or "OpenAI API usage",
        "model": model,
        "sku_id": line_item,
        "sku_meter": "costs",
    }


# --- Helpers shared by the JSON parsers ---------------------------------------------------


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
