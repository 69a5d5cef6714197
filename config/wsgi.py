"""WSGI entry point. Without DJANGO_SETTINGS_MODULE it runs the production settings (which
refuse to start without SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and OB_SIGNING_KEY): only
manage.py and the demo default to the local settings."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()
