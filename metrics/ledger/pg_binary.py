"""PostgreSQL's binary COPY format, written from Arrow arrays without a Python loop per row.

A binary COPY spares the server the text input functions (numeric_in, timestamptz_in, the CSV
scanner): on the benchmark's file that is a quarter of the server's time of the import. Each
column becomes the bytes of its fields (a big-endian int32 length, then the value in the
type's binary form; length -1 for NULL): fixed-width columns as numpy rows, text as Arrow
arrays; one element-wise join gives each row, and the joined array's data buffer is the body.

What the server stores is the same as from the text form: numeric keeps the scale the source
wrote (`1.50` stays `1.50`), varchar lengths and UTF-8 are still checked by the server's
receive functions. A column this module cannot encode exactly (an unknown type, a number with
more than 16 decimal places or 38 digits, an integer out of its column's range) makes
`encode_rows` return None and the caller sends the chunk as CSV instead.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metrics.ledger.sources.arrow import as_decimal128, display_scales

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
_EPOCH_US = 946_684_800_000_000  # 2000-01-01T00:00:00Z, PostgreSQL's epoch, in Unix microseconds
_EPOCH_DAYS = 10_957  # the same day in days since 1970-01-01
_INTS = {"smallint": ">i2", "integer": ">i4", "bigint": ">i8"}
NUMERIC_POS, NUMERIC_NEG = 0x0000, 0x4000
# Decimal places the binary path writes (a number with more goes by CSV; money has 12).
MAX_PLACES = 16


class Unsupported(Exception):
    """A column whose values this encoder cannot write exactly: send the chunk as CSV."""


@dataclass
class Field:
    """One column's fields: `head` (n, k) bytes of each row; then, for a column of variable
    width or with NULLs, `data` (each row's value; empty for a NULL, whose head is -1)."""

    head: np.ndarray
    data: pa.Array | None = None


Decimals = Callable[[str], tuple[pa.Array, np.ndarray]]


def encode_rows(
    table: pa.Table,
    pg_types: dict[str, str],
    *,
    order: pa.Array | None = None,
    decimals: Decimals | None = None,
) -> tuple[list[str], pa.Buffer] | None:
    """(columns, COPY body without header and trailer) of `table`'s rows, in `order` (row
    indices) if given; None when a column cannot be written in binary. `pg_types` maps each
    column to its PostgreSQL type (`format_type`: 'numeric', 'character varying(200)', ...).
    `decimals`, if given, reads a numeric column of `table` as SUM_TYPE with its display
    scales (`ChunkDecimals.of`), or raises ArrowInvalid: read once for the sums and here.

    The columns come back reordered, fixed-width ones first: their bytes and the next
    column's length are one numpy block per row, so the rows are joined from few arrays."""
    try:
        fields = {
            name: encode_field(
                table.column(name),
                pg_types[name],
                read=partial(decimals, name) if decimals else None,
            )
            for name in table.column_names
        }
    except Unsupported:
        return None
    columns = [c for c, f in fields.items() if f.data is None]
    columns += [c for c, f in fields.items() if f.data is not None]
    n = len(table)
    heads = [np.frombuffer(struct.pack(">h", len(columns)) * n, dtype=np.uint8).reshape(n, 2)]
    parts: list[pa.Array] = []
    for name in columns:
        heads.append(fields[name].head)
        data = fields[name].data
        if data is not None:
            parts += [_block(heads), data]
            heads = []
    if heads:
        parts.append(_block(heads))
    rows = pc.binary_join_element_wise(*parts, b"") if len(parts) > 1 else parts[0]
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    if order is not None:
        rows = rows.take(order)  # one array of whole rows: cheaper than taking every column
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=len(rows) + 1 + rows.offset)
    start = int(offsets[rows.offset])
    end = int(offsets[rows.offset + len(rows)])
    return columns, rows.buffers()[2].slice(start, end - start)


def _block(heads: list[np.ndarray]) -> pa.Array:
    """Side-by-side (n, k) byte arrays as one binary array of n values."""
    block = np.ascontiguousarray(np.concatenate(heads, axis=1) if len(heads) > 1 else heads[0])
    n, width = block.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.BinaryArray.from_buffers(
        pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(block)]
    )


def encode_field(
    values: pa.Array | pa.ChunkedArray,
    pg_type: str,
    *,
    read: Callable[[], tuple[pa.Array, np.ndarray]] | None = None,
) -> Field:
    """Each value of `values` as a binary COPY field for a column of `pg_type` (`read`: the
    numeric column already read, see `encode_rows`)."""
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
        return _numerics(values, read)
    if kind in ("text", "character varying", "json"):
        return _texts(values)
    if kind == "jsonb":
        return _texts(values, version=b"\x01")
    raise Unsupported(pg_type)


