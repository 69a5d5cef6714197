"""The one CSV reader of the billing sources (CSV and gzip CSV).

Every parser reads CSV text through here, so every file meets the same header checks and the
same errors:

- `sniff_header(head)`: the column names in the text the detector has already read;
- `csv_header(path)`: the header row as written, or an IngestError (empty file, not UTF-8,
  a semicolon/tab/pipe file, unreadable gzip);
- `read_csv_chunks(path, usecols)`: pandas text frames whose index is the line number, parsed
  by Arrow, or by pandas (CHUNK_ROWS rows) from the first record Arrow does not take: every
  quirk, and the exact line of a malformed record;
- `read_csv_tables(path, header, columns)`: the fast path, Arrow tables of about
  ARROW_BLOCK_BYTES of text; what Arrow cannot take (a quoted newline, a ragged row) raises
  ReparseSlowly and the import starts again with the pandas reader.

The limits of a file (size, gzip bomb, line length, column count, NUL bytes) are checked
before any of this by `limits.scan_file`, which splits the header with `split_line`.
Line numbers count records, header = line 1 (the physical line unless a quoted value spans
lines).
"""

from __future__ import annotations

import csv
import gzip
import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from metrics.ledger.sources.base import IngestError

CHUNK_ROWS = 50_000
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
# Bytes of text per Arrow table: bounds memory by the chunk, not by the file.
ARROW_BLOCK_BYTES = 16 << 20
# Arrow's streaming reader reads up to 32 blocks ahead in the background: small blocks keep
# that read-ahead at 32 MB (with 32 MB blocks it buffered a 1 GB file whole).
ARROW_READ_BYTES = 1 << 20

OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}
_PARSER_LINE = re.compile(r"line (\d+)")


