"""The price catalog: lookups by effective date and name, exact usage costs, re-pricing of
usage that arrived without cost (idempotent, never twice with the provider's own costs),
GPU-hour pricing, the catalog file and what-if estimates. All numbers hand-computed."""

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from metrics.economics.pricing.catalog import price_for, usage_cost
from metrics.economics.pricing.catalog_file import (
    DEFAULT_CATALOG,
    CatalogError,
    prices_load,
    read_catalog,
)
from metrics.economics.pricing.repricing import connect_signals
from metrics.economics.pricing.whatif import what_if
from metrics.ledger.ingest import billing_import
from metrics.models import CostRecord, DailyCost, GpuRate, ModelPrice
from metrics.services import ledger_reprice, ledger_reprice_batch

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "billing"
D = Decimal

HEADER = (
    "BillingAccountId,BillingCurrency,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,"
    "ChargePeriodEnd,ChargeCategory,BilledCost,EffectiveCost,ProviderName,ServiceName,"
    "ServiceCategory,PricingCategory,Tags,x_Provider,x_Model,x_InputTokens,x_CachedInputTokens,"
    "x_CacheWriteTokens,x_OutputTokens,x_ModelRequests,x_GpuHours,x_ApplicationKey"
)


def line(
    day,
    *,
    model="o3",
    provider="openai",
    cost="0",
    tokens=(0, 0, 0, 0),
    requests=0,
    gpu="0",
    account="org-1",
    currency="USD",
    team="ml-platform",
    category="Standard",
    app="bot",
):
    month = day[:7]
    y, m = int(month[:4]), int(month[5:])
    nxt = f"{y + (m == 12)}-{(m % 12) + 1:02d}"
    i, c, w, o = tokens
    tags = f'"{{""team"": ""{team}""}}"' if team else ""
    return (
        f"{account},{currency},{month}-01T00:00:00Z,{nxt}-01T00:00:00Z,{day}T00:00:00Z,"
        f"{day}T23:59:59Z,Usage,{cost},{cost},Prov,API,AI and Machine Learning,{category},"
        f"{tags},{provider},{model},{i},{c},{w},{o},{requests},{gpu},{app}"
    )


