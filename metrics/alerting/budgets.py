"""Budget alerts: monthly thresholds and a forecast of month-end spend over budget.

The rules, for each active `Budget` (a team, optionally one application key of it, in one
currency):

- Period: a calendar month of ledger days. Ledger days are UTC charge days
  (`DailyCost.day`), so months are UTC months of spend; the team's time zone
  (`Team.time_zone`) decides which month and day are *current* when the job runs
  (`budgets_evaluate_now`): a team in Pacific/Auckland enters June while UTC is still May 31.
- Spend: effective cost in the budget's currency only (spend in other currencies is neither
  converted nor counted), of the whole team or of its application key, from the month's
  first day through `today` (today's partial spend included).
- Thresholds: `Budget.threshold_list` (default 50/80/100 %). A threshold is crossed when
  spend >= amount x threshold / 100 (exact decimals). Each fires once per budget and month,
  key `budget:{budget_id}:{YYYY-MM}:{threshold}`. When one evaluation finds several new
  thresholds crossed (a big import), only the highest is announced (status open); the lower
  ones are recorded as resolved with `details.superseded_by`, so they never fire later.
- Late data: during the first LATE_DATA_DAYS days of a month the previous month is checked
  again (billing files arrive days late), thresholds only.
- Forecast: when `Budget.forecast_alert` is set, spend is still under the budget, at least
  FORECAST_MIN_DAYS days are observed, and the expected month-end spend (metrics.economics.forecast)
  is over the budget: one alert per budget and month, key `forecast:{budget_id}:{YYYY-MM}`.

Alerts are inserted through their unique key (metrics.alerting.alerts.alerts_create_once), so a
re-run, a restart or a second worker never fires one twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from metrics import queries
from metrics.alerting.alerts import alerts_create_once
from metrics.economics import forecast
from metrics.models import Alert, Budget, Team
from metrics.money import format_money

logger = logging.getLogger(__name__)

LATE_DATA_DAYS = 3
DEFAULT_THRESHOLDS = [50, 80, 100]
FORECAST_MIN_DAYS = 7
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive

    @classmethod
    def month_of(cls, day: date) -> Period:
        return cls(*forecast.month_bounds(day))

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m}"

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)


def budgets_evaluate_now(*, now: datetime) -> list[Alert]:
    """Evaluate every active budget as of `now`, each team on its own local date."""
    teams = Team.objects.filter(budgets__active=True).distinct()
    by_day: defaultdict[date, list[int]] = defaultdict(list)
    for team in teams:
        by_day[team.local_today(now)].append(team.pk)
    created: list[Alert] = []
    for today, team_ids in sorted(by_day.items()):
        created += budgets_evaluate(today=today, team_ids=team_ids)
    return created


def budgets_evaluate(*, today: date, team_ids: Iterable[int] | None = None) -> list[Alert]:
    """Check active budgets (of `team_ids`, default all) as of `today` and create the alerts
    they newly call for (rules: module docstring).

    Returns the new alerts to announce (status open); superseded thresholds are stored but
    not returned. Safe to re-run and to run on several workers at once.
    """
    budgets = Budget.objects.filter(active=True).select_related("team")
    if team_ids is not None:
        budgets = budgets.filter(team_id__in=list(team_ids))
    # Compared in Python: on SQLite the exact decimal column is text.
    active = [b for b in budgets.order_by("pk") if b.monthly_amount > 0]
    if not active:
        return []
    current = Period.month_of(today)
    checks = [(current, today + timedelta(days=1))]
    if today.day <= LATE_DATA_DAYS:
        previous = Period.month_of(current.start - timedelta(days=1))
        checks.append((previous, previous.end))
    candidates: list[Alert] = []
    current_spend: dict[int, Decimal] = {}
    for period, upto in checks:
        spend = budgets_spend(active, period.start, upto)
        if period == current:
            current_spend = spend
        for budget in active:
            day = min(today, period.last_day)
            candidates += _threshold_alerts(budget, period, spend[budget.pk], day)
    candidates += _forecast_alerts(
        [b for b in active if b.forecast_alert], current, current_spend, today
    )
    created = alerts_create_once(alerts=candidates)
    announced = [a for a in created if a.status == Alert.Status.OPEN]
    logger.info(
        "budgets as of %s: %d budget(s), %d new alert(s), %d to announce",
        today,
        len(active),
        len(created),
        len(announced),
    )
    return announced


def budgets_spend(budgets: Sequence[Budget], start: date, upto: date) -> dict[int, Decimal]:
    """Spend of each budget (by pk) in its currency over [start, upto): its team's effective
    cost, or its application's for an application budget. The one definition of spend
    against a budget: alerts, Slack answers and the App Home tab all read it."""
    team_level = [b for b in budgets if not b.application_key]
    app_level = [b for b in budgets if b.application_key]
    out: dict[int, Decimal] = {}
    if team_level:
        by_team = queries.team_month_spend({b.team_id for b in team_level}, start, upto)
        for b in team_level:
            out[b.pk] = by_team.get(b.team_id, {}).get(b.currency, Decimal(0))
    if app_level:
        by_app = queries.application_month_spend({b.team_id for b in app_level}, start, upto)
        for b in app_level:
            out[b.pk] = by_app.get((b.team_id, b.application_key), {}).get(b.currency, Decimal(0))
    return out


def month_to_date_spend(budgets: Sequence[Budget], today: date) -> dict[int, Decimal]:
    """Spend of each budget (by pk) from the first of `today`'s month through `today`."""
    return budgets_spend(budgets, today.replace(day=1), today + timedelta(days=1))