_Item = tuple[str, np.ndarray | int]  # (big-endian dtype, per-row numbers or one number)


def _fixed(values: pa.Array, items: list[_Item]) -> Field:
    """Fields of a fixed width: each (big-endian dtype, per-row numbers or one number) of
    `items` side by side after the length; NULL where `values` is."""
    sizes = [
        np.dtype(dtype).itemsize * (np.shape(numbers)[1] if np.ndim(numbers) == 2 else 1)
        for dtype, numbers in items
    ]
    width = sum(sizes)
    n = len(values)
    out = np.empty((n, 4 + width), dtype=np.uint8)
    out[:, :4] = np.frombuffer(struct.pack(">i", width), dtype=np.uint8)
    at = 4
    for (dtype, numbers), size in zip(items, sizes, strict=True):
        target = out[:, at : at + size].view(dtype)
        if np.ndim(numbers) == 2:  # several values of dtype per row
            target[:] = numbers
        else:
            target[:, 0] = numbers
        at += size
    if values.null_count == 0:
        return Field(out)
    valid = pc.is_valid(values).to_numpy(zero_copy_only=False)
    field_width = out.shape[1] - 4
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.where(valid, field_width, 0), out=offsets[1:])
    data = pa.BinaryArray.from_buffers(
        pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(out[valid, 4:].tobytes())]
    )
    return Field(_big_endian(np.where(valid, field_width, -1), ">i4"), data)


def _big_endian(numbers: np.ndarray, dtype: str) -> np.ndarray:
    width = np.dtype(dtype).itemsize
    return np.ascontiguousarray(numbers.astype(dtype)).view(np.uint8).reshape(-1, width)


def _integers(values: pa.Array, dtype: str) -> Field:
    if not pa.types.is_integer(values.type):
        raise Unsupported(str(values.type))
    numbers = pc.fill_null(values, 0).to_numpy(zero_copy_only=False)
    info = np.iinfo(np.dtype(dtype).newbyteorder("="))
    if len(numbers) and (numbers.min() < info.min or numbers.max() > info.max):
        raise Unsupported("integer out of range")  # the server names it in the CSV path
    return _fixed(values, [(dtype, numbers)])


def _timestamps(values: pa.Array) -> Field:
    if not pa.types.is_timestamp(values.type):
        raise Unsupported(str(values.type))
    micros = pc.cast(pc.cast(values, pa.timestamp("us", tz="UTC")), pa.int64())
    numbers = pc.fill_null(micros, 0).to_numpy(zero_copy_only=False) - _EPOCH_US
    return _fixed(values, [(">i8", numbers)])


def _dates(values: pa.Array) -> Field:
    if not pa.types.is_date32(values.type):
        raise Unsupported(str(values.type))
    days = pc.fill_null(pc.cast(values, pa.int32()), 0).to_numpy(zero_copy_only=False)
    return _fixed(values, [(">i4", days - _EPOCH_DAYS)])


def _texts(values: pa.Array, version: bytes = b"") -> Field:
    """Length, then the UTF-8 bytes (jsonb: a version byte before them)."""
    if not pa.types.is_string(values.type):
        raise Unsupported(str(values.type))
    data = pc.fill_null(values, "").cast(pa.binary())
    lengths = pc.binary_length(data).to_numpy(zero_copy_only=False).astype(np.int64)
    if version:
        lengths += len(version)
        data = pc.binary_join_element_wise(pa.scalar(version, pa.binary()), data, b"")
    if values.null_count:
        valid = pc.is_valid(values)
        lengths = np.where(valid.to_numpy(zero_copy_only=False), lengths, -1)
        if version:
            data = pc.if_else(valid, data, pa.scalar(b"", pa.binary()))
    return Field(_big_endian(lengths, ">i4"), data)


