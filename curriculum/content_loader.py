"""Read the curriculum files (Markdown modules, quiz and exam YAML) into typed dataclasses.

Every problem is a `ContentError` that names the file and line (`file:line: reason`), so an
author can jump straight to it. The loader checks what the database needs to be coherent:
keys and types, valid choices and correct-answer counts, unique slugs and question ids, quizzes
that point at real modules. Rules about quality or that span the whole curriculum (word
counts, sections, links, exam quotas) live in `curriculum.lint`.

`read_content` collects every problem and keeps going (for the lint); `load_content` raises the
first one (for the sync, which must not load a half-valid curriculum).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings

from curriculum.yaml_lines import ContentError, Fields, YamlDoc, display_path, parse_yaml

CONTENT_DIR = Path(__file__).resolve().parent / "content"

TRACKS = ("crawl", "walk", "run")
QUESTION_TYPES = ("single", "multiple")
DIFFICULTIES = ("foundation", "practitioner", "advanced")
QUIZ, EXAM = "quiz", "exam"

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MODULE_FILE_RE = re.compile(r"^(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)\.md$")

MODULE_KEYS = (
    "slug",
    "title",
    "track",
    "order",
    "version",
    "estimated_minutes",
    "required_for_exam",
    "domains",
    "summary",
    "objectives",
)
QUESTION_KEYS = ("id", "type", "prompt", "choices", "explanation")
EXAM_KEYS = (
    "slug",
    "title",
    "version",
    "question_count",
    "duration_minutes",
    "pass_ratio",
    "max_attempts",
    "attempt_window_months",
    "waiting_days",
    "validity_months",
    "domains",
)
EXAM_OPTIONAL_KEYS = ("required_modules", "difficulty_mix")
# A question may name the module section it tests: `NN-slug.md#heading-id` (the lint requires
# it for every exam bank question and checks that the module and the heading exist).
QUESTION_OPTIONAL_KEYS = ("section",)


def default_content_dir() -> Path:
    return Path(getattr(settings, "CURRICULUM_CONTENT_DIR", CONTENT_DIR))


def content_hash(data: Any) -> str:
    """SHA-256 of a canonical JSON form: equal content gives an equal hash across runs."""
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


# --- Modules -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleSource:
    path: Path
    slug: str
    title: str
    track: str
    order: int
    version: int
    estimated_minutes: int
    required_for_exam: bool
    domains: tuple[str, ...]
    summary: str
    objectives: tuple[str, ...]
    body: str
    body_line: int  # file line of the body's first line
    lines: dict[str, int] = field(compare=False, repr=False)  # front matter key -> file line

    def front_matter(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.title,
            "track": self.track,
            "order": self.order,
            "version": self.version,
            "estimated_minutes": self.estimated_minutes,
            "required_for_exam": self.required_for_exam,
            "domains": list(self.domains),
            "summary": self.summary,
            "objectives": list(self.objectives),
        }

    @property
    def content_hash(self) -> str:
        return content_hash({"front_matter": self.front_matter(), "body": self.body})

    def key_line(self, key: str) -> int:
        return self.lines.get(key, 1)


def split_front_matter(text: str, file: Path) -> tuple[str, str, int]:
    """Return (front matter YAML, body, file line of the body's first line).

    The front matter is the YAML between the first two lines that are exactly `---`; the first
    of them must be the file's first line.
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != "---":
        raise ContentError(file, 1, "no front matter: the file must start with a '---' line")
    for index in range(1, len(lines)):
        if lines[index].rstrip() == "---":
            return "".join(lines[1:index]), "".join(lines[index + 1 :]), index + 2
    raise ContentError(file, 1, "front matter is not closed by a second '---' line")


def read_module(path: Path) -> tuple[ModuleSource | None, list[ContentError]]:
    problems: list[ContentError] = []
    try:
        text = path.read_text(encoding="utf-8")
        front, body, body_line = split_front_matter(text, path)
        doc, problems = parse_yaml(front, path, first_line=2)
    except UnicodeDecodeError:
        return None, [ContentError(path, 1, "file is not UTF-8 text")]
    except ContentError as exc:
        return None, [exc]
    if not isinstance(doc.data, dict):
        return None, [ContentError(path, 1, "front matter must be a YAML mapping of keys")]
    doc.lines[()] = 1  # whole-front-matter problems point at its opening '---'
    fields = Fields(path, doc, (), problems)
    fields.check_keys(MODULE_KEYS, (), "front matter")
    track = fields.text("track")
    if track and track not in TRACKS:
        fields.problem("track", f"track '{track}' is not one of {', '.join(TRACKS)}")
    module = ModuleSource(
        path=path,
        slug=fields.text("slug", pattern=SLUG_RE),
        title=fields.text("title"),
        track=track,
        order=fields.integer("order", minimum=1),
        version=fields.integer("version", minimum=1),
        estimated_minutes=fields.integer("estimated_minutes", minimum=1),
        required_for_exam=fields.boolean("required_for_exam"),
        domains=fields.text_list("domains", non_empty=False),
        summary=fields.text("summary"),
        objectives=fields.text_list("objectives"),
        body=body,
        body_line=body_line,
        lines={str(key[0]): line for key, line in doc.lines.items() if len(key) == 1},
    )
    name = MODULE_FILE_RE.match(path.name)
    if name is None:
        problems.append(ContentError(path, 1, "module file name must look like NN-slug.md"))
    else:
        if module.slug and name.group(2) != module.slug:
            fields.problem("slug", f"slug '{module.slug}' does not match the file name {path.name}")
        if "order" in fields.mapping and int(name.group(1)) != module.order:
            fields.problem(
                "order", f"order {module.order} does not match the file name prefix {path.name}"
            )
    return module, problems


# --- Questions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ChoiceSource:
    text: str
    correct: bool
    line: int
    why: str = ""  # optional: why a learner who picks this choice is wrong (or right)


@dataclass(frozen=True)
class QuestionSource:
    path: Path
    line: int
    qid: str
    kind: str  # quiz | exam
    module: str  # module slug for a quiz question, "" for the exam bank
    type: str
    prompt: str
    choices: tuple[ChoiceSource, ...]
    explanation: str
    domain: str
    difficulty: str
    lines: dict[str, int] = field(compare=False, repr=False)
    section: str = ""  # `NN-slug.md#heading-id` of the module section the question tests

    def fingerprint(self) -> dict[str, Any]:
        return question_fingerprint(
            kind=self.kind,
            module=self.module,
            type=self.type,
            prompt=self.prompt,
            choices=[(choice.text, choice.correct, choice.why) for choice in self.choices],
            explanation=self.explanation,
            domain=self.domain,
            difficulty=self.difficulty,
        )

    @property
    def content_hash(self) -> str:
        return content_hash(self.fingerprint())

    def key_line(self, key: str) -> int:
        return self.lines.get(key, self.line)


def question_fingerprint(
    *,
    kind: str,
    module: str,
    type: str,
    prompt: str,
    choices: list[tuple[str, bool, str]],
    explanation: str,
    domain: str,
    difficulty: str,
) -> dict[str, Any]:
    """What makes two versions of a question the same; built alike from files and from rows."""
    return {
        "kind": kind,
        "module": module,
        "type": type,
        "prompt": prompt,
        # A choice's `why` joins the hash only when there is one: adding the key to the format
        # left every existing question's hash as it was.
        "choices": [
            [text, bool(correct), why] if why else [text, bool(correct)]
            for text, correct, why in choices
        ],
        "explanation": explanation,
        "domain": domain,
        "difficulty": difficulty,
    }


@dataclass(frozen=True)
class QuestionFile:
    path: Path
    kind: str
    module: str  # quiz: the module slug
    domain: str  # exam bank: the domain named by the file
    questions: tuple[QuestionSource, ...]
    questions_line: int


def read_question_file(path: Path, kind: str) -> tuple[QuestionFile | None, list[ContentError]]:
    """A quiz (`quizzes/<module>.yaml`) or exam bank file (`exam/bank/<domain>.yaml`)."""
    try:
        doc, problems = parse_yaml(path.read_text(encoding="utf-8"), path)
    except UnicodeDecodeError:
        return None, [ContentError(path, 1, "file is not UTF-8 text")]
    except ContentError as exc:
        return None, [exc]
    if not isinstance(doc.data, dict):
        return None, [*problems, ContentError(path, 1, "expected a mapping with 'questions:'")]
    fields = Fields(path, doc, (), problems)
    if kind == QUIZ:
        fields.check_keys(("module", "questions"), (), "quiz file")
        module = fields.text("module", pattern=SLUG_RE)
        if module and module != path.stem:
            fields.problem("module", f"module '{module}' does not match the file name {path.name}")
        file_domain = ""
    else:
        fields.check_keys(("questions",), ("domain",), "exam bank file")
        module = ""
        file_domain = fields.text("domain", required=False) or path.stem
        if file_domain != path.stem:
            fields.problem(
                "domain", f"domain '{file_domain}' does not match the file name {path.name}"
            )
    raw_questions = fields.mapping.get("questions")
    questions: list[QuestionSource] = []
    if not isinstance(raw_questions, list):
        if "questions" in fields.mapping:
            fields.problem("questions", "'questions' must be a list")
    else:
        for index in range(len(raw_questions)):
            question = _read_question(path, doc, index, kind, module, file_domain, problems)
            if question is not None:
                questions.append(question)
    result = QuestionFile(
        path=path,
        kind=kind,
        module=module,
        domain=file_domain,
        questions=tuple(questions),
        questions_line=doc.line("questions"),
    )
    return result, problems


def _read_question(
    path: Path,
    doc: YamlDoc,
    index: int,
    kind: str,
    module: str,
    file_domain: str,
    problems: list[ContentError],
) -> QuestionSource | None:
    line = doc.line("questions", index)
    if not isinstance(doc.data["questions"][index], dict):
        problems.append(ContentError(path, line, "each question must be a mapping of keys"))
        return None
    fields = Fields(path, doc, ("questions", index), problems)
    qid = fields.text("id", pattern=SLUG_RE)
    label = f"question '{qid}'" if qid else "question"
    if kind == QUIZ:
        fields.check_keys(QUESTION_KEYS, QUESTION_OPTIONAL_KEYS, label)
    else:
        # A bank question's domain defaults to its file's (exam/bank/<domain>.yaml).
        fields.check_keys(
            (*QUESTION_KEYS, "difficulty"), ("domain", *QUESTION_OPTIONAL_KEYS), label
        )
    qtype = fields.text("type")
    if qtype and qtype not in QUESTION_TYPES:
        fields.problem("type", f"{label}: type '{qtype}' is not single or multiple")
    prompt = fields.text("prompt")
    explanation = fields.text("explanation")
    domain = difficulty = ""
    if kind == EXAM:
        domain = fields.text("domain", required=False) or file_domain
        difficulty = fields.text("difficulty")
        if difficulty and difficulty not in DIFFICULTIES:
            fields.problem(
                "difficulty",
                f"{label}: difficulty '{difficulty}' is not one of {', '.join(DIFFICULTIES)}",
            )
    section = fields.text("section", required=False)
    choices = _read_choices(fields, label)
    correct = sum(choice.correct for choice in choices)
    if qtype == "single" and choices and correct != 1:
        fields.problem(
            "choices", f"{label}: type single needs exactly 1 correct choice, has {correct}"
        )
    if qtype == "multiple" and choices and correct < 2:
        fields.problem(
            "choices", f"{label}: type multiple needs 2 or more correct choices, has {correct}"
        )
    if qtype == "multiple" and choices and correct == len(choices):
        fields.problem("choices", f"{label}: every choice is correct; add a wrong one")
    return QuestionSource(
        path=path,
        line=line,
        qid=qid,
        kind=kind,
        module=module,
        type=qtype,
        prompt=prompt,
        choices=choices,
        explanation=explanation,
        domain=domain,
        difficulty=difficulty,
        lines={str(key[-1]): ln for key, ln in doc.lines.items() if key[:-1] == fields.path},
        section=section,
    )


def _read_choices(fields: Fields, label: str) -> tuple[ChoiceSource, ...]:
    raw = fields.mapping.get("choices")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        fields.problem("choices", f"{label}: 'choices' must be a list")
        return ()
    choices: list[ChoiceSource] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        line = fields.doc.line(*fields.path, "choices", index)
        if isinstance(item, dict):
            sub = Fields(fields.file, fields.doc, (*fields.path, "choices", index), fields.problems)
            sub.check_keys(("text",), ("correct", "why"), "choice")
            text = sub.text("text")
            correct = sub.boolean("correct") if "correct" in item else False
            why = sub.text("why") if "why" in item else ""
        else:
            fields.problems.append(
                ContentError(fields.file, line, f"{label}: a choice needs 'text:' (and 'correct:')")
            )
            continue
        if text and " ".join(text.split()).casefold() in seen:
            fields.problems.append(ContentError(fields.file, line, f"{label}: duplicate choice"))
        seen.add(" ".join(text.split()).casefold())
        choices.append(ChoiceSource(text=text, correct=correct, line=line, why=why))
    if len(choices) < 2:
        fields.problem("choices", f"{label}: needs at least 2 choices, has {len(choices)}")
    return tuple(choices)


# --- Exam --------------------------------------------------------------------------------


def largest_remainder(total: int, weights: list[Decimal]) -> list[int]:
    """Split `total` by `weights` into whole numbers that sum to `total`.

    Floor every share, then hand the leftover units to the largest fractional parts (ties go to
    the earlier weight), so the split is deterministic. Used for questions per domain and, within
    a domain, per difficulty.
    """
    weight_sum = sum(weights, Decimal(0))
    if not weights or weight_sum <= 0:
        return [0 for _ in weights]
    shares = [total * weight / weight_sum for weight in weights]
    counts = [int(share) for share in shares]
    leftover = total - sum(counts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(shares[i] - counts[i]), i))
    for index in by_remainder[:leftover]:
        counts[index] += 1
    return counts


