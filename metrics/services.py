"""Ledger use cases that span models: re-allocation after rule changes."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import date

import pandas as pd
from django.db import connection, transaction

from metrics.allocation import Allocator
from metrics.ingest import ROLLUP_LOCK, rebuild_rollups
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
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])
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
