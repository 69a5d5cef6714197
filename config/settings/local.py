"""The embedded default: a laptop with no servers (SQLite, SQLite-file Celery broker)."""

from .base import *  # noqa: F403
from .base import VAR_DIR, env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="local-dev-only-secret-key-do-not-use-in-production")
(VAR_DIR / "static").mkdir(parents=True, exist_ok=True)
