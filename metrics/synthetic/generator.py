"""Synthetic multi-provider AI usage for demos, load tests and benchmarks.

`generate(...)` writes either the providers' NATIVE formats (OpenAI usage and costs pages,
Anthropic usage and cost reports, AWS CUR 2.0 with Bedrock lines, an Azure cost export with
Azure OpenAI meters, a GCP billing export with Vertex AI lines, an OpenCost allocation
response) or one FOCUS 1.2 CSV with this product's `x_` AI columns.

How the numbers are made:
- Teams are named after the demo teams (ml-platform, search, support-assistant, team-4, ...).
  Each team has a few *streams*: one workload on one model (or one Kubernetes namespace).
- Every day each stream is split into the same number of rows (its API keys, pods, ...) so
  the output has about `rows` rows. Volume follows a weekly cycle (weekdays higher), a slow
  upward trend and lognormal noise; a few stream-days spike 4-8x (material for anomaly demos).
- support-assistant sends short, near-identical prompts to a frontier model (Claude Opus):
  the pattern a downsizing recommendation should catch.
- Money is exact: token counts times prices are integers in units of 1e-10 USD, written as
  decimal strings with at most 10 decimal places. The same seed, days and end date give the
  same bytes.

The FOCUS writer is vectorized (numpy + pyarrow) and streams CHUNK_ROWS rows at a time, so a
few million rows take seconds and bounded memory.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from metrics.ledger.providers import display_name

CHUNK_ROWS = 250_000
MONEY_SCALE = 10  # money is computed in integer units of 1e-10 USD
GPU_HOUR_SCALE = 4  # GPU hours in integer units of 1e-4 hour
DEMO_TEAMS = ["ml-platform", "search", "support-assistant"]

# Weekday volume factors, Monday first: weekdays busy, weekends quiet.
WEEKLY = np.array([1.0, 1.06, 1.05, 1.0, 0.9, 0.42, 0.36])


@dataclass(frozen=True)
class Offering:
    key: str
    provider: str  # the ledger's provider key
    model: str
    # Price per 1M tokens in USD: input, cached input (cache read), cache write, output.
    # For "gpu" offerings `input` is the price of one GPU hour.
    prices: tuple[str, str, str, str]
    kind: str = "tokens"  # tokens | embeddings | gpu | cpu


# Illustrative list prices (USD per 1M tokens; GPU per hour) as the providers published them in
# early 2025, checked 2025-03-01. They make demo data plausible; they are not a price catalog.
OFFERINGS = {
    o.key: o
    for o in [
        Offering("gpt-4o", "openai", "gpt-4o-2024-08-06", ("2.50", "1.25", "0", "10.00")),
        Offering("gpt-4o-mini", "openai", "gpt-4o-mini-2024-07-18", ("0.15", "0.075", "0", "0.60")),
        Offering("o3-mini", "openai", "o3-mini-2025-01-31", ("1.10", "0.55", "0", "4.40")),
        Offering(
            "embed-3-small",
            "openai",
            "text-embedding-3-small",
            ("0.02", "0", "0", "0"),
            kind="embeddings",
        ),
        Offering(
            "claude-opus-4",
            "anthropic",
            "claude-opus-4-20250514",
            ("15", "1.50", "18.75", "75"),
        ),
        Offering(
            "claude-sonnet-4", "anthropic", "claude-sonnet-4-20250514", ("3", "0.30", "3.75", "15")
        ),
        Offering(
            "claude-haiku-3.5", "anthropic", "claude-3-5-haiku-20241022", ("0.80", "0.08", "1", "4")
        ),
        Offering(
            "bedrock-claude-3.5-sonnet",
            "aws",
            "anthropic.claude-3-5-sonnet-20241022-v2:0",
            ("3", "0.30", "3.75", "15"),
        ),
        Offering(
            "bedrock-nova-lite", "aws", "amazon.nova-lite-v1:0", ("0.06", "0.015", "0", "0.24")
        ),
        Offering("azure-gpt-4o", "azure", "gpt-4o-2024-08-06", ("2.50", "1.25", "0", "10.00")),
        Offering(
            "azure-gpt-4o-mini", "azure", "gpt-4o-mini-2024-07-18", ("0.15", "0.075", "0", "0.60")
        ),
        Offering("gemini-2.0-flash", "gcp", "gemini-2.0-flash-001", ("0.10", "0.025", "0", "0.40")),
        Offering("gemini-1.5-pro", "gcp", "gemini-1.5-pro-002", ("1.25", "0.3125", "0", "5.00")),
        # On-demand A100 40GB GPU hour (a2-highgpu class); CPU namespaces cost per day below.
        Offering(
            "k8s-gpu", "kubernetes", "nvidia-tesla-a100", ("2.933908", "0", "0", "0"), kind="gpu"
        ),
        Offering("k8s-cpu", "kubernetes", "", ("0", "0", "0", "0"), kind="cpu"),
    ]
}


@dataclass(frozen=True)
class Stream:
    team: str
    offering: Offering
    requests: float = 0.0  # per weekday
    prompt: float = 0.0  # mean input tokens per request (cached part included)
    output: float = 0.0  # mean output tokens per request
    spread: float = 0.5  # lognormal sigma of tokens per request: low = uniform prompts
    cache_read: float = 0.0  # share of input read from the prompt cache
    cache_write: float = 0.0  # share of input written to the cache
    gpus: float = 0.0  # GPUs busy all day (gpu streams)
    daily_usd: float = 0.0  # cost per day (cpu namespaces)
    namespace: str = ""


def team_slugs(count: int) -> list[str]:
    return (DEMO_TEAMS + [f"team-{i}" for i in range(4, count + 1)])[: max(count, 1)]


def build_streams(teams: list[str], rng: np.random.Generator) -> list[Stream]:
    o = OFFERINGS
    known: dict[str, list[Stream]] = {
        "ml-platform": [
            Stream("ml-platform", o["o3-mini"], 6_000, 2_800, 1_900, 0.6, 0.25),
            Stream("ml-platform", o["gpt-4o"], 9_000, 3_500, 350, 0.5, 0.35),
            Stream("ml-platform", o["claude-sonnet-4"], 4_000, 6_000, 800, 0.5, 0.45, 0.05),
            Stream("ml-platform", o["bedrock-nova-lite"], 20_000, 1_200, 200, 0.4, 0.1),
            Stream("ml-platform", o["azure-gpt-4o"], 3_000, 2_000, 400, 0.5, 0.2),
            Stream("ml-platform", o["gemini-1.5-pro"], 2_500, 8_000, 600, 0.6, 0.2),
            Stream("ml-platform", o["k8s-gpu"], gpus=4, namespace="ml-training"),
        ],
        "search": [
            Stream("search", o["embed-3-small"], 400_000, 350, 0, 0.3),
            Stream("search", o["gpt-4o-mini"], 60_000, 1_500, 150, 0.4, 0.3),
            Stream("search", o["gemini-2.0-flash"], 80_000, 900, 120, 0.4, 0.15),
            Stream("search", o["bedrock-claude-3.5-sonnet"], 5_000, 2_500, 300, 0.5, 0.3, 0.04),
            Stream("search", o["k8s-cpu"], daily_usd=45, namespace="search-api"),
        ],
        # A frontier model on short, near-identical prompts: a downsizing candidate.
        "support-assistant": [
            Stream("support-assistant", o["claude-opus-4"], 30_000, 420, 110, 0.04),
            Stream("support-assistant", o["azure-gpt-4o-mini"], 25_000, 800, 150, 0.3, 0.2),
            Stream("support-assistant", o["k8s-cpu"], daily_usd=12, namespace="support-bot"),
        ],
    }
    token_offerings = [k for k, v in o.items() if v.kind in ("tokens", "embeddings")]
    streams: list[Stream] = []
    for team in teams:
        if team in known:
            streams.extend(known[team])
            continue
        scale = float(rng.uniform(0.1, 1.0))
        for key in rng.choice(token_offerings, size=int(rng.integers(2, 5)), replace=False):
            offering = o[str(key)]
            embeddings = offering.kind == "embeddings"
            streams.append(
                Stream(
                    team,
                    offering,
                    requests=float(rng.uniform(2_000, 40_000)) * scale * (10 if embeddings else 1),
                    prompt=float(rng.uniform(300, 4_000)),
                    output=0.0 if embeddings else float(rng.uniform(80, 900)),
                    spread=float(rng.uniform(0.2, 0.7)),
                    cache_read=float(rng.uniform(0, 0.4)),
                    cache_write=float(rng.uniform(0, 0.05))
                    if offering.provider == "anthropic"
                    else 0,
                )
            )
        streams.append(
            Stream(team, o["k8s-cpu"], daily_usd=float(rng.uniform(5, 60)), namespace=f"{team}-svc")
        )
    return streams


@dataclass
class Plan:
    days: list[date]
    streams: list[Stream]
    shards: int  # rows per stream per day
    rows: int
    seed: int
    spikes: dict[tuple[int, int], float] = field(default_factory=dict)  # (day, stream) -> factor

    @property
    def rows_per_day(self) -> int:
        return len(self.streams) * self.shards


def make_plan(*, days: int, teams: int, rows: int, seed: int, end: date | None = None) -> Plan:
    """What to generate. `rows` is a target: at least one row per stream and day."""
    if days < 1 or teams < 1 or rows < 1:
        raise ValueError("--days, --teams and --rows must be positive")
    rng = np.random.default_rng([seed, 0])
    streams = build_streams(team_slugs(teams), rng)
    last = end or datetime.now(UTC).date()
    day_list = [last - timedelta(days=days - i) for i in range(days)]
    shards = max(1, -(-rows // (days * len(streams))))
    total = max(rows, days * len(streams))
    spikes: dict[tuple[int, int], float] = {}
    token_streams = [i for i, s in enumerate(streams) if s.offering.kind == "tokens"]
    first = min(7, days - 1)  # a week of normal days first, when there is one
    for _ in range(min(3, max(1, days // 10))):
        day = int(rng.integers(first, days))
        spikes[(day, int(rng.choice(token_streams)))] = float(rng.uniform(4, 8))
    return Plan(day_list, streams, shards, min(total, days * len(streams) * shards), seed, spikes)


# --- facts: one columnar chunk of usage rows -----------------------------------------------


@dataclass
class Facts:
    day: np.ndarray  # index into plan.days
    stream: np.ndarray  # index into plan.streams
    shard: np.ndarray
    requests: np.ndarray
    input_tokens: np.ndarray  # uncached input
    cached_tokens: np.ndarray
    cache_write_tokens: np.ndarray
    output_tokens: np.ndarray
    gpu_hours: np.ndarray  # units of 1e-4 hour
    # cost components in units of 1e-10 USD
    input_cost: np.ndarray
    cached_cost: np.ndarray
    write_cost: np.ndarray
    output_cost: np.ndarray
    other_cost: np.ndarray  # GPU hours, CPU namespaces

    @property
    def cost(self) -> np.ndarray:
        return (
            self.input_cost
            + self.cached_cost
            + self.write_cost
            + self.output_cost
            + self.other_cost
        )

    def take(self, mask: np.ndarray) -> Facts:
        return Facts(**{k: v[mask] for k, v in self.__dict__.items()})


def _price_units(price: str, per: int) -> int:
    """A price per `per` units as an integer count of 1e-10 USD per unit (exact)."""
    value = Decimal(price) * 10**MONEY_SCALE / per
    if value != value.to_integral_value():
        raise ValueError(f"price {price} per {per} is finer than 1e-10 USD")
    return int(value)


def iter_facts(plan: Plan, chunk_rows: int = CHUNK_ROWS) -> Iterator[Facts]:
    n_streams = len(plan.streams)
    s = plan.streams
    kind = np.array([x.offering.kind for x in s])
    requests = np.array([x.requests for x in s])
    prompt = np.array([x.prompt for x in s])
    output = np.array([x.output for x in s])
    spread = np.array([x.spread for x in s])
    cache_read = np.array([x.cache_read for x in s])
    cache_write = np.array([x.cache_write for x in s])
    gpus = np.array([x.gpus for x in s])
    daily_usd = np.array([x.daily_usd for x in s])
    per_token = np.array(
        [
            [
                _price_units(p, 1_000_000) if x.offering.kind != "gpu" else 0
                for p in x.offering.prices
            ]
            for x in s
        ],
        dtype=np.int64,
    )
    gpu_rate = np.array([_price_units(x.offering.prices[0], 10**GPU_HOUR_SCALE) for x in s])
    weekday = np.array([d.weekday() for d in plan.days])
    season = WEEKLY[weekday] * (1 + 0.004 * np.arange(len(plan.days)))
    spike = np.ones((len(plan.days), n_streams))
    for (d, st), factor in plan.spikes.items():
        spike[d, st] = factor

    for number, start in enumerate(range(0, plan.rows, chunk_rows)):
        rng = np.random.default_rng([plan.seed, 1, number])
        i = np.arange(start, min(start + chunk_rows, plan.rows))
        day, slot = np.divmod(i, plan.rows_per_day)
        shard, stream = np.divmod(slot, n_streams)
        n = len(i)
        k = kind[stream]
        tokens = (k == "tokens") | (k == "embeddings")
        volume = season[day] * spike[day, stream] / plan.shards * rng.lognormal(0, 0.3, n)
        req = np.where(tokens, np.maximum(1, np.rint(requests[stream] * volume)), 0).astype(
            np.int64
        )
        sigma = spread[stream] / 3  # per-row mean of many requests varies less than one request
        total_in = np.rint(req * prompt[stream] * rng.lognormal(0, sigma, n)).astype(np.int64)
        out = np.rint(req * output[stream] * rng.lognormal(0, sigma, n)).astype(np.int64)
        cached = np.rint(total_in * cache_read[stream] * rng.uniform(0.8, 1.2, n)).astype(np.int64)
        written = np.rint(total_in * cache_write[stream] * rng.uniform(0.8, 1.2, n)).astype(
            np.int64
        )
        written = np.minimum(written, total_in - cached)
        uncached = total_in - cached - written
        # GPUs run around the clock; utilization wobbles a little.
        gpu_hours = np.where(
            k == "gpu",
            np.rint(
                gpus[stream] * 24 / plan.shards * rng.uniform(0.92, 1.0, n) * 10**GPU_HOUR_SCALE
            ),
            0,
        ).astype(np.int64)
        cpu_cost = np.where(
            k == "cpu",
            np.rint(daily_usd[stream] / plan.shards * rng.lognormal(0, 0.1, n) * 1e6),
            0,
        ).astype(np.int64) * 10 ** (MONEY_SCALE - 6)
        price = per_token[stream]
        yield Facts(
            day=day,
            stream=stream,
            shard=shard,
            requests=req,
            input_tokens=uncached,
            cached_tokens=cached,
            cache_write_tokens=written,
            output_tokens=out,
            gpu_hours=gpu_hours,
            input_cost=uncached * price[:, 0],
            cached_cost=cached * price[:, 1],
            write_cost=written * price[:, 2],
            output_cost=out * price[:, 3],
            other_cost=gpu_hours * gpu_rate[stream] + cpu_cost,
        )


def money_text(units: Any, scale: int = MONEY_SCALE) -> str:
    """Integer units of 10**-scale as a plain decimal string ("0.0000025", "12")."""
    return format(Decimal(int(units)).scaleb(-scale).normalize(), "f")


def _money_array(units: np.ndarray, scale: int = MONEY_SCALE) -> pa.Array:
    """Vectorized money_text: decimal128 from the scaled integers, trailing zeros trimmed."""
    n = len(units)
    words = np.zeros((n, 2), dtype="<i8")
    words[:, 0] = units
    words[:, 1] = np.where(units < 0, -1, 0)  # two's complement high word
    decimals = pa.Array.from_buffers(
        pa.decimal128(38, scale), n, [None, pa.py_buffer(words.tobytes())]
    )
    text = pc.utf8_rtrim(pc.utf8_rtrim(pc.cast(decimals, pa.string()), "0"), ".")
    zero = pc.equal(pa.array(units), 0)
    return pc.if_else(zero, pa.scalar("0"), text)


# --- who is who: stable ids per team and stream --------------------------------------------


def _hex(*parts: object, n: int = 12) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:n]


def _digits(*parts: object, n: int = 12) -> str:
    return str(int(_hex(*parts, n=16), 16))[:n].rjust(n, "1")


def _guid(*parts: object) -> str:
    h = _hex(*parts, n=32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


AWS_PAYER = "123456789012"
AZURE_BILLING_ACCOUNT = "8611537"
GCP_BILLING_ACCOUNT = "01A2B3-C4D5E6-F7A8B9"
OPENAI_ORG = "org-Demo4FinOps2025"
ANTHROPIC_ORG = "anthropic"
CLUSTER = "prod-gke-us-central1"


def openai_project(team: str) -> str:
    return f"proj_{team}-{_hex('openai', team, n=6)}"


def anthropic_workspace(team: str) -> str:
    return f"wrkspc_{_hex('anthropic', team, n=24)}"


def aws_account(team: str) -> str:
    return _digits("aws", team)


def azure_subscription(team: str) -> str:
    return _guid("azure", team)


def gcp_project(team: str) -> str:
    return f"{team}-prod-{_digits('gcp', team, n=4)}"


def namespace_of(stream: Stream) -> str:
    return stream.namespace or f"{stream.team}-svc"


# --- FOCUS 1.2 ------------------------------------------------------------------------------

FOCUS_COLUMNS = [
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "CapacityReservationId",
    "CapacityReservationStatus",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
]
X_COLUMNS = [
    "x_Provider",
    "x_Model",
    "x_InputTokens",
    "x_CachedInputTokens",
    "x_CacheWriteTokens",
    "x_OutputTokens",
    "x_ModelRequests",
    "x_GpuHours",
    "x_ApplicationKey",
]

SERVICE_NAMES = {
    "openai": "OpenAI API",
    "anthropic": "Claude API",
    "aws": "Amazon Bedrock",
    "azure": "Azure OpenAI",
    "gcp": "Vertex AI",
    "kubernetes": "Kubernetes",
}
REGIONS = {
    "aws": ("us-east-1", "US East (N. Virginia)"),
    "azure": ("eastus", "East US"),
    "gcp": ("us-central1", "Iowa"),
    "kubernetes": ("us-central1", "Iowa"),
}


def _stream_focus_attributes(stream: Stream) -> dict[str, str]:
    """FOCUS text columns that are the same on every row of a stream."""
    o, team = stream.offering, stream.team
    provider_name, service_name = display_name(o.provider), SERVICE_NAMES[o.provider]
    region_id, region_name = REGIONS.get(o.provider, ("", ""))
    attrs = {
        "ProviderName": provider_name,
        "InvoiceIssuerName": provider_name,
        "PublisherName": display_name("anthropic") if "claude" in o.model else provider_name,
        "ServiceName": service_name,
        "ServiceCategory": "AI and Machine Learning" if o.kind != "cpu" else "Compute",
        "ServiceSubcategory": {"gpu": "Machine Learning", "cpu": "Containers"}.get(
            o.kind, "Generative AI"
        ),
        "RegionId": region_id,
        "RegionName": region_name,
        "x_Provider": o.provider,
        "x_Model": o.model,
        "Tags": json.dumps({"team": team}),
        "ChargeDescription": f"{o.model or 'Compute'} usage by {team}",
        "SkuMeter": {"gpu": "GPU Hours", "cpu": "Compute"}.get(o.kind, "Tokens"),
        "PricingUnit": {"gpu": "Hours", "cpu": "Days"}.get(o.kind, "Tokens"),
    }
    ids: dict[str, tuple[str, str, str, str, str, str]] = {
        # provider: account id, account name, account type, sub id, sub name, sub type
        "openai": (OPENAI_ORG, "Demo Co", "Organization", openai_project(team), team, "Project"),
        "anthropic": (
            ANTHROPIC_ORG,
            "Demo Co",
            "Organization",
            anthropic_workspace(team),
            team,
            "Workspace",
        ),
        "aws": (AWS_PAYER, "demo-payer", "Payer Account", aws_account(team), team, "Account"),
        "azure": (
            AZURE_BILLING_ACCOUNT,
            "Demo Co",
            "Billing Account",
            azure_subscription(team),
            f"{team}-ai",
            "Subscription",
        ),
        "gcp": (
            GCP_BILLING_ACCOUNT,
            "Demo Co",
            "Billing Account",
            gcp_project(team),
            gcp_project(team),
            "Project",
        ),
        "kubernetes": (
            CLUSTER,
            CLUSTER,
            "Kubernetes cluster",
            namespace_of(stream),
            namespace_of(stream),
            "Kubernetes namespace",
        ),
    }
    keys = [
        "BillingAccountId",
        "BillingAccountName",
        "BillingAccountType",
        "SubAccountId",
        "SubAccountName",
        "SubAccountType",
    ]
    attrs.update(zip(keys, ids[o.provider], strict=True))
    attrs["x_ApplicationKey"] = attrs["SubAccountId"]
    attrs["SkuId"] = f"{o.provider}:{o.model or o.key}"
    return attrs


def _resource(stream: Stream, shard: int) -> tuple[str, str, str]:
    """ResourceId, ResourceName, ResourceType of one row (shard = API key, pod, ...)."""
    o, team = stream.offering, stream.team
    if o.provider == "openai":
        key = f"key_{_hex('openai-key', team, o.key, shard, n=16)}"
        return key, key, "API key"
    if o.provider == "anthropic":
        key = f"apikey_{_hex('anthropic-key', team, shard, n=24)}"
        return key, key, "API key"
    if o.provider == "aws":
        arn = f"arn:aws:bedrock:us-east-1::foundation-model/{o.model}"
        return arn, o.model, "Foundation model"
    if o.provider == "azure":
        name = f"aoai-{team}-{shard}"
        rid = (
            f"/subscriptions/{azure_subscription(team)}/resourceGroups/rg-{team}-ai/providers/"
            f"Microsoft.CognitiveServices/accounts/{name}"
        )
        return rid, name, "microsoft.cognitiveservices/accounts"
    if o.provider == "gcp":
        rid = (
            f"projects/{gcp_project(team)}/locations/us-central1/publishers/google/models/{o.model}"
        )
        return rid, o.model, "Vertex AI model"
    workload = f"{namespace_of(stream)}/worker-{shard}"
    return f"{CLUSTER}/{workload}", workload, "Kubernetes workload"


def _dict_column(codes: np.ndarray, values: list[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(values))


def write_focus(plan: Plan, path: Path) -> int:
    """One FOCUS 1.2 CSV (plus x_ AI columns) with plan.rows rows; returns the row count."""
    streams = plan.streams
    attrs = [_stream_focus_attributes(s) for s in streams]
    kinds = np.array([s.offering.kind for s in streams])
    resources = [
        _resource(s, shard) for shard in range(plan.shards) for s in streams
    ]  # index: shard * len(streams) + stream
    day_start = [datetime.combine(d, datetime.min.time(), tzinfo=UTC) for d in plan.days]
    iso = "%Y-%m-%dT%H:%M:%SZ"
    charge_start = [d.strftime(iso) for d in day_start]
    charge_end = [(d + timedelta(days=1)).strftime(iso) for d in day_start]
    period_start = [d.replace(day=1).strftime(iso) for d in day_start]
    period_end = [
        (d.replace(day=1) + timedelta(days=32)).replace(day=1).strftime(iso) for d in day_start
    ]
    names = FOCUS_COLUMNS + X_COLUMNS
    schema: pa.Schema | None = None
    written = 0
    options = pacsv.WriteOptions(quoting_style="needed")
    with path.open("wb") as sink:
        writer: pacsv.CSVWriter | None = None
        for facts in iter_facts(plan):
            n = len(facts.day)
            cost = _money_array(facts.cost)
            tokens = (
                facts.input_tokens
                + facts.cached_tokens
                + facts.cache_write_tokens
                + facts.output_tokens
            )
            kind = kinds[facts.stream]
            # Quantities in units of 1e-4: GPU hours, days of a CPU namespace, or tokens.
            quantity = _money_array(
                np.where(
                    kind == "gpu",
                    facts.gpu_hours,
                    np.where(
                        kind == "cpu",
                        round(10**GPU_HOUR_SCALE / plan.shards),
                        tokens * 10**GPU_HOUR_SCALE,
                    ),
                ),
                GPU_HOUR_SCALE,
            )
            res = facts.shard * len(streams) + facts.stream
            blank = pa.nulls(n, pa.string())
            columns: dict[str, pa.Array] = {
                name: _dict_column(facts.stream, [a[name] for a in attrs]) for name in attrs[0]
            }
            columns.update(
                {
                    "BilledCost": cost,
                    "EffectiveCost": cost,
                    "ListCost": cost,
                    "ContractedCost": cost,
                    "PricingCurrencyEffectiveCost": cost,
                    "BillingCurrency": pa.repeat(pa.scalar("USD"), n),
                    "PricingCurrency": pa.repeat(pa.scalar("USD"), n),
                    "ChargeCategory": pa.repeat(pa.scalar("Usage"), n),
                    "ChargeFrequency": pa.repeat(pa.scalar("Usage-Based"), n),
                    "PricingCategory": pa.repeat(pa.scalar("Standard"), n),
                    "ChargePeriodStart": _dict_column(facts.day, charge_start),
                    "ChargePeriodEnd": _dict_column(facts.day, charge_end),
                    "BillingPeriodStart": _dict_column(facts.day, period_start),
                    "BillingPeriodEnd": _dict_column(facts.day, period_end),
                    "ResourceId": _dict_column(res, [r[0] for r in resources]),
                    "ResourceName": _dict_column(res, [r[1] for r in resources]),
                    "ResourceType": _dict_column(res, [r[2] for r in resources]),
                    "PricingQuantity": quantity,
                    "ConsumedQuantity": quantity,
                    "ConsumedUnit": _dict_column(facts.stream, [a["PricingUnit"] for a in attrs]),
                    "x_InputTokens": pa.array(facts.input_tokens),
                    "x_CachedInputTokens": pa.array(facts.cached_tokens),
                    "x_CacheWriteTokens": pa.array(facts.cache_write_tokens),
                    "x_OutputTokens": pa.array(facts.output_tokens),
                    "x_ModelRequests": pa.array(facts.requests),
                    "x_GpuHours": _money_array(facts.gpu_hours, GPU_HOUR_SCALE),
                }
            )
            table = pa.table({name: columns.get(name, blank) for name in names})
            if writer is None:
                schema = table.schema
                writer = pacsv.CSVWriter(sink, schema, write_options=options)
            writer.write_table(table.cast(schema))
            written += n
        if writer is not None:
            writer.close()
    return written


# --- native formats -------------------------------------------------------------------------

Record = dict[str, Any]


def _records(facts: Facts, plan: Plan, provider: str) -> list[Record]:
    """One provider's facts as plain rows, with the stream's team and offering resolved."""
    mine = np.array([s.offering.provider == provider for s in plan.streams])[facts.stream]
    part = facts.take(mine)
    columns = {k: v.tolist() for k, v in part.__dict__.items()}
    rows: list[Record] = []
    for i in range(len(part.day)):
        row = {k: v[i] for k, v in columns.items()}
        stream = plan.streams[row["stream"]]
        row.update(
            date=plan.days[row["day"]],
            team=stream.team,
            offering=stream.offering,
            resource=_resource(stream, row["shard"]),
        )
        rows.append(row)
    return rows


def _by_day(rows: list[Record]) -> list[tuple[date, list[Record]]]:
    days: dict[date, list[Record]] = {}
    for row in rows:
        days.setdefault(row["date"], []).append(row)
    return sorted(days.items())


def _sums(rows: list[Record], keys: tuple[str, ...], fields: list[str]) -> dict[tuple, Record]:
    totals: dict[tuple, Record] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        total = totals.setdefault(key, {f: 0 for f in fields})
        for f in fields:
            total[f] += row[f]
    return totals


def _json_dump(obj: Any, path: Path) -> None:
    """JSON with Decimal written as plain JSON numbers (exact text, no float)."""

    def encode(value: Any) -> str:
        if isinstance(value, Decimal):
            return f"@@num:{format(value, 'f')}@@"
        raise TypeError(type(value).__name__)

    text = json.dumps(obj, indent=1, default=encode)
    path.write_text(re.sub(r'"@@num:([-0-9.]+)@@"', r"\1", text) + "\n")


def _unix(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), tzinfo=UTC).timestamp())


def _rfc3339(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _month(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1)


def _page(buckets: list[Record]) -> Record:
    return {"object": "page", "data": buckets, "has_more": False, "next_page": None}


def _openai_bucket(day: date, results: list[Record]) -> Record:
    return {
        "object": "bucket",
        "start_time": _unix(day),
        "end_time": _unix(day + timedelta(days=1)),
        "results": results,
    }


def _openai_pages(rows: list[Record]) -> list[Record]:
    """Usage pages (completions, embeddings) and a costs page: one connector pull."""
    pages = []
    for endpoint in ("completions", "embeddings"):
        kind = "tokens" if endpoint == "completions" else "embeddings"
        buckets = []
        for day, day_rows in _by_day([r for r in rows if r["offering"].kind == kind]):
            results = []
            for r in day_rows:
                result: Record = {
                    "object": f"organization.usage.{endpoint}.result",
                    # OpenAI's input_tokens include the cached ones
                    "input_tokens": r["input_tokens"] + r["cached_tokens"],
                    "num_model_requests": r["requests"],
                    "project_id": openai_project(r["team"]),
                    "user_id": None,
                    "api_key_id": r["resource"][0],
                    "model": r["offering"].model,
                }
                if endpoint == "completions":
                    result.update(
                        output_tokens=r["output_tokens"],
                        batch=None,
                        input_cached_tokens=r["cached_tokens"],
                        input_audio_tokens=0,
                        output_audio_tokens=0,
                    )
                results.append(result)
            buckets.append(_openai_bucket(day, results))
        pages.append(_page(buckets))
    # Costs: per day, project and line item (API keys are not a costs grouping).
    parts = {"input": "input_cost", "cached input": "cached_cost", "output": "output_cost"}
    buckets = []
    for day, day_rows in _by_day(rows):
        results = []
        sums = _sums(day_rows, ("team", "offering"), list(parts.values()))
        for (team, offering), amounts in sorted(sums.items(), key=lambda kv: kv[0][0]):
            for label, column in parts.items():
                if amounts[column]:
                    results.append(
                        {
                            "object": "organization.costs.result",
                            "amount": {
                                "value": Decimal(money_text(amounts[column])),
                                "currency": "usd",
                            },
                            "line_item": f"{offering.model}, {label}",
                            "project_id": openai_project(team),
                        }
                    )
        buckets.append(_openai_bucket(day, results))
    pages.append(_page(buckets))
    return pages


ANTHROPIC_TOKEN_TYPES = {
    "uncached_input_tokens": ("input_cost", "Input Tokens"),
    "output_tokens": ("output_cost", "Output Tokens"),
    "cache_read_input_tokens": ("cached_cost", "Cache Read"),
    "cache_creation.ephemeral_5m_input_tokens": ("write_cost", "Cache Write (5m)"),
}


def _anthropic_pages(rows: list[Record]) -> list[Record]:
    usage, costs = [], []
    for day, day_rows in _by_day(rows):
        span = {"starting_at": _rfc3339(day), "ending_at": _rfc3339(day + timedelta(days=1))}
        results = [
            {
                "api_key_id": r["resource"][0],
                "cache_creation": {
                    "ephemeral_1h_input_tokens": 0,
                    "ephemeral_5m_input_tokens": r["cache_write_tokens"],
                },
                "cache_read_input_tokens": r["cached_tokens"],
                "context_window": "0-200k",
                "model": r["offering"].model,
                "output_tokens": r["output_tokens"],
                "server_tool_use": {"web_search_requests": 0},
                "service_tier": "standard",
                "uncached_input_tokens": r["input_tokens"],
                "workspace_id": anthropic_workspace(r["team"]),
            }
            for r in day_rows
        ]
        usage.append({**span, "results": results})
        columns = [column for column, _ in ANTHROPIC_TOKEN_TYPES.values()]
        cost_results = []
        sums = _sums(day_rows, ("team", "offering"), columns)
        for (team, offering), amounts in sorted(sums.items(), key=lambda kv: kv[0][0]):
            for token_type, (column, label) in ANTHROPIC_TOKEN_TYPES.items():
                if amounts[column]:
                    cost_results.append(
                        {
                            # in cents (the lowest currency unit): 1e-10 USD is 1e-8 cents
                            "amount": money_text(amounts[column], MONEY_SCALE - 2),
                            "context_window": "0-200k",
                            "cost_type": "tokens",
                            "currency": "USD",
                            "description": f"{offering.model} Usage - {label}",
                            "model": offering.model,
                            "service_tier": "standard",
                            "token_type": token_type,
                            "workspace_id": anthropic_workspace(team),
                        }
                    )
        costs.append({**span, "results": cost_results})
    return [
        {"data": usage, "has_more": False, "next_page": None},
        {"data": costs, "has_more": False, "next_page": None},
    ]


# Token kinds billed as separate lines by AWS, Azure and GCP: (name, tokens, cost, price index).
LINE_KINDS = [
    ("input", "input_tokens", "input_cost", 0),
    ("cached input", "cached_tokens", "cached_cost", 1),
    ("cache write", "cache_write_tokens", "write_cost", 2),
    ("output", "output_tokens", "output_cost", 3),
]


def _token_lines(
    rows: list[Record], kinds: tuple[str, ...]
) -> Iterator[tuple[Record, str, int, int, str]]:
    """(row, kind, tokens, cost units, price per token as Offering price text) per billed line."""
    for row in rows:
        for kind, tokens, cost, price in LINE_KINDS:
            if kind in kinds and row[tokens] > 0:
                yield row, kind, row[tokens], row[cost], row["offering"].prices[price]


BEDROCK_USAGE_NAMES = {
    "bedrock-claude-3.5-sonnet": "Claude3.5Sonnet",
    "bedrock-nova-lite": "NovaLite",
}
BEDROCK_SUFFIX = {
    "input": "input-tokens",
    "output": "output-tokens",
    "cached input": "cache-read-input-token-count",
    "cache write": "cache-write-input-token-count",
}


def _aws_cur_rows(rows: list[Record]) -> Iterator[Record]:
    """CUR 2.0 (Data Exports) lines: one per Bedrock model, day and token kind."""
    for n, (r, kind, tokens, units, price) in enumerate(_token_lines(rows, tuple(BEDROCK_SUFFIX))):
        day, model = r["date"], r["offering"].model
        first, after = _month(day)
        usage_type = f"USE1-{BEDROCK_USAGE_NAMES[r['offering'].key]}-{BEDROCK_SUFFIX[kind]}"
        rate = money_text(_price_units(price, 1_000_000))
        cost = money_text(units)
        yield {
            "identity_line_item_id": _hex("cur", n, r["team"], usage_type, n=52),
            "identity_time_interval": f"{_rfc3339(day)}/{_rfc3339(day + timedelta(days=1))}",
            "bill_invoice_id": "",
            "bill_invoicing_entity": "Amazon Web Services, Inc.",
            "bill_billing_entity": "AWS",
            "bill_bill_type": "Anniversary",
            "bill_payer_account_id": AWS_PAYER,
            "bill_payer_account_name": "demo-payer",
            "bill_billing_period_start_date": f"{first.isoformat()}T00:00:00.000Z",
            "bill_billing_period_end_date": f"{after.isoformat()}T00:00:00.000Z",
            "line_item_usage_account_id": aws_account(r["team"]),
            "line_item_usage_account_name": f"{r['team']}-prod",
            "line_item_line_item_type": "Usage",
            "line_item_usage_start_date": f"{day.isoformat()}T00:00:00.000Z",
            "line_item_usage_end_date": f"{(day + timedelta(days=1)).isoformat()}T00:00:00.000Z",
            "line_item_product_code": "AmazonBedrock",
            "line_item_usage_type": usage_type,
            "line_item_operation": "InvokeModelInference",
            "line_item_availability_zone": "",
            "line_item_resource_id": r["resource"][0],
            "line_item_usage_amount": str(tokens),
            "line_item_currency_code": "USD",
            "line_item_unblended_rate": rate,
            "line_item_unblended_cost": cost,
            "line_item_blended_rate": rate,
            "line_item_blended_cost": cost,
            "line_item_line_item_description": (f"{model} {kind} tokens in US East (N. Virginia)"),
            "line_item_legal_entity": "Amazon Web Services, Inc.",
            "product": json.dumps(
                {"product_name": "Amazon Bedrock", "region": "us-east-1", "model": model}
            ),
            "product_region_code": "us-east-1",
            "product_servicecode": "AmazonBedrock",
            "product_sku": _hex("sku", usage_type, n=16).upper(),
            "pricing_currency": "USD",
            "pricing_public_on_demand_cost": cost,
            "pricing_public_on_demand_rate": rate,
            "pricing_term": "OnDemand",
            "pricing_unit": "tokens",
            "resource_tags": json.dumps({"user_team": r["team"]}),
        }


AZURE_METER = {"input": "Inp", "cached input": "cached Inp", "output": "Outp"}
AZURE_MODEL_METERS = {
    "gpt-4o-2024-08-06": "gpt-4o-0806",
    "gpt-4o-mini-2024-07-18": "gpt-4o-mini-0718",
}


def _azure_rows(rows: list[Record]) -> Iterator[Record]:
    """Azure cost details (EA/MCA actual cost) lines with Azure OpenAI token meters."""
    for r, kind, tokens, units, price in _token_lines(rows, tuple(AZURE_METER)):
        day, model, team = r["date"], r["offering"].model, r["team"]
        first, after = _month(day)
        meter = f"{AZURE_MODEL_METERS[model]} {AZURE_METER[kind]} glbl Tokens"
        per_1k = money_text(_price_units(price, 1_000))
        yield {
            "InvoiceSectionName": "AI platform",
            "AccountName": "Demo Co AI",
            "AccountOwnerId": "finops@example.com",
            "SubscriptionId": azure_subscription(team),
            "SubscriptionName": f"{team}-ai",
            "ResourceGroup": f"rg-{team}-ai",
            "ResourceLocation": "eastus",
            "Date": day.strftime("%m/%d/%Y"),
            "ProductName": f"Azure OpenAI - {model}",
            "MeterCategory": "Cognitive Services",
            "MeterSubCategory": "Azure OpenAI",
            "MeterId": _guid("meter", meter),
            "MeterName": meter,
            "MeterRegion": "Global",
            "UnitOfMeasure": "1K",
            "Quantity": money_text(tokens, 3),  # thousands of tokens
            "EffectivePrice": per_1k,
            "CostInBillingCurrency": money_text(units),
            "CostCenter": team,
            "ConsumedService": "Microsoft.CognitiveServices",
            "ResourceId": r["resource"][0],
            "Tags": f'"team": "{team}"',
            "OfferId": "MS-AZR-0017P",
            "AdditionalInfo": json.dumps({"ModelName": model, "DeploymentType": "GlobalStandard"}),
            "ServiceInfo1": "",
            "ServiceInfo2": "",
            "ResourceName": r["resource"][1],
            "ReservationId": "",
            "ReservationName": "",
            "UnitPrice": per_1k,
            "ProductOrderId": "",
            "ProductOrderName": "",
            "Term": "",
            "PublisherType": "Azure",
            "PublisherName": "Microsoft",
            "ChargeType": "Usage",
            "Frequency": "UsageBased",
            "PricingModel": "OnDemand",
            "AvailabilityZone": "",
            "BillingAccountId": AZURE_BILLING_ACCOUNT,
            "BillingAccountName": "Demo Co",
            "BillingCurrencyCode": "USD",
            "BillingPeriodStartDate": first.strftime("%m/%d/%Y"),
            "BillingPeriodEndDate": (after - timedelta(days=1)).strftime("%m/%d/%Y"),
            "BillingProfileId": AZURE_BILLING_ACCOUNT,
            "BillingProfileName": "Demo Co",
            "InvoiceSectionId": "",
            "IsAzureCreditEligible": "True",
            "PartNumber": _hex("part", meter, n=8).upper(),
            "PayGPrice": per_1k,
            "PlanName": "",
            "ServiceFamily": "AI + Machine Learning",
            "CostAllocationRuleName": "",
            "benefitId": "",
            "benefitName": "",
        }


GCP_MODEL_NAMES = {
    "gemini-2.0-flash-001": "Gemini 2.0 Flash",
    "gemini-1.5-pro-002": "Gemini 1.5 Pro",
}
GCP_SKU = {
    "input": "Input Text Tokens",
    "cached input": "Cached Input Text Tokens",
    "output": "Output Text Tokens",
}


def _gcp_rows(rows: list[Record]) -> Iterator[Record]:
    """Cloud Billing export (standard usage cost table, flattened) lines for Vertex AI."""
    for r, kind, tokens, units, _ in _token_lines(rows, tuple(GCP_SKU)):
        day, model, team = r["date"], r["offering"].model, r["team"]
        project = gcp_project(team)
        sku = f"{GCP_MODEL_NAMES[model]} {GCP_SKU[kind]}"
        labels = json.dumps([{"key": "team", "value": team}])
        yield {
            "billing_account_id": GCP_BILLING_ACCOUNT,
            "service.id": "C7E2-9256-1C43",
            "service.description": "Vertex AI",
            "sku.id": _hex("gcp-sku", sku, n=12).upper(),
            "sku.description": sku,
            "usage_start_time": f"{day.isoformat()} 00:00:00 UTC",
            "usage_end_time": f"{(day + timedelta(days=1)).isoformat()} 00:00:00 UTC",
            "project.id": project,
            "project.number": _digits("gcp-number", project),
            "project.name": project,
            "project.labels": labels,
            "labels": labels,
            "system_labels": "[]",
            "location.location": "us-central1",
            "location.country": "US",
            "location.region": "us-central1",
            "location.zone": "",
            "resource.name": r["resource"][0],
            "resource.global_name": "",
            "cost": money_text(units),
            "currency": "USD",
            "currency_conversion_rate": "1",
            "usage.amount": str(tokens),
            "usage.unit": "count",
            "usage.amount_in_pricing_units": money_text(tokens, 6),  # millions of tokens
            "usage.pricing_unit": "count * 1e6",
            "credits": "[]",
            "invoice.month": day.strftime("%Y%m"),
            "cost_type": "regular",
        }


def _opencost(rows: list[Record], plan: Plan) -> Record:
    """Namespace allocations per day, plus __idle__ (a fifth of what is allocated)."""
    sets = []
    for day, day_rows in _by_day(rows):
        window = {"start": _rfc3339(day), "end": _rfc3339(day + timedelta(days=1))}
        allocations: Record = {}
        allocated = 0
        sums = _sums(day_rows, ("stream",), ["other_cost", "gpu_hours"])
        for (stream_index,), total in sorted(sums.items()):
            stream = plan.streams[stream_index]
            ns = namespace_of(stream)
            cost = total["other_cost"]
            gpu = cost if stream.offering.kind == "gpu" else 0
            rest = cost - gpu
            cpu, ram = rest * 55 // 100, rest * 35 // 100
            allocated += cost
            allocations[ns] = _allocation(
                ns,
                {"cluster": CLUSTER, "namespace": ns, "namespaceLabels": {"team": stream.team}},
                window,
                costs={"cpu": cpu, "gpu": gpu, "ram": ram, "network": rest - cpu - ram},
                gpu_hours=total["gpu_hours"],
            )
        idle = allocated // 5
        allocations["__idle__"] = _allocation(
            "__idle__",
            {"cluster": CLUSTER},
            window,
            costs={"cpu": idle * 6 // 10, "gpu": 0, "ram": idle - idle * 6 // 10, "network": 0},
            gpu_hours=0,
        )
        sets.append(allocations)
    return {"code": 200, "data": sets}


def _allocation(
    name: str, properties: Record, window: dict[str, str], *, costs: dict[str, int], gpu_hours: int
) -> Record:
    def num(units: int, scale: int = MONEY_SCALE) -> Decimal:
        return Decimal(money_text(units, scale))

    zero = Decimal("0.0")
    return {
        "name": name,
        "properties": properties,
        "window": window,
        "start": window["start"],
        "end": window["end"],
        "minutes": Decimal("1440.0"),
        "cpuCost": num(costs["cpu"]),
        "cpuCostAdjustment": zero,
        "gpuHours": num(gpu_hours, GPU_HOUR_SCALE),
        "gpuCost": num(costs["gpu"]),
        "gpuCostAdjustment": zero,
        "networkCost": num(costs["network"]),
        "loadBalancerCost": zero,
        "pvCost": zero,
        "ramCost": num(costs["ram"]),
        "ramCostAdjustment": zero,
        "sharedCost": zero,
        "externalCost": zero,
        "totalCost": num(sum(costs.values())),
    }


NATIVE_FILES = {
    "openai": "openai_usage_and_costs.json",
    "anthropic": "anthropic_usage_and_costs.json",
    "aws": "aws_cur2_bedrock.csv",
    "azure": "azure_openai_actual_cost.csv",
    "gcp": "gcp_vertex_billing_export.csv",
    "kubernetes": "opencost_allocation.json",
}


def write_native(plan: Plan, out: Path) -> list[Path]:
    """The providers' own formats, one file per provider.

    OpenAI and Anthropic usage and cost pages go into one JSON list of pages per provider,
    the shape a connector pull stores, so one import carries both."""
    rows: dict[str, list[Record]] = {p: [] for p in NATIVE_FILES}
    for facts in iter_facts(plan):
        for provider in NATIVE_FILES:
            rows[provider].extend(_records(facts, plan, provider))
    csv_rows = {"aws": _aws_cur_rows, "azure": _azure_rows, "gcp": _gcp_rows}
    written: list[Path] = []
    for provider, provider_rows in rows.items():
        if not provider_rows:
            continue
        path = out / NATIVE_FILES[provider]
        if provider == "openai":
            _json_dump(_openai_pages(provider_rows), path)
        elif provider == "anthropic":
            _json_dump(_anthropic_pages(provider_rows), path)
        elif provider == "kubernetes":
            _json_dump(_opencost(provider_rows, plan), path)
        else:
            pd.DataFrame(list(csv_rows[provider](provider_rows))).to_csv(path, index=False)
        written.append(path)
    return written


def generate(
    *,
    days: int,
    teams: int,
    rows: int,
    out: Path,
    seed: int = 7,
    output_format: str = "native",
    end: date | None = None,
) -> list[Path]:
    """Write synthetic usage into `out`; returns the files written."""
    plan = make_plan(days=days, teams=teams, rows=rows, seed=seed, end=end)
    out.mkdir(parents=True, exist_ok=True)
    if output_format == "focus":
        path = out / "focus_1.2_ai_usage.csv"
        write_focus(plan, path)
        return [path]
    if output_format == "native":
        return write_native(plan, out)
    raise ValueError(f"unknown format {output_format!r}: native or focus")
