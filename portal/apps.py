from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save


class PortalConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model

        from portal import roles, schedules, signals

        post_migrate.connect(roles.ensure_role_groups_after_migrate, sender=self)
        post_migrate.connect(schedules.ensure_portal_periodic_tasks_after_migrate, sender=self)
        post_save.connect(signals.create_profile, sender=get_user_model())
