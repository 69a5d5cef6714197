from typing import Any

from django.db import transaction


def queue_reallocation(sender: type, **kwargs: Any) -> None:
    """A rule changed: re-allocate history in the background once the change is committed."""
    from metrics.tasks import reallocate

    transaction.on_commit(reallocate.delay)
