"""Money as people read it, in one style on every surface: Slack, the portal, the board report
(PDF and PowerPoint), alert, recommendation and remediation texts, command output.

Machine-readable outputs (API JSON, CSV cells, the FOCUS export, stored evidence) keep plain
decimals and never go through this module.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

CENT = Decimal("0.01")
# Currencies shown by their symbol; every other one by its ISO code before the amount.
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
MISSING = "n/a"

Amount = Decimal | int | float | str
# Wide enough for any total of the ledger's amounts (each below 10^18, 12 places): the default
# context's 28 digits raise InvalidOperation on quantizing a total past 10^22 to 6 places.
_WIDE = Context(prec=80, rounding=ROUND_HALF_EVEN)


def round_to(value: Decimal, exponent: Decimal) -> Decimal:
    """`value` rounded half-even to `exponent` (`Decimal("0.01")`), at any magnitude."""
    return value.quantize(exponent, context=_WIDE)


def format_money(amount: Amount | None, currency: str | None = None, *, unit: bool = False) -> str:
    """One amount for a reader.

    - `Decimal("1234.5"), "USD"` -> "$1,234.50"; `Decimal("-3"), "EUR"` -> "-€3.00";
      `Decimal("1234.5"), "CHF"` -> "CHF 1,234.50" (no symbol: the code, then the amount).
    - No currency (None or "") -> "1,234.50": a table cell under a header that names it.
    - Rounded half-even to the cent (`Decimal` arithmetic, no float); "-0.00" shows as "0.00".
    - `unit=True` (a cost per request, per 1k tokens, per GPU hour): below 1 the amount keeps
      two significant digits and at least four decimals ("$0.0012", "$0.000012").
    - None, NaN, infinity or text that is not a number -> "n/a".
    """
    value = _decimal(amount)
    if value is None:
        return MISSING
    if unit and value and abs(value) < 1:
        places = max(4, 1 - value.adjusted())
        value = round_to(value, Decimal(1).scaleb(-places))
        digits = f"{abs(value):.{places}f}"
    else:
        value = round_to(value, CENT)
        digits = f"{abs(value):,.2f}"
    sign = "-" if value < 0 else ""
    if not currency:
        return f"{sign}{digits}"
    symbol = SYMBOLS.get(currency)
    if symbol:
        return f"{sign}{symbol}{digits}"
    return f"{sign}{currency} {digits}"


def _decimal(amount: Amount | None) -> Decimal | None:
    if amount is None or amount == "":
        return None
    if isinstance(amount, float) and not math.isfinite(amount):
        return None
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None