def is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def is_parquet(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == PARQUET_MAGIC


def split_line(line: str, delimiter: str = ",") -> list[str]:
    """The fields of one CSV line (quotes honoured)."""
    return next(csv.reader([line], delimiter=delimiter), [])


def sniff_header(head: str) -> list[str]:
    """Column names on the first line of `head`, split on whichever delimiter it uses.

    Sniffing accepts a header whatever its delimiter so that parse() can then reject a
    semicolon file with a clear message instead of "format not recognized".
    """
    line = head.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    delimiter = ","
    if "," not in line:
        delimiter = next((d for d in OTHER_DELIMITERS if d in line), ",")
    return [c.strip() for c in split_line(line, delimiter)]


def csv_header(path: Path) -> list[str]:
    """The header row as written (BOM removed); raises IngestError for a wrong delimiter."""
    file = str(path)
    try:
        if is_gzip(path):
            with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as fh:
                header = next(csv.reader(fh), [])
        else:
            with path.open(encoding="utf-8-sig", newline="") as fh:
                header = next(csv.reader(fh), [])
    except (EOFError, OSError, zlib.error) as exc:
        raise IngestError(file, 1, "-", f"cannot read the header: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise IngestError(file, 1, "-", "the file is not UTF-8 text") from exc
    if not header:
        raise IngestError(file, 1, "-", "the file is empty")
    if len(header) == 1:
        for delimiter, name in OTHER_DELIMITERS.items():
            if delimiter in header[0]:
                raise IngestError(
                    file,
                    1,
                    "-",
                    f"the file is {name}-separated (delimiter {delimiter!r}); export it as "
                    "comma-separated CSV",
                )
    return header


def read_csv_chunks(
    path: Path, usecols: list[str] | None = None, *, fast: bool = True
) -> Iterator[pd.DataFrame]:
    """Text chunks (every value a str, a missing field "") of a CSV or gzip CSV, `usecols`
    only (None: all), in the file's column order; each chunk's index is its line numbers.

    `fast`: Arrow's reader parses, pandas only wraps its columns (the pandas reader took half
    of a CUR import's parse). What Arrow does not take (a quoted newline, a ragged row, bad
    UTF-8) hands over to the pandas reader at the first record not yet given, which reads
    such files as before and names the line of a malformed record."""
    from metrics.ledger.sources.arrow import ReparseSlowly

    given = 0
    if fast:
        try:
            for frame in _arrow_chunks(path, usecols):
                given += len(frame)
                yield frame
            return
        except ReparseSlowly:
            pass
    for frame in _pandas_chunks(path, usecols):
        if given >= len(frame):
            given -= len(frame)
            continue
        yield frame.iloc[given:] if given else frame
        given = 0


def _arrow_chunks(path: Path, usecols: list[str] | None) -> Iterator[pd.DataFrame]:
    from metrics.ledger.sources.arrow import ReparseSlowly

    header = csv_header(path)
    if len(set(header)) != len(header):
        raise ReparseSlowly("duplicate column names")  # pandas renames them (a, a.1)
    wanted = set(header if usecols is None else usecols)
    columns = [name for name in header if name in wanted]
    text = pd.StringDtype(na_value=float("nan"))
    for first_line, table in read_csv_tables(
        path, header, columns, block_bytes=ARROW_BLOCK_BYTES, strip_names=False
    ):
        frame = table.to_pandas(types_mapper=lambda _: text)
        frame.index = pd.RangeIndex(first_line, first_line + len(frame))
        yield frame


def _pandas_chunks(path: Path, usecols: list[str] | None) -> Iterator[pd.DataFrame]:
    file = str(path)
    gz = is_gzip(path)
    next_line = 2
    try:
        reader = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            usecols=usecols,
            chunksize=CHUNK_ROWS,
            compression="gzip" if gz else None,
            encoding="utf-8-sig",
        )
        with reader:
            for chunk in reader:
                chunk.index = pd.RangeIndex(next_line, next_line + len(chunk))
                next_line += len(chunk)
                yield chunk
    except pd.errors.EmptyDataError as exc:
        raise IngestError(file, 1, "-", "the file is empty") from exc
    except pd.errors.ParserError as exc:
        found = _PARSER_LINE.search(str(exc))
        row = int(found.group(1)) if found else next_line
        raise IngestError(file, row, "-", f"malformed CSV: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise IngestError(file, next_line, "-", "the file is not UTF-8 text") from exc
    except (EOFError, zlib.error, OSError) as exc:
        why = (
            f"the gzip file is truncated or corrupt ({exc}); download it again"
            if gz
            else f"cannot read the file: {exc}"
        )
        raise IngestError(file, next_line, "-", why) from exc


def read_csv_tables(
    path: Path,
    header: list[str],
    columns: list[str],
    *,
    block_bytes: int = ARROW_BLOCK_BYTES,
    strip_names: bool = True,
) -> Iterator[tuple[int, Any]]:
    """(line of the first row, pyarrow Table) for blocks of about `block_bytes` of text.

    `header` is `csv_header(path)`; `columns` the raw names to keep. Every value is text (no
    nulls); the table's column names are stripped unless `strip_names` is False. Raises
    ReparseSlowly for anything the Arrow reader cannot take.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from metrics.ledger.sources.arrow import ReparseSlowly

    stream = pa.input_stream(str(path), compression="gzip" if is_gzip(path) else None)
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=ARROW_READ_BYTES),
            convert_options=pacsv.ConvertOptions(
                column_types={raw: pa.string() for raw in header},
                include_columns=columns,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        first_line = 2
        for batches in _gathered(reader, block_bytes):
            # One contiguous array per column: every later kernel and buffer scan pays per
            # chunk, and a table of 1 MB read blocks has a dozen or more.
            table = pa.Table.from_batches(batches).combine_chunks()
            if strip_names:
                table = table.rename_columns([c.strip() for c in batches[0].schema.names])
            yield first_line, table
            first_line += table.num_rows
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError, EOFError) as exc:
        raise ReparseSlowly(str(exc)) from exc
    finally:
        stream.close()


def _gathered(batches: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Small record batches gathered into lists of about `size` bytes (one chunk each).

    The first chunks are smaller (size/32, then half as large again each time): the
    database writes nothing until the first chunk is ready, so a small one starts the write
    sooner, and each next chunk is ready before the database has written the one before it
    (preparing a row takes about two thirds of the time the server takes to store it: a
    chunk twice as large kept the server waiting)."""
    pending: list[Any] = []
    held = 0
    target = max(size // 32, 1)
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        held += batch.nbytes
        if held >= target:
            yield pending
            pending, held = [], 0
            target = min(target * 3 // 2 + 1, size)
    if pending:
        yield pending
