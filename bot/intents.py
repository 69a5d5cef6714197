"""Answers to every question class but plain spend, as `Reply`s: a title, lines, notes and
a link, rendered the same way as Block Kit (bot.blocks.answers.reply_blocks) and as plain text
(bot.blocks.answers.reply_text), so Slack and `manage.py ask` show the same numbers.

Numbers come only from services the API exposes too: metrics.queries (rankings, KPIs,
comparisons, drivers, savings), metrics.economics.forecast, metrics.models.Alert/Budget through the
same filters as the API, portal.learning for learning. Read-only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings

from bot.format import count, coverage_note, grams, percent
from bot.question import KPIS, Question
from metrics import queries
from metrics.economics.forecast import forecast_month_end
from metrics.models import Alert, Budget, Team
from metrics.money import format_money
from metrics.queries import Scope, SpendQuery
from metrics.spend_filters import dashboard_url

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_LINES = 15
DIMENSION_PLURAL = {
    "team": "teams",
    "model": "models",
    "provider": "providers",
    "application": "applications",
}


@dataclass(frozen=True)
class Reply:
    """An answer as text parts: `lines` hold the numbers, `notes` what to know about them."""

    title: str
    lines: tuple[str, ...]
    notes: tuple[str, ...] = ()
    url: str = ""


def _site(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def _cost_word(q: SpendQuery) -> str:
    return "billed cost" if q.cost == "billed_cost" else "effective cost"


def _through_note(through: date | None, end: date) -> list[str]:
    """'Data through D.' when the period runs past the ledger's last day with data."""
    if through is None:
        return ["The ledger has no data for this period yet."]
    if through < end - timedelta(days=1):
        return [f"Data through {through.isoformat()}."]
    return []


def _title(text: str) -> str:
    return text[:1].upper() + text[1:]


def _filters(question: Question) -> str:
    filters = [*question.providers, *question.models]
    return f" on {', '.join(filters)}" if filters else ""


# --- Rankings and breakdowns ---------------------------------------------------------------


def ranking_reply(question: Question, q: SpendQuery) -> Reply:
    dim = question.dimension
    r = queries.ranking(q, dim, top=question.top or None, ascending=question.ascending)  # type: ignore[arg-type]
    names = queries.readable_names([row.key for row in r.rows]) if dim == "application" else {}
    period = question.period.label
    if question.intent == "breakdown":
        title = f"{q.scope.label}{_filters(question)}: spend by {dim}, {period}"
    else:
        order = "cheapest" if question.ascending else "most expensive"
        what = DIMENSION_PLURAL[dim] if (question.top or 0) != 1 else dim
        top = f"top {question.top} " if question.top and question.top > 1 else ""
        title = f"{q.scope.label}{_filters(question)}: {top}{order} {what}, {period}"
    lines = []
    for i, row in enumerate(r.rows[:MAX_LINES], start=1):
        label = queries.readable_name(row.key, names) if dim == "application" else row.name
        share = f" ({row.share * 100:.1f}%)" if row.share is not None else ""
        lines.append(f"{i}. {label}: {format_money(row.amount, row.currency)}{share}")
    if not lines:
        lines.append(f"No {_cost_word(q)} by {dim} in {question.period.dates()}.")
    notes = [
        f"{_title(_cost_word(q))}, {question.period.dates()}; total "
        + (
            " + ".join(format_money(v, c) for c, v in sorted(r.totals.items()))
            or format_money(0, "USD")
        )
        + "."
    ]
    shown = min(len(r.rows), MAX_LINES)
    if r.keys > shown:
        notes.append(f"{r.keys - shown} more {DIMENSION_PLURAL[dim]} not shown.")
    if dim in ("model", "application"):
        notes.append(f"Spend with no {dim} (e.g. cloud infrastructure) is not ranked.")
    notes += _through_note(r.data_through, q.end)
    return Reply(_title(title), tuple(lines), tuple(notes), dashboard_url(q))


