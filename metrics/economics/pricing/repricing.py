"""Re-pricing the ledger from the catalog: rows with tokens (or GPU hours) but no money get
the catalog's price of their day; catalog-priced rows follow price changes. A changed price
queues a re-pricing once committed (a signal: the ledger never imports a tasks module)."""

from __future__ import annotations

import contextvars
import json
import logging
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from django.db import transaction
from django.db.models import FloatField, Q, QuerySet
from django.db.models.functions import Cast
from django.dispatch import Signal

from metrics.economics.pricing.catalog import CATALOG, GpuRateBook, PriceBook, usage_cost
from metrics.models import CostRecord, GpuRate, ModelPrice

logger = logging.getLogger(__name__)

STORE_PLACES = Decimal("0.000000000001")  # ExactDecimalField keeps 12 places
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
