"""The spend dashboards: the team view (`/dashboard/`), the organization view
(`/dashboard/org/`), the records behind any number (`/dashboard/records/`, CSV streamed) and
the board report download. Thin: filters come from the URL (so a view can be shared, and is
exactly what the bot links to), numbers from `metrics.dashboards` over `metrics.queries`.

Scoping is the API's: a team you may not see answers 404, like one that does not exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, ClassVar, Self
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from metrics import dashboards
from metrics.api.records import csv_stream
from metrics.economics.carbon import LATENCY_ASSUMPTION
from metrics.models import VIEW_ALL_SPEND, CostRecord, Team
from metrics.queries import ScopeError, SpendQuery, scope_for
from metrics.spend_filters import SpendFilters, ledger_today
from portal import charts
from portal.hr import is_candidate

# The dashboards draw every day: at most a year and a day (366 days from start to end).
MAX_DAYS = 367
PAGE_SIZE = 50
CURSOR_SALT = "portal.records.cursor"


@dataclass(frozen=True, kw_only=True)
class Filters(SpendFilters):
    """The URL's filters: `metrics.spend_filters` read leniently (a shared URL never fails),
    with the dashboards' own `stack` switch."""

    stack: dashboards.Stack = "provider"

    max_days: ClassVar[int] = MAX_DAYS

    @classmethod
    def parse(cls, params: Any, today: date, *, strict: bool = False) -> Self:
        f = super().parse(params, today=today, strict=strict)
        return replace(f, stack="model" if params.get("stack") == "model" else "provider")

    def params(self) -> dict[str, str]:
        out = super().params()
        if self.stack == "model":
            out["stack"] = "model"
        return out

    def query(self, request: HttpRequest, teams: list[Team] | None = None) -> SpendQuery:
        return self.query_for(_scope(request, self.teams, teams))


def _scope(request: HttpRequest, slugs: tuple[str, ...], teams: list[Team] | None = None) -> Any:
    """The query scope; a team the user may not see is a 404, like one that does not exist.
    `teams`: the teams the user may see, when the page has them already. Candidates (HR's
    external applicants) see no spend at all."""
    if is_candidate(request.user):
        raise PermissionDenied("candidates see no spend")
    try:
        return scope_for(request.user, list(slugs) or None, visible_teams=teams)
    except ScopeError as exc:
        if slugs:
            raise Http404("No such team.") from exc
        raise PermissionDenied(str(exc)) from exc


def _linked(
    f: Filters, items: list[dashboards.Item], field: str
) -> list[tuple[dashboards.Item, str]]:
    """Each breakdown row with the link to its records."""
    return [(i, f.url("/dashboard/records/", **{field: (i.key,)})) for i in items]


def _common(request: HttpRequest, f: Filters, view: dashboards.SpendView) -> dict[str, Any]:
    path = request.path
    by_provider = _linked(f, view.by_provider, "providers")
    by_model = _linked(f, view.by_model, "models")
    by_application = _linked(f, view.by_application, "applications")
    records = f.url("/dashboard/records/")
    by_category = [
        (i, f"{records}&{urlencode({'category': i.key})}") for i in view.by_service_category
    ]
    return {
        "by_provider": by_provider,
        "by_model": by_model,
        "by_application": by_application,
        "breakdowns": [
            ("provider", by_provider, "provider"),
            ("model", by_model, "model"),
            ("application", by_application, "application"),
            ("service category", by_category, "categorized"),
        ],
        "f": f,
        "view": view,
        "scope": view.query.scope,
        "cost_label": "Billed cost" if f.cost == "billed_cost" else "Effective cost",
        "stack_provider_url": f.url(path, stack="provider"),
        "stack_model_url": f.url(path, stack="model"),
        "records_url": f.url("/dashboard/records/"),
        "csv_url": f.url("/dashboard/records.csv"),
        "daily_spec": charts.daily_spend(view),
        "sparklines": [
            (
                name,
                label,
                view.kpis.get(name),
                charts.sparkline(view.kpi_trend, name),
                dashboards.KPI_DEFINITIONS[name],
            )
            for name, label in dashboards.KPI_NAMES.items()
        ],
        "daily_table": dashboards.pivot(view.daily, "day", "key", "amount"),
        "kpi_table": dashboards.pivot(view.kpi_trend, "day", "kpi", "value"),
        "changes": {c: view.change(c) for c in view.comparison.totals},
        "comparison_note": dashboards.comparison_note(view.comparison),
        "compared_span": dashboards.compared_span(view.comparison),
        "carbon_assumption": LATENCY_ASSUMPTION,
    }


@login_required
@require_GET
def spend_dashboard(request: HttpRequest) -> HttpResponse:
    """The team view. `?team=a,b&start=YYYY-MM-DD&end=YYYY-MM-DD` (end inclusive)
    `&provider=&model=&application=&cost=billed&stack=model`. Default: the caller's teams (the
    whole organization for FinOps admins), month to date."""
    today = ledger_today()
    f = Filters.parse(request.GET, today)
    teams = list(Team.objects.visible_to(request.user).order_by("name"))
    q = f.query(request, teams)
    view = dashboards.spend_view(q, today=today, stack=f.stack)
    context = _common(request, f, view)
    context.update(
        {
            "teams": teams,
            "is_admin": request.user.has_perm(VIEW_ALL_SPEND),
        }
    )
    return render(request, "portal/spend/dashboard.html", context)


