"""Interval jobs of every app (metrics, bot) go through metrics.schedules.ensure_interval_tasks."""

from django_celery_beat.models import PeriodicTask

from bot.schedules import BOT_PERIODIC_TASKS, ensure_bot_periodic_tasks
from metrics.schedules import PERIODIC_TASKS, ensure_interval_tasks, ensure_periodic_tasks


def test_an_interval_job_is_one_entry_that_follows_its_interval(db):
    ensure_interval_tasks({"tick": ("metrics.heartbeat", 60)})
    PeriodicTask.objects.filter(name="tick").update(enabled=False)
    ensure_interval_tasks({"tick": ("metrics.heartbeat", 120)})
    (entry,) = PeriodicTask.objects.filter(name="tick")
    assert (entry.task, entry.interval.every, entry.interval.period, entry.enabled) == (
        "metrics.heartbeat",
        120,
        "seconds",
        True,
    )


def test_metrics_and_bot_jobs_are_all_registered_and_safe_to_re_run(db):
    ensure_periodic_tasks()
    ensure_bot_periodic_tasks()
    ensure_bot_periodic_tasks()
    jobs = {**PERIODIC_TASKS, **BOT_PERIODIC_TASKS}
    stored = {
        name: (task, every)
        for name, task, every in PeriodicTask.objects.filter(name__in=jobs).values_list(
            "name", "task", "interval__every"
        )
    }
    assert stored == jobs
