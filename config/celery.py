"""The one Celery app. The broker comes from CELERY_BROKER_URL (see settings).

Without DJANGO_SETTINGS_MODULE a worker or beat runs the production settings; only manage.py
and the demo (which passes its own settings module to the processes it starts) default to local.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("finops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
