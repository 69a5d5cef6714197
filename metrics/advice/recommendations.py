"""Savings recommendations with an estimated monthly saving and the evidence behind it.

`recommendation_refresh()` (the daily beat task) evaluates the last `lookback_days` of daily
rollups (token workloads) and OpenCost records (GPU) and upserts one Recommendation per
finding, keyed by `dedupe_key`:

- an open one gets today's numbers; a dismissed one stays dismissed for 30 days after its
  dismissal (then it may come back, with the earlier dismissal in its evidence); an applied
  one is left alone;
- open ones whose finding no longer holds are deleted (unless an action refers to them).

Kinds (thresholds in AdviceConfig, overridable with settings.ADVICE_THRESHOLDS):

- downsize: a team's workload (team x provider x model x application) on a frontier model
  whose prompts and outputs are short and uniform (tokens per request and token density
  stable day to day). Saving = its ledger cost - the same tokens at the catalog prices of
  the provider's closest small model.
- caching: large prompts, low cache hit ratio. Saving at list prices assuming a stated hit
  ratio (AdviceConfig.caching_target_hit_ratio), net of cache-write premiums.
- batch: steady daily volume with no weekday/weekend pattern (no sign of people waiting),
  not already billed at a discount. Saving = ledger cost x the batch discount.
- token_bloat: token density far above the rest of the team's. Saving = the input tokens
  above the team's density, at list prices.
- gpu_idle: OpenCost `__idle__` GPU cost share of a cluster, namespaces with low GPU
  efficiency, and cold-start-heavy namespaces (metrics.economics.kpis.gpu_cold_start_cost).

Savings of different kinds for one workload overlap: they are not additive. Monthly figures
are the lookback window's scaled to 30 days. Money stays Decimal; only ratios are floats.
"""

from __future__ import annotations

import json
import logging
import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import FloatField, Q
from django.db.models.functions import Cast
from django.utils import timezone

from metrics.economics import kpis
from metrics.economics.pricing import USAGE_BY, PriceBook, usage_cost, what_if_rows
from metrics.models import CostRecord, ModelPrice, Recommendation, RemediationAction, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
DISMISSAL_QUIET_DAYS = 30
TOKEN_COLUMNS = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens")
OPENCOST_PROVIDER = "kubernetes"
IDLE = "__idle__"


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


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def _cv(values: list[float]) -> float:
    """Coefficient of variation (population): 0 for constant series, inf for a zero mean."""
    if not values:
        return math.inf
    mean = statistics.fmean(values)
    if mean == 0:
        return math.inf
    return statistics.pstdev(values) / mean


def _workloads(start: date, end: date, book: PriceBook) -> list[Workload]:
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


def _price(book: PriceBook, w: Workload, day: date) -> ModelPrice | None:
    price = book.price(w.provider, w.model, day)
    return price if price is not None and price.currency == w.currency else None


def _smaller_model(book: PriceBook, provider: str, model: str, day: date) -> str | None:
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


# --- Token workloads -----------------------------------------------------------------------


def _downsize(w: Workload, book: PriceBook, cfg: AdviceConfig, ctx: _Context) -> Finding | None:
    price = _price(book, w, ctx.last_day)
    if price is None or price.tier != "frontier":
        return None
    target = _smaller_model(book, w.provider, w.model, ctx.last_day)
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
    cvs = {"input": _cv(prompt), "output": _cv(output), "density": _cv(density)}
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
            f"Route {w.subject} to {target}: about {w.currency} {_money(saving)} a month "
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
            "monthly_spend": _money(w.total("effective_cost") * ctx.month),
            "monthly_saving": _money(saving),
            "method": (
                "saving = the ledger cost of this workload - the same tokens at the catalog "
                f"prices of {target}, scaled to 30 days; quality on {target} must be checked"
            ),
        },
    )


def _caching(w: Workload, book: PriceBook, cfg: AdviceConfig, ctx: _Context) -> Finding | None:
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
        price = _price(book, w, day)
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
            f"Cache the repeated prompt prefix of {w.subject}: about {w.currency} "
            f"{_money(monthly)} a month at a {target:.0%} cache hit ratio"
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
            "monthly_spend": _money(w.total("effective_cost") * ctx.month),
            "monthly_saving": _money(monthly),
            "method": (
                "saving at list prices if the cache hit ratio rose to the assumed one: the "
                "extra cached tokens at (input - cached) rate, minus cache-write premiums"
            ),
        },
    )


