"""PostgreSQL's binary COPY format, written from Arrow arrays without a Python loop per row.

A binary COPY spares the server the text input functions (numeric_in, timestamptz_in, the CSV
scanner): on the benchmark's file that is a quarter of the server's time of the import. Every
column is turned into one binary array whose values are whole fields (a big-endian int32 length,
then the value in the type's binary form, or length -1 for NULL); one element-wise join of
those arrays gives each row, and the joined array's data buffer is the COPY body.

What the server stores is the same as from the text form: numeric keeps the scale the source
wrote (`1.50` stays `1.50`), varchar lengths and UTF-8 are still checked by the server's
receive functions. A column this module cannot encode exactly (an unknown type, a number in
exponent notation that does not normalize, an integer out of its column's range) makes
`encode_rows` return None and the caller sends the chunk as CSV instead.
"""

from __future__ import annotations

import struct
from decimal import Decimal, InvalidOperation

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
NULL_FIELD = pa.scalar(b"\xff\xff\xff\xff", pa.binary())
_EPOCH_US = 946_684_800_000_000  # 2000-01-01T00:00:00Z, PostgreSQL's epoch, in Unix microseconds
_EPOCH_DAYS = 10_957  # the same day in days since 1970-01-01
_INTS = {"smallint": ">i2", "integer": ">i4", "bigint": ">i8"}
_PLAIN_DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"
NUMERIC_POS, NUMERIC_NEG = 0x0000, 0x4000
# Decimal places the binary path writes (a number with more goes by CSV; money has 12) and
# base-10000 digits before the point (an int64 has at most 19 decimal digits).
MAX_PLACES = 16
WHOLE_GROUPS = 5


class Unsupported(Exception):
    """A column whose values this encoder cannot write exactly: send the chunk as CSV."""


def encode_rows(
    table: pa.Table, pg_types: dict[str, str], *, order: pa.Array | None = None
) -> pa.Buffer | None:
    """The COPY body (no header, no trailer) of `table`'s rows, in `order` (row indices) if
    given, or None when a column cannot be written in binary. `pg_types` maps each column to
    its PostgreSQL type (`format_type`: 'numeric', 'character varying(200)', ...)."""
    try:
        fields = [encode_field(table.column(name), pg_types[name]) for name in table.column_names]
    except Unsupported:
        return None
    count = pa.scalar(struct.pack(">h", len(fields)), pa.binary())
    rows = pc.binary_join_element_wise(count, *fields, b"")
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    if order is not None:
        rows = rows.take(order)  # one array of whole rows: cheaper than taking every column
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=len(rows) + 1, offset=0)
    start = int(offsets[rows.offset])
    end = int(offsets[rows.offset + len(rows)])
    return rows.buffers()[2].slice(start, end - start)


