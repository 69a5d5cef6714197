"""The weekly efficiency summary posted in each team's channel."""

from __future__ import annotations

from dataclasses import dataclass

from bot.blocks.kit import (
    MAX_FALLBACK_TEXT,
    Block,
    actions,
    bullet_lines,
    button,
    clip,
    esc,
    fit,
    header,
    section,
)

# --- Weekly summary --------------------------------------------------------------------------


@dataclass(frozen=True)
class WeeklySummary:
    team: str
    week: str  # "2026-10-05 to 2026-10-11"
    totals: list[str]
    change: list[str]
    kpis: list[tuple[str, str]]
    top_models: list[str]
    recommendation: str = ""
    learning: str = ""
    portal_url: str = ""
    board_report: tuple[str, str] | None = None  # (month label, PDF url): first summary of a month


def weekly_summary_blocks(s: WeeklySummary) -> list[Block]:
    blocks: list[Block] = [
        header(f"{s.team}: AI spend last week"),
        section(
            f"*{' + '.join(s.totals)}* effective cost, {s.week}\n"
            + "\n".join(esc(c) for c in s.change)
        ),
    ]
    if s.kpis:
        blocks.append(section("*Unit economics*", fields=[f"*{k}*\n{v}" for k, v in s.kpis]))
    if s.top_models:
        blocks.append(section("*Top models*\n" + esc(bullet_lines(s.top_models, limit=5))))
    if s.recommendation:
        blocks.append(section(f"*Top recommendation*\n{esc(s.recommendation)}"))
    if s.learning:
        blocks.append(section(f"*Learning*\n{esc(s.learning)}"))
    if s.board_report:
        label, url = s.board_report
        blocks.append(section(f"*Board report*\n<{url}|{esc(label)} (PDF)> is ready."))
    if s.portal_url:
        blocks.append(actions(button("Open in the portal", "open_portal", url=s.portal_url)))
    return fit(blocks)


def weekly_summary_text(s: WeeklySummary) -> str:
    return clip(
        f"{s.team}: AI spend last week {' + '.join(s.totals)} ({s.change[0] if s.change else ''})",
        MAX_FALLBACK_TEXT,
    )
