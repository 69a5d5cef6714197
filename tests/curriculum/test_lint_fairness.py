"""The item-writing rules of a fair exam, the item-to-section mapping, the exam blueprint and
the vendor-neutral bank: each rule reports `file:line: reason` and the real curriculum passes."""

import re
from pathlib import Path

import pytest

from curriculum.content_loader import exam_blueprint, largest_remainder, read_content
from curriculum.lint import (
    KEY_LENGTH_FACTOR,
    MAX_LONGEST_KEY_SHARE,
    NON_TEACHING_SECTIONS,
    PRODUCT_MARKERS,
)
from curriculum.services import curriculum_lint
from tests.curriculum.conftest import edit, line_of, question_yaml


def found(content: Path) -> list[tuple[str, int, str]]:
    return [
        (err.file.relative_to(content).as_posix(), err.line, err.reason)
        for err in curriculum_lint(content)
    ]


def only(content: Path) -> tuple[str, int, str]:
    problems = found(content)
    assert len(problems) == 1, problems
    return problems[0]


BANK_A = Path("exam") / "bank" / "domain-a.yaml"


def rewrite_bank(content: Path, domain: str, count: int, **kwargs: object) -> None:
    """Rewrite one bank file like the fixture does, with different question options."""
    levels = ("foundation", "practitioner", "advanced")
    questions = "".join(
        question_yaml(
            f"{domain}-{n:03d}",
            f"Exam question {n} on {domain}?",
            extra=(
                f"    domain: {domain}\n    difficulty: {levels[n % 3]}\n"
                "    section: 01-alpha.md#why-this-matters\n"
            ),
            type_="multiple" if n % 5 == 0 else "single",
            **kwargs,  # type: ignore[arg-type]
        )
        for n in range(1, count + 1)
    )
    (content / "exam" / "bank" / f"{domain}.yaml").write_text(
        f"domain: {domain}\nquestions:\n{questions}"
    )


# --- Item to section -------------------------------------------------------------------


def test_bank_question_must_name_its_section(content):
    bank = content / BANK_A
    edit(bank, "    section: 01-alpha.md#why-this-matters\n", "", count=1)
    assert only(content) == (
        BANK_A.as_posix(),
        line_of(bank, "- id: domain-a-001"),
        "question 'domain-a-001' names no module section (section: NN-slug.md#heading-id)",
    )


@pytest.mark.parametrize(
    ("section", "reason"),
    [
        ("alpha#why-this-matters", "section 'alpha#why-this-matters' is not NN-slug.md#heading-id"),
        ("03-gamma.md#lab", "section '03-gamma.md#lab' names a module file that does not exist"),
        ("01-alpha.md#nowhere", "01-alpha.md has no heading 'nowhere'"),
        ("01-alpha.md#lab", "'lab' teaches nothing to test; name the section that teaches it"),
    ],
)
def test_bank_question_section_must_exist_and_teach(content, section, reason):
    bank = content / BANK_A
    edit(bank, "section: 01-alpha.md#why-this-matters", f"section: {section}", count=1)
    file, line, message = only(content)
    assert (file, message) == (BANK_A.as_posix(), f"question 'domain-a-001': {reason}")
    assert line == line_of(bank, f"section: {section}")


def test_bank_question_must_test_a_module_required_for_the_exam(content):
    edit(content / "modules" / "02-beta.md", "required_for_exam: true", "required_for_exam: false")
    edit(content / BANK_A, "section: 01-alpha.md#why", "section: 02-beta.md#why", count=1)
    assert only(content)[2] == "question 'domain-a-001': 02-beta.md is not required for the exam"


def test_quiz_question_may_name_only_a_section_of_its_own_module(content):
    quiz = content / "quizzes" / "alpha.yaml"
    edit(quiz, "    type: single\n", "    type: single\n    section: 02-beta.md#lab\n", count=1)
    assert (
        only(content)[2] == "question 'alpha-q1': 'lab' teaches nothing to test; name the "
        "section that teaches it"
    )
    edit(quiz, "section: 02-beta.md#lab", "section: 02-beta.md#key-terms")
    assert only(content)[2] == "question 'alpha-q1': a quiz tests its own module, not 02-beta.md"
    edit(quiz, "section: 02-beta.md#key-terms", "section: 01-alpha.md#key-terms")
    assert found(content) == []


