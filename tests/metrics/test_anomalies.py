"""Anomaly detection: the pure statistics on hand-computed series, then the service on
DailyCost rows (alerts, idempotency, suppression, snoozes)."""

import math
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from django.utils import timezone

from metrics.alerting.alerts import alert_snooze
from metrics.alerting.anomalies import (
    AnomalyRule,
    anomalies_detect,
    robust_zscore,
    score,
    score_spend,
)
from metrics.models import Alert
from metrics.tasks_alerting import detect_anomalies, single_run
from tests.factories import DailyCostFactory

D = date(2026, 6, 15)
RULE = AnomalyRule()  # the defaults: 3x, $10, z 3, 10 days, 24 h


def frame(
    values: list[float], *, last: date = D, team_id: int = 1, currency: str = "USD"
) -> pd.DataFrame:
    """One series ending on `last`, one row per value."""
    first = last - timedelta(days=len(values) - 1)
    return pd.DataFrame(
        {
            "team_id": team_id,
            "currency": currency,
            "day": [first + timedelta(days=i) for i in range(len(values))],
            "cost": values,
        }
    )


def verdict(values: list[float], rule: AnomalyRule = RULE) -> dict:
    """Score the last value of `values` against the ones before it."""
    scored = score(
        frame(values), keys=["team_id", "currency"], start=D, end=D + timedelta(1), rule=rule
    )
    assert len(scored) == 1
    return scored.iloc[0].to_dict()


def history(team, amounts, *, last=D - timedelta(1), **kwargs):
    for i, amount in enumerate(reversed(amounts)):
        DailyCostFactory(team=team, day=last - timedelta(days=i), cost=amount, **kwargs)


# --- pure statistics ---------------------------------------------------------------------


def test_robust_zscore_by_hand():
    # median 3, |deviations| 2,1,0,1,2 -> MAD 1: z = 0.6745 x (10 - 3) / 1
    assert robust_zscore(10, [1, 2, 3, 4, 5]) == pytest.approx(4.7215)
    # MAD 0 (27 x 10 and one 20): mean |deviation| 10/28, z = 30 / (1.253314 x 10/28)
    assert robust_zscore(40, [10] * 27 + [20]) == pytest.approx(30 / (1.253314 * 10 / 28))
    assert robust_zscore(11, [10] * 28) == math.inf  # a flat history
    assert robust_zscore(10, [10] * 28) == 0
    assert math.isnan(robust_zscore(10, []))


def test_a_clear_spike_is_an_anomaly():
    # 28 days alternating 10 / 12: median 11, MAD 1; last 7 days median 12 (3x = 36).
    hist = [10.0 if i % 2 == 0 else 12.0 for i in range(28)]
    v = verdict([*hist, 40.0])
    assert (v["median_28d"], v["mad_28d"], v["median_7d"], v["history_days"]) == (11, 1, 12, 28)
    assert v["zscore"] == pytest.approx(0.6745 * 29)
    assert v["has_verdict"] and v["anomaly"]
    assert verdict([*hist, 37.0])["anomaly"]
    assert not verdict([*hist, 35.0])["anomaly"]  # z is high, but 35 < 3 x 12


def test_small_amounts_are_never_anomalies():
    hist = [1.0 if i % 2 == 0 else 1.2 for i in range(28)]
    v = verdict([*hist, 9.99])
    assert v["zscore"] > 3 and v["cost"] > 3 * v["median_7d"] and not v["anomaly"]
    assert verdict([*hist, 10.0])["anomaly"]  # "at least $10"
    assert not verdict([*hist, 10.0], AnomalyRule(min_amount=25))["anomaly"]


def test_a_noisy_history_needs_a_high_zscore():
    # 21 days alternating 0 / 100, then 7 days at 5: median7 5 (3x = 15), median28 5,
    # MAD 5 -> z(20) = 0.6745 x 15 / 5 = 2.02 < 3.
    hist = [0.0 if i % 2 == 0 else 100.0 for i in range(21)] + [5.0] * 7
    v = verdict([*hist, 20.0])
    assert (v["median_7d"], v["median_28d"], v["mad_28d"]) == (5, 5, 5)
    assert v["zscore"] == pytest.approx(2.0235)
    assert not v["anomaly"]
    assert verdict([*hist, 20.0], AnomalyRule(zscore=2))["anomaly"]


