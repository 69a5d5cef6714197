"""The price catalog and the services that price usage which arrived without a cost.

Catalog: `metrics.ModelPrice` rows (per 1M tokens, versioned by effective date), loaded from
`metrics/data/model_prices.yaml` by `manage.py load_prices` and editable in the admin; and
`metrics.GpuRate` (cost per GPU hour) for self-hosted models.

- `price_for(provider, model, day)`: the row in force that day. Model names match exactly
  (case-insensitive), else by the longest catalog name that prefixes them at a separator
  ("gpt-4o-2024-08-06" -> "gpt-4o", "gpt-4o-mini-2024-07-18" -> "gpt-4o-mini").
- `usage_cost(...)`: exact Decimal cost of tokens, billed the way providers bill them.
- `ledger_reprice(...)` / `ledger_reprice_batch(...)`: price CostRecord rows that carry tokens
  (or GPU hours) but no money, mark them `cost_source="catalog"`, rebuild the rollups of the
  touched days. Safe to re-run: a second run changes nothing.
- `what_if(...)`: what the same tokens would have cost on another model.

Usage rows of a billing account and day that also carry the provider's own cost lines are
*not* priced: the OpenAI and Anthropic pulls bring both the usage report (tokens, no money)
and the cost report (money, no tokens) for the same organization and days; pricing the usage
too would count that money twice. A catalog-priced row whose account-day later receives cost
lines is set back to zero on the next re-pricing.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import yaml
from django.db import transaction
from django.db.models import FloatField, Q, QuerySet
from django.db.models.functions import Cast
from django.dispatch import Signal

from metrics.models import CostRecord, GpuRate, ModelPrice

logger = logging.getLogger(__name__)

CATALOG = "catalog"
MTOK = Decimal(1_000_000)
STORE_PLACES = Decimal("0.000000000001")  # ExactDecimalField keeps 12 places
DEFAULT_CATALOG = Path(__file__).resolve().parent.parent / "data" / "model_prices.yaml"
# A catalog name prefixes a ledger model name only at one of these separators, so "gpt-4"
# never prices "gpt-4.1-mini" and "o3" never prices "o3x".
SEPARATORS = ("-", "@", ":", "/", "_")
# Ledger provider keys whose models are listed in the catalog under another provider name.
PROVIDER_ALIASES = {
    "gcp": "google",
    "vertex": "google",
    "google_genai": "google",
    "gemini": "google",
    "mistralai": "mistral",
}
# Daily usage grouping for what-if estimates and recommendations (DailyCost columns).
USAGE_BY = ("team_id", "provider", "model", "application_key", "currency", "day")
# GpuRate names tried for a record, most specific first; "default" applies to any record.
DEFAULT_GPU_RATE = "default"


def catalog_provider(provider: str) -> str:
    key = provider.strip().lower()
    return PROVIDER_ALIASES.get(key, key)


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


# --- Re-pricing the ledger -----------------------------------------------------------------

TOKEN_FIELDS = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens")
REPRICE_FIELDS = [
    "id",
    "day",
    "provider",
    "model",
    "billing_account_id",
    "sku_id",
    "billing_currency",
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "gpu_hours",
    "billed_cost",
    "effective_cost",
    "cost_source",
    "pricing_category",
    "raw",
]


def _unpriced_or_catalog(qs: QuerySet[CostRecord]) -> QuerySet[CostRecord]:
    """Rows priced from the catalog, or with no money but tokens or GPU hours.

    Money columns are compared as floats: on SQLite they are decimal text ("0", "0.00").
    """
    tokens = (
        Q(input_tokens__gt=0)
        | Q(cached_input_tokens__gt=0)
        | Q(cache_write_tokens__gt=0)
        | Q(output_tokens__gt=0)
        | Q(gpu_f__gt=0)
    )
    return qs.annotate(
        billed_f=Cast("billed_cost", FloatField()),
        effective_f=Cast("effective_cost", FloatField()),
        gpu_f=Cast("gpu_hours", FloatField()),
    ).filter(Q(cost_source=CATALOG) | (Q(billed_f=0) & Q(effective_f=0) & tokens))


def may_need_pricing(table: pa.Table) -> bool:
    """Whether rows about to be imported (an Arrow chunk of the ledger's columns) include any
    that `_unpriced_or_catalog` selects: catalog-priced, or no money but tokens or GPU hours.
    Errs towards True: a value that does not read as a number counts as unpriced."""
    try:
        as_float = {
            col: pc.cast(table.column(col), pa.float64())
            for col in ("billed_cost", "effective_cost", "gpu_hours")
        }
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return True
    usage = pc.greater(as_float["gpu_hours"], 0)  # Kleene logic below, as SQL
    for col in ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens"):
        usage = pc.or_kleene(usage, pc.greater(table.column(col), 0))
    no_money = pc.and_kleene(
        pc.equal(as_float["billed_cost"], 0), pc.equal(as_float["effective_cost"], 0)
    )
    catalog = pc.equal(table.column("cost_source"), CATALOG)
    unpriced = pc.or_kleene(catalog, pc.and_kleene(no_money, usage))
    return bool(pc.any(pc.fill_null(unpriced, False)).as_py())


def _billed_account_days(keys: set[tuple[str, str, date]]) -> set[tuple[str, str, date]]:
    """Of (provider, billing account, day) keys, those with the provider's own money."""
    if not keys:
        return set()
    days = {k[2] for k in keys}
    providers = {k[0] for k in keys}
    found: set[tuple[str, str, date]] = set()
    day_list = sorted(days)
    for i in range(0, len(day_list), 500):
        rows = (
            CostRecord.objects.filter(
                day__in=day_list[i : i + 500], provider__in=providers, cost_source=""
            )
            .annotate(effective_f=Cast("effective_cost", FloatField()))
            .exclude(effective_f=0)
            .values_list("provider", "billing_account_id", "day")
            .distinct()
        )
        found.update((p, a, d) for p, a, d in rows if (p, a, d) in keys)
    return found


def _is_batch(row: dict[str, Any]) -> bool:
    """Batch usage, from the providers' own fields or conformant FOCUS signals:
    OpenAI usage grouped by `batch` (true), Anthropic `service_tier: batch`, a FOCUS row whose
    `x_ServiceTier` column or SkuPriceDetails `ServiceTier` is "batch" (the FOCUS parser keeps
    it as `service_tier` in `raw`), or (legacy, not a FOCUS value) a PricingCategory naming it."""
    if "batch" in (row.get("pricing_category") or "").lower():
        return True
    raw = row.get("raw")
    if not raw:
        return False
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return False
    if not isinstance(data, dict):
        return False
    return data.get("batch") is True or str(data.get("service_tier", "")).lower() == "batch"


@dataclass
class RepriceResult:
    changed: int = 0
    days: set[date] = field(default_factory=set)
    unpriced_models: dict[str, int] = field(default_factory=dict)


def _new_cost(
    row: dict[str, Any],
    prices: PriceBook,
    gpu_rates: GpuRateBook,
    billed: set[tuple[str, str, date]],
    missing: dict[str, int],
) -> Decimal | None:
    """The catalog cost of a record, or None when the catalog cannot price it (or must not:
    its account-day carries the provider's own money)."""
    if (row["provider"], row["billing_account_id"], row["day"]) in billed:
        return None
    hours = row["gpu_hours"] or Decimal(0)
    if hours > 0:
        # GPU hours mean a self-hosted model: its cost is the GPU time, whatever its tokens.
        rate = gpu_rates.rate([row["billing_account_id"], row["sku_id"], row["model"]], row["day"])
        if rate is None or rate.currency != row["billing_currency"]:
            missing["gpu hours"] = missing.get("gpu hours", 0) + 1
            return None
        return hours * rate.cost_per_hour
    if any(row[f] for f in TOKEN_FIELDS):
        price = prices.price(row["provider"], row["model"], row["day"])
        if price is None or price.currency != row["billing_currency"]:
            label = f"{row['provider']}/{row['model'] or '?'}"
            missing[label] = missing.get(label, 0) + 1
            return None
        return usage_cost(
            price,
            row["input_tokens"],
            row["cached_input_tokens"],
            row["cache_write_tokens"],
            row["output_tokens"],
            batch=_is_batch(row),
        )
    return None


def reprice_rows(qs: QuerySet[CostRecord], *, chunk_size: int = 20_000) -> RepriceResult:
    """Price the records of `qs` that have tokens (or GPU hours) but no money, and re-price
    those priced from the catalog before, with the prices in force on each record's day.

    Writes only CostRecord; the caller holds the ledger lock (`metrics.ledger.locks.ledger_lock`)
    inside its transaction and rebuilds the rollups of `result.days` once."""
    result = RepriceResult()
    prices = PriceBook.load()
    gpu_rates = GpuRateBook.load()
    candidates = _unpriced_or_catalog(qs).order_by("id")
    last_id = 0
    while True:
        rows = list(candidates.filter(id__gt=last_id).values(*REPRICE_FIELDS)[:chunk_size])
        if not rows:
            break
        last_id = rows[-1]["id"]
        billed = _billed_account_days(
            {(r["provider"], r["billing_account_id"], r["day"]) for r in rows}
        )
        updates: dict[tuple[Decimal, str], list[int]] = defaultdict(list)
        for row in rows:
            cost = _new_cost(row, prices, gpu_rates, billed, result.unpriced_models)
            new = (Decimal(0), "") if cost is None else (cost.quantize(STORE_PLACES), CATALOG)
            old = (row["effective_cost"], row["cost_source"])
            if new == old and row["billed_cost"] == new[0]:
                continue
            updates[new].append(row["id"])
            result.days.add(row["day"])
        for (cost, source), ids in updates.items():
            for i in range(0, len(ids), 5000):
                CostRecord.objects.filter(id__in=ids[i : i + 5000]).update(
                    billed_cost=cost,
                    effective_cost=cost,
                    list_cost=cost if source else None,
                    cost_source=source,
                )
            result.changed += len(ids)
    if result.unpriced_models:
        logger.info("no catalog price (or another currency) for: %s", result.unpriced_models)
    return result


def batch_reprice_scope(batch_id: int) -> QuerySet[CostRecord] | None:
    """What to re-price after one import: the batch's own unpriced usage, and the
    catalog-priced rows of the same providers, accounts and days (the batch may have brought
    the provider's own cost lines, which replace catalog prices). None: an empty batch."""
    keys = set(
        CostRecord.objects.filter(batch_id=batch_id)
        .values_list("provider", "billing_account_id", "day")
        .distinct()
    )
    if not keys:
        return None
    match = Q()
    by_account: dict[tuple[str, str], set[date]] = defaultdict(set)
    for provider, account, day in keys:
        by_account[(provider, account)].add(day)
    for (provider, account), days in by_account.items():
        match |= Q(provider=provider, billing_account_id=account, day__in=sorted(days))
    return CostRecord.objects.filter(Q(batch_id=batch_id) | match)


# --- Queued re-pricing when a price changes ------------------------------------------------

_batched: contextvars.ContextVar[list[date | None] | None] = contextvars.ContextVar(
    "metrics_pricing_batched", default=None
)


# Sent (once committed) when the ledger should be re-priced from `since` (None: all history);
# metrics.signals queues the Celery task. The ledger never imports a tasks module.
reprice_requested = Signal()


def queue_reprice(since: date | None) -> None:
    """Re-price from `since` (None: all history) in the background once committed; inside
    `price_changes_batched()` the changes are collected into one request instead."""
    pending = _batched.get()
    if pending is not None:
        pending.append(since)
        return
    transaction.on_commit(lambda: reprice_requested.send(sender=ModelPrice, since=since))


@contextmanager
def price_changes_batched() -> Iterator[None]:
    """Collect the re-pricing of many price changes (a catalog load) into one task."""
    pending: list[date | None] = []
    token = _batched.set(pending)
    try:
        yield
    finally:
        _batched.reset(token)
    if pending:
        queue_reprice(None if None in pending else min(d for d in pending if d is not None))


def on_price_saved(sender: type, instance: ModelPrice | GpuRate, **kwargs: Any) -> None:
    """A price was added or edited: re-price from its effective date on. An edit may have
    moved the effective date later, so an edit re-prices the whole catalog-priced history."""
    queue_reprice(instance.effective_date if kwargs.get("created") else None)


def on_price_deleted(sender: type, instance: ModelPrice | GpuRate, **kwargs: Any) -> None:
    queue_reprice(instance.effective_date)


def connect_signals() -> None:
    """Wire price changes to re-pricing. Idempotent (dispatch uids); call from
    MetricsConfig.ready()."""
    from django.db.models.signals import post_delete, post_save

    for model in (ModelPrice, GpuRate):
        post_save.connect(on_price_saved, sender=model, dispatch_uid=f"reprice-save-{model}")
        post_delete.connect(on_price_deleted, sender=model, dispatch_uid=f"reprice-delete-{model}")


# --- The catalog file ----------------------------------------------------------------------

PRICE_FIELDS = {
    "input": "input_per_mtok",
    "cached_input": "cached_input_per_mtok",
    "cache_write": "cache_write_per_mtok",
    "output": "output_per_mtok",
    "batch_input": "batch_input_per_mtok",
    "batch_output": "batch_output_per_mtok",
}
REQUIRED = ("provider", "model", "effective_date", "input", "output")
TIERS = {"", "frontier", "small"}


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the entry and the field."""


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _decimal(value: Any, where: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise CatalogError(f"{where}: {value!r} is not a price")
    try:
        number = Decimal(str(value))  # str(): a YAML float keeps its written digits
    except InvalidOperation as exc:
        raise CatalogError(f"{where}: {value!r} is not a price") from exc
    if not number.is_finite() or number < 0:
        raise CatalogError(f"{where}: {value!r} is not a price")
    return number


def _entry_values(entry: Any, where: str, default_currency: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise CatalogError(f"{where}: expected a mapping")
    missing = [k for k in REQUIRED if entry.get(k) in (None, "")]
    if missing:
        raise CatalogError(f"{where}: missing {', '.join(missing)}")
    unknown = set(entry) - {
        *REQUIRED,
        *PRICE_FIELDS,
        "currency",
        "tier",
        "parameters_billion",
        "source_url",
        "note",
    }
    if unknown:
        raise CatalogError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    day = entry["effective_date"]
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day)
        except ValueError as exc:
            raise CatalogError(f"{where}.effective_date: {day!r} is not a date") from exc
    if not isinstance(day, date):
        raise CatalogError(f"{where}.effective_date: {day!r} is not a date")
    tier = str(entry.get("tier") or "")
    if tier not in TIERS:
        raise CatalogError(f"{where}.tier: {tier!r} is not frontier or small")
    params = entry.get("parameters_billion")
    if params is not None and (isinstance(params, bool) or not isinstance(params, int | float)):
        raise CatalogError(f"{where}.parameters_billion: {params!r} is not a number")
    values: dict[str, Any] = {
        "provider": str(entry["provider"]).strip().lower(),
        "model": str(entry["model"]).strip(),
        "effective_date": day,
        "currency": str(entry.get("currency") or default_currency).upper(),
        "tier": tier,
        "parameters_billion": float(params) if params is not None else None,
        "source_url": str(entry.get("source_url") or ""),
        "note": str(entry.get("note") or "")[:300],
    }
    for key, column in PRICE_FIELDS.items():
        values[column] = _decimal(entry.get(key), f"{where}.{key}")
    return values


def read_catalog(path: Path = DEFAULT_CATALOG) -> list[dict[str, Any]]:
    """Validated ModelPrice field values of every entry of a catalog file."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("models"), list):
        raise CatalogError(f"{path}: expected a mapping with a `models` list")
    currency = str(doc.get("currency") or "USD")
    entries = [
        _entry_values(e, f"{path}: models[{i}]", currency) for i, e in enumerate(doc["models"])
    ]
    seen: set[tuple[str, str, date]] = set()
    for i, v in enumerate(entries):
        key = (v["provider"], v["model"].lower(), v["effective_date"])
        if key in seen:
            raise CatalogError(f"{path}: models[{i}]: duplicate {key[0]}/{key[1]} on {key[2]}")
        seen.add(key)
    return entries


def prices_load(*, path: Path = DEFAULT_CATALOG) -> LoadResult:
    """Upsert the catalog file into ModelPrice by (provider, model, effective date).

    Idempotent: unchanged rows are not written. Rows in the database that the file does not
    list (added in the admin) are kept. Changed prices queue one re-pricing of the ledger.
    """
    entries = read_catalog(path)
    result = LoadResult()
    with transaction.atomic(), price_changes_batched():
        for values in entries:
            row = ModelPrice.objects.filter(
                provider=values["provider"],
                model__iexact=values["model"],
                effective_date=values["effective_date"],
            ).first()
            if row is None:
                ModelPrice.objects.create(**values)
                result.created += 1
                continue
            changed = [k for k, v in values.items() if getattr(row, k) != v]
            if not changed:
                result.unchanged += 1
                continue
            for k in changed:
                setattr(row, k, values[k])
            row.save()
            result.updated += 1
    return result


# --- What-if -------------------------------------------------------------------------------


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