def _batch(w: Workload, book: PriceBook, cfg: AdviceConfig, ctx: _Context) -> Finding | None:
    volume_by_day = {day: float(sum(d[c] for c in TOKEN_COLUMNS)) for day, d in w.days.items()}
    active = [v for v in volume_by_day.values() if v > 0]
    if len(active) < max(cfg.batch_min_days, cfg.min_days):
        return None
    series = [volume_by_day.get(day, 0.0) for day in ctx.window_days]
    cv = _cv(series)
    weekday = [v for day, v in zip(ctx.window_days, series, strict=True) if day.weekday() < 5]
    weekend = [v for day, v in zip(ctx.window_days, series, strict=True) if day.weekday() >= 5]
    if not weekday or not weekend or statistics.fmean(weekday) == 0:
        return None
    weekend_ratio = statistics.fmean(weekend) / statistics.fmean(weekday)
    if cv > cfg.batch_max_cv or weekend_ratio < cfg.batch_min_weekend_ratio:
        return None
    standard = batch = current = Decimal(0)
    for day, d in w.days.items():
        price = _price(book, w, day)
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
            f"Send {w.subject} through the Batch API: about {w.currency} "
            f"{_money(monthly)} a month ({discount:.0%} off)"
        ),
        monthly_saving=monthly.quantize(CENT),
        currency=w.currency,
        evidence={
            "cv_daily_tokens": round(cv, 3),
            "weekend_to_weekday_ratio": round(weekend_ratio, 3),
            "days_active": len(active),
            "window_days": len(ctx.window_days),
            "batch_discount_pct": round(float(discount) * 100, 1),
            "list_cost": _money(standard),
            "list_cost_batch": _money(batch),
            "ledger_cost": _money(current),
            "monthly_spend": _money(w.total("effective_cost") * ctx.month),
            "monthly_saving": _money(monthly),
            "method": (
                "steady daily volume, as busy at weekends as on weekdays (no sign of people "
                "waiting for answers): saving = ledger cost x the batch discount"
            ),
        },
    )


def _density(input_tokens: float, cached: float, output: float) -> float | None:
    return (input_tokens + cached + output) / output if output > 0 else None


def _token_bloat(
    team_workloads: list[Workload], book: PriceBook, cfg: AdviceConfig, ctx: _Context
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
            price = _price(book, w, day)
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
                    "monthly_spend": _money(w.total("effective_cost") * ctx.month),
                    "monthly_saving": _money(monthly),
                    "method": (
                        "team norm = token density of the team's other workloads; saving = "
                        "the prompt tokens above that norm at list input prices"
                    ),
                },
            )
        )
    return findings


# --- GPU (OpenCost) ------------------------------------------------------------------------

GPU_FIELDS = [
    "team_id",
    "billing_account_id",
    "resource_id",
    "resource_name",
    "application_key",
    "charge_period_start",
    "charge_period_end",
    "effective_cost",
    "billing_currency",
    "raw",
]


def _gpu_records(start: date, end: date) -> list[dict[str, Any]]:
    """OpenCost GPU allocations and idle capacity of the window.

    Reads CostRecord, not the rollups: GPU cost, efficiency and the billing windows a
    cold start is measured on live only in OpenCost's raw rows. Bounded by the day index and
    the provider, for one daily job.
    """
    qs = (
        CostRecord.objects.filter(day__gte=start, day__lt=end, provider=OPENCOST_PROVIDER)
        .annotate(gpu_f=Cast("gpu_hours", FloatField()))
        .filter(Q(resource_name=IDLE) | Q(gpu_f__gt=0))
    )
    out = []
    for r in qs.values(*GPU_FIELDS).iterator(chunk_size=5000):
        raw = r.pop("raw")
        try:
            data = json.loads(raw) if isinstance(raw, str) else (raw or {})
        except ValueError:
            data = {}
        gpu_cost = data.get("gpuCost") if isinstance(data, dict) else None
        efficiency = data.get("gpuEfficiency") if isinstance(data, dict) else None
        r["gpu_cost"] = Decimal(str(gpu_cost)) if gpu_cost is not None else Decimal(0)
        r["gpu_efficiency"] = float(efficiency) if efficiency is not None else None
        out.append(r)
    return out


