"""The monthly board report: a landscape deck, one message per slide, as PDF (WeasyPrint,
charts as SVG) and PPTX (python-pptx, native tables, the same charts as PNG).

Every figure comes from `metrics.dashboards` / `metrics.queries` (the numbers of the
organization view for that month) and carries its period and definition in the slide's
footnote. `board_report_generate` stores both files (`portal.BoardReport`, one row per
month, safe to run twice); Celery beat runs it on the first day of each month for the month
that ended, and the first weekly Slack summary of the month links to it.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from metrics import dashboards, queries
from metrics.models import Budget, RemediationAction
from metrics.money import format_money
from metrics.queries import Scope, SpendQuery
from portal import charts
from portal.models import BoardReport

FORMATS = {
    "pdf": "application/pdf",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
CENT = Decimal("0.01")
EFFECTIVE = (
    "Effective cost: FOCUS EffectiveCost, what was used with commitments spread over the "
    "period (not the invoice)."
)


def parse_month(text: str) -> date:
    """ "2026-10" -> date(2026, 10, 1); anything else is a ValueError naming the format."""
    try:
        year, month = (int(p) for p in text.strip().split("-"))
        return date(year, month, 1)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"month must be YYYY-MM (for example 2026-10), not {text!r}") from exc


def pct(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:+.1%}"


def ratio(value: float | None, places: int = 4) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:,.{places}f}"


@dataclass
class Slide:
    title: str  # the topic, small
    message: str  # the one message, large
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    chart: charts.Spec | None = None
    footnote: str = ""


@dataclass
class Deck:
    month: date
    title: str
    subtitle: str
    slides: list[Slide]
    data_through: date | None


def _month_label(month: date) -> str:
    return f"{month:%B %Y}"


def _period(start: date, end: date) -> str:
    last = end - timedelta(days=1)
    return f"{start:%b} {start.day} to {last:%b} {last.day}, {last.year}"


def gpu_cold_start(start: date, end: date) -> dict[str, Decimal]:
    """GPU cold-start cost of [start, end) per currency, measured as the recommendations
    measure it (`metrics.advice.recommendations.gpu.cold_start_cost`)."""
    from metrics.advice.recommendations.gpu import IDLE, cold_start_cost, gpu_records

    by_currency: dict[str, list[dict[str, Any]]] = {}
    for r in gpu_records(start, end):
        if r.get("resource_name") != IDLE:
            by_currency.setdefault(r["billing_currency"], []).append(r)
    return {
        currency: cold_start_cost(rows).quantize(CENT) for currency, rows in by_currency.items()
    }


def build_deck(month: date, *, today: date) -> Deck:
    """The slides of `month`'s report, with every number from the query layer."""
    start, end = month, dashboards.add_months(month, 1)
    scope = Scope(None, "the organization")
    q = SpendQuery(scope, start, end)
    org = dashboards.org_view(q, today=today)
    spend = org.spend
    cur = spend.currency
    prev_start, prev_end = queries.previous_window(start, end)
    prev_view = dashboards.spend_view(
        SpendQuery(scope, prev_start, prev_end), today=today, with_advice=False
    )
    c = spend.comparison
    period = _period(start, end)
    compared = dashboards.compared_span(c)
    if c.like_for_like:
        compared += (
            f" (like for like: only days with data on both sides; data through {c.data_through})"
        )
    total = spend.totals.get(cur, Decimal(0))
    slides: list[Slide] = []

    # 1. Total AI spend and trend
    months = [m for m in org.months if m["currency"] == cur]
    change = c.change(cur)
    slides.append(
        Slide(
            title="Total AI spend and trend",
            message=(
                f"AI spend was {format_money(total, cur)} in {_month_label(month)}, "
                f"{pct(change)} on {_month_label(prev_start)}."
            ),
            headers=["Month", f"Spend ({cur})", "Change"],
            rows=[
                [
                    f"{m['month']:%b %Y}" + (" (partial)" if m["partial"] else ""),
                    format_money(m["amount"]),
                    "partial" if m["partial"] else pct(m["change"]),
                ]
                for m in months
            ],
            chart=charts.monthly_spend(org),
            footnote=(
                f"Period: {period} (UTC ledger days); change compares {compared}. {EFFECTIVE} "
                "Other currencies are reported separately, never converted."
            ),
        )
    )

    # 2. Spend by team
    teams = [t for t in org.ranking if t.currency == cur]
    top = teams[0] if teams else None
    unalloc = org.unallocated.get(cur, Decimal(0))
    slides.append(
        Slide(
            title="Spend by team",
            message=(
                f"{top.name} spent the most: {format_money(top.current, cur)} "
                f"({float(top.current / total):.0%} of the total)."
                if top and total
                else "No team had spend this month."
            ),
            headers=["Team", f"{_month_label(month)} ({cur})", "Previous", "Change"],
            rows=[
                [t.name, format_money(t.current), format_money(t.previous), pct(t.change)]
                for t in teams[:12]
            ]
            + [["Unallocated", format_money(unalloc), "", ""]],
            chart=charts.team_ranking(org),
            footnote=(
                f"Period: {period}; previous: {compared}. Unallocated: cost that no allocation "
                f"rule maps to a team ({org.unallocated_share or 0:.1%} of the total). {EFFECTIVE}"
            ),
        )
    )

    # 3. Unit economics
    cold = gpu_cold_start(start, end)
    prev_cold = gpu_cold_start(prev_start, prev_end)
    k, pk = spend.kpis, prev_view.kpis
    rows = [
        [
            dashboards.KPI_NAMES[name],
            ratio(k.get(name)),
            ratio(pk.get(name)),
            dashboards.KPI_DEFINITIONS[name],
        ]
        for name in ("cost_per_inference", "cost_per_1k_tokens", "token_density")
    ]
    rows.append(
        [
            "GPU cold-start cost",
            format_money(cold.get(cur, Decimal(0))),
            format_money(prev_cold.get(cur, Decimal(0))),
            "GPU time billed from each spin-up until first productive use",
        ]
    )
    c1k, c1k_prev = k.get("cost_per_1k_tokens"), pk.get("cost_per_1k_tokens")
    c1k_change = (
        (c1k - c1k_prev) / c1k_prev
        if c1k is not None and c1k_prev and math.isfinite(c1k) and math.isfinite(c1k_prev)
        else None
    )
    slides.append(
        Slide(
            title="Unit economics",
            message=(
                f"Cost per 1k tokens {format_money(c1k, cur, unit=True)}, {pct(c1k_change)} on "
                f"{_month_label(prev_start)}; cost per inference "
                f"{format_money(k.get('cost_per_inference'), cur, unit=True)}."
            ),
            headers=["KPI", _month_label(month), _month_label(prev_start), "Definition"],
            rows=rows,
            footnote=(
                f"Period: {period} against {_period(prev_start, prev_end)}, {cur} only. Unit KPIs "
                "use matched numerators: only the cost of providers that report the unit "
                "(requests, tokens) is divided by it. GPU cold start: OpenCost windows, "
                "utilization threshold 10% or a 15-minute warm-up."
            ),
        )
    )

    # 4. Savings realized and open
    saved = queries.savings(scope, start=start, end=end)
    realized = saved["realized"].get(cur, Decimal(0))
    open_ = saved["open"].get(cur, Decimal(0))
    slides.append(
        Slide(
            title="Savings: realized and open",
            message=(
                f"{format_money(realized, cur)} a month saved by actions taken in "
                f"{_month_label(month)}; "
                f"{format_money(open_, cur)} a month still open."
            ),
            headers=["", "Recommendation", "Team", "Saving a month"],
            rows=[
                ["Realized", r["title"], r["team"], format_money(r["saving"], r["currency"])]
                for r in saved["top_realized"][:5]
            ]
            + [
                ["Open", r["title"], r["team"], format_money(r["saving"], r["currency"])]
                for r in saved["top_open"][:5]
            ],
            footnote=(
                f"Period: {period} (actions executed or advice applied in it). Savings are the "
                "recommendations' estimated monthly savings at the prices of the day; open = "
                "not yet acted on, at the time of the report."
            ),
        )
    )

    # 5. Carbon
    carbon = spend.carbon_g
    slides.append(
        Slide(
            title="Carbon",
            message=(
                f"An estimated {carbon[0] / 1000:,.1f} to {carbon[1] / 1000:,.1f} kg CO2e "
                f"from AI inference in {_month_label(month)}."
                if carbon
                else f"No carbon estimate for {_month_label(month)} (no token usage recorded)."
            ),
            headers=["Month", "Low (kg CO2e)", "High (kg CO2e)"],
            rows=[
                [
                    f"{m['month']:%b %Y}",
                    f"{m['gco2e_low'] / 1000:,.2f}",
                    f"{m['gco2e_high'] / 1000:,.2f}",
                ]
                for m in months
            ],
            footnote=(
                f"Period: {period}. Estimate (EcoLogits method): energy from model size and "
                "tokens, data-centre PUE and grid carbon intensity; shown as a range."
            ),
        )
    )

    # 6. Budget outlook
    budgets = list(
        Budget.objects.filter(active=True, application_key="", currency=cur).select_related("team")
    )
    spent = {t.slug: t.current for t in teams}
    budget_rows = []
    within = 0
    for b in sorted(budgets, key=lambda b: b.team.name):
        used = spent.get(b.team.slug, Decimal(0))
        share = float(used / b.monthly_amount) if b.monthly_amount else None
        within += bool(share is not None and share <= 1)
        budget_rows.append(
            [
                b.team.name,
                format_money(b.monthly_amount),
                format_money(used),
                "n/a" if share is None else f"{share:.0%}",
            ]
        )
    outlook = spend.outlook
    outlook_note = ""
    if outlook and outlook.expected is not None:
        outlook_note = (
            f" Forecast for the month end: {format_money(outlook.expected, cur)} "
            f"({format_money(outlook.low)} to {format_money(outlook.high)})."
        )
    slides.append(
        Slide(
            title="Budget outlook",
            message=(
                f"{within} of {len(budgets)} team budgets held in {_month_label(month)}."
                if budgets
                else "No team budgets are set: set them in the admin (Metrics, Budgets)."
            )
            + outlook_note,
            headers=["Team", f"Budget ({cur})", "Spent", "Used"],
            rows=budget_rows,
            footnote=(
                f"Period: {period}. Monthly team budgets in {cur}, effective cost. Forecasts "
                "project the month end from the robust daily rate of the last 7 days (range: "
                "10th to 90th percentile of the last 14)."
            ),
        )
    )

    # 7. Actions taken and next
    actions = list(
        RemediationAction.objects.filter(
            Q(executed_at__date__gte=start, executed_at__date__lt=end)
            | Q(approved_at__date__gte=start, approved_at__date__lt=end)
        )
        .select_related("team")
        .order_by("executed_at", "pk")[:8]
    )
    next_steps = saved["top_open"][:4]
    slides.append(
        Slide(
            title="Actions taken and next",
            message=(
                f"{len(actions)} remediation action(s) approved or run in {_month_label(month)}"
                + (f"; next: {next_steps[0]['title']}." if next_steps else ".")
            ),
            headers=["", "What", "Team", "Status"],
            rows=[
                ["Taken", a.get_kind_display(), a.team.name, a.get_status_display()]
                for a in actions
            ]
            + [
                [
                    "Next",
                    r["title"],
                    r["team"],
                    f"saves {format_money(r['saving'], r['currency'])} a month",
                ]
                for r in next_steps
            ],
            footnote=(
                f"Period: {period}. Actions are proposed by the advice engine and run only "
                "after a person approves them; next = the open recommendations with the "
                "largest estimated savings."
            ),
        )
    )
    through = c.data_through
    subtitle = f"Prepared {today:%B} {today.day}, {today.year}."
    if through is not None and through < end - timedelta(days=1):
        subtitle += f" Data through {through}: the month is not complete."
    return Deck(
        month=month,
        title=f"AI spend, {_month_label(month)}",
        subtitle=subtitle,
        slides=slides,
        data_through=through,
    )


