"""ASGI entry point. Without DJANGO_SETTINGS_MODULE it runs the production settings, like
config.wsgi; only manage.py and the demo default to the local settings."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_asgi_application()
