"""Unsafe defaults (#12): WSGI, ASGI and Celery entry points run the production settings when
DJANGO_SETTINGS_MODULE is unset; only manage.py and the demo default to the local settings."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "SECRET_KEY": "a-production-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "finops.example.com",
    "DATABASE_URL": "sqlite:////tmp/never-opened.sqlite3",
    "OB_SIGNING_KEY": "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq",
    "SITE_URL": "https://finops.example.com",
}
PROBE = (
    "import {module}; from django.conf import settings; "
    "print(settings.SETTINGS_MODULE, settings.DEBUG, settings.SECRET_KEY[:12])"
)


def _python(code: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    for name in PRODUCTION_ENV:
        env.pop(name, None)
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("module", ["config.wsgi", "config.asgi", "config.celery"])
def test_entry_points_default_to_production_settings(module):
    run = _python(PROBE.format(module=module), PRODUCTION_ENV)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["config.settings.production", "False", "a-production"]


@pytest.mark.parametrize("module", ["config.wsgi", "config.asgi", "config.celery"])
def test_entry_points_refuse_to_start_without_production_secrets(module):
    """No silent fallback to DEBUG and the development key when the environment is incomplete."""
    run = _python(PROBE.format(module=module), {})
    assert run.returncode != 0
    assert "Set the SECRET_KEY environment variable" in run.stderr


def test_manage_py_still_defaults_to_local():
    code = (
        "import os, sys; sys.argv = ['manage.py', 'shell', '-c', "
        "'from django.conf import settings; print(settings.SETTINGS_MODULE)']; "
        "import manage; manage.main()"
    )
    run = _python(code, {})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "config.settings.local"


def test_the_demo_passes_its_settings_to_web_worker_and_beat(settings):
    """`manage.py demo` runs with local settings; gunicorn and celery would otherwise default
    to production and refuse to start, so the demo hands its own settings module down."""
    from portal.management.commands.demo import Command

    env = Command.process_environment()
    assert env["DJANGO_SETTINGS_MODULE"] == settings.SETTINGS_MODULE
    run = _python(
        PROBE.format(module="config.wsgi"), {"DJANGO_SETTINGS_MODULE": "config.settings.local"}
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[:2] == ["config.settings.local", "True"]
