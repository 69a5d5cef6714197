"""The parsers, in the order auto-detection tries them (most specific first)."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from metrics.ledger.sources.base import IngestError, read_head

# --source name -> module in metrics.ledger.sources
SOURCES: dict[str, str] = {
    "openai": "metrics.ledger.sources.openai",
    "anthropic": "metrics.ledger.sources.anthropic",
    "opencost": "metrics.ledger.sources.opencost",
    "focus": "metrics.ledger.sources.focus",
    "aws-cur": "metrics.ledger.sources.aws_cur",
    "azure": "metrics.ledger.sources.azure",
    "gcp": "metrics.ledger.sources.gcp",
    "oci": "metrics.ledger.sources.oci",
}


def available() -> dict[str, ModuleType]:
    """The parser modules by --source name, in detection order (imported on first use)."""
    return {name: importlib.import_module(module) for name, module in SOURCES.items()}


def detect(path: Path, source: str = "auto") -> ModuleType:
    """Return the parser for `path`: the one named, or the first whose sniff() accepts it."""
    parsers = available()
    if source != "auto":
        if source not in parsers:
            raise IngestError(
                str(path),
                0,
                "--source",
                f"unknown source {source!r}; one of: auto, {', '.join(parsers)}",
            )
        return parsers[source]
    head = read_head(path)
    if not head.strip():
        raise IngestError(str(path), 0, "-", "the file is empty")
    for parser in parsers.values():
        if parser.sniff(path, head):
            return parser
    raise IngestError(
        str(path),
        1,
        "-",
        "format not recognized (not FOCUS, AWS CUR, Azure, GCP, OCI, OpenAI, Anthropic or "
        "OpenCost); check the delimiter and header, or pass --source",
    )
