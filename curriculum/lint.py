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
    Content,
    ContentError,
    ModuleSource,
    QuestionSource,
    display_path,
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

REQUIRED_SECTIONS = ("Learning objectives", "Worked example", "Lab", "Key terms", "Sources")
MIN_WORDS, MAX_WORDS = 1500, 3000
MIN_QUIZ_QUESTIONS = 6
MIN_BANK_QUESTIONS = 150
DOMAIN_QUOTA_FACTOR = Decimal("1.5")  # a domain's bank holds 1.5x what one attempt draws

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


def lint_content(content_dir: Path | None = None) -> list[ContentError]:
    content, problems = read_content(content_dir)
    rendered = _render_modules(content, problems)
    for item in rendered.values():
        problems.extend(_check_module(item, rendered))
    domains = {domain.slug for domain in content.exam.domains} if content.exam else set()
    problems.extend(_check_catalogue(content, domains))
    problems.extend(_check_questions(content))
    problems.extend(_check_exam(content))
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
