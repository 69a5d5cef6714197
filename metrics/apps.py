from typing import Any

from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_delete, post_migrate, post_save


def create_cache_table(using: str = "default", **kwargs: Any) -> None:
    """The database cache (the default CACHES, holding job locks) needs its table; the
    command is idempotent and does nothing when CACHES points at Redis."""
    call_command("createcachetable", database=using, verbosity=0)


class MetricsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "metrics"
    verbose_name = "Cost ledger"

    def ready(self) -> None:
        from metrics import schedules, signals
        from metrics.economics.pricing import repricing
        from metrics.models import AllocationRule

        post_migrate.connect(schedules.ensure_periodic_tasks_after_migrate, sender=self)
        post_migrate.connect(create_cache_table, sender=self)
        post_save.connect(signals.queue_reallocation, sender=AllocationRule)
        post_delete.connect(signals.queue_reallocation, sender=AllocationRule)
        repricing.connect_signals()
        repricing.reprice_requested.connect(signals.queue_reprice_task, dispatch_uid="reprice-task")
