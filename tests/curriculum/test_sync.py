"""curriculum_sync: idempotent, versioned, retires instead of deleting, atomic."""

from decimal import Decimal
from io import StringIO

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from curriculum.models import Choice, Exam, ExamDomain, Module, ModuleVersion, Question, Track
from curriculum.services import curriculum_sync
from curriculum.yaml_lines import ContentError
from tests.curriculum.conftest import edit


def test_real_content_syncs_and_second_run_changes_nothing(db, real_content):
    first = curriculum_sync(content_dir=real_content)
    module_files = list((real_content / "modules").glob("*.md"))
    assert first.modules_created == len(module_files)
    assert first.questions_created == Question.objects.count() > 0
    assert first.exams_created == 1
    assert first.tracks_created == 3
    assert Track.objects.count() == 3
    assert ModuleVersion.objects.count() == len(module_files)
    for module in Module.objects.all():
        current = module.current()
        assert current.version == module.current_version >= 1
        assert current.rendered_html and current.toc and current.word_count > 0
        assert Question.objects.quiz_for(module).count() >= 6

    second = curriculum_sync(content_dir=real_content)
    assert second.changes == 0, second.lines()
    assert second.modules_unchanged == len(module_files)
    assert second.questions_unchanged == first.questions_created
    assert second.exams_unchanged == 1


def test_edited_module_gets_a_new_version_and_keeps_the_old_one(db, real_content):
    curriculum_sync(content_dir=real_content)
    path = sorted((real_content / "modules").glob("*.md"))[0]
    slug = path.stem[3:]
    v1 = Module.objects.get(slug=slug).current()
    first = v1.version  # the file's front-matter version
    edit(path, "## Lab\n", "## Lab\n\nA new paragraph added after learners completed v1.\n\n")

    report = curriculum_sync(content_dir=real_content)

    assert (report.modules_new_version, report.changes) == (1, 1)
    module = Module.objects.get(slug=slug)
    assert module.current_version == first + 1
    v2 = module.current()
    assert "A new paragraph added" in v2.body_markdown
    assert "A new paragraph added" in v2.rendered_html
    v1.refresh_from_db()
    assert "A new paragraph added" not in v1.body_markdown
    assert v1.content_hash != v2.content_hash
    assert list(module.versions.values_list("version", flat=True)) == [first + 1, first]
    assert curriculum_sync(content_dir=real_content).changes == 0


def test_front_matter_version_bump_wins_when_higher(db, content):
    curriculum_sync(content_dir=content)
    path = content / "modules" / "01-alpha.md"
    edit(path, "version: 1", "version: 4")
    curriculum_sync(content_dir=content)
    assert Module.objects.get(slug="alpha").current_version == 4
    edit(path, "## Lab\n", "## Lab\n\nOne more sentence.\n\n")
    curriculum_sync(content_dir=content)
    assert Module.objects.get(slug="alpha").current_version == 5  # max(4, 4 + 1)
    assert list(
        ModuleVersion.objects.filter(module__slug="alpha").values_list("version", flat=True)
    ) == [5, 4, 1]


def test_removed_question_is_retired_not_deleted(db, real_content):
    curriculum_sync(content_dir=real_content)
    quiz_path = sorted((real_content / "quizzes").glob("*.yaml"))[0]
    data = yaml.safe_load(quiz_path.read_text())
    removed = data["questions"].pop()
    quiz_path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))

    report = curriculum_sync(content_dir=real_content)

    assert report.questions_retired == 1
    assert report.questions_updated == 0
    question = Question.objects.get(qid=removed["id"])
    assert question.retired
    assert question.choices.count() == len(removed["choices"])
    assert not Question.objects.active().filter(qid=removed["id"]).exists()

    # Putting it back brings the same row back to life.
    data["questions"].append(removed)
    quiz_path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    again = curriculum_sync(content_dir=real_content)
    assert again.questions_updated == 1
    question.refresh_from_db()
    assert not question.retired


