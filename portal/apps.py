from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save


class PortalConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from portal import roles, schedules, signals, throttle

        post_migrate.connect(roles.ensure_role_groups_after_migrate, sender=self)
        post_migrate.connect(schedules.ensure_portal_periodic_tasks_after_migrate, sender=self)
        post_save.connect(signals.create_profile, sender=get_user_model())
        user_login_failed.connect(throttle.on_login_failed, dispatch_uid="portal.throttle.failed")
        user_logged_in.connect(throttle.on_logged_in, dispatch_uid="portal.throttle.logged_in")
