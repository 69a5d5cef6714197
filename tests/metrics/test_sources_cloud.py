"""Cloud billing parsers (AWS CUR, Azure, GCP, OCI) against real samples and fixtures.

Every total is checked against an independent sum computed here with the csv/json modules and
Decimal, sharing no code with the parsers.
"""

import csv
import gzip
import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from metrics.ledger.sources import aws_cur, azure, gcp, oci, registry
from metrics.ledger.sources.base import LEDGER_COLUMNS, IngestError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "billing"
AWS_SAMPLE = "data/billing/aws_cur_v1_sample_focus_converters.csv"
AZURE_SAMPLE = "data/billing/azure_ea_export_sample_focus_converters.csv"
EA_ACTUAL = "data/billing/microsoft_finops_toolkit/EA_ActualCost_Small.csv"
EA_AMORTIZED = "data/billing/microsoft_finops_toolkit/EA_AmortizedCost_Small.csv"
OCI_SAMPLE = "data/billing/oci_cost_report_sample_focus_converters.csv"


def parsed(module, path: Path) -> pd.DataFrame:
    frames = list(module.parse(path))
    assert frames, "parser yielded nothing"
    for frame in frames:
        assert list(frame.columns) == LEDGER_COLUMNS
    return pd.concat(frames, ignore_index=True)


def total(values: pd.Series) -> Decimal:
    return sum((Decimal(v) for v in values if v is not None), Decimal(0))


