"""The tabular toolkit shared by the CSV/Parquet billing parsers (AWS, Azure, GCP, OCI, FOCUS).

Everything here works on whole columns: a 1M-row export is read in chunks of CHUNK_ROWS and
each chunk is normalized with vectorized pandas. The few per-value Python loops run over
*distinct* values (tag strings, units) or over the small subset of rows that need decimal
arithmetic (commitment fees, credits), never over every row of a big file. (GCP's JSON lines
are the exception: JSON has to be decoded line by line.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from metrics.ledger.sources.base import (
    JSON_COLUMNS,
    MONEY_COLUMNS,
    IngestError,
    currency_codes,
    decimal_strings,
    finish_frame,
    utc_times,
)
from metrics.ledger.sources.csv_reader import CHUNK_ROWS

# Tag keys that name the application a cost belongs to (first match wins, any case).
APPLICATION_TAG_KEYS = ("app", "application", "project")


# --- reading Parquet (CSV goes through csv_reader, the one CSV reader) ---------------------


def parquet_columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        return list(pq.ParquetFile(path).schema_arrow.names)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise IngestError(str(path), 0, "-", f"not a readable Parquet file: {exc}") from exc


def read_parquet_chunks(path: Path, columns: list[str]) -> Iterator[pd.DataFrame]:
    """Parquet batches as text frames (index = 1-based row number), like read_csv_chunks.

    Numbers become their shortest round-trip text (Parquet CUR stores costs as doubles, so
    this is the exact value AWS wrote). A map column is spread into one text column per key,
    named `<column>_<key>` (CUR 2.0's `resource_tags` map gives `resource_tags_user_team`,
    the name legacy CUR uses), without a Python loop over rows.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    file = str(path)
    try:
        parquet = pq.ParquetFile(path)
        batches = parquet.iter_batches(batch_size=CHUNK_ROWS, columns=columns)
        next_row = 1
        for batch in batches:
            data: dict[str, pd.Series] = {}
            for name, column in zip(batch.schema.names, batch.columns, strict=True):
                kind = column.type
                if pa.types.is_map(kind):
                    for key in pc.unique(column.keys).to_pylist():
                        if key is None:
                            continue
                        found = pc.map_lookup(column, pa.scalar(key, kind.key_type), "first")
                        data.setdefault(f"{name}_{key}", _arrow_text(found))
                elif pa.types.is_struct(kind) or pa.types.is_list(kind):
                    raise IngestError(file, 0, name, "nested Parquet columns are not supported")
                else:
                    data[name] = _arrow_text(column)
            frame = pd.DataFrame(data)
            frame.index = pd.RangeIndex(next_row, next_row + len(frame))
            next_row += len(frame)
            yield frame
    except IngestError:
        raise
    except (OSError, pa.ArrowException) as exc:
        raise IngestError(file, 0, "-", f"not a readable Parquet file: {exc}") from exc


def _arrow_text(column: object) -> pd.Series:
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.cast(column, pa.string())
    return pd.Series(pc.fill_null(text, "").to_pandas(), dtype=str)


def finish(frame: pd.DataFrame, *, file: str) -> pd.DataFrame:
    """finish_frame, with every missing money/JSON value as None (not NaN or pd.NA)."""
    for column in MONEY_COLUMNS + JSON_COLUMNS:
        if column in frame.columns:
            values = frame[column].astype(object)
            frame[column] = values.where(values.notna(), None)
    return finish_frame(frame, file=file).reset_index(drop=True)


# --- values --------------------------------------------------------------------------------


def line_numbers(chunk: pd.DataFrame) -> pd.Series:
    return pd.Series(chunk.index.to_numpy(), index=chunk.index)


def require_columns(file: str, present: Iterable[str], *names: str) -> None:
    have = set(present)
    for name in names:
        if name not in have:
            raise IngestError(file, 1, name, "a required column is missing from the header")


def text(chunk: pd.DataFrame, column: str | None) -> pd.Series:
    """A stripped text column, or empty strings when the file lacks it."""
    if column is None or column not in chunk.columns:
        return pd.Series("", index=chunk.index, dtype=object)
    return chunk[column].astype(str).str.strip()


def money(
    chunk: pd.DataFrame, column: str | None, *, file: str, required: bool = False
) -> pd.Series:
    """A validated decimal-text column (None for blanks); all None if the file lacks it."""
    if column is None or column not in chunk.columns:
        return pd.Series(None, index=chunk.index, dtype=object)
    return decimal_strings(
        chunk[column], file=file, column=column, lines=line_numbers(chunk), required=required
    )


