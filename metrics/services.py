"""Ledger use cases that span models: re-allocation after rule changes, re-pricing after
price changes. Each is one transaction under the ledger lock that rebuilds the rollups of
the days it changed once (metrics.ledger.rollups)."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import date

import pandas as pd
from django.db import transaction

from metrics.economics.pricing.repricing import batch_reprice_scope, reprice_rows
from metrics.ledger.allocation import Allocator
from metrics.ledger.locks import ledger_lock
from metrics.ledger.rollups import rebuild_rollups
from metrics.models import CostRecord

logger = logging.getLogger(__name__)

ALLOCATION_FIELDS = [
    "id",
    "tags",
    "sub_account_id",
    "sub_account_name",
    "billing_account_id",
    "application_key",
    "resource_id",
    "provider",
    "team_id",
    "day",
]


def ledger_reallocate(*, chunk_size: int = 50_000) -> int:
    """Apply the current allocation rules to every record and rebuild the rollups.

    Atomic (readers see the old or the new allocation, never a mix) and safe to re-run: a
    second run finds nothing to change. Returns the number of records whose team changed.
    """
    allocator = Allocator.load()
    changed = 0
    days: set[date] = set()
    with transaction.atomic():
        ledger_lock()
        last_id = 0
        while True:
            rows = list(
                CostRecord.objects.filter(id__gt=last_id)
                .order_by("id")
                .values_list(*ALLOCATION_FIELDS)[:chunk_size]
            )
            if not rows:
                break
            last_id = rows[-1][0]
            frame = pd.DataFrame(rows, columns=ALLOCATION_FIELDS)
            frame["tags"] = frame["tags"].map(_as_json)
            new = allocator.allocate(frame)
            old = frame["team_id"].astype("Int64")
            diff = ~((new == old).fillna(False)) & ~(new.isna() & old.isna())
            moves: dict[int | None, list[int]] = defaultdict(list)
            for record_id, team in zip(frame.loc[diff, "id"], new[diff], strict=True):
                moves[None if pd.isna(team) else int(team)].append(int(record_id))
            for team_id, ids in moves.items():
                for i in range(0, len(ids), 5000):
                    CostRecord.objects.filter(id__in=ids[i : i + 5000]).update(team_id=team_id)
            changed += int(diff.sum())
            days.update(frame.loc[diff, "day"])
        rebuild_rollups(days)
    logger.info("re-allocation moved %s records over %s days", changed, len(days))
    return changed


def _as_json(value: object) -> str | None:
    if value in (None, {}, ""):
        return None
    return value if isinstance(value, str) else json.dumps(value)


def ledger_reprice(*, since: date | None = None) -> int:
    """Price every record that has tokens (or GPU hours) but no money, and re-price those
    priced from the catalog before, with the prices in force on each record's day; then
    rebuild the rollups (and carbon estimates) of the days that changed.

    Atomic, serialized with imports (the ledger lock), safe to re-run: a second run changes
    nothing. `since` limits it to records from that day on (a price with that effective date
    changed). Returns the number of records whose cost changed.
    """
    with transaction.atomic():
        ledger_lock()
        qs = CostRecord.objects.all()
        if since is not None:
            qs = qs.filter(day__gte=since)
        result = reprice_rows(qs)
        rebuild_rollups(result.days)
    logger.info("re-pricing changed %s records over %s days", result.changed, len(result.days))
    return result.changed


def ledger_reprice_batch(batch_id: int) -> int:
    """Re-price what one import may have changed (see pricing.repricing.batch_reprice_scope); same
    contract as `ledger_reprice`. Imports do this themselves; this is for a re-run."""
    with transaction.atomic():
        ledger_lock()
        scope = batch_reprice_scope(batch_id)
        if scope is None:
            return 0
        result = reprice_rows(scope)
        rebuild_rollups(result.days)
    return result.changed
