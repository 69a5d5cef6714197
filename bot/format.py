"""Numbers formatted one way everywhere the bot speaks (Slack blocks, plain text, summaries,
alerts): counts, percentages, grams. Money is `metrics.money.format_money`, shared with the
portal and the board report. Pure functions."""

from __future__ import annotations

import math
from typing import TypeGuard


def count(value: float) -> str:
    """1234 -> 1,234; 1234567 -> 1.23M."""
    if value >= 1_000_000_000:
        return f"{value / 1_000_000_000:.2f}B"
    if value >= 1_000_000:
        return f"{value / 1_000_000:.2f}M"
    if value >= 10_000:
        return f"{value / 1_000:.1f}k"
    return f"{value:,.0f}"


def percent(ratio: float) -> str:
    return f"{ratio * 100:+.1f}%"


def grams(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:,.2f} t"
    if value >= 1_000:
        return f"{value / 1_000:,.2f} kg"
    return f"{value:,.1f} g"


def carbon_range(low: float, high: float) -> str:
    return f"{grams(low)} to {grams(high)} CO2e (estimate)"


def is_number(value: float | None) -> TypeGuard[float]:
    return value is not None and not math.isnan(value) and not math.isinf(value)


def coverage_note(share: float | None) -> str:
    """ ", covers 62% of spend" when a unit KPI's numerator is not all of the scope's cost."""
    if share is None or share >= 0.9995:
        return ""
    return f" (covers {share * 100:.0f}% of spend)"