def test_fewer_than_ten_days_of_history_gives_no_verdict():
    short = verdict([10.0] * 9 + [500.0])
    assert short["history_days"] == 9 and not short["has_verdict"] and not short["anomaly"]
    enough = verdict([10.0] * 10 + [500.0])
    assert enough["history_days"] == 10 and enough["has_verdict"] and enough["anomaly"]
    assert not verdict([10.0] * 10 + [500.0], AnomalyRule(min_history_days=11))["has_verdict"]


def test_no_history_at_all():
    scored = score(
        frame([500.0]), keys=["team_id", "currency"], start=D, end=D + timedelta(1), rule=RULE
    )
    assert scored.iloc[0]["history_days"] == 0 and not scored.iloc[0]["anomaly"]
    empty = frame([]).astype({"cost": float})
    assert score(
        empty, keys=["team_id", "currency"], start=D, end=D + timedelta(1), rule=RULE
    ).empty


def test_zero_spend_history():
    # Days with rows but no cost are history: a jump from 0 is anomalous (z = +inf).
    v = verdict([0.0] * 12 + [50.0])
    assert v["median_7d"] == 0 and v["zscore"] == math.inf and v["anomaly"]
    assert not verdict([0.0] * 13)["anomaly"]


def test_missing_days_count_as_zero_spend():
    # Spend every 3rd day only (10 rows in 28 days): medians are 0, not 30.
    values = {D - timedelta(days=3 * i): 30.0 for i in range(1, 11)}
    df = pd.DataFrame(
        {"team_id": 1, "currency": "USD", "day": list(values), "cost": list(values.values())}
    )
    df = pd.concat([df, frame([31.0])])
    v = score(df, keys=["team_id", "currency"], start=D, end=D + timedelta(1), rule=RULE).iloc[0]
    assert v["history_days"] == 9  # 10 rows, but the oldest is 30 days before D
    assert v["median_7d"] == 0 and v["median_28d"] == 0


def test_every_day_of_a_range_is_scored_at_once():
    # A 40-day series scored on its last 12 days; the spike on day 35 only.
    values = [10.0] * 40
    values[35] = 100.0
    first = D - timedelta(days=39)
    df = frame(values)
    scored = score(
        df,
        keys=["team_id", "currency"],
        start=first + timedelta(days=28),
        end=D + timedelta(1),
        rule=RULE,
    )
    assert len(scored) == 12
    assert list(scored.loc[scored["anomaly"], "day"]) == [first + timedelta(days=35)]


def test_currencies_are_separate_series_and_models_too():
    usd_a = frame([1000.0] * 20 + [1000.0], team_id=1)
    usd_a["model"] = "big"
    usd_b = frame([5.0] * 20 + [50.0], team_id=1)
    usd_b["model"] = "small"
    eur = frame([1.0] * 20 + [60.0], team_id=1, currency="EUR")
    eur["model"] = "small"
    found = score_spend(pd.concat([usd_a, usd_b, eur]), start=D, end=D + timedelta(1), rule=RULE)
    # USD team total 1050 vs 1005: no anomaly. USD "small" 50 vs 5: yes. EUR (alone) 60 vs 1:
    # yes, as the EUR team total and as its "small" model; added to USD it would vanish.
    assert sorted(zip(found["currency"], found["model"], strict=True)) == [
        ("EUR", ""),
        ("EUR", "small"),
        ("USD", "small"),
    ]


# --- the service ---------------------------------------------------------------------------


