"""Carbon estimates (EcoLogits method): ranges ordered and non-negative, equal to EcoLogits'
own per-request figures, filled into the rollups, "no estimate" for unknown models."""

import math
from datetime import date
from decimal import Decimal

import pytest
from ecologits.tracers.utils import llm_impacts

from metrics.economics.carbon import (
    carbon_backfill,
    carbon_fill_rollups,
    coefficients_for,
    estimate,
    normalize_model,
)
from metrics.ledger.ingest import rebuild_rollups
from metrics.models import DailyCost, ModelPrice
from tests.factories import DailyCostFactory

DAY = date(2025, 3, 3)


MINI = "gpt-4o-mini-2024-07-18"


def test_estimates_match_ecologits_and_ranges_are_ordered():
    for provider, model in [
        ("openai", "gpt-4o-mini-2024-07-18"),
        ("anthropic", "claude-sonnet-4-5-20250929"),
        ("azure", "gpt-4o"),  # Azure OpenAI: the model family names the EcoLogits provider
        ("gcp", "gemini-2.5-flash"),
    ]:
        got = estimate(provider, model, 1000, 1)
        assert got is not None, model
        assert 0 <= got.energy_kwh_low <= got.energy_kwh_high
        assert 0 < got.gco2e_low <= got.gco2e_high
        twice = estimate(provider, model, 2000, 2)
        assert twice.gco2e_high == pytest.approx(2 * got.gco2e_high)

    # One request of 1000 output tokens: exactly EcoLogits' figure for that request.
    ref = llm_impacts("openai", "gpt-4o-mini-2024-07-18", 1000, math.inf)
    got = estimate("openai", "gpt-4o-mini-2024-07-18", 1000, 1)
    assert got.energy_kwh_low == pytest.approx(ref.energy.value.min, rel=1e-9)
    assert got.energy_kwh_high == pytest.approx(ref.energy.value.max, rel=1e-9)
    assert got.gco2e_high == pytest.approx(ref.gwp.value.max * 1000, rel=1e-9)


def test_unknown_models_and_zero_output_tokens_have_no_estimate(db):
    assert estimate("openai", "no-such-model", 1000, 1) is None
    assert estimate("openai", "", 1000, 1) is None
    assert estimate("openai", "gpt-4o-mini", 0, 5) is None
    assert coefficients_for("kubernetes", "llama-3.1-70b-instruct") is None  # no catalog row


def test_self_hosted_models_are_estimated_from_catalog_parameters(db, settings):
    ModelPrice.objects.create(
        provider="meta",
        model="llama-3.1-70b",
        effective_date=date(2024, 7, 23),
        input_per_mtok=Decimal("0.72"),
        output_per_mtok=Decimal("0.72"),
        parameters_billion=70,
    )
    assert normalize_model("meta-llama/Meta-Llama-3.1-70B-Instruct") == "llama-3.1-70b-instruct"
    coefficients = coefficients_for("kubernetes", "meta-llama/Meta-Llama-3.1-70B-Instruct")
    assert coefficients is not None and coefficients.method == "parameters:70B"
    world = estimate("kubernetes", "llama-3.1-70b-instruct", 10_000, 10)
    # A cleaner grid (France) gives less carbon for the same energy.
    settings.CARBON_SELF_HOSTED_ZONE = "FRA"
    france = estimate("kubernetes", "llama-3.1-70b-instruct", 10_000, 10)
    assert france.energy_kwh_high == pytest.approx(world.energy_kwh_high)
    assert 0 < france.gco2e_high < world.gco2e_high


def test_fill_rollups_per_model_leaves_unknown_and_zero_output_null(db, teams):
    team = teams["search"]
    base = {"team": team, "day": DAY, "model": MINI, "output_tokens": 1000, "model_requests": 1}
    known = DailyCostFactory(**base)
    many = DailyCostFactory(
        **{**base, "output_tokens": 3000, "model_requests": 3, "application_key": "other"}
    )
    unknown = DailyCostFactory(**{**base, "model": "mystery-model"})
    no_output = DailyCostFactory(
        **{**base, "output_tokens": 0, "model_requests": 4, "application_key": "embeddings"}
    )
    other_day = DailyCostFactory(**{**base, "day": date(2025, 3, 4)})

    assert carbon_fill_rollups([DAY]) == 2
    for row in (known, many, unknown, no_output, other_day):
        row.refresh_from_db()
    ref = estimate("openai", "gpt-4o-mini-2024-07-18", 1000, 1)
    assert known.gco2e_low == pytest.approx(ref.gco2e_low)
    assert known.gco2e_high == pytest.approx(ref.gco2e_high)
    assert known.energy_kwh_low <= known.energy_kwh_high
    assert many.gco2e_high == pytest.approx(3 * known.gco2e_high)
    for row in (unknown, no_output, other_day):
        assert row.gco2e_low is None and row.energy_kwh_high is None

    assert carbon_backfill() == 1  # the other day's row
    other_day.refresh_from_db()
    assert other_day.gco2e_high == pytest.approx(known.gco2e_high)
    assert carbon_backfill() == 0


def test_rollup_rebuild_then_fill_gives_the_same_estimates(db, teams, tmp_path):
    from tests.metrics.test_pricing import import_lines, line

    import_lines(
        tmp_path,
        [line("2025-03-03", model="gpt-4o-mini", cost="1", tokens=(10, 0, 0, 500), requests=1)],
    )
    carbon_fill_rollups([DAY])
    before = DailyCost.objects.get().gco2e_high
    assert before and before > 0
    rebuild_rollups([DAY])  # rebuilding the rollups runs the carbon pass too
    assert DailyCost.objects.get().gco2e_high == pytest.approx(before)


def test_self_hosted_models_get_a_range_and_the_latency_assumption_is_stated(db, settings):
    from ecologits.electricity_mix_repository import electricity_mixes
    from ecologits.impacts.llm import compute_llm_impacts

    from metrics.economics.carbon import LATENCY_ASSUMPTION

    ModelPrice.objects.create(
        provider="meta",
        model="llama-3.1-70b",
        effective_date=date(2024, 7, 23),
        input_per_mtok=Decimal("0.72"),
        output_per_mtok=Decimal("0.72"),
        parameters_billion=70,
    )
    got = estimate("kubernetes", "llama-3.1-70b-instruct", 1000, 1)
    assert got.gco2e_low < got.gco2e_high and got.energy_kwh_low < got.energy_kwh_high
    mix = electricity_mixes.find_electricity_mix(zone="WOR")

    def ecologits(bits, pue):
        return compute_llm_impacts(
            model_active_parameter_count=70,
            model_total_parameter_count=70,
            output_token_count=1000,
            if_electricity_mix_adpe=mix.adpe,
            if_electricity_mix_pe=mix.pe,
            if_electricity_mix_gwp=mix.gwp,
            if_electricity_mix_wue=mix.wue,
            datacenter_pue=pue,
            datacenter_wue=0.5,
            request_latency=math.inf,
            model_quantization_bits=bits,
        )

    low, high = ecologits(8, 1.1), ecologits(16, 1.2)
    assert got.gco2e_low == pytest.approx(low.gwp.value * 1000, rel=1e-9)
    assert got.gco2e_high == pytest.approx(high.gwp.value * 1000, rel=1e-9)
    assert "latency" in LATENCY_ASSUMPTION
