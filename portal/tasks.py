"""Celery entry points for the portal; each calls a service and is safe to re-run."""

from celery import shared_task


@shared_task(name="portal.finalize_expired_attempts", time_limit=300, soft_time_limit=240)
def finalize_expired_attempts() -> int:
    """Grade exam attempts left open past their deadline (the portal also does it lazily)."""
    from portal.exam import attempts_finalize_expired

    return attempts_finalize_expired()