def require_values(
    values: pd.Series, mask: pd.Series, *, file: str, column: str | None, why: str
) -> None:
    """Raise if a row selected by `mask` has no value (or the column is missing)."""
    missing = mask & values.isna()
    if missing.any():
        line = int(values.index[missing.to_numpy().nonzero()[0][0]])
        raise IngestError(file, line, column or "-", f"a value is required {why}")


def decimal_combine(
    values: list[pd.Series], mask: pd.Series, signs: tuple[int, ...] | None = None
) -> pd.Series:
    """Row-wise signed sum of decimal-text columns on the rows in `mask` (blank = 0).

    Only the masked rows are computed (commitment fees, credits): a small subset of a file.
    """
    signs = signs or tuple(1 for _ in values)
    rows = mask.to_numpy().nonzero()[0]
    picked = [v.iloc[rows].tolist() for v in values]
    out: list[str] = []
    for parts in zip(*picked, strict=True):
        total = Decimal(0)
        for sign, part in zip(signs, parts, strict=True):
            if not pd.isna(part):
                total += sign * Decimal(part)
        out.append(str(total))
    return pd.Series(out, index=mask.index[rows], dtype=object)


def decimal_times(values: pd.Series, factors: pd.Series) -> pd.Series:
    """Exact product of decimal text and integer factors; only rows with factor != 1 loop."""
    out = values.copy()
    scaled = values.notna() & (factors != 1)
    rows = scaled.to_numpy().nonzero()[0]
    if len(rows):
        products = [
            plain(Decimal(v) * int(f))
            for v, f in zip(values.iloc[rows], factors.iloc[rows], strict=True)
        ]
        out.iloc[rows] = products
    return out


def plain(value: Decimal) -> str:
    """Decimal text without exponent or trailing zeros after the point."""
    text_value = format(value, "f")
    if "." in text_value:
        text_value = text_value.rstrip("0").rstrip(".")
    return text_value or "0"


def token_counts(quantity: pd.Series, factor: pd.Series | int, mask: pd.Series) -> pd.Series:
    """Integer token counts = quantity x factor on the masked rows, 0 elsewhere.

    Tokens are counts, not money, so float arithmetic with rounding is exact enough here
    (a float holds integers exactly up to 2**53).
    """
    numbers = pd.to_numeric(quantity.where(mask), errors="coerce").fillna(0.0)
    return (numbers * factor).round().astype("int64")


def pick(mask_values: list[tuple[pd.Series, pd.Series]], default: pd.Series) -> pd.Series:
    """Like numpy.select over object Series: the first (mask, values) that applies."""
    out = default.copy()
    for mask, values in reversed(mask_values):
        out = values.where(mask, out)
    return out


def per_distinct(
    columns: list[pd.Series], fn: Callable[..., tuple[str, ...]], width: int
) -> list[pd.Series]:
    """Apply `fn` once per distinct combination of `columns`; `width` text results per row.

    For lookups on low-cardinality columns (service, meter, unit): a million rows usually
    hold a few hundred distinct values, so the Python work is per value, not per row.
    """
    index = columns[0].index
    if len(columns) == 1:
        codes, uniques = pd.factorize(columns[0], use_na_sentinel=False)
        combos: list[tuple[object, ...]] = [(u,) for u in uniques]
    else:
        codes, multi = pd.MultiIndex.from_arrays(columns).factorize()
        combos = list(multi)
    results = [fn(*combo) for combo in combos]
    out = []
    for i in range(width):
        values = np.array([r[i] for r in results] or [""], dtype=object)
        out.append(pd.Series(values[codes], index=index, dtype=object))
    return out


def map_values(values: pd.Series, mapping: Mapping[str, str], default: str = "") -> pd.Series:
    return per_distinct([values], lambda v: (mapping.get(v, default),), 1)[0]


def map_lower(values: pd.Series, mapping: Mapping[str, str], default: str = "") -> pd.Series:
    """Case-insensitive map (keys of `mapping` are lower case)."""
    return per_distinct([values], lambda v: (mapping.get(str(v).lower(), default),), 1)[0]


# --- time ----------------------------------------------------------------------------------


