"""Hostile uploads: decompression bombs, huge lines and headers, deep JSON, NUL bytes, big
uploads streamed to disk, and a busy SQLite answered with 503 instead of 500.

Each test reproduces the attack; before the limits existed each one imported, ran out of
memory, or answered 500."""

import gzip
import json
import os
import sqlite3
import threading
import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import RequestFactory
from rest_framework.test import force_authenticate

from metrics.ledger.ingest import billing_import
from metrics.ledger.sources.base import IngestError
from metrics.ledger.sources.limits import Limits
from metrics.models import AllocationRule, CostRecord, ImportBatch
from tests.metrics.test_ledger_api import upload

HEADER = (
    "BillingAccountId,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,BilledCost,"
    "EffectiveCost,ProviderName,ServiceName,Tags"
)
ROW = "a1,USD,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,1.25,1.25,OpenAI,OpenAI API,"


def csv_bytes(rows: list[str], header: str = HEADER) -> bytes:
    return (header + "\n" + "\n".join(rows) + "\n").encode()


def test_gzip_bomb_stops_at_the_decompressed_limit(db, tmp_path, settings):
    settings.INGEST_MAX_DECOMPRESSED_BYTES = 20_000_000
    body = csv_bytes([ROW] * 400_000)  # ~34 MB of text, a few hundred KB compressed
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(body, compresslevel=9))
    assert path.stat().st_size < 1_000_000
    with pytest.raises(IngestError) as err:
        billing_import(path)
    assert "INGEST_MAX_DECOMPRESSED_BYTES" in str(err.value)
    assert str(err.value).startswith(f"{path}:0:-:")
    assert not CostRecord.objects.exists() and not ImportBatch.objects.exists()


@pytest.mark.skipif(
    "INGEST_MAX_DECOMPRESSED_BYTES" in os.environ, reason="the limit is set in the environment"
)
def test_the_decompressed_limit_defaults_to_5_gb():
    assert Limits.from_settings().max_decompressed_bytes == 5 * 1000**3


def test_gzip_bomb_stops_at_the_compression_ratio(db, tmp_path, settings):
    settings.INGEST_MAX_COMPRESSION_RATIO = 50
    body = csv_bytes([ROW] * 900_000)  # ~75 MB, compresses ~500x
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(body, compresslevel=9))
    with pytest.raises(IngestError, match="INGEST_MAX_COMPRESSION_RATIO"):
        billing_import(path)
    assert not CostRecord.objects.exists()


def test_a_bomb_upload_is_a_clear_400(client, people, settings):
    settings.INGEST_MAX_DECOMPRESSED_BYTES = 5_000_000
    client.force_login(people["admin"])
    bomb = gzip.compress(csv_bytes([ROW] * 100_000), compresslevel=9)
    response = client.post("/api/v1/imports/", {"file": SimpleUploadedFile("usage.csv.gz", bomb)})
    assert response.status_code == 400
    assert response.json()["error"].startswith("usage.csv.gz:0:-: the gzip file expands past")


def test_thousands_of_columns_are_refused(db, tmp_path):
    header = HEADER + "," + ",".join(f"x_Extra{i}" for i in range(5000))
    path = tmp_path / "wide.csv"
    path.write_bytes(csv_bytes([ROW + "," * 5000], header=header))
    with pytest.raises(IngestError) as err:
        billing_import(path)
    assert "5,009 columns" in str(err.value) and "INGEST_MAX_COLUMNS" in str(err.value)
    assert str(err.value).startswith(f"{path}:1:-:")


def test_a_header_past_the_line_limit_counts_its_columns_as_at_least(db, tmp_path):
    """Only the first INGEST_MAX_LINE_BYTES of a header are read: the message says so."""
    path = tmp_path / "wide.csv"
    path.write_bytes(csv_bytes([ROW], header=",".join(f"c{i}" for i in range(2_000_000))))
    with pytest.raises(IngestError, match=r"the header has at least [\d,]+ columns, over"):
        billing_import(path)
    assert not ImportBatch.objects.exists()


def test_a_line_past_the_limit_is_refused_with_its_line_number(db, tmp_path, settings):
    settings.INGEST_MAX_LINE_BYTES = 10_000
    long_row = ROW[:-1] + ',"' + "x" * 20_000 + '"'
    path = tmp_path / "long.csv"
    path.write_bytes(csv_bytes([ROW, ROW, long_row, ROW]))
    with pytest.raises(IngestError) as err:
        billing_import(path)
    assert str(err.value).startswith(f"{path}:4:-: a line longer than")
    assert "INGEST_MAX_LINE_BYTES" in str(err.value)


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_deeply_nested_json_document_fails_clearly_not_500(client, people):
    client.force_login(people["admin"])
    body = '{"object": "page", "data": ' + deep(200_000) + "}"
    response, status = upload(client, "costs.json", body.encode(), source="openai")
    assert response.status_code == 202
    assert status["status"] == "failed"
    assert status["error"] == "costs.json:0:-: not valid JSON: JSON nested too deeply"
    assert not CostRecord.objects.exists()


