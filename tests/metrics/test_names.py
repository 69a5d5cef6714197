"""Readable application names: from the provider's data (kept by every import) and from
application allocation rules (which win), with the key kept for tooltips and CSV."""

import json
from pathlib import Path

from metrics.ledger.ingest import billing_import
from metrics.ledger.names import application_names_refresh
from metrics.models import AllocationRule, ApplicationName
from metrics.queries import readable_name, readable_names

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "billing"


def named_costs_page(tmp_path: Path) -> tuple[Path, list[str]]:
    """The OpenAI costs fixture with `project_name` on the first project's results only."""
    doc = json.loads((FIXTURES / "openai_costs_page.json").read_text())
    projects: list[str] = []
    for bucket in doc["data"]:
        for result in bucket["results"]:
            pid = result.get("project_id")
            if pid and pid not in projects:
                projects.append(pid)
            if pid == projects[0]:
                result["project_name"] = "ML platform chat"
    path = tmp_path / "openai_costs_named.json"
    path.write_text(json.dumps(doc))
    return path, projects


def test_import_keeps_the_providers_project_names(db, teams, tmp_path):
    path, projects = named_costs_page(tmp_path)
    assert len(projects) >= 2, "the fixture has several projects"
    result = billing_import(path)
    names = readable_names(projects)
    assert names == {projects[0]: "ML platform chat"}
    assert readable_name(projects[0], names) == "ML platform chat"
    assert readable_name(projects[1], names) == projects[1]  # no name: the key itself
    # Safe to run twice: the same rows, the same single name.
    assert application_names_refresh(batch_id=result.batch.pk) == 1
    assert ApplicationName.objects.count() == 1


def test_an_application_rule_name_wins_over_the_providers(db, teams, tmp_path):
    path, projects = named_costs_page(tmp_path)
    billing_import(path)
    AllocationRule.objects.create(
        team=teams["ml-platform"],
        field=AllocationRule.Field.APPLICATION,
        pattern="proj_*",
        application_name="All OpenAI projects",
        priority=50,
    )
    AllocationRule.objects.create(
        team=teams["ml-platform"],
        field=AllocationRule.Field.APPLICATION,
        pattern=projects[1].upper(),  # patterns are case-insensitive, as allocation
        application_name="Search ranking",
        priority=10,
    )
    names = readable_names([*projects, "unrelated-key"])
    assert names[projects[0]] == "All OpenAI projects"
    assert names[projects[1]] == "Search ranking"  # the lower priority number wins
    assert "unrelated-key" not in names
    AllocationRule.objects.update(active=False)
    assert readable_names(projects) == {projects[0]: "ML platform chat"}