def exam_blueprint(
    question_count: int,
    domain_weights: dict[str, Decimal],
    difficulty_mix: dict[str, Decimal],
) -> dict[tuple[str, str], int]:
    """Questions per (domain, difficulty) in every attempt: the domains split `question_count`
    by weight, then each domain's count splits by `difficulty_mix` (in DIFFICULTIES order).
    Without a mix the difficulty is "" (any)."""
    domains = list(domain_weights)
    per_domain = largest_remainder(question_count, [domain_weights[d] for d in domains])
    levels = [level for level in DIFFICULTIES if level in difficulty_mix]
    cells: dict[tuple[str, str], int] = {}
    for domain, count in zip(domains, per_domain, strict=True):
        if not levels:
            cells[(domain, "")] = count
            continue
        split = largest_remainder(count, [difficulty_mix[level] for level in levels])
        for level, part in zip(levels, split, strict=True):
            cells[(domain, level)] = part
    return cells


@dataclass(frozen=True)
class ExamDomainSource:
    slug: str
    title: str
    weight: Decimal
    line: int


@dataclass(frozen=True)
class ExamSource:
    path: Path
    slug: str
    title: str
    version: int
    question_count: int
    duration_minutes: int
    pass_ratio: Decimal
    max_attempts: int
    attempt_window_months: int
    waiting_days: tuple[int, ...]
    validity_months: int
    required_modules: str | tuple[str, ...]  # "all" or module slugs
    domains: tuple[ExamDomainSource, ...]
    lines: dict[str, int] = field(compare=False, repr=False)
    # difficulty -> share of every domain's questions per attempt; empty: by domain only
    difficulty_mix: dict[str, Decimal] = field(default_factory=dict)

    def key_line(self, key: str) -> int:
        return self.lines.get(key, 1)


