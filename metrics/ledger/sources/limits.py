"""Limits every billing file must respect before any parser reads it.

`scan_file(path, name=...)` reads the file once, in blocks: it computes the SHA-256 of the
bytes (the idempotency key of an import) and, on the way, enforces

- the size of the file as stored (INGEST_MAX_FILE_BYTES),
- for gzip, the decompressed size (INGEST_MAX_DECOMPRESSED_BYTES, default 5 GB) and the
  compression ratio (INGEST_MAX_COMPRESSION_RATIO, checked once past 64 MiB decompressed),
  decompressing in bounded blocks so a bomb never expands in memory,
- for CSV text, the length of a line (INGEST_MAX_LINE_BYTES), the number of header columns
  (INGEST_MAX_COLUMNS) and the absence of NUL bytes (rejected the same on every database:
  PostgreSQL cannot store them and SQLite would keep them silently).

JSON documents (the AI providers' pages) are checked by `read_json_text` when a parser loads
them: at most INGEST_MAX_JSON_BYTES decompressed, no `\\u0000`, nesting errors reported as a
clear IngestError instead of a RecursionError.
Every violation raises IngestError naming the file (and line/column when known) and the
setting to raise, so nothing is written: an upload is scanned before it is queued, and an
import checks a file before any parser reads it (for a file of a size no imported file had,
without the SHA-256, which is then computed beside the load: metrics.ledger.ingest._Scan).
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from metrics.ledger.sources.base import IngestError
from metrics.ledger.sources.csv_reader import GZIP_MAGIC, PARQUET_MAGIC, split_line

BLOCK = 1 << 20
RATIO_FLOOR = 64 << 20  # the ratio is only judged once this much has been decompressed


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    max_decompressed_bytes: int
    max_ratio: int
    max_line_bytes: int
    max_columns: int
    max_json_bytes: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_file_bytes=int(settings.INGEST_MAX_FILE_BYTES),
            max_decompressed_bytes=int(settings.INGEST_MAX_DECOMPRESSED_BYTES),
            max_ratio=int(settings.INGEST_MAX_COMPRESSION_RATIO),
            max_line_bytes=int(settings.INGEST_MAX_LINE_BYTES),
            max_columns=int(settings.INGEST_MAX_COLUMNS),
            max_json_bytes=int(settings.INGEST_MAX_JSON_BYTES),
        )


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB" if n >= 10_000_000 else f"{n:,} bytes"


class _TextCheck:
    """Line length, column count and NUL bytes of decompressed CSV text, block by block."""

    def __init__(self, name: str, limits: Limits) -> None:
        self.name = name
        self.limits = limits
        self.line = 1  # physical line of the current position (1-based)
        self.current = 0  # bytes of the current line seen so far
        self.first = b""  # the header line (bounded by max_line_bytes)
        self.header: list[str] | None = None
        self.json = False
        self.started = False

    def feed(self, data: bytes) -> None:
        if not data:
            return
        if not self.started:
            stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
            if not stripped:
                return
            self.started = True
            if stripped[:2] in (b"\xff\xfe", b"\xfe\xff"):
                raise IngestError(self.name, 1, "-", "the file is UTF-16; export it as UTF-8")
            self.json = stripped[:1] in (b"{", b"[")
        if self.json:
            return  # JSON documents: read_json_text checks them; JSON lines are lines
        if self.header is None:
            self._collect_header(data)
        nul = data.find(b"\x00")
        if nul >= 0:
            self._nul(data, nul)
        limit = self.limits.max_line_bytes
        breaks = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
        if len(breaks) == 0:
            self.current += len(data)
            if self.current > limit:
                self._long_line()
            return
        if self.current + int(breaks[0]) > limit:
            self._long_line()
        if len(breaks) > 1 and int(np.diff(breaks).max()) - 1 > limit:
            at = int(np.argmax(np.diff(breaks) - 1 > limit))
            self.line += at + 1
            self._long_line()
        self.line += len(breaks)
        self.current = len(data) - int(breaks[-1]) - 1
        if self.current > limit:
            self._long_line()

    def _collect_header(self, data: bytes) -> None:
        end = data.find(b"\n")
        self.first += data if end < 0 else data[:end]
        if end < 0 and len(self.first) <= self.limits.max_line_bytes:
            return
        text = self.first[: self.limits.max_line_bytes].decode("utf-8-sig", errors="replace")
        self.header = split_line(text.rstrip("\r"))
        if len(self.header) > self.limits.max_columns:
            # Past INGEST_MAX_LINE_BYTES only the columns in that many bytes were counted.
            counted = "at least " if len(self.first) > self.limits.max_line_bytes else ""
            raise IngestError(
                self.name,
                1,
                "-",
                f"the header has {counted}{len(self.header):,} columns, over the limit of "
                f"{self.limits.max_columns:,} (setting INGEST_MAX_COLUMNS)",
            )

    def _nul(self, data: bytes, at: int) -> None:
        line = self.line + data.count(b"\n", 0, at)
        start = data.rfind(b"\n", 0, at) + 1
        column = "-"
        if (start > 0 or self.current == 0) and self.header:
            prefix = data[start:at].decode("utf-8", errors="replace")
            fields = split_line(prefix) or [""]
            index = max(len(fields) - 1, 0)
            column = self.header[index] if index < len(self.header) else "-"
        raise IngestError(
            self.name,
            line,
            column,
            "a NUL byte (\\0) in the text; remove it and import again (NUL is not valid "
            "in billing text)",
        )

    def _long_line(self) -> None:
        raise IngestError(
            self.name,
            self.line,
            "-",
            f"a line longer than {_mb(self.limits.max_line_bytes)} (setting "
            "INGEST_MAX_LINE_BYTES); is this really a CSV file?",
        )


def check_size(path: Path, *, name: str | None = None) -> int:
    """The file's size in bytes; IngestError over INGEST_MAX_FILE_BYTES (no byte is read)."""
    limits = Limits.from_settings()
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise IngestError(
            name or str(path),
            0,
            "-",
            f"the file is {_mb(size)}, over the limit of {_mb(limits.max_file_bytes)} "
            "(setting INGEST_MAX_FILE_BYTES)",
        )
    return size


