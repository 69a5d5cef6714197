"""Settings shared by every environment.

One `env` object reads the environment (and an optional `.env` file); local, test and
production differ only in the defaults they give it. Malformed values stop start-up with
an ImproperlyConfigured error naming the variable.
"""

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DB_SCHEMES = {"sqlite", "postgres", "postgresql", "pgsql", "psql"}
BROKER_SCHEMES = {"redis", "rediss", "amqp", "amqps", "pyamqp", "sqla+sqlite", "memory"}


def database_from_url(url: str) -> dict[str, Any]:
    """Parse DATABASE_URL, refusing anything we do not support instead of guessing."""
    parts = urlsplit(url)
    if parts.scheme not in DB_SCHEMES:
        raise ImproperlyConfigured(
            f"DATABASE_URL is malformed: scheme {parts.scheme!r} is not one of "
            "sqlite://, postgres:// (example: postgres://user@127.0.0.1:5432/finops)"
        )
    if parts.scheme != "sqlite" and not parts.path.strip("/"):
        raise ImproperlyConfigured("DATABASE_URL is malformed: it names no database")
    try:
        config: dict[str, Any] = env.db_url_config(url)
    except Exception as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is malformed: {exc}") from exc
    if parts.scheme != "sqlite":
        config.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
        config["CONN_HEALTH_CHECKS"] = True
    else:
        # Several processes (web, worker, beat) share the file: wait for locks, don't fail.
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            # WAL: readers never block the writer (web, worker and beat share the file).
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return config


def broker_from_url(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme not in BROKER_SCHEMES:
        raise ImproperlyConfigured(
            f"CELERY_BROKER_URL is malformed: scheme {scheme!r} is not one of "
            "redis://, amqp://, sqla+sqlite://"
        )
    return url


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])


def site_url_from(value: str) -> str:
    """SITE_URL: the public address the portal is reached at, used in every link the product
    sends out (invitation e-mails, credential issuer and achievement ids, Slack links)."""
    parts = urlsplit(value.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query:
        raise ImproperlyConfigured(
            f"SITE_URL is malformed: {value!r} (expected e.g. https://finops.example.com)"
        )
    return value.strip().rstrip("/")


SITE_URL = site_url_from(env.str("SITE_URL", default="http://127.0.0.1:8000"))
# Whether the environment (or .env) set SITE_URL: otherwise `manage.py demo` derives it from
# the port it serves on.
SITE_URL_FROM_ENV = bool(env.str("SITE_URL", default="").strip())

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "metrics",
    "curriculum",
    "portal",
    "bot",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.security.ContentSecurityPolicyMiddleware",
    "metrics.middleware.DatabaseBusyMiddleware",  # SQLite "database is locked" -> 503
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(
        env.str("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'finops.sqlite3'}")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The shared cache holds cross-process locks (periodic jobs must not overlap), so it is never
# per-process memory: the database by default (`createcachetable` runs after every migrate,
# see metrics/apps.py), Redis in production, e.g. CACHE_URL=redis://127.0.0.1:6379/1.
try:
    CACHES = {"default": env.cache_url("CACHE_URL", default="dbcache://django_cache")}
except ImproperlyConfigured as exc:
    raise ImproperlyConfigured(f"CACHE_URL is malformed: {exc}") from exc

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # Both refuse a throttled sign-in before checking any password (portal.throttle).
    "portal.auth.EmailBackend",
    "portal.throttle.ThrottledModelBackend",
]
# Sign-in throttling (portal.throttle), counted in the cache shared by every process.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_FAILURE_LIMIT_PER_IP = env.int("LOGIN_FAILURE_LIMIT_PER_IP", default=50)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=900)
# Content-Security-Policy of every response (config.security); empty turns it off. Scripts
# and styles from this site only; `style-src-attr 'unsafe-inline'` allows style="" attributes
# (progress bars' widths), not <style> elements nor any inline script.
DEFAULT_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
CONTENT_SECURITY_POLICY = env.str("CONTENT_SECURITY_POLICY", default=DEFAULT_CSP)
# /api/schema/ and /api/docs/ are for signed-in users unless this is true.
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=False)
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Uploaded and generated files (billing uploads, demo usage, PDFs): one folder per instance.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))).resolve()

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="AI FinOps <noreply@example.com>")

# --- Celery -----------------------------------------------------------------------------
# Unset CELERY_BROKER_URL: a SQLite-file broker (kombu's SQLAlchemy transport), so the demo
# runs a real worker and beat with no server. Set it to redis:// or amqp:// in production.
CELERY_BROKER_URL = broker_from_url(
    env.str("CELERY_BROKER_URL", default=f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}")
)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
# Task modules beyond the autodiscovered `<app>.tasks`.
CELERY_IMPORTS = ["metrics.tasks_alerting", "metrics.tasks_advice"]
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Alerting (metrics/alerting/anomalies.py, metrics/alerting/budgets.py) -------------------


