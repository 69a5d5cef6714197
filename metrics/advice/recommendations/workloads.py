"""What every detector reads: the thresholds (AdviceConfig), a finding, the token workloads of
the window (team x provider x model x application, per day) and the catalog lookups.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
from django.conf import settings

from metrics.economics.pricing.catalog import PriceBook
from metrics.economics.pricing.whatif import USAGE_BY
from metrics.models import ModelPrice

CENT = Decimal("0.01")
TOKEN_COLUMNS = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens")


@dataclass(frozen=True)
class AdviceConfig:
    lookback_days: int = 30
    min_days: int = 7  # days with usage needed before judging a workload
    min_monthly_saving: Decimal = Decimal("10")
    # downsizing: short and uniform prompts and outputs
    downsize_max_input_per_request: float = 2000
    downsize_max_output_per_request: float = 400
    downsize_max_cv: float = 0.25  # coefficient of variation across days
    # prompt caching
    caching_max_hit_ratio: float = 0.2
    caching_target_hit_ratio: float = 0.5
    caching_min_prompt_tokens_per_request: float = 1024  # providers cache prompts >= 1024
    caching_min_monthly_prompt_tokens: int = 10_000_000
    caching_reads_per_write: float = 10  # each cached prefix written once per 10 reads
    # batch API
    batch_min_days: int = 14
    batch_max_cv: float = 0.25
    batch_min_weekend_ratio: float = 0.8  # weekend volume / weekday volume
    batch_discounted_below: float = 0.75  # ledger cost below 75% of list: already discounted
    # token bloat
    bloat_factor: float = 3.0
    bloat_min_density: float = 20.0
    # GPU (OpenCost)
    gpu_idle_share: float = 0.3
    gpu_target_idle_share: float = 0.1
    gpu_low_efficiency: float = 0.4
    gpu_target_efficiency: float = 0.7
    gpu_cold_start_share: float = 0.15
    gpu_cold_start_reducible: float = 0.5

    @classmethod
    def from_settings(cls) -> AdviceConfig:
        overrides: dict[str, Any] = dict(getattr(settings, "ADVICE_THRESHOLDS", {}) or {})
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"ADVICE_THRESHOLDS: unknown keys {sorted(unknown)}")
        if "min_monthly_saving" in overrides:
            overrides["min_monthly_saving"] = Decimal(str(overrides["min_monthly_saving"]))
        return replace(cls(), **overrides)


@dataclass
class Finding:
    kind: str
    dedupe_key: str
    team_id: int | None
    subject: str
    title: str
    monthly_saving: Decimal
    currency: str
    evidence: dict[str, Any]


@dataclass
class Workload:
    team_id: int
    provider: str
    model: str  # the catalog model name
    application_key: str
    currency: str
    days: dict[date, dict[str, Any]] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        app = self.application_key or "all applications"
        return f"{app} on {self.provider}/{self.model}"

    def key(self, kind: str, *extra: str) -> str:
        parts = [kind, str(self.team_id), self.provider, self.model, self.application_key]
        return ":".join([*parts, *extra, self.currency])[:300]

    def total(self, column: str) -> Any:
        zero: Any = Decimal(0) if column == "effective_cost" else 0
        return sum((d[column] for d in self.days.values()), zero)

    def rows(self) -> list[dict[str, Any]]:
        return [{"day": day, "currency": self.currency, **v} for day, v in self.days.items()]


def money_text(value: Decimal) -> str:
    return str(value.quantize(CENT))


def variation(values: list[float]) -> float:
    """Coefficient of variation (population): 0 for constant series, inf for a zero mean."""
    if not values:
        return math.inf
    mean = statistics.fmean(values)
    if mean == 0:
        return math.inf
    return statistics.pstdev(values) / mean


def workloads_of(start: date, end: date, book: PriceBook) -> list[Workload]:
    from metrics.queries import usage_frame

    frame = usage_frame(start=start, end=end, by=USAGE_BY)
    found: dict[tuple[int, str, str, str, str], Workload] = {}
    for r in frame.to_dict("records"):
        if pd.isna(r["team_id"]):
            continue  # unallocated spend has no team to act on it
        key_model = book.model_key(r["provider"], r["model"])
        if key_model is None:
            continue  # no catalog price: nothing to estimate with
        wk = (int(r["team_id"]), r["provider"], key_model, r["application_key"], r["currency"])
        w = found.setdefault(wk, Workload(*wk))
        day = w.days.setdefault(
            r["day"],
            {
                **dict.fromkeys(TOKEN_COLUMNS, 0),
                "model_requests": 0,
                "effective_cost": Decimal(0),
            },
        )
        for c in (*TOKEN_COLUMNS, "model_requests"):
            day[c] += int(r[c])
        day["effective_cost"] += r["effective_cost"]
    return list(found.values())


def catalog_price(book: PriceBook, w: Workload, day: date) -> ModelPrice | None:
    price = book.price(w.provider, w.model, day)
    return price if price is not None and price.currency == w.currency else None


def smaller_model(book: PriceBook, provider: str, model: str, day: date) -> str | None:
    """The provider's small model closest to `model`: the longest common name prefix, then
    the most capable (highest output price)."""

    def common(a: str, b: str) -> int:
        n = 0
        for x, y in zip(a, b, strict=False):
            if x != y:
                break
            n += 1
        return n

    candidates = []
    for name in book.models(provider):
        price = book.price(provider, name, day)
        if price is None or price.tier != "small" or not price.output_per_mtok:
            continue
        candidates.append((common(name, model.lower()), price.output_per_mtok, name))
    return max(candidates)[2] if candidates else None


@dataclass
class Context:
    start: date
    end: date  # exclusive
    month: Decimal

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def window_days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days)]