def read_exam(path: Path) -> tuple[ExamSource | None, list[ContentError]]:
    try:
        doc, problems = parse_yaml(path.read_text(encoding="utf-8"), path)
    except UnicodeDecodeError:
        return None, [ContentError(path, 1, "file is not UTF-8 text")]
    except ContentError as exc:
        return None, [exc]
    if not isinstance(doc.data, dict):
        return None, [*problems, ContentError(path, 1, "exam definition must be a mapping")]
    fields = Fields(path, doc, (), problems)
    fields.check_keys(EXAM_KEYS, EXAM_OPTIONAL_KEYS, "exam definition")
    pass_ratio = fields.decimal("pass_ratio")
    if "pass_ratio" in fields.mapping and not Decimal(0) < pass_ratio <= Decimal(1):
        fields.problem("pass_ratio", f"pass_ratio must be above 0 and at most 1, not {pass_ratio}")
    required_modules: str | tuple[str, ...] = "all"
    if "required_modules" in fields.mapping:
        raw = fields.mapping["required_modules"]
        required_modules = raw if raw == "all" else fields.text_list("required_modules")
    difficulty_mix = _read_difficulty_mix(fields)
    domains: list[ExamDomainSource] = []
    raw_domains = fields.mapping.get("domains")
    if "domains" in fields.mapping and not (isinstance(raw_domains, list) and raw_domains):
        fields.problem("domains", "'domains' must be a non-empty list")
    elif isinstance(raw_domains, list):
        for index, item in enumerate(raw_domains):
            line = doc.line("domains", index)
            if not isinstance(item, dict):
                problems.append(ContentError(path, line, "each domain needs slug, title, weight"))
                continue
            sub = Fields(path, doc, ("domains", index), problems)
            sub.check_keys(("slug", "title", "weight"), (), "domain")
            weight = sub.decimal("weight")
            if "weight" in item and not Decimal(0) < weight <= Decimal(1):
                sub.problem("weight", f"weight must be above 0 and at most 1, not {weight}")
            domains.append(
                ExamDomainSource(
                    slug=sub.text("slug", pattern=SLUG_RE),
                    title=sub.text("title"),
                    weight=weight,
                    line=line,
                )
            )
        seen: set[str] = set()
        for domain in domains:
            if domain.slug in seen:
                problems.append(
                    ContentError(path, domain.line, f"duplicate domain '{domain.slug}'")
                )
            seen.add(domain.slug)
    exam = ExamSource(
        path=path,
        slug=fields.text("slug", pattern=SLUG_RE),
        title=fields.text("title"),
        version=fields.integer("version", minimum=1),
        question_count=fields.integer("question_count", minimum=1),
        duration_minutes=fields.integer("duration_minutes", minimum=1),
        pass_ratio=pass_ratio,
        max_attempts=fields.integer("max_attempts", minimum=1),
        attempt_window_months=fields.integer("attempt_window_months", minimum=1),
        waiting_days=fields.int_list("waiting_days"),
        validity_months=fields.integer("validity_months", minimum=1),
        required_modules=required_modules,
        domains=tuple(domains),
        lines={str(key[0]): line for key, line in doc.lines.items() if len(key) == 1},
        difficulty_mix=difficulty_mix,
    )
    return exam, problems