def _gpu(records: list[dict[str, Any]], cfg: AdviceConfig, ctx: _Context) -> list[Finding]:
    findings: list[Finding] = []
    clusters: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(
        lambda: {"idle": Decimal(0), "total": Decimal(0)}
    )
    namespaces: dict[tuple[int, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        c = clusters[(r["billing_account_id"], r["billing_currency"])]
        c["total"] += r["gpu_cost"]
        if r["resource_name"] == IDLE:
            c["idle"] += r["gpu_cost"]
        elif r["team_id"] is not None and r["gpu_cost"] > 0:
            key = (
                r["team_id"],
                r["billing_account_id"],
                r["application_key"],
                r["billing_currency"],
            )
            namespaces[key].append(r)
    for (cluster, currency), c in sorted(clusters.items()):
        if c["total"] <= 0:
            continue
        share = c["idle"] / c["total"]
        excess = c["idle"] - c["total"] * Decimal(str(cfg.gpu_target_idle_share))
        monthly = excess * ctx.month
        if share < Decimal(str(cfg.gpu_idle_share)) or monthly < cfg.min_monthly_saving:
            continue
        findings.append(
            Finding(
                kind=Recommendation.Kind.GPU_IDLE,
                dedupe_key=f"gpu_idle:{cluster}:{currency}"[:300],
                team_id=None,
                subject=f"GPU pool of cluster {cluster}",
                title=(
                    f"Scale the GPU pool of {cluster} down: {share:.0%} of its GPU cost is idle, "
                    f"about {currency} {_money(monthly)} a month"
                ),
                monthly_saving=monthly.quantize(CENT),
                currency=currency,
                evidence={
                    "cluster": cluster,
                    "idle_gpu_cost": _money(c["idle"]),
                    "total_gpu_cost": _money(c["total"]),
                    "idle_share": round(float(share), 4),
                    "target_idle_share": cfg.gpu_target_idle_share,
                    "monthly_saving": _money(monthly),
                    "method": "saving = idle GPU cost above the target idle share, per month",
                },
            )
        )
    for (team_id, cluster, namespace, currency), rows in sorted(
        namespaces.items(), key=lambda kv: tuple(str(k) for k in kv[0])
    ):
        gpu_cost = sum((r["gpu_cost"] for r in rows), Decimal(0))
        subject = f"namespace {namespace or '?'} on {cluster}"
        base = f"{team_id}:{cluster}:{namespace}:{currency}"
        known = [r for r in rows if r["gpu_efficiency"] is not None]
        known_cost = sum((r["gpu_cost"] for r in known), Decimal(0))
        if known and known_cost > 0:
            efficiency = sum(float(r["gpu_cost"]) * r["gpu_efficiency"] for r in known)
            efficiency /= float(known_cost)
            cut = 1 - efficiency / cfg.gpu_target_efficiency
            monthly = gpu_cost * Decimal(str(cut)) * ctx.month
            if efficiency < cfg.gpu_low_efficiency and monthly >= cfg.min_monthly_saving:
                findings.append(
                    Finding(
                        kind=Recommendation.Kind.GPU_IDLE,
                        dedupe_key=f"gpu_overprovisioned:{base}"[:300],
                        team_id=team_id,
                        subject=subject,
                        title=(
                            f"Request fewer GPUs for {subject}: {efficiency:.0%} GPU "
                            f"efficiency, about {currency} {_money(monthly)} a month"
                        ),
                        monthly_saving=monthly.quantize(CENT),
                        currency=currency,
                        evidence={
                            "gpu_efficiency": round(efficiency, 4),
                            "target_efficiency": cfg.gpu_target_efficiency,
                            "gpu_cost": _money(gpu_cost),
                            "windows": len(rows),
                            "monthly_saving": _money(monthly),
                            "method": ("saving = GPU cost x (1 - efficiency / target efficiency)"),
                        },
                    )
                )
        windows = pd.DataFrame(
            [
                {
                    "resource_id": r["resource_id"],
                    "start": r["charge_period_start"],
                    "end": r["charge_period_end"],
                    "cost": float(r["gpu_cost"]),
                    "utilization": r["gpu_efficiency"],
                }
                for r in rows
            ]
        )
        cold = Decimal(str(kpis.gpu_cold_start_cost(windows)))
        share = cold / gpu_cost if gpu_cost else Decimal(0)
        monthly = cold * Decimal(str(cfg.gpu_cold_start_reducible)) * ctx.month
        if share >= Decimal(str(cfg.gpu_cold_start_share)) and monthly >= cfg.min_monthly_saving:
            findings.append(
                Finding(
                    kind=Recommendation.Kind.GPU_IDLE,
                    dedupe_key=f"gpu_cold_start:{base}"[:300],
                    team_id=team_id,
                    subject=subject,
                    title=(
                        f"Cut GPU cold starts of {subject}: {share:.0%} of its GPU cost is "
                        f"spent before first use, about {currency} {_money(monthly)} a month"
                    ),
                    monthly_saving=monthly.quantize(CENT),
                    currency=currency,
                    evidence={
                        "cold_start_cost": _money(cold),
                        "gpu_cost": _money(gpu_cost),
                        "cold_start_share": round(float(share), 4),
                        "assumed_reducible_share": cfg.gpu_cold_start_reducible,
                        "monthly_saving": _money(monthly),
                        "method": (
                            "GPU cold-start cost (metrics.economics.kpis.gpu_cold_start_cost); "
                            "saving "
                            "assumes warm pools / cached images remove the stated share"
                        ),
                    },
                )
            )
    return findings


# --- Orchestration -------------------------------------------------------------------------


@dataclass
class _Context:
    start: date
    end: date  # exclusive
    month: Decimal

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def window_days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days)]


