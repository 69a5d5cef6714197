"""One rule for every CSV the product writes: a text cell is never run as a formula.

Spreadsheets (Excel, LibreOffice, Google Sheets) treat a cell starting with = + - @, a tab or
a carriage return as a formula (CSV injection). `csv_safe` puts an apostrophe before such
text; spreadsheets hide it and show the text as typed. Numbers are never passed through it
(a negative amount is a number, not a formula), so money stays exact.

The rule is reversible: text that already starts with apostrophes before a formula character
gets one more, so `csv_unsafe(csv_safe(x)) == x` for every string. The FOCUS importer applies
`csv_unsafe` (and `FOCUS_UNGUARD_PATTERN` vectorized) to text columns: a FOCUS export read back
by this product is exactly what was exported from the ledger.
"""

from __future__ import annotations

import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_GUARD = re.compile(r"'*[=+\-@\t\r]")
_GUARDED = re.compile(r"'+[=+\-@\t\r]")
# For pandas' str.replace: the apostrophe csv_safe added (regex=True).
GUARD_PATTERN = r"^(?='*[=+\-@\t\r])"
UNGUARD_PATTERN = r"^'(?='*[=+\-@\t\r])"


def csv_safe(text: str) -> str:
    """The cell to write for a text value (see the module docstring)."""
    return "'" + text if _GUARD.match(text) else text


def csv_unsafe(text: str) -> str:
    """The text value back from a cell written with csv_safe."""
    return text[1:] if _GUARDED.match(text) else text