def _read_difficulty_mix(fields: Fields) -> dict[str, Decimal]:
    """`difficulty_mix: {foundation: 0.3, practitioner: 0.5, advanced: 0.2}`: every difficulty
    named once, shares above 0 summing to 1."""
    if "difficulty_mix" not in fields.mapping:
        return {}
    raw = fields.mapping["difficulty_mix"]
    if not isinstance(raw, dict) or not raw:
        fields.problem("difficulty_mix", "'difficulty_mix' must map difficulties to shares")
        return {}
    mix: dict[str, Decimal] = {}
    for level, value in raw.items():
        if level not in DIFFICULTIES:
            fields.problem(
                "difficulty_mix",
                f"difficulty_mix: '{level}' is not one of {', '.join(DIFFICULTIES)}",
            )
            continue
        try:
            if isinstance(value, bool):
                raise TypeError
            share = Decimal(str(value))
        except (InvalidOperation, TypeError):
            fields.problem("difficulty_mix", f"difficulty_mix: {level} must be a number")
            continue
        if not Decimal(0) < share <= Decimal(1):
            fields.problem(
                "difficulty_mix", f"difficulty_mix: {level} must be above 0 and at most 1"
            )
            continue
        mix[str(level)] = share
    if mix and sum(mix.values(), Decimal(0)) != Decimal(1):
        fields.problem(
            "difficulty_mix",
            f"difficulty_mix shares sum to {sum(mix.values(), Decimal(0))}, not 1",
        )
    return mix


