"""Energy and carbon ESTIMATES of AI usage, by the EcoLogits method (the `ecologits` package,
which computes offline from its bundled model and electricity-mix data).

These are estimates, never measurements, and are always kept and shown as ranges
(low..high): EcoLogits models the energy of generating output tokens from the model's
(estimated) active parameter count, the GPUs needed to hold it, the data centre's PUE and
the grid's carbon intensity; closed models' sizes are themselves estimated ranges.

- Models EcoLogits knows (OpenAI, Anthropic, Google, Mistral, Cohere names) use
  `ecologits.tracers.utils.llm_impacts` with the provider's data-centre settings.
- Other models with a public parameter count in the price catalog (ModelPrice
  .parameters_billion: Llama, open Mistral models, self-hosted) use
  `ecologits.impacts.llm.compute_llm_impacts` with CARBON_SELF_HOSTED_* settings (zone, PUE,
  WUE), or the provider's data-centre settings when EcoLogits has them.
- Anything else gets no estimate (NULL), shown as "no estimate", never as zero.

Assumptions, stated wherever an estimate is shown (LATENCY_ASSUMPTION):
- No measured request latency is known (bills and usage reports do not carry it), so each
  request is passed to EcoLogits with `request_latency=inf`: the generation time is EcoLogits'
  modeled time for the model's size and the output tokens, never capped by a measurement.
  Where real requests are faster than that model, the estimate is on the high side.
- Self-hosted models have a known parameter count, so EcoLogits alone would give a point
  (low = high). Their deployment is not known, so the range spans it: the low end assumes
  8-bit weights (fewer GPUs to hold the model) in a data centre at CARBON_SELF_HOSTED_PUE_LOW
  (1.1), the high end 16-bit weights at CARBON_SELF_HOSTED_PUE (1.2).

The impacts of a generation are linear in its output tokens with a per-request part (time to
first token, embodied share), so each model is evaluated twice and fitted exactly:
impact = per_token x output tokens + per_request x requests. Usage without a request count
(Anthropic's usage report) gets the per-token part only.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.db.models import ExpressionWrapper, F, FloatField, QuerySet

from metrics.economics.pricing.catalog import PriceBook, prefix_match
from metrics.ledger.providers import ecologits_provider
from metrics.models import DailyCost

logger = logging.getLogger(__name__)

# Model name families, for clouds that resell them (Azure OpenAI, Bedrock, Vertex).
FAMILIES = [
    ("gpt-", "openai"),
    ("chatgpt", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("claude", "anthropic"),
    ("gemini", "google_genai"),
    ("mistral", "mistralai"),
    ("ministral", "mistralai"),
    ("magistral", "mistralai"),
    ("codestral", "mistralai"),
    ("command", "cohere"),
]
# Hosting prefixes and suffixes that are not part of a model's name.
HOST_PREFIXES = ("us.", "eu.", "apac.", "global.", "models/", "meta-llama/", "mistralai/")
VENDOR_PREFIXES = ("anthropic.", "meta.", "mistral.", "cohere.", "openai.", "google/", "meta-")
SAMPLE_TOKENS = (1000, 2000)
LATENCY_ASSUMPTION = (
    "no measured latency: generation time is EcoLogits' model for the model size "
    "(high side when requests are faster)"
)
SELF_HOSTED_BITS = (8, 16)  # weights precision: the low and the high end of the range


@dataclass(frozen=True)
class Estimate:
    """An estimated range: energy in kWh, carbon in grams CO2e (low <= high)."""

    energy_kwh_low: float
    energy_kwh_high: float
    gco2e_low: float
    gco2e_high: float


@dataclass(frozen=True)
class Coefficients:
    """Linear impacts of one model (low, high): per output token and per request."""

    energy_per_token: tuple[float, float]
    energy_per_request: tuple[float, float]
    gco2e_per_token: tuple[float, float]
    gco2e_per_request: tuple[float, float]
    method: str  # e.g. "ecologits:openai/gpt-4o" or "parameters:70B"

    def estimate(self, output_tokens: int, requests: int = 0) -> Estimate:
        def pair(per_token: tuple[float, float], per_request: tuple[float, float]) -> list[float]:
            return sorted(
                per_token[i] * output_tokens + per_request[i] * requests for i in range(2)
            )

        energy = pair(self.energy_per_token, self.energy_per_request)
        gco2e = pair(self.gco2e_per_token, self.gco2e_per_request)
        return Estimate(energy[0], energy[1], gco2e[0], gco2e[1])


def normalize_model(model: str) -> str:
    name = model.strip().lower().replace("@", "-")
    for prefixes in (HOST_PREFIXES, VENDOR_PREFIXES):
        for prefix in prefixes:
            if name.startswith(prefix):
                name = name[len(prefix) :]
    for suffix in ("-v1:0", "-v2:0", ":0"):
        name = name.removesuffix(suffix)
    return name


def _bounds(value: Any) -> tuple[float, float]:
    if hasattr(value, "min") and hasattr(value, "max"):
        return float(value.min), float(value.max)
    return float(value), float(value)


def _fit(samples: list[tuple[float, float]]) -> tuple[tuple[float, float], tuple[float, float]]:
    """Exact line through the impacts at SAMPLE_TOKENS: (per token, per request) for the low
    and the high bound."""
    (lo1, hi1), (lo2, hi2) = samples
    n1, n2 = SAMPLE_TOKENS
    per_token = ((lo2 - lo1) / (n2 - n1), (hi2 - hi1) / (n2 - n1))
    per_request = (lo1 - per_token[0] * n1, hi1 - per_token[1] * n1)
    return (
        (max(per_token[0], 0.0), max(per_token[1], 0.0)),
        (max(per_request[0], 0.0), max(per_request[1], 0.0)),
    )


def _coefficients(impacts: list[Any], method: str) -> Coefficients:
    energy = [_bounds(i.energy.value) for i in impacts]
    grams = [tuple(v * 1000 for v in _bounds(i.gwp.value)) for i in impacts]  # kg -> g
    e_token, e_request = _fit(energy)
    g_token, g_request = _fit(grams)  # type: ignore[arg-type]
    return Coefficients(e_token, e_request, g_token, g_request, method)


@functools.lru_cache(maxsize=1024)
def _ecologits_model(eco_provider: str, name: str) -> Coefficients | None:
    from ecologits.tracers.utils import llm_impacts

    impacts = [llm_impacts(eco_provider, name, n, math.inf) for n in SAMPLE_TOKENS]
    if any(i.energy is None or i.gwp is None for i in impacts):
        return None
    return _coefficients(impacts, f"ecologits:{eco_provider}/{name}")


@functools.lru_cache(maxsize=1024)
def _parameter_model(
    parameters_billion: float,
    eco_provider: str,
    zone: str,
    pue: float,
    wue: float,
    pue_low: float = 1.1,
) -> Coefficients | None:
    from ecologits.electricity_mix_repository import electricity_mixes
    from ecologits.impacts.llm import compute_llm_impacts
    from ecologits.tracers.utils import PROVIDER_CONFIG_MAP

    config = PROVIDER_CONFIG_MAP.get(eco_provider)
    datacenter_pue: Any = config.datacenter_pue if config else pue
    datacenter_wue: Any = config.datacenter_wue if config else wue
    mix = electricity_mixes.find_electricity_mix(
        zone=(config.datacenter_location if config else zone) or "WOR"
    )
    if mix is None:
        logger.warning("EcoLogits has no electricity mix for zone %r", zone)
        return None
    if config is None:
        # Our own data centre: the range of deployments (module doc), low end then high end.
        low_pue = min(pue_low, pue)
        setups = [(SELF_HOSTED_BITS[0], low_pue), (SELF_HOSTED_BITS[1], pue)]
    else:
        setups = [(16, datacenter_pue), (16, datacenter_pue)]

    def impacts(bits: int, datacenter_pue: Any) -> list[Any]:
        return [
            compute_llm_impacts(
                model_active_parameter_count=parameters_billion,
                model_total_parameter_count=parameters_billion,
                output_token_count=n,
                if_electricity_mix_adpe=mix.adpe,
                if_electricity_mix_pe=mix.pe,
                if_electricity_mix_gwp=mix.gwp,
                if_electricity_mix_wue=mix.wue,
                datacenter_pue=datacenter_pue,
                datacenter_wue=datacenter_wue,
                request_latency=math.inf,  # LATENCY_ASSUMPTION
                model_quantization_bits=bits,
            )
            for n in SAMPLE_TOKENS
        ]

    low, high = (impacts(bits, p) for bits, p in setups)
    return _coefficients(
        [_Span(lo, hi) for lo, hi in zip(low, high, strict=True)],
        f"parameters:{parameters_billion:g}B",
    )


@dataclass(frozen=True)
class _Range:
    min: float
    max: float


class _Span:
    """The low end of one EcoLogits result and the high end of another, as one result."""

    def __init__(self, low: Any, high: Any) -> None:
        self.energy = _Value(_Range(_bounds(low.energy.value)[0], _bounds(high.energy.value)[1]))
        self.gwp = _Value(_Range(_bounds(low.gwp.value)[0], _bounds(high.gwp.value)[1]))


@dataclass(frozen=True)
class _Value:
    value: _Range


@functools.lru_cache(maxsize=16)
def _eco_names(eco_provider: str) -> tuple[str, ...]:
    from ecologits.model_repository import models

    return tuple(m.name for m in models.list_models() if m.provider.value == eco_provider)


def _eco_provider(provider: str, name: str) -> str | None:
    for prefix, eco in FAMILIES:
        if name.startswith(prefix):
            return eco
    return ecologits_provider(provider)


def coefficients_for(
    provider: str, model: str, prices: PriceBook | None = None
) -> Coefficients | None:
    """How to estimate this ledger model's impacts, or None when no estimate is possible."""
    if not model:
        return None
    name = normalize_model(model)
    eco_provider = _eco_provider(provider, name)
    if eco_provider:
        match = prefix_match(name, _eco_names(eco_provider))
        if match is not None:
            found = _ecologits_model(eco_provider, match)
            if found is not None:
                return found
    book = prices if prices is not None else PriceBook.load()
    with_parameters = {
        p.model.lower(): p for rows in book.rows.values() for p in rows if p.parameters_billion
    }
    key = prefix_match(name, with_parameters)
    if key is None:
        return None
    return _parameter_model(
        float(with_parameters[key].parameters_billion or 0),
        eco_provider or "",
        settings.CARBON_SELF_HOSTED_ZONE,
        settings.CARBON_SELF_HOSTED_PUE,
        settings.CARBON_SELF_HOSTED_WUE,
        settings.CARBON_SELF_HOSTED_PUE_LOW,
    )