def import_lines(tmp_path, lines, name="usage.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "\n" + "\n".join(lines) + "\n")
    return billing_import(path, source="focus").batch


def price(model="o3", day="2025-04-16", provider="openai", **rates):
    defaults = {"input_per_mtok": D("10"), "output_per_mtok": D("40")}
    defaults.update({k: D(v) if v is not None else None for k, v in rates.items()})
    return ModelPrice.objects.create(
        provider=provider, model=model, effective_date=date.fromisoformat(day), **defaults
    )


def costs(**filters):
    return {
        r.day.isoformat(): (r.effective_cost, r.billed_cost, r.cost_source)
        for r in CostRecord.objects.filter(**filters).order_by("day")
    }


# --- Lookups ---------------------------------------------------------------------------------


def test_price_in_force_by_effective_date_and_longest_prefix(db):
    old = price("gpt-4o", "2024-05-13", input_per_mtok="5", output_per_mtok="15")
    new = price("gpt-4o", "2024-10-02", input_per_mtok="2.50", output_per_mtok="10")
    mini = price("gpt-4o-mini", "2024-07-18", input_per_mtok="0.15", output_per_mtok="0.60")
    gemini = price("gemini-2.5-pro", "2025-06-17", provider="google")

    assert price_for("openai", "gpt-4o-2024-08-06", date(2024, 10, 1)) == old
    assert price_for("openai", "gpt-4o-2024-08-06", date(2024, 10, 2)) == new
    assert price_for("openai", "GPT-4o", date(2025, 1, 1)) == new  # exact, any case
    # The longest known prefix wins: a mini snapshot is never priced as gpt-4o.
    assert price_for("openai", "gpt-4o-mini-2024-07-18", date(2025, 1, 1)) == mini
    # A mini snapshot before the mini's first price has no price (never gpt-4o's).
    assert price_for("openai", "gpt-4o-mini-2024-07-18", date(2024, 7, 1)) is None
    assert price_for("openai", "gpt-4o", date(2024, 5, 12)) is None  # before any price
    assert price_for("openai", "gpt-4.1", date(2025, 6, 1)) is None  # "gpt-4" prefix rule
    assert price_for("openai", "gpt-4oo", date(2025, 6, 1)) is None  # no separator
    assert price_for("anthropic", "gpt-4o", date(2025, 1, 1)) is None  # other provider
    assert price_for("gcp", "gemini-2.5-pro-preview", date(2025, 7, 1)) == gemini  # alias


def test_usage_cost_is_exact_with_cached_cache_write_reasoning_and_batch(db):
    p = price(
        "claude-sonnet-4",
        "2025-05-22",
        provider="anthropic",
        input_per_mtok="3",
        cached_input_per_mtok="0.30",
        cache_write_per_mtok="3.75",
        output_per_mtok="15",
        batch_input_per_mtok="1.50",
        batch_output_per_mtok="7.50",
    )
    # 1M uncached x 3 + 200k cached x 0.30 + 100k writes x 3.75 + 50k output x 15
    assert usage_cost(p, 1_000_000, 200_000, 100_000, 50_000) == D("4.185")
    # Batch halves input and output and, stacked, the cached and write rates too.
    assert usage_cost(p, 1_000_000, 200_000, 100_000, 50_000, batch=True) == D("2.0925")
    # Reasoning tokens are output tokens: 1 output token = 15 / 1M.
    assert usage_cost(p, 0, 0, 0, 1) == D("0.000015")

    plain = price("gpt-x", "2025-01-01", input_per_mtok="2.50", output_per_mtok="10")
    # No cached or write price: those tokens cost the input rate; no batch price: standard.
    assert usage_cost(plain, 100, 100, 100, 100) == D("0.00175")
    assert usage_cost(plain, 100, 100, 100, 100, batch=True) == D("0.00175")


# --- Re-pricing ------------------------------------------------------------------------------


def test_reprice_uses_the_price_of_each_day_and_is_idempotent(db, teams, tmp_path):
    price(
        "o3", "2025-04-16", input_per_mtok="10", cached_input_per_mtok="2.50", output_per_mtok="40"
    )
    price("o3", "2025-06-10", input_per_mtok="2", cached_input_per_mtok="0.50", output_per_mtok="8")
    batch = import_lines(
        tmp_path,
        [
            line("2025-06-09", tokens=(1_000_000, 400_000, 0, 100_000), requests=10),
            line("2025-06-10", tokens=(1_000_000, 400_000, 0, 100_000), requests=10),
            line("2025-06-10", model="unknown-model", tokens=(5, 0, 0, 5)),
            line("2025-06-10", cost="1.25", tokens=(7, 0, 0, 7), account="org-2"),  # billed
        ],
    )

    # the import priced the usage itself (ledger_reprice_batch runs inside billing_import)
    assert CostRecord.objects.filter(cost_source="catalog").count() == 2
    # June 9: 10 + 0.4 x 2.50 + 0.1 x 40 = 15; June 10 (price cut): 2 + 0.2 + 0.8 = 3
    assert costs(model="o3", cost_source="catalog") == {
        "2025-06-09": (D("15"), D("15"), "catalog"),
        "2025-06-10": (D("3"), D("3"), "catalog"),
    }
    assert CostRecord.objects.get(model="unknown-model").effective_cost == 0
    assert CostRecord.objects.get(model="o3", cost_source="").effective_cost == D("1.25")
    rollup = dict(
        DailyCost.objects.values_list("day").annotate(s=Sum("effective_cost")).order_by("day")
    )
    assert rollup == {date(2025, 6, 9): D("15"), date(2025, 6, 10): D("4.25")}

    assert ledger_reprice_batch(batch.pk) == 0
    assert ledger_reprice() == 0
    assert costs(model="o3", cost_source="catalog")["2025-06-10"][0] == D("3")


def test_a_price_change_reprices_history_from_its_date(
    db, teams, tmp_path, django_capture_on_commit_callbacks
):
    connect_signals()
    first = price("o3", "2025-04-16", input_per_mtok="10", output_per_mtok="40")
    import_lines(
        tmp_path,
        [
            line("2025-06-09", tokens=(1_000_000, 0, 0, 100_000)),
            line("2025-06-10", tokens=(1_000_000, 0, 0, 100_000)),
        ],
    )
    ledger_reprice()
    assert costs()["2025-06-10"][0] == D("14")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        price("o3", "2025-06-10", input_per_mtok="2", output_per_mtok="8")
    assert len(callbacks) == 1  # one re-pricing task, run eagerly in tests
    assert costs() == {
        "2025-06-09": (D("14"), D("14"), "catalog"),
        "2025-06-10": (D("2.8"), D("2.8"), "catalog"),
    }
    assert DailyCost.objects.get(day=date(2025, 6, 10)).effective_cost == D("2.8")

    with django_capture_on_commit_callbacks(execute=True):
        first.output_per_mtok = D("20")
        first.save()
    assert costs()["2025-06-09"][0] == D("12")  # 10 + 0.1 x 20

    with django_capture_on_commit_callbacks(execute=True):
        ModelPrice.objects.filter(effective_date=date(2025, 6, 10)).delete()
        ModelPrice.objects.get().delete()  # signals need instance deletes
    assert costs()["2025-06-10"] == (D("0"), D("0"), "")  # no price any more: unpriced


def test_openai_usage_is_priced_until_the_cost_report_covers_it(db, teams, tmp_path):
    prices_load()
    usage = billing_import(FIXTURES / "openai_usage_completions_grouped.json").batch
    ledger_reprice_batch(usage.pk)
    priced = CostRecord.objects.filter(batch=usage, cost_source="catalog")
    assert priced.count() == CostRecord.objects.filter(batch=usage).count() == 30
    catalog_by_day = {
        day: sum(priced.filter(day=day).values_list("effective_cost", flat=True), D(0))
        for day in priced.values_list("day", flat=True).distinct()
    }

    # The cost report of the same days, but the last day not billed yet.
    page = json.loads((FIXTURES / "openai_costs_page.json").read_text())
    page["data"] = page["data"][:-1]
    (tmp_path / "costs.json").write_text(json.dumps(page))
    cost_batch = billing_import(tmp_path / "costs.json").batch
    cost_days = set(CostRecord.objects.filter(batch=cost_batch).values_list("day", flat=True))
    # The catalog reproduces OpenAI's bill to the cent, day by day (same list prices).
    for day in cost_days:
        billed = sum(
            CostRecord.objects.filter(batch=cost_batch, day=day).values_list(
                "effective_cost", flat=True
            ),
            D(0),
        )
        catalog = catalog_by_day[day]
        assert catalog.quantize(D("0.000001")) == billed.quantize(D("0.000001")), day

    ledger_reprice_batch(cost_batch.pk)
    # Days with the provider's own cost lines: usage back to zero (never counted twice).
    assert not priced.filter(day__in=cost_days).exists()
    uncovered = priced.exclude(day__in=cost_days)
    assert uncovered.count() == 5 and len(cost_days) == 5
    total = DailyCost.objects.aggregate(s=Sum("effective_cost"))["s"]
    expected = sum(
        CostRecord.objects.filter(batch=cost_batch).values_list("effective_cost", flat=True),
        D(0),
    ) + sum(uncovered.values_list("effective_cost", flat=True), D(0))
    assert total.quantize(D("0.000001")) == expected.quantize(D("0.000001"))
    assert ledger_reprice() == 0


def test_usage_in_another_currency_than_the_price_stays_unpriced(db, teams, tmp_path):
    price("o3", "2025-04-16")
    batch = import_lines(
        tmp_path, [line("2025-06-09", tokens=(1000, 0, 0, 0), currency="EUR", account="eu")]
    )
    assert ledger_reprice_batch(batch.pk) == 0
    assert CostRecord.objects.get().cost_source == ""


def test_batch_usage_is_priced_at_batch_rates(db, teams, tmp_path):
    price(
        "o3",
        "2025-06-10",
        input_per_mtok="2",
        cached_input_per_mtok="0.50",
        output_per_mtok="8",
        batch_input_per_mtok="1",
        batch_output_per_mtok="4",
    )
    batch = import_lines(
        tmp_path, [line("2025-06-10", tokens=(1_000_000, 0, 0, 1_000_000), category="Batch")]
    )
    ledger_reprice_batch(batch.pk)
    assert CostRecord.objects.get().effective_cost == D("5")

    # OpenAI's usage API grouped by `batch`: the batch row at batch rates (cached too).
    result = {
        "object": "organization.usage.completions.result",
        "input_tokens": 1_500_000,
        "input_cached_tokens": 500_000,
        "output_tokens": 1_000_000,
        "num_model_requests": 10,
        "model": "o3-2025-04-16",
        "project_id": "proj_1",
    }
    page = {
        "object": "page",
        "data": [
            {
                "object": "bucket",
                "start_time": 1749600000,  # 2025-06-11
                "end_time": 1749686400,
                "results": [{**result, "batch": True}, {**result, "batch": False}],
            }
        ],
    }
    (tmp_path / "usage.json").write_text(json.dumps(page))
    usage = billing_import(tmp_path / "usage.json").batch
    ledger_reprice_batch(usage.pk)
    # batch: 1M x 1 + 0.5M x 0.25 + 1M x 4 = 5.125; standard: 2 + 0.25 + 8 = 10.25
    assert sorted(
        CostRecord.objects.filter(batch=usage).values_list("effective_cost", flat=True)
    ) == [
        D("5.125"),
        D("10.25"),
    ]


def test_self_hosted_gpu_hours_are_priced_from_gpu_rates(db, teams, tmp_path):
    GpuRate.objects.create(name="default", effective_date=date(2025, 1, 1), cost_per_hour=D("2"))
    GpuRate.objects.create(
        name="onprem-a", effective_date=date(2025, 6, 1), cost_per_hour=D("3.50")
    )
    batch = import_lines(
        tmp_path,
        [
            line(
                "2025-05-31",
                provider="self-hosted",
                model="llama-3.1-70b",
                gpu="10",
                account="onprem-a",
            ),
            line(
                "2025-06-05",
                provider="self-hosted",
                model="llama-3.1-70b",
                gpu="10",
                account="onprem-a",
                tokens=(5, 0, 0, 5),
            ),
            line("2025-06-05", provider="self-hosted", model="x", gpu="2.5", account="onprem-b"),
        ],
    )
    # billing_import priced the GPU hours itself; a second pass changes nothing
    assert CostRecord.objects.filter(batch=batch, cost_source="catalog").count() == 3
    assert ledger_reprice_batch(batch.pk) == 0
    assert costs(billing_account_id="onprem-a") == {
        "2025-05-31": (D("20"), D("20"), "catalog"),  # before onprem-a's rate: the default
        "2025-06-05": (D("35"), D("35"), "catalog"),
    }
    assert CostRecord.objects.get(billing_account_id="onprem-b").effective_cost == D("5")


# --- The catalog file ------------------------------------------------------------------------


def test_the_shipped_catalog_loads_idempotently(db):
    entries = read_catalog(DEFAULT_CATALOG)
    first = prices_load()
    assert first.created == len(entries) >= 40
    assert {e["provider"] for e in entries} >= {"openai", "anthropic", "google", "mistral", "meta"}
    for e in entries:
        assert e["input_per_mtok"] is not None and e["output_per_mtok"] is not None
        if e["batch_input_per_mtok"] is not None:  # every listed batch rate is 50% off
            assert e["batch_input_per_mtok"] * 2 == e["input_per_mtok"], e["model"]
    again = prices_load()
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(entries))
    assert price_for("openai", "gpt-4o-mini-2024-07-18", date(2025, 3, 3)).tier == "small"


