"""The bulk ZIP built by a real Celery worker process (not eager), delivered twice."""

import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from config.celery import app as celery_app
from portal.models import SummaryBatch, SummaryDownload
from portal.tasks import build_summary_zip
from tests.test_worker import worker  # noqa: F401  (the worker fixture)

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def test_a_real_worker_builds_the_zip_once_even_when_the_task_is_sent_twice(
    worker,  # noqa: F811
    people,
    curriculum,
    certified,
):
    batch = SummaryBatch.objects.create(
        requested_by=people["hr"],
        subject_ids=[people["engineer"].pk, people["outsider"].pk],
        total=2,
        expires_at=timezone.now() + timedelta(hours=24),
    )
    celery_app.conf.task_always_eager = False
    try:
        build_summary_zip.delay(str(batch.pk))
        build_summary_zip.delay(str(batch.pk))  # a duplicate delivery
    finally:
        celery_app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        batch.refresh_from_db()
        if batch.status == SummaryBatch.Status.DONE:
            break
        assert worker.poll() is None, worker.stdout.read()
        time.sleep(0.5)
    else:
        pytest.fail(f"the worker did not build the ZIP within 180 s ({batch.status})")
    time.sleep(2)  # let the duplicate run too
    batch.refresh_from_db()
    assert batch.attempts == 1  # the second delivery found the batch done
    path = Path(settings.MEDIA_ROOT) / batch.file
    try:
        with zipfile.ZipFile(path) as archive:
            assert "index.csv" in archive.namelist()
            assert len(archive.namelist()) == 3
        assert SummaryDownload.objects.filter(batch=batch).count() == 2
    finally:
        path.unlink(missing_ok=True)
