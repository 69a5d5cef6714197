"""The byte-level checks that let the FOCUS Arrow path skip a per-value regex or transform
(`metrics.ledger.sources.arrow`): each must say "unchanged" only where the slower way it
replaces would leave the value as it is, and the Arrow reader must still give what the pandas
reader gives on values chosen to hit every branch."""

from __future__ import annotations

import csv
import io
import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.ledger.csv_safety import UNGUARD_PATTERN
from metrics.ledger.sources import focus
from metrics.ledger.sources.arrow import (
    byte_set,
    empty_strings,
    only_bytes,
    plain_decimals,
    plain_integers,
    to_ledger_table,
    unchanged_text,
)

STRICT_DECIMAL = re.compile(r"-?(\d+\.?\d*|\.\d+)")
NULL_WORDS = ["", "NULL", "null"]
TRICKY = [
    "",
    " ",
    "NULL",
    "null",
    "Null",
    "'=1",
    "'x",
    "x'",
    "\u00a0x",
    "x\u3000",
    "\tx",
    "é",
    "ok",
]


def chunked(values: list[str], cut: int) -> pa.ChunkedArray:
    """The values in two chunks (offsets of the second do not start at 0)."""
    cut = min(cut, len(values))
    return pa.chunked_array([values[:cut], values[cut:]], type=pa.string())


@settings(max_examples=400, deadline=None)
@given(st.lists(st.text(alphabet="0123456789.-+eE ", max_size=6), max_size=8), st.integers(0, 8))
def test_plain_decimals_accepts_exactly_the_plain_spellings(values, cut):
    expected = all(STRICT_DECIMAL.fullmatch(v) for v in values)
    assert plain_decimals(chunked(values, cut)) is expected
    assert plain_decimals(pa.array(values, pa.string())) is expected


def test_plain_decimals_refuses_nulls_and_takes_slices():
    assert not plain_decimals(pa.array(["1", None]))
    sliced = pa.array(["x", "1.5", "-2", "y"]).slice(1, 2)
    assert plain_decimals(sliced)


def slow_text(values: list[str]) -> list[str]:
    """What the FOCUS Arrow path does to a text value it does not take as it is."""
    unguard = re.compile(UNGUARD_PATTERN)
    words = pc.utf8_trim_whitespace(pa.array(values, pa.string())).to_pylist()
    return [unguard.sub("", "" if w in NULL_WORDS else w) for w in words]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.one_of(st.sampled_from(TRICKY), st.text(max_size=5)), max_size=8),
    st.integers(0, 8),
)
def test_unchanged_text_only_where_trimming_and_cleaning_change_nothing(values, cut):
    if unchanged_text(chunked(values, cut), NULL_WORDS):
        assert slow_text(values) == values


def test_unchanged_text_says_so_for_clean_text_and_not_for_each_kind_of_change():
    assert unchanged_text(pa.array(["gpt-4o", "", "Zürich", "a b"]), NULL_WORDS)
    for bad in [" a", "a ", "NULL", "null", "'=1", "\u00a0a", "a\u3000", None]:
        assert not unchanged_text(pa.array(["ok", bad], pa.string()), NULL_WORDS), bad


def test_only_bytes_and_empty_strings():
    digits = byte_set(b"0123456789")
    assert only_bytes(pa.chunked_array([["12"], ["3"]]), digits)
    assert not only_bytes(pa.array(["12", "3a"]), digits)
    assert only_bytes(pa.array(["", "1"]), digits)
    assert empty_strings(3).to_pylist() == ["", "", ""] and len(empty_strings(0)) == 0


HEADER = [
    "BillingAccountId",
    "BillingCurrency",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ConsumedQuantity",
    "ProviderName",
    "ServiceName",
    "RegionId",
    "SkuId",
    "x_InputTokens",
]
AMOUNTS = ["1.25", "-0.5", ".5", "3.", "0", "1e-3", "+2", " 4 ", "NULL", "", "7"]
TEXTS = ["OpenAI", " OpenAI ", "NULL", "null", "'=SUM(1)", "'plain", "\u00a0Azure", "", "GCP"]
TOKENS = ["10", "0", "", "NULL", "007", "12"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(AMOUNTS),
            st.sampled_from(AMOUNTS),
            st.sampled_from(TEXTS),
            st.sampled_from(TEXTS),
            st.sampled_from(TOKENS),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_the_arrow_path_gives_what_the_pandas_path_gives(tmp_path, rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for billed, other, provider, text, tokens in rows:
        billed = billed if billed.strip() not in ("", "NULL") else "1"  # BilledCost is mandatory
        writer.writerow(
            [
                "acct",
                "USD",
                "2026-10-01T00:00:00Z",
                "2026-11-01T00:00:00Z",
                "2026-10-01T00:00:00Z",
                "2026-10-01T01:00:00Z",
                billed,
                other,
                other,
                tokens,
                provider,
                text,
                text,
                text,
                tokens,
            ]
        )
    path = tmp_path / "hostile.csv"
    path.write_text(out.getvalue(), encoding="utf-8")

    def table(chunks) -> pd.DataFrame:
        tables = [to_ledger_table(c) if isinstance(c, pd.DataFrame) else c for c in chunks]
        return pa.concat_tables(tables).to_pandas()

    fast, slow = table(focus.parse(path)), table(focus.parse_fallback(path))
    pd.testing.assert_frame_equal(fast, slow)


def test_pandas_chunks_become_the_same_arrow_table_whatever_their_string_storage():
    """to_ledger_table takes text columns as they are when they hold only text (pandas' string
    dtype, or object columns of str and missing values) and converts value by value otherwise:
    both give the text, with every kind of missing value as NULL."""
    from decimal import Decimal

    import numpy as np

    from metrics.ledger.sources.base import INT_COLUMNS, LEDGER_COLUMNS, TIME_COLUMNS

    n = 4
    texts = [c for c in LEDGER_COLUMNS if c not in TIME_COLUMNS and c not in INT_COLUMNS]
    texts.remove("source_line")
    frame = pd.DataFrame(
        {
            col: pd.Series(pd.to_datetime(["2026-10-01T00:00:00Z"] * n, utc=True))
            if col in TIME_COLUMNS
            else pd.Series(np.arange(n, dtype="int64"))
            if col not in texts
            else pd.Series(["1.5", None, "", "x"], dtype=object)
            for col in LEDGER_COLUMNS
        }
    )
    expected = {col: ["1.5", None, "", "x"] for col in texts}
    frame["billed_cost"] = pd.Series([Decimal("1.50"), np.nan, "2", pd.NA], dtype=object)
    expected["billed_cost"] = ["1.50", None, "2", None]  # str() of each, NULL for each missing
    frame["service_name"] = pd.Series(["a", np.nan, "b", None], dtype="str")  # Arrow-backed
    expected["service_name"] = ["a", None, "b", None]
    frame["region_id"] = pd.Series([np.nan, np.nan, np.nan, np.nan], dtype=object)
    expected["region_id"] = [None, None, None, None]
    table = to_ledger_table(frame)
    assert {col: table.column(col).to_pylist() for col in texts} == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789 -+.a", max_size=4), max_size=8), st.integers(0, 8))
def test_plain_integers_accepts_exactly_runs_of_digits(values, cut):
    expected = all(re.fullmatch(r"[0-9]+", v) for v in values)
    assert plain_integers(chunked(values, cut)) is expected
    assert not plain_integers(pa.array(["1", None]))
