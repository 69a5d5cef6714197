"""Arrow toolkit of the import: the normalized ledger chunk as a `pyarrow.Table`.

Parsers may yield pandas frames (the contract of `metrics.ledger.sources.base`) or Arrow tables of
LEDGER_SCHEMA; `to_ledger_table` turns either into the table the importer allocates, sums
and writes (COPY) without leaving Arrow. Money stays decimal text until the database (NUMERIC)
and `exact_sum` (Arrow decimal128, or Python Decimal when a value has more than 12 decimal
places) adds it up exactly.
"""

from __future__ import annotations

import json
from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    Context,
    Decimal,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from metrics.ledger.sources.base import (
    INT_COLUMNS,
    JSON_COLUMNS,
    LEDGER_COLUMNS,
    MONEY_COLUMNS,
    TEXT_COLUMNS,
    TIME_COLUMNS,
)

UTC_TS = pa.timestamp("us", tz="UTC")
SUM_TYPE = pa.decimal128(38, 12)
# Exact decimal arithmetic for money sums: up to 1,000 digits, any exponent; anything that
# would round raises Inexact (an ArithmeticError) instead of giving a rounded total.
EXACT = Context(
    prec=1000, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[Inexact, InvalidOperation, Overflow]
)


class ReparseSlowly(Exception):
    """The fast Arrow reader met something only the pandas reader handles (a quoted newline,
    a ragged row): the import starts again, from the start, with `parse_fallback`."""


def _field(col: str) -> pa.Field:
    if col == "source_line" or col in INT_COLUMNS:
        return pa.field(col, pa.int64())
    if col in TIME_COLUMNS:
        return pa.field(col, UTC_TS)
    return pa.field(col, pa.string())


LEDGER_SCHEMA = pa.schema([_field(c) for c in LEDGER_COLUMNS])
WARNINGS_KEY = b"warnings"


def with_warnings(table: pa.Table, warnings: list[str]) -> pa.Table:
    return table.replace_schema_metadata({WARNINGS_KEY: json.dumps(warnings).encode()})


def warnings_of(table: pa.Table) -> list[str]:
    meta = table.schema.metadata or {}
    raw = meta.get(WARNINGS_KEY)
    return list(json.loads(raw)) if raw else []


def to_ledger_table(chunk: pd.DataFrame | pa.Table) -> pa.Table:
    """A normalized chunk (pandas frame or Arrow table) as a table of LEDGER_SCHEMA."""
    if isinstance(chunk, pa.Table):
        if chunk.schema.remove_metadata() != LEDGER_SCHEMA:
            chunk = chunk.select(LEDGER_COLUMNS).cast(
                LEDGER_SCHEMA.with_metadata(chunk.schema.metadata)
            )
        return chunk
    arrays = []
    for col in LEDGER_COLUMNS:
        values = chunk[col]
        if col in TIME_COLUMNS:
            arr = pa.Array.from_pandas(values)
            arrays.append(pc.cast(arr, UTC_TS))
        elif col == "source_line" or col in INT_COLUMNS:
            arrays.append(pa.array(values.to_numpy(dtype="int64")))
        elif col in MONEY_COLUMNS or col in JSON_COLUMNS:
            items = values.astype(object).where(values.notna(), None).tolist()
            arrays.append(
                pa.array([None if v is None else str(v) for v in items], type=pa.string())
            )
        else:
            arrays.append(pa.Array.from_pandas(values.astype(object), type=pa.string()))
    table = pa.Table.from_arrays(arrays, schema=LEDGER_SCHEMA)
    return with_warnings(table, list(chunk.attrs.get("warnings", [])))


# Digits of decimal text Arrow is trusted to read: decimal128 holds 38. pyarrow 26 reads 39 or
# more digits without an error, as a wrong number ('9' * 39 -> a negative one; '9' * 400 -> -1).
DECIMAL_DIGITS_MAX = 38


def as_decimal128(values: pa.Array | pa.ChunkedArray, dtype: pa.DataType) -> pa.Array:
    """Decimal text as `dtype` (decimal128); ArrowInvalid when Arrow cannot read it exactly
    (the callers then take their exact fallback: Python Decimal, the ledger, or CSV)."""
    longest = pc.max(pc.binary_length(values)).as_py()
    if longest is not None and longest > DECIMAL_DIGITS_MAX:  # then count the digits
        digits = pc.max(pc.count_substring_regex(values, "[0-9]")).as_py()
        if digits > DECIMAL_DIGITS_MAX:
            raise pa.ArrowInvalid(f"decimal text of {digits} digits")
    return pc.cast(values, dtype)


def exact_sum(values: pa.Array | pa.ChunkedArray) -> Decimal:
    """Exact sum of decimal text (nulls skipped)."""
    try:
        total = pc.sum(as_decimal128(values, SUM_TYPE)).as_py()
        return Decimal(0) if total is None else total
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        counts = pc.value_counts(pc.drop_null(values))
        with localcontext(EXACT):
            return sum(
                (
                    Decimal(v) * n
                    for v, n in zip(
                        counts.field("values").to_pylist(),
                        counts.field("counts").to_pylist(),
                        strict=True,
                    )
                ),
                Decimal(0),
            )


def plain(value: Decimal) -> str:
    """A Decimal as plain text without trailing zeros ("4", "12.5")."""
    text = f"{value.normalize(EXACT):f}"  # the default context would round past 28 digits
    return text


def encode(values: pa.Array | pa.ChunkedArray) -> pa.DictionaryArray:
    """Dictionary-encode one array (distinct values once, indices per row)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pc.dictionary_encode(values)


def nullish(values: pa.Array, tokens: list[str]) -> pa.Array:
    return pc.or_kleene(pc.is_null(values), pc.is_in(values, value_set=pa.array(tokens)))


__all__ = [
    "LEDGER_SCHEMA",
    "TEXT_COLUMNS",
    "ReparseSlowly",
    "encode",
    "exact_sum",
    "nullish",
    "plain",
    "to_ledger_table",
    "warnings_of",
    "with_warnings",
]
