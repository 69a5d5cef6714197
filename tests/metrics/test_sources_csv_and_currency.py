"""One CSV reader and one currency guard for every billing source.

Each source that carries a currency rejects a blank one and one not shaped like an ISO 4217
code with the same `file:row:column: message`; every CSV source reports a wrong delimiter,
an empty file and a file that is not UTF-8 the same way; and only `csv_reader` reads CSV.
"""

import ast
import csv
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from metrics.ledger.sources import anthropic, aws_cur, azure, focus, gcp, oci, openai
from metrics.ledger.sources.base import IngestError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "billing"
SOURCES = Path(__file__).resolve().parents[2] / "metrics" / "ledger" / "sources"
OCI_SAMPLE = "data/billing/oci_cost_report_sample_focus_converters.csv"

FOCUS_HEADER = (
    "BillingAccountId,BillingCurrency,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,"
    "ChargePeriodEnd,BilledCost"
)


def focus_row(currency: str) -> str:
    return (
        f"acct-1,{currency},2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,2026-10-01T00:00:00Z,"
        "2026-10-01T01:00:00Z,1.25"
    )


def drain(chunks) -> None:
    for _ in chunks:
        pass


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def write_csv(path: Path, rows: list[dict[str, str]], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def csv_with_currency(source: Path, column: str, value: str, tmp_path: Path) -> tuple[Path, int]:
    """A copy of `source` whose 4th data row has `value` as its currency; (path, its line)."""
    rows = rows_of(source)
    rows[3][column] = value
    return write_csv(tmp_path / f"copy{source.suffix}", rows), 5


def focus_file(value: str, tmp_path: Path) -> tuple[Path, int]:
    path = tmp_path / "focus.csv"
    rows = [focus_row("USD"), focus_row("USD"), focus_row(value)]
    path.write_text(FOCUS_HEADER + "\n" + "\n".join(rows) + "\n")
    return path, 4


def gcp_jsonl(value: str, tmp_path: Path) -> tuple[Path, int]:
    lines = (FIXTURES / "gcp_vertex.jsonl").read_text().splitlines()
    assert '"currency":"USD"' in lines[2]
    lines[2] = lines[2].replace('"currency":"USD"', f'"currency":{json.dumps(value)}')
    path = tmp_path / "gcp.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path, 3


def openai_costs(value: str, tmp_path: Path) -> tuple[Path, int]:
    doc = json.loads((FIXTURES / "openai_costs_page.json").read_text())
    doc["data"][0]["results"][4]["amount"]["currency"] = value
    path = tmp_path / "costs.json"
    path.write_text(json.dumps(doc))
    return path, 5


def anthropic_costs(value: str, tmp_path: Path) -> tuple[Path, int]:
    doc = json.loads((FIXTURES / "anthropic_cost_report.json").read_text())
    doc["data"][0]["results"][0]["currency"] = value
    path = tmp_path / "cost.json"
    path.write_text(json.dumps(doc))
    return path, 1


# (parse, make the file, the column named in the error); None: blank means USD there
CASES = {
    "aws-cur": (
        aws_cur.parse,
        lambda v, p: csv_with_currency(
            FIXTURES / "aws_cur2_bedrock.csv", "line_item_currency_code", v, p
        ),
        "line_item_currency_code",
    ),
    "azure": (
        azure.parse,
        lambda v, p: csv_with_currency(FIXTURES / "azure_openai_mca.csv", "billingCurrency", v, p),
        "billingCurrency",
    ),
    "gcp-csv": (
        gcp.parse,
        lambda v, p: csv_with_currency(FIXTURES / "gcp_vertex.csv", "currency", v, p),
        "currency",
    ),
    "gcp-jsonl": (gcp.parse, gcp_jsonl, "currency"),
    "focus-arrow": (focus.parse, focus_file, "BillingCurrency"),
    "focus-pandas": (focus.parse_fallback, focus_file, "BillingCurrency"),
    "openai": (openai.parse, openai_costs, "amount.currency"),
    "anthropic": (anthropic.parse, anthropic_costs, "currency"),
}


@pytest.mark.parametrize("source", list(CASES))
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "a currency code is required"),
        ("US Dollar", "'US Dollar' is not an ISO 4217 currency code"),
        ("US$", "'US$' is not an ISO 4217 currency code"),
    ],
)
def test_every_source_guards_its_currency_the_same_way(tmp_path, source, value, message):
    parse, make, column = CASES[source]
    path, line = make(value, tmp_path)
    if source == "anthropic" and value == "":
        drain(parse(path))  # the cost report's documented default: USD
        return
    with pytest.raises(IngestError) as err:
        drain(parse(path))
    assert str(err.value) == f"{path}:{line}:{column}: {message}"


def test_oci_guards_its_currency(shared_dir, tmp_path):
    path, line = csv_with_currency(shared_dir / OCI_SAMPLE, "cost/currencyCode", "EURO", tmp_path)
    with pytest.raises(IngestError) as err:
        drain(oci.parse(path))
    assert str(err.value) == (
        f"{path}:{line}:cost/currencyCode: 'EURO' is not an ISO 4217 currency code"
    )


LOWER_CASE = {
    "aws-cur": (aws_cur.parse, FIXTURES / "aws_cur2_bedrock.csv", "line_item_currency_code"),
    "azure": (azure.parse, FIXTURES / "azure_openai_mca.csv", "billingCurrency"),
    "gcp": (gcp.parse, FIXTURES / "gcp_vertex.csv", "currency"),
}


@pytest.mark.parametrize("source", list(LOWER_CASE))
def test_a_lower_case_code_is_accepted_and_stored_upper_case(tmp_path, source):
    parse, fixture, column = LOWER_CASE[source]
    rows = rows_of(fixture)
    codes = {r[column] for r in rows}
    for r in rows:
        r[column] = r[column].lower()
    path = write_csv(tmp_path / "lower.csv", rows)
    stored = set()
    for chunk in parse(path):
        stored |= set(chunk["billing_currency"])
    assert stored == codes


