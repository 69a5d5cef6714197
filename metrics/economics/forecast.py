"""Month-end spend forecasts from the daily rollups.

Method (one series = one team, or one team's application, in one currency):

- Days are ledger days (UTC charge days, as `DailyCost.day`); "today" may be partly billed, so
  it is projected like the days still to come and its spend so far only acts as a floor.
- Observed days are the days before today, from the series' first day with spend in the last
  28 days (missing days in between count as zero spend: the ledger has no rows for them).
- Daily rate: the mean of the last 7 observed days without their single highest and lowest
  day (fewer than 5 days: their median). It follows a price change within a week, one
  spike or one idle day does not move it, and a weekday/weekend rhythm averages out.
- expected = spend from the month start to yesterday + rate x days left (today included).
- Range: the same with the 10th and 90th percentile of the last 14 observed daily values
  (widened to include the rate), i.e. "if the rest of the month looks like its calmer or
  busier recent days". Every bound is at least the spend so far, today included.
- No observed day (a brand-new series): expected = low = high = the spend so far, with
  `days_observed == 0` telling callers there is nothing to extrapolate from.

The projection is a pure function of a series (`project_month_end`); `forecast_month_end`
loads the series through `metrics.queries` for the bot, the API and budget alerts.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import cast

import numpy as np
import pandas as pd

from metrics import queries

LOOKBACK_DAYS = 28
RATE_DAYS = 7
SPREAD_DAYS = 14
LOW_QUANTILE = 0.10
HIGH_QUANTILE = 0.90
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Projection:
    """A month-end projection of one series, in floats (the series' currency)."""

    expected: float
    low: float
    high: float
    month_to_date: float  # from the month start through today (today may be partial)
    daily_rate: float
    days_observed: int
    days_remaining: int  # today included


@dataclass(frozen=True)
class Forecast:
    """Month-end spend of a team in one currency, rounded to cents."""

    expected: Decimal
    low: Decimal
    high: Decimal
    currency: str
    month: str  # YYYY-MM
    month_to_date: Decimal
    daily_rate: Decimal
    days_observed: int
    days_remaining: int


def month_bounds(day: date) -> tuple[date, date]:
    """First day of `day`'s month and first day of the next month."""
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def robust_daily_rate(values: Sequence[float] | np.ndarray) -> float:
    """Mean without the single highest and lowest value (5+ values), else the median."""
    arr = np.sort(np.asarray(values, dtype=float))
    if arr.size == 0:
        return 0.0
    if arr.size < 5:
        return float(np.median(arr))
    return float(arr[1:-1].mean())


def project_month_end(daily: pd.Series, *, today: date) -> Projection:
    """Project the month-end spend of one series (index: `datetime.date`, values: cost).

    Days after `today` are ignored; duplicate days are summed. Pure: no database.
    """
    month_start, month_end = month_bounds(today)
    days_remaining = (month_end - today).days
    costs = daily.astype(float).groupby(level=0).sum() if len(daily) else daily.astype(float)
    days = pd.Index(costs.index)
    spent_today = float(costs[days == today].sum())
    past = costs[(days < today) & (days >= today - timedelta(days=LOOKBACK_DAYS))]
    spent_before = float(costs[(days < today) & (days >= month_start)].sum())
    floor = spent_before + spent_today
    if past.empty:
        return Projection(floor, floor, floor, floor, 0.0, 0, days_remaining)
    first = min(past.index)
    span = [first + timedelta(days=i) for i in range((today - first).days)]
    observed = past.reindex(span, fill_value=0.0).to_numpy(dtype=float)
    rate = robust_daily_rate(observed[-RATE_DAYS:])
    spread = observed[-SPREAD_DAYS:]
    low_rate = min(rate, float(np.quantile(spread, LOW_QUANTILE)))
    high_rate = max(rate, float(np.quantile(spread, HIGH_QUANTILE)))
    return Projection(
        expected=max(floor, spent_before + rate * days_remaining),
        low=max(floor, spent_before + low_rate * days_remaining),
        high=max(floor, spent_before + high_rate * days_remaining),
        month_to_date=floor,
        daily_rate=rate,
        days_observed=len(observed),
        days_remaining=days_remaining,
    )


def project_frame(
    frame: pd.DataFrame, *, keys: Sequence[str], today: date
) -> dict[tuple[Hashable, ...], Projection]:
    """Project every series of a long frame (columns: `keys`..., day, cost), keyed by the
    tuple of its key values. Pure: no database."""
    out: dict[tuple[Hashable, ...], Projection] = {}
    if frame.empty:
        return out
    for key, group in frame.groupby(list(keys), sort=False):
        series = pd.Series(group["cost"].to_numpy(dtype=float), index=list(group["day"]))
        out[tuple(key)] = project_month_end(series, today=today)
    return out


def series_window(today: date) -> tuple[date, date]:
    """The days a projection as of `today` reads: [start, end)."""
    month_start, _ = month_bounds(today)
    return min(month_start, today - timedelta(days=LOOKBACK_DAYS)), today + timedelta(days=1)


def to_forecast(projection: Projection, *, currency: str, today: date) -> Forecast:
    def money(value: float) -> Decimal:
        return Decimal(repr(value)).quantize(CENT)

    return Forecast(
        expected=money(projection.expected),
        low=money(projection.low),
        high=money(projection.high),
        currency=currency,
        month=f"{today:%Y-%m}",
        month_to_date=money(projection.month_to_date),
        daily_rate=money(projection.daily_rate),
        days_observed=projection.days_observed,
        days_remaining=projection.days_remaining,
    )


def forecast_month_end(
    team_ids: Iterable[int], today: date, *, currency: str | None = None
) -> dict[int, Forecast]:
    """Month-end forecast of each team's effective cost (method: module docstring).

    One currency per team: `currency` when given, else the currency the team spent most in
    over the window read (other currencies are not converted or added). Teams with no spend
    in that window are absent. Read-only; callers scope `team_ids` (see queries.scope_for).
    """
    start, end = series_window(today)
    frame = queries.daily_series(team_ids=list(team_ids), start=start, end=end)
    if currency is not None:
        frame = frame[frame["currency"] == currency]
    if frame.empty:
        return {}
    totals = frame.groupby(["team_id", "currency"])["cost"].sum().reset_index()
    main = totals.sort_values(["cost", "currency"], ascending=[False, True]).drop_duplicates(
        "team_id"
    )
    frame = frame.merge(main[["team_id", "currency"]], on=["team_id", "currency"])
    projections = project_frame(frame, keys=["team_id", "currency"], today=today)
    # Keys come back as numpy integers: plain ints for callers.
    return {
        int(cast(int, team_id)): to_forecast(p, currency=str(cur), today=today)
        for (team_id, cur), p in projections.items()
    }
