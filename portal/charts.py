"""Chart definitions: one Vega-Lite spec per chart, drawn in the browser by the vendored
Vega (portal/static/portal/vendor/vega/) and rendered to SVG/PNG on the server by
vl-convert (the same Vega version) for the board report. Every chart on a page also has a
table with the same numbers (the templates render it), so nothing is only in a picture.

Specs carry floats rounded for drawing; the exact Decimal figures are in the tables.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.cache import cache

from metrics.dashboards import KPI_NAMES, OrgView, SpendView

Spec = dict[str, Any]
SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
PALETTE = [
    "#2563eb",
    "#d97706",
    "#059669",
    "#7c3aed",
    "#dc2626",
    "#0891b2",
    "#6b7280",
    "#db2777",
]
CONFIG: dict[str, Any] = {
    "font": "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 11, "gridColor": "#e5e7eb"},
    "legend": {"labelFontSize": 11, "titleFontSize": 11, "orient": "bottom"},
    "range": {"category": PALETTE},
}


def _f(value: Decimal | float | int | None, places: int = 2) -> float | None:
    if value is None:
        return None
    return round(float(value), places)


def _iso(d: date) -> str:
    return d.isoformat()


def _base(description: str, *, height: int = 240) -> Spec:
    return {
        "$schema": SCHEMA,
        "description": description,
        "width": "container",
        "height": height,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "config": CONFIG,
    }


def daily_spend(view: SpendView) -> Spec:
    """Daily spend stacked by provider or model, with the budget per day and the month-end
    forecast band (the daily rate range the forecast assumes for the days left)."""
    title = "Provider" if view.stack == "provider" else "Model"
    x = {
        "field": "day",
        "type": "temporal",
        "timeUnit": "utcyearmonthdate",
        "title": None,
        "axis": {"format": "%b %d", "labelAngle": 0, "tickCount": 8},
    }
    layers: list[Spec] = [
        {
            "data": {
                "values": [
                    {"day": _iso(r["day"]), "key": r["key"], "amount": _f(r["amount"])}
                    for r in view.daily
                ]
            },
            "mark": {"type": "bar", "tooltip": True, "cursor": "pointer"},
            "encoding": {
                "x": x,
                "y": {
                    "aggregate": "sum",
                    "field": "amount",
                    "type": "quantitative",
                    "stack": "zero",
                    "title": f"{view.currency} per day",
                },
                "color": {"field": "key", "type": "nominal", "title": title},
                "tooltip": [
                    {"field": "day", "type": "temporal", "timeUnit": "utcyearmonthdate"},
                    {"field": "key", "type": "nominal", "title": title},
                    {"field": "amount", "type": "quantitative", "format": ",.2f"},
                ],
            },
        }
    ]
    if view.forecast_days:
        band = [
            {"day": _iso(r["day"]), "low": r["low"], "high": r["high"], "expected": r["expected"]}
            for r in view.forecast_days
        ]
        layers.append(
            {
                "data": {"values": band},
                "mark": {"type": "area", "opacity": 0.18, "color": "#6b7280"},
                "encoding": {
                    "x": x,
                    "y": {"field": "low", "type": "quantitative"},
                    "y2": {"field": "high"},
                },
            }
        )
        layers.append(
            {
                "data": {"values": band},
                "mark": {"type": "line", "strokeDash": [2, 3], "color": "#374151"},
                "encoding": {"x": x, "y": {"field": "expected", "type": "quantitative"}},
            }
        )
    if view.daily_budget:
        layers.append(
            {
                "data": {"values": [{"budget": _f(view.daily_budget)}]},
                "mark": {"type": "rule", "strokeDash": [6, 4], "color": "#dc2626", "size": 2},
                "encoding": {"y": {"field": "budget", "type": "quantitative"}},
            }
        )
    spec = _base(f"Daily spend in {view.currency}, stacked by {title.lower()}")
    spec["layer"] = layers
    return spec


def sparkline(trend: Iterable[dict[str, Any]], kpi: str) -> Spec:
    values = [{"day": _iso(r["day"]), "value": r["value"]} for r in trend if r["kpi"] == kpi]
    spec = _base(f"{KPI_NAMES.get(kpi, kpi)} per day", height=40)
    spec.update(
        {
            "data": {"values": values},
            "mark": {"type": "line", "strokeWidth": 1.5, "point": False, "tooltip": True},
            "encoding": {
                "x": {
                    "field": "day",
                    "type": "temporal",
                    "timeUnit": "utcyearmonthdate",
                    "axis": None,
                },
                "y": {
                    "field": "value",
                    "type": "quantitative",
                    "axis": None,
                    "scale": {"zero": False},
                },
                "tooltip": [
                    {"field": "day", "type": "temporal", "timeUnit": "utcyearmonthdate"},
                    {"field": "value", "type": "quantitative", "format": ",.4~f"},
                ],
            },
        }
    )
    return spec


def team_ranking(org: OrgView) -> Spec:
    values = [
        {"team": t.name, "slug": t.slug, "amount": _f(t.current), "change": t.change}
        for t in org.ranking
        if t.currency == org.spend.currency
    ][:15]
    spec = _base(f"Spend by team in {org.spend.currency}", height=max(60, 22 * max(1, len(values))))
    spec.update(
        {
            "data": {"values": values},
            "mark": {"type": "bar", "tooltip": True, "cursor": "pointer"},
            "encoding": {
                "y": {"field": "team", "type": "nominal", "sort": "-x", "title": None},
                "x": {"field": "amount", "type": "quantitative", "title": org.spend.currency},
                "color": {"value": PALETTE[0]},
                "tooltip": [
                    {"field": "team", "type": "nominal"},
                    {"field": "amount", "type": "quantitative", "format": ",.2f"},
                    {"field": "change", "type": "quantitative", "format": "+.1%"},
                ],
            },
        }
    )
    return spec


def model_mix(org: OrgView) -> Spec:
    values = [
        {"month": _iso(r["month"]), "model": r["model"], "share": round(r["share"], 4)}
        for r in org.model_mix
    ]
    spec = _base(f"Model mix by month, share of {org.spend.currency} spend")
    spec.update(
        {
            "data": {"values": values},
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {
                    "field": "month",
                    "type": "ordinal",
                    "timeUnit": "utcyearmonth",
                    "title": None,
                    "axis": {"format": "%b %Y", "labelAngle": 0},
                },
                "y": {
                    "field": "share",
                    "type": "quantitative",
                    "stack": "normalize",
                    "axis": {"format": "%"},
                    "title": "Share of spend",
                },
                "color": {"field": "model", "type": "nominal", "title": "Model"},
                "tooltip": [
                    {"field": "month", "type": "temporal", "timeUnit": "utcyearmonth"},
                    {"field": "model", "type": "nominal"},
                    {"field": "share", "type": "quantitative", "format": ".1%"},
                ],
            },
        }
    )
    return spec


def monthly_spend(org: OrgView) -> Spec:
    values = [
        {
            "month": _iso(r["month"]),
            "amount": _f(r["amount"]),
            "status": "partial month" if r["partial"] else "complete month",
        }
        for r in org.months
        if r["currency"] == org.spend.currency
    ]
    spec = _base(f"Monthly spend in {org.spend.currency}")
    spec.update(
        {
            "data": {"values": values},
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {
                    "field": "month",
                    "type": "ordinal",
                    "timeUnit": "utcyearmonth",
                    "title": None,
                    "axis": {"format": "%b %Y", "labelAngle": 0},
                },
                "y": {"field": "amount", "type": "quantitative", "title": org.spend.currency},
                "opacity": {
                    "field": "status",
                    "type": "nominal",
                    "scale": {"domain": ["complete month", "partial month"], "range": [1, 0.45]},
                    "title": None,
                },
                "tooltip": [
                    {"field": "month", "type": "temporal", "timeUnit": "utcyearmonth"},
                    {"field": "amount", "type": "quantitative", "format": ",.2f"},
                    {"field": "status", "type": "nominal"},
                ],
            },
        }
    )
    return spec


def bars(description: str, rows: Sequence[tuple[str, float]], unit: str) -> Spec:
    """A plain horizontal bar chart (the board report's breakdowns)."""
    spec = _base(description, height=max(60, 24 * max(1, len(rows))))
    spec.update(
        {
            "data": {"values": [{"label": k, "value": round(v, 2)} for k, v in rows]},
            "mark": {"type": "bar", "color": PALETTE[0]},
            "encoding": {
                "y": {"field": "label", "type": "nominal", "sort": "-x", "title": None},
                "x": {"field": "value", "type": "quantitative", "title": unit},
            },
        }
    )
    return spec


# --- Server-side rendering (board report) -------------------------------------------------


def fixed_size(spec: Spec, width: int, height: int | None = None) -> Spec:
    """The spec with a fixed width (a report has no container to fit), and its own height
    capped at `height`."""
    out = dict(spec)
    out["width"] = width
    if height is not None and isinstance(out.get("height"), int):
        out["height"] = min(out["height"], height)
    out["autosize"] = {"type": "fit", "contains": "padding"}
    return out


def _key(kind: str, spec: Spec) -> str:
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()
    return f"chart:{kind}:{digest}"


def render_svg(spec: Spec) -> str:
    """The chart as SVG (vl-convert), cached by the spec's hash."""
    import vl_convert as vlc

    key = _key("svg", spec)
    svg = cache.get(key)
    if svg is None:
        svg = vlc.vegalite_to_svg(spec, vl_version="6.4")
        cache.set(key, svg, 24 * 3600)
    return str(svg)


def render_png(spec: Spec, *, scale: float = 2) -> bytes:
    import vl_convert as vlc

    key = _key(f"png{scale}", spec)
    png = cache.get(key)
    if png is None:
        png = vlc.vegalite_to_png(spec, vl_version="6.4", scale=scale)
        cache.set(key, png, 24 * 3600)
    return bytes(png)
