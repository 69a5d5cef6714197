"""The binary COPY writer: what the server stores from it is what it stores from the text of
the same values (PostgreSQL's own input functions are the reference), and a chunk it cannot
write exactly goes by CSV with the same result."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.ledger import ingest, pg_binary
from metrics.ledger.ingest import billing_import
from metrics.ledger.sources.arrow import ChunkDecimals
from metrics.ledger.sources.base import IngestError
from metrics.models import CostRecord

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="binary COPY: PostgreSQL only"
)

COLUMNS = {
    "i": "integer",
    "b": "bigint",
    "n": "numeric",
    "t": "character varying(20)",
    "j": "jsonb",
    "ts": "timestamp with time zone",
    "d": "date",
    "x": "text",
}


def copy_binary(table: pa.Table) -> list[tuple]:
    """Rows of `table` as the server stores them after a binary COPY, as text."""
    encoded = pg_binary.encode_rows(table, COLUMNS)
    assert encoded is not None
    sent, body = encoded
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
    with connection.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE bin ({columns})")
        with cur.cursor.copy(f"COPY bin ({', '.join(sent)}) FROM STDIN (FORMAT binary)") as copy:
            copy.write(pg_binary.HEADER)
            copy.write(memoryview(body))
            copy.write(pg_binary.TRAILER)
        cur.execute("SELECT i::text, b::text, n::text, t, j::text, ts::text, d::text, x FROM bin")
        rows = cur.fetchall()
        cur.execute("DROP TABLE bin")
    return rows


def text_of(value: object, kind: str) -> str | None:
    """The server's text of `value` read by its text input function."""
    if value is None:
        return None
    with connection.cursor() as cur:
        cur.execute(f"SELECT (%s::text)::{kind}::text", [str(value)])
        return cur.fetchone()[0]


