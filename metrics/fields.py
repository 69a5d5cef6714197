"""Money and quantity columns: exact decimals in storage on every database.

PostgreSQL stores unconstrained NUMERIC: exactly the digits the source had (billing exports
carry up to 28 decimal places; rounding each row would drift the totals). SQLite has no
decimal type (its NUMERIC affinity turns values into 8-byte floats), so there the column is
TEXT and holds the exact decimal string.
Aggregates over it on SQLite are computed by SQLite in double precision; they are exact to
far below a cent for ledger-sized sums, and PostgreSQL (production) sums exactly.

Ordering and comparing on SQLite: a TEXT column would sort "950" after "1800". So every
reference to the column in an expression (ORDER BY, WHERE, GROUP BY keys, F() arithmetic,
aggregates) is compiled as `CAST(col AS REAL)` there, which orders and compares numerically;
only where the column itself is SELECTed is the cast removed again (`select_format`), so
values read back are the exact stored strings. PostgreSQL is untouched (NUMERIC).
"""

import re
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Col, Expression
from django.db.models.sql.compiler import SQLCompiler
from django.utils.functional import cached_property

MONEY_DIGITS = 30
MONEY_PLACES = 12


_CAST = re.compile(r'^CAST\(((?:"[^"]+"\.)?"[^"]+") AS REAL\)$')


class NumericCol(Col):
    """A money column reference: numeric on SQLite, where the column stores text."""

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        sql, params = self.as_sql(compiler, connection)
        return f"CAST({sql} AS REAL)", params


class ExactDecimalField(models.DecimalField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", MONEY_DIGITS)
        kwargs.setdefault("decimal_places", MONEY_PLACES)
        super().__init__(*args, **kwargs)

    def get_internal_type(self) -> str:
        # Not "DecimalField": SQLite's float-only decimal converter must not see our strings.
        return "ExactDecimalField"

    def db_type(self, connection: BaseDatabaseWrapper) -> str:
        if connection.vendor == "sqlite":
            return "text"
        return "numeric"

    def get_col(self, alias: str, output_field: Any = None) -> Col:
        if alias == self.model._meta.db_table and (output_field is None or output_field == self):
            return self.cached_col
        return NumericCol(alias, self, output_field)

    @cached_property
    def cached_col(self) -> Col:
        return NumericCol(self.model._meta.db_table, self)

    def select_format(self, compiler: SQLCompiler, sql: str, params: Any) -> tuple[str, Any]:
        """Select the stored exact string, not the REAL the column reference compiles to."""
        if compiler.connection.vendor == "sqlite" and (match := _CAST.match(sql)):
            return match.group(1), params
        return sql, params

    def from_db_value(
        self, value: Any, expression: Expression, connection: BaseDatabaseWrapper
    ) -> Decimal | None:
        if value is None or isinstance(value, Decimal):
            return value
        if isinstance(value, float):
            return Decimal(repr(value))
        return Decimal(str(value))

    def get_db_prep_value(
        self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False
    ) -> Any:
        value = super().get_db_prep_value(value, connection, prepared)
        if value is not None and connection.vendor == "sqlite":
            return format(Decimal(value), "f")
        return value