def dec(text: str) -> Decimal:
    return Decimal(text) if text.strip() else Decimal(0)


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def write_csv(path: Path, rows: list[dict[str, str]], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


# --- independent expectations --------------------------------------------------------------


def aws_expected(path: Path) -> tuple[Decimal, Decimal, int]:
    """Billed = unblended; effective per line item type (AWS's amortization columns)."""
    billed = effective = Decimal(0)
    rows = csv_rows(path)

    def get(row: dict[str, str], legacy: str, snake: str) -> str:
        return row.get(legacy, row.get(snake, ""))

    for row in rows:
        kind = get(row, "lineItem/LineItemType", "line_item_line_item_type")
        cost = dec(get(row, "lineItem/UnblendedCost", "line_item_unblended_cost"))
        billed += cost
        if kind == "SavingsPlanCoveredUsage":
            cost = dec(row["savings_plan_savings_plan_effective_cost"])
        elif kind == "DiscountedUsage":
            cost = dec(row["reservation_effective_cost"])
        elif kind == "RIFee":
            cost = dec(row["reservation_unused_amortized_upfront_fee_for_billing_period"]) + dec(
                row["reservation_unused_recurring_fee"]
            )
        elif kind == "SavingsPlanRecurringFee":
            cost = dec(row["savings_plan_total_commitment_to_date"]) - dec(
                row["savings_plan_used_commitment"]
            )
        elif kind in ("SavingsPlanNegation", "SavingsPlanUpfrontFee") or (
            kind == "Fee" and row.get("reservation_reservation_a_r_n")
        ):
            cost = Decimal(0)
        effective += cost
    return billed, effective, len(rows)


def azure_expected(path: Path) -> tuple[Decimal, Decimal, int]:
    """Effective = cost except commitment purchases (0, FOCUS); billed leaves out amortized
    commitment usage (see azure.py)."""
    billed = effective = Decimal(0)
    rows = csv_rows(path)
    for row in rows:
        low = {k.lower(): v for k, v in row.items()}
        cost = dec(low.get("costinbillingcurrency") or low.get("cost") or "")
        purchase = (low.get("pricingmodel") or "").replace(" ", "").lower() in (
            "reservation",
            "savingsplan",
        ) and (low.get("chargetype") or "").lower() == "purchase"
        effective += Decimal(0) if purchase else cost
        amortized = low.get("pricingmodel") in ("Reservation", "SavingsPlan") and low.get(
            "chargetype"
        ) in ("Usage", "UnusedReservation", "UnusedSavingsPlan")
        billed += Decimal(0) if amortized else cost
    return billed, effective, len(rows)


def gcp_expected_csv(path: Path) -> tuple[Decimal, Decimal, int]:
    billed = effective = Decimal(0)
    rows = csv_rows(path)
    for row in rows:
        cost = Decimal(row["cost"])
        credits = json.loads(row["credits"] or "[]", parse_float=Decimal)
        billed += cost
        effective += cost + sum((Decimal(str(c["amount"])) for c in credits), Decimal(0))
    return billed, effective, len(rows)


def gcp_expected_jsonl(path: Path) -> tuple[Decimal, Decimal, int]:
    billed = effective = Decimal(0)
    count = 0
    for line in path.read_text().splitlines():
        record = json.loads(line, parse_float=Decimal, parse_int=Decimal)
        billed += record["cost"]
        effective += record["cost"] + sum((c["amount"] for c in record["credits"]), Decimal(0))
        count += 1
    return billed, effective, count


def oci_expected(path: Path) -> tuple[Decimal, Decimal, int]:
    rows = csv_rows(path)
    cost = sum((dec(r["cost/myCost"]) + dec(r["cost/myCostOverage"]) for r in rows), Decimal(0))
    return cost, cost, len(rows)


# --- totals on the real samples and the fixtures -------------------------------------------


@pytest.mark.parametrize(
    ("relative", "module", "expected"),
    [
        (AWS_SAMPLE, aws_cur, aws_expected),
        (AZURE_SAMPLE, azure, azure_expected),
        (EA_ACTUAL, azure, azure_expected),
        (EA_AMORTIZED, azure, azure_expected),
        (OCI_SAMPLE, oci, oci_expected),
    ],
)
def test_real_samples_total_to_the_independent_sum(shared_dir, relative, module, expected):
    path = shared_dir / relative
    frame = parsed(module, path)
    billed, effective, rows = expected(path)
    assert len(frame) == rows
    assert total(frame.billed_cost) == billed
    assert total(frame.effective_cost) == effective
    assert frame.source_line.tolist() == list(range(2, rows + 2))
    assert registry.detect(path) is module


@pytest.mark.parametrize(
    ("name", "module", "expected"),
    [
        ("aws_cur2_bedrock.csv", aws_cur, aws_expected),
        ("azure_openai_mca.csv", azure, azure_expected),
        ("gcp_vertex.csv", gcp, gcp_expected_csv),
        ("gcp_vertex.jsonl", gcp, gcp_expected_jsonl),
    ],
)
def test_fixtures_total_to_the_independent_sum(name, module, expected):
    path = FIXTURES / name
    frame = parsed(module, path)
    billed, effective, rows = expected(path)
    assert len(frame) == rows
    assert total(frame.billed_cost) == billed
    assert total(frame.effective_cost) == effective
    assert registry.detect(path) is module


def test_amortized_azure_sample_bills_nothing_for_commitment_usage(shared_dir):
    frame = parsed(azure, shared_dir / EA_AMORTIZED)
    committed = frame[frame.pricing_category == "Committed"]
    assert sorted(committed.effective_cost) == ["0.006000000468", "0.493152"]
    assert set(committed.billed_cost) == {"0"}
    assert set(committed.commitment_discount_type) == {"Reservation", "Savings Plan"}
    assert set(committed.commitment_discount_status) == {"Used"}


def test_actual_azure_sample_bills_the_reservation_purchase(shared_dir):
    frame = parsed(azure, shared_dir / EA_ACTUAL)
    purchase = frame[frame.charge_category == "Purchase"].iloc[0]
    # FOCUS: the invoice carries the purchase; EffectiveCost gets it through amortized usage.
    assert purchase.billed_cost == "3.25" and purchase.effective_cost == "0"
    assert purchase.commitment_discount_name == "VM_RI_06-21-2023_18-56"
    assert purchase.charge_frequency == "Recurring"


def test_azure_sample_quirks(shared_dir):
    frame = parsed(azure, shared_dir / AZURE_SAMPLE)
    first = frame.iloc[0]
    # Tags arrive without braces; M/D/YYYY dates; inclusive billing period end.
    assert json.loads(first.tags) == {"tagA": "valueA", "tagB": "valueB", "tagC": "valueC"}
    assert first.charge_period_start == pd.Timestamp("2023-09-02", tz="UTC")
    assert first.charge_period_end == pd.Timestamp("2023-09-03", tz="UTC")
    assert first.billing_period_end == pd.Timestamp("2023-10-01", tz="UTC")
    assert set(frame.billing_currency) == {"CAD"}
    # "10K" operations: Quantity counts blocks of 10,000.
    storage = frame[frame.pricing_unit == "10K"].iloc[0]
    assert (storage.pricing_quantity, storage.consumed_quantity) == ("0.0129", "129")


def test_aws_legacy_sample_fields(shared_dir):
    frame = parsed(aws_cur, shared_dir / AWS_SAMPLE)
    assert set(frame.provider) == {"aws"}
    assert set(frame.provider_name) == {"AWS"}
    assert set(frame.billing_account_id) == {"123412340534"}
    assert frame.billing_period_start.eq(pd.Timestamp("2023-11-01", tz="UTC")).all()
    assert frame.billing_period_end.eq(pd.Timestamp("2023-12-01", tz="UTC")).all()
    assert frame[frame.charge_category == "Tax"].shape[0] == 12
    s3 = frame[frame.service_name == "Amazon Simple Storage Service"]
    assert set(s3.service_category) == {"Storage"}
    assert total(frame.list_cost) > 0


def test_oci_sample_fields(shared_dir):
    frame = parsed(oci, shared_dir / OCI_SAMPLE)
    first = frame.iloc[0]
    assert first.charge_period_start == pd.Timestamp("2023-11-13 10:00", tz="UTC")
    assert first.billing_period_start == pd.Timestamp("2023-11-01", tz="UTC")
    assert first.sub_account_name == "platformpm2022"
    assert json.loads(first.tags)["Valtest.Cat"] == "boots"
    assert first.service_category == "Databases"
    assert set(frame.provider_name) == {"Oracle"}


# --- AI lines ------------------------------------------------------------------------------


def test_bedrock_tokens_models_and_tags():
    frame = parsed(aws_cur, FIXTURES / "aws_cur2_bedrock.csv")
    # Claude and Llama are priced per "1K tokens" (amount x 1000), Nova per token.
    assert frame.input_tokens.sum() == 1_520_512 + 1_333_001 + 2_400_000 + 2_650_123 + (
        845_300 + 910_000
    )
    assert frame.output_tokens.sum() == 310_204 + 298_770 + 180_500 + 201_377 + 120_750 + 133_125
    assert frame.cached_input_tokens.sum() == 4_200_000 + 3_900_500
    assert frame.cache_write_tokens.sum() == 150_250 + 98_004
    by_model = frame[frame.model != ""].groupby("model").input_tokens.sum().to_dict()
    assert by_model == {
        "Claude 3.5 Sonnet": 1_520_512 + 1_333_001,
        "Nova Pro": 2_400_000 + 2_650_123,
        "Llama 3 70B": 845_300 + 910_000,
    }
    bedrock = frame[frame.service_name == "Amazon Bedrock"]
    assert set(bedrock.service_category) == {"AI and Machine Learning"}
    teams = {json.loads(t)["team"] for t in frame.tags.dropna()}
    assert teams == {"ml-platform", "search", "support-assistant"}
    claude = frame[frame.model == "Claude 3.5 Sonnet"].iloc[0]
    assert claude.application_key == "rag-bot"
    assert claude.sub_account_id == "444455556666"
    assert claude.billing_account_id == "111122223333"
    sagemaker = frame[frame.service_name == "Amazon SageMaker"].iloc[0]
    assert sagemaker.service_category == "AI and Machine Learning"


def test_cur_commitment_lines_follow_the_focus_converter():
    frame = parsed(aws_cur, FIXTURES / "aws_cur2_bedrock.csv")
    rows = frame[frame.commitment_discount_id != ""]
    costs = sorted(zip(rows.sku_meter, rows.billed_cost, rows.effective_cost, strict=True))
    assert costs == [
        ("ComputeSP:1yrNoUpfront", "6.0", "0.5328"),  # SP recurring fee: the unused part
        ("HeavyUsage:m6i.large", "44.9376", "3.0804"),  # RIFee: the unused part
        ("USE1-BoxUsage:c6i.2xlarge", "-8.16", "0"),  # SavingsPlanNegation
        ("USE1-BoxUsage:c6i.2xlarge", "8.16", "5.4672"),  # SavingsPlanCoveredUsage
        ("USE1-BoxUsage:m6i.large", "0.0", "1.4496"),  # DiscountedUsage
        ("USE1-HeavyUsage:m6i.large", "350.0", "0"),  # the RI's upfront fee
    ]


def test_azure_openai_tokens_and_models():
    frame = parsed(azure, FIXTURES / "azure_openai_mca.csv")
    # quantity x block size: "1K" meters x 1000, "1M" meters x 1,000,000
    assert frame.input_tokens.sum() == 1_520_500 + 1_610_125 + 3_250_000 + 2_875_000 + (
        5_120_000 + 4_800_000
    )
    assert frame.output_tokens.sum() == 310_250 + 298_500 + 412_500 + 390_000
    assert frame.cached_input_tokens.sum() == 2_200_000 + 1_980_750
    models = set(frame.model) - {""}
    assert models == {"gpt-4o-0806", "gpt-4o-mini-0718", "text-embedding-3-large"}
    ai = frame[frame.model != ""]
    assert set(ai.service_category) == {"AI and Machine Learning"}
    first = frame.iloc[0]
    # MCA: the billing profile is the billing account; EUR billing of USD prices.
    assert first.billing_account_id == "ABCD-EFGH-IJK-LMN"
    assert (first.billing_currency, first.pricing_currency) == ("EUR", "USD")
    assert first.list_cost == first.billed_cost
    assert first.list_unit_price == "0.0023"  # 0.0025 USD x 0.92, in the billing currency
    assert json.loads(first.tags)["team"] == "search"
    assert first.application_key == "docs-qa"


@pytest.mark.parametrize("name", ["gcp_vertex.csv", "gcp_vertex.jsonl"])
def test_vertex_tokens_models_and_labels(name):
    frame = parsed(gcp, FIXTURES / name)
    assert frame.input_tokens.sum() == 1_250_000 + 1_402_117 + 8_400_000
    assert frame.output_tokens.sum() == 210_500 + 198_034 + 620_000
    assert frame.cached_input_tokens.sum() == 3_000_000 + 2_750_000
    assert set(frame.model) - {""} == {"Gemini 1.5 Pro", "Gemini 2.0 Flash", "Gemini 1.0 Pro"}
    # Character-priced SKUs name a model but are not tokens.
    chars = frame[frame.sku_meter.str.contains("Characters")].iloc[0]
    assert (chars.model, chars.input_tokens) == ("Gemini 1.0 Pro", 0)
    flash = frame[frame.sku_meter == "Gemini 2.0 Flash Input Text Tokens"].iloc[0]
    assert (flash.billed_cost, Decimal(flash.effective_cost)) == ("1.26", Decimal("0.75"))
    # Project labels overlaid with resource labels.
    assert json.loads(flash.tags) == {"team": "support-assistant", "app": "helpdesk"}
    assert flash.application_key == "helpdesk"
    assert flash.billing_period_start == pd.Timestamp("2025-03-01", tz="UTC")
    assert frame[frame.charge_category == "Tax"].shape[0] == 1


def test_gcp_csv_and_jsonl_agree():
    a = parsed(gcp, FIXTURES / "gcp_vertex.csv").drop(columns=["source_line", "publisher_name"])
    b = parsed(gcp, FIXTURES / "gcp_vertex.jsonl").drop(columns=["source_line", "publisher_name"])
    pd.testing.assert_frame_equal(a, b)


# --- other encodings -----------------------------------------------------------------------


def test_gzip_and_parquet_cur(shared_dir, tmp_path):
    source = shared_dir / AWS_SAMPLE
    billed, effective, rows = aws_expected(source)
    gz = tmp_path / "cur.csv.gz"
    gz.write_bytes(gzip.compress(source.read_bytes()))
    frame = parsed(aws_cur, gz)
    assert (len(frame), total(frame.billed_cost)) == (rows, billed)
    assert registry.detect(gz) is aws_cur

    table = pd.read_csv(source, dtype=str, keep_default_na=False)
    table.columns = [aws_cur.canonical(c) for c in table.columns]
    parquet = tmp_path / "cur.parquet"
    table.to_parquet(parquet)
    frame = parsed(aws_cur, parquet)
    assert (len(frame), total(frame.effective_cost)) == (rows, effective)
    assert registry.detect(parquet) is aws_cur


def test_parquet_cur2_with_doubles_and_a_tag_map(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = FIXTURES / "aws_cur2_bedrock.csv"
    billed, effective, rows = aws_expected(source)
    table = pd.read_csv(source, dtype=str, keep_default_na=False)
    tags = [
        [(f"user_{k}", v) for k, v in (("team", t), ("app", a)) if v]
        for t, a in zip(table.pop("resource_tags_user_team"), table.pop("resource_tags_user_app"))
    ]
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    for name in ("line_item_unblended_cost", "line_item_usage_amount"):
        doubles = pd.to_numeric(table[name]).astype("float64")
        arrow = arrow.set_column(arrow.schema.get_field_index(name), name, pa.array(doubles))
    text_map = pa.map_(pa.string(), pa.string())
    arrow = arrow.append_column("resource_tags", pa.array(tags, text_map))
    products = [list(json.loads(p).items()) if p else None for p in arrow["product"].to_pylist()]
    arrow = arrow.set_column(
        arrow.schema.get_field_index("product"), "product", pa.array(products, text_map)
    )
    path = tmp_path / "cur2.parquet"
    pq.write_table(arrow, path)
    frame = parsed(aws_cur, path)
    assert (len(frame), total(frame.billed_cost), total(frame.effective_cost)) == (
        rows,
        billed,
        effective,
    )
    assert frame.input_tokens.sum() == parsed(aws_cur, source).input_tokens.sum()
    claude = frame[frame.model == "Claude 3.5 Sonnet"].iloc[0]
    assert json.loads(claude.tags) == {"team": "ml-platform", "app": "rag-bot"}
    assert (claude.service_name, claude.region_name) == ("Amazon Bedrock", "US East (N. Virginia)")


def test_cur2_resource_tags_map_column_in_csv(tmp_path):
    rows = csv_rows(FIXTURES / "aws_cur2_bedrock.csv")
    for row in rows:
        team, app = row.pop("resource_tags_user_team"), row.pop("resource_tags_user_app")
        tags = {f"user_{k}": v for k, v in (("team", team), ("app", app)) if v}
        tags["aws_createdBy"] = "Root:111122223333"  # not a user tag: left out
        row["resource_tags"] = json.dumps(tags)
    frame = parsed(aws_cur, write_csv(tmp_path / "cur2_map.csv", rows))
    nova = frame[frame.model == "Nova Pro"].iloc[0]
    assert json.loads(nova.tags) == {"team": "search"}


def test_legacy_cur_user_tag_columns(shared_dir, tmp_path):
    rows = csv_rows(shared_dir / AWS_SAMPLE)
    for i, row in enumerate(rows):
        row["resourceTags/user:team"] = "search" if i % 2 else ""
        row["resourceTags/user:Application"] = "indexer" if i % 3 == 0 else ""
        row["resourceTags/aws:createdBy"] = "Root:123412340534"
    frame = parsed(aws_cur, write_csv(tmp_path / "tagged.csv", rows))
    assert frame.tags[1] == '{"team": "search"}'
    assert json.loads(frame.tags[3]) == {"Application": "indexer", "team": "search"}
    assert frame.tags[2] is None
    assert frame.application_key[3] == "indexer"


def test_bedrock_marketplace_model_lines(tmp_path):
    # Third-party models bought through AWS Marketplace: the model is in the product name.
    rows = csv_rows(FIXTURES / "aws_cur2_bedrock.csv")[:2]
    for row, kind, amount in zip(rows, ("Input", "Output"), ("1520", "310"), strict=True):
        row["line_item_usage_amount"] = amount
        row["line_item_product_code"] = "a1b2c3d4e5f6g7h8i9j0k1l2m"
        row["bill_billing_entity"] = "AWS Marketplace"
        row["line_item_usage_type"] = f"USE1-MP:USE1_{kind}TokenCount-Units"
        row["product"] = json.dumps({"product_name": "Claude 3 Haiku (Amazon Bedrock Edition)"})
        row["pricing_unit"] = "Units"
    frame = parsed(aws_cur, write_csv(tmp_path / "marketplace.csv", rows))
    assert frame.model.tolist() == ["Claude 3 Haiku", "Claude 3 Haiku"]
    assert (frame.input_tokens.sum(), frame.output_tokens.sum()) == (1520, 310)
    assert set(frame.service_category) == {"AI and Machine Learning"}
    assert set(frame.publisher_name) == {"AWS Marketplace"}


# --- broken inputs -------------------------------------------------------------------------


def with_value(rows: list[dict[str, str]], index: int, column: str, value: str):
    rows = [dict(r) for r in rows]
    rows[index][column] = value
    return rows


@pytest.mark.parametrize(
    ("relative", "module", "column"),
    [
        (AWS_SAMPLE, aws_cur, "lineItem/UnblendedCost"),
        (AZURE_SAMPLE, azure, "CostInBillingCurrency"),
        (EA_ACTUAL, azure, "Cost"),
        (OCI_SAMPLE, oci, "cost/myCost"),
    ],
)
def test_text_in_a_cost_column_names_file_row_and_column(
    shared_dir, tmp_path, relative, module, column
):
    rows = with_value(csv_rows(shared_dir / relative), 4, column, "12,50 EUR")
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(IngestError) as err:
        list(module.parse(path))
    assert str(err.value).startswith(f"{path}:6:{column}:")
    assert "not a decimal number" in str(err.value)


def test_text_in_a_gcp_cost_names_the_row(tmp_path):
    rows = with_value(csv_rows(FIXTURES / "gcp_vertex.csv"), 2, "cost", "n/a")
    path = write_csv(tmp_path / "gcp.csv", rows)
    with pytest.raises(IngestError, match=rf"^{path}:4:cost: 'n/a' is not a decimal"):
        list(gcp.parse(path))
    lines = (FIXTURES / "gcp_vertex.jsonl").read_text().splitlines()
    lines[1] = lines[1].replace('"cost":1.0525', '"cost":"one"')
    path = tmp_path / "gcp.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(IngestError, match=rf"^{path}:2:cost: 'one' is not a decimal"):
        list(gcp.parse(path))


@pytest.mark.parametrize(
    ("relative", "module", "column"),
    [
        (AWS_SAMPLE, aws_cur, "lineItem/UnblendedCost"),
        (AWS_SAMPLE, aws_cur, "lineItem/UsageStartDate"),
        (AZURE_SAMPLE, azure, "CostInBillingCurrency"),
        (EA_AMORTIZED, azure, "Date"),
        (OCI_SAMPLE, oci, "cost/myCost"),
        (OCI_SAMPLE, oci, "cost/currencyCode"),
    ],
)
def test_missing_mandatory_column(shared_dir, tmp_path, relative, module, column):
    rows = csv_rows(shared_dir / relative)
    for row in rows:
        del row[column]
    path = write_csv(tmp_path / "missing.csv", rows)
    with pytest.raises(IngestError) as err:
        list(module.parse(path))
    assert str(err.value).split(":")[:2] == [str(path), "1"]
    assert "missing" in str(err.value)


def test_missing_gcp_column(tmp_path):
    rows = csv_rows(FIXTURES / "gcp_vertex.csv")
    for row in rows:
        del row["currency"]
    path = write_csv(tmp_path / "gcp.csv", rows)
    with pytest.raises(IngestError, match=rf"^{path}:1:currency: .*missing"):
        list(gcp.parse(path))


def test_truncated_gzip(shared_dir, tmp_path):
    data = gzip.compress((shared_dir / AWS_SAMPLE).read_bytes())
    path = tmp_path / "cur.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError) as err:
        list(aws_cur.parse(path))
    assert str(err.value).startswith(f"{path}:")
    assert "truncated" in str(err.value)


@pytest.mark.parametrize(
    ("relative", "module"),
    [(AZURE_SAMPLE, azure), (AWS_SAMPLE, aws_cur), (OCI_SAMPLE, oci)],
)
def test_semicolon_delimiter_is_reported(shared_dir, tmp_path, relative, module):
    path = write_csv(tmp_path / "semi.csv", csv_rows(shared_dir / relative), delimiter=";")
    assert registry.detect(path) is module  # recognized, so the message can be specific
    with pytest.raises(IngestError, match=rf"^{path}:1:-: the file is semicolon-separated"):
        list(module.parse(path))


def test_mixed_currencies_in_one_billing_account(shared_dir, tmp_path):
    rows = with_value(csv_rows(shared_dir / AWS_SAMPLE), 700, "lineItem/CurrencyCode", "EUR")
    path = write_csv(tmp_path / "mixed.csv", rows)
    with pytest.raises(IngestError, match=rf"^{path}:702:lineItem/CurrencyCode: currency EUR"):
        list(aws_cur.parse(path))

    rows = with_value(csv_rows(shared_dir / EA_AMORTIZED), 20, "BillingCurrency", "EUR")
    path = write_csv(tmp_path / "mixed_azure.csv", rows)
    with pytest.raises(IngestError, match=rf"^{path}:22:BillingCurrency:"):
        list(azure.parse(path))


def test_two_accounts_may_use_two_currencies(tmp_path):
    rows = csv_rows(FIXTURES / "gcp_vertex.csv")
    rows = with_value(rows, 0, "billing_account_id", "0F0F0F-0F0F0F-0F0F0F")
    rows = with_value(rows, 0, "currency", "EUR")
    frame = parsed(gcp, write_csv(tmp_path / "two.csv", rows))
    assert frame.groupby("billing_account_id").billing_currency.first().to_dict() == {
        "0F0F0F-0F0F0F-0F0F0F": "EUR",
        "01A2B3-C4D5E6-F7A8B9": "USD",
    }


def test_bad_date_names_the_row(shared_dir, tmp_path):
    rows = with_value(csv_rows(shared_dir / AZURE_SAMPLE), 9, "Date", "31/31/2023")
    path = write_csv(tmp_path / "date.csv", rows)
    with pytest.raises(IngestError, match=rf"^{path}:11:Date: '31/31/2023' is not a date"):
        list(azure.parse(path))


def test_commitment_line_without_its_amortization_column(tmp_path):
    rows = csv_rows(FIXTURES / "aws_cur2_bedrock.csv")
    for row in rows:
        del row["savings_plan_savings_plan_effective_cost"]
    path = write_csv(tmp_path / "no_sp.csv", rows)
    with pytest.raises(IngestError, match="savings_plan_savings_plan_effective_cost"):
        list(aws_cur.parse(path))


def test_sniffers_do_not_claim_each_other(shared_dir):
    heads = {
        "aws": (shared_dir / AWS_SAMPLE).read_text()[:4096],
        "oci": (shared_dir / OCI_SAMPLE).read_text()[:4096],
        "azure": (shared_dir / EA_ACTUAL).read_text(encoding="utf-8-sig")[:4096],
        "gcp": (FIXTURES / "gcp_vertex.csv").read_text()[:4096],
    }
    claims = {
        name: [m.NAME for m in (aws_cur, azure, gcp, oci) if m.sniff(Path("x.csv"), head)]
        for name, head in heads.items()
    }
    assert claims == {"aws": ["aws-cur"], "oci": ["oci"], "azure": ["azure"], "gcp": ["gcp"]}
