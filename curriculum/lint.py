"""The curriculum lint: every rule of curriculum/README.md, reported as `file:line: reason`.

Pure: reads files, renders Markdown, touches no database. The loader's structural checks come
first (`read_content`); the rules here judge quality and what spans several files.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

from curriculum.content_loader import (
    DIFFICULTIES,
    Content,
    ModuleSource,
    QuestionSource,
    exam_blueprint,
    read_content,
)
from curriculum.rendering import (
    MODULE_LINK_RE,
    RenderedModule,
    extract_links,
    find_unsafe,
    render_markdown_inline,
)
from curriculum.rendering import render_markdown as _render
from curriculum.yaml_lines import ContentError, display_path

REQUIRED_SECTIONS = ("Learning objectives", "Worked example", "Lab", "Key terms", "Sources")
MIN_WORDS, MAX_WORDS = 1500, 3000
MIN_QUIZ_QUESTIONS = 6
MIN_BANK_QUESTIONS = 150
DOMAIN_QUOTA_FACTOR = Decimal("1.5")  # a domain's bank holds 1.5x what one attempt draws

# Item-writing rules (a fair exam: the keys must not give themselves away).
KEY_LENGTH_FACTOR = 1.5  # a key at most 1.5x the mean distractor length (characters)
MAX_LONGEST_KEY_SHARE = 0.35  # share of single-answer keys that are the longest option (ties too)
MAX_FIRST_N_SHARE = 0.35  # share of multiple-response items keying exactly the first N options
MIN_ITEMS_FOR_SHARES = 20  # the share and position rules judge collections at least this big
# Chi-square critical values at p = 0.001 by degrees of freedom: key positions are "roughly
# uniform" unless a uniform draw would give a spread this large less than once in 1,000.
CHI2_CRITICAL_P001 = {1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47, 5: 20.52, 6: 22.46, 7: 24.32}
# Sections a bank question may not claim to test: they teach nothing of their own.
NON_TEACHING_SECTIONS = ("learning-objectives", "lab", "sources")
# A vendor-neutral certification does not test this product: its commands, pages and names.
PRODUCT_MARKERS = (
    "manage.py",
    "/dashboard",
    "/api/",
    "this product",
    "the product's",
    "the portal",
    "the bot",
    "slack bot",
    "seed_demo",
    "import_billing",
    "export_focus",
    "lint_curriculum",
    "ai finops product",
)
SECTION_RE = re.compile(r"^(\d{2}-[a-z0-9]+(?:-[a-z0-9]+)*\.md)#([A-Za-z0-9_-]+)$")
_NUMBER_RE = re.compile(r"(?<![\w.])\$?\d[\d,]*(?:\.\d+)?%?")

_HEADING_RE = re.compile(r"^##\s+(.+?)\s*#*\s*$")
_FENCE_RE = re.compile(r"^\s{0,3}(```|~~~)")
_CODE_SPAN_RE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_RAW_HTML_RE = re.compile(r"<(?:!--|/?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>)")
_ID_RE = re.compile(r'\sid="([^"]+)"')


@dataclass(frozen=True)
class _Rendered:
    module: ModuleSource
    rendered: RenderedModule
    anchors: frozenset[str]


def _problem(path: Path, line: int, reason: str) -> ContentError:
    return ContentError(path, line, reason)


def _body_lines(module: ModuleSource) -> list[tuple[int, str, bool]]:
    """(file line, text, inside fenced code) for every body line."""
    result: list[tuple[int, str, bool]] = []
    fenced = False
    for offset, text in enumerate(module.body.splitlines()):
        if _FENCE_RE.match(text):
            result.append((module.body_line + offset, text, True))
            fenced = not fenced
            continue
        result.append((module.body_line + offset, text, fenced))
    return result


def _find_line(module: ModuleSource, needle: str) -> int:
    for line, text, _ in _body_lines(module):
        if needle in text:
            return line
    return module.body_line


def _render_modules(content: Content, problems: list[ContentError]) -> dict[str, _Rendered]:
    rendered: dict[str, _Rendered] = {}
    for module in content.modules:
        try:
            result = _render(module.body)
        except Exception as exc:  # any renderer failure is a content problem
            problems.append(
                _problem(module.path, module.body_line, f"Markdown does not render: {exc}")
            )
            continue
        anchors = frozenset(_ID_RE.findall(result.html))
        rendered[module.path.name] = _Rendered(module, result, anchors)
    return rendered


def _check_sections(module: ModuleSource) -> list[ContentError]:
    headings: list[tuple[int, str]] = []
    for line, text, fenced in _body_lines(module):
        match = _HEADING_RE.match(text)
        if match and not fenced:
            headings.append((line, match.group(1).strip()))
    problems: list[ContentError] = []
    found: list[tuple[int, int, str]] = []  # (position among headings, line, title)
    titles = [title.casefold() for _, title in headings]
    for required in REQUIRED_SECTIONS:
        if required.casefold() in titles:
            position = titles.index(required.casefold())
            found.append((position, headings[position][0], required))
        else:
            problems.append(_problem(module.path, 1, f'missing section "## {required}"'))
    for (pos_a, _, title_a), (pos_b, line_b, title_b) in pairwise(found):
        if pos_b < pos_a:
            problems.append(
                _problem(
                    module.path, line_b, f'section "## {title_b}" must come after "## {title_a}"'
                )
            )
    return problems


def _check_raw_html(module: ModuleSource) -> list[ContentError]:
    problems: list[ContentError] = []
    for line, text, fenced in _body_lines(module):
        tag = None if fenced else _raw_html(text)
        if tag is not None:
            problems.append(_problem(module.path, line, f"raw HTML is not allowed: {tag}"))
    return problems


def _check_links(item: _Rendered, modules: dict[str, _Rendered]) -> list[ContentError]:
    module = item.module
    problems: list[ContentError] = []
    for link in extract_links(module.body):
        url = link.url
        line = _find_line(module, url)
        if link.tag == "img":
            problems.append(_problem(module.path, line, f"images are not allowed: {url}"))
            continue
        if url.startswith("https://"):
            if len(url) <= len("https://") or url[len("https://")] in "/#?":
                problems.append(_problem(module.path, line, f"link '{url}' names no host"))
            continue
        if url.startswith("#"):
            if url[1:] not in item.anchors:
                problems.append(
                    _problem(module.path, line, f"link '{url}' points to no heading in this module")
                )
            continue
        match = MODULE_LINK_RE.match(url)
        if match is None:
            reason = (
                f"link '{url}' must use https://"
                if url.lower().startswith("http://")
                else f"link '{url}' is neither an https:// link nor a module file (NN-slug.md)"
            )
            problems.append(_problem(module.path, line, reason))
            continue
        target_name = url.split("#", 1)[0].removeprefix("./")
        target = modules.get(target_name)
        if target is None:
            problems.append(
                _problem(
                    module.path, line, f"link '{url}' points to a module file that does not exist"
                )
            )
        elif match.group(3) and match.group(3)[1:] not in target.anchors:
            problems.append(
                _problem(
                    module.path, line, f"link '{url}': {target_name} has no heading with that id"
                )
            )
    return problems


def _check_module(item: _Rendered, modules: dict[str, _Rendered]) -> list[ContentError]:
    module = item.module
    problems = _check_sections(module)
    words = item.rendered.word_count
    if not MIN_WORDS <= words <= MAX_WORDS:
        problems.append(
            _problem(
                module.path, 1, f"{words:,} words; a module needs {MIN_WORDS:,} to {MAX_WORDS:,}"
            )
        )
    problems.extend(_check_raw_html(module))
    problems.extend(_check_links(item, modules))
    for reason in find_unsafe(item.rendered.html):
        problems.append(_problem(module.path, module.body_line, f"unsafe rendered HTML: {reason}"))
    return problems


def _check_catalogue(content: Content, domains: set[str]) -> list[ContentError]:
    problems: list[ContentError] = []
    orders: dict[int, ModuleSource] = {}
    for module in content.modules:
        first = orders.get(module.order)
        if first is not None:
            problems.append(
                _problem(
                    module.path,
                    module.key_line("order"),
                    f"order {module.order} is also used by {first.path.name}",
                )
            )
        else:
            orders[module.order] = module
        if content.exam is not None:
            for domain in module.domains:
                if domain not in domains:
                    problems.append(
                        _problem(
                            module.path,
                            module.key_line("domains"),
                            f"domain '{domain}' is not defined in exam/exam.yaml",
                        )
                    )
    # By file name: a quiz that failed to parse has already been reported.
    quizzes = {path.stem for path in (content.root / "quizzes").glob("*.y*ml")}
    for module in content.modules:
        if module.slug and module.slug not in quizzes:
            problems.append(
                _problem(module.path, 1, f"no quiz file quizzes/{module.slug}.yaml for this module")
            )
    for quiz in content.quizzes:
        if len(quiz.questions) < MIN_QUIZ_QUESTIONS:
            problems.append(
                _problem(
                    quiz.path,
                    quiz.questions_line,
                    f"{len(quiz.questions)} questions; a module quiz needs at least "
                    f"{MIN_QUIZ_QUESTIONS}",
                )
            )
    return problems


def _normalized(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def _raw_html(text: str) -> str | None:
    match = _RAW_HTML_RE.search(_CODE_SPAN_RE.sub("", text))
    return match.group(0)[:40] if match else None


def _check_question_text(question: QuestionSource) -> list[ContentError]:
    """Question text is rendered inline as Markdown in the portal: the module rules apply."""
    texts = [
        (question.key_line("prompt"), question.prompt),
        (question.key_line("explanation"), question.explanation),
        *((choice.line, choice.text) for choice in question.choices),
        *((choice.line, choice.why) for choice in question.choices if choice.why),
    ]
    problems: list[ContentError] = []
    for line, text in texts:
        tag = _raw_html(text)
        if tag is not None:
            problems.append(
                _problem(
                    question.path,
                    line,
                    f"question '{question.qid}': raw HTML is not allowed: {tag}",
                )
            )
        for reason in find_unsafe(render_markdown_inline(text)):
            problems.append(
                _problem(question.path, line, f"question '{question.qid}': unsafe HTML: {reason}")
            )
    return problems


def _check_questions(content: Content) -> list[ContentError]:
    """Safe text, and no repeated prompts: two questions with the same prompt test the same
    fact the same way."""
    problems: list[ContentError] = []
    prompts: dict[str, QuestionSource] = {}
    for question in content.questions():
        problems.extend(_check_question_text(question))
        key = _normalized(question.prompt)
        if not key:
            continue
        first = prompts.get(key)
        if first is not None:
            problems.append(
                _problem(
                    question.path,
                    question.key_line("prompt"),
                    f"question '{question.qid}' repeats the prompt of '{first.qid}' "
                    f"({display_path(first.path)}:{first.key_line('prompt')})",
                )
            )
        else:
            prompts[key] = question
    return problems


def _check_exam(content: Content) -> list[ContentError]:
    exam = content.exam
    if exam is None:
        return []
    problems: list[ContentError] = []
    domains = {domain.slug for domain in exam.domains}
    if exam.domains:
        total = sum((domain.weight for domain in exam.domains), Decimal(0))
        if total != Decimal(1):
            problems.append(
                _problem(
                    exam.path, exam.key_line("domains"), f"domain weights sum to {total}, not 1"
                )
            )
    if exam.max_attempts and len(exam.waiting_days) != exam.max_attempts - 1:
        problems.append(
            _problem(
                exam.path,
                exam.key_line("waiting_days"),
                f"waiting_days needs {exam.max_attempts - 1} entries (one per failed attempt "
                f"that can be followed by another), has {len(exam.waiting_days)}",
            )
        )
    if isinstance(exam.required_modules, tuple):
        known = {module.slug for module in content.modules}
        for slug in exam.required_modules:
            if slug not in known:
                problems.append(
                    _problem(
                        exam.path, exam.key_line("required_modules"), f"unknown module '{slug}'"
                    )
                )
    bank = [question for bank_file in content.bank for question in bank_file.questions]
    for bank_file in content.bank:
        if bank_file.domain not in domains:
            problems.append(
                _problem(bank_file.path, 1, f"'{bank_file.path.stem}' is not a domain in exam.yaml")
            )
    for question in bank:
        if question.domain not in domains:
            problems.append(
                _problem(
                    question.path,
                    question.key_line("domain"),
                    f"question '{question.qid}': domain '{question.domain}' is not in exam.yaml",
                )
            )
        elif question.domain != question.path.stem:
            problems.append(
                _problem(
                    question.path,
                    question.key_line("domain"),
                    f"question '{question.qid}': domain '{question.domain}' belongs in "
                    f"exam/bank/{question.domain}.yaml",
                )
            )
    if len(bank) < MIN_BANK_QUESTIONS:
        problems.append(
            _problem(
                exam.path,
                1,
                f"the exam bank has {len(bank)} questions; it needs at least {MIN_BANK_QUESTIONS}",
            )
        )
    per_domain = Counter(question.domain for question in bank)
    for domain in exam.domains:
        needed = math.ceil(exam.question_count * domain.weight * DOMAIN_QUOTA_FACTOR)
        if per_domain[domain.slug] < needed:
            problems.append(
                _problem(
                    exam.path,
                    domain.line,
                    f"domain '{domain.slug}' has {per_domain[domain.slug]} bank questions; "
                    f"it needs at least {needed} ({exam.question_count} x {domain.weight} x "
                    f"{DOMAIN_QUOTA_FACTOR})",
                )
            )
    return problems


# --- A fair exam ---------------------------------------------------------------------------


def _length(text: str) -> int:
    return len(" ".join(text.split()))


def _check_key_length(question: QuestionSource) -> list[ContentError]:
    """The key (mean key length for multiple response) is at most 1.5x the mean distractor."""
    keys = [_length(c.text) for c in question.choices if c.correct]
    distractors = [_length(c.text) for c in question.choices if not c.correct]
    if not keys or not distractors:
        return []
    key_mean = sum(keys) / len(keys)
    distractor_mean = sum(distractors) / len(distractors)
    if key_mean <= KEY_LENGTH_FACTOR * distractor_mean:
        return []
    what = "key" if len(keys) == 1 else "keys' mean"
    return [
        _problem(
            question.path,
            question.key_line("choices"),
            f"question '{question.qid}': the {what} length ({key_mean:.0f} characters) is more "
            f"than {KEY_LENGTH_FACTOR}x the mean distractor ({distractor_mean:.0f}): shorten the "
            "key or write distractors as complete as the key",
        )
    ]


def _chi_square(observed: list[float], expected: list[float]) -> float:
    return sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True) if e > 0)


def _position_problem(
    where: Path, line: int, label: str, observed: list[float], expected: list[float]
) -> ContentError | None:
    cells = [index for index, value in enumerate(expected) if value > 0]
    if len(cells) < 2:
        return None
    statistic = _chi_square([observed[i] for i in cells], [expected[i] for i in cells])
    critical = CHI2_CRITICAL_P001.get(len(cells) - 1, CHI2_CRITICAL_P001[7])
    if statistic <= critical:
        return None
    shown = ", ".join(
        f"{chr(ord('A') + i)} {observed[i]:.0f} (expected {expected[i]:.1f})" for i in cells
    )
    return _problem(
        where,
        line,
        f"{label}: key positions are not roughly uniform (chi-square {statistic:.1f} > "
        f"{critical}): {shown}",
    )


def _check_collection(
    questions: list[QuestionSource], label: str, where: Path
) -> list[ContentError]:
    """Rules over a whole collection (the exam bank, or all the quizzes): keys must not be
    the longest option too often, and key positions must be roughly uniform, for single-answer
    and multiple-response items alike."""
    problems: list[ContentError] = []
    single = [q for q in questions if q.type == "single" and len(q.choices) >= 2]
    multiple = [q for q in questions if q.type == "multiple" and len(q.choices) >= 2]
    if len(single) >= MIN_ITEMS_FOR_SHARES:
        longest = [
            q
            for q in single
            if max(_length(c.text) for c in q.choices if c.correct)
            >= max(_length(c.text) for c in q.choices if not c.correct)
        ]
        share = len(longest) / len(single)
        if share >= MAX_LONGEST_KEY_SHARE:
            problems.append(
                _problem(
                    where,
                    1,
                    f"{label}: the key is the longest option (ties counted) in {len(longest)} of "
                    f"{len(single)} single-answer questions ({share:.0%}); it must stay under "
                    f"{MAX_LONGEST_KEY_SHARE:.0%}",
                )
            )
        width = max(len(q.choices) for q in single)
        observed = [0.0] * width
        expected = [0.0] * width
        for q in single:
            observed[next(i for i, c in enumerate(q.choices) if c.correct)] += 1
            for i in range(len(q.choices)):
                expected[i] += 1 / len(q.choices)
        problem = _position_problem(where, 1, f"{label} (single answer)", observed, expected)
        if problem is not None:
            problems.append(problem)
    if len(multiple) >= MIN_ITEMS_FOR_SHARES // 2:
        first_n = [
            q
            for q in multiple
            if all(c.correct for c in q.choices[: sum(c.correct for c in q.choices)])
        ]
        share = len(first_n) / len(multiple)
        if share > MAX_FIRST_N_SHARE:
            problems.append(
                _problem(
                    where,
                    1,
                    f"{label}: {len(first_n)} of {len(multiple)} multiple-response questions "
                    f"key exactly the first N options ({share:.0%}); at most "
                    f"{MAX_FIRST_N_SHARE:.0%} may",
                )
            )
        width = max(len(q.choices) for q in multiple)
        observed = [0.0] * width
        expected = [0.0] * width
        for q in multiple:
            keys = sum(c.correct for c in q.choices)
            for i, choice in enumerate(q.choices):
                observed[i] += choice.correct
                expected[i] += keys / len(q.choices)
        problem = _position_problem(where, 1, f"{label} (multiple response)", observed, expected)
        if problem is not None:
            problems.append(problem)
    return problems


def _check_fairness(content: Content) -> list[ContentError]:
    problems: list[ContentError] = []
    for question in content.questions():
        problems.extend(_check_key_length(question))
    bank = [q for bank_file in content.bank for q in bank_file.questions]
    quizzes = [q for quiz in content.quizzes for q in quiz.questions]
    problems.extend(_check_collection(bank, "exam bank", content.root / "exam" / "bank"))
    problems.extend(_check_collection(quizzes, "module quizzes", content.root / "quizzes"))
    return problems


def _check_sections_tested(content: Content, modules: dict[str, _Rendered]) -> list[ContentError]:
    """Every bank question names the module section it tests (`section: NN-slug.md#heading`),
    the module is required for the exam and the heading exists: the exam tests only what the
    modules teach. A quiz question may name a section of its own module."""
    problems: list[ContentError] = []
    for question in content.questions():
        line = question.key_line("section")
        if not question.section:
            if question.kind == "exam":
                problems.append(
                    _problem(
                        question.path,
                        question.line,
                        f"question '{question.qid}' names no module section "
                        "(section: NN-slug.md#heading-id)",
                    )
                )
            continue
        match = SECTION_RE.match(question.section)
        if match is None:
            problems.append(
                _problem(
                    question.path,
                    line,
                    f"question '{question.qid}': section '{question.section}' is not "
                    "NN-slug.md#heading-id",
                )
            )
            continue
        target = modules.get(match.group(1))
        if target is None:
            problems.append(
                _problem(
                    question.path,
                    line,
                    f"question '{question.qid}': section '{question.section}' names a module "
                    "file that does not exist",
                )
            )
            continue
        anchor = match.group(2)
        if anchor not in target.anchors:
            problems.append(
                _problem(
                    question.path,
                    line,
                    f"question '{question.qid}': {match.group(1)} has no heading '{anchor}'",
                )
            )
        elif anchor in NON_TEACHING_SECTIONS:
            problems.append(
                _problem(
                    question.path,
                    line,
                    f"question '{question.qid}': '{anchor}' teaches nothing to test; name the "
                    "section that teaches it",
                )
            )
        elif question.kind == "exam" and not target.module.required_for_exam:
            problems.append(
                _problem(
                    question.path,
                    line,
                    f"question '{question.qid}': {match.group(1)} is not required for the exam",
                )
            )
        elif question.kind == "quiz" and target.module.slug != question.module:
            problems.append(
                _problem(
                    question.path,
                    line,
                    f"question '{question.qid}': a quiz tests its own module, not {match.group(1)}",
                )
            )
    return problems


def _check_vendor_neutral(content: Content) -> list[ContentError]:
    """The certification is vendor-neutral: bank questions do not test this product."""
    problems: list[ContentError] = []
    for bank_file in content.bank:
        for question in bank_file.questions:
            texts = [
                (question.key_line("prompt"), question.prompt),
                (question.key_line("explanation"), question.explanation),
                *((choice.line, choice.text) for choice in question.choices),
            ]
            for line, text in texts:
                lowered = text.casefold()
                marker = next((m for m in PRODUCT_MARKERS if m in lowered), None)
                if marker is not None:
                    problems.append(
                        _problem(
                            question.path,
                            line,
                            f"question '{question.qid}' tests this product ('{marker}'); move it "
                            "to a module quiz",
                        )
                    )
                    break
    return problems


def _numbers(text: str) -> set[str]:
    """Distinctive numbers: at least three digits, or a decimal/percentage with two."""
    found: set[str] = set()
    for raw in _NUMBER_RE.findall(text):
        value = raw.strip("$%").rstrip(".,").replace(",", "")
        digits = sum(ch.isdigit() for ch in value)
        if digits >= 3 or (digits >= 2 and ("." in value or raw.endswith("%"))):
            found.add(value)
    return found


def _worked_example(module: ModuleSource) -> str:
    lines = module.body.splitlines()
    out: list[str] = []
    inside = False
    for text in lines:
        match = _HEADING_RE.match(text)
        if match:
            inside = match.group(1).strip().casefold() == "worked example"
            continue
        if inside:
            out.append(text)
    return "\n".join(out)


def _check_transfer(content: Content) -> list[ContentError]:
    """A quiz question tests transfer, not recall: its prompt does not reuse two or more of
    the distinctive numbers of its module's worked example."""
    problems: list[ContentError] = []
    examples = {m.slug: _numbers(_worked_example(m)) for m in content.modules}
    for quiz in content.quizzes:
        example = examples.get(quiz.module, set())
        for question in quiz.questions:
            shared = sorted(_numbers(question.prompt) & example)
            if len(shared) >= 2:
                problems.append(
                    _problem(
                        question.path,
                        question.key_line("prompt"),
                        f"question '{question.qid}' reuses the worked example's numbers "
                        f"({', '.join(shared)}): change them so the quiz tests transfer",
                    )
                )
    return problems