# --- Rendering ------------------------------------------------------------------------------

PDF_CHART = (600, 300)
PPTX_CHART = (640, 330)


def render_pdf(deck: Deck) -> bytes:
    from weasyprint import HTML

    slides = []
    for s in deck.slides:
        img = ""
        if s.chart is not None:
            svg = charts.render_svg(charts.fixed_size(s.chart, *PDF_CHART))
            img = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
        slides.append({"s": s, "img": img})
    html = render_to_string("portal/spend/board_report.html", {"deck": deck, "slides": slides})
    return bytes(HTML(string=html).write_pdf())


def render_pptx(deck: Deck) -> bytes:
    from pptx import Presentation
    from pptx.util import Emu, Inches, Pt

    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    blank = prs.slide_layouts[6]

    def text(
        slide: Any,
        x: float,
        y: float,
        w: float,
        h: float,
        value: str,
        size: int,
        bold: bool = False,
    ) -> None:
        box = slide.shapes.add_textbox(Inches(x), Inches(y), Inches(w), Inches(h))
        frame = box.text_frame
        frame.word_wrap = True
        run = frame.paragraphs[0].add_run()
        run.text = value
        run.font.size = Pt(size)
        run.font.bold = bold

    cover = prs.slides.add_slide(blank)
    text(cover, 0.8, 2.6, 11.7, 1.2, deck.title, 40, True)
    text(cover, 0.8, 3.8, 11.7, 0.8, deck.subtitle, 18)
    for s in deck.slides:
        slide = prs.slides.add_slide(blank)
        text(slide, 0.5, 0.3, 12.3, 0.4, s.title.upper(), 12)
        text(slide, 0.5, 0.7, 12.3, 1.0, s.message, 24, True)
        top = 1.9
        table_left, table_width = 0.5, 12.3
        if s.chart is not None:
            png = charts.render_png(charts.fixed_size(s.chart, *PPTX_CHART), scale=2)
            slide.shapes.add_picture(io.BytesIO(png), Inches(0.5), Inches(top), width=Inches(6.6))
            table_left, table_width = 7.3, 5.5
        if s.headers:
            rows = s.rows[:12]
            shape = slide.shapes.add_table(
                len(rows) + 1,
                len(s.headers),
                Inches(table_left),
                Inches(top),
                Inches(table_width),
                Emu(Inches(0.3) * (len(rows) + 1)),
            )
            table = shape.table
            for j, h in enumerate(s.headers):
                table.cell(0, j).text = h
            for i, row in enumerate(rows, start=1):
                for j, value in enumerate(row):
                    table.cell(i, j).text = value
            for row_cells in table.rows:
                for cell in row_cells.cells:
                    for p in cell.text_frame.paragraphs:
                        for run in p.runs:
                            run.font.size = Pt(10)
        text(slide, 0.5, 6.6, 12.3, 0.8, s.footnote, 9)
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def _render(month: date, today: date) -> tuple[bytes, bytes, date | None]:
    deck = build_deck(month, today=today)
    return render_pdf(deck), render_pptx(deck), deck.data_through


