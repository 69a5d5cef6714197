"""token_bloat: token density far above the rest of the team's. Saving = the input tokens
above the team's density, at list prices.
"""

from __future__ import annotations

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
)
from metrics.economics.pricing.catalog import PriceBook, usage_cost
from metrics.models import Recommendation


def _density(input_tokens: float, cached: float, output: float) -> float | None:
    return (input_tokens + cached + output) / output if output > 0 else None


def find(
    team_workloads: list[Workload], book: PriceBook, cfg: AdviceConfig, ctx: Context
) -> list[Finding]:
    findings: list[Finding] = []
    totals = {id(w): {c: w.total(c) for c in TOKEN_COLUMNS} for w in team_workloads}
    for w in team_workloads:
        mine = totals[id(w)]
        density = _density(mine["input_tokens"], mine["cached_input_tokens"], mine["output_tokens"])
        others = [totals[id(o)] for o in team_workloads if o is not w]
        other_out = sum(o["output_tokens"] for o in others)
        if density is None or not others or other_out == 0:
            continue  # zero output tokens, or no rest of the team to compare with
        norm = _density(
            sum(o["input_tokens"] for o in others),
            sum(o["cached_input_tokens"] for o in others),
            other_out,
        )
        assert norm is not None
        if density < cfg.bloat_min_density or density < cfg.bloat_factor * norm:
            continue
        prompt = mine["input_tokens"] + mine["cached_input_tokens"]
        excess = (density - norm) * mine["output_tokens"]
        share = min(1.0, excess / prompt) if prompt else 0.0
        saving = Decimal(0)
        for day, d in w.days.items():
            price = catalog_price(book, w, day)
            if price is None:
                continue
            tokens = [d[c] for c in TOKEN_COLUMNS]
            trimmed = [
                round(d["input_tokens"] * (1 - share)),
                round(d["cached_input_tokens"] * (1 - share)),
                d["cache_write_tokens"],
                d["output_tokens"],
            ]
            saving += usage_cost(price, *tokens) - usage_cost(price, *trimmed)
        monthly = saving * ctx.month
        if monthly < cfg.min_monthly_saving:
            continue
        findings.append(
            Finding(
                kind=Recommendation.Kind.TOKEN_BLOAT,
                dedupe_key=w.key("token_bloat"),
                team_id=w.team_id,
                subject=w.subject,
                title=(
                    f"Trim the prompts of {w.subject}: {density:.0f} tokens per output token "
                    f"vs {norm:.0f} for the rest of the team"
                ),
                monthly_saving=monthly.quantize(CENT),
                currency=w.currency,
                evidence={
                    "token_density": round(density, 2),
                    "team_norm_density": round(norm, 2),
                    "factor": round(density / norm, 2),
                    "excess_prompt_tokens_per_month": round(excess * float(ctx.month)),
                    "excess_share_of_prompt": round(share, 4),
                    "monthly_spend": money_text(w.total("effective_cost") * ctx.month),
                    "monthly_saving": money_text(monthly),
                    "method": (
                        "team norm = token density of the team's other workloads; saving = "
                        "the prompt tokens above that norm at list input prices"
                    ),
                },
            )
        )
    return findings
