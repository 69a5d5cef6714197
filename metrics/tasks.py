"""Celery entry points for the ledger. Tasks take ids, call a service, are safe to re-run."""

import logging
from collections.abc import Callable
from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from metrics.ledger.locks import job_lock
from metrics.models import ImportJob, WorkerHeartbeat

logger = logging.getLogger(__name__)


@shared_task(name="metrics.heartbeat", ignore_result=True, time_limit=30, soft_time_limit=20)
def heartbeat(hostname: str = "") -> None:
    """Record that a worker ran a task; repeated runs bump one row per host."""
    name = hostname or heartbeat.request.hostname or "unknown"
    WorkerHeartbeat.objects.get_or_create(hostname=name, defaults={"last_seen": timezone.now()})
    WorkerHeartbeat.objects.filter(hostname=name).update(
        last_seen=timezone.now(), beats=F("beats") + 1
    )


@shared_task(name="metrics.reallocate", time_limit=3600, soft_time_limit=3500)
def reallocate() -> int:
    """Re-apply allocation rules to history (queued when a rule changes). Safe to re-run."""
    from metrics.services import ledger_reallocate

    return ledger_reallocate()


# --- Queued imports ------------------------------------------------------------------------

IMPORT_TIME_LIMIT = 55 * 60  # under the broker visibility timeout (1 h), see settings


@shared_task(
    name="metrics.import_file",
    acks_late=True,  # a worker killed mid-import: the broker hands the file to another one
    reject_on_worker_lost=True,
    time_limit=IMPORT_TIME_LIMIT,
    soft_time_limit=IMPORT_TIME_LIMIT - 60,
)
def import_file(job_id: int) -> str:
    """Import the file of one ImportJob (one file per task). Safe to run twice."""
    from metrics.ledger.ingest import import_job_run

    return import_job_run(job_id).status


def queue_import(job: ImportJob) -> None:
    """Send the job to the workers once the transaction that created it commits."""
    transaction.on_commit(lambda: import_file.delay(job.pk))


# --- Provider pulls ------------------------------------------------------------------------

PULL_TIME_LIMIT = 20 * 60
# Longer than the hard time limit: a worker killed mid-pull frees the lock when it expires.
PULL_LOCK_SECONDS = PULL_TIME_LIMIT + 5 * 60


@shared_task(
    name="metrics.pull_openai",
    ignore_result=True,
    time_limit=PULL_TIME_LIMIT,
    soft_time_limit=PULL_TIME_LIMIT - 60,
)
def pull_openai(start: str = "", end: str = "") -> None:
    """Pull OpenAI costs and usage for [start, end) (ISO dates; default yesterday and today)
    and import them. Safe to run twice; never runs twice at once."""
    from metrics.ledger.connectors import openai

    _pull_and_import(
        openai.SOURCE,
        openai.KEY_SETTING,
        openai.pull_openai,
        start,
        end,
        parts=openai.pull_openai_parts,
    )


@shared_task(
    name="metrics.pull_anthropic",
    ignore_result=True,
    time_limit=PULL_TIME_LIMIT,
    soft_time_limit=PULL_TIME_LIMIT - 60,
)
def pull_anthropic(start: str = "", end: str = "") -> None:
    """Pull the Anthropic usage and cost reports for [start, end) and import them."""
    from metrics.ledger.connectors import anthropic

    _pull_and_import(anthropic.SOURCE, anthropic.KEY_SETTING, anthropic.pull_anthropic, start, end)


def _pull_and_import(
    source: str,
    key_setting: str,
    pull: Callable[[datetime, datetime], list[bytes]],
    start: str,
    end: str,
    *,
    parts: Callable[[datetime, datetime], list[tuple[str, Callable[[], list[bytes]]]]]
    | None = None,
) -> None:
    from metrics.ledger.connectors import day_window

    if not getattr(settings, key_setting, ""):
        logger.info("%s is not set: skipping the %s pull", key_setting, source)
        return
    window_start, window_end = day_window(start, end)
    # The lock lives in the shared cache (Redis / database), so two workers or two beat
    # ticks cannot pull the same provider at once; cache.add is atomic there.
    with job_lock(f"pull:{source}", PULL_LOCK_SECONDS) as mine:
        if not mine:
            logger.info("another %s pull holds the lock: skipping this run", source)
            return
        if parts is None:
            kinds = [("all", lambda: pull(window_start, window_end))]
        else:
            kinds = parts(window_start, window_end)
        for kind, fetch in kinds:
            _pull_part(source, kind, fetch, window_start, window_end, single=parts is None)


def _pull_part(
    source: str,
    kind: str,
    fetch: Callable[[], list[bytes]],
    window_start: datetime,
    window_end: datetime,
    *,
    single: bool,
) -> None:
    """Pull and import one export kind; a failure is recorded (metrics.ledger.connector_status) and
    the other kinds go on."""
    from metrics.ledger.connector_status import record_failure, record_success

    try:
        rows = _pull_window(
            source, lambda s, e: fetch(), window_start, window_end, kind=kind, single=single
        )
    except Exception as exc:  # any failure of one endpoint: recorded, the others still run
        logger.exception("%s pull of %s failed", source, kind)
        record_failure(source, kind, f"{type(exc).__name__}: {exc}")
        return
    record_success(source, kind, rows)


def _pull_window(
    source: str,
    pull: Callable[[datetime, datetime], list[bytes]],
    window_start: datetime,
    window_end: datetime,
    *,
    kind: str = "all",
    single: bool = True,
) -> int:
    from metrics.ledger.connectors import bundle, count_results
    from metrics.ledger.ingest import billing_import_bytes

    pages = pull(window_start, window_end)
    rows = count_results(pages)
    span = f"{window_start:%Y-%m-%d}..{window_end:%Y-%m-%d}"
    if not rows:
        logger.info("%s pull %s: %d page(s), no usage or cost rows", source, span, len(pages))
        return 0
    label = "" if single else "-" + kind.replace("/", "-")
    name = f"{source}{label}-pull-{window_start:%Y%m%d}-{window_end:%Y%m%d}.json"
    result = billing_import_bytes(name, bundle(pages), source=source)
    logger.info(
        "%s pull %s: %d page(s), %d row(s), batch %s (%s)",
        source,
        span,
        len(pages),
        rows,
        result.batch.pk,
        "imported" if result.created else "already imported",
    )
    return rows
