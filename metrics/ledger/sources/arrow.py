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

import numpy as np
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
        elif _only_str(values):  # str and missing values only: Arrow takes them as they are
            arrays.append(pa.Array.from_pandas(values, type=pa.string()))
        elif col in MONEY_COLUMNS or col in JSON_COLUMNS:
            items = values.astype(object).where(values.notna(), None).tolist()
            arrays.append(
                pa.array([None if v is None else str(v) for v in items], type=pa.string())
            )
        else:
            arrays.append(pa.Array.from_pandas(values.astype(object), type=pa.string()))
    table = pa.Table.from_arrays(arrays, schema=LEDGER_SCHEMA)
    return with_warnings(table, list(chunk.attrs.get("warnings", [])))


def _only_str(values: pd.Series) -> bool:
    """Whether a column holds only text and missing values, which Arrow takes as they are:
    pandas' string dtype (Arrow-backed: no copy at all), or an object column of str, None and
    NaN. Anything else needs a str() per value, or an object copy first."""
    if isinstance(values.dtype, pd.StringDtype):
        return True
    return values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in (
        "string",
        "empty",
    )


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


def byte_set(chars: bytes | range) -> np.ndarray:
    """A 256-entry mask of the bytes `chars` (`only_bytes`, EDGE_BYTES)."""
    mask = np.zeros(256, dtype=bool)
    mask[list(chars)] = True
    return mask


def _text_buffers(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets of the chunk's values, relative to the first; the bytes they cover)."""
    offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)[chunk.offset :][: len(chunk) + 1]
    base = int(offsets[0]) if len(offsets) else 0
    end = int(offsets[-1]) if len(offsets) else 0
    data = chunk.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8)[base:end] if data is not None else np.zeros(0, "u1")
    return offsets - base, raw