def test_every_type_and_null_stores_as_its_text_form(db):
    utc = dt.UTC
    table = pa.table(
        {
            "i": pa.array([1, -2_147_483_648, None], pa.int64()),
            "b": pa.array([2**62, None, -(2**63) + 1], pa.int64()),
            "n": pa.array(["1.50", None, "-0.000000000001"]),
            "t": pa.array(["", None, 'héllo ☃ \\ \t " ,']),
            "j": pa.array(["{}", None, '{"team": "a", "n": [1, 2.50]}']),
            "ts": pa.array(
                [
                    dt.datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=utc),
                    None,
                    dt.datetime(2026, 9, 1, 12, 30, tzinfo=utc),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "d": pa.array([dt.date(1970, 1, 1), None, dt.date(2100, 2, 28)], pa.date32()),
            "x": pa.array(["a", "", None]),
        }
    )
    with connection.cursor() as cur:
        cur.execute("SET LOCAL timezone = 'UTC'")
    stored = copy_binary(table)
    expected = [
        tuple(text_of(table.column(name)[row].as_py(), kind) for name, kind in COLUMNS.items())
        for row in range(len(table))
    ]
    assert stored == expected
    assert stored[1][2] is None and stored[0][3] == ""  # NULL and '' stay apart


def test_rows_come_in_the_order_asked_with_fixed_width_columns_first(db):
    table = pa.table(
        {
            "x": pa.array(["c", "a", "b"]),
            "b": pa.array([3, 1, 2], pa.int64()),
            "n": pa.array(["3.0", "1.00", None]),
            "i": pa.array([30, 10, 20], pa.int64()),
        }
    )
    columns = {"x": "text", "b": "bigint", "n": "numeric", "i": "integer"}
    encoded = pg_binary.encode_rows(table, columns, order=pa.array([1, 2, 0]))
    assert encoded is not None
    sent, body = encoded
    assert sent == ["b", "i", "x", "n"]  # fixed width without NULLs, then the others
    with connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE ordered (x text, b bigint, n numeric, i integer)")
        with cur.cursor.copy(
            f"COPY ordered ({', '.join(sent)}) FROM STDIN (FORMAT binary)"
        ) as copy:
            copy.write(pg_binary.HEADER)
            copy.write(memoryview(body))
            copy.write(pg_binary.TRAILER)
        cur.execute("SELECT x, b, n::text, i FROM ordered")
        assert cur.fetchall() == [("a", 1, "1.00", 10), ("b", 2, None, 20), ("c", 3, "3.0", 30)]


SPELLINGS = [
    "0", "-0.00", "1.50", "5.", "-.5", "+5", ".5", "10000", "9999.9999", "0.000000000001",
    "-9200000.123456789012", "1E-7", "1.50E+2", "-2.5e3", "123456789012345678",
    "1.81E-8", "2.6041666667E-4", "5e+2", "-1.0E-6", "922337203685477580.8",
    "-12345678901234567890123.123456789012", "99999999999999999999999999.999999999999",
    " 7 ",
]  # fmt: skip


@pytest.mark.parametrize("text", SPELLINGS)
def test_a_decimal_keeps_its_value_and_scale(db, text):
    table = pa.table({"n": pa.array([text, "1"])})
    assert copy_binary(table)[0][2] == text_of(text, "numeric")


def decimals() -> st.SearchStrategy[Decimal]:
    """Up to 12 decimal places and 24 digits: a column of them may need 64 or 128 bits."""
    return st.integers(0, 12).flatmap(
        lambda places: st.integers(0, 12).flatmap(
            lambda whole: st.integers(-(10 ** (whole + places)), 10 ** (whole + places)).map(
                lambda unscaled: Decimal(unscaled).scaleb(-places)
            )
        )
    )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(decimals(), st.sampled_from(["f", "e", "str"])),
        min_size=1,
        max_size=8,
    )
)
def test_any_decimal_column_stores_as_its_text(db, numbers):
    forms = {"f": "{:f}", "e": "{:e}", "str": "{}"}
    texts = [forms[form].format(number) for number, form in numbers]
    stored = [row[2] for row in copy_binary(pa.table({"n": pa.array(texts)}))]
    assert stored == [text_of(text, "numeric") for text in texts]


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (pa.array(["123456789012345678901234567.123456789012"]), "numeric"),  # 39 digits
        (pa.array(["0.12345678901234567"]), "numeric"),  # 17 places
        (pa.array(["NaN"]), "numeric"),
        (pa.array(["12abc"]), "numeric"),
        (pa.array(["1e999999999"]), "numeric"),
        (pa.array([2**40], pa.int64()), "integer"),
        (pa.array(["t"]), "boolean"),
    ],
)
def test_what_binary_cannot_write_exactly_is_left_to_csv(values, kind):
    with pytest.raises(pg_binary.Unsupported):
        pg_binary.encode_field(values, kind)
    assert pg_binary.encode_rows(pa.table({"v": values}), {"v": kind}) is None


FOCUS = (
    "BillingAccountId,BillingCurrency,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,"
    "ChargePeriodEnd,BilledCost,EffectiveCost,ListCost,PricingQuantity,ProviderName,ServiceName,"
    "ResourceId,Tags,x_Model,x_InputTokens\n"
)


def ledger_rows() -> list[str]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT (to_jsonb(r) - 'id' - 'batch_id')::text FROM metrics_costrecord r"
            " ORDER BY source_line"
        )
        return [row[0] for row in cur.fetchall()]


def test_an_import_stores_the_same_rows_by_binary_and_by_csv(db, tmp_path, monkeypatch):
    lines = [
        "acct,USD,2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,2026-10-0{d}T0{h}:00:00Z,"
        "2026-10-0{d}T0{h}:30:00Z,{cost},{cost},,{qty},OpenAI,Model API,r-{i},{tags},gpt-4o,{tok}".format(
            d=1 + i % 3,
            h=i % 7,
            cost=["1.50", "-0.25", "0", "1E-7", "12345.123456789012"][i % 5],
            qty=["", "1000000", "2.5"][i % 3],
            i=i,
            tags=['"{""team"": ""a""}"', "{}", ""][i % 3],
            tok=i * 1000,
        )
        for i in range(30)
    ]
    path = tmp_path / "focus.csv"
    path.write_text(FOCUS + "\n".join(lines) + "\n")

    binary = billing_import(path)
    by_binary = ledger_rows()
    binary.batch.delete()

    calls = []
    monkeypatch.setattr(pg_binary, "encode_rows", lambda *a, **k: calls.append(a) or None)
    billing_import(path)
    assert calls, "the CSV path was taken"
    assert ledger_rows() == by_binary
    assert len(by_binary) == 30


