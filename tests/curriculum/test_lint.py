"""The lint names the right file and line for each kind of broken content."""

from pathlib import Path

from curriculum.services import curriculum_lint, curriculum_summary
from curriculum.yaml_lines import ContentError
from tests.curriculum.conftest import edit, line_of, module_body, paragraph


def found(content: Path) -> list[tuple[str, int, str]]:
    return [
        (err.file.relative_to(content).as_posix(), err.line, err.reason)
        for err in curriculum_lint(content)
    ]


def only(content: Path) -> tuple[str, int, str]:
    problems = found(content)
    assert len(problems) == 1, problems
    return problems[0]


def test_valid_curriculum_has_no_problems(content):
    assert found(content) == []
    summary = curriculum_summary(content)
    assert [(m.slug, m.quiz_questions) for m in summary.modules] == [("alpha", 6), ("beta", 6)]
    assert all(1500 <= m.words <= 3000 for m in summary.modules)
    assert summary.bank_total == 150
    assert sum(summary.bank["domain-a"].values()) == 90


def test_problem_prints_as_file_line_reason(content):
    module = content / "modules" / "01-alpha.md"
    edit(module, "summary: What alpha teaches, in one sentence.\n", "")
    (problem,) = curriculum_lint(content)
    assert isinstance(problem, ContentError)
    assert str(problem) == f"{module}:1: front matter is missing key 'summary'"


def test_missing_front_matter_key(content):
    edit(content / "modules" / "02-beta.md", "estimated_minutes: 30\n", "")
    assert only(content) == (
        "modules/02-beta.md",
        1,
        "front matter is missing key 'estimated_minutes'",
    )


def test_single_choice_with_two_correct_answers(content):
    quiz = content / "quizzes" / "alpha.yaml"
    edit(
        quiz,
        '      - text: "Wrong answer for alpha-q2"\n',
        '      - text: "Wrong answer for alpha-q2"\n        correct: true\n',
    )
    file, line, reason = only(content)
    assert (file, reason) == (
        "quizzes/alpha.yaml",
        "question 'alpha-q2': type single needs exactly 1 correct choice, has 2",
    )
    assert line == line_of(quiz, "choices:", nth=2)


def test_multiple_choice_with_one_correct_answer(content):
    quiz = content / "quizzes" / "beta.yaml"
    edit(quiz, "  - id: beta-q1\n    type: single", "  - id: beta-q1\n    type: multiple")
    file, line, reason = only(content)
    assert file == "quizzes/beta.yaml"
    assert line == line_of(quiz, "choices:", nth=1)
    assert "type multiple needs 2 or more correct choices, has 1" in reason


def test_missing_explanation(content):
    quiz = content / "quizzes" / "alpha.yaml"
    edit(quiz, '    explanation: "Because the definition of alpha-q3 says so."\n', "")
    assert only(content) == (
        "quizzes/alpha.yaml",
        line_of(quiz, "- id: alpha-q3"),
        "question 'alpha-q3' is missing key 'explanation'",
    )


def test_empty_explanation(content):
    quiz = content / "quizzes" / "alpha.yaml"
    edit(quiz, '"Because the definition of alpha-q4 says so."', '""')
    file, line, reason = only(content)
    assert (file, line) == ("quizzes/alpha.yaml", line_of(quiz, 'explanation: ""'))
    assert "explanation" in reason


def test_dangling_module_link(content):
    module = content / "modules" / "01-alpha.md"
    edit(module, "## Lab\n\n", "## Lab\n\nSee [the missing module](09-missing.md) first.\n\n")
    assert only(content) == (
        "modules/01-alpha.md",
        line_of(module, "09-missing.md"),
        "link '09-missing.md' points to a module file that does not exist",
    )


def test_dangling_anchor(content):
    module = content / "modules" / "02-beta.md"
    edit(module, "[this lab](#lab)", "[this lab](#no-such-section)")
    assert only(content) == (
        "modules/02-beta.md",
        line_of(module, "#no-such-section"),
        "link '#no-such-section' points to no heading in this module",
    )