# --- The whole tree ----------------------------------------------------------------------


@dataclass(frozen=True)
class Content:
    root: Path
    modules: tuple[ModuleSource, ...]
    quizzes: tuple[QuestionFile, ...]
    bank: tuple[QuestionFile, ...]
    exam: ExamSource | None

    @property
    def exam_path(self) -> Path:
        return self.root / "exam" / "exam.yaml"

    def questions(self) -> Iterator[QuestionSource]:
        for question_file in (*self.quizzes, *self.bank):
            yield from question_file.questions

    def module(self, slug: str) -> ModuleSource | None:
        return next((module for module in self.modules if module.slug == slug), None)


def _files(directory: Path, pattern: str) -> list[Path]:
    if not directory.is_dir():
        return []
    # Editors leave hidden backup files behind (.#x.md, .x.md.swp): ignore them.
    return sorted(p for p in directory.glob(pattern) if p.is_file() and not p.name.startswith("."))


def read_content(content_dir: Path | None = None) -> tuple[Content, list[ContentError]]:
    """Read every content file; return what could be read and every problem found."""
    root = Path(content_dir) if content_dir is not None else default_content_dir()
    problems: list[ContentError] = []
    modules: list[ModuleSource] = []
    for path in _files(root / "modules", "*.md"):
        module, found = read_module(path)
        problems.extend(found)
        if module is not None:
            modules.append(module)
    if not modules:
        problems.append(ContentError(root / "modules", 1, "no module files (NN-slug.md) found"))
    quizzes: list[QuestionFile] = []
    for path in _files(root / "quizzes", "*.y*ml"):
        quiz, found = read_question_file(path, QUIZ)
        problems.extend(found)
        if quiz is not None:
            quizzes.append(quiz)
    bank: list[QuestionFile] = []
    for path in _files(root / "exam" / "bank", "*.y*ml"):
        bank_file, found = read_question_file(path, EXAM)
        problems.extend(found)
        if bank_file is not None:
            bank.append(bank_file)
    exam: ExamSource | None = None
    exam_path = root / "exam" / "exam.yaml"
    if exam_path.is_file():
        exam, found = read_exam(exam_path)
        problems.extend(found)
    else:
        problems.append(ContentError(exam_path, 1, "the exam definition file is missing"))
    content = Content(
        root=root, modules=tuple(modules), quizzes=tuple(quizzes), bank=tuple(bank), exam=exam
    )
    problems.extend(_check_identities(content))
    return content, sorted(problems, key=ContentError.sort_key)