def _check_blueprint(content: Content) -> list[ContentError]:
    """Every (domain, difficulty) cell of an attempt has 1.5x its quota in the bank."""
    exam = content.exam
    if exam is None or not exam.domains:
        return []
    problems: list[ContentError] = []
    if not exam.difficulty_mix:
        problems.append(
            _problem(
                exam.path,
                1,
                "no difficulty_mix: the draw must be by domain and difficulty so that every "
                f"attempt is equivalent ({', '.join(DIFFICULTIES)})",
            )
        )
        return problems
    cells = exam_blueprint(
        exam.question_count, {d.slug: d.weight for d in exam.domains}, exam.difficulty_mix
    )
    bank = Counter(
        (q.domain, q.difficulty) for bank_file in content.bank for q in bank_file.questions
    )
    for (domain, level), count in cells.items():
        needed = math.ceil(count * DOMAIN_QUOTA_FACTOR)
        if bank[(domain, level)] < needed:
            problems.append(
                _problem(
                    exam.path,
                    exam.key_line("difficulty_mix"),
                    f"domain '{domain}' has {bank[(domain, level)]} {level} bank questions; an "
                    f"attempt draws {count}, so it needs at least {needed}",
                )
            )
    return problems


def lint_content(content_dir: Path | None = None) -> list[ContentError]:
    content, problems = read_content(content_dir)
    rendered = _render_modules(content, problems)
    for item in rendered.values():
        problems.extend(_check_module(item, rendered))
    domains = {domain.slug for domain in content.exam.domains} if content.exam else set()
    problems.extend(_check_catalogue(content, domains))
    problems.extend(_check_questions(content))
    problems.extend(_check_exam(content))
    problems.extend(_check_blueprint(content))
    problems.extend(_check_fairness(content))
    problems.extend(_check_sections_tested(content, rendered))
    problems.extend(_check_vendor_neutral(content))
    problems.extend(_check_transfer(content))
    return sorted(problems, key=ContentError.sort_key)


