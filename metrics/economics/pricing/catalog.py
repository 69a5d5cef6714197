"""The price catalog in memory: which catalog row prices a provider's model on a day, the
exact cost of tokens at that price, and GPU-hour rates for self-hosted models."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from metrics.ledger.providers import catalog_provider
from metrics.models import GpuRate, ModelPrice

CATALOG = "catalog"
MTOK = Decimal(1_000_000)
# A catalog name prefixes a ledger model name only at one of these separators, so "gpt-4"
# never prices "gpt-4.1-mini" and "o3" never prices "o3x".
SEPARATORS = ("-", "@", ":", "/", "_")
# GpuRate names tried for a record, most specific first; "default" applies to any record.
DEFAULT_GPU_RATE = "default"


def prefix_match(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate equal to `name`, else the longest one that prefixes it at a separator.
    Case-insensitive; returns the candidate as given."""
    lowered = name.strip().lower()
    best: str | None = None
    for candidate in candidates:
        c = candidate.lower()
        if c == lowered:
            return candidate
        if (
            lowered.startswith(c)
            and lowered[len(c)] in SEPARATORS
            and (best is None or len(c) > len(best))
        ):
            best = candidate
    return best


@dataclass
class PriceBook:
    """Catalog rows in memory: prices many records with one query."""

    rows: dict[tuple[str, str], list[ModelPrice]] = field(default_factory=dict)

    @classmethod
    def load(cls, providers: Iterable[str] | None = None) -> PriceBook:
        qs = ModelPrice.objects.order_by("effective_date")
        if providers is not None:
            qs = qs.filter(provider__in={catalog_provider(p) for p in providers})
        book = cls()
        for price in qs:
            book.rows.setdefault((price.provider.lower(), price.model.lower()), []).append(price)
        return book

    def models(self, provider: str) -> list[str]:
        key = catalog_provider(provider)
        return [m for (p, m) in self.rows if p == key]

    def model_key(self, provider: str, model: str) -> str | None:
        """The catalog model name that prices `model` (exact, then longest prefix)."""
        if not model:
            return None
        return prefix_match(model, self.models(provider))

    def price(self, provider: str, model: str, day: date) -> ModelPrice | None:
        key = self.model_key(provider, model)
        if key is None:
            return None
        in_force = None
        for row in self.rows[(catalog_provider(provider), key)]:
            if row.effective_date > day:
                break
            in_force = row
        return in_force

    def latest(self, provider: str, model: str) -> ModelPrice | None:
        key = self.model_key(provider, model)
        return self.rows[(catalog_provider(provider), key)][-1] if key else None


def price_for(provider: str, model: str, day: date) -> ModelPrice | None:
    """The catalog row in force on `day` for this provider's model, or None."""
    return PriceBook.load([provider]).price(provider, model, day)


def usage_cost(
    price: ModelPrice,
    input_tokens: int,
    cached_input_tokens: int = 0,
    cache_write_tokens: int = 0,
    output_tokens: int = 0,
    *,
    batch: bool = False,
) -> Decimal:
    """Exact cost of one usage line at `price`, the way providers bill it.

    `input_tokens` are the uncached prompt tokens (the ledger stores the three input parts
    apart). Cached input is billed at the cached rate, cache writes at the cache-write rate
    (plain input rate where the provider charges none, e.g. OpenAI's automatic caching), and
    reasoning tokens are output tokens (providers report them inside output_tokens).
    Batch: input and output at the batch rates; cached and cache-write rates get the same
    discount as input (the batch discount stacks with caching at OpenAI and Anthropic).
    A model without batch rates is billed at its standard rates.
    """
    input_rate = price.input_per_mtok
    output_rate = price.output_per_mtok
    cached_rate = (
        price.cached_input_per_mtok if price.cached_input_per_mtok is not None else input_rate
    )
    write_rate = (
        price.cache_write_per_mtok if price.cache_write_per_mtok is not None else input_rate
    )
    if batch:
        if price.batch_input_per_mtok is not None:
            if input_rate:
                factor = price.batch_input_per_mtok / input_rate
                cached_rate *= factor
                write_rate *= factor
            input_rate = price.batch_input_per_mtok
        if price.batch_output_per_mtok is not None:
            output_rate = price.batch_output_per_mtok
    total = (
        Decimal(input_tokens) * input_rate
        + Decimal(cached_input_tokens) * cached_rate
        + Decimal(cache_write_tokens) * write_rate
        + Decimal(output_tokens) * output_rate
    )
    return total / MTOK


# --- GPU rates -----------------------------------------------------------------------------


@dataclass
class GpuRateBook:
    rows: dict[str, list[GpuRate]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> GpuRateBook:
        book = cls()
        for rate in GpuRate.objects.order_by("effective_date"):
            book.rows.setdefault(rate.name.lower(), []).append(rate)
        return book

    def rate(self, names: Sequence[str], day: date) -> GpuRate | None:
        """The rate in force on `day` under the first of `names` that has one, else under
        "default". Names are cluster (billing account), SKU or model names."""
        for name in [*names, DEFAULT_GPU_RATE]:
            in_force = None
            for row in self.rows.get(name.lower(), []) if name else []:
                if row.effective_date > day:
                    break
                in_force = row
            if in_force is not None:
                return in_force
        return None