def test_load_prices_command_updates_changed_rows_and_names_bad_entries(db, tmp_path, capsys):
    path = tmp_path / "prices.yaml"
    path.write_text(
        "models:\n"
        "  - {provider: openai, model: gpt-x, effective_date: 2025-01-01, input: '1.10', output: 4.4}\n"
    )
    call_command("load_prices", "--file", str(path))
    assert "1 created" in capsys.readouterr().out
    row = ModelPrice.objects.get()
    assert (row.input_per_mtok, row.output_per_mtok, row.currency) == (D("1.10"), D("4.4"), "USD")
    path.write_text(path.read_text().replace("4.4", "4.5"))
    call_command("load_prices", "--file", str(path))
    assert "0 created, 1 updated, 0 unchanged" in capsys.readouterr().out

    path.write_text("models:\n  - {provider: openai, model: gpt-y, input: 1, output: 2}\n")
    with pytest.raises(CommandError, match=r"models\[0\]: missing effective_date"):
        call_command("load_prices", "--file", str(path))
    path.write_text(
        "models:\n  - {provider: openai, model: y, effective_date: 2025-01-01, input: x, output: 2}\n"
    )
    with pytest.raises(CatalogError, match=r"models\[0\]\.input: 'x' is not a price"):
        prices_load(path=path)


