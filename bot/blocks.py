"""Block Kit built by pure functions: data in, JSON-ready dicts out. No database, no Slack.

Slack's limits are enforced here, whatever the data: at most 50 blocks a message, 3000
characters in a section's text, 150 in a header, 10 fields of 2000 characters, 10 context
elements, 75 characters on a button. Long lists are cut with a "... and N more" line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.format import (  # noqa: F401  (the one number format, re-exported)
    SYMBOLS,
    carbon_range,
    count,
    coverage_note,
    grams,
    is_number,
    money,
    percent,
)
from bot.intents import Reply
from bot.question import HELP_EXAMPLES, Question, suggestions_for
from bot.services import Answer, BudgetStatus
from metrics.economics.carbon import LATENCY_ASSUMPTION
from metrics.queries import Breakdown, Comparison, SpendReport, Window

Block = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_TEXT = 75
MAX_BUTTONS = 25
MAX_FALLBACK_TEXT = 3000
MAX_LIST_LINES = 10
MAX_NAME = 80


# --- Formatting ----------------------------------------------------------------------------


def esc(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_date(moment: datetime) -> str:
    """A time Slack shows in each reader's own time zone (`<!date^...>`), with a UTC
    fallback for clients that cannot."""
    fallback = f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


# --- Block primitives ----------------------------------------------------------------------


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, MAX_HEADER_TEXT)}}


def section(text: str, *, fields: Sequence[str] = (), accessory: Block | None = None) -> Block:
    block: Block = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION_TEXT)},
    }
    if fields:
        block["fields"] = [
            {"type": "mrkdwn", "text": clip(f, MAX_FIELD_TEXT)} for f in fields[:MAX_FIELDS]
        ]
    if accessory:
        block["accessory"] = accessory
    return block


def context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": clip(t, MAX_SECTION_TEXT)}
            for t in texts[:MAX_CONTEXT_ELEMENTS]
        ],
    }


def button(text: str, action_id: str, *, value: str = "", url: str = "", style: str = "") -> Block:
    b: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(text, MAX_BUTTON_TEXT)},
        "action_id": action_id,
    }
    if value:
        b["value"] = value
    if url:
        b["url"] = url
    if style:
        b["style"] = style
    return b


def actions(*buttons: Block, block_id: str = "") -> Block:
    block: Block = {"type": "actions", "elements": list(buttons[:MAX_BUTTONS])}
    if block_id:
        block["block_id"] = block_id
    return block


def divider() -> Block:
    return {"type": "divider"}


def fit(blocks: list[Block]) -> list[Block]:
    """At most MAX_BLOCKS blocks; the last ones (links, buttons) are the ones kept."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    tail = [b for b in blocks[-2:] if b["type"] in ("actions", "context")]
    head = blocks[: MAX_BLOCKS - len(tail) - 1]
    dropped = len(blocks) - len(head) - len(tail)
    return [*head, context(f"… {dropped} more blocks left out"), *tail]


def bullet_lines(lines: Sequence[str], *, limit: int = MAX_LIST_LINES) -> str:
    shown = [f"• {line}" for line in lines[:limit]]
    if len(lines) > limit:
        shown.append(f"… and {len(lines) - limit} more")
    return "\n".join(shown)


