"""What-if: what the same tokens would have cost on another model, at the catalog prices
in force on each day."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from metrics.economics.pricing.catalog import PriceBook, usage_cost

# Daily usage grouping for what-if estimates and recommendations (DailyCost columns).
USAGE_BY = ("team_id", "provider", "model", "application_key", "currency", "day")


@dataclass
class WhatIf:
    """The same tokens priced on another model (catalog prices in force on each day)."""

    provider: str
    model_from: str
    model_to: str
    currency: str
    start: date
    end: date
    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    model_requests: int = 0
    current_cost: Decimal = Decimal(0)  # what the ledger says these tokens cost
    list_cost_from: Decimal = Decimal(0)  # catalog price of model_from
    list_cost_to: Decimal = Decimal(0)  # catalog price of model_to
    days_priced: int = 0
    days_skipped: int = 0  # no price in force for one of the models that day
    other_currencies: set[str] = field(default_factory=set)  # usage not in `currency`

    @property
    def saving(self) -> Decimal:
        return self.current_cost - self.list_cost_to

    @property
    def saving_pct(self) -> float | None:
        return float(self.saving / self.current_cost) if self.current_cost else None

    def as_evidence(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "model_from": self.model_from,
            "model_to": self.model_to,
            "currency": self.currency,
            "period": [self.start.isoformat(), self.end.isoformat()],
            "input_tokens": self.input_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "output_tokens": self.output_tokens,
            "model_requests": self.model_requests,
            "current_cost": str(self.current_cost.quantize(Decimal("0.01"))),
            "list_cost_from": str(self.list_cost_from.quantize(Decimal("0.01"))),
            "list_cost_to": str(self.list_cost_to.quantize(Decimal("0.01"))),
            "saving": str(self.saving.quantize(Decimal("0.01"))),
            "saving_pct": round(self.saving_pct * 100, 1) if self.saving_pct is not None else None,
            "days_priced": self.days_priced,
            "days_skipped": self.days_skipped,
            "other_currencies": sorted(self.other_currencies),
        }


def what_if_rows(
    rows: Iterable[dict[str, Any]],
    *,
    provider: str,
    model_from: str,
    model_to: str,
    start: date,
    end: date,
    prices: PriceBook | None = None,
    currency: str = "USD",
) -> WhatIf:
    """What-if over daily usage rows (dicts with day, currency, effective_cost and the token
    columns, as `queries.usage_frame` gives them). Rows of other currencies are skipped."""
    book = prices or PriceBook.load([provider])
    result = WhatIf(provider, model_from, model_to, currency, start, end)
    by_day: dict[date, dict[str, Any]] = {}
    for r in rows:
        if r["currency"] != currency:
            result.other_currencies.add(r["currency"])
            continue
        bucket = by_day.setdefault(
            r["day"],
            {
                "input_tokens": 0,
                "cached_input_tokens": 0,
                "cache_write_tokens": 0,
                "output_tokens": 0,
                "model_requests": 0,
                "effective_cost": Decimal(0),
            },
        )
        for k in bucket:
            bucket[k] += r[k] if k != "effective_cost" else Decimal(r[k] or 0)
    for day, t in sorted(by_day.items()):
        p_from = book.price(provider, model_from, day)
        p_to = book.price(provider, model_to, day)
        if (
            p_from is None
            or p_to is None
            or p_from.currency != currency
            or p_to.currency != currency
        ):
            result.days_skipped += 1
            continue
        tokens = (
            t["input_tokens"],
            t["cached_input_tokens"],
            t["cache_write_tokens"],
            t["output_tokens"],
        )
        result.days_priced += 1
        result.input_tokens += t["input_tokens"]
        result.cached_input_tokens += t["cached_input_tokens"]
        result.cache_write_tokens += t["cache_write_tokens"]
        result.output_tokens += t["output_tokens"]
        result.model_requests += t["model_requests"]
        result.current_cost += t["effective_cost"]
        result.list_cost_from += usage_cost(p_from, *tokens)
        result.list_cost_to += usage_cost(p_to, *tokens)
    return result


def what_if(
    *,
    model_from: str,
    model_to: str,
    start: date,
    end: date,
    team_ids: Sequence[int] | None = None,
    provider: str,
    application_key: str | None = None,
    currency: str = "USD",
) -> WhatIf:
    """What the usage of `model_from` (teams, period [start, end), optionally one
    application) would have cost on `model_to`, from the daily rollups.

    Saving = the ledger's cost of that usage - its cost at `model_to`'s catalog prices.
    """
    from metrics.queries import usage_frame

    book = PriceBook.load([provider])
    key = book.model_key(provider, model_from) or model_from
    frame = usage_frame(start=start, end=end, team_ids=team_ids, providers=(provider,), by=USAGE_BY)
    records: list[dict[str, Any]] = frame.to_dict("records")  # type: ignore[assignment]
    rows = [
        r
        for r in records
        if book.model_key(provider, r["model"]) == key
        and (application_key is None or r["application_key"] == application_key)
    ]
    return what_if_rows(
        rows,
        provider=provider,
        model_from=key,
        model_to=book.model_key(provider, model_to) or model_to,
        start=start,
        end=end,
        prices=book,
        currency=currency,
    )