def test_lab_sources_and_objectives_teach_nothing():
    assert set(NON_TEACHING_SECTIONS) == {"learning-objectives", "lab", "sources"}


# --- Key length ------------------------------------------------------------------------


def test_key_much_longer_than_the_distractors(content):
    quiz = content / "quizzes" / "alpha.yaml"
    long_key = "Right answer for alpha-q2, with every qualifier that makes it unmistakably right"
    edit(quiz, '"Right answer for alpha-q2"', f'"{long_key}"')
    file, line, reason = only(content)
    assert (file, line) == ("quizzes/alpha.yaml", line_of(quiz, "choices:", nth=2))
    assert reason.startswith(
        f"question 'alpha-q2': the key length ({len(long_key)} characters) is more than "
        f"{KEY_LENGTH_FACTOR}x the mean distractor (26)"
    )


def test_key_length_limit_is_inclusive(content):
    # Distractors of 26 and 25 characters: mean 25.5, so a 38-character key passes, 39 fails.
    quiz = content / "quizzes" / "alpha.yaml"
    edit(quiz, '"Right answer for alpha-q2"', f'"{"k" * 38}"')
    assert found(content) == []
    edit(quiz, f'"{"k" * 38}"', f'"{"k" * 39}"')
    assert "the key length (39 characters)" in only(content)[2]


def test_multiple_response_keys_mean_length(content):
    quiz = content / "quizzes" / "alpha.yaml"
    edit(quiz, '"Right answer for alpha-q6"', f'"{"k" * 60}"')
    edit(quiz, '"Second answer for alpha-q6"', f'"{"k" * 61}"')
    assert "question 'alpha-q6': the keys' mean length (60 characters)" in only(content)[2]


# --- Collection rules --------------------------------------------------------------------


def test_keys_that_are_the_longest_option_too_often(content):
    # Every single-answer key one character longer than its longest distractor.
    for domain in ("domain-a", "domain-b"):
        path = content / "exam" / "bank" / f"{domain}.yaml"
        path.write_text(path.read_text().replace('"Right answer for', '"Right answers for'))
    problems = [p for p in found(content) if "longest option" in p[2]]
    assert problems == [
        (
            "exam/bank",
            1,
            "exam bank: the key is the longest option (ties counted) in 120 of 120 "
            f"single-answer questions (100%); it must stay under {MAX_LONGEST_KEY_SHARE:.0%}",
        )
    ]


def test_ties_count_as_longest(content):
    for domain in ("domain-a", "domain-b"):
        path = content / "exam" / "bank" / f"{domain}.yaml"
        text = path.read_text().replace('"Right answer for', '"Right answer for')
        path.write_text(text.replace('"Second answer for', '"Other answer for'))
    assert any("in 120 of 120 single-answer" in reason for _, _, reason in found(content))


def test_key_positions_must_be_roughly_uniform(content):
    rewrite_bank(content, "domain-a", 90, rotate=0)
    rewrite_bank(content, "domain-b", 60, rotate=0)
    reasons = [reason for _, _, reason in found(content)]
    assert any(
        r.startswith("exam bank (single answer): key positions are not roughly uniform")
        and "A 120 (expected 40.0)" in r
        for r in reasons
    ), reasons
    assert (
        "exam bank: 30 of 30 multiple-response questions key exactly the first N options (100%); at most 35% may"
        in reasons
    )
    assert any(r.startswith("exam bank (multiple response): key positions") for r in reasons)


def test_uniform_positions_pass(content):
    assert found(content) == []  # the fixture rotates its keys


# --- Vendor-neutral bank, transfer, blueprint ---------------------------------------------


@pytest.mark.parametrize("marker", ["python manage.py ask", "/dashboard/", "this product"])
def test_bank_must_not_test_the_product(content, marker):
    bank = content / BANK_A
    edit(bank, "Exam question 7 on domain-a?", f"What does {marker} show?")
    file, line, reason = only(content)
    assert (file, line) == (BANK_A.as_posix(), line_of(bank, f"What does {marker} show?"))
    assert reason.startswith("question 'domain-a-007' tests this product (")
    assert reason.endswith("); move it to a module quiz")


def test_product_markers_may_appear_in_quizzes(content):
    edit(
        content / "quizzes" / "alpha.yaml",
        "Quiz question 3 about alpha?",
        "What does /dashboard/ show?",
    )
    assert found(content) == []
    assert "/dashboard" in PRODUCT_MARKERS


