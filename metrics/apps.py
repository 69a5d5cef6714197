from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MetricsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "metrics"
    verbose_name = "Cost ledger"

    def ready(self) -> None:
        from metrics import schedules

        post_migrate.connect(schedules.ensure_periodic_tasks_after_migrate, sender=self)
