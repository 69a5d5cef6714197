"""The import's write path: replacement searches only overlapping batches (and every batch
that does not say which days it covers), application names come from the chunks as read."""

from decimal import Context, Decimal, localcontext
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Sum

from metrics.ledger.ingest import billing_import
from metrics.ledger.names import application_names_refresh
from metrics.ledger.sources.base import IngestError
from metrics.models import ApplicationName, CostRecord, DailyCost, ImportBatch

HEADER = (
    "BillingAccountId,BillingCurrency,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,"
    "ChargePeriodEnd,BilledCost,ProviderName,SubAccountId,SubAccountName,ResourceId,"
    "ResourceName,x_ApplicationKey"
)


def line(day: str, cost: str, *, sub=("s1", ""), res=("r1", ""), key="", account="acct-1"):
    return (
        f"{account},USD,2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,{day}T00:00:00Z,"
        f"{day}T01:00:00Z,{cost},OpenAI,{sub[0]},{sub[1]},{res[0]},{res[1]},{key}"
    )


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "\n" + "\n".join(lines) + "\n")
    return path


def total() -> tuple[Decimal, Decimal]:
    ledger = CostRecord.objects.aggregate(s=Sum("billed_cost"))["s"]
    rollups = DailyCost.objects.aggregate(s=Sum("billed_cost"))["s"]
    return ledger, rollups


def test_a_batch_records_its_days_and_a_newer_export_replaces_only_overlapping_days(db, tmp_path):
    early = write(tmp_path, "early.csv", [line("2026-10-01", "1"), line("2026-10-02", "2")])
    late = write(tmp_path, "late.csv", [line("2026-10-20", "4")])
    billing_import(early)
    first = billing_import(late)
    assert first.summary["days"] == ["2026-10-20", "2026-10-20"]
    assert first.batch.replaced_count == 0
    redo = write(tmp_path, "redo.csv", [line("2026-10-02", "3"), line("2026-10-20", "5")])
    result = billing_import(redo)
    assert result.summary["days"] == ["2026-10-02", "2026-10-20"]
    assert result.batch.replaced_count == 2  # 10-02 of early, 10-20 of late; 10-01 stays
    assert total() == (Decimal(9), Decimal(9))


def test_a_batch_without_a_day_range_in_its_summary_is_still_searched(db, tmp_path):
    old = billing_import(write(tmp_path, "old.csv", [line("2026-10-05", "10")]))
    summary = dict(old.batch.summary)
    del summary["days"]  # as imported before batches recorded their days
    ImportBatch.objects.filter(pk=old.batch.pk).update(summary=summary)
    result = billing_import(write(tmp_path, "new.csv", [line("2026-10-05", "12")]))
    assert result.batch.replaced_count == 1
    assert total() == (Decimal(12), Decimal(12))


def test_application_names_from_the_chunks_are_those_the_ledger_gives(db, tmp_path):
    path = write(
        tmp_path,
        "named.csv",
        [
            line("2026-10-01", "1", sub=("proj-a", "Chat"), key="proj-a"),
            line("2026-10-01", "1", sub=("proj-b", "proj-b"), key="proj-b"),  # name = key
            line("2026-10-01", "1", res=("key-9", " Nightly batch "), key="key-9"),
            # both match: the sub-account's name wins
            line("2026-10-02", "1", sub=("both", "Sub"), res=("both", "Res"), key="both"),
            line("2026-10-02", "1", sub=("proj-c", "Other"), key="elsewhere"),  # no match
            line("2026-10-02", "1", sub=("proj-d", "No key")),  # no application key
        ],
    )
    result = billing_import(path)
    stored = dict(ApplicationName.objects.values_list("key", "name"))
    assert stored == {"proj-a": "Chat", "key-9": "Nightly batch", "both": "Sub"}
    ApplicationName.objects.all().delete()
    assert application_names_refresh(batch_id=result.batch.pk) == 3
    assert dict(ApplicationName.objects.values_list("key", "name")) == stored


