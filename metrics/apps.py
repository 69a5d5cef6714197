from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class MetricsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "metrics"
    verbose_name = "Cost ledger"

    def ready(self) -> None:
        from metrics import schedules, signals
        from metrics.models import AllocationRule

        post_migrate.connect(schedules.ensure_periodic_tasks_after_migrate, sender=self)
        post_save.connect(signals.queue_reallocation, sender=AllocationRule)
        post_delete.connect(signals.queue_reallocation, sender=AllocationRule)
