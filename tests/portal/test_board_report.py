"""The monthly board report: the numbers in the PDF (read with pypdf) and in the PPTX (read
with python-pptx) against metrics.queries, the command, the download, the beat job and the
stored report."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask
from pptx import Presentation
from pypdf import PdfReader

from metrics import dashboards, queries
from metrics.models import Budget
from metrics.queries import Scope, SpendQuery
from portal import board_report
from portal.models import BoardReport
from tests.portal.spend_ledger import build_ledger

TODAY = date(2026, 10, 4)
SEPTEMBER = SpendQuery(Scope(None, ""), date(2026, 9, 1), date(2026, 10, 1))


@pytest.fixture
def ledger(teams, monkeypatch):
    monkeypatch.setattr("portal.views.spend.ledger_today", lambda: TODAY)
    monkeypatch.setattr("portal.management.commands.board_report.ledger_today", lambda: TODAY)
    Budget.objects.create(team=teams["ml-platform"], monthly_amount=Decimal("400"))
    Budget.objects.create(team=teams["search"], monthly_amount=Decimal("100"))
    return build_ledger(teams)


def pdf_pages(data: bytes) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(data)).pages]


def pptx_slides(data: bytes) -> list[dict]:
    out = []
    for slide in Presentation(io.BytesIO(data)).slides:
        texts, tables, pictures = [], [], 0
        for shape in slide.shapes:
            if shape.has_text_frame:
                texts.append(shape.text_frame.text)
            if shape.has_table:
                tables.append([[c.text for c in row.cells] for row in shape.table.rows])
            if shape.shape_type == 13:  # a picture: the chart as PNG
                pictures += 1
        out.append({"text": " ".join(texts), "tables": tables, "pictures": pictures})
    return out


def expected_september():
    report = queries.spend_report(SEPTEMBER)
    org = dashboards.org_view(SEPTEMBER, today=TODAY)
    return report, org


def test_pdf_deck_has_one_message_per_slide_with_the_query_layers_numbers(ledger, tmp_path):
    out = tmp_path / "report.pdf"
    call_command("board_report", "--month", "2026-09", "--out", str(out))
    pages = pdf_pages(out.read_bytes())
    report, org = expected_september()
    total = report.totals["USD"]
    assert total == Decimal("570")  # 30 x (10 + 5 + 3 + 1)
    assert len(pages) == 8  # cover + seven messages
    assert "AI spend, September 2026" in pages[0]
    assert f"AI spend was ${total:,.2f} in September 2026" in pages[1]
    ml = next(t for t in org.ranking if t.slug == "ml-platform")
    assert f"Ml-Platform spent the most: ${ml.current:,.2f} (79% of the total)" in pages[2]
    assert "Unallocated 30.00" in pages[2]
    cpi = report.kpis["cost_per_inference"]
    assert f"{cpi:,.4f}" in pages[3] and "GPU cold-start cost" in pages[3]
    assert "Cost per 1k tokens $0.1818, n/a on August 2026; cost per inference $0.0429." in pages[3]
    assert "Budget outlook" in pages[6].upper().title() or "BUDGET OUTLOOK" in pages[6]
    assert "1 of 2 team budgets held in September 2026" in pages[6]  # ml 450 > 400, search 90
    for page in pages[1:]:
        assert "Period: Sep 1 to Sep 30, 2026" in page  # every figure's period in a footnote
    assert "Effective cost: FOCUS EffectiveCost" in pages[1]
    assert "matched numerators" in pages[3]
    assert "EcoLogits" in pages[5]


def test_pptx_deck_has_native_tables_and_chart_images(ledger, tmp_path):
    out = tmp_path / "report.pptx"
    call_command("board_report", "--month", "2026-09", "--out", str(out))
    slides = pptx_slides(out.read_bytes())
    report, org = expected_september()
    assert len(slides) == 8
    trend, teams_slide = slides[1], slides[2]
    assert f"${report.totals['USD']:,.2f}" in trend["text"] and trend["pictures"] == 1
    (table,) = teams_slide["tables"]
    assert table[0] == ["Team", "September 2026 (USD)", "Previous", "Change"]
    rows = {r[0]: r[1] for r in table[1:]}
    for t in org.ranking:
        assert rows[t.name] == f"{t.current:,.2f}"
    assert rows["Unallocated"] == "30.00"
    assert all("Period: Sep 1 to Sep 30, 2026" in s["text"] for s in slides[1:])


def test_the_month_in_progress_says_its_data_stops_and_is_not_stored(ledger, tmp_path):
    out = tmp_path / "october.pdf"
    call_command("board_report", "--month", "2026-10", "--out", str(out))
    pages = pdf_pages(out.read_bytes())
    assert "Data through 2026-10-04: the month is not complete." in pages[0]
    # 4 days of October against the same 4 days of September: 84 vs 76.
    assert "AI spend was $84.00 in October 2026, +10.5% on September 2026" in pages[1]
    assert not BoardReport.objects.filter(month=date(2026, 10, 1)).exists()


def test_bad_arguments_are_refused_with_the_option_named(ledger, tmp_path):
    with pytest.raises(CommandError, match="--month"):
        call_command("board_report", "--month", "October", "--out", str(tmp_path / "r.pdf"))
    with pytest.raises(CommandError, match=r"--out must end in \.pdf or \.pptx"):
        call_command("board_report", "--month", "2026-09", "--out", str(tmp_path / "r.docx"))


def test_admin_downloads_the_stored_report_from_the_org_view(client, people, ledger):
    client.force_login(people["admin"])
    page = client.get("/dashboard/org/").content.decode()
    assert 'action="/dashboard/org/board-report/"' in page and 'value="2026-09"' in page
    response = client.get("/dashboard/org/board-report/?month=2026-09&format=pptx")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="board-report-2026-09.pptx"'
    stored = BoardReport.objects.get(month=date(2026, 9, 1))
    assert bytes(stored.pptx) == response.content and bytes(stored.pdf).startswith(b"%PDF")
    again = client.get("/dashboard/org/board-report/?month=2026-09&format=pdf")
    assert again.content == bytes(stored.pdf) and BoardReport.objects.count() == 1
    assert client.get("/dashboard/org/board-report/?month=x&format=pdf").status_code == 400
    assert client.get("/dashboard/org/board-report/?month=2026-09&format=doc").status_code == 400


def test_beat_stores_last_months_report_once(ledger, monkeypatch):
    assert PeriodicTask.objects.filter(
        task="portal.board_report_monthly", crontab__day_of_month="1"
    ).exists()
    from datetime import UTC, datetime

    from portal.tasks import board_report_monthly

    monkeypatch.setattr("django.utils.timezone.now", lambda: datetime(2026, 10, 1, 5, tzinfo=UTC))
    board_report_monthly.delay()
    first = BoardReport.objects.get()
    board_report_monthly.delay()  # safe to run twice: the stored report is kept
    assert BoardReport.objects.get().updated_at == first.updated_at
    assert first.month == date(2026, 9, 1) and first.data_through == date(2026, 9, 30)
    assert board_report.parse_month("2026-09") == first.month