def test_deeply_nested_json_in_a_csv_tag_fails_clearly_not_500(client, people):
    client.force_login(people["admin"])
    tags = '"' + ('{"a":' * 100_000 + "1" + "}" * 100_000).replace('"', '""') + '"'
    response, status = upload(client, "tags.csv", csv_bytes([ROW, ROW + tags]))
    assert response.status_code == 202
    assert status["status"] == "failed" and status["error"].startswith("tags.csv:3:Tags:")
    assert not CostRecord.objects.exists()


def test_a_nul_byte_is_refused_naming_row_and_column(db, tmp_path):
    """The same answer on SQLite and PostgreSQL (CI runs this file on both)."""
    nul_row = ROW.replace("OpenAI API", "Open\x00AI API")
    path = tmp_path / "nul.csv"
    path.write_bytes(csv_bytes([ROW, nul_row]))
    with pytest.raises(IngestError) as err:
        billing_import(path)
    assert str(err.value).startswith(f"{path}:3:ServiceName: a NUL byte")
    assert not CostRecord.objects.exists() and not ImportBatch.objects.exists()


def test_a_nul_character_in_json_is_refused(db, tmp_path):
    page = {
        "object": "page",
        "data": [
            {
                "start_time": 1727740800,
                "end_time": 1727827200,
                "results": [
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": 1.5, "currency": "usd"},
                        "line_item": "gpt-4o\u0000, input",
                        "project_id": "p1",
                    }
                ],
            }
        ],
    }
    path = tmp_path / "costs.json"
    path.write_text(json.dumps(page))
    with pytest.raises(IngestError, match="NUL"):
        billing_import(path, source="openai")
    assert not CostRecord.objects.exists()


def test_an_upload_over_the_size_limit_is_413(client, people, settings):
    settings.INGEST_MAX_FILE_BYTES = 1000
    client.force_login(people["admin"])
    response = client.post(
        "/api/v1/imports/",
        {"file": SimpleUploadedFile("big.csv", csv_bytes([ROW] * 100))},
    )
    assert response.status_code == 413
    assert "INGEST_MAX_FILE_BYTES" in response.json()["error"]
    assert not ImportBatch.objects.exists()


def test_uploads_are_streamed_to_disk_not_read_into_memory(people, settings, monkeypatch):
    """A 24 MB upload goes request -> temporary file -> incoming file in blocks: the view
    never holds it in memory (before: `file.read()`, the whole upload at once)."""
    from metrics.api import views

    seen: dict[str, int] = {}

    def fake_import(path, **kwargs):  # only the transport is under test here
        seen["size"] = path.stat().st_size
        raise IngestError(kwargs["display_name"], 0, "-", "stop here")

    monkeypatch.setattr(views, "import_precheck", fake_import)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    payload = csv_bytes([ROW] * 300_000)
    request = RequestFactory().post(
        "/api/v1/imports/", {"file": SimpleUploadedFile("big.csv", payload)}
    )
    force_authenticate(request, user=people["admin"])
    view = views.ImportBatchViewSet.as_view({"post": "create"})
    tracemalloc.start()
    try:
        response = view(request)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 400 and seen["size"] == len(payload)
    assert peak < len(payload) / 4, f"peak {peak:,} bytes for a {len(payload):,}-byte upload"


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's single writer")
def test_a_write_while_sqlite_is_locked_answers_503_not_500(
    transactional_db, client, people, settings
):
    """Another process holds the write lock (a long import): the write waits the connection
    timeout, then gets a clear 'busy' answer with Retry-After."""
    options = connection.settings_dict["OPTIONS"]
    old_timeout = options.get("timeout")
    client.force_login(people["admin"])
    options["timeout"] = 0.3
    connection.close()
    holder = sqlite3.connect(connection.settings_dict["NAME"], timeout=5)
    released = threading.Event()
    try:
        holder.execute("BEGIN IMMEDIATE")
        response = client.post(
            "/api/v1/allocation-rules/",
            {"priority": 5, "team": "search", "field": "sub_account", "pattern": "y"},
        )
        assert response.status_code == 503
        assert response["Retry-After"] == "5"
        assert "busy" in response.json()["error"]
        holder.rollback()
        released.set()
        again = client.post(
            "/api/v1/allocation-rules/",
            {"priority": 5, "team": "search", "field": "sub_account", "pattern": "y"},
        )
        assert again.status_code == 201 and AllocationRule.objects.count() == 1
    finally:
        if not released.is_set():
            holder.rollback()
        holder.close()
        if old_timeout is None:
            options.pop("timeout", None)
        else:
            options["timeout"] = old_timeout
        connection.close()