def test_removed_module_and_exam_domain_are_retired(db, content):
    curriculum_sync(content_dir=content)
    (content / "modules" / "02-beta.md").unlink()
    (content / "quizzes" / "beta.yaml").unlink()
    edit(content / "exam" / "exam.yaml", "    weight: 0.6\n", "    weight: 1.0\n")
    text = (content / "exam" / "exam.yaml").read_text()
    (content / "exam" / "exam.yaml").write_text(text[: text.index("  - slug: domain-b")])

    report = curriculum_sync(content_dir=content)

    assert report.modules_retired == 1
    assert report.questions_retired == 6
    assert report.exams_updated == 1
    beta = Module.objects.get(slug="beta")
    assert beta.retired and beta.versions.count() == 1
    assert list(Module.objects.catalogue().values_list("slug", flat=True)) == ["alpha"]
    assert ExamDomain.objects.get(slug="domain-b").retired
    assert Exam.objects.get().questions_per_domain() == {"domain-a": 10}


def test_changed_question_is_updated_in_place(db, content):
    curriculum_sync(content_dir=content)
    question = Question.objects.get(qid="alpha-q2")
    choice_ids = list(question.choices.values_list("id", flat=True))
    edit(content / "quizzes" / "alpha.yaml", "Wrong answer for alpha-q2", "A better distractor")

    report = curriculum_sync(content_dir=content)

    assert (report.questions_updated, report.changes) == (1, 1)
    question.refresh_from_db()
    assert list(question.choices.values_list("id", flat=True)) == choice_ids
    assert question.choices.get(order=2).text == "A better distractor"
    assert question.correct_orders() == {0}
    assert question.is_answered_correctly({0})


def test_admin_edit_is_put_back_in_line_with_the_files(db, content):
    curriculum_sync(content_dir=content)
    Choice.objects.filter(question__qid="beta-q1", order=0).update(text="edited in admin")
    Module.objects.filter(slug="beta").update(title="Edited title")

    report = curriculum_sync(content_dir=content)

    assert (report.questions_updated, report.modules_updated, report.modules_new_version) == (
        1,
        1,
        0,
    )
    assert Choice.objects.get(question__qid="beta-q1", order=0).text == "Right answer for beta-q1"
    assert Module.objects.get(slug="beta").title == "Module Beta"


def test_exam_definition_is_loaded(db, real_content):
    curriculum_sync(content_dir=real_content)
    exam = Exam.objects.get()
    assert exam.question_count == 50
    assert exam.duration_minutes == 60
    assert exam.pass_ratio == Decimal("0.75")
    assert exam.pass_mark() == 38
    assert exam.max_attempts == 3 and exam.attempt_window_months == 12
    assert exam.validity_months == 24
    assert len(exam.waiting_days) == exam.max_attempts - 1
    assert sum(d.weight for d in exam.domains.all()) == Decimal("1")
    per_domain = exam.questions_per_domain()
    assert sum(per_domain.values()) == 50
    for domain in exam.domains.all():
        assert abs(per_domain[domain.slug] - 50 * domain.weight) < 1


def test_broken_content_writes_nothing(db, content):
    edit(content / "quizzes" / "beta.yaml", "        correct: true\n", "", count=1)
    with pytest.raises(ContentError) as caught:
        curriculum_sync(content_dir=content)
    assert "beta.yaml:" in str(caught.value)
    assert "type single needs exactly 1 correct choice, has 0" in str(caught.value)
    assert not Module.objects.exists()
    assert not Question.objects.exists()


def test_commands(db, content):
    out = StringIO()
    call_command("sync_curriculum", "--content-dir", str(content), stdout=out)
    assert "modules: 2 created" in out.getvalue()
    assert "questions: 162 created" in out.getvalue()

    out = StringIO()
    call_command("sync_curriculum", "--content-dir", str(content), stdout=out)
    assert "total changes: 0" in out.getvalue()

    out = StringIO()
    call_command("lint_curriculum", "--content-dir", str(content), stdout=out)
    assert "01-alpha" in out.getvalue() and "exam bank: 150 questions" in out.getvalue()

    edit(content / "modules" / "01-alpha.md", "track: crawl", "track: jog")
    out = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("lint_curriculum", "--content-dir", str(content), stdout=out)
    assert caught.value.returncode == 1
    assert "01-alpha.md:4: track 'jog' is not one of crawl, walk, run" in out.getvalue()
    with pytest.raises(CommandError, match=r"01-alpha\.md:4: track 'jog'"):
        call_command("sync_curriculum", "--content-dir", str(content), stdout=StringIO())