def test_detect_creates_one_alert_and_a_rerun_creates_none(teams):
    ml = teams["ml-platform"]
    history(ml, [10.0] * 28)
    DailyCostFactory(team=ml, day=D, cost=80)
    DailyCostFactory(
        team=ml, day=D, cost=5, model=""
    )  # spend with no model counts in the team total only
    created = anomalies_detect(start=D, end=D + timedelta(1))
    # The team total and its one model both break the rule: one incident, one alert.
    assert [(a.subject, a.amount, a.currency) for a in created] == [("", Decimal("85.00"), "USD")]
    team_alert = created[0]
    assert team_alert.kind == Alert.Kind.ANOMALY and team_alert.team == ml and team_alert.day == D
    assert team_alert.dedupe_key == f"anomaly:{ml.pk}:2026-06-15:USD:team"
    assert team_alert.details["breakdown"] == [
        {"model": "gpt-4o", "cost": 80.0, "median_7d": 10.0, "ratio": 8.0, "anomalous": True},
        {"model": "(no model)", "cost": 5.0, "median_7d": 0.0, "ratio": None, "anomalous": False},
    ]
    assert team_alert.title == (
        "Spend anomaly: Ml-Platform spent $85.00 on 2026-06-15, 8.5x its 7-day median ($10.00)"
    )
    assert team_alert.details["zscore"] is None  # +inf (flat history) is not valid JSON
    assert team_alert.details["median_7d"] == 10 and team_alert.details["history_days"] == 28
    # A restart, a second worker, an hourly re-run: nothing new.
    assert anomalies_detect(start=D, end=D + timedelta(1)) == []
    assert anomalies_detect(start=D - timedelta(1), end=D + timedelta(2)) == []
    assert Alert.objects.count() == 1


def test_one_spike_of_a_single_model_team_is_one_incident(teams):
    ml = teams["ml-platform"]
    history(ml, [10.0] * 20)
    DailyCostFactory(team=ml, day=D, cost=100)
    (alert,) = anomalies_detect(start=D, end=D + timedelta(1))
    assert alert.subject == "" and alert.details["scope"] == "team"
    assert [(b["model"], b["anomalous"]) for b in alert.details["breakdown"]] == [("gpt-4o", True)]
    assert Alert.objects.count() == 1


def test_a_model_spike_hidden_in_the_team_total_is_its_own_incident(teams):
    ml = teams["ml-platform"]
    history(ml, [1000.0] * 20, model="big")
    history(ml, [10.0] * 20, model="small")
    history(ml, [10.0] * 20, model="tiny")
    DailyCostFactory(team=ml, day=D, cost=1000, model="big")
    DailyCostFactory(team=ml, day=D, cost=100, model="small")
    DailyCostFactory(team=ml, day=D, cost=60, model="tiny")
    (alert,) = anomalies_detect(start=D, end=D + timedelta(1))
    assert alert.subject == "small" and alert.details["scope"] == "model"
    assert [(b["model"], b["anomalous"]) for b in alert.details["breakdown"]] == [
        ("big", False),
        ("small", True),
        ("tiny", True),
    ]


def test_long_names_fit_the_alert(teams):
    ml = teams["ml-platform"]
    ml.name = "N" * 120
    ml.save()
    model = "m" * 200
    history(ml, [10.0] * 20, model=model)
    DailyCostFactory(team=ml, day=D, cost=100, model=model)
    (team_alert,) = anomalies_detect(start=D, end=D + timedelta(1))
    assert team_alert.title.startswith("Spend anomaly: NNNN")
    Alert.objects.all().delete()
    history(ml, [1000.0] * 21, model="steady", last=D)  # the team total stays normal
    (model_alert,) = anomalies_detect(start=D, end=D + timedelta(1))
    assert len(model_alert.title) == 300 and model_alert.title.endswith("\u2026")
    assert model_alert.subject == model and len(model_alert.dedupe_key) <= 300


def test_unallocated_spend_and_teams_without_history_are_not_checked(teams):
    history(None, [10.0] * 20)
    DailyCostFactory(team=None, day=D, cost=500)
    DailyCostFactory(team=teams["search"], day=D - timedelta(1), cost=10)
    DailyCostFactory(team=teams["search"], day=D, cost=500)
    assert anomalies_detect(start=D, end=D + timedelta(1)) == []


def test_repeats_are_suppressed_for_24_hours(teams):
    ml = teams["ml-platform"]
    history(ml, [10.0] * 20)
    for i in range(3):  # D, D+1 and D+2 are each anomalous against their history
        DailyCostFactory(team=ml, day=D + timedelta(days=i), cost=100)
    first = anomalies_detect(start=D, end=D + timedelta(1), team_ids=[ml.pk])
    assert [a.day for a in first] == [D]  # one incident: team total and model
    # The next day is within 24 h of D's alert: suppressed, in a later run too.
    assert anomalies_detect(start=D + timedelta(1), end=D + timedelta(2)) == []
    later = anomalies_detect(start=D + timedelta(2), end=D + timedelta(3))
    assert [a.day for a in later] == [D + timedelta(2)]
    # One backfill over the three days gives the same answer (D and D+2).
    Alert.objects.all().delete()
    backfill = anomalies_detect(start=D, end=D + timedelta(3))
    assert sorted({a.day for a in backfill}) == [D, D + timedelta(2)]


