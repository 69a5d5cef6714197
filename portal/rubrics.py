"""Hiring rubrics: read the YAML files of portal/content/rubrics/, sync them, edit them.

A rubric file is one role: levels (ordered, lowest first) and competencies, each with a
descriptor for every level and the curriculum modules and exam domains that are evidence for
it. Every problem is a `ContentError` (`file:line: reason`); the sync loads all files or none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from curriculum.content_loader import SLUG_RE, content_hash, load_content
from curriculum.yaml_lines import ContentError, YamlDoc, parse_yaml
from portal.models import Rubric, RubricVersion

RUBRIC_DIR = Path(__file__).resolve().parent / "content" / "rubrics"
RUBRIC_KEYS = ("slug", "title", "version", "description", "levels", "competencies")
LEVEL_KEYS = ("slug", "title", "description")
COMPETENCY_KEYS = ("slug", "title", "description", "modules", "exam_domains", "descriptors")


def default_rubric_dir() -> Path:
    return Path(getattr(settings, "RUBRIC_CONTENT_DIR", RUBRIC_DIR))


@dataclass(frozen=True)
class RubricSource:
    path: Path
    slug: str
    title: str
    version: int
    data: dict[str, Any]

    @property
    def content_hash(self) -> str:
        return content_hash({"title": self.title, **self.data})


@dataclass(frozen=True)
class Catalogue:
    """What a mapping may name: module slugs and exam domain slugs of the curriculum."""

    modules: frozenset[str]
    exam_domains: frozenset[str]


def curriculum_catalogue(curriculum_dir: Path | None = None) -> Catalogue:
    content = load_content(curriculum_dir)
    domains = frozenset(d.slug for d in content.exam.domains) if content.exam else frozenset()
    return Catalogue(frozenset(m.slug for m in content.modules), domains)


class _Reader:
    def __init__(self, path: Path, doc: YamlDoc, catalogue: Catalogue) -> None:
        self.path = path
        self.doc = doc
        self.catalogue = catalogue
        self.problems: list[ContentError] = []

    def fail(self, reason: str, *where: str | int) -> None:
        self.problems.append(ContentError(self.path, self.doc.line(*where), reason))

    def text(self, mapping: dict[str, Any], key: str, *where: str | int) -> str:
        value = mapping.get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(f"'{key}' must be a non-empty string", *where, key)
            return ""
        return " ".join(value.split())

    def keys(
        self, mapping: dict[str, Any], allowed: tuple[str, ...], what: str, *where: Any
    ) -> None:
        for key in allowed:
            if key not in mapping:
                self.fail(f"{what} is missing key '{key}'", *where)
        for key in mapping:
            if key not in allowed:
                self.fail(f"{what} has unknown key '{key}'", *where, str(key))

    def slug(self, mapping: dict[str, Any], *where: str | int) -> str:
        value = self.text(mapping, "slug", *where)
        if value and not SLUG_RE.match(value):
            self.fail(f"slug '{value}' is not lowercase-with-hyphens", *where, "slug")
        return value


def read_rubric(path: Path, catalogue: Catalogue) -> tuple[RubricSource | None, list[ContentError]]:
    """Parse and check one rubric file; returns every problem found (not just the first)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ContentError(path, 1, f"cannot read the file: {exc}")]
    doc, problems = parse_yaml(text, path)
    reader = _Reader(path, doc, catalogue)
    reader.problems.extend(problems)
    data = doc.data
    if not isinstance(data, dict):
        reader.fail("a rubric file must be a mapping")
        return None, reader.problems
    reader.keys(data, RUBRIC_KEYS, "rubric")
    slug = reader.slug(data)
    title = reader.text(data, "title")
    description = reader.text(data, "description")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        reader.fail(f"'version' must be an integer >= 1, not {version!r}", "version")
        version = 1

    levels: list[dict[str, str]] = []
    raw_levels = data.get("levels")
    if not isinstance(raw_levels, list) or len(raw_levels) < 2:
        reader.fail("'levels' must be a list of at least two levels", "levels")
        raw_levels = []
    for i, item in enumerate(raw_levels):
        if not isinstance(item, dict):
            reader.fail("a level must be a mapping", "levels", i)
            continue
        reader.keys(item, LEVEL_KEYS, "level", "levels", i)
        level_slug = reader.slug(item, "levels", i)
        if level_slug and any(lv["slug"] == level_slug for lv in levels):
            reader.fail(f"duplicate level '{level_slug}'", "levels", i, "slug")
            continue
        levels.append(
            {
                "slug": level_slug,
                "title": reader.text(item, "title", "levels", i),
                "description": reader.text(item, "description", "levels", i),
            }
        )
    level_slugs = [lv["slug"] for lv in levels if lv["slug"]]

    competencies: list[dict[str, Any]] = []
    raw_competencies = data.get("competencies")
    if not isinstance(raw_competencies, list) or not raw_competencies:
        reader.fail("'competencies' must be a non-empty list", "competencies")
        raw_competencies = []
    for i, item in enumerate(raw_competencies):
        where: tuple[str | int, ...] = ("competencies", i)
        if not isinstance(item, dict):
            reader.fail("a competency must be a mapping", *where)
            continue
        reader.keys(item, COMPETENCY_KEYS, "competency", *where)
        comp_slug = reader.slug(item, *where)
        if comp_slug and any(c["slug"] == comp_slug for c in competencies):
            reader.fail(f"duplicate competency '{comp_slug}'", *where, "slug")
        mapping: dict[str, list[str]] = {}
        for key, known, what in (
            ("modules", catalogue.modules, "module"),
            ("exam_domains", catalogue.exam_domains, "exam domain"),
        ):
            value = item.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                reader.fail(f"'{key}' must be a list of slugs", *where, key)
                value = []
            for j, ref in enumerate(value):
                if ref not in known:
                    reader.fail(
                        f"broken mapping: competency '{comp_slug}' names unknown {what} '{ref}'",
                        *where,
                        key,
                        j,
                    )
            mapping[key] = list(value)
        if not mapping["modules"] and not mapping["exam_domains"]:
            reader.fail(f"competency '{comp_slug}' maps to no module and no exam domain", *where)
        raw_descriptors = item.get("descriptors")
        descriptors: dict[str, str] = {}
        if not isinstance(raw_descriptors, dict):
            reader.fail("'descriptors' must map each level to a text", *where, "descriptors")
            raw_descriptors = {}
        for key in raw_descriptors:
            if key not in level_slugs:
                reader.fail(
                    f"descriptor for unknown level '{key}'", *where, "descriptors", str(key)
                )
        for level_slug in level_slugs:
            if level_slug not in raw_descriptors:
                reader.fail(
                    f"missing cell: competency '{comp_slug}' has no descriptor for level "
                    f"'{level_slug}'",
                    *where,
                    "descriptors",
                )
                continue
            descriptors[level_slug] = reader.text(
                raw_descriptors, level_slug, *where, "descriptors"
            )
        competencies.append(
            {
                "slug": comp_slug,
                "title": reader.text(item, "title", *where),
                "description": reader.text(item, "description", *where),
                "modules": mapping["modules"],
                "exam_domains": mapping["exam_domains"],
                "descriptors": descriptors,
            }
        )
    if reader.problems:
        return None, reader.problems
    source = RubricSource(
        path=path,
        slug=slug,
        title=title,
        version=version,
        data={"description": description, "levels": levels, "competencies": competencies},
    )
    return source, []


