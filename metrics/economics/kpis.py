"""AI unit-economics KPIs as pure pandas functions (definitions: docs/definitions.md#unit-kpis).

Each takes a frame of ledger or rollup rows (columns named as on metrics.DailyCost) and an
optional list of grouping columns, and returns a Series (grouped) or a float (ungrouped).
Undefined values (no requests, no output tokens, no tokens) are NaN, never a division error:
callers show them as "n/a". Ratios are floats; money totals stay Decimal elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

Frame = pd.DataFrame


def scalar(value: pd.Series | float) -> float:
    """An ungrouped KPI as a float (NaN when undefined)."""
    if isinstance(value, pd.Series):
        return float(value.iloc[0]) if len(value) else math.nan
    return float(value)


def _sums(df: Frame, columns: Sequence[str], by: Sequence[str] | None) -> Frame | pd.Series:
    numeric = df[list(columns)].apply(pd.to_numeric, errors="coerce").astype(float)
    if by:
        return numeric.join(df[list(by)]).groupby(list(by), dropna=False)[list(columns)].sum()
    return numeric.sum()


def _ratio(num: pd.Series | float, den: pd.Series | float) -> pd.Series | float:
    if isinstance(num, pd.Series):
        den_series = pd.Series(den, index=num.index) if not isinstance(den, pd.Series) else den
        return num.where(den_series != 0) / den_series.where(den_series != 0)
    return float(num) / float(den) if den else math.nan


def total_tokens(df: Frame, by: Sequence[str] | None = None) -> pd.Series | float:
    s = _sums(df, ["input_tokens", "cached_input_tokens", "output_tokens"], by)
    return s["input_tokens"] + s["cached_input_tokens"] + s["output_tokens"]


def cost_per_inference(df: Frame, by: Sequence[str] | None = None) -> pd.Series | float:
    """EffectiveCost / model requests."""
    s = _sums(df, ["effective_cost", "model_requests"], by)
    return _ratio(s["effective_cost"], s["model_requests"])


def token_density(df: Frame, by: Sequence[str] | None = None) -> pd.Series | float:
    """(input + cached input + output tokens) / output tokens."""
    s = _sums(df, ["input_tokens", "cached_input_tokens", "output_tokens"], by)
    return _ratio(
        s["input_tokens"] + s["cached_input_tokens"] + s["output_tokens"], s["output_tokens"]
    )


def cost_per_1k_tokens(df: Frame, by: Sequence[str] | None = None) -> pd.Series | float:
    """EffectiveCost / total tokens * 1000."""
    s = _sums(df, ["effective_cost", "input_tokens", "cached_input_tokens", "output_tokens"], by)
    tokens = s["input_tokens"] + s["cached_input_tokens"] + s["output_tokens"]
    ratio = _ratio(s["effective_cost"], tokens)
    return ratio * 1000


def cache_hit_ratio(df: Frame, by: Sequence[str] | None = None) -> pd.Series | float:
    """Share of prompt tokens served from the cache: cached / (uncached input + cached)."""
    s = _sums(df, ["input_tokens", "cached_input_tokens"], by)
    return _ratio(s["cached_input_tokens"], s["input_tokens"] + s["cached_input_tokens"])


def caching_savings(df: Frame, input_per_mtok: float, cached_input_per_mtok: float) -> float:
    """Money caching saved: cached tokens x (input price - cached price) per 1M tokens."""
    cached = scalar(_sums(df, ["cached_input_tokens"], None)["cached_input_tokens"])
    return cached * (input_per_mtok - cached_input_per_mtok) / 1_000_000


def unallocated_share(df: Frame) -> float:
    """Share of EffectiveCost with no team (team_id null)."""
    cost = pd.to_numeric(df["effective_cost"], errors="coerce").astype(float)
    total = cost.sum()
    return float(cost[df["team_id"].isna()].sum() / total) if total else math.nan


def gpu_hours(df: Frame, by: Sequence[str] | None = None) -> pd.Series | float:
    return _sums(df, ["gpu_hours"], by)["gpu_hours"]


def gpu_idle_cost(df: Frame) -> float:
    """Cost of GPU capacity allocated to nobody: OpenCost's `__idle__` allocation."""
    idle = df[df.get("resource_name", pd.Series("", index=df.index)) == "__idle__"]
    return float(pd.to_numeric(idle["effective_cost"], errors="coerce").sum())


def gpu_cold_start_cost(
    windows: Frame, *, utilization_threshold: float = 0.1, warmup_minutes: float = 15
) -> float:
    """Cost of GPU time from each spin-up until its first productive use, summed.

    `windows`: one row per GPU resource and billing window with columns resource_id, start,
    end (timestamps), cost, and optional utilization (0..1). A spin-up is the first window of a
    resource or one that starts after a gap. Where utilization is known, the cold start runs
    until the first window above the threshold; otherwise it is the first `warmup_minutes` of
    the spin-up, over every window they span (the last one pro rata).
    """
    if windows.empty:
        return 0.0
    total = 0.0
    w = windows.sort_values(["resource_id", "start"])
    for _, group in w.groupby("resource_id"):
        spin: list[pd.Series] = []
        previous_end = None
        for _, row in group.iterrows():
            if previous_end is not None and row["start"] > previous_end:
                total += _spin_up_cost(spin, utilization_threshold, warmup_minutes)
                spin = []
            spin.append(row)
            previous_end = row["end"]
        total += _spin_up_cost(spin, utilization_threshold, warmup_minutes)
    return total


def _spin_up_cost(spin: list[pd.Series], threshold: float, warmup_minutes: float) -> float:
    if not spin:
        return 0.0
    known = [r for r in spin if "utilization" in r and pd.notna(r["utilization"])]
    if known and len(known) == len(spin):
        cost = 0.0
        for r in spin:
            if float(r["utilization"]) > threshold:
                return cost
            cost += float(r["cost"])
        return cost
    # No utilization: the first `warmup_minutes` of the spin-up, across as many billing
    # windows as they span (5-minute windows: a 15-minute warm-up is three of them), the
    # window where the warm-up ends costed pro rata.
    cost = 0.0
    remaining = warmup_minutes
    for r in spin:
        if remaining <= 0:
            break
        minutes = (r["end"] - r["start"]).total_seconds() / 60
        share = min(1.0, remaining / minutes) if minutes > 0 else 1.0
        cost += float(r["cost"]) * share
        remaining -= minutes
    return cost


def token_carbon_density(df: Frame, by: Sequence[str] | None = None) -> pd.Series | float:
    """Grams CO2e per 1k output tokens (midpoint of the estimate range)."""
    s = _sums(df, ["gco2e_low", "gco2e_high", "output_tokens"], by)
    mid = (s["gco2e_low"] + s["gco2e_high"]) / 2
    return _ratio(mid, s["output_tokens"]) * 1000
