"""Every lab step of every module, done against the demo data.

The demo (the same `seed_people` + `seed_usage` that `seed_demo` / `make demo` run, with fewer
rows) is loaded into the test database. Then, module by module, the `## Lab` section is read
and each step it names is carried out:

- every `python manage.py ...` command runs (placeholders filled: last week's dates, a sample
  file for `PATH`); an import runs twice and the second must change nothing;
- every fenced `python` block runs in the folder the lab's exports were written to;
- every portal or API URL is fetched as each demo account the lab signs in with (200);
- what the lab tells the learner to look for exists: each export column it names is in the
  export's header, each multi-word value it names (`AI and Machine Learning`,
  `Kubernetes idle capacity`) is in the export, and each API field it names
  (`token_carbon_density`, `monthly_amount`) is in an API answer of that lab.

A lab that names a column, field, page or command the product does not have fails here.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from curriculum.content_loader import CONTENT_DIR
from metrics.ledger.export import COLUMN_NAMES
from metrics.models import CostRecord
from metrics.synthetic.demo import seed_usage
from portal.demo_people import seed_people
from tests.conftest import SHARED

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "billing"
FOCUS_SAMPLE = SHARED / "data" / "billing" / "focus_sample_1.0_official.csv"
DEMO_ACCOUNTS = ("finops@example.com", "lead@example.com", "alice@example.com", "bob@example.com")
# Demo size: smaller than `make demo` (60 days, 20,000 rows) to keep the test quick, large
# enough for every lab: several weeks of history, every provider, the cluster's idle row.
DEMO_DAYS, DEMO_ROWS = 35, 2500
# What a lab says a page shows, beyond answering 200.
PAGE_TEXT = {"07-greenops-for-ai.md": {"/dashboard/": "CO2e"}}

CODE_SPAN = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"```python\n(.*?)```", re.S)
SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
COLUMN = re.compile(r"^(?:x_[A-Za-z]+|[A-Z][a-z]+(?:[A-Z][a-z]*)+)$")


def labs() -> list[tuple[str, str]]:
    out = []
    for path in sorted((CONTENT_DIR / "modules").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        match = re.search(r"^## Lab\s*$(.*?)^## ", text, re.M | re.S)
        assert match, f"{path.name} has no ## Lab section"
        out.append((path.name, match.group(1)))
    return out


def spans(lab: str) -> list[str]:
    return CODE_SPAN.findall(FENCE.sub("", lab))


def accounts(lab: str) -> list[str]:
    found = [a for a in DEMO_ACCOUNTS if f"as `{a}`" in lab or f"in as `{a}`" in lab]
    return found or ["finops@example.com"]


def last_week() -> tuple[str, str]:
    today = timezone.now().date()
    monday = today - timedelta(days=today.weekday())
    return str(monday - timedelta(days=7)), str(monday - timedelta(days=1))


def json_keys(value: object) -> set[str]:
    keys: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            keys.add(str(key))
            keys |= json_keys(item)
    elif isinstance(value, list):
        for item in value:
            keys |= json_keys(item)
    return keys


class LabRun:
    """One module's lab: runs its steps, collects every problem instead of stopping."""

    def __init__(self, name: str, lab: str, folder: Path, client) -> None:
        self.name, self.lab, self.folder, self.client = name, lab, folder, client
        self.problems: list[str] = []
        self.exports: list[Path] = []
        self.api_keys: set[str] = set()

    def fail(self, what: str) -> None:
        self.problems.append(f"{self.name}: {what}")

    def command(self, text: str) -> None:
        words = shlex.split(text)[2:]  # drop "python manage.py"
        name, args = words[0], words[1:]
        start, end = last_week()
        dates = iter([start, end])
        filled: list[str] = []
        for index, arg in enumerate(args):
            if arg == "YYYY-MM-DD":
                arg = next(dates)
            elif arg in ("PATH", "focus_sample.csv"):
                source = args[index + 2] if args[index + 1 : index + 2] == ["--source"] else ""
                if source == "opencost":
                    arg = str(FIXTURES / "opencost_allocation.json")
                elif FOCUS_SAMPLE.is_file():
                    arg = str(FOCUS_SAMPLE)
                else:
                    pytest.skip(f"{FOCUS_SAMPLE} not found (set FINOPS_SHARED_DIR)")
            elif filled and filled[-1] == "--out":
                arg = str(self.folder / arg)
                self.exports.append(Path(arg))
            filled.append(arg)
        out = io.StringIO()
        try:
            call_command(name, *filled, stdout=out, stderr=io.StringIO())
        except Exception as exc:  # a lab command that fails is the finding
            self.fail(f"`{text}` failed: {exc}")
            return
        if name == "ask" and "$" not in out.getvalue():
            self.fail(f"`{text}` gave no amount: {out.getvalue()[:200]!r}")
        if name == "import_billing":
            before = (
                CostRecord.objects.count(),
                CostRecord.objects.aggregate(s=Sum("billed_cost")),
            )
            call_command(name, *filled, stdout=io.StringIO(), stderr=io.StringIO())
            after = (CostRecord.objects.count(), CostRecord.objects.aggregate(s=Sum("billed_cost")))
            if before != after:
                self.fail(f"`{text}` run twice changed the ledger: {before} -> {after}")

    def url(self, url: str) -> None:
        for email in accounts(self.lab):
            self.client.force_login(self._user(email))
            response = self.client.get(url)
            if response.status_code != 200:
                self.fail(f"GET {url} as {email}: {response.status_code}")
                continue
            if response.get("Content-Type", "").startswith("application/json"):
                self.api_keys |= json_keys(json.loads(response.content))
            expected = PAGE_TEXT.get(self.name, {}).get(url)
            if expected and expected not in response.content.decode():
                self.fail(f"GET {url} as {email} does not show {expected!r}")

    @staticmethod
    def _user(email: str):
        from django.contrib.auth import get_user_model

        return get_user_model().objects.get(email=email)

    def python_blocks(self) -> None:
        for code in FENCE.findall(self.lab):
            done = subprocess.run(
                [sys.executable, "-c", code],
                cwd=self.folder,
                capture_output=True,
                text=True,
                timeout=120,
            )
            if done.returncode != 0:
                self.fail(f"the lab's python block fails: {done.stderr[-500:]}")

    def named_things_exist(self) -> None:
        words = [s for s in spans(self.lab) if not s.startswith(("python ", "make ", "/"))]
        columns = {w for w in words if COLUMN.match(w)}
        values = {w for w in words if " " in w and "@" not in w}
        fields = {w for w in words if SNAKE.match(w) and not w.startswith("x_")}
        if (columns or values) and not self.exports:
            self.fail(
                f"names export columns or values {sorted(columns | values)} but exports nothing"
            )
        frames = [pd.read_csv(path, dtype=str, keep_default_na=False) for path in self.exports]
        for column in sorted(columns):
            if column in {"FOCUS"}:
                continue
            if column not in COLUMN_NAMES or any(column not in f.columns for f in frames):
                self.fail(f"export column `{column}` is not in the export")
        for value in sorted(values):
            if not any((f == value).any().any() for f in frames):
                self.fail(f"value `{value}` appears in no cell of the export")
        for field in sorted(fields - self.api_keys):
            self.fail(f"API field `{field}` is in no API answer of this lab")