def _check_identities(content: Content) -> list[ContentError]:
    """Slugs and question ids are natural keys: a duplicate would make the sync flip-flop."""
    problems: list[ContentError] = []
    slugs: dict[str, ModuleSource] = {}
    for module in content.modules:
        if module.slug in slugs:
            first = slugs[module.slug]
            problems.append(
                ContentError(
                    module.path,
                    module.key_line("slug"),
                    f"duplicate module slug '{module.slug}' (also in {first.path.name})",
                )
            )
        elif module.slug:
            slugs[module.slug] = module
    qids: dict[str, QuestionSource] = {}
    for question in content.questions():
        if not question.qid:
            continue
        first_q = qids.get(question.qid)
        if first_q is not None:
            problems.append(
                ContentError(
                    question.path,
                    question.key_line("id"),
                    f"duplicate question id '{question.qid}' "
                    f"(first in {display_path(first_q.path)}:{first_q.key_line('id')})",
                )
            )
        else:
            qids[question.qid] = question
    # A module file that failed to parse still names its slug: don't cascade into this error.
    named = {
        m.group(2)
        for p in _files(content.root / "modules", "*.md")
        if (m := MODULE_FILE_RE.match(p.name))
    }
    for quiz in content.quizzes:
        if quiz.module and quiz.module not in slugs and quiz.module not in named:
            problems.append(ContentError(quiz.path, 1, f"quiz for unknown module '{quiz.module}'"))
    return problems


def load_content(content_dir: Path | None = None) -> Content:
    """Read every content file; raise the first structural problem as a ContentError."""
    content, problems = read_content(content_dir)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more; run lint_curriculum)" if len(problems) > 1 else ""
        raise ContentError(first.file, first.line, first.reason + more)
    return content