def test_a_chunk_binary_cannot_write_goes_by_csv(db, tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    big = "0.12345678901234567"  # 17 decimal places
    path.write_text(
        FOCUS + f"acct,USD,2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,2026-10-01T00:00:00Z,"
        f"2026-10-01T01:00:00Z,{big},{big},,,OpenAI,Model API,r,,gpt-4o,0\n"
    )
    forms = []
    copy = ingest._copy_postgres
    monkeypatch.setattr(ingest, "_copy_postgres", lambda p: forms.append(p.binary) or copy(p))
    billing_import(path)
    assert forms == [False]
    with connection.cursor() as cur:
        cur.execute("SELECT billed_cost::text FROM metrics_costrecord")
        assert cur.fetchone()[0] == big


def test_a_plain_file_goes_by_binary(db, tmp_path, monkeypatch):
    path = tmp_path / "plain.csv"
    path.write_text(
        FOCUS + "acct,USD,2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,2026-10-01T00:00:00Z,"
        "2026-10-01T01:00:00Z,1.25,1.25,,,OpenAI,Model API,r,,gpt-4o,10\n"
    )
    forms = []
    copy = ingest._copy_postgres
    monkeypatch.setattr(ingest, "_copy_postgres", lambda p: forms.append(p.binary) or copy(p))
    billing_import(path)
    assert forms == [True]


def test_a_value_the_database_refuses_names_the_files_line_and_column(db, tmp_path):
    rows = [
        f"acct,USD,2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,2026-10-0{d}T00:00:00Z,"
        f"2026-10-0{d}T01:00:00Z,1,1,{listed},,OpenAI,Model API,r,,gpt-4o,0"
        for d, listed in ((3, "1"), (1, "2"), (2, "1e-99999"))  # written in (day, team) order
    ]
    path = tmp_path / "tiny.csv"
    path.write_text(FOCUS + "\n".join(rows) + "\n")
    with pytest.raises(IngestError) as raised:
        billing_import(path)
    assert (raised.value.row, raised.value.column) == (4, "list_cost")
    assert "overflows numeric format" in str(raised.value)
    assert not CostRecord.objects.exists()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(decimals(), st.sampled_from(["f", "e", "str"])).map(
                lambda pair: {"f": "{:f}", "e": "{:e}", "str": "{}"}[pair[1]].format(pair[0])
            ),
            st.sampled_from([*SPELLINGS, "0.1234567890123", "1.2345678901234567", None]),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_amounts_read_once_for_the_sums_encode_as_the_text_does(texts):
    """The import reads each amount column once (ChunkDecimals) for its totals, its rollups
    and the binary COPY: the COPY body must be the one the text alone gives."""
    table = pa.table({"n": pa.array(texts, pa.string()), "m": pa.array(texts[::-1], pa.string())})
    types = {"n": "numeric", "m": "numeric"}
    shared = pg_binary.encode_rows(table, types, decimals=ChunkDecimals(table).of)
    alone = pg_binary.encode_rows(table, types)
    if alone is None:
        assert shared is None
    else:
        assert shared is not None and shared[0] == alone[0]
        assert bytes(shared[1]) == bytes(alone[1])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(decimals(), st.none()), max_size=10), st.booleans())
def test_chunk_totals_are_exact(numbers, high_places):
    texts = [None if n is None else f"{n:f}" for n in numbers]
    if high_places:
        texts.append("0.0000000000001")  # 13 places: past SUM_TYPE, the exact fallback
    table = pa.table({"c": pa.array(texts, pa.string())})
    mask = pa.array([i % 2 == 0 for i in range(len(texts))], pa.bool_())
    money = ChunkDecimals(table)
    whole = sum((Decimal(t) for t in texts if t is not None), Decimal(0))
    half = sum(
        (Decimal(t) for i, t in enumerate(texts) if t is not None and i % 2 == 0), Decimal(0)
    )
    assert money.total("c") == whole
    assert money.total("c", mask) == half
