"""A fast, deterministic FOCUS 1.2 CSV generator for benchmarks (vectorized, chunked)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

MODELS = np.array(
    ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "claude-haiku-3.5", "gemini-1.5-pro"]
)
PROVIDERS = np.array(["OpenAI", "OpenAI", "Anthropic", "Anthropic", "Google Cloud"])
TEAMS = np.array(
    ['{"team": "ml-platform"}', '{"team": "search"}', '{"team": "support-assistant"}', "{}"]
)


def write_focus_csv(path: Path, rows: int, *, seed: int = 7, chunk: int = 250_000) -> Path:
    rng = np.random.default_rng(seed)
    days = pd.date_range("2026-09-01", periods=30, freq="D", tz="UTC")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        for offset in range(0, rows, chunk):
            n = min(chunk, rows - offset)
            start = days[rng.integers(0, 30, n)] + pd.to_timedelta(rng.integers(0, 24, n), unit="h")
            m = rng.integers(0, len(MODELS), n)
            cost = np.char.mod("%.10f", rng.gamma(2.0, 0.5, n))
            frame = pd.DataFrame(
                {
                    "BillingAccountId": "org-demo",
                    "BillingAccountName": "Demo Org",
                    "BillingCurrency": "USD",
                    "BillingPeriodStart": "2026-09-01T00:00:00Z",
                    "BillingPeriodEnd": "2026-10-01T00:00:00Z",
                    "ChargePeriodStart": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "ChargePeriodEnd": (start + pd.Timedelta(hours=1)).strftime(
                        "%Y-%m-%dT%H:%M:%SZ"
                    ),
                    "ChargeCategory": "Usage",
                    "ChargeDescription": "Model inference tokens",
                    "ChargeFrequency": "Usage-Based",
                    "BilledCost": cost,
                    "EffectiveCost": cost,
                    "ListCost": cost,
                    "ProviderName": PROVIDERS[m],
                    "PublisherName": PROVIDERS[m],
                    "InvoiceIssuerName": PROVIDERS[m],
                    "ServiceName": "Model API",
                    "ServiceCategory": "AI and Machine Learning",
                    "RegionId": "us-east-1",
                    "ResourceId": np.char.mod("app-%d", rng.integers(0, 500, n)),
                    "SkuId": MODELS[m],
                    "SubAccountId": np.char.mod("project-%d", rng.integers(0, 40, n)),
                    "Tags": TEAMS[rng.integers(0, len(TEAMS), n)],
                    "x_Model": MODELS[m],
                    "x_InputTokens": rng.integers(100, 50_000, n),
                    "x_CachedInputTokens": rng.integers(0, 10_000, n),
                    "x_OutputTokens": rng.integers(10, 4_000, n),
                    "x_ModelRequests": rng.integers(1, 50, n),
                }
            )
            frame.to_csv(fh, index=False, header=offset == 0)
    return path