def times(
    values: pd.Series, *, file: str, column: str, lines: pd.Series, required: bool = True
) -> pd.Series:
    """utc_times on the distinct values only (an hourly export repeats each timestamp a lot).

    A bad value is reported at its first row, as utc_times would.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    if len(uniques) * 4 > len(values):
        return utc_times(values, file=file, column=column, lines=lines, required=required)
    _, first = np.unique(codes, return_index=True)
    parsed = utc_times(
        pd.Series(uniques, dtype=object),
        file=file,
        column=column,
        lines=pd.Series(lines.to_numpy()[first]),
        required=required,
    )
    return pd.Series(parsed.array.take(codes), index=values.index)


def month_start(times: pd.Series) -> pd.Series:
    naive = times.dt.tz_convert("UTC").dt.tz_localize(None)
    start = naive.dt.to_period("M").dt.to_timestamp()
    return start.dt.tz_localize("UTC")


def next_month(starts: pd.Series) -> pd.Series:
    return starts + pd.offsets.MonthBegin(1)


# --- tags ----------------------------------------------------------------------------------


def application_key(tags: Mapping[str, object]) -> str:
    lowered = {str(k).lower(): v for k, v in tags.items()}
    for key in APPLICATION_TAG_KEYS:
        value = lowered.get(key)
        if value not in (None, ""):
            return str(value)
    return ""


def tags_from_columns(chunk: pd.DataFrame, keys: Mapping[str, str]) -> tuple[pd.Series, pd.Series]:
    """Tags JSON and application key from one column per tag (`keys`: column -> tag key).

    Each distinct combination of tag values is serialized once.
    """
    index = chunk.index
    if not keys:
        return pd.Series(None, index=index, dtype=object), pd.Series("", index=index)
    columns = list(keys)
    values = chunk[columns].astype(str)
    codes, uniques = pd.MultiIndex.from_frame(values).factorize()
    tag_json: list[str | None] = []
    app_keys: list[str] = []
    for combo in uniques:
        tags = {
            keys[col]: str(v).strip()
            for col, v in zip(columns, combo, strict=True)
            if str(v).strip()
        }
        tag_json.append(json.dumps(tags, ensure_ascii=False, sort_keys=True) if tags else None)
        app_keys.append(application_key(tags))
    return (
        pd.Series(np.array(tag_json, dtype=object)[codes], index=index),
        pd.Series(np.array(app_keys, dtype=object)[codes], index=index),
    )


def tags_from_text(
    values: pd.Series,
    parse: Callable[[str], dict[str, object] | None],
    *,
    file: str,
    column: str,
) -> tuple[pd.Series, pd.Series]:
    """Tags JSON and application key from a column of serialized tags.

    `parse` turns one distinct non-blank value into a dict (None = no tags) or raises
    ValueError, which becomes an IngestError naming the first row with that value.
    """
    index = values.index
    codes, uniques = pd.factorize(values.astype(str).str.strip())
    tag_json: list[str | None] = []
    app_keys: list[str] = []
    for raw in uniques:
        tags: dict[str, object] | None = None
        if raw and raw not in ("NULL", "null", "{}", "[]"):
            try:
                tags = parse(raw)
            except ValueError as exc:
                line = int(index[(values.astype(str).str.strip() == raw).to_numpy()][0])
                raise IngestError(file, line, column, f"tags are not readable: {exc}") from exc
        tag_json.append(
            json.dumps({str(k): _tag_value(v) for k, v in tags.items()}, ensure_ascii=False)
            if tags
            else None
        )
        app_keys.append(application_key(tags) if tags else "")
    if len(uniques) == 0:
        return pd.Series(None, index=index, dtype=object), pd.Series("", index=index)
    return (
        pd.Series(np.array(tag_json, dtype=object)[codes], index=index),
        pd.Series(np.array(app_keys, dtype=object)[codes], index=index),
    )


def _tag_value(value: object) -> str:
    return "" if value is None else str(value)


def json_object(raw: str) -> dict[str, object]:
    """Parse a JSON object; raise ValueError for anything else."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from exc
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


# --- checks --------------------------------------------------------------------------------


class CurrencyGuard:
    """The currency guard (`base.currency_codes`) for a file whose rows name their billing
    account: also fails on the first row whose currency differs from its account's currency.

    State spans chunks, so a conflict is found wherever it is in the file.
    """

    def __init__(self, file: str, column: str) -> None:
        self.file = file
        self.column = column
        self.seen: dict[str, tuple[str, int]] = {}

    def check(self, accounts: pd.Series, currencies: pd.Series) -> pd.Series:
        """The codes in upper case, once they pass; `currencies` is the text as written."""
        currency_codes(currencies, file=self.file, column=self.column)
        currencies = currencies.str.upper()
        pairs = pd.DataFrame({"account": accounts, "currency": currencies})
        firsts = pairs.drop_duplicates()
        for line, account, currency in zip(
            firsts.index, firsts["account"], firsts["currency"], strict=True
        ):
            known = self.seen.setdefault(account, (currency, int(line)))
            if known[0] != currency:
                raise IngestError(
                    self.file,
                    int(line),
                    self.column,
                    f"currency {currency} differs from {known[0]} (line {known[1]}) for billing "
                    f"account {account!r}: one account is billed in one currency",
                )
        return currencies
