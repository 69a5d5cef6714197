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

JSON loading, exact numbers and frames come from the JSON toolkit (json_toolkit.py), shared
with the other JSON parsers (anthropic, opencost).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from metrics.ledger.sources.base import AI_SERVICE_CATEGORY, IngestError, currency_code
from metrics.ledger.sources.json_toolkit import (
    ResultItem,
    frames,
    int_value,
    is_json_text,
    iter_results,
    load_json,
    money_text,
    raw_json,
    text_value,
    unix_time,
)

NAME = "openai"
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
    items = iter_results(load_json(path), file=file, start_key="start_time", end_key="end_time")
    yield from frames((_row(item, file=file) for item in items), file=file)


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
    currency = currency_code(
        text_value(amount, "currency"), file=file, line=line, column="amount.currency"
    ).upper()
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