def recommendations_find(
    *, as_of: date | None = None, config: AdviceConfig | None = None
) -> list[Finding]:
    """Every finding over the lookback window ending before `as_of` (default today). Pure
    reads: nothing is stored."""
    cfg = config or AdviceConfig.from_settings()
    end = as_of or timezone.localdate()
    ctx = _Context(
        end - timedelta(days=cfg.lookback_days),
        end,
        Decimal(30) / Decimal(cfg.lookback_days),
    )
    book = PriceBook.load()
    findings: list[Finding] = []
    by_team: dict[tuple[int, str], list[Workload]] = defaultdict(list)
    for w in _workloads(ctx.start, ctx.end, book):
        by_team[(w.team_id, w.currency)].append(w)
        for check in (_downsize, _caching, _batch):
            found = check(w, book, cfg, ctx)
            if found:
                findings.append(found)
    for team_workloads in by_team.values():
        findings.extend(_token_bloat(team_workloads, book, cfg, ctx))
    findings.extend(_gpu(_gpu_records(ctx.start, ctx.end), cfg, ctx))
    return findings


@dataclass
class RefreshResult:
    created: int = 0
    updated: int = 0
    reopened: int = 0
    kept_dismissed: int = 0
    kept_applied: int = 0
    removed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _upsert(f: Finding, result: RefreshResult) -> None:
    values = {
        "kind": f.kind,
        "team_id": f.team_id,
        "subject": f.subject[:300],
        "title": f.title[:300],
        "estimated_monthly_saving": f.monthly_saving,
        "currency": f.currency,
        "evidence": f.evidence,
    }
    with transaction.atomic():
        rec = Recommendation.objects.select_for_update().filter(dedupe_key=f.dedupe_key).first()
        if rec is None:
            try:
                with transaction.atomic():
                    Recommendation.objects.create(dedupe_key=f.dedupe_key, **values)
            except IntegrityError:
                return  # another worker created it first: its numbers are today's too
            result.created += 1
            return
        if rec.status == Recommendation.Status.APPLIED:
            result.kept_applied += 1
            return
        if rec.status == Recommendation.Status.DISMISSED:
            # updated_at is the dismissal time: a dismissed row is never written otherwise.
            if rec.updated_at > timezone.now() - timedelta(days=DISMISSAL_QUIET_DAYS):
                result.kept_dismissed += 1
                return
            values["evidence"] = {
                **f.evidence,
                "previous_dismissal": {
                    "reason": rec.dismissed_reason,
                    "by": str(rec.dismissed_by) if rec.dismissed_by else None,
                    "at": rec.updated_at.isoformat(),
                },
            }
            rec.status = Recommendation.Status.OPEN
            rec.dismissed_reason = ""
            rec.dismissed_by = None
            result.reopened += 1
        else:
            result.updated += 1
        for k, v in values.items():
            setattr(rec, k, v)
        rec.save()


