"""The portal's periodic jobs (django-celery-beat, kept in the database). Safe to re-run."""

from typing import Any

from django_celery_beat.models import CrontabSchedule, PeriodicTask

BOARD_REPORT_TASK = "store last month's board report"


def ensure_portal_periodic_tasks() -> None:
    # Every hour of the first day of the month: the first run stores the report, a run
    # missed while workers were down is caught up by the next one, later runs do nothing.
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="20", hour="*", day_of_month="1", month_of_year="*", day_of_week="*"
    )
    PeriodicTask.objects.update_or_create(
        name=BOARD_REPORT_TASK,
        defaults={"task": "portal.board_report_monthly", "crontab": crontab, "enabled": True},
    )


def ensure_portal_periodic_tasks_after_migrate(**kwargs: Any) -> None:
    ensure_portal_periodic_tasks()
