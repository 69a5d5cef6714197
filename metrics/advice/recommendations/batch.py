"""batch: steady daily volume with no weekday/weekend pattern (no sign of people waiting), not
already billed at a discount. Saving = ledger cost x the batch discount.
"""

from __future__ import annotations

import statistics
from decimal import Decimal

from metrics.advice.recommendations.workloads import (
    CENT,
    TOKEN_COLUMNS,
    AdviceConfig,
    Context,
    Finding,
    Workload,
    catalog_price,
    money_text,
    variation,
)
from metrics.economics.pricing.catalog import PriceBook, usage_cost
from metrics.models import Recommendation
from metrics.money import format_money


def find(w: Workload, book: PriceBook, cfg: AdviceConfig, ctx: Context) -> Finding | None:
    volume_by_day = {day: float(sum(d[c] for c in TOKEN_COLUMNS)) for day, d in w.days.items()}
    active = [v for v in volume_by_day.values() if v > 0]
    if len(active) < max(cfg.batch_min_days, cfg.min_days):
        return None
    series = [volume_by_day.get(day, 0.0) for day in ctx.window_days]
    cv = variation(series)
    weekday = [v for day, v in zip(ctx.window_days, series, strict=True) if day.weekday() < 5]
    weekend = [v for day, v in zip(ctx.window_days, series, strict=True) if day.weekday() >= 5]
    if not weekday or not weekend or statistics.fmean(weekday) == 0:
        return None
    weekend_ratio = statistics.fmean(weekend) / statistics.fmean(weekday)
    if cv > cfg.batch_max_cv or weekend_ratio < cfg.batch_min_weekend_ratio:
        return None
    standard = batch = current = Decimal(0)
    for day, d in w.days.items():
        price = catalog_price(book, w, day)
        if price is None or price.batch_input_per_mtok is None:
            continue
        tokens = [d[c] for c in TOKEN_COLUMNS]
        standard += usage_cost(price, *tokens)
        batch += usage_cost(price, *tokens, batch=True)
        current += d["effective_cost"]
    if standard <= 0 or current < standard * Decimal(str(cfg.batch_discounted_below)):
        return None  # nothing priceable, or already billed at a batch/negotiated discount
    discount = 1 - batch / standard
    monthly = current * discount * ctx.month
    if monthly < cfg.min_monthly_saving:
        return None
    return Finding(
        kind=Recommendation.Kind.BATCH,
        dedupe_key=w.key("batch"),
        team_id=w.team_id,
        subject=w.subject,
        title=(
            f"Send {w.subject} through the Batch API: about "
            f"{format_money(monthly, w.currency)} a month ({discount:.0%} off)"
        ),
        monthly_saving=monthly.quantize(CENT),
        currency=w.currency,
        evidence={
            "cv_daily_tokens": round(cv, 3),
            "weekend_to_weekday_ratio": round(weekend_ratio, 3),
            "days_active": len(active),
            "window_days": len(ctx.window_days),
            "batch_discount_pct": round(float(discount) * 100, 1),
            "list_cost": money_text(standard),
            "list_cost_batch": money_text(batch),
            "ledger_cost": money_text(current),
            "monthly_spend": money_text(w.total("effective_cost") * ctx.month),
            "monthly_saving": money_text(monthly),
            "method": (
                "steady daily volume, as busy at weekends as on weekdays (no sign of people "
                "waiting for answers): saving = ledger cost x the batch discount"
            ),
        },
    )