# --- What-if ---------------------------------------------------------------------------------


def test_what_if_prices_the_same_tokens_on_another_model_day_by_day(db, teams):
    price(
        "gpt-4o",
        "2024-10-02",
        input_per_mtok="2.50",
        cached_input_per_mtok="1.25",
        output_per_mtok="10",
    )
    price(
        "gpt-4o-mini",
        "2024-07-18",
        input_per_mtok="0.15",
        cached_input_per_mtok="0.075",
        output_per_mtok="0.60",
    )
    price(
        "gpt-4o-mini",
        "2025-03-02",
        input_per_mtok="0.30",
        cached_input_per_mtok="0.15",
        output_per_mtok="1.20",
    )
    team = teams["ml-platform"]
    common = {"team": team, "provider": "openai", "application_key": "bot", "currency": "USD"}
    for day in (date(2025, 3, 1), date(2025, 3, 2)):
        DailyCost.objects.create(
            day=day,
            model="gpt-4o-2024-08-06",
            effective_cost=D("4.50"),
            input_tokens=1_000_000,
            cached_input_tokens=1_000_000,
            output_tokens=50_000,
            model_requests=100,
            **common,
        )
    DailyCost.objects.create(  # another model and another currency: not part of it
        day=date(2025, 3, 1), model="gpt-4o-mini", effective_cost=D("1"), input_tokens=5, **common
    )
    DailyCost.objects.create(
        day=date(2025, 3, 1),
        model="gpt-4o",
        effective_cost=D("9"),
        input_tokens=5,
        **{**common, "currency": "EUR"},
    )

    est = what_if(
        model_from="gpt-4o",
        model_to="gpt-4o-mini",
        start=date(2025, 3, 1),
        end=date(2025, 3, 3),
        team_ids=[team.pk],
        provider="openai",
    )
    # per day at gpt-4o: 2.50 + 1.25 + 0.5 = 4.25; at mini: 0.15 + 0.075 + 0.03 = 0.255,
    # then 0.30 + 0.15 + 0.06 = 0.51 after mini's (made-up) price change on March 2.
    assert est.current_cost == D("9.00")
    assert est.list_cost_from == D("8.50")
    assert est.list_cost_to == D("0.765")
    assert est.saving == D("8.235")
    assert est.days_priced == 2 and est.other_currencies == {"EUR"}
    assert est.output_tokens == 100_000 and est.model_requests == 200
    assert est.as_evidence()["saving"] == "8.24"


