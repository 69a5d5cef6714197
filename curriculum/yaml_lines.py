"""YAML with line numbers: parse a document and remember the file line of every key and list
item, so each problem can be reported as `file:line: reason` (`ContentError`).

Generic (no curriculum rules): `Fields` reads typed values from one mapping and records,
rather than raises, every bad or missing value. `curriculum.content_loader` (the curriculum
schema) and `portal.rubrics` build on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

YamlPath = tuple[str | int, ...]


def display_path(path: Path) -> str:
    """The path as an author would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class ContentError(Exception):
    """One problem in one content file; `str()` is `file:line: reason`."""

    def __init__(self, file: Path, line: int, reason: str) -> None:
        super().__init__(file, line, reason)
        self.file = Path(file)
        self.line = line
        self.reason = reason

    def __str__(self) -> str:
        return f"{display_path(self.file)}:{self.line}: {self.reason}"

    def sort_key(self) -> tuple[str, int, str]:
        return (str(self.file), self.line, self.reason)


@dataclass(frozen=True)
class YamlDoc:
    """A parsed YAML document plus the file line of every key and list item."""

    data: Any
    lines: dict[YamlPath, int]

    def line(self, *path: str | int) -> int:
        """Line of `path`, or of its nearest ancestor when the key itself is missing."""
        key: YamlPath = tuple(path)
        while key and key not in self.lines:
            key = key[:-1]
        return self.lines.get(key, 1)


def parse_yaml(text: str, file: Path, *, first_line: int = 1) -> tuple[YamlDoc, list[ContentError]]:
    """Parse one YAML document. `first_line` is the file line where `text` starts.

    Raises ContentError on a syntax error; duplicate keys (which PyYAML silently collapses)
    come back as problems.
    """
    loader = yaml.SafeLoader(text)
    problems: list[ContentError] = []
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDoc(None, {}), problems
        lines: dict[YamlPath, int] = {(): node.start_mark.line + first_line}
        _record_lines(node, (), lines, file, first_line, problems)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + first_line if mark is not None else first_line
        raise ContentError(file, line, f"invalid YAML: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise ContentError(file, first_line, f"invalid YAML: {exc}") from exc
    finally:
        loader.dispose()
    return YamlDoc(data, lines), problems


def _record_lines(
    node: yaml.Node,
    path: YamlPath,
    lines: dict[YamlPath, int],
    file: Path,
    first_line: int,
    problems: list[ContentError],
) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + first_line
            if key in seen:
                problems.append(ContentError(file, line, f"duplicate key '{key}'"))
            seen.add(key)
            lines.setdefault((*path, key), line)
            _record_lines(value_node, (*path, key), lines, file, first_line, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + first_line
            _record_lines(item, (*path, index), lines, file, first_line, problems)


class Fields:
    """Typed reads from one YAML mapping; each bad or missing value is recorded, not raised."""

    def __init__(
        self, file: Path, doc: YamlDoc, path: YamlPath, problems: list[ContentError]
    ) -> None:
        self.file = file
        self.doc = doc
        self.path = path
        self.problems = problems
        value = doc.data
        for part in path:
            value = value[part]
        self.mapping: dict[str, Any] = value

    def line(self, key: str | None = None) -> int:
        return self.doc.line(*self.path, key) if key else self.doc.line(*self.path)

    def problem(self, key: str | None, reason: str) -> None:
        self.problems.append(ContentError(self.file, self.line(key), reason))

    def check_keys(self, required: tuple[str, ...], optional: tuple[str, ...], what: str) -> None:
        for key in required:
            if key not in self.mapping:
                self.problem(None, f"{what} is missing key '{key}'")
        for key in self.mapping:
            if key not in required and key not in optional:
                self.problem(str(key), f"{what} has unknown key '{key}'")

    def _get(self, key: str, required: bool) -> Any:
        if key not in self.mapping:
            # check_keys reports missing required keys once; nothing more to say here.
            return None
        value = self.mapping[key]
        if value is None and required:
            self.problem(key, f"'{key}' is empty")
        return value

    def text(
        self, key: str, *, required: bool = True, pattern: re.Pattern[str] | None = None
    ) -> str:
        value = self._get(key, required)
        if value is None:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            self.problem(key, f"'{key}' must be a non-empty string")
            return ""
        if pattern is not None and not pattern.match(value):
            self.problem(key, f"'{key}' value '{value}' is not lowercase-with-hyphens")
        return value.strip()

    def integer(self, key: str, *, minimum: int = 0) -> int:
        value = self._get(key, True)
        if value is None:
            return minimum
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.problem(key, f"'{key}' must be an integer >= {minimum}, not {value!r}")
            return minimum
        return value

    def boolean(self, key: str) -> bool:
        value = self._get(key, True)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.problem(key, f"'{key}' must be true or false, not {value!r}")
            return False
        return value

    def decimal(self, key: str) -> Decimal:
        value = self._get(key, True)
        if value is None:
            return Decimal(0)
        try:
            if isinstance(value, bool):
                raise TypeError
            return Decimal(str(value))
        except (InvalidOperation, TypeError):
            self.problem(key, f"'{key}' must be a number, not {value!r}")
            return Decimal(0)

    def text_list(self, key: str, *, non_empty: bool = True) -> tuple[str, ...]:
        value = self._get(key, True)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(
            isinstance(item, str) and item.strip() for item in value
        ):
            self.problem(key, f"'{key}' must be a list of non-empty strings")
            return ()
        if non_empty and not value:
            self.problem(key, f"'{key}' must not be empty")
        return tuple(item.strip() for item in value)

    def int_list(self, key: str) -> tuple[int, ...]:
        value = self._get(key, True)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(
            isinstance(item, int) and not isinstance(item, bool) and item >= 0 for item in value
        ):
            self.problem(key, f"'{key}' must be a list of whole numbers")
            return ()
        return tuple(value)