def _numerics(
    values: pa.Array, read: Callable[[], tuple[pa.Array, np.ndarray]] | None = None
) -> Field:
    """numeric's binary form: ndigits, weight, sign, dscale (int16 each), then base-10000
    digits. Every row of a chunk gets the same digit groups (zero groups included), which the
    server strips when it stores the value, as it does for text input.

    Arrow reads the text (`12.50`, `1.81E-8`) as decimal128 at the chunk's largest scale
    rounded up to a whole digit group; numpy splits the unscaled integers into base-10000
    digits. Each row keeps the scale PostgreSQL gives its text: the digits after the point,
    less the exponent (`1.81E-8` -> 10, `1.50E+1` -> 1)."""
    if not pa.types.is_string(values.type):
        raise Unsupported(str(values.type))
    texts = pc.fill_null(values, "0")
    try:
        scale, places, exact = _read_decimals(texts, read)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        try:  # ` 5 `, `5e+0001`: spellings Arrow does not read, once more through Decimal
            scale, places, exact = _read_decimals(_rewrite_plain(texts))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise Unsupported("decimal text") from exc  # the server names it in the CSV path
    words = np.frombuffer(exact.buffers()[1], dtype=np.uint64)
    words = words[2 * exact.offset :][: 2 * len(exact)].reshape(-1, 2)
    negative = (words[:, 1] >> np.uint64(63)).astype(bool)
    groups_lsb = _base_10000(*_magnitude(words[:, 0], words[:, 1], negative))
    fraction_groups = _round_up(places) // 4
    while len(groups_lsb) < fraction_groups + 1:  # at least one group before the point
        groups_lsb.append(np.zeros(len(texts), dtype=np.int64))
    groups = len(groups_lsb)
    digits = np.stack(groups_lsb[::-1], axis=1)
    sign = np.where(negative, NUMERIC_NEG, NUMERIC_POS)
    # weight: base-10000 digits before the point, minus one
    items: list[_Item] = [(">i2", groups), (">i2", groups - fraction_groups - 1), (">i2", sign)]
    return _fixed(values, [*items, (">i2", scale), (">i2", digits)])


def _read_decimals(
    texts: pa.Array, read: Callable[[], tuple[pa.Array, np.ndarray]] | None = None
) -> tuple[np.ndarray, int, pa.Array]:
    """(each row's display scale, the largest, the values as decimal128 at that scale rounded
    up to a whole base-10000 group, NULLs as 0). Raises ArrowInvalid on text Arrow cannot read.
    With `read` (the column already read as SUM_TYPE), the text is not parsed again: values
    of up to 12 places are rescaled exactly (a value with more raises there, and the text is
    read here)."""
    if read is not None:
        try:
            summed, scale = read()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass  # over 12 places, or a spelling Arrow does not read: from the text below
        else:
            places = int(scale.max()) if len(scale) else 0
            dtype = pa.decimal128(38, _round_up(places))
            exact = summed if dtype == summed.type else pc.cast(summed, dtype)
            return scale, places, pc.fill_null(exact, pa.scalar(0, dtype))
    scale = display_scales(texts)
    places = int(scale.max()) if len(scale) else 0
    if places > MAX_PLACES:
        raise Unsupported("too many decimal places")
    dtype = pa.decimal128(38, _round_up(places))
    return scale, places, as_decimal128(texts, dtype)


def _magnitude(
    low: np.ndarray, high: np.ndarray, negative: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """|x| of 128-bit two's complement integers given as (low, high) uint64 words."""
    flipped_low = ~low + np.uint64(1)
    carry = (flipped_low == 0).astype(np.uint64)
    flipped_high = ~high + carry
    return np.where(negative, flipped_low, low), np.where(negative, flipped_high, high)


def _base_10000(low: np.ndarray, high: np.ndarray) -> list[np.ndarray]:
    """Base-10000 digits of unsigned 128-bit integers, least significant group first, as
    many groups as the largest needs. 64-bit values take one divmod per group; larger ones
    a long division over four 32-bit limbs."""
    groups: list[np.ndarray] = []
    if not high.any():
        rest = low
        while rest.any():
            rest, digit = np.divmod(rest, np.uint64(10_000))
            groups.append(digit.astype(np.int64))
        return groups
    mask = np.uint64(0xFFFFFFFF)
    shift = np.uint64(32)
    limbs = [high >> shift, high & mask, low >> shift, low & mask]
    while any(limb.any() for limb in limbs):
        remainder = np.zeros_like(low)
        for i, limb in enumerate(limbs):
            current = (remainder << shift) | limb
            limbs[i], remainder = np.divmod(current, np.uint64(10_000))
        groups.append(remainder.astype(np.int64))
    return groups


def _rewrite_plain(texts: pa.Array) -> pa.Array:
    """Spellings PostgreSQL reads and Arrow does not (` 5 `, `5e+0001`) as `-?digits[.digits]`
    of the same value and scale; Unsupported if one is not a finite number."""
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
