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
# The ledger and the economics: what an import, a re-pricing or a re-allocation runs.
LEDGER_ROOTS = ("metrics/ledger/", "metrics/economics/")
# The straight line of an import: none of these may sit on an import circle.
PIPELINE = (
    "metrics.ledger.ingest",
    "metrics.ledger.rollups",
    "metrics.ledger.allocation",
    "metrics.economics.pricing",
    "metrics.economics.carbon",
    "metrics.services",
)
# Every module imports the models; the models' one lazy import (a policy validator in
# metrics.advice) would put every module on one circle, so edges into the models hub are
# not counted.
HUB = "metrics.models"


def metrics_modules() -> dict[str, Path]:
    found = {}
    for path in (REPO / "metrics").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The metrics modules `name` imports, at module level or inside functions, relative
    imports resolved; `from a import b` counts a.b when that is a module, else a."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in modules else base)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    modules = metrics_modules()
    return {n: imported_modules(n, p, modules) - {HUB} for n, p in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_ledger_modules_never_import_a_tasks_module():
    graph = import_graph()
    ledger = [m for m in graph if m.replace(".", "/").startswith(LEDGER_ROOTS)]
    assert "metrics.ledger.ingest" in ledger and "metrics.economics.carbon" in ledger
    offenders = {
        m: sorted(t for t in graph[m] if t.split(".")[1].startswith("tasks")) for m in ledger
    }
    assert {m: t for m, t in offenders.items() if t} == {}


def test_ingest_pricing_carbon_and_tasks_advice_form_no_import_circle():
    graph = import_graph()
    on_circles = [c for c in circles(graph) if any(m.startswith(PIPELINE) for m in c)]
    assert on_circles == []
    # tasks_advice calls into the pipeline (re-pricing, carbon); nothing there calls back
    reachable, todo = set(), [m for m in graph if m.startswith(PIPELINE)]
    while todo:
        for nxt in graph[todo.pop()] - reachable:
            reachable.add(nxt)
            todo.append(nxt)
    assert "metrics.tasks_advice" not in reachable


def test_the_import_graph_sees_function_level_and_relative_imports(tmp_path):
    modules = {"metrics.a": tmp_path / "a.py", "metrics.b": tmp_path / "b.py"}
    modules["metrics.a"].write_text("def f():\n    from . import b\n")
    modules["metrics.b"].write_text("import metrics.a\n")
    graph = {n: imported_modules(n, p, modules) for n, p in modules.items()}
    assert graph == {"metrics.a": {"metrics.b"}, "metrics.b": {"metrics.a"}}
    assert circles(graph) == [{"metrics.a", "metrics.b"}]


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


def test_ledger_is_analyzed_only_when_the_import_reads_it_back(db, teams, tmp_path, monkeypatch):
    """Fresh statistics are for the queries that follow the load: replacement, pricing and
    the rollups they lead to. A first import of a period that carries its costs reads
    nothing back (its rollups come from the chunks' sums) and leaves them to autovacuum."""
    monkeypatch.setattr(ingest, "ANALYZE_MIN_ROWS", 1)

    def analyzed(lines, name):
        with CaptureQueriesContext(connection) as queries:
            import_lines(tmp_path, lines, name)
        return any(q["sql"].startswith("ANALYZE") for q in queries.captured_queries)

    on_postgres = connection.vendor == "postgresql"  # SQLite has no ANALYZE of this kind
    price("gpt-4o-mini", "2025-04-16", input_per_mtok="10", output_per_mtok="40")
    paid = [line("2025-06-01", cost="5", model="gpt-4o-mini", tokens=(1000, 0, 0, 10))]
    assert analyzed(paid, "paid.csv") is False
    newer = [line("2025-06-01", cost="6", model="gpt-4o-mini", tokens=(1000, 0, 0, 10))]
    assert analyzed(newer, "newer.csv") is on_postgres  # replaces the rows of paid.csv
    free = [line("2025-07-01", model="gpt-4o-mini", tokens=(1_000_000, 0, 0, 0))]
    assert analyzed(free, "free.csv") is on_postgres  # usage without cost: priced
    monkeypatch.setattr(ingest, "ANALYZE_MIN_ROWS", 2)
    small = [line("2025-07-02", model="gpt-4o-mini", tokens=(1_000_000, 0, 0, 0))]
    assert analyzed(small, "small.csv") is False  # below the threshold
    assert CostRecord.objects.filter(day=date(2025, 6, 1)).get().effective_cost == Decimal("6")


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
