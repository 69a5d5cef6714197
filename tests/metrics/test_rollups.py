"""An import's rollups: added up from its chunks when only its rows are on its days, and then
the same rows, to the digit, as the GROUP BY over the ledger."""

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from metrics.ledger.rollups import rebuild_rollups
from metrics.models import DailyCost
from tests.metrics.test_pricing import import_lines, line

FIELDS = [
    "team_id",
    "day",
    "provider",
    "service_category",
    "model",
    "application_key",
    "currency",
    "billed_cost",
    "effective_cost",
    "gpu_hours",
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "model_requests",
    "record_count",
]


def rollup_rows() -> list[tuple[str, ...]]:
    # str() of a Decimal keeps its places: "4.00" and "4" are told apart
    return sorted(tuple(str(v) for v in row) for row in DailyCost.objects.values_list(*FIELDS))


def from_ledger() -> list[tuple[str, ...]]:
    """The rollups as the GROUP BY over the ledger gives them (rolled back afterwards)."""
    with transaction.atomic():
        rebuild_rollups(DailyCost.objects.values_list("day", flat=True))
        rows = rollup_rows()
        transaction.set_rollback(True)
    return rows


def grouped_from_ledger(queries: CaptureQueriesContext) -> bool:
    return any(
        q["sql"].lstrip().upper().startswith("INSERT INTO METRICS_DAILYCOST")
        and "FROM METRICS_COSTRECORD" in q["sql"].upper()
        for q in queries.captured_queries
    )


def test_rollups_of_a_first_import_match_the_ledger_to_the_digit(db, teams, tmp_path):
    lines = [
        line("2025-06-01", cost="1.50", tokens=(10, 1, 0, 5), requests=1),
        line("2025-06-01", cost="2.125", tokens=(20, 0, 2, 7), requests=2),
        line("2025-06-01", cost="-0.5", team=""),  # unallocated: a group of its own
        line("2025-06-01", cost="0.000000000001", app="other"),
        line("2025-06-02", cost="3", gpu="0.25", model="llama-3-70b"),
        line("2025-06-02", cost="4", gpu="1.5", model="llama-3-70b"),
        line("2025-06-03", cost="7.10", provider="anthropic", model="claude-3-5-haiku"),
    ]
    with CaptureQueriesContext(connection) as queries:
        import_lines(tmp_path, lines)
    rows = rollup_rows()
    assert len(rows) == 5
    assert rows == from_ledger()
    billed = {(r[0] != "None", r[1], r[4], r[5]): r[7] for r in rows}
    assert billed[(True, "2025-06-01", "o3", "bot")] == "3.625"  # 1.50 + 2.125
    assert billed[(False, "2025-06-01", "o3", "bot")] == "-0.5"  # unallocated
    assert billed[(True, "2025-06-02", "llama-3-70b", "bot")] == "7"  # 3 + 4
    # ...read back from the chunks on PostgreSQL, from the ledger on SQLite
    assert grouped_from_ledger(queries) == (connection.vendor != "postgresql")


def test_rollups_come_from_the_ledger_when_other_rows_share_the_days(db, teams, tmp_path):
    import_lines(tmp_path, [line("2025-06-01", cost="5", account="org-2")], "other.csv")
    with CaptureQueriesContext(connection) as queries:
        import_lines(tmp_path, [line("2025-06-01", cost="1.25")], "mine.csv")
    assert grouped_from_ledger(queries)
    rows = rollup_rows()
    assert rows == from_ledger()
    assert sum(int(r[-1]) for r in rows) == 2


def test_more_than_twelve_places_are_rolled_up_from_the_ledger(db, teams, tmp_path):
    lines = [line("2025-06-01", cost="0.00000000000001"), line("2025-06-01", cost="2.5")]
    with CaptureQueriesContext(connection) as queries:
        import_lines(tmp_path, lines)
    assert grouped_from_ledger(queries)
    rows = rollup_rows()
    assert rows == from_ledger()
    if connection.vendor == "postgresql":
        assert rows[0][7] == "2.50000000000001"


def test_amounts_in_exponent_notation_roll_up_from_the_chunks_to_the_digit(db, teams, tmp_path):
    # AWS CUR writes small amounts so: PostgreSQL's scale of 1.81E-8 is 10, of 2.50E+1 is 0
    lines = [
        line("2025-06-01", cost="1.81E-8"),
        line("2025-06-01", cost="2.50E+1"),
        line("2025-06-01", cost="-1.0E-6", team=""),
        line("2025-06-02", cost="3.5e-3", gpu="1E-2", model="llama-3-70b"),
    ]
    with CaptureQueriesContext(connection) as queries:
        import_lines(tmp_path, lines)
    rows = rollup_rows()
    assert rows == from_ledger()
    assert grouped_from_ledger(queries) == (connection.vendor != "postgresql")
    billed = {(r[0] != "None", r[1]): r[7] for r in rows}
    assert billed[(True, "2025-06-01")] == "25.0000000181"