def estimate(provider: str, model: str, output_tokens: int, requests: int = 0) -> Estimate | None:
    """Energy and carbon range of one usage line (a record or a sum); None: no estimate."""
    if output_tokens <= 0:
        return None
    coefficients = coefficients_for(provider, model)
    return coefficients.estimate(output_tokens, requests) if coefficients else None


def _fill(qs: QuerySet[DailyCost], prices: PriceBook) -> int:
    filled = 0
    pairs = list(qs.filter(output_tokens__gt=0).values_list("provider", "model").distinct())
    for provider, model in pairs:
        rows = qs.filter(provider=provider, model=model, output_tokens__gt=0)
        c = coefficients_for(provider, model, prices)
        if c is None:
            continue

        def line(per_token: float, per_request: float) -> ExpressionWrapper:
            return ExpressionWrapper(
                F("output_tokens") * per_token + F("model_requests") * per_request,
                output_field=FloatField(),
            )

        # The low and high bounds of EcoLogits' ranges are monotone in the model size, so
        # index 0 is the low end for every row (Coefficients.estimate sorts to be sure).
        filled += rows.update(
            energy_kwh_low=line(c.energy_per_token[0], c.energy_per_request[0]),
            energy_kwh_high=line(c.energy_per_token[1], c.energy_per_request[1]),
            gco2e_low=line(c.gco2e_per_token[0], c.gco2e_per_request[0]),
            gco2e_high=line(c.gco2e_per_token[1], c.gco2e_per_request[1]),
        )
    return filled


def carbon_fill_rollups(days: Iterable[date]) -> int:
    """Fill the carbon estimate columns of the daily rollups of `days` (call it right after
    `rebuild_rollups`, which leaves them NULL). Rows without output tokens, or of a model
    with no estimate, stay NULL. One UPDATE per model; safe to re-run. Returns the number of
    rows filled."""
    day_list = sorted(set(days))
    prices = PriceBook.load()
    filled = 0
    for i in range(0, len(day_list), 200):
        filled += _fill(DailyCost.objects.filter(day__in=day_list[i : i + 200]), prices)
    return filled


def carbon_backfill() -> int:
    """Fill every rollup row that has output tokens but no estimate yet (for rollups
    rebuilt without a carbon pass, or models that gained an estimate). Safe to re-run."""
    return _fill(
        DailyCost.objects.filter(gco2e_high__isnull=True, output_tokens__gt=0), PriceBook.load()
    )
