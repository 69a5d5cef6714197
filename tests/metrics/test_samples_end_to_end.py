"""Every real sample in ../shared/data/billing imports through the real pipeline; the ledger
and its rollups equal an independent sum of the source file to the cent; re-import is a no-op."""

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.db.models import Sum

from metrics.ledger.ingest import billing_import
from metrics.models import CostRecord, DailyCost


def csv_sum(path: Path, column: str) -> Decimal:
    total = Decimal(0)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for rec in csv.DictReader(fh):
            value = (rec[column] or "").strip()
            if value:
                total += Decimal(value)
    return total


# sample -> (source, the column whose independent sum is the billed cost)
SAMPLES = {
    "aws_cur_v1_sample_focus_converters.csv": ("aws-cur", "lineItem/UnblendedCost"),
    "azure_ea_export_sample_focus_converters.csv": ("azure", "CostInBillingCurrency"),
    "microsoft_finops_toolkit/EA_ActualCost_Small.csv": ("azure", "Cost"),
    "oci_cost_report_sample_focus_converters.csv": ("oci", "cost/myCost"),
}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_cloud_sample_totals_equal_the_source(db, shared_dir, name):
    path = shared_dir / "data" / "billing" / name
    source, column = SAMPLES[name]
    result = billing_import(path)
    assert result.batch.source == source
    expected = csv_sum(path, column)
    billed = sum(CostRecord.objects.values_list("billed_cost", flat=True), Decimal(0))
    assert billed == expected
    rollup = DailyCost.objects.aggregate(s=Sum("billed_cost"))["s"]
    assert round(rollup, 2) == round(expected, 2)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        assert result.batch.row_count == sum(1 for _ in csv.DictReader(fh))
    assert not billing_import(path).created
    assert CostRecord.objects.count() == result.batch.row_count


def test_azure_amortized_sample_effective_cost(db, shared_dir):
    path = (
        shared_dir / "data" / "billing" / "microsoft_finops_toolkit" / "EA_AmortizedCost_Small.csv"
    )
    billing_import(path)
    effective = sum(CostRecord.objects.values_list("effective_cost", flat=True), Decimal(0))
    assert effective == csv_sum(path, "Cost")


def test_openai_cookbook_usage_tokens(db, shared_dir):
    path = (
        shared_dir
        / "data"
        / "billing"
        / "openai_cookbook"
        / "openai_usage_completions_1d_ungrouped.json"
    )
    buckets = json.loads(path.read_text())
    results = [r for b in buckets for r in b["results"]]
    result = billing_import(path)
    assert result.batch.source == "openai" and result.batch.row_count == len(results)
    agg = DailyCost.objects.aggregate(
        i=Sum("input_tokens"),
        c=Sum("cached_input_tokens"),
        o=Sum("output_tokens"),
        r=Sum("model_requests"),
    )
    assert agg["i"] + agg["c"] == sum(r["input_tokens"] for r in results)
    assert agg["c"] == sum(r["input_cached_tokens"] for r in results)
    assert agg["o"] == sum(r["output_tokens"] for r in results)
    assert agg["r"] == sum(r["num_model_requests"] for r in results)
    assert not billing_import(path).created