# --- Summary -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleStats:
    order: int
    slug: str
    track: str
    words: int
    quiz_questions: int
    sections: int


@dataclass(frozen=True)
class ContentSummary:
    modules: list[ModuleStats]
    bank: dict[str, Counter[str]] = field(default_factory=dict)  # domain -> difficulty counts

    @property
    def bank_total(self) -> int:
        return sum(sum(counter.values()) for counter in self.bank.values())

    def lines(self) -> list[str]:
        out = [f"{'module':<40} {'track':<6} {'words':>6} {'quiz':>5}"]
        for stats in self.modules:
            out.append(
                f"{stats.order:02d}-{stats.slug:<37} {stats.track:<6} {stats.words:>6,} "
                f"{stats.quiz_questions:>5}"
            )
        out.append(
            f"{len(self.modules)} modules, {sum(s.words for s in self.modules):,} words, "
            f"{sum(s.quiz_questions for s in self.modules)} quiz questions"
        )
        out.append(f"exam bank: {self.bank_total} questions")
        for domain, counter in sorted(self.bank.items()):
            detail = ", ".join(f"{level} {counter[level]}" for level in sorted(counter))
            out.append(f"  {domain}: {sum(counter.values())} ({detail})")
        return out


def summarize_content(content_dir: Path | None = None) -> ContentSummary:
    content, _ = read_content(content_dir)
    quiz_counts: dict[str, int] = defaultdict(int)
    for quiz in content.quizzes:
        quiz_counts[quiz.module] += len(quiz.questions)
    modules: list[ModuleStats] = []
    for module in sorted(content.modules, key=lambda m: (m.order, m.slug)):
        rendered = _render(module.body)
        modules.append(
            ModuleStats(
                order=module.order,
                slug=module.slug,
                track=module.track,
                words=rendered.word_count,
                quiz_questions=quiz_counts.get(module.slug, 0),
                sections=len(rendered.toc),
            )
        )
    bank: dict[str, Counter[str]] = defaultdict(Counter)
    for bank_file in content.bank:
        for question in bank_file.questions:
            bank[question.domain][question.difficulty or "?"] += 1
    return ContentSummary(modules=modules, bank=dict(bank))
