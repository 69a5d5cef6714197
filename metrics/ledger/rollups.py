"""Daily rollups (metrics.DailyCost): rebuilt from the ledger for the days a write touched.

Ledger writers (imports, re-pricing, re-allocation) call `rebuild_rollups(days)` once, at the
end of their transaction and under the ledger lock (`metrics.ledger.locks.ledger_lock`), with every
day they changed; it rebuilds those days' rollups and their carbon estimates.

An import whose days hold only its own rows (no other batch on them, nothing re-priced)
need not read those rows back: `RollupSums` adds them up from the Arrow chunks as they are
written, exactly as the GROUP BY would (same groups, Decimal sums with the scale PostgreSQL's
SUM gives), and `rebuild_rollups(days, sums=...)` writes those rows instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Context, Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.db import connection

from metrics.economics.carbon import carbon_fill_rollups
from metrics.ledger.sources.arrow import ChunkDecimals
from metrics.models import DailyCost

DAYS_PER_STATEMENT = 200
ROWS_PER_STATEMENT = 1000
# A DailyCost row: its group (the GROUP BY below) and what is added up.
GROUP_COLUMNS = [
    "team_id",
    "day",
    "provider",
    "service_category",
    "model",
    "application_key",
    "billing_currency",
]
MONEY_SUMS = ["billed_cost", "effective_cost", "gpu_hours"]
INT_SUMS = [
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "model_requests",
]
INSERT_COLUMNS = (
    "team_id, day, provider, service_category, model, application_key, currency, billed_cost, "
    "effective_cost, gpu_hours, input_tokens, cached_input_tokens, cache_write_tokens, "
    "output_tokens, model_requests, record_count"
)
_EXACT = Context(prec=80)


class RollupSums:
    """DailyCost rows of rows about to be written, added up chunk by chunk from Arrow tables
    of the ledger's columns. `usable` turns False for good when a money value is not plain
    decimal text of at most 12 places, or the groups grow past `max_groups`: the caller then
    rebuilds from the ledger. Memory: the groups, not the rows."""

    def __init__(self, *, max_groups: int = 200_000) -> None:
        self.usable = True
        self.max_groups = max_groups
        self._parts: list[pa.Table] = []
        self._rows = 0

    def add(self, table: pa.Table, money: ChunkDecimals | None = None) -> None:
        """Add a chunk's rows (`money`: its amount columns already read, if they are)."""
        if not self.usable:
            return
        money = money or ChunkDecimals(table)
        columns: dict[str, pa.ChunkedArray | pa.Array] = {}
        for col in GROUP_COLUMNS:
            values = table.column(col)
            columns[col] = values if col in ("team_id", "day") else pc.fill_null(values, "")
        for col in INT_SUMS:
            columns[col] = pc.fill_null(table.column(col), 0)
        for col in MONEY_SUMS:
            if table.column(col).null_count:
                self._give_up()
                return
            try:  # `12.50`, `1.81E-8` (AWS writes small amounts so)
                # The scale PostgreSQL gives the text (its SUM keeps the largest).
                columns[col], places = money.of(col)
                columns[f"{col}_places"] = pa.array(places)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # over 12 places, ` 5 `
                self._give_up()
                return
        columns["record_count"] = pa.array(np.ones(len(table), dtype=np.int64))
        self._parts.append(_group(pa.table(columns)))
        self._rows += len(self._parts[-1])
        if self._rows > 2 * self.max_groups:
            self._parts = [_group(pa.concat_tables(self._parts))]
            self._rows = len(self._parts[0])
            if self._rows > self.max_groups:
                self._give_up()

    def _give_up(self) -> None:
        self.usable = False
        self._parts = []

    def rows(self) -> list[tuple[Any, ...]]:
        """The DailyCost rows, in INSERT_COLUMNS order, money as exact Decimals."""
        if not self._parts:
            return []
        table = _group(pa.concat_tables(self._parts))
        found = []
        for row in table.to_pylist():
            money = [
                _EXACT.quantize(row[col], Decimal(1).scaleb(-row[f"{col}_places"]))
                for col in MONEY_SUMS
            ]
            found.append(
                (
                    *(row[col] for col in GROUP_COLUMNS),
                    *money,
                    *(row[col] for col in INT_SUMS),
                    row["record_count"],
                )
            )
        return found


