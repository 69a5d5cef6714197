"""Rubric files: loaded atomically, idempotently, versioned; bad files name file:line."""

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from curriculum.yaml_lines import ContentError
from portal.hr import evaluation_start
from portal.models import Rubric, RubricVersion
from portal.rubrics import RUBRIC_DIR, load_rubrics, rubric_edit, rubric_sync
from tests.portal.hr_helpers import rubric_yaml, write_rubric


def test_the_default_rubrics_are_complete_and_load_twice_without_change(db):
    sources = {s.slug: s for s in load_rubrics()}
    assert set(sources) == {"finops-ai-practitioner", "ai-platform-engineer"}
    assert sources["finops-ai-practitioner"].title == "FinOps for AI practitioner"
    assert sources["ai-platform-engineer"].title == "AI platform engineer (cost-aware)"
    for source in sources.values():
        levels = [lv["slug"] for lv in source.data["levels"]]
        assert levels == ["aware", "practitioner", "advanced", "expert"]
        assert len(source.data["competencies"]) == 7
        for competency in source.data["competencies"]:
            assert set(competency["descriptors"]) == set(levels)
            assert all(len(text) > 40 for text in competency["descriptors"].values())
            assert competency["modules"] or competency["exam_domains"]
    first = rubric_sync()
    assert first.created == 2 and first.changes == 2
    second = rubric_sync()
    assert second.changes == 0 and second.unchanged == 2
    assert RubricVersion.objects.count() == 2


@pytest.mark.parametrize(
    "kwargs, line, reason",
    [
        (
            {"skip_cell": ("economics", "advanced")},
            34,
            "missing cell: competency 'economics' has no descriptor for level 'advanced'",
        ),
        ({"levels": ("aware", "practitioner", "aware")}, 12, "duplicate level 'aware'"),
        (
            {"competencies": [("visibility", ["alpha", "gamma"], ["domain-a"])]},
            22,
            "broken mapping: competency 'visibility' names unknown module 'gamma'",
        ),
        (
            {"competencies": [("visibility", ["alpha"], ["domain-z"])]},
            23,
            "broken mapping: competency 'visibility' names unknown exam domain 'domain-z'",
        ),
    ],
)
def test_a_bad_rubric_file_fails_with_file_line_reason_and_changes_nothing(
    curriculum, tmp_path, kwargs, line, reason
):
    good = tmp_path / "good"
    write_rubric(good)
    rubric_sync(rubric_dir=good, curriculum_dir=tmp_path / "content")
    before = list(RubricVersion.objects.values_list("pk", "content_hash"))
    bad = tmp_path / "bad"
    write_rubric(bad, name="other.yaml", slug="other-role")
    path = write_rubric(bad, **kwargs)
    with pytest.raises(ContentError) as caught:
        rubric_sync(rubric_dir=bad, curriculum_dir=tmp_path / "content")
    assert caught.value.file == path
    assert caught.value.reason == reason
    assert caught.value.line == line, str(caught.value)
    assert str(caught.value).endswith(f"test-role.yaml:{line}: {reason}")
    # Nothing changed: not the other (good) file of the bad folder, not the old rubric.
    assert list(RubricVersion.objects.values_list("pk", "content_hash")) == before
    assert not Rubric.objects.filter(slug="other-role").exists()
    assert not Rubric.objects.get(slug="test-role").retired
    with pytest.raises(CommandError, match=f"test-role.yaml:{line}: "):
        call_command(
            "sync_rubrics", "--rubric-dir", str(bad), "--curriculum-dir", str(tmp_path / "content")
        )


def test_a_changed_file_is_a_new_version_and_evaluations_keep_theirs(
    rubric, rubric_dir, people, tmp_path
):
    evaluation = evaluation_start(subject=people["engineer"], rubric=rubric, by=people["hr"])
    assert evaluation.rubric_version.version == 1
    text = (rubric_dir / "test-role.yaml").read_text().replace("at advanced level", "at ADVANCED")
    (rubric_dir / "test-role.yaml").write_text(text)
    report = rubric_sync(rubric_dir=rubric_dir, curriculum_dir=tmp_path / "content")
    assert report.new_versions == 1
    assert rubric.current().version == 2
    evaluation.refresh_from_db()
    assert evaluation.rubric_version.version == 1
    assert "at advanced level" in str(evaluation.rubric_version.data)
    assert rubric_sync(rubric_dir=rubric_dir, curriculum_dir=tmp_path / "content").changes == 0


def test_hr_edit_makes_a_new_version_that_a_later_sync_keeps(rubric, rubric_dir, people, tmp_path):
    old = rubric.current()
    evaluation = evaluation_start(subject=people["engineer"], rubric=rubric, by=people["hr"])
    new = rubric_edit(
        rubric=rubric,
        descriptors={("visibility", "expert"): "Sets the standard for the whole company."},
        by=people["hr"],
        note="sharper expert cell",
    )
    assert new.version == old.version + 1 and new.source == RubricVersion.Source.PORTAL
    cell = next(c for c in new.competencies if c["slug"] == "visibility")["descriptors"]["expert"]
    assert cell == "Sets the standard for the whole company."
    # Same text again: no new version.
    assert rubric_edit(rubric=rubric, descriptors={}, by=people["hr"]).pk == new.pk
    # Unchanged files do not undo HR's edit.
    rubric_sync(rubric_dir=rubric_dir, curriculum_dir=tmp_path / "content")
    assert rubric.current().pk == new.pk
    evaluation.refresh_from_db()
    assert evaluation.rubric_version_id == old.pk


def test_a_rubric_whose_file_is_gone_is_retired_not_deleted(rubric, tmp_path):
    other = tmp_path / "other"
    write_rubric(other, name="x.yaml", slug="another-role")
    report = rubric_sync(rubric_dir=other, curriculum_dir=tmp_path / "content")
    assert report.retired == 1
    assert Rubric.objects.get(slug="test-role").retired


def test_the_shipped_rubric_files_parse_with_line_numbers():
    assert RUBRIC_DIR.is_dir()
    assert rubric_yaml().count("descriptors:") == 2
    assert (
        Path(RUBRIC_DIR / "finops-ai-practitioner.yaml").read_text().startswith("# Hiring rubric")
    )
