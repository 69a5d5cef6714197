"""The App Home tab: the viewer's team spend this month against budget, open alerts and
their learning progress, published with views.publish when they open the tab."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings

from bot import identity
from bot.blocks.home_tab import HomeData, HomeTeam, home_view
from bot.models import Delivery
from bot.services import budget_statuses
from bot.transport import deliver
from metrics import queries
from metrics.models import VIEW_ALL_SPEND, Alert, Team
from metrics.money import format_money
from metrics.queries import Scope
from portal.learning import user_learning_summary

MAX_TEAMS = 10
MAX_ALERTS = 5


def home_data(slack_user_id: str) -> HomeData:
    site = settings.SITE_URL.rstrip("/")
    user = identity.user_for_slack_id(slack_user_id)
    if user is None:
        return HomeData(
            person="",
            teams=[],
            alerts=[],
            portal_url=site + "/",
            note="I can't match your Slack account to anyone in the AI FinOps portal yet: ask "
            "a FinOps admin to add your Slack id to your profile.",
        )
    own = identity.teams_of(user, slack_user_id)[:MAX_TEAMS]
    today = identity.local_today(own[0] if own else None)
    month_start = today.replace(day=1)
    upto = today + timedelta(days=1)
    month = f"{month_start:%B %Y}"
    spent = queries.team_month_spend([t.pk for t in own], month_start, upto)
    budgets = budget_statuses(Scope(tuple(t.pk for t in own), ""), today)
    teams = []
    for team in own:
        by_currency = spent.get(team.pk, {})
        budget_lines = [
            f"{format_money(b.spent, b.currency)} of {format_money(b.amount, b.currency)} "
            f"({b.percent:.1f}%)"
            for b in budgets
            if b.team_id == team.pk and b.amount
        ]
        teams.append(
            HomeTeam(
                name=team.name,
                month=month,
                spent=[format_money(v, c) for c, v in sorted(by_currency.items())]
                or [format_money(Decimal(0), "USD")],
                budget="; ".join(budget_lines),
            )
        )
    note = ""
    if not own:
        note = (
            "You're not in any team yet, so there is no team spend to show."
            if not user.has_perm(VIEW_ALL_SPEND)
            else "You see every team's spend in the portal (FinOps admin)."
        )
    visible = Team.objects.visible_to(user)
    alerts = Alert.objects.filter(status=Alert.Status.OPEN)
    if not user.has_perm(VIEW_ALL_SPEND):
        alerts = alerts.filter(team__in=visible)
    shown = list(alerts.select_related("team").order_by("-created_at")[:MAX_ALERTS])
    return HomeData(
        person=user.get_full_name() or user.get_username(),
        teams=teams,
        alerts=[a.title for a in shown],
        alert_ids=[a.pk for a in shown],
        alert_urls=[
            site + "/dashboard/" + (f"?team={a.team.slug}" if a.team else "") for a in shown
        ],
        learning=user_learning_summary(user),
        portal_url=site + "/",
        note=note,
    )


def home_publish(*, slack_user_id: str) -> Delivery:
    """Publish the Home tab for one person (each open of the tab publishes it afresh)."""
    view = home_view(home_data(slack_user_id))
    return deliver(method="views.publish", payload={"user_id": slack_user_id, "view": view})