def load_rubrics(
    rubric_dir: Path | None = None, curriculum_dir: Path | None = None
) -> list[RubricSource]:
    """Every rubric file, checked; raises the first ContentError (in file, line order)."""
    root = Path(rubric_dir) if rubric_dir is not None else default_rubric_dir()
    catalogue = curriculum_catalogue(curriculum_dir)
    sources: list[RubricSource] = []
    problems: list[ContentError] = []
    files = sorted(p for p in root.glob("*.yaml") if not p.name.startswith("."))
    if not files:
        raise ContentError(root, 1, "no rubric files (*.yaml) in this folder")
    for path in files:
        source, found = read_rubric(path, catalogue)
        problems.extend(found)
        if source is not None:
            clash = next((s for s in sources if s.slug == source.slug), None)
            if clash is not None:
                problems.append(
                    ContentError(path, 1, f"rubric slug '{source.slug}' is also in {clash.path}")
                )
            sources.append(source)
    if problems:
        raise sorted(problems, key=ContentError.sort_key)[0]
    return sources


@dataclass
class RubricSyncReport:
    created: int = 0
    new_versions: int = 0
    unchanged: int = 0
    retired: int = 0
    lines_: list[str] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return self.created + self.new_versions + self.retired

    def lines(self) -> list[str]:
        return [
            f"rubrics: {self.created} created, {self.new_versions} new versions, "
            f"{self.unchanged} unchanged, {self.retired} retired",
            f"total changes: {self.changes}",
        ]


