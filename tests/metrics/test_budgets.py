"""Budget threshold and forecast alerts, the jobs that run them, and the alert services
(acknowledge, snooze) shared by the API and Slack."""

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from metrics.alerting.alerts import (
    alert_acknowledge,
    alert_snooze,
    alerts_create_once,
    alerts_wake_snoozed,
)
from metrics.alerting.budgets import budgets_evaluate, budgets_evaluate_now
from metrics.models import Alert, Budget, DailyCost
from metrics.tasks_alerting import evaluate_budgets, single_run, wake_snoozed_alerts
from tests.factories import DailyCostFactory

JUNE_10 = date(2026, 6, 10)


def spend_daily(team, first, last, amount, **kwargs):
    day = first
    while day <= last:
        DailyCostFactory(team=team, day=day, cost=amount, **kwargs)
        day += timedelta(days=1)


def budget(team, amount="1000", **kwargs):
    kwargs.setdefault("forecast_alert", False)
    return Budget.objects.create(team=team, monthly_amount=Decimal(amount), **kwargs)


def thresholds(alerts):
    return [a.details.get("threshold") for a in alerts]


# --- thresholds ---------------------------------------------------------------------------


def test_each_threshold_fires_once_as_spend_grows(teams):
    ml = teams["ml-platform"]
    b = budget(ml)
    spend_daily(ml, date(2026, 6, 1), JUNE_10, 60)  # 600 by June 10
    first = budgets_evaluate(today=JUNE_10)
    assert thresholds(first) == [50]
    alert = first[0]
    assert alert.dedupe_key == f"budget:{b.pk}:2026-06:50"
    assert alert.title == (
        "Ml-Platform is at 60% of its 2026-06 budget (the 50% threshold): $600.00 of $1,000.00"
    )
    assert (alert.kind, alert.status, alert.team, alert.budget) == ("budget", "open", ml, b)
    assert (alert.amount, alert.currency, alert.day) == (Decimal("600.00"), "USD", JUNE_10)
    run = alert.details.pop("run")  # which evaluation created it
    assert isinstance(run, str) and len(run) == 32
    assert alert.details == {
        "period": "2026-06",
        "threshold": 50,
        "spent": "600.00",
        "budget": "1000.00",
        "percent": 60.0,
        "application_key": "",
    }
    assert budgets_evaluate(today=JUNE_10) == []  # a re-run, a restart, a second worker
    DailyCostFactory(team=ml, day=date(2026, 6, 11), cost=250)  # 850
    assert thresholds(budgets_evaluate(today=date(2026, 6, 11))) == [80]
    assert budgets_evaluate(today=date(2026, 6, 12)) == []
    DailyCostFactory(
        team=ml, day=date(2026, 6, 12), cost="150.00"
    )  # exactly 1000.00: "reached" 100 %
    assert thresholds(budgets_evaluate(today=date(2026, 6, 12))) == [100]
    assert Alert.objects.filter(budget=b).count() == 3


def test_crossing_a_threshold_twice_in_a_month_fires_once(teams):
    ml = teams["ml-platform"]
    budget(ml)
    DailyCostFactory(team=ml, day=date(2026, 6, 3), cost=900)
    assert thresholds(budgets_evaluate(today=JUNE_10)) == [80]
    DailyCost.objects.all().delete()  # e.g. a re-allocation moved the spend to another team
    DailyCostFactory(team=ml, day=date(2026, 6, 3), cost=400)
    assert budgets_evaluate(today=JUNE_10) == []
    DailyCostFactory(team=ml, day=date(2026, 6, 9), cost=500)  # over 80 % again
    assert budgets_evaluate(today=date(2026, 6, 11)) == []
    assert Alert.objects.count() == 2  # 50 (superseded) and 80


def test_a_jump_over_several_thresholds_announces_only_the_highest(teams):
    ml = teams["ml-platform"]
    b = budget(ml, thresholds=[100, 25, 80])
    DailyCostFactory(team=ml, day=date(2026, 6, 2), cost=1200)  # one big import
    announced = budgets_evaluate(today=JUNE_10)
    assert thresholds(announced) == [100]
    rows = {a.details["threshold"]: a for a in Alert.objects.filter(budget=b)}
    assert sorted(rows) == [25, 80, 100]
    assert rows[25].status == rows[80].status == Alert.Status.RESOLVED
    assert rows[25].details["superseded_by"] == 100 and "superseded_by" not in rows[100].details
    assert budgets_evaluate(today=date(2026, 6, 20)) == []


