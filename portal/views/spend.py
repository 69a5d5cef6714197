"""The team spend dashboard: the same query layer as the bot and the API (metrics.queries)."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from metrics.models import Alert, Budget, Recommendation, Team
from metrics.queries import (
    FIRST_DAY,
    LAST_DAY,
    CostColumn,
    ScopeError,
    SpendQuery,
    scope_for,
    spend_report,
)
from portal.hr import is_candidate

MAX_DAYS = 366


def _day(value: str | None, default: date) -> date:
    if not value:
        return default
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return default
    # 0001-01-01 or 9999-12-31 would overflow the previous period or the exclusive end.
    return day if FIRST_DAY <= day <= LAST_DAY else default


@login_required
@require_GET
def spend_dashboard(request: HttpRequest) -> HttpResponse:
    """`?team=a,b&start=YYYY-MM-DD&end=YYYY-MM-DD` (end inclusive) `&provider=&model=&cost=`.
    Default: the caller's teams (the whole organization for FinOps admins), month to date."""
    if is_candidate(request.user):
        raise PermissionDenied("candidates see no spend")
    today = timezone.localdate()
    start = _day(request.GET.get("start"), today.replace(day=1))
    end = _day(request.GET.get("end"), today)
    if end < start or (end - start).days > MAX_DAYS:
        start, end = today.replace(day=1), today
    slugs = [s for s in request.GET.get("team", "").split(",") if s.strip()]
    try:
        scope = scope_for(request.user, slugs or None)
    except ScopeError as exc:
        raise PermissionDenied(str(exc)) from exc
    providers = tuple(p for p in request.GET.get("provider", "").split(",") if p)
    models = tuple(m for m in request.GET.get("model", "").split(",") if m)
    cost: CostColumn = "billed_cost" if request.GET.get("cost") == "billed" else "effective_cost"
    query = SpendQuery(scope, start, end + timedelta(days=1), providers, models, cost)
    report = spend_report(query, top=10)
    team_ids = scope.team_ids
    budgets = Budget.objects.filter(active=True).select_related("team")
    alerts = Alert.objects.filter(status=Alert.Status.OPEN).select_related("team")
    recommendations = Recommendation.objects.filter(status=Recommendation.Status.OPEN)
    if team_ids is not None:
        budgets = budgets.filter(team_id__in=team_ids)
        alerts = alerts.filter(team_id__in=team_ids)
        recommendations = recommendations.filter(team_id__in=team_ids)
    peak = max((amount for _, _, amount in report.daily), default=0) or 1
    daily = [
        (day, currency, amount, int(amount * 100 / peak)) for day, currency, amount in report.daily
    ]
    return render(
        request,
        "portal/spend/dashboard.html",
        {
            "report": report,
            "scope": scope,
            "start": start,
            "end": end,
            "cost_label": "Billed cost" if cost == "billed_cost" else "Effective cost",
            "changes": {c: report.change(c) for c in report.totals},
            "daily": daily,
            "budgets": budgets[:20],
            "alerts": alerts[:10],
            "recommendations": recommendations.select_related("team")[:5],
            "teams": Team.objects.visible_to(request.user),
            "selected": slugs,
        },
    )
