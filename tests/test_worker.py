"""A real Celery worker process (not eager mode) against the configured broker:
SQLite-file broker in the default run, Redis when CELERY_BROKER_URL points at it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app
from metrics.models import WorkerHeartbeat
from metrics.tasks import heartbeat

REPO = Path(__file__).resolve().parent.parent


def database_url_of_test_db() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return (
        f"postgres://{s['USER'] or ''}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    )


@pytest.fixture
def worker(transactional_db):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url_of_test_db(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--hostname",
            "pytest@%h",
            "--loglevel",
            "INFO",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield proc
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.worker
@pytest.mark.slow
def test_task_runs_in_a_real_worker_and_writes_to_the_database(worker):
    celery_app.conf.task_always_eager = False
    try:
        heartbeat.apply_async(kwargs={"hostname": "sent-by-pytest"})
        heartbeat.apply_async(kwargs={"hostname": "sent-by-pytest"})
    finally:
        celery_app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        row = WorkerHeartbeat.objects.filter(hostname="sent-by-pytest").first()
        if row and row.beats == 2:
            break
        assert worker.poll() is None, worker.stdout.read()
        time.sleep(0.3)
    else:
        pytest.fail("the worker did not run both tasks within 90 s")
    assert WorkerHeartbeat.objects.filter(hostname="sent-by-pytest").count() == 1
