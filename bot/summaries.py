"""The weekly efficiency summary: every team's channel, Monday from 09:00 in the team's own
time zone, about the week that ended (Monday to Sunday)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

from bot import identity
from bot.blocks.answers import figures
from bot.blocks.weekly_card import WeeklySummary, weekly_summary_blocks, weekly_summary_text
from bot.models import Delivery
from bot.question import Period, Question
from bot.services import Answer, portal_url
from bot.transport import deliver
from metrics import queries
from metrics.models import Recommendation, Team
from metrics.money import format_money
from metrics.queries import Scope, SpendQuery
from portal.learning import team_learning_summary

POST_AT = time(9, 0)
POST_ON = 0  # Monday


def weekly_summary(team: Team, week_start: date) -> WeeklySummary:
    """The summary of the week starting `week_start` (a Monday) for one team."""
    period = Period(week_start, week_start + timedelta(days=7), "last week", "last week")
    question = Question(
        text="", intent="spend", period=period, period_given=True, teams=(team.slug,)
    )
    report = queries.spend_report(
        SpendQuery(Scope((team.pk,), team.name), period.start, period.end), top=3
    )
    answer = Answer("spend", question, report=report, scope_label=team.name)
    f = figures(answer)
    rec = (
        Recommendation.objects.filter(team=team, status=Recommendation.Status.OPEN)
        .order_by("-estimated_monthly_saving", "pk")
        .first()
    )
    recommendation = ""
    if rec is not None:
        saving = format_money(rec.estimated_monthly_saving, rec.currency)
        recommendation = f"{rec.title}: saves about {saving} a month"
    return WeeklySummary(
        team=team.name,
        week=period.dates(),
        totals=f.totals,
        # The change, then how far the data goes and what was compared (like for like).
        change=f.change + (report.comparison.notes() if report.comparison else []),
        kpis=f.kpis,
        top_models=f.models,
        recommendation=recommendation,
        learning=team_learning_summary(team),
        portal_url=portal_url((team.slug,), question),
        board_report=board_report_link(week_start + timedelta(days=7)),
    )


def board_report_link(posted_on: date) -> tuple[str, str] | None:
    """(label, URL) of last month's stored board report when `posted_on` is in the first week
    of its month (the first weekly summary of the month), else None."""
    if posted_on.day > 7:
        return None
    from portal.models import BoardReport

    month = (posted_on.replace(day=1) - timedelta(days=1)).replace(day=1)
    if not BoardReport.objects.filter(month=month).exists():
        return None
    url = f"{settings.SITE_URL.rstrip('/')}/dashboard/org/board-report/?month={month:%Y-%m}"
    return f"{month:%B %Y}", url + "&format=pdf"


def summary_due(team: Team, now: datetime) -> date | None:
    """The Monday of the week to summarize when it is Monday 09:00 or later (that Monday)
    in the team's time zone, else None."""
    local = identity.local_now(team, now)
    if local.weekday() != POST_ON or local.time() < POST_AT:
        return None
    return local.date() - timedelta(days=7)


def weekly_summaries_post(*, now: datetime | None = None) -> int:
    """Post every summary that is due and not yet posted; returns how many were posted.
    Runs every few minutes; one delivery per team and week, so re-runs, restarts and
    several workers post each summary once. A summary missed at 09:00 (workers down) is
    posted later the same Monday."""
    now = now or timezone.now()
    posted = 0
    for team in Team.objects.exclude(slack_channel_id="").order_by("pk"):
        week_start = summary_due(team, now)
        if week_start is None:
            continue
        key = f"weekly:{team.pk}:{week_start.isoformat()}"
        if Delivery.objects.filter(key=key, status=Delivery.Status.SENT).exists():
            continue
        summary = weekly_summary(team, week_start)
        delivery = deliver(
            method="chat.postMessage",
            payload={
                "channel": team.slack_channel_id,
                "text": weekly_summary_text(summary),
                "blocks": weekly_summary_blocks(summary),
            },
            key=key,
        )
        if delivery.status == Delivery.Status.SENT:
            posted += 1
    return posted