def test_batch_price_from_conformant_focus_signals(db, teams, tmp_path):
    """A FOCUS row is batch usage when SkuPriceDetails says so (FOCUS 1.2+: a JSON object of
    price properties, `ServiceTier` or our `x_ServiceTier` key) or our `x_ServiceTier` column
    does; PricingCategory is one of Standard/Dynamic/Committed/Other and never says it."""
    price("o3", "2025-06-01", batch_input_per_mtok="5", batch_output_per_mtok="20")
    tokens = (1_000_000, 0, 0, 100_000)  # standard 10 + 4 = 14; batch 5 + 2 = 7
    rows = [
        (line("2025-06-02", tokens=tokens, app="std"), "", ""),
        (line("2025-06-03", tokens=tokens, app="col"), "", "batch"),
        (line("2025-06-04", tokens=tokens, app="sku"), '"{""ServiceTier"": ""Batch""}"', ""),
        (line("2025-06-05", tokens=tokens, app="xsku"), '"{""x_ServiceTier"": ""batch""}"', ""),
        (line("2025-06-06", tokens=tokens, app="flex"), '"{""ServiceTier"": ""flex""}"', "flex"),
    ]
    path = tmp_path / "batch.csv"
    path.write_text(
        HEADER
        + ",SkuPriceDetails,x_ServiceTier\n"
        + "\n".join(f"{row},{sku},{tier}" for row, sku, tier in rows)
        + "\n"
    )
    billing_import(path, source="focus")
    got = {r.application_key: r.effective_cost for r in CostRecord.objects.all()}
    assert got == {"std": D(14), "col": D(7), "sku": D(7), "xsku": D(7), "flex": D(14)}
    assert all(r.cost_source == "catalog" for r in CostRecord.objects.all())