# --- the one CSV reader ---------------------------------------------------------------------

CSV_PARSERS = {
    "focus": focus.parse,
    "focus-pandas": focus.parse_fallback,
    "aws-cur": aws_cur.parse,
    "azure": azure.parse,
    "gcp": gcp.parse,
}


def semicolon_copy(tmp_path: Path) -> Path:
    path = tmp_path / "semi.csv"
    path.write_text(FOCUS_HEADER.replace(",", ";") + "\n" + focus_row("USD").replace(",", ";"))
    return path


def aws_semicolon_copy(tmp_path: Path) -> Path:
    rows = rows_of(FIXTURES / "aws_cur2_bedrock.csv")
    return write_csv(tmp_path / "semi.csv", rows, delimiter=";")


@pytest.mark.parametrize("source", ["focus", "focus-pandas", "aws-cur"])
def test_a_semicolon_file_gets_the_same_message_from_every_csv_source(tmp_path, source):
    path = aws_semicolon_copy(tmp_path) if source == "aws-cur" else semicolon_copy(tmp_path)
    with pytest.raises(IngestError) as err:
        drain(CSV_PARSERS[source](path))
    assert str(err.value) == (
        f"{path}:1:-: the file is semicolon-separated (delimiter ';'); export it as "
        "comma-separated CSV"
    )


@pytest.mark.parametrize("source", list(CSV_PARSERS))
@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "the file is empty"), (b"Billed\xe9Cost,x\n1,2\n", "the file is not UTF-8 text")],
)
def test_empty_and_non_utf8_files_get_the_same_message(tmp_path, source, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(IngestError) as err:
        drain(CSV_PARSERS[source](path))
    assert str(err.value) == f"{path}:1:-: {message}"


def test_focus_arrow_and_pandas_readers_give_the_same_rows(tmp_path):
    path = tmp_path / "focus.csv"
    path.write_text(FOCUS_HEADER + "\n" + "\n".join(focus_row(c) for c in ("USD", "eur")) + "\n")

    def frame(chunks) -> pd.DataFrame:
        parts = [c.to_pandas() if isinstance(c, pa.Table) else c for c in chunks]
        return pd.concat(parts, ignore_index=True)

    fast, slow = frame(focus.parse(path)), frame(focus.parse_fallback(path))
    assert fast["billing_currency"].tolist() == slow["billing_currency"].tolist() == ["USD", "eur"]
    assert fast["source_line"].tolist() == slow["source_line"].tolist() == [2, 3]


READERS = {"read_csv", "open_csv", "reader", "DictReader"}


def test_only_csv_reader_reads_csv():
    """pd.read_csv, pyarrow's open_csv/read_csv and csv.reader appear in csv_reader.py only."""
    offenders = []
    for path in sorted(SOURCES.glob("*.py")):
        if path.name == "csv_reader.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in READERS
                and isinstance(node.value, ast.Name)
                and node.value.id in {"pd", "pandas", "csv", "pacsv"}
            ):
                offenders.append(f"{path.name}:{node.lineno}: {node.value.id}.{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module in {"csv", "pyarrow.csv"}:
                offenders.append(f"{path.name}:{node.lineno}: from {node.module} import")
            if isinstance(node, ast.Import) and any(
                a.name in {"csv", "pyarrow.csv"} for a in node.names
            ):
                offenders.append(f"{path.name}:{node.lineno}: import csv")
    assert offenders == []


def _both_readers(path: Path, usecols: list[str] | None = None) -> tuple[list, pd.DataFrame]:
    from metrics.ledger.sources.csv_reader import read_csv_chunks

    fast = list(read_csv_chunks(path, usecols))
    slow = pd.concat(list(read_csv_chunks(path, usecols, fast=False)))
    return fast, slow


def test_the_arrow_reader_gives_the_frames_pandas_gives(tmp_path):
    path = tmp_path / "cur.csv"
    path.write_text(
        '\ufeffb,a, c \n1,"x, y",\n2,"",z\n3,é,  padded  \n4,"say ""hi""",NULL\n',
        encoding="utf-8",
    )
    from metrics.ledger.sources import csv_reader

    for usecols in (None, ["a", " c "]):
        fast, slow = _both_readers(path, usecols)
        frame = pd.concat(fast)
        pd.testing.assert_frame_equal(frame, slow)
        assert list(frame.index) == [2, 3, 4, 5]
        # ...and it was Arrow's reader, not the handover to pandas
        arrow = pd.concat(list(csv_reader._arrow_chunks(path, usecols)))
        pd.testing.assert_frame_equal(arrow, slow)


def test_arrow_hands_over_to_pandas_at_the_first_record_it_did_not_give(tmp_path, monkeypatch):
    from metrics.ledger.sources import csv_reader

    monkeypatch.setattr(csv_reader, "ARROW_BLOCK_BYTES", 64)  # small chunks
    monkeypatch.setattr(csv_reader, "ARROW_READ_BYTES", 128)
    lines = [f"r{i},{i}" for i in range(60)]
    lines[45] = 'r45,"two\nlines"'  # Arrow's reader stops here; pandas reads it
    path = tmp_path / "late.csv"
    path.write_text("name,value\n" + "\n".join(lines) + "\n")
    fast, slow = _both_readers(path)
    assert len(fast) > 3  # several chunks came from Arrow before the handover
    frame = pd.concat(fast)
    pd.testing.assert_frame_equal(frame, slow)  # nothing lost, nothing doubled
    assert frame.loc[47, "value"] == "two\nlines"
