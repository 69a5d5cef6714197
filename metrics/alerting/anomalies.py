"""Spend anomaly detection: each team's daily spend, and each (team, model)'s, against its
own history.

The rule (thresholds from settings, see `AnomalyRule`), for a series and a day D:

- history: the days with spend rows among the 28 days before D; fewer than
  ANOMALY_MIN_HISTORY_DAYS (10) gives no verdict. Missing days count as zero spend.
- D is an anomaly when all hold:
  spend(D) > ANOMALY_MULTIPLIER (3) x the median of the 7 days before D,
  spend(D) >= ANOMALY_MIN_AMOUNT (10, in the series' currency; nothing is converted),
  robust z-score > ANOMALY_ZSCORE (3), where z = 0.6745 x (spend(D) - median) / MAD over
  the 28 days before D (MAD = median absolute deviation from that median). When MAD is 0
  (a flat history), z = (spend(D) - median) / (1.253314 x mean absolute deviation from the
  median); when that is 0 too, z is +inf above the median and 0 otherwise.
- A series is one team in one currency (all its spend), or one team, model and currency.
  Spend with no team (unallocated) is not checked here.
- One spike, one incident: the anomalies of one team, currency and day make one alert. When
  the team total is anomalous the alert is the team's (subject ""), otherwise it names the
  team's largest anomalous model; either way `details["breakdown"]` lists each model's spend
  that day against its 7-day median (`anomalous` marks the models that broke the rule).
- Repeats are suppressed: no alert for a team/model/currency within ANOMALY_SUPPRESS_HOURS
  (24) of another one's day (the ledger's grain is a day, so 24 h means the day before or
  after), nor while one of its alerts is snoozed. `Alert.dedupe_key`
  (`anomaly:{team}:{day}:{currency}:{team|model:NAME}`) makes a re-run a no-op.

`score` is pure and vectorized (numpy windows over a series x day matrix): a year of days for
1,000 series takes about 1.5 s on two cores (bench/alerting.py). `anomalies_detect` loads the
series through `metrics.queries` and creates the alerts.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from numpy.lib.stride_tricks import sliding_window_view

from metrics import queries
from metrics.alerting.alerts import alerts_create_once
from metrics.models import Alert, Team
from metrics.money import format_money

logger = logging.getLogger(__name__)

MEDIAN_DAYS = 7
ZSCORE_DAYS = 28
MAD_SCALE = 0.6745  # makes MAD comparable to a standard deviation (normal data)
MEANAD_SCALE = 1.253314  # sqrt(pi/2): the same for the mean absolute deviation
# Bound memory: windows of (series x days x 28) floats are computed in chunks of this size.
CHUNK_CELLS = 2_000_000

SCORE_COLUMNS = [
    "day",
    "cost",
    "median_7d",
    "median_28d",
    "mad_28d",
    "zscore",
    "history_days",
    "has_verdict",
    "anomaly",
]


@dataclass(frozen=True)
class AnomalyRule:
    multiplier: float = 3.0
    min_amount: float = 10.0
    zscore: float = 3.0
    min_history_days: int = 10
    suppress_hours: int = 24

    @classmethod
    def from_settings(cls) -> AnomalyRule:
        return cls(
            multiplier=float(settings.ANOMALY_MULTIPLIER),
            min_amount=float(settings.ANOMALY_MIN_AMOUNT),
            zscore=float(settings.ANOMALY_ZSCORE),
            min_history_days=int(settings.ANOMALY_MIN_HISTORY_DAYS),
            suppress_hours=int(settings.ANOMALY_SUPPRESS_HOURS),
        )

    @property
    def suppress_days(self) -> int:
        return max(1, math.ceil(self.suppress_hours / 24))


def robust_zscore(value: float, history: Sequence[float] | np.ndarray) -> float:
    """0.6745 x (value - median) / MAD of `history` (fallbacks for MAD == 0: module doc)."""
    hist = np.asarray(history, dtype=float)
    if hist.size == 0:
        return math.nan
    median = float(np.median(hist))
    deviations = np.abs(hist - median)
    mad = float(np.median(deviations))
    if mad > 0:
        return MAD_SCALE * (value - median) / mad
    mean_ad = float(deviations.mean())
    if mean_ad > 0:
        return (value - median) / (MEANAD_SCALE * mean_ad)
    return math.inf if value > median else 0.0


def score(
    frame: pd.DataFrame, *, keys: Sequence[str], start: date, end: date, rule: AnomalyRule
) -> pd.DataFrame:
    """Score every series of a long frame (columns: `keys`..., day, cost) on every day of
    [start, end). The frame should hold the 28 days before `start` too (the history).

    Returns one row per series and day: the key columns, then SCORE_COLUMNS (`anomaly` is
    False when `has_verdict` is). Pure: no database.
    """
    columns = [*keys, *SCORE_COLUMNS]
    n_eval = (end - start).days
    frame = frame[(frame["day"] >= start - timedelta(days=ZSCORE_DAYS)) & (frame["day"] < end)]
    if frame.empty or n_eval <= 0:
        return pd.DataFrame(columns=columns)
    first = start - timedelta(days=ZSCORE_DAYS)
    days = [first + timedelta(days=i) for i in range(ZSCORE_DAYS + n_eval)]
    wide = frame.groupby([*keys, "day"])["cost"].sum().unstack("day").reindex(columns=days)
    present = wide.notna().to_numpy()
    values = wide.fillna(0.0).to_numpy(dtype=float)
    parts = []
    step = max(1, CHUNK_CELLS // (n_eval * ZSCORE_DAYS))
    for lo in range(0, len(values), step):
        parts.append(_score_block(values[lo : lo + step], present[lo : lo + step], rule))
    stats = {name: np.concatenate([p[name] for p in parts]).ravel() for name in parts[0]}
    out = wide.index.to_frame(index=False)
    out = out.loc[out.index.repeat(n_eval)].reset_index(drop=True)
    out["day"] = np.tile(np.array(days[ZSCORE_DAYS:], dtype=object), len(wide))
    for name in SCORE_COLUMNS[1:]:
        out[name] = stats[name]
    return out[columns]


def _score_block(values: np.ndarray, present: np.ndarray, rule: AnomalyRule) -> dict[str, Any]:
    """Scores for a block of series (rows) on the days after the first ZSCORE_DAYS columns."""
    # Window i holds columns i .. i+27: the 28 days before evaluated column 28 + i.
    history = sliding_window_view(values[:, :-1], ZSCORE_DAYS, axis=1)
    history_days = sliding_window_view(present[:, :-1], ZSCORE_DAYS, axis=1).sum(axis=2)
    cost = values[:, ZSCORE_DAYS:]
    median_28 = np.median(history, axis=2)
    deviations = np.abs(history - median_28[..., None])
    mad = np.median(deviations, axis=2)
    mean_ad = deviations.mean(axis=2)
    median_7 = np.median(history[..., -MEDIAN_DAYS:], axis=2)
    above = cost - median_28
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(
            mad > 0,
            MAD_SCALE * above / mad,
            np.where(
                mean_ad > 0, above / (MEANAD_SCALE * mean_ad), np.where(above > 0, np.inf, 0.0)
            ),
        )
    has_verdict = history_days >= rule.min_history_days
    anomaly = (
        has_verdict
        & (cost > rule.multiplier * median_7)
        & (cost >= rule.min_amount)
        & (z > rule.zscore)
    )
    return {
        "cost": cost,
        "median_7d": median_7,
        "median_28d": median_28,
        "mad_28d": mad,
        "zscore": z,
        "history_days": history_days,
        "has_verdict": has_verdict,
        "anomaly": anomaly,
    }


def score_spend(frame: pd.DataFrame, *, start: date, end: date, rule: AnomalyRule) -> pd.DataFrame:
    """Score team totals and (team, model) series of a `queries.daily_series(by_model=True)`
    frame. Returns the anomalies only, with a `model` column ("" for a team total), sorted by
    day. Pure: no database."""
    frame = frame[frame["team_id"].notna()]
    teams = frame.groupby(["team_id", "currency", "day"])["cost"].sum().reset_index()
    team_scores = score(teams, keys=["team_id", "currency"], start=start, end=end, rule=rule)
    team_scores.insert(2, "model", "")
    models = frame[frame["model"] != ""]
    model_scores = score(
        models, keys=["team_id", "currency", "model"], start=start, end=end, rule=rule
    )
    both = [s[s["anomaly"]] for s in (team_scores, model_scores) if not s.empty]
    if not both:
        return pd.DataFrame(columns=["team_id", "currency", "model", *SCORE_COLUMNS])
    found = pd.concat(both, ignore_index=True)
    found["team_id"] = found["team_id"].astype("int64")
    return found.sort_values(["day", "team_id", "currency", "model"], kind="stable")


def _incidents(
    found: pd.DataFrame,
) -> list[tuple[tuple[int, str, date], list[dict[Any, Any]]]]:
    """Anomalies grouped by (team, currency, day), in day order; in each group the team
    total first, then models by cost (largest first)."""
    groups: dict[tuple[int, str, date], list[dict[Any, Any]]] = defaultdict(list)
    for row in found.to_dict("records"):
        groups[(int(row["team_id"]), str(row["currency"]), row["day"])].append(row)
    out = []
    for key in sorted(groups, key=lambda k: (k[2], k[0], k[1])):
        rows = sorted(groups[key], key=lambda r: (r["model"] != "", -float(r["cost"])))
        out.append((key, rows))
    return out


def _breakdown(
    frame: pd.DataFrame, team_id: int, currency: str, day: date, anomalous: set[str]
) -> list[dict[str, Any]]:
    """Each model's spend of the team on `day` against its 7-day median, largest first."""
    mine = frame[
        (frame["team_id"] == team_id)
        & (frame["currency"] == currency)
        & (frame["day"] >= day - timedelta(days=MEDIAN_DAYS))
        & (frame["day"] <= day)
    ]
    if "model" not in mine.columns:
        return []
    out = []
    for model, series in mine.groupby("model"):
        by_day = series.groupby("day")["cost"].sum()
        cost = float(by_day.get(day, 0.0))
        if cost <= 0:
            continue
        before = [float(by_day.get(day - timedelta(days=i), 0.0)) for i in range(1, 8)]
        median_7 = float(np.median(before))
        out.append(
            {
                "model": str(model) or "(no model)",
                "cost": round(cost, 2),
                "median_7d": round(median_7, 2),
                "ratio": round(cost / median_7, 1) if median_7 > 0 else None,
                "anomalous": str(model) in anomalous,
            }
        )
    return sorted(out, key=lambda r: -r["cost"])