def rubric_sync(
    *, rubric_dir: Path | None = None, curriculum_dir: Path | None = None
) -> RubricSyncReport:
    """Load the rubric files into the database.

    Atomic (a bad file raises ContentError and writes nothing), idempotent (the same files
    again change nothing) and versioned: a file whose content changed becomes a new
    RubricVersion; evaluations keep the version they used. An edit made in the portal stays
    current until the file itself changes. Rubrics whose file is gone are retired, not deleted.
    """
    sources = load_rubrics(rubric_dir, curriculum_dir)
    report = RubricSyncReport()
    with transaction.atomic():
        for source in sources:
            rubric, created = Rubric.objects.select_for_update().get_or_create(
                slug=source.slug, defaults={"title": source.title}
            )
            report.created += int(created)
            latest = rubric.versions.order_by("-version").first()
            file_versions = rubric.versions.filter(source=RubricVersion.Source.FILE)
            last_file = file_versions.order_by("-version").first()
            if last_file is not None and last_file.file_hash == source.content_hash:
                if rubric.retired or rubric.title != source.title:
                    rubric.retired = False
                    rubric.title = source.title
                    rubric.save(update_fields=["retired", "title"])
                report.unchanged += int(not created)
                continue
            number = max(source.version, (latest.version + 1) if latest else 1)
            RubricVersion.objects.create(
                rubric=rubric,
                version=number,
                data=source.data,
                content_hash=content_hash(source.data),
                file_hash=source.content_hash,
                source=RubricVersion.Source.FILE,
                note=f"from {source.path.name}",
            )
            rubric.title = source.title
            rubric.retired = False
            rubric.save(update_fields=["title", "retired"])
            report.new_versions += int(not created)
        gone = Rubric.objects.filter(retired=False).exclude(slug__in=[s.slug for s in sources])
        report.retired = gone.update(retired=True)
    return report


class RubricEditError(ValueError):
    pass


def rubric_edit(
    *, rubric: Rubric, descriptors: dict[tuple[str, str], str], by: User, note: str = ""
) -> RubricVersion:
    """Save HR's edit of the descriptors as a new version (the old one stays for evaluations).

    `descriptors` maps (competency slug, level slug) to text; every cell must stay non-empty.
    Returns the current version unchanged when nothing changed.
    """
    with transaction.atomic():
        Rubric.objects.select_for_update().get(pk=rubric.pk)
        current = rubric.current()
        data = {**current.data, "competencies": [dict(c) for c in current.competencies]}
        for competency in data["competencies"]:
            cells = dict(competency["descriptors"])
            for level in current.levels:
                key = (competency["slug"], level["slug"])
                if key in descriptors:
                    text = " ".join(str(descriptors[key]).split())
                    if not text:
                        raise RubricEditError(
                            f"{competency['title']} / {level['title']}: a descriptor is required"
                        )
                    cells[level["slug"]] = text
            competency["descriptors"] = cells
        digest = content_hash(data)
        if digest == current.content_hash:
            return current
        return RubricVersion.objects.create(
            rubric=rubric,
            version=current.version + 1,
            data=data,
            content_hash=digest,
            source=RubricVersion.Source.PORTAL,
            created_by=by,
            note=note.strip()[:300],
        )
