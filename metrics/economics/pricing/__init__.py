"""The price catalog and the services that price usage which arrived without a cost.

Catalog: `metrics.ModelPrice` rows (per 1M tokens, versioned by effective date), loaded from
`metrics/data/model_prices.yaml` by `manage.py load_prices` and editable in the admin; and
`metrics.GpuRate` (cost per GPU hour) for self-hosted models.

Usage rows of a billing account and day that also carry the provider's own cost lines are
*not* priced: the OpenAI and Anthropic pulls bring both the usage report (tokens, no money)
and the cost report (money, no tokens) for the same organization and days; pricing the usage
too would count that money twice. A catalog-priced row whose account-day later receives cost
lines is set back to zero on the next re-pricing.

Modules (callers import the one they use; imports point down this list, never up):

- `catalog`: the catalog in memory. `price_for(provider, model, day)`: the row in force that
  day; model names match exactly (case-insensitive), else by the longest catalog name that
  prefixes them at a separator ("gpt-4o-2024-08-06" -> "gpt-4o"). `usage_cost(...)`: the
  exact Decimal cost of tokens, billed the way providers bill them. `GpuRateBook`: GPU-hour
  rates.
- `repricing`: `reprice_rows(...)` prices CostRecord rows that carry tokens (or GPU hours)
  but no money and marks them `cost_source="catalog"` (`metrics.services.ledger_reprice` and
  `ledger_reprice_batch` hold the lock and rebuild the touched days' rollups); a changed
  price queues a re-pricing once committed (`queue_reprice`, `price_changes_batched`, the
  signal handlers). Safe to re-run: a second run changes nothing.
- `catalog_file`: the catalog file, validated (`read_catalog`) and upserted (`prices_load`).
- `whatif`: `what_if(...)`, what the same tokens would have cost on another model.
"""