def test_a_snoozed_alert_silences_its_team_and_model(teams, people):
    ml = teams["ml-platform"]
    history(ml, [10.0] * 20)
    for i in range(3):
        DailyCostFactory(team=ml, day=D + timedelta(days=i), cost=100)
    (team_alert,) = anomalies_detect(start=D, end=D + timedelta(1))
    alert_snooze(
        alert=team_alert, user=people["engineer"], until=timezone.now() + timedelta(days=7)
    )
    assert anomalies_detect(start=D + timedelta(2), end=D + timedelta(3)) == []


def test_a_snoozed_model_incident_silences_that_model_only(teams, people):
    ml = teams["ml-platform"]
    history(ml, [1000.0] * 20, model="big")
    history(ml, [10.0] * 20, model="small")
    for i in range(3):
        DailyCostFactory(team=ml, day=D + timedelta(days=i), cost=1000, model="big")
        DailyCostFactory(team=ml, day=D + timedelta(days=i), cost=100, model="small")
    (model_alert,) = anomalies_detect(start=D, end=D + timedelta(1))
    assert model_alert.subject == "small"
    alert_snooze(
        alert=model_alert, user=people["engineer"], until=timezone.now() + timedelta(days=7)
    )
    DailyCostFactory(
        team=ml, day=D + timedelta(days=2), cost=5000, model="big"
    )  # now the team total spikes
    later = anomalies_detect(start=D + timedelta(2), end=D + timedelta(3))
    assert [a.subject for a in later] == [""]


def test_configured_thresholds_apply(teams, settings):
    ml = teams["ml-platform"]
    history(ml, [10.0] * 20)
    DailyCostFactory(team=ml, day=D, cost=45)
    settings.ANOMALY_MULTIPLIER = 5.0
    assert anomalies_detect(start=D, end=D + timedelta(1)) == []
    settings.ANOMALY_MULTIPLIER = 4.0
    assert len(anomalies_detect(start=D, end=D + timedelta(1))) == 1


def test_the_task_skips_while_another_run_holds_the_lock(teams):
    ml = teams["ml-platform"]
    today = timezone.now().date()
    history(ml, [10.0] * 20, last=today - timedelta(1))
    DailyCostFactory(team=ml, day=today, cost=100)
    with single_run("detect_anomalies") as mine:
        assert mine
        assert detect_anomalies() == []  # another run holds the lock
    ids = detect_anomalies()
    assert len(ids) == 1 and detect_anomalies() == []
    window = detect_anomalies(start=(today - timedelta(5)).isoformat(), end=today.isoformat())
    assert window == []


@pytest.mark.parametrize(
    "name,raw",
    [
        ("ANOMALY_ZSCORE", "high"),
        ("ANOMALY_MULTIPLIER", "0"),
        ("ANOMALY_MIN_AMOUNT", "-5"),
        ("ANOMALY_MIN_HISTORY_DAYS", "7.5"),
        ("ANOMALY_SUPPRESS_HOURS", "inf"),
    ],
)
def test_malformed_thresholds_stop_start_up_naming_the_variable(monkeypatch, name, raw):
    from django.core.exceptions import ImproperlyConfigured

    from config.settings.base import positive_number

    monkeypatch.setenv(name, raw)
    with pytest.raises(ImproperlyConfigured, match=f"^{name} is malformed"):
        positive_number(name, 3.0, whole=name.endswith(("DAYS", "HOURS")))
    monkeypatch.setenv(name, "12")
    assert positive_number(name, 3.0, whole=True) == 12


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_raise_each_anomaly_once(teams):
    import threading

    from django.db import connection

    for team in teams.values():
        history(team, [10.0] * 20)
        DailyCostFactory(team=team, day=D, cost=100)
    start = threading.Barrier(2)
    results: list[list[Alert]] = []
    errors: list[BaseException] = []

    def work():
        try:
            start.wait()
            results.append(anomalies_detect(start=D, end=D + timedelta(1)))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert Alert.objects.count() == 3  # one incident per team
    assert len(results) == 2 and len(results[0]) + len(results[1]) == 3
