from datetime import date
from typing import Any

from django.db import transaction


def queue_reallocation(sender: type, **kwargs: Any) -> None:
    """A rule changed: re-allocate history in the background once the change is committed."""
    from metrics.tasks import reallocate

    transaction.on_commit(reallocate.delay)


def queue_reprice_task(sender: type, since: date | None = None, **kwargs: Any) -> None:
    """metrics.economics.pricing.repricing asked for a re-pricing (a price changed): queue it."""
    from metrics.tasks_advice import reprice_ledger

    reprice_ledger.delay(since.isoformat() if since else "")