def recommendation_refresh(
    *, as_of: date | None = None, config: AdviceConfig | None = None
) -> RefreshResult:
    """Find, then upsert every recommendation by dedupe key (see the module docstring).
    Safe to re-run; the beat task also keeps two runs from overlapping."""
    findings = recommendations_find(as_of=as_of, config=config)
    result = RefreshResult()
    for f in findings:
        _upsert(f, result)
    stale = (
        Recommendation.objects.filter(status=Recommendation.Status.OPEN)
        .exclude(dedupe_key__in=[f.dedupe_key for f in findings])
        .exclude(
            pk__in=RemediationAction.objects.filter(recommendation__isnull=False).values(
                "recommendation_id"
            )
        )
    )
    result.removed, _ = stale.delete()
    logger.info("recommendations refreshed: %s", result.as_dict())
    return result


def recommendation_dismiss(
    *, recommendation: Recommendation, user: User | AnonymousUser, reason: str
) -> Recommendation:
    """Dismiss a recommendation with a reason (required). Allowed for FinOps admins (change
    permission) and members of its team. Dismissing a dismissed one changes nothing; it
    stays quiet for 30 days."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why you dismiss this recommendation."})
    if not user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    allowed = user.has_perm("metrics.change_recommendation") or (
        recommendation.team_id is not None
        and Team.objects.visible_to(user).filter(pk=recommendation.team_id).exists()
    )
    if not allowed:
        raise PermissionDenied("You may not dismiss this recommendation.")
    with transaction.atomic():
        rec = Recommendation.objects.select_for_update().get(pk=recommendation.pk)
        if rec.status == Recommendation.Status.DISMISSED:
            return rec
        if rec.status == Recommendation.Status.APPLIED:
            raise ValidationError("This recommendation was applied; it cannot be dismissed.")
        rec.status = Recommendation.Status.DISMISSED
        rec.dismissed_reason = reason[:2000]
        rec.dismissed_by = user  # type: ignore[assignment]
        rec.save()
    logger.info("recommendation %s dismissed by %s: %s", rec.pk, user, reason)
    return rec


def suggested_action(rec: Recommendation) -> tuple[str, dict[str, Any]] | None:
    """The remediation action a recommendation suggests (kind, params), if any."""
    ev = rec.evidence or {}
    if rec.kind == Recommendation.Kind.DOWNSIZE and ev.get("model_to"):
        app = rec.subject.split(" on ", 1)[0]
        return RemediationAction.Kind.MODEL_ROUTE, {
            "application_key": "" if app == "all applications" else app,
            "provider": ev.get("provider"),
            "from_model": ev.get("model_from"),
            "to_model": ev.get("model_to"),
        }
    if rec.kind == Recommendation.Kind.GPU_IDLE and ev.get("cluster"):
        return RemediationAction.Kind.GPU_SCALE_DOWN, {
            "cluster": ev["cluster"],
            "target_idle_share": ev.get("target_idle_share"),
        }
    return None


def gpu_cold_start_spend(
    *, team_ids: Sequence[int] | None, start: date, end: date
) -> dict[str, Decimal]:
    """GPU cold-start cost (docs/definitions.md#gpu-cold-start-cost;
    metrics.economics.kpis.gpu_cold_start_cost) of the
    OpenCost GPU allocations of these teams (None: every team) over [start, end), per currency,
    summed per team, cluster and namespace as the cold-start recommendation measures it.
    Read-only."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in _gpu_records(start, end):
        if r["resource_name"] == IDLE or r["gpu_cost"] <= 0:
            continue
        if team_ids is not None and r["team_id"] not in team_ids:
            continue
        key = (r["team_id"], r["billing_account_id"], r["application_key"], r["billing_currency"])
        groups[key].append(r)
    out: dict[str, Decimal] = {}
    for (_team, _cluster, _ns, currency), rows in groups.items():
        windows = pd.DataFrame(
            [
                {
                    "resource_id": r["resource_id"],
                    "start": r["charge_period_start"],
                    "end": r["charge_period_end"],
                    "cost": float(r["gpu_cost"]),
                    "utilization": r["gpu_efficiency"],
                }
                for r in rows
            ]
        )
        cold = Decimal(str(kpis.gpu_cold_start_cost(windows))).quantize(CENT)
        out[currency] = out.get(currency, Decimal(0)) + cold
    return out