def _text_chunks(values: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    if any(not pa.types.is_string(c.type) for c in chunks):
        raise TypeError(f"text expected, not {values.type}")
    return chunks


def only_bytes(values: pa.Array | pa.ChunkedArray, allowed: np.ndarray) -> bool:
    """Whether every byte of every value of `values` (string) is one of `allowed` (a
    `byte_set`). One pass over the data buffers: no per-value kernel."""
    for chunk in _text_chunks(values):
        _, raw = _text_buffers(chunk)
        if len(raw) and not allowed[raw].all():
            return False
    return True


def plain_decimals(values: pa.Array | pa.ChunkedArray) -> bool:
    """Whether every value is plain decimal text: digits with at most one point and at least
    one digit, a minus sign only first (`12`, `-0.5`, `.5`, `3.`); no NULL, blank, exponent or
    plus sign. What `^[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?$` accepts, narrowed
    to the common case, checked on the bytes: as many minus signs as values that begin with
    one, as many points as values that hold one."""
    for chunk in _text_chunks(values):
        if chunk.null_count:
            return False
        offsets, raw = _text_buffers(chunk)
        if not len(chunk):
            continue
        # bytes 45-57 but 47: '-', '.', '0'-'9'
        if not ((raw - np.uint8(45)) <= 12).all() or (raw == 47).any():
            return False
        lengths = np.diff(offsets)
        if lengths.min() == 0:
            return False
        minus = raw[offsets[:-1]] == 45
        point = pc.find_substring(chunk, ".").to_numpy(zero_copy_only=False) >= 0
        if np.count_nonzero(raw == 45) != np.count_nonzero(minus):
            return False
        if np.count_nonzero(raw == 46) != np.count_nonzero(point):
            return False
        if (lengths - minus - point).min() < 1:  # `-`, `.`, `-.`
            return False
    return True


_DIGIT_BYTES = byte_set(b"0123456789")


def plain_integers(values: pa.Array | pa.ChunkedArray) -> bool:
    """Whether every value is a non-empty run of ASCII digits (what `^\\d+$` accepts), with
    no NULL: one pass over the bytes instead of a regex a value."""
    for chunk in _text_chunks(values):
        if chunk.null_count:
            return False
        offsets, raw = _text_buffers(chunk)
        if len(chunk) and (np.diff(offsets).min() == 0 or not _DIGIT_BYTES[raw].all()):
            return False
    return True


# The bytes of decimal text without an exponent (`-12.50`, `+5`): its scale is what follows
# the point.
_PLAIN_BYTES = byte_set(b"0123456789.-+")


def display_scales(texts: pa.Array) -> np.ndarray:
    """PostgreSQL's display scale of each decimal text: digits after the point (before any
    exponent), less the exponent, at least 0. Raises ArrowInvalid on an exponent that is not
    a number."""
    point = pc.find_substring(texts, ".").to_numpy(zero_copy_only=False).astype(np.int64)
    end = pc.binary_length(texts).to_numpy(zero_copy_only=False).astype(np.int64)
    exponent = np.zeros(len(texts), dtype=np.int64)
    if not only_bytes(texts, _PLAIN_BYTES):
        upper = pc.find_substring(texts, "E").to_numpy(zero_copy_only=False)
        lower = pc.find_substring(texts, "e").to_numpy(zero_copy_only=False)
        marker = np.maximum(upper, lower).astype(np.int64)
        if (marker >= 0).any():
            parts = pc.split_pattern_regex(texts, "[eE]", max_splits=1)
            has = pc.greater(pc.list_value_length(parts), 1)
            tail = pc.list_element(pc.if_else(has, parts, pa.scalar(["", "0"], parts.type)), 1)
            exponent = pc.cast(pc.utf8_ltrim(tail, "+"), pa.int64()).to_numpy(zero_copy_only=False)
            end = np.where(marker >= 0, marker, end)
            point = np.where(point < end, point, -1)
    return np.maximum(np.where(point >= 0, end - point - 1, 0) - exponent, 0)


class ChunkDecimals:
    """The money columns of one chunk, each read once as SUM_TYPE with each value's display
    scale (NULLs stay NULL; their scale is 0). The totals, the day rollups and the binary COPY
    all need them, and each reading of the text costs a parse per value."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table
        self._found: dict[str, tuple[pa.Array, np.ndarray] | str] = {}

    def of(self, column: str) -> tuple[pa.Array, np.ndarray]:
        """(the column as SUM_TYPE, the display scales). Raises ArrowInvalid where
        `as_decimal128` does (over 12 places or 38 digits, text Arrow cannot read): each
        caller then takes its own exact way."""
        if column not in self._found:
            text = self._table.column(column)
            if isinstance(text, pa.ChunkedArray):
                text = text.combine_chunks()
            try:
                scales = display_scales(pc.fill_null(text, "0"))
                self._found[column] = (as_decimal128(text, SUM_TYPE), scales)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                self._found[column] = str(exc)
        found = self._found[column]
        if isinstance(found, str):
            raise pa.ArrowInvalid(found)
        return found

    def total(self, column: str, mask: pa.Array | None = None) -> Decimal:
        """Exact sum of the column (of the rows `mask` selects), NULLs skipped."""
        try:
            values, _ = self.of(column)
        except pa.ArrowInvalid:
            text = self._table.column(column)
            return exact_sum(text if mask is None else text.filter(mask))
        total = pc.sum(values if mask is None else values.filter(mask)).as_py()
        return Decimal(0) if total is None else total

    def first_beyond(self, column: str, digits: int) -> int | None:
        """The row of the first value of `digits` or more digits before the point (its
        magnitude is 10^digits or more); None when no value is. Plain text of at most
        `digits` characters is below that without reading a number."""
        text = self._table.column(column)
        longest = pc.max(pc.binary_length(text)).as_py()
        if longest is None or (longest <= digits and only_bytes(text, _PLAIN_BYTES)):
            return None
        limit = Decimal(10) ** digits
        try:
            values, _ = self.of(column)
            beyond = pc.greater_equal(pc.abs(values), pa.scalar(limit, values.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # read each distinct text once
            big = []
            for value in pc.unique(pc.drop_null(text)).to_pylist():
                try:
                    if Decimal(value).copy_abs() >= limit:
                        big.append(value)
                except InvalidOperation:  # not a number: the database names it
                    continue
            if not big:
                return None
            beyond = pc.is_in(text, value_set=pa.array(big, pa.string()))
        found = pc.index(pc.fill_null(beyond, False), True).as_py()
        return None if found < 0 else int(found)


def empty_strings(n: int) -> pa.Array:
    """`n` empty strings, without building them one by one (all offsets 0)."""
    offsets = pa.py_buffer(np.zeros(n + 1, dtype=np.int32))
    return pa.StringArray.from_buffers(n, offsets, pa.py_buffer(b""))


# Bytes that may change a text value when it is trimmed or un-guarded, at its first or last
# byte: ASCII controls and space, the quote the CSV export guard adds, and any non-ASCII byte
# (Unicode whitespace; conservative: such a value only goes the longer way).
EDGE_BYTES = byte_set(range(0, 33))
EDGE_BYTES[ord("'")] = True
EDGE_BYTES[0x80:] = True


def unchanged_text(values: pa.Array | pa.ChunkedArray, words: list[str]) -> bool:
    """Whether trimming whitespace, removing the export guard and blanking the null `words`
    would leave every value of `values` as it is: no NULL, no value begins or ends with a
    byte of EDGE_BYTES, none equals one of `words`. Bytewise over the buffers (a few ns a
    value): cheaper than transforming each distinct value and taking them back."""
    sizes = [len(w.encode()) for w in words if w]
    lookup = pa.array([w for w in words if w], pa.string())
    for chunk in _text_chunks(values):
        if chunk.null_count:
            return False
        offsets, raw = _text_buffers(chunk)
        lengths = np.diff(offsets)
        if len(lengths) and lengths.min() == 0:
            filled = lengths > 0
            firsts, lasts = offsets[:-1][filled], offsets[1:][filled] - 1
        else:
            firsts, lasts = offsets[:-1], offsets[1:] - 1
        if EDGE_BYTES[raw[firsts]].any() or EDGE_BYTES[raw[lasts]].any():
            return False
        if sizes:
            candidates = np.isin(lengths, sizes)
            if candidates.any():
                found = pc.is_in(chunk.filter(pa.array(candidates)), value_set=lookup)
                if pc.any(found).as_py():
                    return False
    return True


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
    "ChunkDecimals",
    "ReparseSlowly",
    "byte_set",
    "display_scales",
    "empty_strings",
    "encode",
    "exact_sum",
    "nullish",
    "only_bytes",
    "plain",
    "plain_decimals",
    "plain_integers",
    "to_ledger_table",
    "unchanged_text",
    "warnings_of",
    "with_warnings",
]
