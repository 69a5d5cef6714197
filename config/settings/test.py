"""Tests: the same settings as local, with a file-backed SQLite test database so that a
real Celery worker process can see what the test wrote. DATABASE_URL and CELERY_BROKER_URL
switch the same suite to PostgreSQL and Redis.

Under pytest-xdist (`pytest -n 2`) every worker process gets its own database, broker, Redis
key prefix and media folder, named after PYTEST_XDIST_WORKER (gw0, gw1, ...). A Celery worker
process started by a test inherits that variable, so it computes the same names."""

from pathlib import Path

from .base import *  # noqa: F403
from .base import CACHES, DATABASES, VAR_DIR, broker_from_url, broker_transport_options, env

# "" outside xdist (plain `python -m pytest`): the names stay as they always were.
XDIST_WORKER = env.str("PYTEST_XDIST_WORKER", default="")
_SUFFIX = f"-{XDIST_WORKER}" if XDIST_WORKER else ""

SECRET_KEY = env.str("SECRET_KEY", default="test-only-secret-key-not-for-production-use-0123456789")
(VAR_DIR / "static").mkdir(parents=True, exist_ok=True)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file (not :memory:) so a real worker process sees the test data. Separate names let
    # concurrent test runs on one machine stay out of each other's way. pytest-django appends
    # the xdist worker (`_gw0`) to this name itself, as it does to PostgreSQL's test database.
    DATABASES["default"]["TEST"] = {
        "NAME": env.str("FINOPS_TEST_DB", default=str(VAR_DIR / "test.sqlite3"))
    }
if "redis" in CACHES["default"]["BACKEND"].lower() and XDIST_WORKER:
    CACHES["default"]["KEY_PREFIX"] = XDIST_WORKER
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
SLACK_SIGNING_SECRET = env.str("SLACK_SIGNING_SECRET", default="test-signing-secret")
SLACK_BOT_TOKEN = env.str("SLACK_BOT_TOKEN", default="xoxb-test-token")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Files the tests write (reports, ZIPs, uploads), per xdist worker; MEDIA_ROOT still wins.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / f"test-media{_SUFFIX}"))).resolve()
# Never share the demo's broker file with a test run, nor one xdist worker's with another's.
CELERY_BROKER_URL = broker_from_url(
    env.str(
        "CELERY_BROKER_URL",
        default=f"sqla+sqlite:///{VAR_DIR / f'test-broker{_SUFFIX}.sqlite3'}",
    )
)
CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(CELERY_BROKER_URL)
if CELERY_BROKER_URL.startswith("redis") and XDIST_WORKER:
    # One Redis database for the whole run: each worker's queues, and the broadcasts that
    # `celery_app.control.ping` counts workers with, live under the worker's own prefix.
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = f"{XDIST_WORKER}:"
