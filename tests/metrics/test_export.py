"""FOCUS 1.2 export: totals, round trips through the FOCUS importer, the command's errors.

The official validator is run on every sample by .ci/checks/focus_validator.sh, not here.
"""

import csv
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.ledger import export
from metrics.ledger.csv_safety import csv_unsafe
from metrics.ledger.export import COLUMN_NAMES, ExportError, focus_export
from metrics.ledger.ingest import billing_import
from metrics.ledger.sources.focus import COLUMNS as IMPORTED
from metrics.models import CostRecord, DailyCost, ImportBatch, Team

OFFICIAL = "data/billing/focus_sample_1.0_official.csv"
MONEY = {name for name, kind in export.COLUMNS if kind == "money"}
TIMES = {name for name, kind in export.COLUMNS if kind == "time"}
INTEGERS = {name for name, kind in export.COLUMNS if kind == "int"}
TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def source_sums(path: Path) -> dict[str, Decimal]:
    """BilledCost and EffectiveCost of a FOCUS file, summed with csv + Decimal only."""
    sums = {"BilledCost": Decimal(0), "EffectiveCost": Decimal(0)}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for rec in csv.DictReader(fh):
            for col in sums:
                if rec[col] not in ("", "NULL"):
                    sums[col] += Decimal(rec[col])
    return sums


def fresh_ledger() -> None:
    """An empty ledger, as in a new database (same tables, no rows)."""
    CostRecord.objects.all().delete()
    DailyCost.objects.all().delete()
    ImportBatch.objects.all().delete()


def ledger_rows() -> list[dict]:
    fields = sorted(set(IMPORTED.values()))
    return list(CostRecord.objects.order_by("id").values(*fields))


