"""Anthropic Admin API reports (JSON): the messages usage report and the cost report.

Shapes: a saved page (`{"data": [buckets], "has_more", "next_page"}`), a list of pages (what
our connector stores for one pull) or a bare list of buckets. Buckets carry RFC 3339
`starting_at` / `ending_at` and `results`; each result is one ledger record.

- Usage (`/v1/organizations/usage_report/messages`): tokens, no money (billed and effective
  cost "0", priced later from the price catalog). Anthropic already reports the input parts
  apart: input_tokens = uncached_input_tokens, cached_input_tokens = cache_read_input_tokens,
  cache_write_tokens = cache_creation.ephemeral_5m_input_tokens + ephemeral_1h_input_tokens.
  The report has no request count, so model_requests stays 0 (cost per inference needs
  another source for Anthropic).
- Cost (`/v1/organizations/cost_report`): `amount` is a decimal STRING in the currency's
  lowest unit (cents for USD): "123.45" is $1.2345. It is converted with Decimal.scaleb, which
  is exact, so no float ever touches the money.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from metrics.ledger.sources.base import AI_SERVICE_CATEGORY, IngestError, currency_code
from metrics.ledger.sources.json_toolkit import (
    ResultItem,
    decimal_value,
    frames,
    int_value,
    is_json_text,
    iso_time,
    iter_results,
    load_json,
    raw_json,
    text_value,
)

NAME = "anthropic"
# The usage report and the cost report are separate exports (see metrics.ledger.sources.openai).
REPLACE_SCOPE = "sku_meter"

# Digits of the lowest currency unit; the API documents USD (cents) only.
MINOR_UNIT_DIGITS = {"JPY": 0, "KRW": 0}
USAGE_FIELDS = ("uncached_input_tokens", "cache_read_input_tokens", "output_tokens")


def sniff(path: Path, head: str) -> bool:
    return (
        is_json_text(head)
        and '"starting_at"' in head
        and ('"uncached_input_tokens"' in head or '"cost_type"' in head or '"amount"' in head)
    )


def parse(path: Path) -> Iterator[pd.DataFrame]:
    file = str(path)
    items = iter_results(load_json(path), file=file, start_key="starting_at", end_key="ending_at")
    yield from frames((_row(item, file=file) for item in items), file=file)


def _row(item: ResultItem, *, file: str) -> dict[str, Any]:
    result, line = item.result, item.line
    workspace_id = text_value(result, "workspace_id")
    api_key_id = text_value(result, "api_key_id")
    row: dict[str, Any] = {
        "source_line": line,
        "charge_period_start": iso_time(
            item.bucket_start, file=file, line=line, field="starting_at"
        ),
        "charge_period_end": iso_time(item.bucket_end, file=file, line=line, field="ending_at"),
        "billing_account_id": text_value(result, "organization_id") or "anthropic",
        "billing_account_name": "Anthropic organization",
        "billing_account_type": "Organization",
        # Null workspace_id is the organization's default workspace.
        "sub_account_id": workspace_id,
        "sub_account_name": workspace_id or "Default workspace",
        "sub_account_type": "Workspace",
        "charge_category": "Usage",
        "charge_frequency": "Usage-Based",
        # Priority Tier is capacity bought ahead: FOCUS calls that committed pricing.
        "pricing_category": (
            "Committed" if text_value(result, "service_tier") == "priority" else "Standard"
        ),
        "provider": "anthropic",
        "provider_name": "Anthropic",
        "publisher_name": "Anthropic",
        "invoice_issuer_name": "Anthropic",
        "service_name": "Claude API",
        "service_category": AI_SERVICE_CATEGORY,
        "service_subcategory": "Generative AI",
        "model": text_value(result, "model"),
        "resource_id": api_key_id,
        "resource_type": "API key" if api_key_id else "",
        "application_key": workspace_id or api_key_id,
        "raw": raw_json(result, starting_at=item.bucket_start, ending_at=item.bucket_end),
    }
    if "amount" in result:
        row.update(_cost_fields(result, file=file, line=line))
    elif any(f in result for f in USAGE_FIELDS):
        row.update(_usage_fields(result, file=file, line=line))
    else:
        raise IngestError(
            file,
            line,
            item.path,
            "neither a usage result (uncached_input_tokens, ...) nor a cost result (amount)",
        )
    return row


def _usage_fields(result: dict[str, Any], *, file: str, line: int) -> dict[str, Any]:
    cache_creation = result.get("cache_creation") or {}
    if not isinstance(cache_creation, dict):
        raise IngestError(file, line, "cache_creation", "expected an object")
    cache_write = int_value(
        cache_creation,
        "ephemeral_5m_input_tokens",
        file=file,
        line=line,
        field="cache_creation.ephemeral_5m_input_tokens",
    ) + int_value(
        cache_creation,
        "ephemeral_1h_input_tokens",
        file=file,
        line=line,
        field="cache_creation.ephemeral_1h_input_tokens",
    )
    uncached = int_value(result, "uncached_input_tokens", file=file, line=line)
    cached = int_value(result, "cache_read_input_tokens", file=file, line=line)
    output = int_value(result, "output_tokens", file=file, line=line)
    tools = result.get("server_tool_use") or {}
    searches = (
        int_value(
            tools,
            "web_search_requests",
            file=file,
            line=line,
            field="server_tool_use.web_search_requests",
        )
        if isinstance(tools, dict)
        else 0
    )
    tier = text_value(result, "service_tier") or "unknown tier"
    extra = f", {searches} web searches" if searches else ""
    total = uncached + cached + cache_write + output
    return {
        "billed_cost": "0",
        "effective_cost": "0",
        "billing_currency": "USD",
        "charge_description": (
            f"Unpriced usage (messages, {tier}{extra}): Anthropic's usage report has no cost; "
            "priced later from the price catalog"
        ),
        "input_tokens": uncached,
        "cached_input_tokens": cached,
        "cache_write_tokens": cache_write,
        "output_tokens": output,
        "pricing_quantity": str(total) if total else None,
        "pricing_unit": "Tokens" if total else "",
        "consumed_quantity": str(total) if total else None,
        "consumed_unit": "Tokens" if total else "",
        "sku_meter": "usage_report/messages",
    }


def _cost_fields(result: dict[str, Any], *, file: str, line: int) -> dict[str, Any]:
    # The cost report has been USD only; a missing currency is taken as USD.
    currency = text_value(result, "currency").strip() or "USD"
    currency = currency_code(currency, file=file, line=line, column="currency").upper()
    lowest_units = decimal_value(result.get("amount"), file=file, line=line, field="amount")
    amount = format(lowest_units.scaleb(-MINOR_UNIT_DIGITS.get(currency, 2)), "f")
    cost_type = text_value(result, "cost_type")
    description = text_value(result, "description")
    return {
        "billed_cost": amount,
        "effective_cost": amount,
        "billing_currency": currency,
        "charge_description": description or f"Claude API {cost_type or 'usage'}",
        "sku_id": description,
        "sku_meter": "cost_report",
    }