def test_quiz_reusing_the_worked_example_numbers(content):
    module = content / "modules" / "01-alpha.md"
    edit(
        module,
        "## Worked example\n\n",
        "## Worked example\n\nA week cost $4,840 for 12,500 requests.\n\n",
    )
    quiz = content / "quizzes" / "alpha.yaml"
    edit(
        quiz,
        "Quiz question 4 about alpha?",
        "A week cost $4,840 for 12,500 requests: cost per request?",
    )
    file, line, reason = only(content)
    assert (file, line) == ("quizzes/alpha.yaml", line_of(quiz, "cost per request?"))
    assert reason == (
        "question 'alpha-q4' reuses the worked example's numbers (12500, 4840): change them so "
        "the quiz tests transfer"
    )
    edit(quiz, "$4,840 for 12,500", "$3,120 for 12,500")  # one shared number is fine
    assert found(content) == []


def test_exam_needs_a_difficulty_mix(content):
    exam = content / "exam" / "exam.yaml"
    text = exam.read_text()
    exam.write_text(re.sub(r"difficulty_mix:\n(  .*\n)+", "", text))
    assert only(content) == (
        "exam/exam.yaml",
        1,
        "no difficulty_mix: the draw must be by domain and difficulty so that every attempt is "
        "equivalent (foundation, practitioner, advanced)",
    )


def test_each_domain_and_difficulty_needs_one_and_a_half_times_its_quota(content):
    # domain-b draws 1 advanced question per attempt (4 x 0.2 rounded): it needs 2 in the bank.
    bank = content / "exam" / "bank" / "domain-b.yaml"
    text = bank.read_text()
    advanced = [m.start() for m in re.finditer(r"difficulty: advanced", text)]
    for _ in advanced[1:]:
        text = text.replace("difficulty: advanced", "difficulty: foundation", 1)
    bank.write_text(text.replace("difficulty: advanced", "difficulty: advanced", 1))
    exam = content / "exam" / "exam.yaml"
    assert only(content) == (
        "exam/exam.yaml",
        line_of(exam, "difficulty_mix:"),
        "domain 'domain-b' has 1 advanced bank questions; an attempt draws 1, so it needs at least 2",
    )


@pytest.mark.parametrize(
    ("mix", "reason"),
    [
        ("  foundation: 0.5\n  practitioner: 0.6\n", "difficulty_mix shares sum to 1.1, not 1"),
        (
            "  expert: 1\n",
            "difficulty_mix: 'expert' is not one of foundation, practitioner, advanced",
        ),
        ("  foundation: lots\n  practitioner: 1\n", "difficulty_mix: foundation must be a number"),
    ],
)
def test_bad_difficulty_mix(content, mix, reason):
    exam = content / "exam" / "exam.yaml"
    text = re.sub(r"difficulty_mix:\n(  .*\n)+", f"difficulty_mix:\n{mix}", exam.read_text())
    exam.write_text(text)
    _, problems = read_content(content)
    assert reason in [p.reason for p in problems]


def test_blueprint_splits_by_largest_remainder():
    from decimal import Decimal as D

    assert largest_remainder(50, [D("0.3"), D("0.25"), D("0.3"), D("0.15")]) == [15, 13, 15, 7]
    assert largest_remainder(7, [D("0.3"), D("0.5"), D("0.2")]) == [2, 4, 1]
    cells = exam_blueprint(
        50,
        {"a": D("0.3"), "b": D("0.25"), "c": D("0.3"), "d": D("0.15")},
        {"foundation": D("0.3"), "practitioner": D("0.5"), "advanced": D("0.2")},
    )
    assert sum(cells.values()) == 50
    assert cells[("d", "practitioner")] == 4 and cells[("b", "advanced")] == 3


# --- The real curriculum ------------------------------------------------------------------


def test_the_real_curriculum_passes_every_rule():
    assert [str(p) for p in curriculum_lint()] == []


def test_every_real_bank_question_names_a_section_that_teaches():
    content, problems = read_content()
    assert problems == []
    bank = [q for bank_file in content.bank for q in bank_file.questions]
    assert len(bank) >= 150
    assert all(q.section for q in bank)
    modules = {m.path.name for m in content.modules if m.required_for_exam}
    assert {q.section.split("#")[0] for q in bank} <= modules
