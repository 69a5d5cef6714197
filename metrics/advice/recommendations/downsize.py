"""downsize: a team's workload on a frontier model whose prompts and outputs are short and
uniform. Saving = its ledger cost - the same tokens at the catalog prices of the provider's
closest small model.
"""

from __future__ import annotations

from metrics.advice.recommendations.workloads import (
    CENT,
    AdviceConfig,
    Context,
    Finding,
    Workload,
    catalog_price,
    money_text,
    smaller_model,
    variation,
)
from metrics.economics.pricing.catalog import PriceBook
from metrics.economics.pricing.whatif import what_if_rows
from metrics.models import Recommendation
from metrics.money import format_money


def find(w: Workload, book: PriceBook, cfg: AdviceConfig, ctx: Context) -> Finding | None:
    price = catalog_price(book, w, ctx.last_day)
    if price is None or price.tier != "frontier":
        return None
    target = smaller_model(book, w.provider, w.model, ctx.last_day)
    if target is None:
        return None
    active = [d for d in w.days.values() if d["model_requests"] > 0 and d["output_tokens"] > 0]
    if len(active) < cfg.min_days:
        return None  # no history, or no request counts: the shape of a request is unknown
    prompt = [
        (d["input_tokens"] + d["cached_input_tokens"] + d["cache_write_tokens"])
        / d["model_requests"]
        for d in active
    ]
    output = [d["output_tokens"] / d["model_requests"] for d in active]
    density = [
        (d["input_tokens"] + d["cached_input_tokens"] + d["output_tokens"]) / d["output_tokens"]
        for d in active
    ]
    requests = sum(d["model_requests"] for d in active)
    avg_prompt = sum(p * d["model_requests"] for p, d in zip(prompt, active, strict=True))
    avg_prompt /= requests
    avg_output = sum(d["output_tokens"] for d in active) / requests
    cvs = {"input": variation(prompt), "output": variation(output), "density": variation(density)}
    if (
        avg_prompt > cfg.downsize_max_input_per_request
        or avg_output > cfg.downsize_max_output_per_request
        or max(cvs.values()) > cfg.downsize_max_cv
    ):
        return None
    estimate = what_if_rows(
        w.rows(),
        provider=w.provider,
        model_from=w.model,
        model_to=target,
        start=ctx.start,
        end=ctx.end,
        prices=book,
        currency=w.currency,
    )
    saving = estimate.saving * ctx.month
    if estimate.days_priced == 0 or saving < cfg.min_monthly_saving:
        return None
    pct = estimate.saving_pct or 0.0
    return Finding(
        kind=Recommendation.Kind.DOWNSIZE,
        dedupe_key=w.key("downsize", target),
        team_id=w.team_id,
        subject=w.subject,
        title=(
            f"Route {w.subject} to {target}: about {format_money(saving, w.currency)} a month "
            f"({pct:.0%}) less"
        ),
        monthly_saving=saving.quantize(CENT),
        currency=w.currency,
        evidence={
            **estimate.as_evidence(),
            "avg_input_tokens_per_request": round(avg_prompt, 1),
            "avg_output_tokens_per_request": round(avg_output, 1),
            "cv_input_tokens_per_request": round(cvs["input"], 3),
            "cv_output_tokens_per_request": round(cvs["output"], 3),
            "token_density": round(sum(density) / len(density), 2),
            "cv_token_density": round(cvs["density"], 3),
            "days_with_requests": len(active),
            "monthly_spend": money_text(w.total("effective_cost") * ctx.month),
            "monthly_saving": money_text(saving),
            "method": (
                "saving = the ledger cost of this workload - the same tokens at the catalog "
                f"prices of {target}, scaled to 30 days; quality on {target} must be checked"
            ),
        },
    )
