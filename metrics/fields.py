"""Money and quantity columns: exact decimals in storage on every database.

PostgreSQL stores unconstrained NUMERIC: exactly the digits the source had (billing exports
carry up to 28 decimal places; rounding each row would drift the totals). SQLite has no
decimal type (its NUMERIC affinity turns values into 8-byte floats), so there the column is
TEXT and holds the exact decimal string.
Aggregates over it on SQLite are computed by SQLite in double precision; they are exact to
far below a cent for ledger-sized sums, and PostgreSQL (production) sums exactly.
"""

from decimal import Decimal
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression

MONEY_DIGITS = 30
MONEY_PLACES = 12


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