def test_a_budget_counts_only_its_currency(teams):
    ml = teams["ml-platform"]
    budget(ml, "100")  # USD
    eur = budget(ml, "1000", currency="EUR")
    DailyCostFactory(team=ml, day=JUNE_10, cost=90)
    DailyCostFactory(team=ml, day=JUNE_10, cost=500, currency="EUR")
    announced = budgets_evaluate(today=JUNE_10)
    # USD 90/100 -> 80 % (not 100 % with the euros added); EUR 500/1000 -> 50 %.
    assert sorted((a.currency, a.details["threshold"]) for a in announced) == [
        ("EUR", 50),
        ("USD", 80),
    ]
    assert next(a for a in announced if a.currency == "EUR").budget == eur


def test_an_application_budget_counts_only_that_application(teams):
    ml = teams["ml-platform"]
    b = budget(ml, "100", application_key="chatbot")
    DailyCostFactory(team=ml, day=JUNE_10, cost=500, application_key="search-api")
    DailyCostFactory(team=ml, day=JUNE_10, cost=40, application_key="chatbot")
    assert budgets_evaluate(today=JUNE_10) == []
    DailyCostFactory(team=ml, day=JUNE_10, cost=20, application_key="chatbot", model="gpt-4o-mini")
    [alert] = budgets_evaluate(today=JUNE_10)
    assert alert.budget == b and alert.subject == "chatbot" and alert.amount == Decimal("60.00")
    assert alert.title.startswith("Ml-Platform (chatbot) is at 60% of its 2026-06 budget")


def test_malformed_thresholds_fall_back_to_the_defaults(teams):
    ml = teams["ml-platform"]
    budget(ml, thresholds=["eighty"])
    DailyCostFactory(team=ml, day=JUNE_10, cost=850)
    assert thresholds(budgets_evaluate(today=JUNE_10)) == [80]


def test_no_spend_no_budget_no_alert(teams):
    ml, search = teams["ml-platform"], teams["search"]
    budget(ml)
    budget(search, "0")  # not a usable budget
    budget(search, "-5", currency="EUR")
    budget(teams["support-assistant"], active=False)
    DailyCostFactory(team=search, day=JUNE_10, cost=10)
    DailyCostFactory(team=teams["support-assistant"], day=JUNE_10, cost=5000)
    assert budgets_evaluate(today=JUNE_10) == []
    DailyCost.objects.all().delete()
    DailyCostFactory(team=ml, day=JUNE_10, cost=0)  # zero spend rows
    assert budgets_evaluate(today=JUNE_10) == []


def test_months_are_separate_and_late_data_reaches_the_previous_month(teams):
    ml = teams["ml-platform"]
    b = budget(ml)
    DailyCostFactory(team=ml, day=date(2026, 5, 20), cost=700)  # May: 70 %
    DailyCostFactory(team=ml, day=date(2026, 6, 1), cost=100)  # June: 10 %
    [may] = budgets_evaluate(today=date(2026, 6, 2))
    assert may.details["period"] == "2026-05" and may.day == date(2026, 5, 31)
    assert may.dedupe_key == f"budget:{b.pk}:2026-05:50"
    DailyCostFactory(
        team=ml, day=date(2026, 5, 31), cost=200
    )  # May's last bill arrives on June 3: 90 %
    [late] = budgets_evaluate(today=date(2026, 6, 3))
    assert (late.details["period"], late.details["threshold"]) == ("2026-05", 80)
    DailyCostFactory(
        team=ml, day=date(2026, 5, 31), cost=200
    )  # on June 4 May is closed: no more May alerts
    assert budgets_evaluate(today=date(2026, 6, 4)) == []


