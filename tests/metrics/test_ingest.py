"""The ledger import: totals to the cent against an independent sum, idempotency, atomicity,
replacement of re-exports, allocation and rollups."""

import csv
import gzip
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Sum

from metrics.ledger.ingest import billing_import, expand_paths
from metrics.ledger.sources.base import IngestError
from metrics.models import AllocationRule, CostRecord, DailyCost, ImportBatch
from metrics.services import ledger_reallocate

HEADER = (
    "BillingAccountId,BillingCurrency,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,"
    "ChargePeriodEnd,ChargeCategory,BilledCost,EffectiveCost,ProviderName,ServiceName,"
    "ServiceCategory,SubAccountId,Tags,x_Model,x_InputTokens,x_OutputTokens,x_ModelRequests"
)


def focus_csv(tmp_path: Path, name: str, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def row(
    day="2026-10-01",
    cost="1.25",
    account="acct-1",
    currency="USD",
    tags="",
    sub="sub-1",
    model="gpt-4o",
):
    tags_field = '"' + tags.replace('"', '""') + '"' if tags else ""
    return (
        f"{account},{currency},2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,{day}T00:00:00Z,"
        f"{day}T01:00:00Z,Usage,{cost},{cost},OpenAI,OpenAI API,AI and Machine Learning,{sub},"
        f"{tags_field},{model},1000,100,10"
    )


def independent_sums(path: Path, columns=("BilledCost", "EffectiveCost")) -> dict[str, Decimal]:
    """Sum a FOCUS CSV with the csv module and Decimal, nothing shared with the importer."""
    sums = dict.fromkeys(columns, Decimal(0))
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for rec in csv.DictReader(fh):
            for col in columns:
                value = (rec.get(col) or "").strip().replace("$", "").replace(",", "")
                if value and value != "NULL":
                    sums[col] += Decimal(value)
    return sums


def ledger_sums(batch: ImportBatch) -> dict[str, Decimal]:
    billed = effective = Decimal(0)
    for b, e in CostRecord.objects.filter(batch=batch).values_list("billed_cost", "effective_cost"):
        billed += b
        effective += e
    return {"BilledCost": billed, "EffectiveCost": effective}


def focus_samples(shared: Path) -> list[Path]:
    base = shared / "data" / "billing"
    return [
        base / "focus_sample_1.0_official.csv",
        *sorted((base / "focus_spec_v1.2_examples").rglob("*.csv")),
    ]


def test_every_focus_sample_imports_with_totals_to_the_cent(db, shared_dir):
    samples = focus_samples(shared_dir)
    assert len(samples) == 27
    for path in samples:
        result = billing_import(path)
        assert result.created, path
        expected = independent_sums(path)
        assert ledger_sums(result.batch) == expected, path.name
        with path.open(encoding="utf-8-sig") as fh:
            assert result.batch.row_count == sum(1 for _ in csv.DictReader(fh)), path.name
        assert (
            result.summary["totals"]["USD"]["billed_cost"]
            == str(expected["BilledCost"].normalize())
            or Decimal(result.summary["totals"]["USD"]["billed_cost"]) == expected["BilledCost"]
        )


def test_official_sample_rollups_match_the_source_and_reimport_is_a_no_op(db, shared_dir):
    path = shared_dir / "data" / "billing" / "focus_sample_1.0_official.csv"
    first = billing_import(path)
    expected = independent_sums(path)
    rollup = DailyCost.objects.aggregate(b=Sum("billed_cost"), e=Sum("effective_cost"))
    assert round(rollup["b"], 2) == round(expected["BilledCost"], 2)
    assert round(rollup["e"], 2) == round(expected["EffectiveCost"], 2)
    assert DailyCost.objects.aggregate(n=Sum("record_count"))["n"] == 1000
    counts = (CostRecord.objects.count(), DailyCost.objects.count(), ImportBatch.objects.count())
    again = billing_import(path)
    assert not again.created and again.batch.pk == first.batch.pk
    assert counts == (
        CostRecord.objects.count(),
        DailyCost.objects.count(),
        ImportBatch.objects.count(),
    )
    assert first.summary["records_per_team"] == {"unallocated": 1000}
    assert set(CostRecord.objects.values_list("provider", flat=True)) == {"aws", "azure", "oci"}


def test_records_trace_back_to_file_and_line(db, tmp_path):
    path = focus_csv(tmp_path, "a.csv", [row(cost="1"), row(cost="2")])
    result = billing_import(path)
    rec = CostRecord.objects.get(batch=result.batch, billed_cost=Decimal("2"))
    assert rec.source_line == 3  # header is line 1
    stored = Path(ImportBatch.objects.get(pk=result.batch.pk).stored_file)
    assert stored.read_text().splitlines()[rec.source_line - 1].startswith("acct-1,USD")


def test_the_source_is_kept_only_for_an_import_that_committed(db, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    kept = tmp_path / "media" / "imports"
    bad = focus_csv(tmp_path, "bad.csv", [row(cost="1"), row(cost="not money")])
    with pytest.raises(IngestError):
        billing_import(bad)
    assert list(kept.iterdir()) == []  # no kept file, no partial copy
    good = focus_csv(tmp_path, "good.csv", [row(cost="1")])
    result = billing_import(good)
    stored = Path(ImportBatch.objects.get(pk=result.batch.pk).stored_file)
    assert [p.name for p in kept.iterdir()] == [stored.name]
    assert stored.read_bytes() == good.read_bytes()


def test_newer_export_of_the_same_period_replaces_instead_of_doubling(db, tmp_path):
    old = focus_csv(tmp_path, "sept-v1.csv", [row("2026-10-01", "10"), row("2026-10-02", "20")])
    new = focus_csv(
        tmp_path,
        "sept-v2.csv",
        [row("2026-10-01", "10"), row("2026-10-02", "21"), row("2026-10-03", "5")],
    )
    other_account = focus_csv(tmp_path, "other.csv", [row("2026-10-01", "7", account="acct-2")])
    billing_import(old)
    billing_import(other_account)
    result = billing_import(new)
    assert result.batch.replaced_count == 2
    assert CostRecord.objects.aggregate(s=Sum("billed_cost"))["s"] == Decimal("43")
    assert DailyCost.objects.aggregate(s=Sum("billed_cost"))["s"] == Decimal("43")


def test_mixed_currencies_in_one_account_fail_and_write_nothing(db, tmp_path):
    path = focus_csv(tmp_path, "mixed.csv", [row(currency="USD"), row(currency="EUR")])
    with pytest.raises(IngestError) as err:
        billing_import(path)
    assert (
        str(err.value)
        == f"{path}:3:BillingCurrency: mixed currencies for billing account 'acct-1': USD and EUR"
    )
    assert CostRecord.objects.count() == 0 and ImportBatch.objects.count() == 0


def test_currencies_are_never_added_together(db, tmp_path):
    path = focus_csv(
        tmp_path,
        "two.csv",
        [row(cost="3", currency="USD"), row(cost="4", currency="EUR", account="acct-eu")],
    )
    result = billing_import(path)
    assert set(result.summary["totals"]) == {"USD", "EUR"}
    assert {(d.currency, d.billed_cost) for d in DailyCost.objects.all()} == {
        ("USD", Decimal(3)),
        ("EUR", Decimal(4)),
    }


BROKEN = {
    "text in a cost column": (
        lambda p: focus_csv(p, "t.csv", [row(), row(cost="twelve")]),
        ":3:BilledCost: 'twelve' is not a decimal number",
    ),
    "missing mandatory column": (
        lambda p: focus_csv(
            p,
            "m.csv",
            ["acct,USD,2026-10-01,2026-11-01,2026-10-01,2026-10-02,Usage"],
            header="BillingAccountId,BillingCurrency,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,BilledCost".replace(
                ",BilledCost", ""
            ),
        ),
        None,
    ),
    "truncated file": (lambda p: focus_csv(p, "tr.csv", [row(), row()[:60]]), ":3:"),
    "broken quoting": (
        lambda p: focus_csv(p, "q.csv", [row(), row().replace("OpenAI API", '"OpenAI API')]),
        None,
    ),
    "wrong delimiter": (
        lambda p: focus_csv(p, "d.csv", [row().replace(",", ";")], header=HEADER.replace(",", ";")),
        "delimiter",
    ),
    "empty file": (
        lambda p: ((p / "e.csv").write_text("") and None) or p / "e.csv",
        "the file is empty",
    ),
    "bad date": (lambda p: focus_csv(p, "bd.csv", [row(day="2026-13-45")]), "ChargePeriodStart"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_input_fails_clearly_and_writes_nothing(db, tmp_path, case):
    billing_import(
        focus_csv(tmp_path, "good.csv", [row(cost="9")])
    )  # an earlier import stays intact
    make, fragment = BROKEN[case]
    path = make(tmp_path)
    with pytest.raises(IngestError) as err:
        billing_import(path)
    message = str(err.value)
    assert message.startswith(str(path) + ":"), message
    if fragment:
        assert fragment in message, message
    assert CostRecord.objects.count() == 1 and ImportBatch.objects.count() == 1
    assert DailyCost.objects.aggregate(s=Sum("billed_cost"))["s"] == Decimal("9")


def test_missing_mandatory_column_names_it(db, tmp_path):
    path = focus_csv(
        tmp_path,
        "m.csv",
        ["acct,USD,2026-10-01T00:00:00Z"],
        header="BillingAccountId,BillingCurrency,ChargePeriodStart",
    )
    with pytest.raises(IngestError) as err:
        billing_import(path, source="focus")
    assert str(err.value) == f"{path}:1:ChargePeriodEnd: mandatory FOCUS column is missing"


def test_truncated_gzip_fails_clearly(db, tmp_path):
    data = gzip.compress(
        (HEADER + "\n" + "\n".join(row(cost=str(i)) for i in range(2000)) + "\n").encode()
    )
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError) as err:
        billing_import(path)
    assert str(path) in str(err.value) and CostRecord.objects.count() == 0


def test_gzip_csv_imports(db, tmp_path):
    path = tmp_path / "ok.csv.gz"
    path.write_bytes(gzip.compress((HEADER + "\n" + row(cost="2.5") + "\n").encode()))
    assert billing_import(path).batch.row_count == 1


def test_a_path_that_does_not_exist(db, tmp_path):
    with pytest.raises(IngestError) as err:
        expand_paths([str(tmp_path / "nope.csv")])
    assert "nope.csv:0:-: no such file or directory" in str(err.value)


def test_allocation_rules_tags_and_the_unallocated_bucket(db, teams, tmp_path):
    AllocationRule.objects.create(
        priority=10, team=teams["search"], field="sub_account", pattern="sub-search*"
    )
    path = focus_csv(
        tmp_path,
        "alloc.csv",
        [
            row(cost="1", tags='{"Team": "ml-platform"}'),  # default: the team tag
            row(cost="2", sub="sub-search-prod", tags='{"team": "ml-platform"}'),  # rule beats tag
            row(cost="4", tags='{"team": "nobody"}'),  # unknown team -> unallocated
        ],
    )
    result = billing_import(path)
    by_team = {
        (t.slug if t else None): s
        for t, s in ((d.team, d.effective_cost) for d in DailyCost.objects.select_related("team"))
    }
    assert by_team == {"ml-platform": Decimal(1), "search": Decimal(2), None: Decimal(4)}
    assert result.summary["unallocated_effective_cost"] == {"USD": "4"}


def test_changing_rules_reallocates_history(
    db, teams, tmp_path, django_capture_on_commit_callbacks
):
    billing_import(focus_csv(tmp_path, "h.csv", [row(cost="4", sub="sub-x")]))
    assert DailyCost.objects.get().team is None
    with django_capture_on_commit_callbacks(execute=True):
        AllocationRule.objects.create(
            priority=1, team=teams["support-assistant"], field="sub_account", pattern="SUB-X"
        )
    assert DailyCost.objects.get().team == teams["support-assistant"]
    assert CostRecord.objects.get().team == teams["support-assistant"]
    assert ledger_reallocate() == 0  # safe to re-run: nothing left to move


def test_import_command_prints_a_summary_and_fails_on_bad_files(db, tmp_path):
    focus_csv(tmp_path, "good.csv", [row(cost="1.5", tags='{"team": "x"}')])
    focus_csv(tmp_path, "bad.csv", [row(cost="oops")])
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(Exception) as exc:
        call_command("import_billing", str(tmp_path), stdout=out, stderr=err)
    assert "1 of 2 file(s) failed" in str(exc.value)
    assert "bad.csv:2:BilledCost" in err.getvalue()
    assert "good.csv: 1 rows (focus)" in out.getvalue() and "USD: billed 1.50" in out.getvalue()
    assert "  USD: billed 1.50, effective 1.50\n" in out.getvalue()
    assert "  unallocated: $1.50\n" in out.getvalue()  # team "x" does not exist
    assert ImportBatch.objects.count() == 1


def test_rollups_cover_files_without_a_billing_account(db, shared_dir):
    path = (
        shared_dir
        / "data"
        / "billing"
        / "focus_spec_v1.2_examples"
        / "commitment_discount_scenarios"
        / "commitment_discount_usage_scenario_4.csv"
    )
    billing_import(path)
    assert (
        DailyCost.objects.aggregate(s=Sum("effective_cost"))["s"]
        == independent_sums(path)["EffectiveCost"]
    )


def test_separate_exports_of_one_account_do_not_replace_each_other(db, tmp_path):
    """OpenAI's usage and costs pages share the account; REPLACE_SCOPE keeps both."""
    from metrics.ledger.sources import openai as openai_source

    if not getattr(openai_source, "REPLACE_SCOPE", None):
        pytest.skip("the OpenAI parser declares no REPLACE_SCOPE")
    fixtures = Path(__file__).resolve().parent.parent / "fixtures" / "billing"
    usage = billing_import(fixtures / "openai_usage_completions_grouped.json")
    costs = billing_import(fixtures / "openai_costs_page.json")
    assert costs.batch.replaced_count == 0
    assert CostRecord.objects.filter(batch=usage.batch).count() == usage.batch.row_count
