"""Tests: the same settings as local, with a file-backed SQLite test database so that a
real Celery worker process can see what the test wrote. DATABASE_URL and CELERY_BROKER_URL
switch the same suite to PostgreSQL and Redis."""

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR, broker_from_url, broker_transport_options, env

SECRET_KEY = env.str("SECRET_KEY", default="test-only-secret-key-not-for-production-use-0123456789")
(VAR_DIR / "static").mkdir(parents=True, exist_ok=True)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file (not :memory:) so a real worker process sees the test data. Separate names let
    # concurrent test runs on one machine stay out of each other's way.
    DATABASES["default"]["TEST"] = {
        "NAME": env.str("FINOPS_TEST_DB", default=str(VAR_DIR / "test.sqlite3"))
    }
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
SLACK_SIGNING_SECRET = env.str("SLACK_SIGNING_SECRET", default="test-signing-secret")
SLACK_BOT_TOKEN = env.str("SLACK_BOT_TOKEN", default="xoxb-test-token")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Never share the demo's broker file with a test run.
CELERY_BROKER_URL = broker_from_url(
    env.str("CELERY_BROKER_URL", default=f"sqla+sqlite:///{VAR_DIR / 'test-broker.sqlite3'}")
)
CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(CELERY_BROKER_URL)
