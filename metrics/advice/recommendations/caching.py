"""caching: large prompts, low cache hit ratio. Saving at list prices assuming a stated hit
ratio (AdviceConfig.caching_target_hit_ratio), net of cache-write premiums.
"""

from __future__ import annotations

from decimal import Decimal

from metrics.advice.recommendations.workloads import (
    CENT,
    AdviceConfig,
    Context,
    Finding,
    Workload,
    catalog_price,
    money_text,
)
from metrics.economics.pricing.catalog import PriceBook, usage_cost
from metrics.models import Recommendation
from metrics.money import format_money


def find(w: Workload, book: PriceBook, cfg: AdviceConfig, ctx: Context) -> Finding | None:
    input_tokens = w.total("input_tokens")
    cached = w.total("cached_input_tokens")
    writes = w.total("cache_write_tokens")
    requests = w.total("model_requests")
    prompt = input_tokens + cached + writes
    if input_tokens + cached == 0:
        return None
    hit = cached / (input_tokens + cached)
    if hit >= cfg.caching_max_hit_ratio:
        return None
    if prompt * float(ctx.month) < cfg.caching_min_monthly_prompt_tokens:
        return None
    per_request = prompt / requests if requests else None
    if per_request is not None and per_request < cfg.caching_min_prompt_tokens_per_request:
        return None
    target = cfg.caching_target_hit_ratio
    saving = Decimal(0)
    priced_days = 0
    rates: dict[str, str] = {}
    for day, d in w.days.items():
        price = catalog_price(book, w, day)
        if price is None or price.cached_input_per_mtok is None:
            continue
        if price.cached_input_per_mtok >= price.input_per_mtok:
            continue
        base = d["input_tokens"] + d["cached_input_tokens"]
        moved = max(0, round(target * base) - d["cached_input_tokens"])
        moved = min(moved, d["input_tokens"])
        new_writes = min(round(moved / cfg.caching_reads_per_write), d["input_tokens"] - moved)
        before = usage_cost(
            price,
            d["input_tokens"],
            d["cached_input_tokens"],
            d["cache_write_tokens"],
            d["output_tokens"],
        )
        after = usage_cost(
            price,
            d["input_tokens"] - moved - new_writes,
            d["cached_input_tokens"] + moved,
            d["cache_write_tokens"] + new_writes,
            d["output_tokens"],
        )
        saving += before - after
        priced_days += 1
        rates = {
            "input_per_mtok": str(price.input_per_mtok),
            "cached_input_per_mtok": str(price.cached_input_per_mtok),
            "cache_write_per_mtok": str(price.cache_write_per_mtok or price.input_per_mtok),
        }
    monthly = saving * ctx.month
    if priced_days == 0 or monthly < cfg.min_monthly_saving:
        return None
    return Finding(
        kind=Recommendation.Kind.CACHING,
        dedupe_key=w.key("caching"),
        team_id=w.team_id,
        subject=w.subject,
        title=(
            f"Cache the repeated prompt prefix of {w.subject}: about "
            f"{format_money(monthly, w.currency)} a month at a {target:.0%} cache hit ratio"
        ),
        monthly_saving=monthly.quantize(CENT),
        currency=w.currency,
        evidence={
            "cache_hit_ratio": round(hit, 4),
            "assumed_hit_ratio": target,
            "assumed_reads_per_cache_write": cfg.caching_reads_per_write,
            "prompt_tokens_per_month": round(prompt * float(ctx.month)),
            "avg_prompt_tokens_per_request": round(per_request, 1) if per_request else None,
            "request_count_known": bool(requests),
            "days_priced": priced_days,
            **rates,
            "monthly_spend": money_text(w.total("effective_cost") * ctx.month),
            "monthly_saving": money_text(monthly),
            "method": (
                "saving at list prices if the cache hit ratio rose to the assumed one: the "
                "extra cached tokens at (input - cached) rate, minus cache-write premiums"
            ),
        },
    )