# --- Spend answers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """The numbers of a spend answer as text: one source for blocks and plain text, so a
    Slack answer and `manage.py ask` always show the same numbers."""

    title: str
    cost_label: str
    totals: list[str]
    change: list[str]
    models: list[str]
    applications: list[str]
    kpis: list[tuple[str, str]]
    carbon: str
    budgets: list[str]
    notes: list[str] = field(default_factory=list)


def _breakdown(rows: Sequence[Breakdown]) -> list[str]:
    return [f"{clip(r.key, MAX_NAME)}: {money(r.amount, r.currency)}" for r in rows]


def _cost_label(question: Question) -> str:
    return "billed cost" if question.cost == "billed_cost" else "effective cost"


def figures(answer: Answer) -> Figures:
    report, question = answer.report, answer.question
    assert report is not None and question is not None
    period = question.period
    filters = [*question.providers, *question.models]
    on = f" on {', '.join(filters)}" if filters else ""
    title = f"{answer.scope_label}{on}: {period.label}"
    title = title[:1].upper() + title[1:]
    totals = [money(v, c) for c, v in sorted(report.totals.items())] or [money(Decimal(0), "USD")]
    change = change_lines(report)
    single = next(iter(report.totals)) if len(report.totals) == 1 else None
    kpis: list[tuple[str, str]] = []
    cpi = report.kpis.get("cost_per_inference")
    unit = report.unit_kpis.get("cost_per_inference")
    requests = unit.units if unit else report.usage.get("model_requests", 0.0)
    if single and is_number(cpi) and requests:
        kpis.append(
            (
                "Cost per inference",
                f"{money(Decimal(str(cpi)), single, unit=True)} over {count(requests)} requests"
                + coverage_note(report.kpi_coverage.get("cost_per_inference")),
            )
        )
    tokens_in = report.usage.get("input_tokens", 0.0)
    tokens_cached = report.usage.get("cached_input_tokens", 0.0)
    tokens_out = report.usage.get("output_tokens", 0.0)
    if tokens_in or tokens_cached or tokens_out:
        kpis.append(
            (
                "Tokens",
                f"{count(tokens_in)} input, {count(tokens_cached)} cached, "
                f"{count(tokens_out)} output",
            )
        )
    per_1k = report.kpis.get("cost_per_1k_tokens")
    if single and is_number(per_1k):
        kpis.append(
            (
                "Cost per 1k tokens",
                money(Decimal(str(per_1k)), single, unit=True)
                + coverage_note(report.kpi_coverage.get("cost_per_1k_tokens")),
            )
        )
    density = report.kpis.get("token_density")
    if is_number(density):
        kpis.append(("Token density", f"{density:.1f} tokens per output token"))
    cache_hits = report.kpis.get("cache_hit_ratio")
    if is_number(cache_hits) and tokens_cached:
        kpis.append(("Cache hit ratio", f"{cache_hits * 100:.1f}%"))
    if report.usage.get("gpu_hours"):
        kpis.append(("GPU hours", f"{report.usage['gpu_hours']:,.1f}"))
    carbon = carbon_range(*report.carbon_g) if report.carbon_g else ""
    budgets = [_budget_line(b) for b in answer.budgets]
    notes: list[str] = []
    if report.comparison is not None:
        cmp_notes = report.comparison.notes()
        notes.extend(cmp_notes)
    if not question.period_given:
        notes.append("No period was named, so this is month to date.")
    if question.cost == "effective_cost":
        notes.append(
            'Effective cost: commitments spread over the period (say "billed" for invoiced).'
        )
    if report.unallocated:
        notes.append(
            "Unallocated (no team): "
            + ", ".join(money(v, c) for c, v in sorted(report.unallocated.items()))
        )
    if len(report.totals) > 1:
        notes.append("Several currencies: totals are not converted or added together.")
    if carbon:
        notes.append(f"Carbon is an EcoLogits estimate; {LATENCY_ASSUMPTION}.")
    return Figures(
        title=title,
        cost_label=_cost_label(question),
        totals=totals,
        change=change,
        models=_breakdown(report.by_model),
        applications=_breakdown(report.by_application),
        kpis=kpis,
        carbon=carbon,
        budgets=budgets,
        notes=notes,
    )


def change_lines(report: SpendReport) -> list[str]:
    """The change against the previous period, per currency, as compared (like for like)."""
    c = report.comparison
    if c is None:  # a report built by hand: whole periods, no like-for-like information
        prev_q = report.query.previous()
        c = Comparison(
            current=Window(report.query.start, report.query.end, 0, None, None),
            previous=Window(prev_q.start, prev_q.end, 0, None, None),
            compared_current=(report.query.start,),
            compared_previous=(prev_q.start,),
            totals=report.totals,
            previous_totals=report.previous_totals,
            full_totals=report.totals,
            like_for_like=False,
            data_through=None,
        )
    prev = c.previous
    if c.like_for_like and c.compared_previous:
        first, last = c.compared_previous[0], c.compared_previous[-1]
        days = len(c.compared_previous)
        span = f"the same {days} day{'s' if days > 1 else ''} of the previous period"
        span += f" ({first.isoformat()}" + (f" to {last.isoformat()})" if last != first else ")")
    elif prev.days == 1:
        span = f"the previous day ({prev.start.isoformat()})"
    else:
        last_day = (prev.end - timedelta(days=1)).isoformat()
        span = f"the previous {prev.days} days ({prev.start.isoformat()} to {last_day})"
    out: list[str] = []
    if c.current.coverage == "none" and report.comparison is not None:
        return ["no change: the ledger has no data for this period yet"]
    if not c.compared_previous:
        return ["no change: the previous period has no data for the same days"]
    for currency in sorted(set(c.totals) | set(c.previous_totals)) or ["USD"]:
        ratio = c.change(currency)
        before = money(c.previous_totals.get(currency, Decimal(0)), currency)
        if ratio is None:
            out.append(f"no {currency} spend in {span}")
        else:
            out.append(f"{percent(ratio)} vs {span}: {before}")
    return out


def _budget_line(b: BudgetStatus) -> str:
    return (
        f"{b.team}: {money(b.spent, b.currency)} of {money(b.amount, b.currency)} "
        f"in {b.month} ({b.percent:.1f}%)"
    )


def reply_blocks(reply: Reply) -> list[Block]:
    """A Reply as Block Kit: header, the lines (in sections of at most MAX_LIST_LINES lines
    and MAX_SECTION_TEXT characters), the notes as context, a link button."""
    blocks: list[Block] = [header(reply.title)]
    for i in range(0, len(reply.lines), MAX_LIST_LINES):
        chunk = reply.lines[i : i + MAX_LIST_LINES]
        blocks.append(section(esc("\n".join(chunk))))
    if reply.notes:
        blocks.append(context(*(esc(n) for n in reply.notes)))
    if reply.url:
        blocks.append(actions(button("Open in the portal", "open_portal", url=reply.url)))
    return fit(blocks)


def reply_text(reply: Reply) -> str:
    """The same Reply as plain text (the same lines, so the same numbers)."""
    lines = [reply.title, *reply.lines, *reply.notes]
    if reply.url:
        lines.append(f"Portal: {reply.url}")
    return "\n".join(lines)


def answer_blocks(answer: Answer) -> list[Block]:
    """The Slack message for any answer."""
    if answer.kind == "reply" and answer.reply is not None:
        return reply_blocks(answer.reply)
    if answer.kind == "help":
        return help_blocks()
    if answer.kind == "clarify":
        return clarify_blocks(answer)
    if answer.kind == "refusal":
        return [section(esc(answer.message))]
    f = figures(answer)
    q = answer.question
    assert q is not None
    blocks: list[Block] = [header(f.title)]
    blocks.append(
        section(
            f"*{' + '.join(f.totals)}* {f.cost_label}, {q.period.dates()}\n"
            + "\n".join(esc(c) for c in f.change)
        )
    )
    if f.kpis:
        blocks.append(section("*Unit economics*", fields=[f"*{k}*\n{v}" for k, v in f.kpis]))
    if f.models:
        blocks.append(section("*Top models*\n" + esc(bullet_lines(f.models))))
    if f.applications:
        blocks.append(section("*Top applications*\n" + esc(bullet_lines(f.applications))))
    if f.carbon:
        blocks.append(section(f"*Carbon*: {esc(f.carbon)}"))
    if f.budgets:
        blocks.append(section("*Budget*\n" + esc(bullet_lines(f.budgets))))
    if f.notes:
        blocks.append(context(*(esc(n) for n in f.notes)))
    blocks.append(actions(button("Open in the portal", "open_portal", url=answer.portal_url)))
    return fit(blocks)


def answer_summary(answer: Answer) -> str:
    """One line for notifications and the `text` fallback."""
    if answer.kind == "reply" and answer.reply is not None:
        first = answer.reply.lines[0] if answer.reply.lines else ""
        return clip(f"{answer.reply.title}: {first}", MAX_FALLBACK_TEXT)
    if answer.kind != "spend":
        return clip(answer_text(answer).splitlines()[0], MAX_FALLBACK_TEXT)
    f = figures(answer)
    return clip(f"{f.title}: {' + '.join(f.totals)} ({f.change[0]})", MAX_FALLBACK_TEXT)


def answer_text(answer: Answer) -> str:
    """The same answer as plain text (for `manage.py ask` and notifications)."""
    if answer.kind == "reply" and answer.reply is not None:
        return reply_text(answer.reply)
    if answer.kind == "help":
        return help_text()
    if answer.kind == "clarify":
        return _clarify_text(answer, code="")
    if answer.kind == "refusal":
        return answer.message
    f = figures(answer)
    q = answer.question
    assert q is not None
    lines = [f.title, f"{f.cost_label.capitalize()}: {' + '.join(f.totals)} ({q.period.dates()})"]
    lines += [f"Change: {c}" for c in f.change]
    if f.models:
        lines.append("Top models: " + "; ".join(f.models))
    if f.applications:
        lines.append("Top applications: " + "; ".join(f.applications))
    lines += [f"{k}: {v}" for k, v in f.kpis]
    if f.carbon:
        lines.append(f"Carbon: {f.carbon}")
    lines += [f"Budget {b}" for b in f.budgets]
    lines += f.notes
    lines.append(f"Portal: {answer.portal_url}")
    return "\n".join(lines)


# --- Help and clarification ------------------------------------------------------------------


def help_text() -> str:
    examples = "\n".join(f"  • {e}" for e in HELP_EXAMPLES)
    return (
        "AI FinOps answers questions about AI spend.\n"
        "• /finops spend [team] [period] [provider|model], "
        "e.g. /finops spend ml-platform last week\n"
        "• /finops help: this message\n"
        "• Mention me or send me a direct message, for example:\n"
        f"{examples}\n"
        "Periods: today, yesterday, this/last week, this/last month, month to date, "
        "last N days, a month (in October), a quarter (Q3), or from YYYY-MM-DD to YYYY-MM-DD. "
        'Add "billed" for invoiced cost instead of effective (amortized) cost.'
    )


def help_blocks() -> list[Block]:
    examples = "\n".join(f"• `{esc(e)}`" for e in HELP_EXAMPLES)
    return [
        section(
            "*AI FinOps* answers questions about AI spend.\n"
            "• `/finops spend [team] [period] [provider|model]`, "
            "e.g. `/finops spend ml-platform last week`\n"
            "• `/finops help`: this message\n"
            "You can also mention me or send me a direct message:\n" + examples
        ),
        context(
            "Periods: today, yesterday, this/last week, this/last month, month to date, last N "
            "days, a month (in October), a quarter (Q3), or from YYYY-MM-DD to YYYY-MM-DD. "
            "Say *billed* for invoiced cost; the default is effective (amortized) cost."
        ),
    ]


def _clarify_text(answer: Answer, code: str = "`") -> str:
    q = answer.question
    assert q is not None
    parts = []
    understood = q.understood()
    parts.append(
        "I understood: " + "; ".join(understood) + "."
        if understood
        else "I understood no team, period or filter."
    )
    if q.unknown:
        words = ", ".join(f"{code}{w}{code}" if code else f"'{w}'" for w in q.unknown)
        parts.append(f"I don't know {words}.")
    for problem in q.problems:
        parts.append(problem[0].upper() + problem[1:] + ".")
    examples = q.suggestions or suggestions_for(q)
    parts.append(
        "Questions I can answer: "
        + "; ".join(f"{code}{e}{code}" if code else f'"{e}"' for e in examples)
    )
    return "\n".join(parts)


def clarify_blocks(answer: Answer) -> list[Block]:
    return [
        section(esc(_clarify_text(answer))),
        context("I never guess a word I don't know: ask one of these, or `/finops help`."),
    ]


# --- Alerts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionCard:
    id: int
    label: str
    status: str
    approved_by: str = ""  # Slack mention or a name
    team: str = ""
    effect: str = ""  # the expected effect, one sentence
    dry_run: str = ""  # what the executor would send, one line
    policy: str = ""
    approvers: str = ""  # who may approve (mentions or names), when a policy names them
    result: str = ""  # after it ran: what happened (or why it failed)
    outcome: str = ""  # spend before and after
    portal_url: str = ""


def action_lines(a: ActionCard) -> list[str]:
    """The proposed action as mrkdwn lines (escaped; mentions kept)."""
    text = f"Proposed remediation: *{esc(a.label)}* ({a.status})"
    if a.approved_by:
        text += f", approved by {esc_mentions(a.approved_by)}"
    lines = [text]
    if a.effect:
        lines.append(f"Expected effect: {esc(a.effect)}")
    if a.dry_run:
        lines.append(f"Dry run: {esc(clip(a.dry_run, 400))}")
    if a.policy:
        who = f"; approval by {esc_mentions(a.approvers)}" if a.approvers else ""
        lines.append(f"Policy: {esc(a.policy)}{who}")
    if a.result:
        lines.append(f"Result: {esc(clip(a.result, 400))}")
    if a.outcome:
        lines.append(f"Outcome: {esc(a.outcome)}")
    return lines


def action_buttons(a: ActionCard) -> list[Block]:
    if a.status != "proposed":
        return []
    return [
        button(f"Approve: {a.label}", "action_approve", value=str(a.id), style="danger"),
        button("Reject", "action_reject", value=str(a.id)),
    ]


def action_blocks(a: ActionCard) -> list[Block]:
    """A proposed action's own message (one proposed without an alert, e.g. from a
    recommendation policy)."""
    blocks: list[Block] = [
        section(f":wrench: *{esc(a.label)}* for {esc(a.team)}"),
        section("\n".join(action_lines(a)[1:]) or "No details."),
        context(f"Status: *{a.status.capitalize()}*"),
    ]
    buttons = action_buttons(a)
    if a.portal_url:
        buttons.append(button("Open in the portal", "open_portal", url=a.portal_url))
    if buttons:
        blocks.append(actions(*buttons, block_id=f"action:{a.id}"))
    return fit(blocks)


def action_text(a: ActionCard) -> str:
    return clip(f"Proposed remediation: {a.label} for {a.team} ({a.status})", MAX_FALLBACK_TEXT)


@dataclass(frozen=True)
class AlertCard:
    id: int
    kind: str
    title: str
    team: str
    day: date
    status: str
    amount: str = ""
    snoozed_until: datetime | None = None
    history: tuple[str, ...] = ()
    action: ActionCard | None = None
    portal_url: str = ""
    breakdown: tuple[str, ...] = ()  # an anomaly's models, one line each


ALERT_ICONS = {
    "budget": ":moneybag:",
    "forecast": ":chart_with_upwards_trend:",
    "anomaly": ":rotating_light:",
}


def alert_blocks(card: AlertCard) -> list[Block]:
    icon = ALERT_ICONS.get(card.kind, ":bell:")
    lines = [f"{icon} *{esc(card.title)}*", f"{esc(card.team)} · {card.day.isoformat()}"]
    if card.amount:
        lines[-1] += f" · {esc(card.amount)}"
    status = card.status.capitalize()
    if card.status == "snoozed" and card.snoozed_until:
        status += f" until {slack_date(card.snoozed_until)}"
    blocks: list[Block] = [section("\n".join(lines))]
    if card.breakdown:
        blocks.append(section("*By model*\n" + bullet_lines([esc(b) for b in card.breakdown])))
    blocks.append(context(f"Status: *{status}*"))
    if card.action:
        blocks.append(section("\n".join(action_lines(card.action))))
    if card.history:
        blocks.append(context(*(esc_mentions(h) for h in card.history[-MAX_CONTEXT_ELEMENTS:])))
    buttons: list[Block] = []
    if card.status in ("open", "snoozed"):
        buttons.append(button("Acknowledge", "alert_ack", value=str(card.id), style="primary"))
        buttons.append(button("Snooze 1 day", "alert_snooze", value=str(card.id)))
    buttons.append(button("Show details", "alert_details", value=str(card.id)))
    if card.action:
        buttons.extend(action_buttons(card.action))
    if card.portal_url:
        buttons.append(button("Open in the portal", "open_portal", url=card.portal_url))
    blocks.append(actions(*buttons, block_id=f"alert:{card.id}"))
    return fit(blocks)


_SLACK_TOKENS = re.compile(r"&lt;(@[A-Z0-9]+|!date\^\d+\^[^|&]*\|[^&]*)&gt;")


def esc_mentions(text: str) -> str:
    """Escape text but keep Slack user mentions (<@U123>) and dates (<!date^...>) working."""
    return _SLACK_TOKENS.sub(r"<\1>", esc(text))


def alert_text(card: AlertCard) -> str:
    return clip(f"{card.title} ({card.team}, {card.status})", MAX_FALLBACK_TEXT)


def alert_details_blocks(card: AlertCard, fields: Sequence[tuple[str, str]]) -> list[Block]:
    """A readable card of an alert: labelled values (the API's fields, in words), the
    anomaly's model breakdown, and who did what."""
    shown = [f"*{esc(label)}*\n{esc_mentions(clip(value, 300))}" for label, value in fields]
    blocks: list[Block] = [section(f"*{esc(card.title)}*")]
    for i in range(0, len(shown), MAX_FIELDS):
        blocks.append(section(" ", fields=shown[i : i + MAX_FIELDS]))
    if not shown:
        blocks.append(section("No details recorded."))
    if card.breakdown:
        blocks.append(section("*By model*\n" + bullet_lines([esc(b) for b in card.breakdown])))
    if card.history:
        blocks.append(context(*(esc_mentions(h) for h in card.history[-MAX_CONTEXT_ELEMENTS:])))
    if card.portal_url:
        blocks.append(actions(button("Open in the portal", "open_portal", url=card.portal_url)))
    return fit(blocks)


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
