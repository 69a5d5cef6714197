from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BotConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "bot"
    verbose_name = "Slack bot"

    def ready(self) -> None:
        from bot import schedules

        post_migrate.connect(schedules.ensure_bot_periodic_tasks_after_migrate, sender=self)
