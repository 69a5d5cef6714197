"""metrics/README.md and docs/definitions.md name modules that exist, and the README's tables
name every module of metrics (a new module gets a row, a removed one loses it)."""

import importlib
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
METRICS = REPO / "metrics"
README = METRICS / "README.md"
DEFINITIONS = REPO / "docs" / "definitions.md"
TOP_DIRS = {"metrics", "tests", "docs", "bot", "portal", "curriculum", "config", "bench"}
PATH_ENDINGS = (".py", ".yaml", ".md", "/")


def ticks(text: str) -> list[str]:
    """Code spans without spaces, URLs (`/api/v1/`) left out."""
    return [t for t in re.findall(r"`([^`\s]+)`", text) if not t.startswith("/")]


def table_rows(text: str) -> list[tuple[str, str]]:
    """(first cell, second cell) of every table row that is not a header or separator."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 2 or set(cells[0]) <= {"-", " "}:
            continue
        if cells[0] == "module":
            continue
        rows.append((cells[0], cells[1]))
    return rows


def resolve_path(token: str, base: Path) -> Path:
    first = token.split("/")[0]
    return (REPO if first in TOP_DIRS else base) / token


def resolves(dotted: str) -> bool:
    """A module, or an attribute of one (a function, a class, a class attribute)."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for name in parts[i:]:
                obj = getattr(obj, name)
        except AttributeError:
            return False
        return True
    return False


def task_names() -> set[str]:
    from config.celery import app

    for module in ("metrics.tasks", "metrics.tasks_advice", "metrics.tasks_alerting"):
        importlib.import_module(module)
    return set(app.tasks)


def named_in_tables(readme: Path = README) -> set[Path]:
    """Every path the README's tables name: the first cell from metrics/, the second cell
    from the first cell's directory when the row is about one directory."""
    named: set[Path] = set()
    for first, second in table_rows(readme.read_text()):
        heads = [t for t in ticks(first) if t.endswith(PATH_ENDINGS)]
        named.update(resolve_path(t, METRICS) for t in heads)
        base = METRICS / heads[0] if len(heads) == 1 and heads[0].endswith("/") else METRICS
        for token in ticks(second):
            if token.endswith(PATH_ENDINGS):
                named.add(resolve_path(token, base))
            elif base.name == "commands" and re.fullmatch(r"[a-z_]+", token):
                named.add(base / f"{token}.py")
    return named


def missing_paths(readme: Path = README) -> list[str]:
    return sorted(str(p.relative_to(REPO)) for p in named_in_tables(readme) if not p.exists())


def unnamed_modules(readme: Path = README) -> list[str]:
    named = named_in_tables(readme)
    return [
        str(path.relative_to(METRICS))
        for path in sorted(METRICS.rglob("*.py"))
        if "migrations" not in path.relative_to(METRICS).parts
        and path.name != "__init__.py"
        and path not in named
    ]


def test_every_path_in_the_readme_tables_exists():
    assert not missing_paths(), (
        f"metrics/README.md names paths that do not exist: {missing_paths()}"
    )


def test_every_metrics_module_has_a_row_in_the_readme():
    assert not unnamed_modules(), (
        f"modules with no row in metrics/README.md (add them to its tables): {unnamed_modules()}"
    )


def test_the_checks_see_a_missing_and_an_unnamed_module(tmp_path):
    text = README.read_text()
    extra = tmp_path / "extra.md"
    extra.write_text(text + "\n| module | what |\n| --- | --- |\n| `ledger/nowhere.py` | x |\n")
    assert missing_paths(extra) == ["metrics/ledger/nowhere.py"]
    fewer = tmp_path / "fewer.md"
    fewer.write_text(text.replace("| `ledger/names.py` |", "| names |"))
    assert unnamed_modules(fewer) == ["ledger/names.py"]


@pytest.mark.parametrize("doc", [README, DEFINITIONS], ids=lambda p: p.name)
def test_every_dotted_name_and_path_in_the_docs_exists(doc):
    """`metrics.queries.unit_kpis`, `ledger.ingest.billing_import` (relative to metrics),
    `metrics/ledger/allocation.py`: each a real module, function or file; `metrics.x` names
    that are not modules are Celery task names."""
    tops = {p.stem for p in METRICS.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    tasks = task_names()
    wrong = []
    for token in ticks(doc.read_text()):
        token = token.rstrip(".,:;")
        if token.endswith(PATH_ENDINGS) and "/" in token.rstrip("/"):
            base = METRICS if doc == README else REPO
            if not resolve_path(token, base).exists():
                wrong.append(token)
        elif re.fullmatch(r"[a-z_]+(\.[A-Za-z_]+)+", token) and not token.endswith(".py"):
            first = token.split(".")[0]
            dotted = token if first == "metrics" else f"metrics.{token}"
            if first != "metrics" and first not in tops:
                continue  # not a name of ours (e.g. a setting or a file name)
            if not (resolves(dotted) or token in tasks):
                wrong.append(token)
    assert not wrong, f"{doc.name} names things that do not exist: {wrong}"


def test_the_definitions_page_has_the_sections_code_cites():
    """Every `docs/definitions.md#anchor` cited in code is a heading of the page."""
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line[3:].strip().lower()).replace(" ", "-")
        for line in DEFINITIONS.read_text().splitlines()
        if line.startswith("## ")
    }
    cited = set()
    for path in [*REPO.glob("*.md"), *(REPO / d for d in ("metrics", "bot", "portal"))]:
        files = [path] if path.is_file() else [*path.rglob("*.py"), *path.rglob("*.md")]
        for f in files:
            cited.update(re.findall(r"docs/definitions\.md#([a-z0-9-]+)", f.read_text()))
    assert cited, "no code cites docs/definitions.md"
    assert cited <= anchors, f"cited anchors with no section: {sorted(cited - anchors)}"
