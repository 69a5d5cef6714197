"""The App Home tab view."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.blocks.kit import (
    Block,
    actions,
    bullet_lines,
    button,
    divider,
    esc,
    fit,
    header,
    section,
)

# --- App Home --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HomeTeam:
    name: str
    month: str
    spent: list[str]
    budget: str = ""  # "$1,234.00 of $5,000.00 (24.7%)"


@dataclass(frozen=True)
class HomeData:
    person: str
    teams: list[HomeTeam]
    alerts: list[str]
    learning: str = ""
    portal_url: str = ""
    note: str = ""
    alert_ids: list[int] = field(default_factory=list)  # the alerts' ids, in the same order
    alert_urls: list[str] = field(default_factory=list)  # where each opens in the portal


def home_view(data: HomeData) -> dict[str, Any]:
    blocks: list[Block] = [header("AI FinOps")]
    if data.note:
        blocks.append(section(esc(data.note)))
    for team in data.teams[:20]:
        text = f"*{esc(team.name)}*: {' + '.join(team.spent)} spent in {team.month}"
        if team.budget:
            text += f"\nBudget: {esc(team.budget)}"
        blocks.append(section(text))
    blocks.append(divider())
    if data.alerts and len(data.alert_ids) == len(data.alerts):
        blocks.append(section("*Open alerts*"))
        for i, (title, alert_id) in enumerate(zip(data.alerts[:5], data.alert_ids, strict=False)):
            url = data.alert_urls[i] if i < len(data.alert_urls) else ""
            text = f"• <{url}|{esc(title)}>" if url else f"• {esc(title)}"
            blocks.append(
                section(
                    text,
                    accessory=button("Acknowledge", "alert_ack", value=str(alert_id)),
                )
            )
    else:
        blocks.append(
            section(
                "*Open alerts*\n"
                + (esc(bullet_lines(data.alerts, limit=5)) if data.alerts else "None :tada:")
            )
        )
    if data.learning:
        blocks.append(section(f"*Your learning*\n{esc(data.learning)}"))
    if data.portal_url:
        blocks.append(actions(button("Open the portal", "open_portal", url=data.portal_url)))
    return {"type": "home", "blocks": fit(blocks)}
