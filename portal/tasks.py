"""Celery entry points for the portal; each calls a service and is safe to re-run."""

from celery import shared_task


@shared_task(name="portal.finalize_expired_attempts", time_limit=300, soft_time_limit=240)
def finalize_expired_attempts() -> int:
    """Grade exam attempts left open past their deadline (the portal also does it lazily)."""
    from portal.exam import attempts_finalize_expired

    return attempts_finalize_expired()


@shared_task(
    name="portal.build_summary_zip",
    bind=True,
    autoretry_for=(Exception,),
    max_retries=3,
    retry_backoff=5,
    acks_late=True,
    time_limit=3600,
    soft_time_limit=3500,
)
def build_summary_zip(self: object, batch_id: str) -> int:
    """Build a bulk ZIP of credential summaries. Safe to run twice: a finished batch is left
    alone, an interrupted one is rebuilt whole (no duplicate files or log rows)."""
    from portal.summaries import batch_build

    return batch_build(batch_id).done


@shared_task(name="portal.purge_summary_zips", time_limit=300)
def purge_summary_zips() -> int:
    """Delete bulk ZIPs whose 24-hour link has expired."""
    from portal.summaries import batches_purge_expired

    return batches_purge_expired()


@shared_task(name="portal.board_report_monthly", time_limit=600, soft_time_limit=540)
def board_report_monthly() -> str:
    """Store the report of the month that ended (beat runs it hourly on the 1st; a stored
    report is kept, so the later runs change nothing)."""
    from portal.board_report import board_report_last_month

    return str(board_report_last_month())