# --- KPIs ------------------------------------------------------------------------------------


def kpi_reply(question: Question, q: SpendQuery) -> Reply:
    name = question.kpi
    label = KPIS[name]
    title = _title(f"{label} of {q.scope.label}{_filters(question)}, {question.period.label}")
    units = queries.unit_kpis(q)
    lines: list[str] = []
    notes: list[str] = []

    def cover(kpi: queries.UnitKpi, unit_word: str) -> None:
        share = kpi.coverage
        if share is not None and share < 0.9995 and kpi.currency:
            notes.append(
                f"Matched numerator: only the cost of providers that report {unit_word} "
                f"({', '.join(kpi.providers) or 'none'}): "
                f"{format_money(kpi.covered_cost, kpi.currency)} "
                f"of {format_money(kpi.total_cost, kpi.currency)}."
            )

    if name == "cost_per_inference":
        k = units[name]
        if _defined(k.value):
            lines.append(
                f"{format_money(k.value, k.currency, unit=True)} per request over "
                f"{count(k.units)} requests{coverage_note(k.coverage)}"
            )
            cover(k, "requests")
        else:
            lines.append(_undefined(k, "model requests"))
    elif name == "cost_per_1k_tokens":
        k = units[name]
        if _defined(k.value):
            lines.append(
                f"{format_money(k.value, k.currency, unit=True)} per 1k tokens over "
                f"{count(k.units)} tokens{coverage_note(k.coverage)}"
            )
            cover(k, "tokens")
        else:
            lines.append(_undefined(k, "tokens"))
    elif name == "token_density":
        k = units[name]
        lines.append(
            f"{k.value:.1f} tokens per output token ({count(k.units)} output tokens)"
            if _defined(k.value)
            else "No output tokens in this period: token density is not defined."
        )
    elif name == "cache_hit_ratio":
        k = units[name]
        lines.append(
            f"{k.value * 100:.1f}% of prompt tokens served from the cache "
            f"({count(k.units)} prompt tokens)"
            if _defined(k.value)
            else "No prompt tokens in this period: the cache hit rate is not defined."
        )
    elif name in ("gpu_hours", "cost_per_gpu_hour"):
        hours, per_hour = units["gpu_hours"], units["cost_per_gpu_hour"]
        lines.append(f"{hours.value:,.1f} GPU hours")
        if _defined(per_hour.value):
            lines.append(
                f"{format_money(per_hour.value, per_hour.currency, unit=True)} per GPU hour "
                f"({format_money(per_hour.covered_cost, per_hour.currency)} of GPU providers' cost"
                f"{coverage_note(per_hour.coverage)})"
            )
    elif name == "cold_start":
        from metrics.advice.recommendations.gpu import gpu_cold_start_spend

        cold = gpu_cold_start_spend(
            team_ids=list(q.scope.team_ids) if q.scope.team_ids is not None else None,
            start=q.start,
            end=q.end,
        )
        if cold:
            lines += [
                f"{format_money(v, c)} of GPU time before first productive use"
                for c, v in sorted(cold.items())
            ]
        else:
            lines.append("No GPU cold-start cost: no OpenCost GPU allocations in this period.")
        notes.append(
            "Cold start: GPU time from a spin-up until utilization passes the threshold, or the "
            "15-minute warm-up window where utilization is unknown."
        )
    elif name == "carbon":
        report = queries.spend_report(q, top=1)
        if report.carbon_g:
            low, high = report.carbon_g
            lines.append(f"{grams(low)} to {grams(high)} CO2e (estimate)")
            density = report.kpis.get("token_carbon_density")
            if _defined(density):
                lines.append(f"{density:,.2f} g CO2e per 1k output tokens (midpoint)")
        else:
            lines.append("No carbon estimate: no model usage with a known model in this period.")
        notes.append("Carbon is an estimate (EcoLogits method: model size, PUE, grid intensity).")
    notes.append(f"Period {question.period.dates()}.")
    notes += _through_note(queries.data_through(providers=q.providers, before=q.end), q.end)
    return Reply(title, tuple(lines), tuple(notes), dashboard_url(q))