def test_team_time_zones_decide_the_current_month(teams):
    la, utc = teams["ml-platform"], teams["search"]
    la.time_zone = "America/Los_Angeles"
    la.save()
    budget(la)
    budget(utc)
    for team in (la, utc):
        DailyCostFactory(
            team=team, day=date(2026, 6, 1), cost=600
        )  # the first UTC ledger day of June
    # 03:00 UTC on June 1 is still May 31 in Los Angeles: its May has no such spend.
    announced = budgets_evaluate_now(now=datetime(2026, 6, 1, 3, 0, tzinfo=UTC))
    assert [(a.team, a.details["period"]) for a in announced] == [(utc, "2026-06")]
    later = budgets_evaluate_now(now=datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
    assert [(a.team, a.details["period"]) for a in later] == [(la, "2026-06")]


# --- forecast alerts ----------------------------------------------------------------------


def test_forecast_over_budget_alerts_once_a_month(teams):
    ml = teams["ml-platform"]
    b = budget(ml, forecast_alert=True)
    spend_daily(ml, date(2026, 5, 25), JUNE_10, 40)  # June 1..10: 400; 40 a day
    # June 11: 400 so far + 20 days x 40 = 1200 expected, over 1000.
    [alert] = budgets_evaluate(today=date(2026, 6, 11))
    assert alert.kind == Alert.Kind.FORECAST
    assert alert.dedupe_key == f"forecast:{b.pk}:2026-06"
    assert alert.amount == Decimal("1200.00")
    assert alert.title == (
        "Ml-Platform is on track to spend $1,200.00 in 2026-06 "
        "(range $1,200.00-$1,200.00), over its $1,000.00 budget"
    )
    assert alert.details["month_to_date"] == "400.00" and alert.details["days_observed"] == 17
    assert budgets_evaluate(today=date(2026, 6, 12)) == []


def test_forecast_follows_a_price_change_mid_month(teams):
    ml = teams["ml-platform"]
    budget(ml, "600", forecast_alert=True)
    spend_daily(ml, date(2026, 6, 1), date(2026, 6, 14), 10)
    spend_daily(ml, date(2026, 6, 15), date(2026, 6, 20), 30)  # new price: 3x
    # 320 spent; the month-to-date average (16/day) says 480, the recent rate says 620.
    half, alert = budgets_evaluate(today=date(2026, 6, 21))
    assert half.details["threshold"] == 50  # 320 of 600
    assert alert.kind == Alert.Kind.FORECAST and alert.amount == Decimal("620.00")
    assert (alert.details["low"], alert.details["high"]) == ("420.00", "620.00")


def test_no_forecast_alert_without_enough_days_under_budget_or_when_off(teams):
    ml, search, support = teams["ml-platform"], teams["search"], teams["support-assistant"]
    budget(ml, "100", forecast_alert=True)
    spend_daily(ml, date(2026, 6, 5), date(2026, 6, 9), 10)  # 5 days observed: too few
    budget(search, "1000", forecast_alert=True)
    spend_daily(search, date(2026, 5, 20), JUNE_10, 20)  # 600 expected: under budget
    budget(support, "100", forecast_alert=False)
    spend_daily(support, date(2026, 5, 20), JUNE_10, 4)  # 120 expected, but switched off
    announced = budgets_evaluate(today=date(2026, 6, 10))
    # Only ml-platform's 50 % (50 of 100): 5 observed days are too few to forecast from.
    assert [(a.kind, a.team, a.details.get("threshold")) for a in announced] == [("budget", ml, 50)]


def test_no_forecast_alert_once_the_budget_is_spent(teams):
    ml = teams["ml-platform"]
    budget(ml, "100", forecast_alert=True)
    spend_daily(ml, date(2026, 5, 20), JUNE_10, 20)
    announced = budgets_evaluate(today=JUNE_10 + timedelta(days=1))
    assert [(a.kind, a.details.get("threshold")) for a in announced] == [("budget", 100)]


# --- concurrency and the job --------------------------------------------------------------


def test_two_evaluations_create_one_set_of_alerts(teams):
    ml = teams["ml-platform"]
    budget(ml, forecast_alert=True)
    spend_daily(ml, date(2026, 5, 20), JUNE_10, 60)
    first = budgets_evaluate(today=JUNE_10)
    second = budgets_evaluate(today=JUNE_10)
    assert len(first) == 2 and second == []  # 50 % and the forecast
    assert Alert.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_create_each_alert_once(teams, monkeypatch):
    """Two threads (two database connections) evaluate the same budgets at the same time."""
    created: list[int] = []

    def counted(*, alerts):
        mine = alerts_create_once(alerts=alerts)
        created.append(len(mine))
        return mine

    monkeypatch.setattr("metrics.alerting.budgets.alerts_create_once", counted)
    for team in teams.values():
        budget(team, "100", thresholds=[10, 20, 30, 40, 50, 60, 70, 80, 90, 100])
        spend_daily(team, date(2026, 6, 1), JUNE_10, 12)  # 120 %: every threshold
    start = threading.Barrier(2)
    results: list[list[Alert]] = []
    errors: list[BaseException] = []

    def work():
        try:
            start.wait()
            results.append(budgets_evaluate(today=JUNE_10))
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
    assert Alert.objects.count() == 3 * 10  # each threshold of each budget once
    assert len(created) == 2 and sum(created) == 30  # between them, each alert once
    announced = results[0] + results[1]
    # The 100 % alert of each budget is announced by exactly one of the two workers.
    assert sorted(a.budget.team.slug for a in announced) == sorted(t.slug for t in teams.values())


def test_the_job_runs_once_at_a_time_and_is_safe_to_repeat(teams):
    ml = teams["ml-platform"]
    budget(ml)
    DailyCostFactory(team=ml, day=timezone.now().date(), cost=600)
    with single_run("evaluate_budgets") as mine:
        assert mine
        with single_run("evaluate_budgets") as again:
            assert not again  # the lock lives in the shared cache, not in this process
        assert evaluate_budgets() == []
    assert cache.get("metrics:lock:evaluate_budgets") is None  # released
    ids = evaluate_budgets()
    assert len(ids) == 1 and Alert.objects.get(pk=ids[0]).details["threshold"] == 50
    assert evaluate_budgets() == []


def test_the_lock_cache_is_shared_between_processes(settings):
    backend = settings.CACHES["default"]["BACKEND"]
    assert backend in (
        "django.core.cache.backends.db.DatabaseCache",
        "django.core.cache.backends.redis.RedisCache",
    )


# --- acknowledge and snooze ---------------------------------------------------------------


@pytest.fixture
def alert(teams):
    ml = teams["ml-platform"]
    budget(ml)
    DailyCostFactory(team=ml, day=JUNE_10, cost=600)
    [alert] = budgets_evaluate(today=JUNE_10)
    return alert


def test_a_team_member_acknowledges_once(alert, people):
    done = alert_acknowledge(alert=alert, user=people["engineer"])
    assert done.status == Alert.Status.ACKNOWLEDGED and done.acknowledged_by == people["engineer"]
    first_at = done.acknowledged_at
    again = alert_acknowledge(alert=alert, user=people["teammate"])  # a double click
    assert again.acknowledged_by == people["engineer"] and again.acknowledged_at == first_at
    assert [e["action"] for e in again.details["events"]] == ["ack"]


@pytest.mark.parametrize("who", ["outsider", "hr"])
def test_others_may_not_touch_a_teams_alert(alert, people, who):
    with pytest.raises(PermissionDenied):
        alert_acknowledge(alert=alert, user=people[who])
    with pytest.raises(PermissionDenied):
        alert_snooze(alert=alert, user=people[who], until=timezone.now() + timedelta(hours=1))
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN


def test_snooze_then_wake_up(alert, people):
    with pytest.raises(ValidationError):
        alert_snooze(alert=alert, user=people["lead"], until=timezone.now() - timedelta(hours=1))
    until = timezone.now() + timedelta(hours=4)
    snoozed = alert_snooze(alert=alert, user=people["admin"], until=until)
    assert snoozed.status == Alert.Status.SNOOZED and snoozed.snoozed_until == until
    assert snoozed.details["events"][0]["action"] == "snooze"
    assert alerts_wake_snoozed(now=until - timedelta(minutes=1)) == 0
    assert alerts_wake_snoozed(now=until) == 1
    snoozed.refresh_from_db()
    assert snoozed.status == Alert.Status.OPEN and snoozed.snoozed_until is None
    assert wake_snoozed_alerts() == 0
    acked = alert_acknowledge(alert=alert, user=people["lead"])
    assert alert_snooze(alert=acked, user=people["lead"], until=until).status == "acknowledged"


def test_the_jobs_are_registered_and_scheduled(db):
    from django_celery_beat.models import PeriodicTask

    from config.celery import app
    from metrics.schedules import ensure_periodic_tasks

    ensure_periodic_tasks()
    scheduled = dict(PeriodicTask.objects.values_list("task", "interval__every"))
    assert scheduled["metrics.evaluate_budgets"] == 3600
    assert scheduled["metrics.detect_anomalies"] == 3600
    assert scheduled["metrics.wake_snoozed_alerts"] == 300
    app.loader.import_default_modules()
    assert {"metrics.evaluate_budgets", "metrics.detect_anomalies"} <= set(app.tasks)


def test_admin_lists_budgets_and_acknowledges_alerts(client, alert, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root")
    client.force_login(root)
    assert client.get("/admin/metrics/budget/").status_code == 200
    assert client.get("/admin/metrics/alert/").status_code == 200
    assert client.get(f"/admin/metrics/alert/{alert.pk}/change/").status_code == 200
    response = client.post(
        "/admin/metrics/alert/",
        {"action": "acknowledge", "_selected_action": [alert.pk]},
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED and alert.acknowledged_by == root


def test_the_title_says_the_real_percentage(teams):
    ml = teams["ml-platform"]
    budget(ml)
    DailyCostFactory(team=ml, day=date(2026, 6, 3), cost="1944.80")
    (alert,) = [a for a in budgets_evaluate(today=JUNE_10) if a.status == "open"]
    assert alert.details["threshold"] == 100
    assert alert.title == (
        "Ml-Platform is at 194% of its 2026-06 budget (the 100% threshold): $1,944.80 of $1,000.00"
    )
