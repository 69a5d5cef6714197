"""The import is a straight line: each step once, imports pointing one way, one lock helper."""

import ast
import re
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.core.cache import cache
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from metrics.ledger import ingest
from metrics.ledger.locks import job_lock, release
from metrics.models import CostRecord, DailyCost
from tests.metrics.test_pricing import import_lines, line, price

REPO = Path(__file__).resolve().parent.parent.parent
# The ledger: what an import, a re-pricing or a re-allocation runs.
LEDGER = [
    "metrics/ledger/ingest.py",
    *sorted(
        str(p.relative_to(REPO)) for p in (REPO / "metrics" / "economics" / "pricing").glob("*.py")
    ),
    "metrics/economics/carbon.py",
    "metrics/ledger/rollups.py",
    "metrics/services.py",
    "metrics/ledger/allocation.py",
    "metrics/ledger/locks.py",
    "metrics/ledger/names.py",
    "metrics/ledger/providers.py",
    *sorted(
        str(p.relative_to(REPO)) for p in (REPO / "metrics" / "ledger" / "sources").glob("*.py")
    ),
]


def imported_modules(path: Path) -> set[str]:
    """Every metrics module `path` imports, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("metrics.")}


def test_ledger_modules_never_import_a_tasks_module_and_form_no_circle():
    graph = {}
    for rel in LEDGER:
        module = rel.removesuffix(".py").replace("/", ".")
        imports = imported_modules(REPO / rel)
        tasks = sorted(m for m in imports if re.match(r"metrics\.tasks", m))
        assert not tasks, f"{rel} imports {tasks}"
        graph[module] = {
            m for m in imports if m in {r.removesuffix(".py").replace("/", ".") for r in LEDGER}
        }

    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            assert state.get(nxt) != 1, "import circle: " + " -> ".join([*trail, node, nxt])
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for module in graph:
        if module not in state:
            visit(module, [])


def test_one_import_rebuilds_each_touched_day_once(db, teams, tmp_path):
    """Import, replacement, catalog pricing and carbon all run, and each day of the import
    is rolled up (and carbon-filled) by exactly one statement."""
    price("gpt-4o-mini", "2025-04-16", input_per_mtok="10", output_per_mtok="40")
    old = [line(d, cost="5", model="gpt-4o-mini") for d in ("2025-06-01", "2025-06-02")]
    import_lines(tmp_path, old, "old.csv")
    lines = [
        line(day, model="gpt-4o-mini", tokens=(1_000_000, 0, 0, 100_000), requests=3)
        for day in ("2025-06-01", "2025-06-02", "2025-06-03")
    ]
    with CaptureQueriesContext(connection) as queries:
        batch = import_lines(tmp_path, lines, "new.csv")
    rolled: Counter[str] = Counter()
    for q in queries.captured_queries:
        if q["sql"].lstrip().upper().startswith("INSERT INTO METRICS_DAILYCOST"):
            rolled.update(re.findall(r"'?(2025-\d\d-\d\d)'?", q["sql"]))
    assert rolled == {"2025-06-01": 1, "2025-06-02": 1, "2025-06-03": 1}
    # the newer export replaced the older rows; catalog pricing ran before the rollup
    assert batch.replaced_count == 2
    assert CostRecord.objects.filter(cost_source="catalog").count() == 3
    by_day = dict(DailyCost.objects.values_list("day").annotate(s=Sum("effective_cost")))
    assert by_day == {date(2025, 6, d): Decimal("14") for d in (1, 2, 3)}  # 10 + 0.1 x 40
    assert DailyCost.objects.filter(gco2e_high__gt=0).count() == 3  # carbon filled once
    assert "rollups" in batch.summary["seconds"] and "pricing" in batch.summary["seconds"]


def test_pricing_runs_unless_nothing_could_be_priced(db, teams, tmp_path, monkeypatch):
    """A batch whose rows all carry money, on days no other batch has rows, has nothing for
    catalog pricing: its scope is not even queried. Another batch on the same days, or
    usage without money, still goes through pricing."""
    scopes: list[int] = []
    real = ingest.batch_reprice_scope
    monkeypatch.setattr(ingest, "batch_reprice_scope", lambda pk: scopes.append(pk) or real(pk))
    price("gpt-4o-mini", "2025-04-16", input_per_mtok="10", output_per_mtok="40")
    paid = [line("2025-06-01", cost="5", model="gpt-4o-mini", tokens=(1000, 0, 0, 10))]
    import_lines(tmp_path, paid, "paid.csv")
    assert scopes == []
    other = [line("2025-06-01", cost="3", account="org-2", model="gpt-4o-mini")]
    second = import_lines(tmp_path, other, "other.csv")
    assert scopes == [second.pk]  # its day has rows of another batch
    free = [line("2025-07-01", model="gpt-4o-mini", tokens=(1_000_000, 0, 0, 0))]
    third = import_lines(tmp_path, free, "free.csv")
    assert scopes == [second.pk, third.pk]
    assert CostRecord.objects.get(batch=third).effective_cost == Decimal("10")


def test_job_lock_releases_only_its_own_token(db):
    with job_lock("t", 60) as mine:
        assert mine
        with job_lock("t", 60) as again:
            assert not again  # held: the second run skips
        assert cache.get("metrics:lock:t")  # ...and did not release the holder's lock
        # the lock expired and another run took it: our exit must not release theirs
        cache.set("metrics:lock:t", "someone-else", 60)
    assert cache.get("metrics:lock:t") == "someone-else"
    assert not release("metrics:lock:t", "not-the-token")
    assert release("metrics:lock:t", "someone-else")
    assert cache.get("metrics:lock:t") is None
