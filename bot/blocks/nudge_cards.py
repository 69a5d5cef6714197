"""Waste and learning nudges (direct messages with Snooze / Mute / Undo)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.blocks.kit import (
    Block,
    actions,
    button,
    context,
    esc,
    esc_mentions,
    section,
)

# --- Nudges ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NudgeCard:
    nudge_id: int
    kind: str
    kind_label: str
    team: str
    title: str
    saving: str
    suggestion: str
    portal_url: str = ""


def nudge_blocks(card: NudgeCard) -> list[Block]:
    text = f":bulb: *{esc(card.title)}*\n{esc(card.suggestion)}"
    if card.saving:
        text += f"\nEstimated saving: *{esc(card.saving)}* a month"
    value = str(card.nudge_id)
    buttons = [
        button("Snooze 1 day", "nudge_snooze_day", value=value),
        button("Snooze 1 week", "nudge_snooze_week", value=value),
        button(f'Mute "{card.kind_label}" nudges', "nudge_mute", value=value),
    ]
    if card.portal_url:
        buttons.append(button("Open in the portal", "open_portal", url=card.portal_url))
    return [
        section(text),
        context(
            f"{esc(card.team)} · {esc(card.kind_label)} · at most one nudge a day, none at night"
        ),
        actions(*buttons, block_id=f"nudge:{card.nudge_id}"),
    ]


def nudge_done_blocks(card: NudgeCard, what: str, *, undo: bool = True) -> list[Block]:
    blocks = [section(f":bulb: *{esc(card.title)}*"), context(esc_mentions(what))]
    if undo:
        blocks.append(
            actions(
                button("Unmute", "nudge_unmute", value=str(card.nudge_id)),
                block_id=f"nudge:{card.nudge_id}",
            )
        )
    return blocks