def test_official_sample_keeps_rows_and_totals(db, shared_dir, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    source = shared_dir / OFFICIAL
    billing_import(source)

    result = focus_export(out=tmp_path / "focus.csv", start=None, end=None, team=None)

    rows = read_csv(result.path)
    assert result.rows == len(rows) == CostRecord.objects.count() == 1000
    assert list(rows[0]) == COLUMN_NAMES
    expected = source_sums(source)
    for col in ("BilledCost", "EffectiveCost"):
        total = sum((Decimal(r[col]) for r in rows), Decimal(0))
        assert total == expected[col]  # exact, so also to the cent
        assert total.quantize(Decimal("0.01")) == expected[col].quantize(Decimal("0.01"))
    for r in rows:
        for col in MONEY:
            assert r[col] == "" or ("e" not in r[col].lower() and "." in r[col])
        for col in TIMES:
            assert datetime.strptime(r[col], TIMESTAMP).strftime(TIMESTAMP) == r[col]


# Columns where the export fills in or normalizes what the source left out or spelled
# otherwise (metrics.ledger.export.focus_frame), each with the check that the change is that one.
def _blank(v1, v2):
    return v1 in ("", None)


DERIVED = {
    # ContractedUnitPrice is NULL on 7 Oracle rows: ContractedCost = BilledCost.
    "contracted_cost": lambda v1, v2, r1: v1 is None and v2 == r1["billed_cost"],
    # EC2 carries 422 Compute and 132 Storage rows: one category per ServiceName.
    "service_category": lambda v1, v2, r1: (
        r1["service_name"] == "Amazon Elastic Compute Cloud" and v2 == "Compute"
    ),
    "service_subcategory": lambda v1, v2, r1: _blank(v1, v2) and v2.startswith("Other ("),
    # "Amazon Web Services EMEA SARL" invoices for ProviderName "AWS": first-party.
    "invoice_issuer_name": lambda v1, v2, r1: (
        v1.startswith("Amazon Web Services") and v2 == r1["provider_name"]
    ),
    "charge_frequency": lambda v1, v2, r1: v1 == "Usage-based" and v2 == "Usage-Based",
    "pricing_category": lambda v1, v2, r1: _blank(v1, v2) and v2 == "Standard",
    "pricing_currency": lambda v1, v2, r1: _blank(v1, v2) and v2 == r1["billing_currency"],
    # FOCUS: ConsumedQuantity/Unit are null unless ChargeCategory is Usage.
    "consumed_quantity": lambda v1, v2, r1: r1["charge_category"] != "Usage" and v2 is None,
    "consumed_unit": lambda v1, v2, r1: (
        (r1["charge_category"] != "Usage" and v2 == "")
        or (v1 == "Lambda-GB-Seconds" and v2 == "Lambda GB-Seconds")
        or (v1 == "GiB/Second-Months" and v2 == "GiB per Second-Months")
    ),
    "pricing_unit": lambda v1, v2, r1: (
        (v1, v2)
        in {
            ("Lambda-GB-Seconds", "Lambda GB-Seconds"),
            ("GiB/Second-Months", "GiB per Second-Months"),
        }
    ),
    # FOCUS: a ResourceType describes a resource, so it is null without a ResourceId.
    "resource_type": lambda v1, v2, r1: r1["resource_id"] == "" and v2 == "",
    # Oracle rows name their region only by its key ("us-sanjose-1"): that is the RegionId.
    "region_id": lambda v1, v2, r1: _blank(v1, v2) and v2 == r1["region_name"],
}


def test_reimport_of_the_export_round_trips_every_focus_column(db, shared_dir, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    billing_import(shared_dir / OFFICIAL)
    before = ledger_rows()
    first = focus_export(out=tmp_path / "first.csv", start=None, end=None, team=None)

    fresh_ledger()
    billing_import(first.path)
    after = ledger_rows()
    second = focus_export(out=tmp_path / "second.csv", start=None, end=None, team=None)

    assert len(after) == len(before) == 1000
    changed: dict[str, int] = {}
    for r1, r2 in zip(before, after, strict=True):
        for field in r1:
            v1, v2 = r1[field], r2[field]
            if v1 == v2:
                continue
            assert field in DERIVED, f"{field}: {v1!r} became {v2!r}"
            assert DERIVED[field](v1, v2, r1), f"{field}: {v1!r} became {v2!r}"
            changed[field] = changed.get(field, 0) + 1
    # Money is never changed; derivations touch few rows and only the documented columns.
    assert {"billed_cost", "effective_cost", "list_cost"}.isdisjoint(changed)
    assert changed["contracted_cost"] == 7
    assert changed["service_category"] == 132
    # The export of the re-imported ledger is the same file: the FOCUS view is a fixed point.
    assert second.path.read_bytes() == first.path.read_bytes()


def test_parquet_export_is_typed_and_exact(db, shared_dir, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    source = shared_dir / OFFICIAL
    billing_import(source)

    result = focus_export(out=tmp_path / "focus.parquet", start=None, end=None, team=None)
    focus_export(out=tmp_path / "focus.csv", start=None, end=None, team=None)

    table = pq.read_table(result.path)
    assert table.num_rows == result.rows == 1000
    assert table.schema.names == COLUMN_NAMES
    assert str(table.schema.field("BilledCost").type).startswith("decimal128(38,")
    assert table.schema.field("ChargePeriodStart").type.tz == "UTC"  # Parquet stores ms
    csv_rows = read_csv(tmp_path / "focus.csv")
    expected = source_sums(source)
    for col in ("BilledCost", "EffectiveCost"):
        assert sum(table.column(col).to_pylist(), Decimal(0)) == expected[col]
    for col in MONEY:  # the same exact values as the CSV, nulls as nulls
        for value, text in zip(
            table.column(col).to_pylist(), (r[col] for r in csv_rows), strict=True
        ):
            assert (value is None and text == "") or value == Decimal(text)

    # The Parquet file imports back to the same ledger: its CSV export is the same file.
    fresh_ledger()
    billing_import(result.path)
    again = focus_export(out=tmp_path / "again.csv", start=None, end=None, team=None)
    assert again.path.read_bytes() == (tmp_path / "focus.csv").read_bytes()


def test_streamed_chunks_give_the_same_file(db, shared_dir, tmp_path, settings, monkeypatch):
    settings.MEDIA_ROOT = tmp_path / "media"
    billing_import(shared_dir / OFFICIAL)
    whole = focus_export(out=tmp_path / "whole.csv", start=None, end=None, team=None)
    monkeypatch.setattr(export, "CHUNK_ROWS", 7)
    pieces = focus_export(out=tmp_path / "pieces.csv", start=None, end=None, team=None)
    assert pieces.path.read_bytes() == whole.path.read_bytes()


# --- filters and the command ----------------------------------------------------------------


def focus_file(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    path = tmp_path / f"in-{len(list(tmp_path.iterdir()))}.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def usage_row(day: str, cost: str, team: str) -> dict[str, str]:
    return {
        "BillingAccountId": "acct-1",
        "BillingCurrency": "USD",
        "BillingPeriodStart": "2026-10-01T00:00:00Z",
        "BillingPeriodEnd": "2026-11-01T00:00:00Z",
        "ChargePeriodStart": f"{day}T00:00:00Z",
        "ChargePeriodEnd": f"{day}T01:00:00Z",
        "ChargeCategory": "Usage",
        "BilledCost": cost,
        "EffectiveCost": cost,
        "ProviderName": "OpenAI",
        "ServiceName": "OpenAI API",
        "ServiceCategory": "AI and Machine Learning",
        "Tags": json.dumps({"team": team}),
        "x_Model": "gpt-4o",
        "x_InputTokens": "1000",
        "x_OutputTokens": "100",
        "x_ModelRequests": "3",
    }


def test_start_end_and_team_select_rows(db, teams, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    billing_import(
        focus_file(
            tmp_path,
            [
                usage_row("2026-10-01", "1.10", "search"),
                usage_row("2026-10-02", "2.20", "search"),
                usage_row("2026-10-03", "3.30", "ml-platform"),
            ],
        )
    )
    out = tmp_path / "out.csv"

    def costs(**kwargs) -> list[str]:
        focus_export(out=out, **{"start": None, "end": None, "team": None, **kwargs})
        return [r["BilledCost"] for r in read_csv(out)]

    assert costs() == ["1.1", "2.2", "3.3"]
    assert costs(start=datetime(2026, 10, 2).date()) == ["2.2", "3.3"]
    assert costs(end=datetime(2026, 10, 2).date()) == ["1.1", "2.2"]  # both ends inclusive
    assert costs(team="search") == ["1.1", "2.2"]
    assert [r["x_Team"] for r in read_csv(out)] == ["search", "search"]
    assert costs(team="ml-platform", start=datetime(2026, 10, 3).date()) == ["3.3"]
    rows = read_csv(out)
    assert rows[0]["x_InputTokens"] == "1000" and rows[0]["x_ModelRequests"] == "3"
    assert rows[0]["x_Model"] == "gpt-4o" and rows[0]["x_Provider"] == "openai"


def test_empty_ledger_writes_a_header_only_file(db, tmp_path):
    assert focus_export(out=tmp_path / "e.csv", start=None, end=None, team=None).rows == 0
    assert (tmp_path / "e.csv").read_text().strip() == ",".join(COLUMN_NAMES)
    assert focus_export(out=tmp_path / "e.parquet", start=None, end=None, team=None).rows == 0
    assert pq.read_table(tmp_path / "e.parquet").schema.names == COLUMN_NAMES


def test_command_writes_and_reports(db, teams, tmp_path, settings, capsys):
    settings.MEDIA_ROOT = tmp_path / "media"
    billing_import(focus_file(tmp_path, [usage_row("2026-10-01", "1.10", "search")]))
    out = tmp_path / "x.parquet"
    call_command("export_focus", "--out", str(out), "--start", "2026-10-01", "--team", "search")
    assert "1 rows" in capsys.readouterr().out
    assert pq.read_table(out).num_rows == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "x.xlsx"], "unsupported file type '.xlsx'"),
        (["--out", "x.csv", "--team", "nobody"], "unknown team 'nobody'"),
        (["--out", "x.csv", "--start", "2026-10-02", "--end", "2026-10-01"], "before the start"),
        (["--out", "x.csv", "--start", "10/01/2026"], r"'10/01/2026' is not a date \(YYYY-MM-DD\)"),
    ],
)
def test_command_errors_are_clear(db, teams, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CommandError, match=message):
        call_command("export_focus", *args)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_service_rejects_bad_arguments(db, tmp_path):
    with pytest.raises(ExportError, match="unsupported"):
        focus_export(out=tmp_path / "x", start=None, end=None, team=None)
    with pytest.raises(ExportError, match="unknown team"):
        focus_export(out=tmp_path / "x.csv", start=None, end=None, team="ghost")
    assert not Team.objects.exists()


# --- property: any conforming FOCUS row survives import + export ------------------------------

SAFE_TEXT = (
    st.text(alphabet=st.sampled_from("abcXYZ019 -_.:/,'\"é"), min_size=1, max_size=20)
    .map(str.strip)
    .filter(lambda s: s and s.lower() not in ("null", "none", "nan"))
)
OPTIONAL_TEXT = st.none() | SAFE_TEXT
PROVIDERS = {
    "AWS": "aws",
    "Microsoft": "azure",
    "Google Cloud": "gcp",
    "Oracle": "oci",
    "OpenAI": "openai",
    "Anthropic": "anthropic",
}
UNITS = ["Hours", "GB", "GB-Hours", "Requests", "1000 Tokens", "API Requests", "GB/Month"]


def money(places: int = 10, low: str = "-100000", high: str = "100000"):
    return st.decimals(
        min_value=Decimal(low), max_value=Decimal(high), places=places, allow_nan=False
    ).map(lambda d: d.normalize() if d != 0 else Decimal(0))


def positive_money():
    return money(low="0", high="100000")


SECOND = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
).map(lambda t: t.replace(microsecond=0))