def positive_number(name: str, default: float, *, whole: bool = False) -> float:
    """A positive (`whole`: positive whole) number from the environment; anything else stops
    start-up with a message naming the variable."""
    raw = env.str(name, default=str(default))
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} is malformed: {raw!r} is not a number") from None
    if not 0 < value < float("inf") or (whole and not value.is_integer()):
        kind = "a positive whole number" if whole else "a positive number"
        raise ImproperlyConfigured(f"{name} is malformed: {raw!r} must be {kind}")
    return value


# A day is an anomaly when its spend is above MULTIPLIER x the trailing 7-day median, at least
# MIN_AMOUNT (in the series' currency), and its robust z-score over 28 days is above ZSCORE;
# series with fewer than MIN_HISTORY_DAYS days of data get no verdict.
ANOMALY_MULTIPLIER = positive_number("ANOMALY_MULTIPLIER", 3.0)
ANOMALY_MIN_AMOUNT = positive_number("ANOMALY_MIN_AMOUNT", 10.0)
ANOMALY_ZSCORE = positive_number("ANOMALY_ZSCORE", 3.0)
ANOMALY_MIN_HISTORY_DAYS = int(positive_number("ANOMALY_MIN_HISTORY_DAYS", 10, whole=True))
# Repeats for the same team/model/currency are not raised within this many hours of the
# anomalous day (rounded up to whole days: the ledger's grain), nor while one is snoozed.
ANOMALY_SUPPRESS_HOURS = int(positive_number("ANOMALY_SUPPRESS_HOURS", 24, whole=True))

# --- REST API ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AI FinOps API",
    "DESCRIPTION": "Spend, KPIs, budgets, alerts and the ledger behind them.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["config.permissions.ApiDocsPermission"],
}

# --- Slack ------------------------------------------------------------------------------
SLACK_BOT_TOKEN = env.str("SLACK_BOT_TOKEN", default="")
SLACK_SIGNING_SECRET = env.str("SLACK_SIGNING_SECRET", default="")
SLACK_APP_TOKEN = env.str("SLACK_APP_TOKEN", default="")
SLACK_API_BASE_URL = env.str("SLACK_API_BASE_URL", default="https://slack.com/api/")
# Multi-workspace OAuth installs (GET /slack/install, /slack/oauth_redirect): on when both are set.
SLACK_CLIENT_ID = env.str("SLACK_CLIENT_ID", default="")
SLACK_CLIENT_SECRET = env.str("SLACK_CLIENT_SECRET", default="")
SLACK_SCOPES = env.list(
    "SLACK_SCOPES",
    default=[
        "app_mentions:read",
        "chat:write",
        "commands",
        "im:history",
        "im:write",
        "usergroups:read",
        "users:read",  # users.info: the person's time zone for quiet hours
    ],
)

# --- Providers (pulled by Celery beat) --------------------------------------------------
OPENAI_ADMIN_KEY = env.str("OPENAI_ADMIN_KEY", default="")
OPENAI_API_BASE_URL = env.str("OPENAI_API_BASE_URL", default="https://api.openai.com/v1/")
ANTHROPIC_ADMIN_KEY = env.str("ANTHROPIC_ADMIN_KEY", default="")
ANTHROPIC_API_BASE_URL = env.str("ANTHROPIC_API_BASE_URL", default="https://api.anthropic.com/v1/")