def _what(budget: Budget) -> str:
    app = f" ({budget.application_key})" if budget.application_key else ""
    return f"{budget.team.name}{app}"


def _threshold_alerts(budget: Budget, period: Period, spent: Decimal, day: date) -> list[Alert]:
    amount = Decimal(budget.monthly_amount)
    try:
        levels = budget.threshold_list
    except (TypeError, ValueError):
        # Edited by hand in the admin: one bad budget must not stop every other one.
        logger.warning("budget %s: thresholds %r are not percents", budget.pk, budget.thresholds)
        levels = DEFAULT_THRESHOLDS
    crossed = [t for t in levels if spent > 0 and spent * 100 >= amount * t]
    if not crossed:
        return []
    top = crossed[-1]
    alerts: list[Alert] = []
    for threshold in crossed:
        superseded = threshold != top
        alert = Alert(
            kind=Alert.Kind.BUDGET,
            dedupe_key=f"budget:{budget.pk}:{period.label}:{threshold}",
            team=budget.team,
            budget=budget,
            subject=budget.application_key,
            day=day,
            amount=spent.quantize(CENT),
            currency=budget.currency,
            title=(
                f"{_what(budget)} is at {int(spent * 100 / amount)}% of its {period.label} "
                f"budget (the {threshold}% threshold): "
                f"{format_money(spent, budget.currency)} of "
                f"{format_money(amount, budget.currency)}"
            ),
            details={
                "period": period.label,
                "threshold": threshold,
                "spent": str(spent.quantize(CENT)),
                "budget": str(amount.quantize(CENT)),
                "percent": float(round(spent * 100 / amount, 1)),
                "application_key": budget.application_key,
                **({"superseded_by": top} if superseded else {}),
            },
            status=Alert.Status.RESOLVED if superseded else Alert.Status.OPEN,
        )
        alerts.append(alert)
    return alerts


def _forecast_alerts(
    budgets: list[Budget], period: Period, spent: dict[int, Decimal], today: date
) -> list[Alert]:
    candidates = [b for b in budgets if spent.get(b.pk, Decimal(0)) < b.monthly_amount]
    if not candidates:
        return []
    projections = _projections(candidates, today)
    alerts: list[Alert] = []
    for budget in candidates:
        projection = projections.get(budget.pk)
        if projection is None or projection.days_observed < FORECAST_MIN_DAYS:
            continue
        fc = forecast.to_forecast(projection, currency=budget.currency, today=today)
        amount = Decimal(budget.monthly_amount)
        if fc.expected <= amount:
            continue
        alerts.append(
            Alert(
                kind=Alert.Kind.FORECAST,
                dedupe_key=f"forecast:{budget.pk}:{period.label}",
                team=budget.team,
                budget=budget,
                subject=budget.application_key,
                day=today,
                amount=fc.expected,
                currency=budget.currency,
                title=(
                    f"{_what(budget)} is on track to spend "
                    f"{format_money(fc.expected, budget.currency)} in {period.label} (range "
                    f"{format_money(fc.low, budget.currency)}-"
                    f"{format_money(fc.high, budget.currency)}), over its "
                    f"{format_money(amount, budget.currency)} budget"
                ),
                details={
                    "period": period.label,
                    "expected": str(fc.expected),
                    "low": str(fc.low),
                    "high": str(fc.high),
                    "budget": str(amount.quantize(CENT)),
                    "month_to_date": str(fc.month_to_date),
                    "daily_rate": str(fc.daily_rate),
                    "days_observed": fc.days_observed,
                    "days_remaining": fc.days_remaining,
                    "application_key": budget.application_key,
                },
            )
        )
    return alerts


def _projections(budgets: list[Budget], today: date) -> dict[int, forecast.Projection]:
    """Month-end projection of each budget's series (team or application, its currency)."""
    start, end = forecast.series_window(today)
    out: dict[int, forecast.Projection] = {}
    team_level = [b for b in budgets if not b.application_key]
    app_level = [b for b in budgets if b.application_key]
    if team_level:
        frame = queries.daily_series(team_ids={b.team_id for b in team_level}, start=start, end=end)
        by_team = forecast.project_frame(frame, keys=["team_id", "currency"], today=today)
        for b in team_level:
            if (p := by_team.get((b.team_id, b.currency))) is not None:
                out[b.pk] = p
    if app_level:
        frame = queries.application_daily_series(
            team_ids={b.team_id for b in app_level}, start=start, end=end
        )
        keys = ["team_id", "application_key", "currency"]
        by_app = forecast.project_frame(frame, keys=keys, today=today)
        for b in app_level:
            if (p := by_app.get((b.team_id, b.application_key, b.currency))) is not None:
                out[b.pk] = p
    return out
