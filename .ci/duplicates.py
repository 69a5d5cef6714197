"""No block of six or more lines repeated across the application's modules (issue 17).

Run by .ci/checks/duplicates.sh as `.venv/bin/python .ci/duplicates.py` from the repo root.

pylint's duplicate-code check (R0801) runs over the apps (config, metrics, portal, curriculum,
bot; tests and migrations are not checked) with the thresholds the issue names: six lines or
more, imports, signatures, docstrings and comments ignored. Every block it finds must be listed
in .ci/checks/duplicates_allowed.txt with the reason it is kept; any other block fails the run,
and so does an entry that no longer matches a block (the list stays as small as the code).

An entry is one line: the modules that share the block as pylint names them, sorted and joined
by " + ", then " | ", the block's first line (stripped), then " | " and why it is kept. Lines
move; the modules and the block's first line identify it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PATHS = ["config", "metrics", "portal", "curriculum", "bot"]
PYLINT = [
    sys.executable,
    "-m",
    "pylint",
    "--disable=all",
    "--enable=duplicate-code",
    "--min-similarity-lines=6",
    "--ignore-imports=yes",
    "--ignore-signatures=yes",
    "--ignore-docstrings=yes",
    "--ignore-comments=yes",
    "--ignore=migrations",
    "--output-format=json2",
    "--score=n",
]
ALLOWED = Path(".ci/checks/duplicates_allowed.txt")
LOCATION = re.compile(r"^==(?P<module>[\w.]+):\[(?P<start>\d+):(?P<end>\d+)\]$")
# pylint exit status bits: 1 fatal, 2 error, 4 warning, 8 refactor, 16 convention, 32 usage.
PYLINT_FAILED = 1 | 2 | 32


@dataclass(frozen=True)
class Block:
    modules: tuple[str, ...]
    first_line: str
    where: tuple[str, ...]  # module:first-last (1-based, inclusive)
    text: str

    @property
    def key(self) -> tuple[tuple[str, ...], str]:
        return self.modules, self.first_line


def parse(message: str) -> Block:
    lines = message.splitlines()[1:]  # "Similar lines in N files"
    where, modules = [], []
    while lines and (m := LOCATION.match(lines[0])):
        modules.append(m["module"])
        where.append(f"{m['module']}:{int(m['start']) + 1}-{m['end']}")
        lines.pop(0)
    body = [line for line in lines if line.strip()]
    first = body[0].strip() if body else ""
    return Block(tuple(sorted(modules)), first, tuple(where), "\n".join(lines))


def allowed(path: Path) -> dict[tuple[tuple[str, ...], str], str]:
    out: dict[tuple[tuple[str, ...], str], str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(" | ", 2)]
        if len(parts) != 3 or not all(parts):
            sys.exit(f"{path}:{number}: expected 'modules | first line | reason', got {raw!r}")
        modules = tuple(sorted(m.strip() for m in parts[0].split(" + ")))
        out[(modules, parts[1])] = parts[2]
    return out


def main() -> int:
    run = subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments, no shell
        [*PYLINT, *PATHS], capture_output=True, text=True, check=False
    )
    if run.returncode & PYLINT_FAILED:
        print(run.stdout, run.stderr, sep="\n", file=sys.stderr)
        print(f"pylint failed (exit status {run.returncode})", file=sys.stderr)
        return 1
    messages = json.loads(run.stdout)["messages"]
    blocks = [parse(m["message"]) for m in messages if m["symbol"] == "duplicate-code"]
    kept = allowed(ALLOWED)
    new = [b for b in blocks if b.key not in kept]
    found = {b.key for b in blocks}
    stale = [key for key in kept if key not in found]
    for b in blocks:
        if b.key in kept:
            print(f"kept: {' and '.join(b.where)}: {kept[b.key]}")
    for b in new:
        print(f"\nREPEATED BLOCK in {' and '.join(b.where)}:\n{b.text}")
    for modules, first in stale:
        print(f"\nSTALE ENTRY in {ALLOWED}: {' + '.join(modules)} | {first} (no such block now)")
    if new or stale:
        print(
            f"\n{len(new)} repeated block(s), {len(stale)} stale entr(y/ies). Share the code "
            f"(one function or constant), or, when the likeness is on purpose, add a line to "
            f"{ALLOWED}: '{' + '.join(new[0].modules) if new else 'modules'} | "
            f"{new[0].first_line if new else 'first line'} | why it is kept'."
        )
        return 1
    print(f"duplicates: {len(blocks)} kept block(s), no other block of 6+ lines repeated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