@pytest.fixture
def demo(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    seed_people()
    seed_usage(io.StringIO(), days=DEMO_DAYS, rows=DEMO_ROWS)
    return tmp_path


def test_the_labs_name_what_they_use():
    """The parser finds the steps (so the test below cannot pass by finding nothing)."""
    found = labs()
    assert len(found) == 10
    commands = [s for _, lab in found for s in spans(lab) if s.startswith("python manage.py")]
    urls = [s for _, lab in found for s in spans(lab) if s.startswith("/")]
    assert len(commands) >= 20 and len(urls) >= 12
    assert sum(len(FENCE.findall(lab)) for _, lab in found) >= 2


@pytest.mark.slow  # builds the demo world, then runs every lab step (~10 s)
def test_every_lab_step_runs_against_the_demo_data(demo, client):
    # The demo has what the labs rely on.
    assert CostRecord.objects.filter(provider="kubernetes", gpu_hours__gt=0).exists()
    assert CostRecord.objects.filter(team__isnull=True).exists()  # unallocated rows
    problems: list[str] = []
    for name, lab in labs():
        folder = demo / name.removesuffix(".md")
        folder.mkdir()
        run = LabRun(name, lab, folder, client)
        for span in spans(lab):
            if span.startswith("python manage.py "):
                run.command(span)
            elif span.startswith("/"):
                run.url(span)
        run.python_blocks()
        run.named_things_exist()
        problems.extend(run.problems)
    assert problems == []
