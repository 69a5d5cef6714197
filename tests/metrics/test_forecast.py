"""Month-end forecasts: the pure projection on hand-computed series, then the query-layer
function on DailyCost rows."""

from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from metrics.economics.forecast import (
    Forecast,
    forecast_month_end,
    month_bounds,
    project_month_end,
    robust_daily_rate,
)
from tests.factories import DailyCostFactory

JUNE_11 = date(2026, 6, 11)  # June has 30 days: 20 days left, today included


def series(values: dict[date, float]) -> pd.Series:
    return pd.Series(list(values.values()), index=list(values.keys()), dtype=float)


def daily(first: date, last: date, amount: float) -> dict[date, float]:
    return {first + timedelta(days=i): amount for i in range((last - first).days + 1)}


def test_month_bounds_wrap_the_year():
    assert month_bounds(date(2026, 12, 31)) == (date(2026, 12, 1), date(2027, 1, 1))
    assert month_bounds(date(2028, 2, 10)) == (date(2028, 2, 1), date(2028, 3, 1))


def test_robust_rate_drops_one_spike_and_one_idle_day():
    assert robust_daily_rate([10, 10, 10, 10, 10, 10, 500]) == 10
    # Weekdays at 100, a weekend at 0: (0 + 4 x 100) / 5 without one 0 and one 100.
    assert robust_daily_rate([100, 100, 100, 100, 100, 0, 0]) == 80
    assert robust_daily_rate([4, 8]) == 6  # fewer than 5 days: the median
    assert robust_daily_rate([]) == 0


def test_steady_spend_projects_a_straight_line():
    # $10 a day since May 20: June 1..10 spent 100, 20 days left at 10.
    p = project_month_end(
        series(daily(date(2026, 5, 20), JUNE_11 - timedelta(1), 10)), today=JUNE_11
    )
    assert (p.expected, p.low, p.high) == (300, 300, 300)
    assert p.month_to_date == 100 and p.daily_rate == 10
    assert p.days_observed == 22 and p.days_remaining == 20


def test_price_change_mid_month_uses_the_recent_rate():
    # June 1-14 at $10, June 15-20 at $30 (a price change), today June 21: 10 days left.
    values = {
        **daily(date(2026, 6, 1), date(2026, 6, 14), 10),
        **daily(date(2026, 6, 15), date(2026, 6, 20), 30),
    }
    p = project_month_end(series(values), today=date(2026, 6, 21))
    spent = 14 * 10 + 6 * 30  # 320
    assert p.month_to_date == spent
    # Last 7 days [10, 30 x 6] without one 10 and one 30: 30 a day.
    assert p.daily_rate == 30 and p.expected == spent + 10 * 30  # 620
    # Naive month-to-date extrapolation would say 320 / 20 x 30 = 480.
    # Range: last 14 days are 8 x 10 and 6 x 30: P10 = 10, P90 = 30.
    assert (p.low, p.high) == (spent + 10 * 10, 620)


def test_range_comes_from_the_spread_of_recent_days():
    # Alternating 10 / 20 for 14 days before June 15 (16 days left, today included).
    values = {date(2026, 6, 1) + timedelta(days=i): (10.0 if i % 2 else 20.0) for i in range(14)}
    p = project_month_end(series(values), today=date(2026, 6, 15))
    assert p.month_to_date == 7 * 10 + 7 * 20
    # Last 7 (June 8..14) = 10,20,10,20,10,20,10: without one 10 and one 20 -> 70/5 = 14.
    assert p.daily_rate == pytest.approx(14)
    assert p.expected == pytest.approx(210 + 16 * 14)
    assert (p.low, p.high) == (210 + 16 * 10, 210 + 16 * 20)


def test_no_history_gives_the_spend_so_far_and_zero_observed_days():
    empty = project_month_end(pd.Series(dtype=float), today=JUNE_11)
    assert (empty.expected, empty.low, empty.high, empty.days_observed) == (0, 0, 0, 0)
    only_today = project_month_end(series({JUNE_11: 5.0}), today=JUNE_11)
    assert (only_today.expected, only_today.low, only_today.high) == (5, 5, 5)
    assert only_today.days_observed == 0


def test_zero_spend_and_gaps_count_as_zero_days():
    zeros = project_month_end(series(daily(date(2026, 6, 1), date(2026, 6, 10), 0)), today=JUNE_11)
    assert (zeros.expected, zeros.low, zeros.high) == (0, 0, 0)
    # $70 every 7th day (June 1 and 8): the days between had no rows and count as zero.
    weekly = project_month_end(
        series({date(2026, 6, 1): 70.0, date(2026, 6, 8): 70.0}), today=JUNE_11
    )
    assert weekly.days_observed == 10 and weekly.month_to_date == 140
    # Last 7 days (June 4..10): one 70, six zeros: trimmed mean 0, range up to P90.
    assert weekly.daily_rate == 0 and weekly.expected == 140
    assert weekly.high > weekly.expected


def test_todays_partial_spend_is_a_floor_and_future_days_are_ignored():
    values = {
        **daily(date(2026, 6, 1), date(2026, 6, 29), 10),
        date(2026, 6, 30): 50.0,
        date(2026, 7, 1): 999.0,
    }
    p = project_month_end(series(values), today=date(2026, 6, 30))
    # Projection 290 + 1 x 10 = 300 is below what was already spent (290 + 50).
    assert (p.expected, p.low, p.high) == (340, 340, 340)


def test_old_history_beyond_28_days_is_not_used():
    values = {**daily(date(2026, 4, 1), date(2026, 4, 30), 1000), date(2026, 6, 10): 10.0}
    p = project_month_end(series(values), today=JUNE_11)
    assert p.days_observed == 1 and p.daily_rate == 10


def test_forecast_month_end_per_team_and_currency(teams):
    ml, search, support = teams["ml-platform"], teams["search"], teams["support-assistant"]
    for day in daily(date(2026, 5, 25), JUNE_11 - timedelta(1), 0):
        DailyCostFactory(team=ml, day=day, cost=10)
        DailyCostFactory(team=ml, day=day, cost=1, currency="EUR")
        DailyCostFactory(team=search, day=day, cost=3.333, model="claude")
    DailyCostFactory(team=ml, day=JUNE_11, cost=2)  # today, partial
    result = forecast_month_end([ml.pk, search.pk, support.pk], JUNE_11)
    assert set(result) == {ml.pk, search.pk}  # support spent nothing
    assert result[ml.pk] == Forecast(
        expected=Decimal("300.00"),
        low=Decimal("300.00"),
        high=Decimal("300.00"),
        currency="USD",  # the currency the team spent most in; EUR is not added
        month="2026-06",
        month_to_date=Decimal("102.00"),
        daily_rate=Decimal("10.00"),
        days_observed=17,
        days_remaining=20,
    )
    assert result[search.pk].expected == Decimal("99.99")  # 30 x 3.333, rounded to cents
    eur = forecast_month_end([ml.pk], JUNE_11, currency="EUR")[ml.pk]
    assert (eur.expected, eur.currency) == (Decimal("30.00"), "EUR")
    assert forecast_month_end([ml.pk], JUNE_11, currency="GBP") == {}