def encode_field(values: pa.Array | pa.ChunkedArray, pg_type: str) -> pa.Array:
    """Each value of `values` as a whole binary COPY field for a column of `pg_type`."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    kind = pg_type.split("(")[0].strip()
    if kind in _INTS:
        return _integers(values, _INTS[kind])
    if kind == "timestamp with time zone":
        return _timestamps(values)
    if kind == "date":
        return _dates(values)
    if kind == "numeric":
        return _numerics(values)
    if kind in ("text", "character varying"):
        return _texts(values)
    if kind == "jsonb":
        return _texts(values, version=b"\x01")
    if kind == "json":
        return _texts(values)
    raise Unsupported(pg_type)


def _with_nulls(fields: pa.Array, values: pa.Array) -> pa.Array:
    if values.null_count == 0:
        return fields
    return pc.if_else(pc.is_valid(values), fields, NULL_FIELD)


def _fixed(payload: np.ndarray, values: pa.Array) -> pa.Array:
    """Fields of a fixed width from an (n, width) uint8 array of big-endian values."""
    n, width = payload.shape
    out = np.empty((n, 4 + width), dtype=np.uint8)
    out[:, :4] = np.frombuffer(struct.pack(">i", width), dtype=np.uint8)
    out[:, 4:] = payload
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(4 + width), n, [None, pa.py_buffer(out)])
    return _with_nulls(fixed.cast(pa.binary()), values)


def _big_endian(numbers: np.ndarray, dtype: str) -> np.ndarray:
    width = np.dtype(dtype).itemsize
    return np.ascontiguousarray(numbers.astype(dtype)).view(np.uint8).reshape(-1, width)


def _integers(values: pa.Array, dtype: str) -> pa.Array:
    if not pa.types.is_integer(values.type):
        raise Unsupported(str(values.type))
    numbers = pc.fill_null(values, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    info = np.iinfo(np.dtype(dtype).newbyteorder("="))
    if len(numbers) and (numbers.min() < info.min or numbers.max() > info.max):
        raise Unsupported("integer out of range")  # the server names it in the CSV path
    return _fixed(_big_endian(numbers, dtype), values)


def _timestamps(values: pa.Array) -> pa.Array:
    if not pa.types.is_timestamp(values.type):
        raise Unsupported(str(values.type))
    micros = pc.cast(pc.cast(values, pa.timestamp("us", tz="UTC")), pa.int64())
    numbers = pc.fill_null(micros, 0).to_numpy(zero_copy_only=False) - _EPOCH_US
    return _fixed(_big_endian(numbers, ">i8"), values)


def _dates(values: pa.Array) -> pa.Array:
    if not pa.types.is_date32(values.type):
        raise Unsupported(str(values.type))
    days = pc.fill_null(pc.cast(values, pa.int32()), 0).to_numpy(zero_copy_only=False)
    return _fixed(_big_endian(days.astype(np.int64) - _EPOCH_DAYS, ">i4"), values)


def _lengths(values: pa.Array, extra: int = 0) -> pa.Array:
    lengths = pc.fill_null(pc.binary_length(values), 0).to_numpy(zero_copy_only=False)
    prefix = _big_endian(lengths.astype(np.int64) + extra, ">i4")
    n = len(values)
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(4), n, [None, pa.py_buffer(np.ascontiguousarray(prefix))]
    ).cast(pa.binary())


def _texts(values: pa.Array, version: bytes = b"") -> pa.Array:
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        raise Unsupported(str(values.type))
    data = pc.fill_null(values, "").cast(pa.binary())
    parts = [_lengths(values, len(version))]
    if version:
        parts.append(pa.scalar(version, pa.binary()))
    fields = pc.binary_join_element_wise(*parts, data, b"")
    return _with_nulls(fields, values)


def _numerics(values: pa.Array) -> pa.Array:
    """numeric's binary form: ndigits, weight, sign, dscale (int16 each), then base-10000
    digits. Every row of a chunk gets the same digit groups (zero groups included), which the
    server strips when it stores the value, as it does for text input.

    Arrow reads the text as decimal128 at the column's largest scale; the unscaled integers
    are split into base-10000 digits with numpy. A column whose unscaled values do not fit in
    64 bits (over 9.2e18 / 10^scale) is Unsupported: that chunk goes by CSV."""
    if not pa.types.is_string(values.type):
        raise Unsupported(str(values.type))
    texts = pc.fill_null(values, "0")
    exponent = pc.greater_equal(pc.find_substring(texts, "e", ignore_case=True), 0)
    if pc.any(exponent).as_py():
        texts = _rewrite_plain(texts)  # `1E-7`: its scale is not the digits after its point
    point = pc.find_substring(texts, ".").to_numpy(zero_copy_only=False).astype(np.int64)
    lengths = pc.binary_length(texts).to_numpy(zero_copy_only=False).astype(np.int64)
    scale = np.where(point >= 0, lengths - point - 1, 0)
    places = int(scale.max()) if len(scale) else 0
    if places > MAX_PLACES:
        raise Unsupported("too many decimal places")
    try:
        exact = pc.cast(texts, pa.decimal128(38, places))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        try:  # ` 5 `, `+ 5`, `NaN`: spellings Arrow does not read, once more through Decimal
            texts = _rewrite_plain(texts)
            exact = pc.cast(texts, pa.decimal128(38, places))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise Unsupported("decimal text") from exc
    words = np.frombuffer(exact.buffers()[1], dtype=np.int64)
    words = words[2 * exact.offset :][: 2 * len(exact)].reshape(-1, 2)
    low, high = words[:, 0], words[:, 1]
    if not (high == (low >> 63)).all() or (low == np.iinfo(np.int64).min).any():
        raise Unsupported("more than 64 bits")
    magnitude = np.abs(low)
    whole, fraction = np.divmod(magnitude, 10**places)
    fraction_groups = _round_up(places) // 4
    fraction = fraction * 10 ** (fraction_groups * 4 - places)  # the point on a group boundary
    groups = WHOLE_GROUPS + fraction_groups
    n = len(values)
    digits = np.empty((n, groups), dtype=np.int64)
    for i in range(WHOLE_GROUPS - 1, -1, -1):
        whole, digits[:, i] = np.divmod(whole, 10_000)
    for i in range(groups - 1, WHOLE_GROUPS - 1, -1):
        fraction, digits[:, i] = np.divmod(fraction, 10_000)
    head = np.empty((n, 4), dtype=np.int64)
    head[:, 0] = groups
    head[:, 1] = WHOLE_GROUPS - 1  # weight: base-10000 digits before the point, minus one
    head[:, 2] = np.where(low < 0, NUMERIC_NEG, NUMERIC_POS)
    head[:, 3] = scale
    payload = np.concatenate(
        [_big_endian(head, ">i2").reshape(n, 8), _big_endian(digits, ">i2").reshape(n, 2 * groups)],
        axis=1,
    )
    return _fixed(payload, values)


def _rewrite_plain(texts: pa.Array) -> pa.Array:
    """Other spellings PostgreSQL reads (`1E-7`, `+5`, `.5`, ` 5 `) as `-?digits[.digits]` of
    the same value and scale; Unsupported if one is not a finite number."""
    rewritten: list[str] = []
    for text in texts.to_pylist():
        try:
            number = Decimal(text)
        except InvalidOperation as exc:
            raise Unsupported(text) from exc
        if not number.is_finite() or not -64 < number.adjusted() < 64:
            raise Unsupported(text)
        # PostgreSQL's scale of `1.50E+1` is max(0, 2 - 1) = 1: the same as Decimal's exponent.
        rewritten.append(f"{number:f}")
    return pa.array(rewritten, type=pa.string())


def _round_up(width: int) -> int:
    return (width + 3) // 4 * 4