def scan_file(path: Path, *, name: str | None = None) -> str:
    """Check the limits of the module docstring; return the SHA-256 of the file's bytes."""
    digest = hashlib.sha256()
    _scan(path, name or str(path), digest)
    return digest.hexdigest()


def check_limits(path: Path, *, name: str | None = None) -> None:
    """Check the limits of the module docstring without hashing the file (the SHA-256 is
    about nine tenths of scan_file's time on plain CSV: the importer computes it beside the
    load, see metrics.ledger.ingest._Scan)."""
    _scan(path, name or str(path), None)


def _scan(path: Path, name: str, digest: Any) -> None:
    """Read the file once, checking its limits; feed its bytes to `digest` if given."""
    limits = Limits.from_settings()
    check_size(path, name=name)
    with path.open("rb") as fh:
        head = fh.read(4)
        fh.seek(0)
        gz = head[:2] == GZIP_MAGIC
        text = None if head == PARQUET_MAGIC else _TextCheck(name, limits)
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if gz else None
        if digest is None and inflater is None and text is None:
            return  # Parquet: nothing to check in its bytes
        read = out = 0
        for block in iter(lambda: fh.read(BLOCK), b""):
            if digest is not None:
                digest.update(block)
            read += len(block)
            if inflater is None:
                if text is not None:
                    text.feed(block)
                continue
            pending = block
            try:
                while pending:
                    data = inflater.decompress(pending, BLOCK)
                    out += len(data)
                    _check_expansion(name, limits, out, read)
                    if text is not None:
                        text.feed(data)
                    if inflater.unconsumed_tail:
                        pending = inflater.unconsumed_tail
                    elif inflater.eof and inflater.unused_data:  # another gzip member
                        pending = inflater.unused_data
                        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    else:
                        pending = b""
            except zlib.error:
                inflater = None  # corrupt: the parser reports it with its own message
                text = None


def _check_expansion(name: str, limits: Limits, out: int, read: int) -> None:
    if out > limits.max_decompressed_bytes:
        raise IngestError(
            name,
            0,
            "-",
            f"the gzip file expands past {_mb(limits.max_decompressed_bytes)} "
            "(setting INGEST_MAX_DECOMPRESSED_BYTES); refusing a possible decompression bomb",
        )
    if out > RATIO_FLOOR and out > limits.max_ratio * max(read, 1):
        raise IngestError(
            name,
            0,
            "-",
            f"the gzip file expands more than {limits.max_ratio}x (setting "
            "INGEST_MAX_COMPRESSION_RATIO); refusing a possible decompression bomb",
        )


def read_json_bytes(path: Path) -> bytes:
    """The bytes of a JSON document (gunzipped), at most INGEST_MAX_JSON_BYTES."""
    limits = Limits.from_settings()
    name = str(path)
    cap = limits.max_json_bytes
    with path.open("rb") as fh:
        raw = fh.read(cap + 1)
    if raw[:2] != GZIP_MAGIC:
        if len(raw) > cap:
            raise IngestError(name, 0, "-", _json_too_big(cap))
        return raw
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    parts: list[bytes] = []
    total = 0
    pending = raw
    try:
        while pending:
            data = inflater.decompress(pending, BLOCK)
            total += len(data)
            if total > cap:
                raise IngestError(name, 0, "-", _json_too_big(cap))
            parts.append(data)
            if inflater.unconsumed_tail:
                pending = inflater.unconsumed_tail
            elif inflater.eof and inflater.unused_data:
                pending = inflater.unused_data
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            else:
                pending = b""
    except zlib.error as exc:
        raise IngestError(name, 0, "-", f"cannot read the gzip file: {exc}") from exc
    if not inflater.eof:
        raise IngestError(name, 0, "-", "cannot read the gzip file: it is truncated")
    return b"".join(parts)


def _json_too_big(cap: int) -> str:
    return (
        f"the JSON document is larger than {_mb(cap)} (setting INGEST_MAX_JSON_BYTES); "
        "split it into pages"
    )


NESTED_JSON = "JSON nested too deeply"