@pytest.mark.skipif(connection.vendor != "postgresql", reason="sequence cache: PostgreSQL")
def test_ledger_ids_come_a_thousand_at_a_time(db):
    """A COPY calls nextval() per row: a cached sequence saves a sequence update per row."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT seqcache FROM pg_sequence WHERE seqrelid = "
            "pg_get_serial_sequence('metrics_costrecord', 'id')::regclass"
        )
        assert cur.fetchone() == (1000,)


GPU_HEADER = (
    "BillingAccountId,BillingCurrency,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,"
    "ChargePeriodEnd,BilledCost,ProviderName,x_GpuHours"
)


@pytest.mark.parametrize(
    ("hours", "sent"),
    [(["0", "0"], False), (["0", "2.5"], True), (["0.00", "0"], True)],
    ids=["all-zero", "some-hours", "zero-with-places"],
)
def test_gpu_hours_are_left_to_the_default_only_when_all_are_exactly_zero(
    db, tmp_path, monkeypatch, hours, sent
):
    from metrics.ledger import ingest

    rows = [
        f"acct,USD,2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,2026-10-0{d}T00:00:00Z,"
        f"2026-10-0{d}T01:00:00Z,1,OpenCost,{h}"
        for d, h in zip((1, 2), hours, strict=True)
    ]
    path = tmp_path / "gpu.csv"
    path.write_text(GPU_HEADER + "\n" + "\n".join(rows) + "\n")
    columns: list[list[str]] = []
    table = ingest._db_table
    monkeypatch.setattr(
        ingest, "_db_table", lambda *a: columns.append(table(*a).column_names) or table(*a)
    )
    billing_import(path)
    assert ("gpu_hours" in columns[0]) is sent
    stored = sorted(str(v) for v in CostRecord.objects.values_list("gpu_hours", flat=True))
    assert stored == sorted(str(Decimal(h)) for h in hours)


@pytest.mark.parametrize(
    "big",
    [
        "9" * 400,
        "9" * 39,
        "-" + "9" * 39,
        "9" * 20 + "." + "9" * 19,
        "1" + "0" * 18,
        "1E+30",
        "1e999999999",
    ],
    ids=["400", "39", "minus-39", "39-with-point", "10^18", "exponent", "huge-exponent"],
)
def test_an_amount_past_the_ledgers_precision_is_refused_by_line_and_column(db, tmp_path, big):
    """Amounts hold 18 digits before the point (MONEY_DIGITS - MONEY_PLACES). A larger one
    was stored, then every dashboard and the spend API over its days failed (the query layer
    rounds in 28 digits): it is an export error, named, and nothing is imported. (pyarrow reads
    39 digits or more as a wrong decimal without an error: that must not hide it either.)"""
    path = write(tmp_path, "big.csv", [line("2026-10-01", "1.5"), line("2026-10-02", big)])
    with pytest.raises(IngestError) as raised:
        billing_import(path)
    assert (raised.value.row, raised.value.column) == (3, "billed_cost")
    assert "at most 18 digits before the point" in str(raised.value)
    assert not CostRecord.objects.exists() and not ImportBatch.objects.exists()


def test_the_largest_amounts_import_and_their_totals_show(db, tmp_path):
    """At the limit, every amount imports exactly, and totals past the default context's 28
    digits are rounded for display rather than raising (queries, dashboards, the formatter)."""
    from metrics.money import format_money, round_to
    from metrics.queries import _money

    top = "999999999999999999.999999999999"
    rows = [line(f"2026-10-{d:02d}", top, res=(f"r{d}", "")) for d in range(1, 6)]
    billing_import(write(tmp_path, "top.csv", rows))
    with localcontext(Context(prec=60)):  # SQL SUM on SQLite is a float: add them up here
        ledger = sum(CostRecord.objects.values_list("billed_cost", flat=True), Decimal(0))
        rollups = sum(DailyCost.objects.values_list("billed_cost", flat=True), Decimal(0))
    assert ledger == Decimal("4999999999999999999.999999999995")  # 5 x top, exact
    if connection.vendor == "postgresql":  # SQLite's rollups add up as REAL (15-16 digits)
        assert rollups == ledger
    wide = Decimal("9" * 26 + ".123456789")
    assert _money(wide) == Decimal("9" * 26 + ".123457")
    assert round_to(wide, Decimal("0.01")) == Decimal("9" * 26 + ".12")
    assert format_money(wide, "USD") == "$" + f"{int('9' * 26):,}" + ".12"
