"""A small curriculum that passes the lint, written into tmp_path; tests break one file at a time.

Two modules (alpha, beta), a six-question quiz each, and an exam with two domains whose bank
meets every quota (150 questions, 10 per attempt, weights 0.6 / 0.4).
"""

import shutil
from pathlib import Path

import pytest

from curriculum.content_loader import CONTENT_DIR

SECTIONS = [
    "Learning objectives",
    "Why this matters",
    "Worked example",
    "Lab",
    "Key terms",
    "Sources",
]
FILLER = (
    "Effective cost spreads each commitment over the usage it covers so that teams compare "
    "like with like across months and providers without surprises"
)


def paragraph(words: int, seed: str) -> str:
    base = (FILLER + " ").split()
    out = [f"{seed}{i}" if i % 23 == 0 else base[i % len(base)] for i in range(words)]
    return " ".join(out) + "."


def module_text(slug: str, order: int, body: str, **overrides: object) -> str:
    front = {
        "slug": slug,
        "title": f"Module {slug.title()}",
        "track": "crawl",
        "order": order,
        "version": 1,
        "estimated_minutes": 30,
        "required_for_exam": "true",
        "domains": "[domain-a]",
        "summary": f"What {slug} teaches, in one sentence.",
    }
    front.update(overrides)
    lines = ["---"]
    lines += [f"{key}: {value}" for key, value in front.items() if value is not None]
    lines += ["objectives:", "  - Do the first thing", "  - Do the second thing", "---", ""]
    return "\n".join(lines) + body


def module_body(slug: str, extra: str = "") -> str:
    parts = []
    for section in SECTIONS:
        parts.append(f"## {section}\n\n{paragraph(280, slug)}\n")
    return "\n".join(parts) + extra


def question_yaml(
    qid: str, prompt: str, *, extra: str = "", type_: str = "single", rotate: int = 0
) -> str:
    """One question; `rotate` moves the choices round so that key positions vary (the exam
    bank's key positions must be roughly uniform). The key is never the longest choice."""
    correct_b = "\n        correct: true" if type_ == "multiple" else ""
    choices = [
        f'      - text: "Right answer for {qid}"\n        correct: true\n',
        f'      - text: "Second answer for {qid}"{correct_b}\n',
        f'      - text: "Wrong answer for {qid}"\n',
    ]
    shift = rotate % len(choices)
    choices = choices[shift:] + choices[:shift]
    return (
        f"  - id: {qid}\n"
        f"    type: {type_}\n"
        f"{extra}"
        f'    prompt: "{prompt}"\n'
        f"    choices:\n"
        f"{''.join(choices)}"
        f'    explanation: "Because the definition of {qid} says so."\n'
    )


def write_curriculum(root: Path) -> Path:
    (root / "modules").mkdir(parents=True)
    (root / "quizzes").mkdir()
    (root / "exam" / "bank").mkdir(parents=True)
    alpha_body = module_body(
        "alpha", "\nRead [Beta](02-beta.md#lab) and [the spec](https://focus.finops.org/).\n"
    )
    (root / "modules" / "01-alpha.md").write_text(module_text("alpha", 1, alpha_body))
    beta_body = module_body("beta", "\nBack to [Alpha](01-alpha.md) and [this lab](#lab).\n")
    (root / "modules" / "02-beta.md").write_text(
        module_text("beta", 2, beta_body, track="walk", domains="[domain-a, domain-b]")
    )
    for slug in ("alpha", "beta"):
        questions = "".join(
            question_yaml(
                f"{slug}-q{n}",
                f"Quiz question {n} about {slug}?",
                type_="multiple" if n == 6 else "single",
            )
            for n in range(1, 7)
        )
        (root / "quizzes" / f"{slug}.yaml").write_text(f"module: {slug}\nquestions:\n{questions}")
    (root / "exam" / "exam.yaml").write_text(
        "slug: test-exam\n"
        "title: Test exam\n"
        "version: 1\n"
        "question_count: 10\n"
        "duration_minutes: 15\n"
        "pass_ratio: 0.75\n"
        "max_attempts: 3\n"
        "attempt_window_months: 12\n"
        "waiting_days: [1, 14]\n"
        "validity_months: 24\n"
        "required_modules: all\n"
        "difficulty_mix:\n"
        "  foundation: 0.3\n"
        "  practitioner: 0.5\n"
        "  advanced: 0.2\n"
        "domains:\n"
        "  - slug: domain-a\n"
        "    title: Domain A\n"
        "    weight: 0.6\n"
        "  - slug: domain-b\n"
        "    title: Domain B\n"
        "    weight: 0.4\n"
    )
    for domain, count in (("domain-a", 90), ("domain-b", 60)):
        levels = ("foundation", "practitioner", "advanced")
        questions = "".join(
            question_yaml(
                f"{domain}-{n:03d}",
                f"Exam question {n} on {domain}?",
                extra=(
                    f"    domain: {domain}\n    difficulty: {levels[n % 3]}\n"
                    f"    section: 01-alpha.md#why-this-matters\n"
                ),
                type_="multiple" if n % 5 == 0 else "single",
                rotate=n,
            )
            for n in range(1, count + 1)
        )
        (root / "exam" / "bank" / f"{domain}.yaml").write_text(
            f"domain: {domain}\nquestions:\n{questions}"
        )
    return root


@pytest.fixture
def content(tmp_path: Path) -> Path:
    return write_curriculum(tmp_path / "content")


@pytest.fixture
def real_content(tmp_path: Path) -> Path:
    """A copy of the real curriculum/content that a test may edit."""
    return Path(shutil.copytree(CONTENT_DIR, tmp_path / "real-content"))


def line_of(path: Path, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line containing needle."""
    seen = 0
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if needle in text:
            seen += 1
            if seen == nth:
                return number
    raise AssertionError(f"{needle!r} not in {path}")


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count))
