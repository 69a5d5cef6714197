"""GPU cold-start cost as a pure pandas function (definition:
docs/definitions.md#gpu-cold-start-cost), measured by the GPU recommendations and the board
report on OpenCost billing windows.

The other unit KPIs (cost per inference, per 1k tokens, token density, cache hit ratio,
token carbon density) are computed with matched numerators over the rollups by
`metrics.queries.unit_kpis` and `metrics.queries.model_kpis`.
"""

from __future__ import annotations

import pandas as pd

Frame = pd.DataFrame


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
