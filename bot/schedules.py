"""The bot's periodic jobs, kept in the database by django-celery-beat like metrics' own
(metrics/schedules.py). Created after every migrate; safe to re-run."""

from typing import Any

from metrics.schedules import ensure_interval_tasks

# name -> (task, every N seconds). The weekly summary job runs often and posts each team's
# summary once, on Monday from 09:00 in the team's time zone (see bot/summaries.py).
BOT_PERIODIC_TASKS: dict[str, tuple[str, int]] = {
    "bot: post new alerts to Slack": ("bot.post_alerts", 60),
    "bot: post remediation actions and their results": ("bot.post_actions", 5 * 60),
    "bot: weekly efficiency summaries": ("bot.weekly_summaries", 5 * 60),
    "bot: waste nudges": ("bot.send_nudges", 30 * 60),
    # learning nudges: every hour, so each person gets theirs in working hours, once a change
    "bot: learning nudges": ("bot.send_learning_nudges", 60 * 60),
    "bot: prune old Slack event ids and deliveries": ("bot.prune", 24 * 60 * 60),
}


def ensure_bot_periodic_tasks() -> None:
    ensure_interval_tasks(BOT_PERIODIC_TASKS)


def ensure_bot_periodic_tasks_after_migrate(**kwargs: Any) -> None:
    ensure_bot_periodic_tasks()