def _group(table: pa.Table) -> pa.Table:
    """Rows (or earlier groups) added up by GROUP_COLUMNS; column names kept."""
    added = [*MONEY_SUMS, *INT_SUMS, "record_count"]
    places = [f"{col}_places" for col in MONEY_SUMS]
    grouped = table.group_by(GROUP_COLUMNS, use_threads=False).aggregate(
        [(col, "sum") for col in added] + [(col, "max") for col in places]
    )
    names = {f"{col}_sum": col for col in added} | {f"{col}_max": col for col in places}
    return grouped.rename_columns([names.get(n, n) for n in grouped.column_names])


def rebuild_rollups(days: Iterable[date], *, sums: RollupSums | None = None) -> list[date]:
    """Recompute DailyCost for the given days from CostRecord (one GROUP BY per batch of
    days), then their carbon estimates. Returns the days rebuilt, sorted.

    `sums`: the days' rows are exactly those added up there (the caller knows no other rows
    are on these days): written from it instead of read back, on PostgreSQL."""
    day_list = sorted(set(days))
    if sums is not None and sums.usable and connection.vendor == "postgresql":
        _write_sums(day_list, sums)
        if day_list:
            carbon_fill_rollups(day_list)
        return day_list
    for i in range(0, len(day_list), DAYS_PER_STATEMENT):
        part = day_list[i : i + DAYS_PER_STATEMENT]
        DailyCost.objects.filter(day__in=part).delete()
        placeholders = ", ".join(["%s"] * len(part))
        with connection.cursor() as cur:
            cur.execute(
                f"""
                INSERT INTO metrics_dailycost (team_id, day, provider, service_category, model,
                    application_key, currency, billed_cost, effective_cost, input_tokens,
                    cached_input_tokens, cache_write_tokens, output_tokens, model_requests,
                    gpu_hours, record_count)
                SELECT team_id, day, provider, service_category, model, application_key,
                    billing_currency, SUM(billed_cost), SUM(effective_cost), SUM(input_tokens),
                    SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens),
                    SUM(model_requests), SUM(gpu_hours), COUNT(*)
                FROM metrics_costrecord
                WHERE day IN ({placeholders})
                GROUP BY team_id, day, provider, service_category, model, application_key,
                    billing_currency
                """,  # noqa: S608 - only placeholders are interpolated
                part,
            )
    if day_list:
        carbon_fill_rollups(day_list)
    return day_list


def _write_sums(day_list: list[date], sums: RollupSums) -> None:
    rows = sums.rows()
    outside = {row[1] for row in rows} - set(day_list)
    if outside:
        raise ValueError(f"rollup rows outside the days to rebuild: {sorted(outside)[:3]}")
    for i in range(0, len(day_list), DAYS_PER_STATEMENT):
        DailyCost.objects.filter(day__in=day_list[i : i + DAYS_PER_STATEMENT]).delete()
    rows.sort(key=lambda row: row[1])  # by day
    marks = "(" + ", ".join(["%s"] * len(INSERT_COLUMNS.split(","))) + ")"
    with connection.cursor() as cur:
        for i in range(0, len(rows), ROWS_PER_STATEMENT):
            part = rows[i : i + ROWS_PER_STATEMENT]
            cur.execute(
                f"INSERT INTO metrics_dailycost ({INSERT_COLUMNS}) VALUES "  # noqa: S608
                + ", ".join([marks] * len(part)),
                [value for row in part for value in row],
            )
