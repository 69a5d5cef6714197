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

Modules: `workloads` (the token workloads of the window, the shared types and thresholds),
one module per detector (`downsize`, `caching`, `batch`, `token_bloat`, `gpu`), and
`lifecycle` (find, upsert, refresh, dismiss, the suggested remediation action).
"""
