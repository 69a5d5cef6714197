"""Answers to questions in Slack: spend figures, intent replies, help and clarification,
as blocks and as the same words in plain text (`manage.py ask`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from bot.blocks.kit import (
    MAX_FALLBACK_TEXT,
    MAX_LIST_LINES,
    MAX_NAME,
    Block,
    actions,
    bullet_lines,
    button,
    clip,
    context,
    esc,
    fit,
    header,
    section,
)
from bot.format import (
    carbon_range,
    count,
    coverage_note,
    is_number,
    percent,
)
from bot.intents import Reply
from bot.question import HELP_EXAMPLES, Question, suggestions_for
from bot.services import Answer, BudgetStatus
from metrics.economics.carbon import LATENCY_ASSUMPTION
from metrics.money import format_money
from metrics.queries import Breakdown, Comparison, SpendReport, Window

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
    return [f"{clip(r.key, MAX_NAME)}: {format_money(r.amount, r.currency)}" for r in rows]


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
    totals = [format_money(v, c) for c, v in sorted(report.totals.items())] or [
        format_money(Decimal(0), "USD")
    ]
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
                f"{format_money(Decimal(str(cpi)), single, unit=True)} "
                f"over {count(requests)} requests"
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
                format_money(Decimal(str(per_1k)), single, unit=True)
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
            + ", ".join(format_money(v, c) for c, v in sorted(report.unallocated.items()))
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
        before = format_money(c.previous_totals.get(currency, Decimal(0)), currency)
        if ratio is None:
            out.append(f"no {currency} spend in {span}")
        else:
            out.append(f"{percent(ratio)} vs {span}: {before}")
    return out


def _budget_line(b: BudgetStatus) -> str:
    return (
        f"{b.team}: {format_money(b.spent, b.currency)} of {format_money(b.amount, b.currency)} "
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
