"""The spend dashboards in a real browser (Debian's chromium through Playwright).

A team lead opens the team view, switches the chart stacking, filters by model, drills into
the records behind a bar and behind the total, and downloads them as CSV; a FinOps admin
opens the organization view and downloads the board report. The charts are drawn by the
vendored Vega from the static files (no CDN, no eval). Screenshots at 390 px and 1280 px go to
artifacts/screenshots/ (gitignored); the layout is checked at both widths: no horizontal
scrolling, and the "Where it goes" tables and their columns do not overlap.
"""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader

from metrics import queries
from metrics.queries import Scope, SpendQuery
from tests.portal.conftest import SHOTS, new_page
from tests.portal.spend_ledger import build_ledger

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TODAY = date(2026, 10, 4)


@pytest.fixture
def browser_page(browser):
    page = new_page(browser)
    page.errors = []  # type: ignore[attr-defined]
    # Errors other than missing resources (reported with their URL below).
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and "Failed to load resource" not in m.text
            and page.errors.append(m.text)
        ),
    )
    page.on(
        "response",
        lambda r: (
            r.status >= 400
            and not r.url.endswith("/favicon.ico")
            and page.errors.append(f"{r.status} {r.url}")
        ),
    )
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return page


def sign_in(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", "pw-" + email)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def charts_drawn(page):
    page.wait_for_function(
        "() => [...document.querySelectorAll('.dash-vega')].every("
        "el => el.dataset.rendered === 'true' && el.querySelector('svg'))"
    )
    failed = page.eval_on_selector_all(".dash-vega[data-error]", "els => els.length")
    assert failed == 0


def check_layout(page, width, name):
    page.set_viewport_size({"width": width, "height": 900})
    page.wait_for_timeout(300)  # Vega re-fits the charts to the new width
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= width, f"{name}: the page scrolls sideways at {width} px ({scroll})"
    boxes = [t.bounding_box() for t in page.locator("table.dash-break").all()]
    for i, a in enumerate(boxes):
        assert a["x"] >= 0 and a["x"] + a["width"] <= width + 1, f"{name}: table {i} is cut"
        for b in boxes[i + 1 :]:
            apart = (
                a["x"] + a["width"] <= b["x"] + 1
                or b["x"] + b["width"] <= a["x"] + 1
                or a["y"] + a["height"] <= b["y"] + 1
                or b["y"] + b["height"] <= a["y"] + 1
            )
            assert apart, f"{name}: 'Where it goes' tables overlap at {width} px"
    # The application column never runs into the amount column.
    for row in page.locator("table.dash-break tbody tr").all():
        cells = row.locator("td").all()
        if len(cells) < 2:
            continue
        key, amount = cells[0].bounding_box(), cells[1].bounding_box()
        inner = cells[0].locator("a").first
        if inner.count():
            link = inner.bounding_box()
            assert link["x"] + link["width"] <= amount["x"] + 1, f"{name}: a key overflows"
        assert key["x"] + key["width"] <= amount["x"] + 1
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_team_lead_and_admin_use_the_dashboards(
    browser_page, live_server, people, teams, monkeypatch, tmp_path
):
    monkeypatch.setattr("portal.views.spend.ledger_today", lambda: TODAY)
    build_ledger(teams)
    page, base = browser_page, live_server.url
    ml = Scope((teams["ml-platform"].pk,), "")

    # The team lead opens the team view for October (the ledger stops on the 4th).
    sign_in(page, base, "lead@example.com")
    page.goto(f"{base}/dashboard/?start=2026-10-01&end=2026-10-31")
    charts_drawn(page)
    total = queries.spend_report(SpendQuery(ml, date(2026, 10, 1), date(2026, 11, 1))).totals
    assert page.inner_text("a.dash-big") == f"${total['USD']:,.2f}" == "$68.00"
    assert "Like for like: 4 days" in page.inner_text("#comparison-note")
    legend = page.inner_text("[data-spec=chart-daily]")
    assert "openai" in legend and "anthropic" in legend
    check_layout(page, 1280, "team-view")
    check_layout(page, 390, "team-view")

    # Switch the stacking to models: the legend names models now.
    page.click("nav.dash-switch >> text=By model")
    page.wait_for_url("**stack=model**")
    charts_drawn(page)
    legend = page.inner_text("[data-spec=chart-daily]")
    assert "gpt-4o" in legend and "claude-sonnet-4" in legend

    # Filter by a model through the filter form: the URL carries it, the total follows.
    page.select_option("select[name=model]", "gpt-4o")
    page.click("form.dash-filters button[type=submit]")
    page.wait_for_url("**model=gpt-4o**")
    charts_drawn(page)
    assert "stack=model" in page.url
    assert page.inner_text("a.dash-big") == "$48.00"

    # Drill into the records behind a bar (one day) ...
    page.locator("[data-spec=chart-daily] svg .mark-rect path").first.click()
    page.wait_for_url("**/dashboard/records/**")
    assert "start=2026-10-01" in page.url and "end=2026-10-01" in page.url
    rows = page.locator("#records-table tbody tr")
    assert rows.count() == 1 and "gpt-4o" in rows.first.inner_text()
    page.go_back()
    charts_drawn(page)

    # ... and behind the total, then download them as CSV.
    page.click("a.dash-big")
    page.wait_for_url("**/dashboard/records/**")
    assert page.locator("#records-table tbody tr").count() == 4
    assert page.locator("#records-table td[title]").first.inner_text() == "ML platform chat"
    page.screenshot(path=str(SHOTS / "records-1280.png"), full_page=True)
    with page.expect_download() as info:
        page.click("#csv-link")
    saved = tmp_path / "records.csv"
    info.value.save_as(saved)
    lines = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert len(lines) == 4 and {r["model"] for r in lines} == {"gpt-4o"}
    assert sum(Decimal(r["effective_cost"]) for r in lines) == Decimal("48")

    # The FinOps admin opens the organization view and downloads the board report.
    page.context.clear_cookies()
    sign_in(page, base, "finops@example.com")
    page.goto(f"{base}/dashboard/org/")
    charts_drawn(page)
    assert "Ml-Platform" in page.inner_text("#ranking-table")
    check_layout(page, 1280, "org-view")
    check_layout(page, 390, "org-view")
    page.fill("input[name=month]", "2026-09")
    with page.expect_download(timeout=60_000) as info:
        page.click("button[value=pdf]")
    pdf = tmp_path / "board.pdf"
    info.value.save_as(pdf)
    assert info.value.suggested_filename == "board-report-2026-09.pdf"
    text = " ".join(PdfReader(pdf).pages[1].extract_text().split())
    september = queries.spend_report(
        SpendQuery(Scope(None, ""), date(2026, 9, 1), date(2026, 10, 1))
    )
    assert f"AI spend was ${september.totals['USD']:,.2f} in September 2026" in text
    assert not [e for e in page.errors if "eval" in e.lower() or "Content Security" in e]
    assert page.errors == []