@st.composite
def focus_rows(draw) -> dict:
    category = draw(st.sampled_from(export.CHARGE_CATEGORIES))
    correction = draw(st.booleans())
    usage, tax = category == "Usage", category == "Tax"
    provider = draw(st.sampled_from(sorted(PROVIDERS)))
    start = draw(SECOND)
    billing_start = start.replace(day=1, hour=0, minute=0, second=0)
    service_category = draw(st.sampled_from(export.SERVICE_CATEGORIES))
    frequencies = [
        f for f in export.CHARGE_FREQUENCIES if not (category == "Purchase" and f == "Usage-Based")
    ]
    cd_id = draw(OPTIONAL_TEXT)
    status = draw(st.sampled_from(["Used", "Unused"])) if cd_id and usage else None
    cd_quantity = (
        draw(st.none() | positive_money())
        if cd_id and category in ("Usage", "Purchase") and not correction
        else None
    )
    quantity = None if tax else draw(st.none() | positive_money())
    consumed = draw(st.none() | positive_money()) if usage and status != "Unused" else None
    sub_account = draw(OPTIONAL_TEXT)
    resource = draw(OPTIONAL_TEXT)
    region = draw(OPTIONAL_TEXT)
    sku = None if tax else draw(OPTIONAL_TEXT)
    tags = draw(st.none() | st.dictionaries(SAFE_TEXT, SAFE_TEXT, min_size=1, max_size=3))
    row = {
        "AvailabilityZone": draw(OPTIONAL_TEXT),
        "BilledCost": draw(money()),
        "BillingAccountId": draw(SAFE_TEXT),
        "BillingAccountName": draw(OPTIONAL_TEXT),
        "BillingAccountType": draw(OPTIONAL_TEXT),
        "BillingCurrency": draw(st.sampled_from(["USD", "EUR", "GBP", "JPY"])),
        "BillingPeriodEnd": billing_start + timedelta(days=31),
        "BillingPeriodStart": billing_start,
        "ChargeCategory": category,
        "ChargeClass": "Correction" if correction else None,
        "ChargeDescription": draw(SAFE_TEXT),
        "ChargeFrequency": draw(st.sampled_from(frequencies)),
        "ChargePeriodEnd": start + timedelta(seconds=draw(st.integers(0, 40 * 86400))),
        "ChargePeriodStart": start,
        "CommitmentDiscountCategory": draw(st.sampled_from(["Spend", "Usage"])) if cd_id else None,
        "CommitmentDiscountId": cd_id,
        "CommitmentDiscountName": draw(OPTIONAL_TEXT) if cd_id else None,
        "CommitmentDiscountQuantity": cd_quantity,
        "CommitmentDiscountStatus": status,
        "CommitmentDiscountType": draw(OPTIONAL_TEXT) if cd_id else None,
        "CommitmentDiscountUnit": draw(st.sampled_from(UNITS)) if cd_quantity is not None else None,
        "ConsumedQuantity": consumed,
        "ConsumedUnit": draw(st.sampled_from(UNITS)) if consumed is not None else None,
        "ContractedCost": draw(money()),
        "ContractedUnitPrice": None if tax else draw(st.none() | positive_money()),
        "EffectiveCost": draw(money()),
        "InvoiceId": draw(OPTIONAL_TEXT),
        "InvoiceIssuerName": draw(st.sampled_from([provider, "Contoso Reseller Ltd"])),
        "ListCost": draw(money()),
        "ListUnitPrice": None if tax else draw(st.none() | positive_money()),
        "PricingCategory": None if tax else draw(st.sampled_from(export.PRICING_CATEGORIES)),
        "PricingCurrency": draw(st.sampled_from(["USD", "EUR", "GBP", "JPY"])),
        "PricingQuantity": quantity,
        "PricingUnit": draw(st.sampled_from(UNITS)) if quantity is not None else None,
        "ProviderName": provider,
        "PublisherName": draw(st.sampled_from([provider, "Red Hat Inc."])),
        "RegionId": region,
        "RegionName": draw(OPTIONAL_TEXT) if region else None,
        "ResourceId": resource,
        "ResourceName": draw(OPTIONAL_TEXT) if resource else None,
        "ResourceType": draw(OPTIONAL_TEXT) if resource else None,
        "ServiceCategory": service_category,
        "ServiceName": draw(SAFE_TEXT),
        "ServiceSubcategory": draw(st.sampled_from(export.SERVICE_SUBCATEGORIES[service_category])),
        "SkuId": sku,
        "SkuMeter": draw(OPTIONAL_TEXT) if sku else None,
        "SkuPriceId": None if tax else draw(OPTIONAL_TEXT),
        "SubAccountId": sub_account,
        "SubAccountName": draw(OPTIONAL_TEXT) if sub_account else None,
        "SubAccountType": draw(OPTIONAL_TEXT) if sub_account else None,
        "Tags": tags,
        "x_Provider": PROVIDERS[provider],
        "x_Model": draw(OPTIONAL_TEXT),
        "x_InputTokens": draw(st.integers(0, 2**62)),
        "x_CachedInputTokens": draw(st.integers(0, 2**40)),
        "x_CacheWriteTokens": draw(st.integers(0, 2**40)),
        "x_OutputTokens": draw(st.integers(0, 2**40)),
        "x_ModelRequests": draw(st.integers(0, 2**40)),
        "x_GpuHours": draw(positive_money()),
        "x_ApplicationKey": draw(OPTIONAL_TEXT),
    }
    return row