def test_duplicate_question_id_across_files(content):
    quiz = content / "quizzes" / "beta.yaml"
    edit(quiz, "  - id: beta-q1\n", "  - id: alpha-q1\n")
    file, line, reason = only(content)
    assert (file, line) == ("quizzes/beta.yaml", line_of(quiz, "id: alpha-q1"))
    assert reason.startswith("duplicate question id 'alpha-q1' (first in ")
    assert reason.endswith("alpha.yaml:3)")


def test_too_few_words(content):
    module = content / "modules" / "02-beta.md"
    text = module.read_text()
    head = text[: text.index("## Learning objectives")]
    short = "".join(
        f"## {s}\n\n{paragraph(40, 'b')}\n\n"
        for s in ("Learning objectives", "Worked example", "Lab", "Key terms", "Sources")
    )
    module.write_text(head + short)
    file, line, reason = only(content)
    assert (file, line) == ("modules/02-beta.md", 1)
    assert reason.endswith("words; a module needs 1,500 to 3,000")


def test_too_many_words(content):
    module = content / "modules" / "01-alpha.md"
    edit(module, "## Key terms\n", f"{paragraph(1600, 'x')}\n\n## Key terms\n")
    assert only(content)[2].endswith("words; a module needs 1,500 to 3,000")


def test_missing_and_misordered_sections(content):
    module = content / "modules" / "01-alpha.md"
    edit(module, "## Worked example\n", "## An example\n")
    edit(module, "## Sources\n", "## Sources\n\nMoved.\n\n## Key terms again\n")
    assert ("modules/01-alpha.md", 1, 'missing section "## Worked example"') in found(content)

    other = content / "modules" / "02-beta.md"
    text = other.read_text()
    lab = text.index("## Lab")
    key_terms = text.index("## Key terms")
    # Move the Lab section after Sources.
    lab_block = text[lab:key_terms]
    other.write_text(text[:lab] + text[key_terms:] + "\n" + lab_block)
    assert (
        "modules/02-beta.md",
        line_of(other, "## Lab"),
        'section "## Lab" must come after "## Worked example"',
    ) not in found(content)  # Lab after Worked example is fine ...
    assert (
        "modules/02-beta.md",
        line_of(other, "## Key terms"),
        'section "## Key terms" must come after "## Lab"',
    ) in found(content)  # ... but Key terms now comes before it


def test_raw_html_image_and_plain_http(content):
    module = content / "modules" / "01-alpha.md"
    edit(
        module,
        "## Key terms\n",
        "## Key terms\n\nA <span>span</span> here, `<code>` is fine.\n\n"
        "![chart](chart.png)\n\nAn [old link](http://example.com/).\n\n",
    )
    problems = found(content)
    assert problems == [
        ("modules/01-alpha.md", line_of(module, "<span>"), "raw HTML is not allowed: <span>"),
        ("modules/01-alpha.md", line_of(module, "chart.png"), "images are not allowed: chart.png"),
        (
            "modules/01-alpha.md",
            line_of(module, "http://example.com/"),
            "link 'http://example.com/' must use https://",
        ),
    ]


def test_raw_html_in_question_text(content):
    quiz = content / "quizzes" / "alpha.yaml"
    edit(quiz, '"Quiz question 2 about alpha?"', '"Quiz question 2 <img src=x onerror=alert(1)>?"')
    edit(quiz, '"Wrong answer for alpha-q3"', '"Wrong `<code>` is fine, <b>bold</b> is not"')
    assert found(content) == [
        (
            "quizzes/alpha.yaml",
            line_of(quiz, "onerror"),
            "question 'alpha-q2': raw HTML is not allowed: <img src=x onerror=alert(1)>",
        ),
        (
            "quizzes/alpha.yaml",
            line_of(quiz, "<b>bold</b>"),
            "question 'alpha-q3': raw HTML is not allowed: <b>",
        ),
    ]


def test_invalid_track_and_filename_mismatch(content):
    module = content / "modules" / "02-beta.md"
    edit(module, "track: walk", "track: sprint")
    edit(module, "order: 2", "order: 3")
    assert found(content) == [
        (
            "modules/02-beta.md",
            line_of(module, "track: sprint"),
            "track 'sprint' is not one of crawl, walk, run",
        ),
        (
            "modules/02-beta.md",
            line_of(module, "order: 3"),
            "order 3 does not match the file name prefix 02-beta.md",
        ),
    ]