def dedupe_key(team_id: int, day: date, currency: str, model: str) -> str:
    scope = f"model:{model}" if model else "team"
    return f"anomaly:{team_id}:{day.isoformat()}:{currency}:{scope}"


def anomalies_detect(
    *,
    start: date,
    end: date,
    team_ids: Iterable[int] | None = None,
    rule: AnomalyRule | None = None,
    now: datetime | None = None,
) -> list[Alert]:
    """Check every day in [start, end) for every team (or `team_ids`) and create an Alert
    (kind anomaly) per new, unsuppressed anomaly. Returns the alerts this call created.

    Safe to re-run and to run on two workers at once: each alert is inserted once through
    its unique `dedupe_key` (metrics.alerting.alerts.alerts_create_once).
    """
    rule = rule or AnomalyRule.from_settings()
    now = now or timezone.now()
    frame = queries.daily_series(
        team_ids=None if team_ids is None else list(team_ids),
        start=start - timedelta(days=ZSCORE_DAYS),
        end=end,
        by_model=True,
    )
    found = score_spend(frame, start=start, end=end, rule=rule)
    if found.empty:
        return []
    team_ids_found = sorted({int(t) for t in found["team_id"]})
    teams = Team.objects.in_bulk(team_ids_found)
    blocked = _suppressions(team_ids_found, start, end, rule, now)
    candidates: list[Alert] = []
    window = timedelta(days=rule.suppress_days)

    def is_blocked(subject: tuple[int, str, str], day: date) -> bool:
        return subject in blocked.snoozed or any(
            abs(day - other) <= window for other in blocked.days[subject]
        )

    # One incident per team, currency and day: the team total when it is anomalous (its
    # models' spend as the breakdown), otherwise the team's anomalous models in one alert.
    for (team_id, currency, day), rows in _incidents(found):
        team = teams.get(team_id)
        if team is None:  # deleted meanwhile
            continue
        team_key = (team_id, currency, "")
        if team_key in blocked.snoozed:
            continue
        lead = rows[0]
        if lead["model"] == "":
            if is_blocked(team_key, day):
                continue
        else:
            rows = [r for r in rows if not is_blocked((team_id, currency, r["model"]), day)]
            if not rows:
                continue
            lead = rows[0]
        anomalous = {str(r["model"]) for r in rows if r["model"]}
        breakdown = _breakdown(frame, team_id, currency, day, anomalous)
        candidates.append(
            _alert(team, currency, str(lead["model"]), day, lead, rule, breakdown=breakdown)
        )
        for r in rows:
            blocked.days[(team_id, currency, str(r["model"]))].append(day)
    created = alerts_create_once(alerts=candidates)
    logger.info("anomalies %s..%s: %d found, %d new alert(s)", start, end, len(found), len(created))
    return created