def board_report_generate(*, month: date, today: date, force: bool = False) -> BoardReport:
    """Render and store the report of a month that has ended (both formats). Safe to run
    twice: a stored report is kept unless `force`, or unless it was made before the ledger
    covered the whole month (late billing files) and now it does."""
    end = dashboards.add_months(month, 1)
    if today < end:
        raise ValueError(f"{month:%Y-%m} has not ended yet: nothing to store")
    existing = BoardReport.objects.filter(month=month).first()
    if existing is not None and not force:
        last = end - timedelta(days=1)
        if existing.data_through is not None and existing.data_through >= last:
            return existing
        through = queries.data_through(before=end)
        if (min(through, last) if through else None) == existing.data_through:
            return existing
    pdf, pptx, through = _render(month, today)
    report, _ = BoardReport.objects.update_or_create(
        month=month, defaults={"pdf": pdf, "pptx": pptx, "data_through": through}
    )
    return report


def board_report_file(*, month: date, fmt: str, today: date) -> tuple[bytes, str]:
    """The report file of `month` in `fmt` (pdf|pptx): the stored one for a month that has
    ended, a fresh one (not stored) for the month in progress."""
    name = f"board-report-{month:%Y-%m}.{fmt}"
    if today < dashboards.add_months(month, 1):
        pdf, pptx, _ = _render(month, today)
        return (pdf if fmt == "pdf" else pptx), name
    report = board_report_generate(month=month, today=today)
    return bytes(report.pdf if fmt == "pdf" else report.pptx), name


def board_report_last_month(*, now: Any = None) -> BoardReport:
    """The report of the month that ended (Celery beat, the first day of each month)."""
    today = (now or timezone.now()).date()
    month = dashboards.add_months(today.replace(day=1), -1)
    return board_report_generate(month=month, today=today)