# --- Pricing, carbon, remediation (metrics.economics.pricing / carbon, metrics.advice.remediation)
# Remediation actions that a human approved are POSTed here, signed with HMAC-SHA256
# (X-FinOps-Signature: sha256=HMAC(secret, timestamp + "." + body)). Empty URL: no executor.
REMEDIATION_WEBHOOK_URL = env.str("REMEDIATION_WEBHOOK_URL", default="")
REMEDIATION_WEBHOOK_SECRET = env.str("REMEDIATION_WEBHOOK_SECRET", default="")
REMEDIATION_WEBHOOK_TIMEOUT = env.float("REMEDIATION_WEBHOOK_TIMEOUT", default=10.0)
# The LiteLLM-proxy executor of remediation actions (metrics.advice.remediation.LiteLLMExecutor).
LITELLM_PROXY_URL = env.str("LITELLM_PROXY_URL", default="")
LITELLM_MASTER_KEY = env.str("LITELLM_MASTER_KEY", default="")
# Days of spend compared before and after a remediation action ran.
REMEDIATION_OUTCOME_DAYS = env.int("REMEDIATION_OUTCOME_DAYS", default=7)
# Provider pulls failing this many times in a row raise a Slack alert
# (metrics.ledger.connector_status).
CONNECTOR_ALERT_FAILURES = env.int("CONNECTOR_ALERT_FAILURES", default=3)
# Self-hosted models (no EcoLogits provider): electricity mix zone (ISO 3166-1 alpha-3, or
# WOR for the world average) and data-centre PUE/WUE used by the EcoLogits method.
CARBON_SELF_HOSTED_ZONE = env.str("CARBON_SELF_HOSTED_ZONE", default="WOR")
CARBON_SELF_HOSTED_PUE = env.float("CARBON_SELF_HOSTED_PUE", default=1.2)
# The low end of self-hosted models' range (metrics.economics.carbon): the best data centre assumed.
CARBON_SELF_HOSTED_PUE_LOW = env.float("CARBON_SELF_HOSTED_PUE_LOW", default=1.1)
CARBON_SELF_HOSTED_WUE = env.float("CARBON_SELF_HOSTED_WUE", default=0.5)

# --- Billing imports: limits checked before any parser reads a file
# (metrics/ledger/sources/limits.py)
INGEST_MAX_FILE_BYTES = env.int("INGEST_MAX_FILE_BYTES", default=2 * 1024**3)  # as stored/uploaded
INGEST_MAX_DECOMPRESSED_BYTES = env.int("INGEST_MAX_DECOMPRESSED_BYTES", default=5 * 1000**3)
INGEST_MAX_COMPRESSION_RATIO = env.int("INGEST_MAX_COMPRESSION_RATIO", default=200)
INGEST_MAX_LINE_BYTES = env.int("INGEST_MAX_LINE_BYTES", default=1024**2)
INGEST_MAX_COLUMNS = env.int("INGEST_MAX_COLUMNS", default=2000)
INGEST_MAX_JSON_BYTES = env.int("INGEST_MAX_JSON_BYTES", default=512 * 1024**2)
# Uploads above this size go to a temporary file while the request is read (never in memory).
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024**2)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}


def broker_transport_options(url: str) -> dict[str, Any]:
    """Redis redelivers unacknowledged tasks after the visibility timeout: keep it above
    the longest task time limit so a slow task is not run twice."""
    return {"visibility_timeout": 3600} if url.startswith("redis") else {}


CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(CELERY_BROKER_URL)

# --- Portal: credentials (Open Badges 3.0) -------------------------------------------------
OB_SIGNING_KEY = env.str("OB_SIGNING_KEY", default="")  # Ed25519 private key, multibase
OB_SIGNING_KEY_REQUIRED = env.bool("OB_SIGNING_KEY_REQUIRED", default=False)
OB_ISSUER_NAME = env.str("OB_ISSUER_NAME", default="AI FinOps")
PORTAL_SELF_SIGNUP = env.bool("PORTAL_SELF_SIGNUP", default=True)

# --- Portal: learning (portal/conf.py checks the values when it reads them) ----------------
# Share of a module quiz's questions to answer correctly (latest answers) to pass it.
PORTAL_QUIZ_PASS_RATIO = env.str("PORTAL_QUIZ_PASS_RATIO", default="0.8")
# Questions asked per quiz attempt (all of a module's when it has fewer).
PORTAL_QUIZ_QUESTIONS = env.str("PORTAL_QUIZ_QUESTIONS", default="6")
# How long before expiry a credential holder may re-take the exam to renew it.
PORTAL_RENEWAL_WINDOW_DAYS = env.int("PORTAL_RENEWAL_WINDOW_DAYS", default=180)

# --- Content in the repository (curriculum/content, portal/content/rubrics) ---------------
CURRICULUM_CONTENT_DIR = Path(
    env.str("CURRICULUM_CONTENT_DIR", default=str(BASE_DIR / "curriculum" / "content"))
)
RUBRIC_CONTENT_DIR = Path(
    env.str("RUBRIC_CONTENT_DIR", default=str(BASE_DIR / "portal" / "content" / "rubrics"))
)

# --- Slack and advice fallbacks ------------------------------------------------------------
# Alerts and remediation for a team with no slack_channel_id go here (empty: not posted).
SLACK_ALERTS_CHANNEL = env.str("SLACK_ALERTS_CHANNEL", default="")
# Overrides of the advice thresholds (metrics.advice.recommendations.workloads.AdviceConfig).
ADVICE_THRESHOLDS: dict[str, Any] = {}
