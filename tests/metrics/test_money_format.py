"""metrics.money.format_money: the one way an amount is shown to a reader."""

from decimal import Decimal

import pytest

from metrics.money import format_money


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (Decimal("1234.5"), "USD", "$1,234.50"),
        (Decimal("1234567.891"), "EUR", "€1,234,567.89"),
        (Decimal("12"), "GBP", "£12.00"),
        (Decimal("-3"), "EUR", "-€3.00"),
        (Decimal("-1234.5"), "USD", "-$1,234.50"),
        (Decimal("0"), "USD", "$0.00"),
        (Decimal("-0.004"), "USD", "$0.00"),  # rounds to zero: no "-$0.00"
        (Decimal("12"), "JPY", "JPY 12.00"),  # no symbol: the code before the amount
        (Decimal("-12"), "CHF", "-CHF 12.00"),
        (Decimal("1234.5"), None, "1,234.50"),  # a cell whose header names the currency
        (Decimal("1234.5"), "", "1,234.50"),
        (Decimal("-0.5"), None, "-0.50"),
        (7, "USD", "$7.00"),
        (0.1 + 0.2, "USD", "$0.30"),
        ("19.999", "USD", "$20.00"),
    ],
)
def test_format_money(amount, currency, text):
    assert format_money(amount, currency) == text


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("0.125"), "0.12"),  # half to even, not half up
        (Decimal("0.135"), "0.14"),
        (Decimal("2.675"), "2.68"),  # exact decimal: no binary-float surprise
        (Decimal("-0.125"), "-0.12"),
        (Decimal("1234.565"), "1,234.56"),
    ],
)
def test_rounds_half_even_to_the_cent(amount, text):
    assert format_money(amount) == text


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("0.001234"), "$0.0012"),  # two significant digits, at least four decimals
        (Decimal("0.00001234"), "$0.000012"),
        (Decimal("0.5"), "$0.5000"),
        (Decimal("-0.001234"), "-$0.0012"),
        (Decimal("0.00012345"), "$0.00012"),
        (Decimal("0.000125"), "$0.00012"),  # half even below the cent too
        (Decimal("1.2345"), "$1.23"),  # a unit cost of 1 or more is shown to the cent
        (Decimal("0"), "$0.00"),
    ],
)
def test_unit_costs_keep_their_significant_digits(amount, text):
    assert format_money(amount, "USD", unit=True) == text


@pytest.mark.parametrize("amount", [None, "", float("nan"), float("inf"), "abc", Decimal("NaN")])
def test_missing_amounts_read_na(amount):
    assert format_money(amount, "USD") == "n/a"
    assert format_money(amount) == "n/a"
