"""Imports run by real Celery workers: several files in parallel give the same ledger as one
by one (PostgreSQL, two workers), and a worker killed mid-import leaves nothing behind."""

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from bench.focusgen import write_focus_csv
from config.celery import app as celery_app
from metrics.ledger.ingest import billing_import, import_job_run, job_rows_done
from metrics.models import CostRecord, DailyCost, ImportBatch, ImportJob
from metrics.tasks import import_file
from tests.test_worker import REPO, database_url_of_test_db

pytestmark = [
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="parallel imports need PostgreSQL"
    ),
]

HEADER = (
    "BillingAccountId,BillingCurrency,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,"
    "ChargePeriodEnd,BilledCost,EffectiveCost,ProviderName,Tags,x_Model,x_OutputTokens"
)


def start_worker(name: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url_of_test_db(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo"),
            *("--hostname", f"{name}@%h", "--loglevel", "INFO", "--without-heartbeat"),
            *("--without-gossip", "--without-mingle", "--prefetch-multiplier", "1"),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def workers(transactional_db):
    procs = [start_worker("imp1"), start_worker("imp2")]
    celery_app.conf.task_always_eager = False
    deadline = time.monotonic() + 90
    while len(celery_app.control.ping(timeout=1.0)) < 2:
        assert time.monotonic() < deadline, "two workers did not start within 90 s"
        for p in procs:
            assert p.poll() is None, p.stdout.read()
    try:
        yield procs
    finally:
        celery_app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER
        for p in procs:
            stop(p)


def usage_file(folder: Path, name: str, account: str, days: list[int], cost: str) -> Path:
    rows = [
        f"{account},USD,2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,2026-10-{d:02d}T00:00:00Z,"
        f"2026-10-{d:02d}T01:00:00Z,{cost},{cost},OpenAI,"
        f'"{{""team"": ""search""}}",gpt-4o,{d * 100}'
        for d in days
        for _ in range(50)
    ]
    path = folder / name
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    return path


def ledger_state() -> tuple[list[tuple], list[tuple]]:
    rollups = sorted(
        DailyCost.objects.values_list(
            "team__slug", "day", "provider", "model", "currency", "effective_cost", "record_count"
        )
    )
    records = sorted(
        CostRecord.objects.values_list("billing_account_id", "day", "effective_cost", "source_line")
    )
    return rollups, records


def test_several_files_in_parallel_workers_equal_one_by_one(workers, teams, tmp_path):
    files = [
        usage_file(tmp_path, f"acct{i}.csv", f"acct-{i}", [1, 2, 3, 4 + i], f"1.{i}5")
        for i in range(4)
    ]  # four accounts sharing days 1-3: every shared day's rollup must hold all four
    call_command("import_billing", *map(str, files), "--workers", "yes", "--no-progress")
    jobs = list(ImportJob.objects.all())
    assert len(jobs) == 4 and {j.status for j in jobs} == {"done"}
    parallel = ledger_state()
    assert len(parallel[1]) == 4 * 4 * 50
    assert sum(r[5] for r in parallel[0]) == sum(Decimal(f"1.{i}5") * 200 for i in range(4))

    CostRecord.objects.all().delete()
    DailyCost.objects.all().delete()
    ImportJob.objects.all().delete()
    ImportBatch.objects.all().delete()
    call_command("import_billing", *map(str, files), "--workers", "no", "--no-progress")
    assert ledger_state() == parallel


def test_a_worker_killed_mid_import_leaves_nothing_and_the_file_imports_again(
    workers, tmp_path, settings
):
    path = write_focus_csv(tmp_path / "big.csv", 300_000)
    job = ImportJob.objects.create(file_name="big.csv", path=str(path), delete_after=False)
    import_file.delay(job.pk)
    deadline = time.monotonic() + 120
    while True:  # wait until it has written its first chunk, then pull the plug
        job.refresh_from_db()
        if job.status == "running" and job_rows_done(job) > 0:
            break
        assert job.status in ("queued", "running"), job.error
        assert time.monotonic() < deadline, "the import did not start"
        time.sleep(0.05)
    for proc in workers:
        proc.kill()  # SIGKILL: no cleanup, as when the machine dies
        proc.wait()
    assert not CostRecord.objects.exists()
    assert not ImportBatch.objects.exists()
    assert ImportJob.objects.get(pk=job.pk).status == "running"  # stale, safe to run again

    celery_app.conf.task_always_eager = True
    finished = import_job_run(job.pk)  # what a redelivery of the task does
    assert finished.status == "done" and finished.batch.row_count == 300_000
    assert CostRecord.objects.count() == 300_000
    assert billing_import(path).created is False  # and the same file again is a no-op