@dataclass
class _Blocked:
    days: defaultdict[tuple[int, str, str], list[date]]
    snoozed: set[tuple[int, str, str]]


def _suppressions(
    team_ids: list[int], start: date, end: date, rule: AnomalyRule, now: datetime
) -> _Blocked:
    """Existing anomaly alerts that suppress new ones: near the evaluated days, or snoozed."""
    window = timedelta(days=rule.suppress_days)
    rows = Alert.objects.filter(kind=Alert.Kind.ANOMALY, team_id__in=team_ids).filter(
        Q(day__gte=start - window, day__lt=end + window)
        | Q(status=Alert.Status.SNOOZED, snoozed_until__gt=now)
    )
    blocked = _Blocked(defaultdict(list), set())
    for team_id, currency, subject, day, status, until in rows.values_list(
        "team_id", "currency", "subject", "day", "status", "snoozed_until"
    ):
        key = (int(team_id), currency, subject)
        blocked.days[key].append(day)
        if status == Alert.Status.SNOOZED and until is not None and until > now:
            blocked.snoozed.add(key)
    return blocked


def _finite(value: float) -> float | None:
    """JSON (and PostgreSQL jsonb) has no infinity or NaN."""
    return round(float(value), 4) if math.isfinite(value) else None


def _alert(
    team: Team,
    currency: str,
    model: str,
    day: date,
    row: dict[Any, Any],
    rule: AnomalyRule,
    *,
    breakdown: list[dict[str, Any]] | None = None,
) -> Alert:
    cost = float(row["cost"])
    median_7 = float(row["median_7d"])
    what = f"{team.name} on {model}" if model else team.name
    ratio = f"{cost / median_7:.1f}x" if median_7 > 0 else "far above"
    return Alert(
        kind=Alert.Kind.ANOMALY,
        dedupe_key=dedupe_key(team.pk, day, currency, model),
        team=team,
        subject=model,
        day=day,
        amount=Decimal(repr(cost)).quantize(Decimal("0.01")),
        currency=currency,
        title=(
            f"Spend anomaly: {what} spent {format_money(cost, currency)} on {day.isoformat()}, "
            f"{ratio} its 7-day median ({format_money(median_7, currency)})"
        ),
        details={
            "scope": "model" if model else "team",
            "model": model,
            "median_7d": _finite(median_7),
            "median_28d": _finite(row["median_28d"]),
            "mad_28d": _finite(row["mad_28d"]),
            "zscore": _finite(row["zscore"]),
            "history_days": int(row["history_days"]),
            "breakdown": breakdown or [],
            "rule": {
                "multiplier": rule.multiplier,
                "min_amount": rule.min_amount,
                "zscore": rule.zscore,
                "min_history_days": rule.min_history_days,
            },
        },
    )
