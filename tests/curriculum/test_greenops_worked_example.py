"""Module 07's worked example, recomputed with the INSTALLED ecologits package.

The module states the coefficients, the GPU-count rounding and every result of its worked
example. This test reads those figures from the module text and recomputes them with
`ecologits.impacts.llm`, so a new EcoLogits version (or an edit of the module) that makes the
two disagree fails here instead of silently teaching stale numbers.
"""

import math
import re

import ecologits
import pytest
from ecologits.impacts import llm

from curriculum.content_loader import CONTENT_DIR

MODULE = CONTENT_DIR / "modules" / "07-greenops-for-ai.md"
OUTPUT_TOKENS = 500
PUE = 1.2


@pytest.fixture(scope="module")
def text() -> str:
    return MODULE.read_text(encoding="utf-8")


def number(text: str, pattern: str) -> float:
    match = re.search(pattern, text)
    assert match, f"07-greenops-for-ai.md no longer matches {pattern!r}"
    return float(match.group(1).replace(",", ""))


def impacts(params_b: float, grid_kg_per_kwh: float) -> dict:
    return llm.compute_llm_impacts_dag(
        model_active_parameter_count=params_b,
        model_total_parameter_count=params_b,
        output_token_count=OUTPUT_TOKENS,
        request_latency=math.inf,  # use the fitted latency, as the module does
        if_electricity_mix_adpe=0,
        if_electricity_mix_pe=0,
        if_electricity_mix_gwp=grid_kg_per_kwh,
        if_electricity_mix_wue=0,
        datacenter_pue=PUE,
        datacenter_wue=0,
    )


def grams_per_1k(params_b: float, grid_kg_per_kwh: float) -> float:
    r = impacts(params_b, grid_kg_per_kwh)
    total_kg = r["request_usage_gwp"] + r["request_embodied_gwp"]
    return total_kg * 1000 / OUTPUT_TOKENS * 1000


def close(stated: float, computed: float, rel: float = 0.05) -> bool:
    return abs(stated - computed) <= rel * abs(computed)


def test_the_module_cites_the_installed_version(text):
    major_minor = ".".join(ecologits.__version__.split(".")[:2])
    assert f"EcoLogits {ecologits.__version__}" in text or f"EcoLogits {major_minor}" in text, (
        f"the module must cite the installed EcoLogits version ({ecologits.__version__})"
    )


def test_the_coefficients_are_those_of_the_installed_version(text):
    alpha = number(text, r"α = ([\d.]+) × 10⁻⁶") * 1e-6  # noqa: RUF001 (the module's own characters)
    beta = -number(text, r"β = −([\d.]+) × 10⁻²") * 1e-2  # noqa: RUF001 (the module's own characters)
    gamma = number(text, r"γ = ([\d.]+) × 10⁻⁵") * 1e-5  # noqa: RUF001 (the module's own characters)
    assert close(alpha, llm.GPU_ENERGY_ALPHA, 0.01)
    assert close(beta, llm.GPU_ENERGY_BETA, 0.01)
    assert close(gamma, llm.GPU_ENERGY_GAMMA, 0.01)
    server_kw = number(text, r"assumed to draw ([\d.]+) kW")
    assert server_kw == llm.SERVER_POWER
    gpu_embodied = number(text, r"plus ([\d,]+) kgCO2e per GPU")
    assert gpu_embodied == llm.GPU_EMBODIED_IMPACT_GWP
    assert "rounded up to a power of two" in text


def test_gpu_count_rounding(text):
    stated_70b = number(text, r"then to the next power of two: \*\*(\d+) GPUs\*\*")
    assert stated_70b == llm.gpu_required_count(
        model_required_memory=llm.model_required_memory(70, 16), gpu_memory=llm.GPU_MEMORY
    )
    assert llm.gpu_required_count(model_required_memory=19.2, gpu_memory=80) == 1


def test_the_70b_steps(text):
    r = impacts(70, 0.4)
    gpus = r["gpu_required_count"]
    assert close(
        number(text, r"GPU energy: 500 × [\d.]+ × 10⁻⁵ × \d = \*\*([\d.]+) Wh\*\*"),  # noqa: RUF001 (the module's own characters)
        gpus * r["gpu_energy"] * 1000,
    )
    assert close(number(text, r"× 500 = \*\*([\d.]+) s\*\*"), r["generation_latency"])  # noqa: RUF001 (the module's own characters)
    assert close(
        number(text, r"Rest of server: .* = \*\*([\d.]+) Wh\*\*"), r["server_energy"] * 1000
    )
    assert close(
        number(text, r"Request energy: .* = \*\*([\d.]+) Wh\*\*"), r["request_energy"] * 1000
    )
    assert close(
        number(text, r"Usage emissions at 400 g/kWh: .* = \*\*([\d.]+) g\*\*"),
        r["request_usage_gwp"] * 1000,
    )
    assert close(
        number(text, r"Embodied: .* = \*\*([\d.]+) g\*\*"), r["request_embodied_gwp"] * 1000, 0.1
    )


def test_token_carbon_density_and_the_n_times_comparison(text):
    big = number(text, r"token carbon density ≈ \*\*([\d.]+) gCO2e per 1k output tokens\*\*")
    small = number(text, r"\*\*([\d.]+) gCO2e per 1k output tokens\*\*, about")
    times = number(text, r"gCO2e per 1k output tokens\*\*, about \*\*(\d+) times\*\* lower")
    computed_big, computed_small = grams_per_1k(70, 0.4), grams_per_1k(8, 0.4)
    assert close(big, computed_big)
    assert close(small, computed_small)
    assert times == round(computed_big / computed_small)


def test_the_clean_grid_figures(text):
    big = number(text, r"0\.\d+ g per request \(([\d.]+) g per 1k tokens\) and the 8B")
    small = number(text, r"the 8B model [\d.]+ \+ [\d.]+ = [\d.]+ g \(([\d.]+) g per 1k tokens\)")
    assert close(big, grams_per_1k(70, 0.05))
    assert close(small, grams_per_1k(8, 0.05), 0.1)


def test_the_blended_decision_figure(text):
    blended = number(text, r"0\.2 × [\d.]+ ≈ ([\d.]+) g per 1k tokens")  # noqa: RUF001 (the module's own characters)
    computed = grams_per_1k(8, 0.4) + 0.2 * grams_per_1k(70, 0.4)
    assert close(blended, computed, 0.06)