def as_text(column: str, value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(TIMESTAMP)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def same(column: str, written, exported: str) -> bool:
    if written is None:
        return exported == ""
    if column in MONEY:
        return Decimal(exported) == written and "e" not in exported.lower()
    if column in TIMES:
        return exported == written.strftime(TIMESTAMP)
    if column in INTEGERS:
        return int(exported) == written
    if column == "Tags":
        return json.loads(exported) == written
    return exported == written


@pytest.mark.slow  # 40 imports and exports (~20-40 s)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(row=focus_rows())
def test_any_focus_row_round_trips_through_import_and_export(db, tmp_path, settings, row):
    settings.MEDIA_ROOT = tmp_path / "media"
    fresh_ledger()  # a fresh batch each example: batches are keyed by the file's SHA-256
    source = tmp_path / "row.csv"
    with source.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(list(row))
        writer.writerow([as_text(c, v) for c, v in row.items()])
    billing_import(source)

    result = focus_export(out=tmp_path / "out.csv", start=None, end=None, team=None)

    [exported] = read_csv(result.path)
    for column, written in row.items():
        # Text the spreadsheet would run carries csv_safe's apostrophe (#12), which the
        # importer removes: compare the value it stands for.
        # The importer reads a source cell the same way, so a source text that looks guarded
        # ("'-") is stored as the text it stands for ("-"): that is what comes back.
        value = csv_unsafe(exported[column])
        expected = csv_unsafe(written) if isinstance(written, str) else written
        assert same(column, expected, value), (column, written, exported[column])
