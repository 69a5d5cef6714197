"""Formatting for the spend dashboards: exact money, changes, ratios (NaN shows as n/a)."""

from __future__ import annotations

import math
from typing import Any

from django import template

from metrics.money import format_money

register = template.Library()


@register.filter
def money(value: Any, currency: str | None = None) -> str:
    """`{{ amount|money:"USD" }}` -> "$1,234.50"; `{{ amount|money }}` -> "1,234.50" (a cell
    whose currency the row or header names). `metrics.money.format_money`."""
    return format_money(value, currency)


@register.filter
def change(value: Any) -> str:
    """0.123 -> "+12.3%"; None -> "n/a" (no previous spend to compare with)."""
    if value is None:
        return "n/a"
    number = float(value)
    if not math.isfinite(number):
        return "n/a"
    return f"{number:+.1%}"


@register.filter
def percent(value: Any) -> str:
    if value is None:
        return "n/a"
    number = float(value)
    return f"{number:.1%}" if math.isfinite(number) else "n/a"


@register.filter
def ratio(value: Any, places: int = 4) -> str:
    """A KPI: NaN or None -> "n/a"."""
    if value is None:
        return "n/a"
    number = float(value)
    if not math.isfinite(number):
        return "n/a"
    return f"{number:,.{int(places)}f}"


@register.filter
def get(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def bar_width(share: Any) -> int:
    """A share (0..1) as a whole percent for a CSS width."""
    try:
        return max(0, min(100, round(float(share) * 100)))
    except (TypeError, ValueError):
        return 0
