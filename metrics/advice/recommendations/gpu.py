"""gpu_idle: OpenCost `__idle__` GPU cost share of a cluster, namespaces with low GPU efficiency,
and cold-start-heavy namespaces (docs/definitions.md#gpu-cold-start-cost); and the cold-start
spend the bot shows, measured the same way.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
from django.db.models import FloatField, Q
from django.db.models.functions import Cast

from metrics.advice.recommendations.workloads import (
    CENT,
    AdviceConfig,
    Context,
    Finding,
    money_text,
)
from metrics.economics import kpis
from metrics.models import CostRecord, Recommendation
from metrics.money import format_money

OPENCOST_PROVIDER = "kubernetes"
IDLE = "__idle__"

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


def gpu_records(start: date, end: date) -> list[dict[str, Any]]:
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


def cold_start_cost(rows: list[dict[str, Any]]) -> Decimal:
    """GPU cold-start cost (`kpis.gpu_cold_start_cost`) of `gpu_records` rows, measured on
    their OpenCost billing windows; the recommendations and the board report both use it."""
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
    return Decimal(str(kpis.gpu_cold_start_cost(windows)))


def find(records: list[dict[str, Any]], cfg: AdviceConfig, ctx: Context) -> list[Finding]:
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
                    f"about {format_money(monthly, currency)} a month"
                ),
                monthly_saving=monthly.quantize(CENT),
                currency=currency,
                evidence={
                    "cluster": cluster,
                    "idle_gpu_cost": money_text(c["idle"]),
                    "total_gpu_cost": money_text(c["total"]),
                    "idle_share": round(float(share), 4),
                    "target_idle_share": cfg.gpu_target_idle_share,
                    "monthly_saving": money_text(monthly),
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
                            f"efficiency, about {format_money(monthly, currency)} a month"
                        ),
                        monthly_saving=monthly.quantize(CENT),
                        currency=currency,
                        evidence={
                            "gpu_efficiency": round(efficiency, 4),
                            "target_efficiency": cfg.gpu_target_efficiency,
                            "gpu_cost": money_text(gpu_cost),
                            "windows": len(rows),
                            "monthly_saving": money_text(monthly),
                            "method": ("saving = GPU cost x (1 - efficiency / target efficiency)"),
                        },
                    )
                )
        cold = cold_start_cost(rows)
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
                        f"spent before first use, about {format_money(monthly, currency)} a month"
                    ),
                    monthly_saving=monthly.quantize(CENT),
                    currency=currency,
                    evidence={
                        "cold_start_cost": money_text(cold),
                        "gpu_cost": money_text(gpu_cost),
                        "cold_start_share": round(float(share), 4),
                        "assumed_reducible_share": cfg.gpu_cold_start_reducible,
                        "monthly_saving": money_text(monthly),
                        "method": (
                            "GPU cold-start cost (metrics.economics.kpis.gpu_cold_start_cost); "
                            "saving "
                            "assumes warm pools / cached images remove the stated share"
                        ),
                    },
                )
            )
    return findings


def gpu_cold_start_spend(
    *, team_ids: Sequence[int] | None, start: date, end: date
) -> dict[str, Decimal]:
    """GPU cold-start cost (docs/definitions.md#gpu-cold-start-cost;
    metrics.economics.kpis.gpu_cold_start_cost) of the
    OpenCost GPU allocations of these teams (None: every team) over [start, end), per currency,
    summed per team, cluster and namespace as the cold-start recommendation measures it.
    Read-only."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in gpu_records(start, end):
        if r["resource_name"] == IDLE or r["gpu_cost"] <= 0:
            continue
        if team_ids is not None and r["team_id"] not in team_ids:
            continue
        key = (r["team_id"], r["billing_account_id"], r["application_key"], r["billing_currency"])
        groups[key].append(r)
    out: dict[str, Decimal] = {}
    for (_team, _cluster, _ns, currency), rows in groups.items():
        cold = cold_start_cost(rows).quantize(CENT)
        out[currency] = out.get(currency, Decimal(0)) + cold
    return out