@login_required
@require_GET
def org_dashboard(request: HttpRequest) -> HttpResponse:
    """The organization view (FinOps admins and leaders with VIEW_ALL_SPEND)."""
    if not request.user.has_perm(VIEW_ALL_SPEND):
        raise PermissionDenied("The organization view is for FinOps admins.")
    today = ledger_today()
    f = Filters.parse(request.GET, today)
    f = replace(f, teams=())
    q = f.query(request)
    org = dashboards.org_view(q, today=today, stack=f.stack)
    context = _common(request, f, org.spend)
    last_month = dashboards.add_months(today.replace(day=1), -1)
    context.update(
        {
            "org": org,
            "ranking_spec": charts.team_ranking(org),
            "mix_spec": charts.model_mix(org),
            "monthly_spec": charts.monthly_spend(org),
            "report_month": f"{last_month:%Y-%m}",
            "team_urls": {t.slug: f.url("/dashboard/", teams=(t.slug,)) for t in org.ranking},
        }
    )
    return render(request, "portal/spend/org.html", context)


# --- The records behind a number ----------------------------------------------------------------


def records_queryset(request: HttpRequest, f: Filters) -> QuerySet[CostRecord]:
    """The billing lines matching the filters that the user may see (the API's rule)."""
    scope = _scope(request, f.teams)
    qs = CostRecord.objects.filter(day__gte=f.start, day__lte=f.end)
    if scope.team_ids is not None:
        qs = qs.filter(team_id__in=scope.team_ids)
    if f.providers:
        qs = qs.filter(provider__in=f.providers)
    if f.models:
        match = Q()
        for m in f.models:
            match |= Q(model__iexact=m) | Q(model__iregex=rf"^{re.escape(m)}-[0-9]")
        qs = qs.filter(match)
    if f.applications:
        qs = qs.filter(application_key__in=f.applications)
    category = _extra(request)
    if category.get("category"):
        qs = qs.filter(service_category=category["category"])
    if category.get("unallocated"):
        qs = qs.filter(team__isnull=True)  # only admins' scope has any
    return qs


def _extra(request: HttpRequest) -> dict[str, str]:
    """Record filters the dashboards do not have: service category, unallocated only."""
    out = {}
    category = request.GET.get("category", "")
    if category and "\x00" not in category:
        out["category"] = category[:100]
    if request.GET.get("unallocated") in ("1", "true"):
        out["unallocated"] = "1"
    return out


@login_required
@require_GET
def records(request: HttpRequest) -> HttpResponse:
    """The lines behind a number, newest first, 50 a page with an opaque signed cursor."""
    today = ledger_today()
    f = Filters.parse(request.GET, today)
    qs = records_queryset(request, f).select_related("team").order_by("-day", "-id")
    cursor = request.GET.get("cursor")
    if cursor:
        try:
            day_text, last_id = signing.loads(cursor, salt=CURSOR_SALT)
            last_day = date.fromisoformat(day_text)
        except (signing.BadSignature, ValueError, TypeError) as exc:
            raise Http404("That page link is not valid.") from exc
        qs = qs.filter(Q(day__lt=last_day) | Q(day=last_day, id__lt=int(last_id)))
    rows = list(qs[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    extra = _extra(request)
    here = f.url(request.path) + ("&" + urlencode(extra) if extra else "")
    csv_url = f.url("/dashboard/records.csv") + ("&" + urlencode(extra) if extra else "")
    next_url = None
    if more:
        token = signing.dumps([rows[-1].day.isoformat(), rows[-1].pk], salt=CURSOR_SALT)
        next_url = here + "&" + urlencode({"cursor": token})
    from metrics.queries import readable_names

    names = readable_names(r.application_key for r in rows)
    return render(
        request,
        "portal/spend/records.html",
        {
            "f": f,
            "rows": rows,
            "names": names,
            "next_url": next_url,
            "first_url": here if cursor else None,
            "csv_url": csv_url,
            "category": extra.get("category", ""),
            "back_url": f.url("/dashboard/"),
        },
    )


@login_required
@require_GET
def records_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Every matching line as CSV (streamed; the API's columns, with the application key)."""
    f = Filters.parse(request.GET, ledger_today())
    qs = records_queryset(request, f).order_by("day", "id")
    response = StreamingHttpResponse(csv_stream(qs), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="records-{f.start}-{f.end}.csv"'
    return response


@login_required
@require_GET
def board_report_download(request: HttpRequest) -> HttpResponse:
    """`?month=YYYY-MM&format=pdf|pptx`: the monthly board report (FinOps admins). Reuses the
    stored report of that month when it exists, else renders it now."""
    from portal import board_report

    if not request.user.has_perm(VIEW_ALL_SPEND):
        raise PermissionDenied("The board report is for FinOps admins.")
    fmt = request.GET.get("format", "pdf")
    if fmt not in board_report.FORMATS:
        return HttpResponse("format must be pdf or pptx", status=400, content_type="text/plain")
    try:
        month = board_report.parse_month(request.GET.get("month", ""))
    except ValueError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    data, name = board_report.board_report_file(month=month, fmt=fmt, today=ledger_today())
    response = HttpResponse(data, content_type=board_report.FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