def _defined(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def _undefined(k: queries.UnitKpi, what: str) -> str:
    if len(k.providers) and not k.currency:
        return "Spend is in several currencies: a cost per unit over them is not defined."
    return f"No {what} reported in this period: not defined."


# --- Comparisons and drivers -----------------------------------------------------------------


def _totals(values: dict[str, Decimal]) -> str:
    return " + ".join(format_money(v, c) for c, v in sorted(values.items())) or format_money(
        0, "USD"
    )


def compare_reply(question: Question, q: SpendQuery) -> Reply:
    c = queries.compare_periods(q, previous=question.compare_with())
    prev_label = question.previous.label if question.previous else "the period before"
    title = _title(f"{q.scope.label}{_filters(question)}: {question.period.label} vs {prev_label}")
    lines = _change_lines(c)
    notes = [f"{_title(_cost_word(q))}.", *c.notes()]
    return Reply(title, tuple(lines), tuple(notes), dashboard_url(q))


def _change_lines(c: queries.Comparison) -> list[str]:
    cur, prev = c.current, c.previous
    if cur.coverage == "none":
        return [f"No data for {_span(cur.start, cur.end)} yet."]
    lines = [
        f"{_span(cur.start, cur.end)}: {_totals(c.full_totals)}",
    ]
    if c.like_for_like:
        lines.append(f"Same days compared ({_days(c.compared_current)}): {_totals(c.totals)}")
    lines.append(
        f"{_span(prev.start, prev.end)}"
        + (f", same days ({_days(c.compared_previous)})" if c.like_for_like else "")
        + f": {_totals(c.previous_totals)}"
    )
    for currency in sorted(set(c.totals) | set(c.previous_totals)):
        ratio = c.change(currency)
        delta = c.delta(currency)
        sign = "+" if delta >= 0 else ""
        if ratio is None:
            lines.append(f"Change: no {currency} spend in the previous period to compare with")
        else:
            lines.append(f"Change: {sign}{format_money(delta, currency)} ({percent(ratio)})")
    return lines


def _span(start: date, end: date) -> str:
    last = end - timedelta(days=1)
    return start.isoformat() if last == start else f"{start.isoformat()} to {last.isoformat()}"


def _days(days: tuple[date, ...]) -> str:
    if not days:
        return "no days"
    return _span(days[0], days[-1] + timedelta(days=1)) + f", {len(days)} days"


def compare_teams_reply(question: Question, q: SpendQuery) -> Reply:
    r = queries.ranking(q, "team")
    by_key = {row.key: row for row in r.rows}
    lines = []
    amounts: list[tuple[str, Decimal, str]] = []
    for slug in question.teams:
        row = by_key.get(slug)
        name = question.team_names.get(slug, slug)
        amount = row.amount if row else Decimal(0)
        currency = row.currency if row else "USD"
        amounts.append((name, amount, currency))
        lines.append(f"{name}: {format_money(amount, currency)}")
    if len(amounts) == 2 and amounts[0][2] == amounts[1][2]:
        (a, x, cur), (b, y, _) = amounts
        diff = x - y
        more, less = (a, b) if diff >= 0 else (b, a)
        rel = f" ({abs(diff) / min(x, y) * 100:.1f}% more)" if min(x, y) else ""
        lines.append(
            f"Difference: {more} spent {format_money(abs(diff), cur)} more than {less}{rel}"
        )
    title = _title(
        f"{' vs '.join(n for n, _, _ in amounts)}{_filters(question)}, {question.period.label}"
    )
    notes = [f"{_title(_cost_word(q))}, {question.period.dates()}."]
    notes += _through_note(r.data_through, q.end)
    return Reply(title, tuple(lines), tuple(notes), dashboard_url(q))


def drivers_reply(question: Question, q: SpendQuery) -> Reply:
    d = queries.drivers(q, previous=question.compare_with())
    c = d.comparison
    title = _title(f"What changed: {q.scope.label}{_filters(question)}, {question.period.label}")
    lines = _change_lines(c)
    if c.current.coverage != "none" and c.compared_previous:
        lines.append("Largest contributors:")
        for dim, row in d.top(5):
            if not row.delta:
                continue
            ratio = f" ({percent(row.change)})" if row.change is not None else " (new)"
            sign = "+" if row.delta >= 0 else ""
            lines.append(
                f"  {dim} {row.key}: {sign}{format_money(row.delta, row.currency)}{ratio}, "
                f"{format_money(row.previous, row.currency)} to "
                f"{format_money(row.current, row.currency)}"
            )
    notes = [
        f"{_title(_cost_word(q))}; each dimension (model, application, provider) splits the "
        "same change.",
        *c.notes(),
    ]
    return Reply(title, tuple(lines), tuple(notes), dashboard_url(q))


# --- Budgets and forecasts -------------------------------------------------------------------


def budget_reply(question: Question, scope: Scope, today: date) -> Reply:
    teams = Team.objects.order_by("name")
    if scope.team_ids is not None:
        teams = teams.filter(pk__in=scope.team_ids)
    budgets = {
        (b.team_id, b.currency): b
        for b in Budget.objects.filter(team__in=teams, active=True, application_key="")
    }
    team_list = list(teams)
    month_start = today.replace(day=1)
    spent = queries.team_month_spend(
        [t.pk for t in team_list], month_start, today + timedelta(days=1)
    )
    forecasts = forecast_month_end([t.pk for t in team_list], today)
    lines: list[str] = []
    for team in team_list:
        forecast = forecasts.get(team.pk)
        team_budgets = [b for (tid, _), b in sorted(budgets.items()) if tid == team.pk]
        if scope.is_org and not team_budgets and forecast is None:
            continue
        for b in team_budgets:
            used = spent.get(team.pk, {}).get(b.currency, Decimal(0))
            amount = Decimal(b.monthly_amount)
            left = amount - used
            share = f" ({used * 100 / amount:.1f}%)" if amount else ""
            text = (
                f"{team.name}: {format_money(used, b.currency)} of "
                f"{format_money(amount, b.currency)} spent"
                f"{share}, {format_money(max(left, Decimal(0)), b.currency)} left"
            )
            if left < 0:
                text += f" (over by {format_money(-left, b.currency)})"
            if forecast is not None and forecast.currency == b.currency:
                verdict = (
                    f"will go over by about {format_money(forecast.expected - amount, b.currency)}"
                    if forecast.expected > amount
                    else "stays within budget"
                )
                if forecast.low <= amount < forecast.high:
                    verdict += " (the budget is inside the forecast range)"
                text += (
                    f"; month-end forecast {format_money(forecast.expected, b.currency)} "
                    f"(range {format_money(forecast.low, b.currency)} to "
                    f"{format_money(forecast.high, b.currency)}): {verdict}"
                )
            lines.append(text)
        if not team_budgets:
            text = f"{team.name}: no monthly budget set"
            if forecast is not None:
                text += (
                    f"; month-end forecast {format_money(forecast.expected, forecast.currency)} "
                    f"(range {format_money(forecast.low, forecast.currency)} to "
                    f"{format_money(forecast.high, forecast.currency)})"
                )
            lines.append(text)
    if not lines:
        lines.append("No team budgets or forecasts in this scope.")
    notes = [
        f"{month_start:%B %Y} to {today.isoformat()}, effective cost. The forecast projects "
        "the month's daily rate (robust to spikes) with a low-high range."
    ]
    notes += _through_note(
        queries.data_through(before=today + timedelta(days=1)), today + timedelta(days=1)
    )
    return Reply(
        _title(f"Budget and forecast: {scope.label}, {month_start:%B %Y}"),
        tuple(lines[:MAX_LINES]),
        tuple(notes),
        _site("/dashboard/"),
    )


# --- Alerts and savings ----------------------------------------------------------------------


def alerts_reply(scope: Scope) -> Reply:
    alerts = Alert.objects.filter(status=Alert.Status.OPEN).select_related("team")
    if scope.team_ids is not None:
        alerts = alerts.filter(team_id__in=scope.team_ids)
    rows = list(alerts.order_by("-day", "-pk")[: MAX_LINES + 1])
    total = alerts.count()
    lines = []
    for a in rows[:MAX_LINES]:
        amount = (
            f", {format_money(a.amount, a.currency)}" if a.amount is not None and a.currency else ""
        )
        team = a.team.name if a.team else "no team"
        lines.append(f"{a.day.isoformat()} {a.get_kind_display()} ({team}{amount}): {a.title}")
    if not lines:
        lines.append("No open alerts.")
    notes = [f"{total} open alert{'s' if total != 1 else ''} for {scope.label}."]
    return Reply(
        _title(f"Open alerts: {scope.label}"), tuple(lines), tuple(notes), _site("/dashboard/")
    )


def savings_reply(scope: Scope) -> Reply:
    found = queries.savings(scope)
    lines = []
    for currency, amount in sorted(found["open"].items()):
        lines.append(
            f"Open recommendations could save about {format_money(amount, currency)} a month"
        )
    for rec in found["top_open"][:10]:
        lines.append(
            f"  {rec['title']} ({rec['team']}): "
            f"{format_money(rec['saving'], rec['currency'])} a month"
        )
    if not lines:
        lines.append("No open recommendations: nothing to save found yet.")
    notes = ["Savings are the estimates of the open recommendations (monthly)."]
    for currency, amount in sorted(found["realized"].items()):
        notes.append(f"Already realized: {format_money(amount, currency)} a month.")
    return Reply(
        _title(f"How {scope.label} can save"), tuple(lines), tuple(notes), _site("/dashboard/")
    )


# --- Learning --------------------------------------------------------------------------------


def learning_reply(question: Question, user: User, today: date) -> Reply:
    from portal.learning import learner_dashboard, required_modules
    from portal.models import Credential

    dashboard = learner_dashboard(user)
    statuses = [s for t in dashboard.tracks for s in t.modules]
    required = required_modules(user)
    left = [s for s in statuses if s.module.required_for_exam and not s.completed]
    credential = Credential.objects.for_user(user).active().order_by("-expires_at").first()
    lines: list[str] = []
    topic = question.topic
    if topic == "expiry":
        if credential is None:
            lines.append("You have no valid credential yet.")
        else:
            days = (credential.expires_at.date() - today).days
            lines.append(
                f"Your credential is valid until {credential.expires_at:%Y-%m-%d} ({days} days)."
            )
    elif topic == "modules_left":
        lines.append(f"{required.left} of {required.total} required modules left.")
        lines += [f"  {s.module.title} ({s.state})" for s in left[:MAX_LINES]]
    elif topic == "next":
        nxt = dashboard.resume or dashboard.next_up
        if nxt is None:
            lines.append("You have finished every module: take the exam or renew your credential.")
        else:
            verb = "Resume" if nxt is dashboard.resume else "Start"
            lines.append(f"{verb}: {nxt.module.title} ({nxt.percent}% done)")
            lines.append(_site(f"/learn/{nxt.module.slug}/"))
    else:
        if credential is not None:
            lines.append(f"Certified: credential valid until {credential.expires_at:%Y-%m-%d}.")
        else:
            lines.append("Not certified yet.")
        lines.append(f"{required.done} of {required.total} required modules done.")
    return Reply("Your learning", tuple(lines), (), _site("/learn/dashboard/"))