# --- the SHA-256 is computed beside the load (metrics.ledger.ingest._Scan) ---------------------


def slow_hash(monkeypatch, *, until: threading.Event, error: Exception | None = None):
    """The import's SHA-256, ending only once `until` is set (or after 10 s)."""
    from metrics.ledger import ingest

    real = ingest.sha256_of

    def sha256_of(path):
        until.wait(10)
        if error is not None:
            raise error
        return real(path)

    monkeypatch.setattr(ingest, "sha256_of", sha256_of)


def rows_written(monkeypatch) -> threading.Event:
    """Set once the import has written its first chunk."""
    from metrics.ledger import ingest

    written = threading.Event()
    real = ingest._writer

    def writer():
        encode, write = real()

        def write_and_tell(payload):
            write(payload)
            written.set()

        return encode, write_and_tell

    monkeypatch.setattr(ingest, "_writer", writer)
    return written


def test_limits_are_checked_before_any_parser_reads_the_file(db, tmp_path, monkeypatch):
    """The hash goes beside the load, the limits do not: a NUL on the last line is refused
    before the file is even detected."""
    from metrics.ledger import ingest

    detected = []
    monkeypatch.setattr(ingest.registry, "detect", lambda *a: detected.append(a))
    path = tmp_path / "nul_last.csv"
    path.write_bytes(csv_bytes([ROW] * 20 + [ROW.replace("OpenAI API", "Open\x00AI")]))
    with pytest.raises(IngestError, match="a NUL byte"):
        billing_import(path)
    assert detected == []
    assert not CostRecord.objects.exists() and not ImportBatch.objects.exists()


def test_a_file_that_cannot_be_hashed_to_the_end_leaves_nothing(db, tmp_path, monkeypatch):
    """The hash fails after the first rows went to the database: the import fails with its
    error and what it wrote is rolled back."""
    path = tmp_path / "vanishing.csv"
    path.write_bytes(csv_bytes([ROW] * 50))
    gone = OSError("the file was truncated while it was read")
    slow_hash(monkeypatch, until=rows_written(monkeypatch), error=gone)
    with pytest.raises(OSError) as err:
        billing_import(path)
    assert err.value is gone
    assert not CostRecord.objects.exists() and not ImportBatch.objects.exists()


def test_same_bytes_found_only_by_the_late_hash_change_nothing(db, tmp_path, monkeypatch):
    """A file whose size no imported batch records (batches from before the size was kept)
    is loaded while it is hashed; when its SHA-256 turns out to be an imported batch's, the
    import is a no-op: the rows it wrote are rolled back, the earlier batch is returned."""
    path = tmp_path / "again.csv"
    path.write_bytes(csv_bytes([ROW] * 30))
    first = billing_import(path).batch
    summary = dict(first.summary)
    del summary["file_bytes"]
    ImportBatch.objects.filter(pk=first.pk).update(summary=summary)
    slow_hash(monkeypatch, until=rows_written(monkeypatch))
    again = billing_import(path)
    assert again.created is False and again.batch.pk == first.pk
    assert CostRecord.objects.count() == 30
    assert list(ImportBatch.objects.values_list("pk", flat=True)) == [first.pk]


def test_a_file_the_size_of_an_imported_one_is_hashed_before_anything_is_written(
    db, tmp_path, monkeypatch
):
    """The same bytes again (the usual re-import): found by the SHA-256 before the load, so
    nothing is parsed or written; a different file of the same size is then imported."""
    from metrics.ledger import ingest

    path = tmp_path / "same.csv"
    path.write_bytes(csv_bytes([ROW] * 30))
    first = billing_import(path).batch
    assert first.summary["file_bytes"] == path.stat().st_size
    loads = []
    real = ingest._load
    monkeypatch.setattr(ingest, "_load", lambda *a, **k: loads.append(1) or real(*a, **k))
    assert billing_import(path).created is False and loads == []
    other = tmp_path / "other.csv"
    other.write_bytes(path.read_bytes().replace(b"a1,USD", b"a2,USD"))  # same size
    batch = billing_import(other).batch
    assert loads == [1] and batch.sha256 != first.sha256 and len(batch.sha256) == 64
    assert CostRecord.objects.count() == 60
