"""HR test helpers: a small rubric over the test curriculum (alpha, beta; domain-a, domain-b)."""

from pathlib import Path

LEVELS = ("aware", "practitioner", "advanced", "expert")


def rubric_yaml(
    slug="test-role",
    title="Test role",
    *,
    levels=LEVELS,
    competencies=None,
    skip_cell=None,
    version=1,
):
    comps = competencies or [
        ("visibility", ["alpha"], ["domain-a"]),
        ("economics", ["beta"], ["domain-b"]),
    ]
    out = [
        f"slug: {slug}",
        f"title: {title}",
        f"version: {version}",
        "description: A role for tests.",
        "levels:",
    ]
    for level in levels:
        out += [
            f"  - slug: {level}",
            f"    title: {level.title()}",
            f"    description: {level} level.",
        ]
    out.append("competencies:")
    for comp, modules, domains in comps:
        out += [
            f"  - slug: {comp}",
            f"    title: {comp.title()}",
            f"    description: About {comp}.",
            f"    modules: [{', '.join(modules)}]",
            f"    exam_domains: [{', '.join(domains)}]",
            "    descriptors:",
        ]
        for level in levels:
            if skip_cell == (comp, level):
                continue
            out.append(f"      {level}: {comp} at {level} level.")
    return "\n".join(out) + "\n"


def write_rubric(directory: Path, name="test-role.yaml", **kwargs) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(rubric_yaml(**kwargs))
    return path