def test_duplicate_slug_and_order(content):
    extra = content / "modules" / "03-alpha.md"
    extra.write_text(
        (content / "modules" / "01-alpha.md").read_text().replace("order: 1", "order: 3")
    )
    problems = found(content)
    assert (
        "modules/03-alpha.md",
        2,
        "duplicate module slug 'alpha' (also in 01-alpha.md)",
    ) in problems


def test_yaml_syntax_error_names_the_line(content):
    quiz = content / "quizzes" / "beta.yaml"
    edit(quiz, '    prompt: "Quiz question 4 about beta?"\n', '    prompt: "unclosed\n')
    file, line, reason = found(content)[0]
    assert file == "quizzes/beta.yaml"
    assert reason.startswith("invalid YAML")
    assert line >= line_of(quiz, '"unclosed')


def test_duplicate_yaml_key(content):
    quiz = content / "quizzes" / "alpha.yaml"
    edit(
        quiz,
        "  - id: alpha-q5\n    type: single\n",
        "  - id: alpha-q5\n    type: single\n    type: single\n",
    )
    assert only(content) == (
        "quizzes/alpha.yaml",
        line_of(quiz, "type: single", nth=6),
        "duplicate key 'type'",
    )


def test_quiz_too_short_and_missing_quiz(content):
    quiz = content / "quizzes" / "alpha.yaml"
    text = quiz.read_text()
    quiz.write_text(text[: text.index("  - id: alpha-q6")])
    (content / "quizzes" / "beta.yaml").unlink()
    assert found(content) == [
        ("modules/02-beta.md", 1, "no quiz file quizzes/beta.yaml for this module"),
        ("quizzes/alpha.yaml", 2, "5 questions; a module quiz needs at least 6"),
    ]


def test_exam_weights_quotas_and_unknown_domain(content):
    exam = content / "exam" / "exam.yaml"
    edit(exam, "weight: 0.4", "weight: 0.5")
    bank = content / "exam" / "bank" / "domain-b.yaml"
    edit(
        bank,
        "    domain: domain-b\n    difficulty: practitioner\n",
        "    domain: domain-c\n    difficulty: expert\n",
    )
    problems = found(content)
    assert (
        "exam/exam.yaml",
        line_of(exam, "domains:"),
        "domain weights sum to 1.1, not 1",
    ) in problems
    assert (
        "exam/bank/domain-b.yaml",
        line_of(bank, "difficulty: expert"),
        "question 'domain-b-001': difficulty 'expert' is not one of foundation, practitioner, advanced",
    ) in problems
    assert (
        "exam/bank/domain-b.yaml",
        line_of(bank, "domain: domain-c"),
        "question 'domain-b-001': domain 'domain-c' is not in exam.yaml",
    ) in problems
    assert len(problems) == 3, problems


def test_exam_bank_too_small_for_a_domain(content):
    bank = content / "exam" / "bank" / "domain-a.yaml"
    text = bank.read_text()
    bank.write_text(text[: text.index("  - id: domain-a-009")])
    problems = found(content)
    exam = content / "exam" / "exam.yaml"
    assert (
        "exam/exam.yaml",
        1,
        "the exam bank has 68 questions; it needs at least 150",
    ) in problems
    assert (
        "exam/exam.yaml",
        line_of(exam, "- slug: domain-a"),
        "domain 'domain-a' has 8 bank questions; it needs at least 9 (10 x 0.6 x 1.5)",
    ) in problems


def test_repeated_prompt(content):
    quiz = content / "quizzes" / "beta.yaml"
    edit(quiz, "Quiz question 2 about beta?", "Quiz question 1 about beta!")
    file, line, reason = only(content)
    assert (file, line) == ("quizzes/beta.yaml", line_of(quiz, "Quiz question 1 about beta!"))
    assert reason.startswith("question 'beta-q2' repeats the prompt of 'beta-q1'")


def test_no_front_matter(content):
    module = content / "modules" / "01-alpha.md"
    module.write_text(module_body("alpha"))
    problems = found(content)
    assert (
        "modules/01-alpha.md",
        1,
        "no front matter: the file must start with a '---' line",
    ) in problems


def test_real_content_passes_lint():
    """The shipped curriculum passes every rule (fails while content is being written)."""
    problems = curriculum_lint(None)
    assert problems == [], "\n".join(str(p) for p in problems)
