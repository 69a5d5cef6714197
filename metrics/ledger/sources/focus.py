"""FOCUS 1.0-1.3 exports (CSV, gzip CSV or Parquet) from any provider.

Also reads back this product's own export: the AI columns travel as `x_` extensions.
Quirks handled: literal `NULL` strings, a UTF-8 BOM, `YYYY-MM-DD HH:MM:SS` and US `M/D/YY`
timestamps (FOCUS spec examples), extra non-FOCUS columns (ignored, e.g. `Id`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from metrics.ledger.csv_safety import UNGUARD_PATTERN
from metrics.ledger.providers import key_for_focus_name
from metrics.ledger.sources.base import (
    CURRENCY_CODE,
    TEXT_COLUMNS,
    IngestError,
    currency_codes,
    decimal_strings,
    finish_frame,
    json_objects,
    utc_times,
)
from metrics.ledger.sources.csv_reader import (
    csv_header,
    read_csv_chunks,
    read_csv_tables,
    sniff_header,
)

NAME = "focus"

# FOCUS column -> ledger column
COLUMNS: dict[str, str] = {
    "BillingAccountId": "billing_account_id",
    "BillingAccountName": "billing_account_name",
    "BillingAccountType": "billing_account_type",
    "SubAccountId": "sub_account_id",
    "SubAccountName": "sub_account_name",
    "SubAccountType": "sub_account_type",
    "BillingPeriodStart": "billing_period_start",
    "BillingPeriodEnd": "billing_period_end",
    "ChargePeriodStart": "charge_period_start",
    "ChargePeriodEnd": "charge_period_end",
    "ChargeCategory": "charge_category",
    "ChargeClass": "charge_class",
    "ChargeDescription": "charge_description",
    "ChargeFrequency": "charge_frequency",
    "BilledCost": "billed_cost",
    "EffectiveCost": "effective_cost",
    "ListCost": "list_cost",
    "ContractedCost": "contracted_cost",
    "BillingCurrency": "billing_currency",
    "PricingCategory": "pricing_category",
    "PricingQuantity": "pricing_quantity",
    "PricingUnit": "pricing_unit",
    "ListUnitPrice": "list_unit_price",
    "ContractedUnitPrice": "contracted_unit_price",
    "ConsumedQuantity": "consumed_quantity",
    "ConsumedUnit": "consumed_unit",
    "ProviderName": "provider_name",
    "PublisherName": "publisher_name",
    "InvoiceIssuerName": "invoice_issuer_name",
    "InvoiceId": "invoice_id",
    "ServiceName": "service_name",
    "ServiceCategory": "service_category",
    "ServiceSubcategory": "service_subcategory",
    "RegionId": "region_id",
    "RegionName": "region_name",
    "AvailabilityZone": "availability_zone",
    "ResourceId": "resource_id",
    "ResourceName": "resource_name",
    "ResourceType": "resource_type",
    "SkuId": "sku_id",
    "SkuPriceId": "sku_price_id",
    "SkuMeter": "sku_meter",
    "CommitmentDiscountId": "commitment_discount_id",
    "CommitmentDiscountName": "commitment_discount_name",
    "CommitmentDiscountCategory": "commitment_discount_category",
    "CommitmentDiscountType": "commitment_discount_type",
    "CommitmentDiscountStatus": "commitment_discount_status",
    "CommitmentDiscountQuantity": "commitment_discount_quantity",
    "CommitmentDiscountUnit": "commitment_discount_unit",
    "PricingCurrency": "pricing_currency",
    "Tags": "tags",
    # AI columns as written by export_focus
    "x_Provider": "provider",
    "x_Model": "model",
    "x_InputTokens": "input_tokens",
    "x_CachedInputTokens": "cached_input_tokens",
    "x_CacheWriteTokens": "cache_write_tokens",
    "x_OutputTokens": "output_tokens",
    "x_ModelRequests": "model_requests",
    "x_GpuHours": "gpu_hours",
    "x_ApplicationKey": "application_key",
    # x_ServiceTier ("batch") and SkuPriceDetails' ServiceTier: see _service_tiers
}
MANDATORY = ["ChargePeriodStart", "ChargePeriodEnd", "BilledCost"]
MONEY = {
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "PricingQuantity",
    "ListUnitPrice",
    "ContractedUnitPrice",
    "ConsumedQuantity",
    "CommitmentDiscountQuantity",
    "x_GpuHours",
}
INTEGERS = {
    "x_InputTokens",
    "x_CachedInputTokens",
    "x_CacheWriteTokens",
    "x_OutputTokens",
    "x_ModelRequests",
}
NULLS = ["", "NULL", "null"]
TEXT_COLUMNS_SET = set(TEXT_COLUMNS)


def sniff(path: Path, head: str) -> bool:
    if path.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq

            names = set(pq.read_schema(path).names)
        except Exception:
            return False
        return {"BilledCost", "ChargePeriodStart"} <= names
    return {"BilledCost", "ChargePeriodStart"} <= set(sniff_header(head))


PARQUET_BATCH_ROWS = 200_000


def _parquet_chunks(path: Path) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            frame = batch.to_pandas()
            for col in frame.columns:
                if frame[col].dtype.kind == "M":  # datetimes stay datetimes (ISO text below)
                    frame[col] = pd.to_datetime(frame[col], utc=True).dt.strftime(
                        "%Y-%m-%dT%H:%M:%SZ"
                    )
                frame[col] = frame[col].astype("string").fillna("")
            yield frame.astype(object)
    except Exception as exc:
        raise IngestError(str(path), 0, "-", f"cannot read the Parquet file: {exc}") from exc


def _parse_pandas(path: Path) -> Iterator[pd.DataFrame]:
    file = str(path)
    if path.suffix == ".parquet":
        chunks = _parquet_chunks(path)
    else:
        csv_header(path)  # the header checks every CSV source gets (empty, delimiter, UTF-8)
        chunks = read_csv_chunks(path, fast=False)  # the fallback of the Arrow reader
    first_line = 2  # the header is line 1
    for raw in chunks:
        raw.columns = [str(c).strip() for c in raw.columns]
        missing = [c for c in MANDATORY if c not in raw.columns]
        if missing:
            raise IngestError(file, 1, missing[0], "mandatory FOCUS column is missing")
        lines = pd.Series(range(first_line, first_line + len(raw)), index=raw.index)
        first_line += len(raw)
        short = raw.isna().any(axis=1)  # Parquet nulls (a CSV's missing fields read as "")
        if short.any():
            i = short.to_numpy().nonzero()[0][0]
            have = int(raw.iloc[i].notna().sum())
            raise IngestError(
                file,
                int(lines.iloc[i]),
                raw.columns[have] if have < len(raw.columns) else "-",
                f"the row has {have} fields, the header {len(raw.columns)} (truncated file?)",
            )
        yield _normalize(raw, file=file, lines=lines)


BATCH_TIER = json.dumps({"service_tier": "batch"})
TIERS = {"SkuPriceDetails", "x_ServiceTier"}


def _tier_of_price_details(text: str) -> str:
    """The service tier a SkuPriceDetails object names (`ServiceTier` or `x_ServiceTier`)."""
    try:
        details = json.loads(text)
    except ValueError:
        return ""
    if not isinstance(details, dict):
        return ""
    for key, value in details.items():
        if str(key).lower() in ("servicetier", "x_servicetier") and isinstance(value, str):
            return value.strip().lower()
    return ""


def _service_tiers(raw: pd.DataFrame) -> pd.Series:
    """Batch usage from conformant signals, kept in `raw` as `{"service_tier": "batch"}` (what
    the catalog re-pricing reads, as for Anthropic's own field): our `x_ServiceTier` column,
    or a `ServiceTier` / `x_ServiceTier` property in SkuPriceDetails (FOCUS 1.2+). FOCUS's
    PricingCategory has no batch value, so it is not used."""
    tier = pd.Series("", index=raw.index, dtype=object)
    if "SkuPriceDetails" in raw.columns:
        details = raw["SkuPriceDetails"].astype("string").fillna("").str.strip()
        present = details.str.startswith("{")
        tier = tier.where(~present, details[present].map(_tier_of_price_details))
    if "x_ServiceTier" in raw.columns:
        column = raw["x_ServiceTier"].astype("string").fillna("").str.strip().str.lower()
        tier = tier.where(column == "", column)
    return pd.Series(
        [BATCH_TIER if t == "batch" else None for t in tier], index=raw.index, dtype=object
    )


def _normalize(raw: pd.DataFrame, *, file: str, lines: pd.Series) -> pd.DataFrame:
    out = pd.DataFrame(index=raw.index)
    warnings: list[str] = []
    out["source_line"] = lines
    for focus_col, col in COLUMNS.items():
        if focus_col not in raw.columns:
            continue
        values = raw[focus_col]
        if focus_col in MONEY:
            out[col] = decimal_strings(
                values,
                file=file,
                column=focus_col,
                lines=lines,
                required=focus_col == "BilledCost",
            )
        elif focus_col in INTEGERS:
            text = values.astype("string").str.strip().replace(NULLS, "0")
            bad = ~text.str.fullmatch(r"\d+")
            if bad.any():
                i = bad.to_numpy().nonzero()[0][0]
                raise IngestError(
                    file, int(lines.iloc[i]), focus_col, f"{values.iloc[i]!r} is not an integer"
                )
            out[col] = text.astype("int64")
        elif col.endswith(("_start", "_end")) and "period" in col:
            out[col] = utc_times(
                values,
                file=file,
                column=focus_col,
                lines=lines,
                required=focus_col in MANDATORY,
                warnings=warnings,
            )
        elif focus_col == "Tags":
            out[col] = json_objects(values, file=file, column=focus_col, lines=lines)
        else:
            text = values.astype("string").str.strip()
            text = text.str.replace(UNGUARD_PATTERN, "", regex=True)  # what csv_safe added
            out[col] = text.where(~text.isin(NULLS), "").fillna("").astype(object)
    if "effective_cost" not in out.columns:
        out["effective_cost"] = out["billed_cost"]
    else:
        out["effective_cost"] = out["effective_cost"].where(
            out["effective_cost"].notna(), out["billed_cost"]
        )
    if "billing_period_start" not in out.columns or out["billing_period_start"].isna().any():
        month = out["charge_period_start"].dt.tz_localize(None).dt.to_period("M")
        start = month.dt.to_timestamp().dt.tz_localize("UTC")
        end = (month + 1).dt.to_timestamp().dt.tz_localize("UTC")
        if "billing_period_start" in out.columns:
            out["billing_period_start"] = out["billing_period_start"].fillna(start)
            out["billing_period_end"] = out["billing_period_end"].fillna(end)
        else:
            out["billing_period_start"], out["billing_period_end"] = start, end
    if "charge_category" not in out.columns:
        out["charge_category"] = "Usage"
    out["charge_category"] = out["charge_category"].replace("", "Usage")
    if "billing_currency" not in out.columns:
        # Some FOCUS spec examples omit it; their amounts are USD (see CommitmentDiscountUnit).
        out["billing_currency"] = "USD"
    currency_codes(out["billing_currency"], file=file, column="BillingCurrency", lines=lines)
    if "provider" not in out.columns or (out["provider"] == "").any():
        names = (
            out["provider_name"]
            if "provider_name" in out.columns
            else pd.Series("", index=out.index)
        )
        derived = names.map({n: key_for_focus_name(n) for n in pd.unique(names)})
        out["provider"] = (
            derived
            if "provider" not in out.columns
            else out["provider"].where(out["provider"] != "", derived)
        )
    if "BillingCurrency" not in raw.columns:
        warnings.append(f"{file}:1:BillingCurrency: column absent; amounts taken as USD")
    out["raw"] = _service_tiers(raw)
    frame = finish_frame(out, file=file)
    frame.attrs["warnings"] = warnings
    return frame


# --- The fast path: Arrow end to end ------------------------------------------------------

_ISO_Z = "%Y-%m-%dT%H:%M:%SZ"
_MONEY_NULLS = ["", "NULL", "null", "None", "NaN", "nan"]
_DECIMAL_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def parse_fallback(path: Path) -> Iterator[pd.DataFrame]:
    """The pandas reader (every quirk, the exact error of a malformed file)."""
    yield from _parse_pandas(path)


def parse(path: Path) -> Iterator[Any]:
    """CSV and gzip CSV through Arrow (a batch the fast path cannot take as it is goes
    through the pandas normalization); Parquet through pandas."""
    if path.suffix == ".parquet":
        yield from _parse_pandas(path)
        return
    yield from _parse_arrow(path)


def _parse_arrow(path: Path) -> Iterator[Any]:
    import pyarrow as pa

    from metrics.ledger.sources.arrow import ReparseSlowly

    file = str(path)
    header = csv_header(path)
    names = [h.strip() for h in header]
    if any(c not in names for c in MANDATORY) or len(set(names)) != len(names):
        yield from _parse_pandas(path)  # the pandas reader names what is wrong
        return
    wanted = [
        raw for raw, clean in zip(header, names, strict=True) if clean in COLUMNS or clean in TIERS
    ]
    try:
        for first_line, table in read_csv_tables(path, header, wanted):
            yield _normalize_arrow(table, file=file, first_line=first_line)
    except pa.ArrowInvalid as exc:  # a value Arrow cannot convert: pandas names it
        raise ReparseSlowly(str(exc)) from exc


def _normalize_arrow(table: Any, *, file: str, first_line: int) -> Any:
    """A batch of FOCUS text columns -> the ledger table; a batch with anything unusual
    (dollar amounts, other date formats, missing billing periods or currency, bad values)
    goes through the pandas `_normalize`, which repairs it or names the bad cell."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from metrics.ledger.sources.arrow import (
        LEDGER_SCHEMA,
        UTC_TS,
        empty_strings,
        encode,
        nullish,
        plain_decimals,
        plain_integers,
        to_ledger_table,
        unchanged_text,
    )

    n = table.num_rows
    names = set(table.column_names)

    def slow() -> Any:
        raw = table.to_pandas()
        lines = pd.Series(range(first_line, first_line + n), index=raw.index)
        return to_ledger_table(_normalize(raw, file=file, lines=lines))

    if "BillingCurrency" not in names or "BillingPeriodStart" not in names:
        return slow()
    out: dict[str, Any] = {"source_line": pa.array(np.arange(first_line, first_line + n))}
    for focus_col, col in COLUMNS.items():
        if focus_col not in names:
            continue
        values = table.column(focus_col)
        if focus_col in MONEY:  # (blanks around a number: the pandas path strips them)
            if plain_decimals(values):  # the common case, without a per-value regex
                out[col] = values
                continue
            empty = nullish(values, _MONEY_NULLS)
            good = pc.or_(empty, pc.match_substring_regex(values, _DECIMAL_RE))
            if not pc.all(good).as_py() or (focus_col == "BilledCost" and pc.any(empty).as_py()):
                return slow()
            out[col] = pc.if_else(empty, pa.scalar(None, pa.string()), values)
        elif focus_col in INTEGERS:
            if plain_integers(values):  # the common case, without a per-value regex
                out[col] = pc.cast(values, pa.int64())
                continue
            empty = nullish(values, NULLS)
            good = pc.or_(empty, pc.match_substring_regex(values, r"^\d+$"))
            if not pc.all(good).as_py():
                return slow()
            out[col] = pc.cast(pc.if_else(empty, "0", values), pa.int64())
        elif col.endswith(("_start", "_end")) and "period" in col:
            encoded = encode(values)
            parsed = pc.strptime(
                pc.utf8_trim_whitespace(encoded.dictionary),
                format=_ISO_Z,
                unit="s",
                error_is_null=True,
            )
            if parsed.null_count:  # another format, or blanks: pandas knows them all
                return slow()
            stamps = pc.cast(parsed, pa.timestamp("s", tz="UTC")).take(encoded.indices)
            out[col] = pc.cast(stamps, UTC_TS)
        elif focus_col == "Tags":
            values = pc.utf8_trim_whitespace(values)
            empty = nullish(values, ["", "NULL", "null", "{}"])
            kept = pc.if_else(empty, pa.scalar(None, pa.string()), values)
            for value in pc.unique(pc.drop_null(kept)).to_pylist():
                try:
                    ok = isinstance(json.loads(value), dict)
                except (ValueError, RecursionError):
                    ok = False
                if not ok:
                    return slow()
            out[col] = kept
        else:  # text: trimmed and NULL-cleaned once per distinct value
            if unchanged_text(values, NULLS):
                out[col] = values  # nothing to trim, clean or un-guard (checked bytewise)
                continue
            encoded = encode(values)
            words = pc.utf8_trim_whitespace(encoded.dictionary)
            words = pc.if_else(nullish(words, NULLS), "", words)
            if pc.any(pc.starts_with(words, "'")).as_py():  # what csv_safe added on export
                unguard = re.compile(UNGUARD_PATTERN)
                words = pa.array([unguard.sub("", w) for w in words.to_pylist()], pa.string())
            out[col] = words.take(encoded.indices)
    if names & TIERS:  # batch usage signals, as _service_tiers reads them
        tier: Any = pa.repeat(pa.scalar("", pa.string()), n)
        if "SkuPriceDetails" in names:
            encoded = encode(pc.utf8_trim_whitespace(table.column("SkuPriceDetails")))
            found = [
                _tier_of_price_details(v) if v.startswith("{") else ""
                for v in encoded.dictionary.to_pylist()
            ]
            tier = pa.array(found, pa.string()).take(encoded.indices)
        if "x_ServiceTier" in names:
            column = pc.utf8_lower(pc.utf8_trim_whitespace(table.column("x_ServiceTier")))
            tier = pc.if_else(pc.equal(column, ""), tier, column)
        out["raw"] = pc.if_else(pc.equal(tier, "batch"), BATCH_TIER, pa.scalar(None, pa.string()))
    if "effective_cost" not in out:
        out["effective_cost"] = out["billed_cost"]
    else:
        out["effective_cost"] = pc.coalesce(out["effective_cost"], out["billed_cost"])
    category = out.get("charge_category")
    out["charge_category"] = (
        pa.repeat(pa.scalar("Usage", pa.string()), n)
        if category is None
        else pc.if_else(pc.equal(category, ""), "Usage", category)
    )
    if not pc.all(pc.match_substring_regex(out["billing_currency"], f"^{CURRENCY_CODE}$")).as_py():
        return slow()  # the currency guard names the row
    provider = out.get("provider")
    if provider is None or pc.any(pc.equal(provider, "")).as_py():
        names_col = out.get("provider_name", pa.repeat(pa.scalar("", pa.string()), n))
        encoded = encode(names_col)
        keys = pa.array([key_for_focus_name(v) for v in encoded.dictionary.to_pylist()])
        derived = keys.take(encoded.indices)
        out["provider"] = (
            derived if provider is None else pc.if_else(pc.equal(provider, ""), derived, provider)
        )
    arrays = []
    for field in LEDGER_SCHEMA:
        if field.name in out:
            arrays.append(pc.cast(out[field.name], field.type))
        elif pa.types.is_integer(field.type):
            arrays.append(pa.array(np.zeros(n, dtype=np.int64)))
        elif field.name in ("gpu_hours",):
            arrays.append(pa.repeat(pa.scalar("0", pa.string()), n))
        elif field.name in TEXT_COLUMNS_SET:
            arrays.append(empty_strings(n))
        else:
            arrays.append(pa.nulls(n, field.type))
    if "gpu_hours" in out:
        arrays[LEDGER_SCHEMA.get_field_index("gpu_hours")] = pc.fill_null(out["gpu_hours"], "0")
    return pa.Table.from_arrays(arrays, schema=LEDGER_SCHEMA)
