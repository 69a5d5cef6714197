"""The contract every billing parser fulfils.

A parser is a module in `metrics.ledger.sources` with:

    NAME: str                                     # the --source name, e.g. "aws-cur"
    def sniff(path: Path, head: str) -> bool      # head = first 64 KiB of the file as text
    def parse(path: Path) -> Iterator[pd.DataFrame]

`parse` yields chunks (bounded memory) of a *normalized* frame: one row per ledger record,
the columns of LEDGER_COLUMNS (missing optional ones are filled by `finish_frame`):

- money and quantity columns (MONEY_COLUMNS): decimal *strings* ("0.0000008"), or None.
  Never floats: read sources with dtype=str and validate with `decimal_strings`.
- timestamp columns (TIME_COLUMNS): pandas datetime64 UTC (`utc_times`).
- token/request columns (INT_COLUMNS): int64.
- tags: a JSON object string ('{"team": "search"}') or None.
- raw: None for file rows traced by `source_line`, or a JSON string of the raw row for API/JSON
  sources.
- source_line: 1-based line (CSV: the header is line 1) or item number in a JSON array.

A bad value raises IngestError(file, row, column, reason); the import then writes nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

TIME_COLUMNS = [
    "billing_period_start",
    "billing_period_end",
    "charge_period_start",
    "charge_period_end",
]
MONEY_COLUMNS = [
    "billed_cost",
    "effective_cost",
    "list_cost",
    "contracted_cost",
    "pricing_quantity",
    "list_unit_price",
    "contracted_unit_price",
    "consumed_quantity",
    "commitment_discount_quantity",
    "gpu_hours",
]
INT_COLUMNS = [
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "model_requests",
]
TEXT_COLUMNS = [
    "billing_account_id",
    "billing_account_name",
    "billing_account_type",
    "sub_account_id",
    "sub_account_name",
    "sub_account_type",
    "charge_category",
    "charge_class",
    "charge_description",
    "charge_frequency",
    "billing_currency",
    "pricing_category",
    "pricing_unit",
    "consumed_unit",
    "provider_name",
    "publisher_name",
    "invoice_issuer_name",
    "invoice_id",
    "service_name",
    "service_category",
    "service_subcategory",
    "region_id",
    "region_name",
    "availability_zone",
    "resource_id",
    "resource_name",
    "resource_type",
    "sku_id",
    "sku_price_id",
    "sku_meter",
    "commitment_discount_id",
    "commitment_discount_name",
    "commitment_discount_category",
    "commitment_discount_type",
    "commitment_discount_status",
    "commitment_discount_unit",
    "pricing_currency",
    "provider",  # AI column: our short provider key: openai, anthropic, aws, azure, gcp, oci, ...
    "model",
    "application_key",
    "cost_source",  # "" = the provider's bill; "catalog" = priced by us from ModelPrice
]
JSON_COLUMNS = ["tags", "raw"]
LEDGER_COLUMNS = [
    "source_line",
    *TIME_COLUMNS,
    *MONEY_COLUMNS,
    *INT_COLUMNS,
    *TEXT_COLUMNS,
    *JSON_COLUMNS,
]
# Columns a parser must always fill (others default to empty / null / 0).
REQUIRED_COLUMNS = [
    "source_line",
    "charge_period_start",
    "charge_period_end",
    "billing_period_start",
    "billing_period_end",
    "billed_cost",
    "effective_cost",
    "billing_currency",
    "charge_category",
    "provider",
]

AI_SERVICE_CATEGORY = "AI and Machine Learning"


@dataclass
class IngestError(Exception):
    """A bad input; str() is `file:row:column: reason` (row 0 = the file itself)."""

    file: str
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.row}:{self.column}: {self.reason}"


_DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
# "$1,000.00": the FOCUS spec's hand-written examples format money like this. Only "$" with
# well-formed thousands groups is accepted; anything else stays an error.
_DOLLARS = re.compile(r"^-?\$\d{1,3}(,\d{3})*(\.\d+)?$|^-?\$\d+(\.\d+)?$")


def decimal_strings(
    values: pd.Series, *, file: str, column: str, lines: pd.Series, required: bool = False
) -> pd.Series:
    """Validate a column of decimal text; returns stripped strings with None for blanks.

    Blank, "NULL" and "null" are null. Anything else that is not a decimal number raises
    IngestError naming the first bad row.
    """
    text = values.astype("string").str.strip()
    nullish = text.isna() | text.isin(["", "NULL", "null", "None", "NaN", "nan"])
    dollars = text.fillna("").str.match(_DOLLARS)
    if dollars.any():
        text = text.where(~dollars, text.str.replace(r"[$,]", "", regex=True))
    bad = ~nullish & ~text.fillna("").str.match(_DECIMAL)
    if bad.any():
        i = bad.to_numpy().nonzero()[0][0]
        raise IngestError(
            file, int(lines.iloc[i]), column, f"{values.iloc[i]!r} is not a decimal number"
        )
    if required and nullish.any():
        i = nullish.to_numpy().nonzero()[0][0]
        raise IngestError(file, int(lines.iloc[i]), column, "a value is required")
    return text.where(~nullish, None).astype(object)


_HOUR_OVERFLOW = re.compile(r"^(\d{4}-\d\d-\d\d)T(2[4-9]|[3-9]\d):(\d\d):(\d\d)Z?$")
_TIME_FORMATS = ["ISO8601", "%m/%d/%y", "%m/%d/%Y", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M:%S"]


def utc_times(
    values: pd.Series,
    *,
    file: str,
    column: str,
    lines: pd.Series,
    required: bool = True,
    warnings: list[str] | None = None,
) -> pd.Series:
    """Parse timestamps (ISO 8601, `YYYY-MM-DD HH:MM:SS`, US `M/D/YY`) to UTC datetimes.

    Repairs it had to make are appended to `warnings` (shown in the import summary)."""
    warnings = warnings if warnings is not None else []
    text = values.astype("string").str.strip()
    nullish = text.isna() | text.isin(["", "NULL", "null", "None"])
    text = text.where(~nullish, None)
    # Normalize ISO variants that pandas' ISO8601 parser rejects, e.g. "2023-11-13T10:00Z".
    text = text.str.replace(r"T(\d\d):(\d\d)Z$", r"T\1:\2:00Z", regex=True)
    overflow = text.fillna("").str.match(_HOUR_OVERFLOW)
    if overflow.any():
        # "2023-02-01T30:00:00Z" (FOCUS spec examples): hours past 23 roll into the next day.
        parts = text[overflow].str.extract(_HOUR_OVERFLOW)
        fixed = (
            pd.to_datetime(parts[0], utc=True)
            + pd.to_timedelta(parts[1].astype(int), unit="h")
            + pd.to_timedelta(parts[2].astype(int), unit="m")
            + pd.to_timedelta(parts[3].astype(int), unit="s")
        )
        text = text.where(~overflow, fixed.dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
        warnings.append(
            f"{file}:{int(lines[overflow].iloc[0])}:{column}: hour past 23 rolled into the "
            f"next day ({int(overflow.sum())} value(s))"
        )
    last_error: Exception | None = None
    for fmt in _TIME_FORMATS:
        try:
            parsed = pd.to_datetime(text, format=fmt, utc=True)
            break
        except (ValueError, TypeError) as exc:
            last_error = exc
    else:
        parsed = pd.to_datetime(text, format="mixed", utc=True, errors="coerce")
        bad = parsed.isna() & ~nullish
        if bad.any():
            i = bad.to_numpy().nonzero()[0][0]
            raise IngestError(
                file, int(lines.iloc[i]), column, f"{values.iloc[i]!r} is not a date/time"
            ) from last_error
    if required and nullish.any():
        i = nullish.to_numpy().nonzero()[0][0]
        raise IngestError(file, int(lines.iloc[i]), column, "a date/time is required")
    return parsed


def json_objects(values: pd.Series, *, file: str, column: str, lines: pd.Series) -> pd.Series:
    """Validate JSON-object text (FOCUS Tags); parses each distinct value once."""
    text = values.astype("string").str.strip()
    nullish = text.isna() | text.isin(["", "NULL", "null", "{}"])
    out = text.where(~nullish, None).astype(object)
    for value in pd.unique(out.dropna()):
        try:
            ok = isinstance(json.loads(value), dict)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply
            ok = False
        if not ok:
            i = (out == value).to_numpy().nonzero()[0][0]
            raise IngestError(file, int(lines.iloc[i]), column, "not a JSON object")
    return out


# The shape of an ISO 4217 code (three letters; sources write "usd" as often as "USD").
CURRENCY_CODE = r"[A-Za-z]{3}"
_CURRENCY = re.compile(CURRENCY_CODE)


def currency_code(value: object, *, file: str, line: int, column: str) -> str:
    """The one currency guard: `value` as a stripped code, or IngestError if it is blank or
    not shaped like an ISO 4217 code. Used by every source, one value or a column at a time
    (`currency_codes`)."""
    code = "" if value is None else str(value).strip()
    if not code:
        raise IngestError(file, line, column, "a currency code is required")
    if not _CURRENCY.fullmatch(code):
        raise IngestError(file, line, column, f"{code!r} is not an ISO 4217 currency code")
    return code


def currency_codes(
    values: pd.Series, *, file: str, column: str, lines: pd.Series | None = None
) -> None:
    """`currency_code` on a column of text: raises for the first bad row (`lines`: the line
    of each row, default the index)."""
    text = values.astype("string").fillna("").str.strip()
    bad = ~text.str.fullmatch(CURRENCY_CODE)
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        line = int((values.index if lines is None else lines.to_numpy())[i])
        currency_code(text.iloc[i], file=file, line=line, column=column)


def finish_frame(frame: pd.DataFrame, *, file: str) -> pd.DataFrame:
    """Add missing optional columns with their defaults and order the columns."""
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise IngestError(file, 0, missing[0], "parser produced no value for a required column")
    n = len(frame)
    for col in LEDGER_COLUMNS:
        if col in frame.columns:
            continue
        if col in INT_COLUMNS:
            frame[col] = pd.Series([0] * n, index=frame.index, dtype="int64")
        elif col in TEXT_COLUMNS:
            frame[col] = ""
        else:
            frame[col] = None
    for col in TEXT_COLUMNS:
        values = frame[col]
        if values.dtype == object and not values.isna().any():
            continue  # already plain strings: skip a full copy
        frame[col] = values.fillna("").astype(str)
    for col in INT_COLUMNS:
        frame[col] = frame[col].fillna(0).astype("int64")
    frame["gpu_hours"] = frame["gpu_hours"].where(frame["gpu_hours"].notna(), "0")
    return frame[LEDGER_COLUMNS]


def read_head(path: Path, size: int = 65536) -> str:
    with path.open("rb") as fh:
        data = fh.read(size)
    if data[:2] == b"\x1f\x8b":
        import gzip

        try:
            with gzip.open(path, "rb") as gz:
                data = gz.read(size)
        except (OSError, EOFError):
            data = b""
    return data.decode("utf-8-sig", errors="replace")
