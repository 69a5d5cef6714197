"""PDF credential summaries: opened with pypdf and pdftotext, PDF/A-3b in the XMP, the attached
credential verified (and rejected after one changed byte), the QR code decoded, permissions,
bulk ZIP (retried without duplicates, 24-hour link), the command, the audit log."""

import io
import json
import os
import shutil
import subprocess
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from portal.credentials import credential_revoke, credential_verify
from portal.hr import LevelInput, candidate_invite, evaluation_start, evaluation_update
from portal.models import Credential, SummaryBatch, SummaryDownload
from portal.summaries import (
    batch_build,
    batch_create,
    paper_for_locale,
    summary_build,
    summary_json_of_pdf,
    summary_pdf,
    visible_evaluations,
)

A4 = (595, 842)
LETTER = (612, 792)


def pdf_text(data: bytes) -> list[str]:
    """Each page's text, whitespace normalized (table cells wrap their lines)."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages]


def need(tool: str) -> None:
    """poppler-utils: installed by `make test`; a failure in CI, a skip elsewhere."""
    if not shutil.which(tool):
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is missing (make test installs poppler-utils)")
        pytest.skip(f"{tool} (poppler-utils) not installed")


def pdftotext(data: bytes, tmp_path: Path) -> str:
    need("pdftotext")
    path = tmp_path / "s.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def decode_qr(data: bytes, tmp_path: Path) -> list[str]:
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    need("pdftoppm")
    (tmp_path / "q.pdf").write_bytes(data)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "150",
            "-f",
            "1",
            "-l",
            "1",
            "-png",
            str(tmp_path / "q.pdf"),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    image = Image.open(next(tmp_path.glob("page*.png")))
    return [r.text for r in zxingcpp.read_barcodes(image)]


@pytest.fixture
def evaluated(certified, rubric, people):
    evaluation = evaluation_start(subject=people["engineer"], rubric=rubric, by=people["hr"])
    evaluation_update(
        evaluation=evaluation,
        levels={
            "visibility": LevelInput(
                "expert", note="SECRET-NOTE allocation model", interview_notes="Great answers"
            ),
            "economics": LevelInput("advanced"),
        },
        recommendation="strong_yes",
        summary="Strong hire",
        shared=False,
        by=people["hr"],
    )
    return evaluation


def test_the_summary_of_a_certified_person(evaluated, certified, people, tmp_path):
    person = people["engineer"]
    summary = summary_build(person=person, evaluations=visible_evaluations(people["hr"], person))
    data = summary_pdf(summary, paper="a4")
    reader = PdfReader(io.BytesIO(data))
    assert tuple(round(float(x)) for x in reader.pages[0].mediabox[2:]) == A4
    text = "\n".join(pdf_text(data))
    for expected in (
        "alice@example.com",
        "Ml-Platform",  # the team's name
        str(certified.pk),
        f"{certified.issued_at:%Y-%m-%d}",
        f"{certified.expires_at:%Y-%m-%d}",
        "Valid",
        f"http://testserver/credentials/{certified.pk}/",
        "Domain A",
        "Domain B",
        "Module Alpha",
        "Module Beta",
        "Test role",
        "SECRET-NOTE allocation model",
        "Strong yes",
    ):
        assert expected in text, expected
    assert "Status: " not in text  # a valid credential has no warning banner
    layout = pdftotext(data, tmp_path)
    assert "Credential summary" in layout and str(certified.pk) in layout
    # PDF/A-3b declared in the XMP metadata; tagged for accessibility.
    rdf = reader.xmp_metadata.rdf_root.toxml()
    assert 'pdfaid:part="3"' in rdf and 'pdfaid:conformance="B"' in rdf
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]
    assert root["/Lang"] == "en"
    # Fonts are embedded, and they are the packaged ones.
    fonts = {
        str(f.get_object()["/BaseFont"])
        for page in reader.pages
        for f in page["/Resources"]["/Font"].values()
    }
    assert fonts and all("Summary-Sans" in f for f in fonts)
    # The attached credential is the signed one and verifies; one changed byte breaks it.
    attached = summary_json_of_pdf(data)
    assert json.loads(attached) == certified.document
    assert credential_verify(document=json.loads(attached)).valid
    index = attached.index(b'"name": "') + len(b'"name": "')
    tampered = attached[:index] + bytes([attached[index] ^ 0x01]) + attached[index + 1 :]
    report = credential_verify(document=json.loads(tampered))
    assert not report.valid and "proof" in report.codes
    # The QR code carries the verification URL.
    assert decode_qr(data, tmp_path) == [f"http://testserver/credentials/{certified.pk}/"]


def test_verify_credential_accepts_the_pdf(certified, people, tmp_path, capsys):
    person = people["engineer"]
    data = summary_pdf(summary_build(person=person, evaluations=[]), paper="letter")
    assert (
        tuple(round(float(x)) for x in PdfReader(io.BytesIO(data)).pages[0].mediabox[2:]) == LETTER
    )
    path = tmp_path / "summary.pdf"
    path.write_bytes(data)
    call_command("verify_credential", str(path))
    assert f"VALID {path}" in capsys.readouterr().out
    # Extracted and verified as JSON too (the offline route of the issue).
    extracted = tmp_path / "credential.json"
    extracted.write_bytes(summary_json_of_pdf(data))
    call_command("verify_credential", str(extracted))
    raw = bytearray(extracted.read_bytes())
    position = raw.index(b"validUntil") + 14
    raw[position] = ord("1") if raw[position] != ord("1") else ord("2")
    extracted.write_bytes(bytes(raw))
    with pytest.raises(CommandError, match="INVALID"):
        call_command("verify_credential", str(extracted))
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(data[: len(data) // 3])
    with pytest.raises(CommandError, match=r"credential\.json"):
        call_command("verify_credential", str(broken))


def test_a_non_valid_status_is_stated_on_every_page(certified, people, tmp_path):
    certified.expires_at = timezone.now() - timedelta(days=3)
    certified.save()
    person = people["engineer"]
    summary = summary_build(person=person, evaluations=[])
    # Make the document long: repeat the modules table by faking more completions.
    summary.evidence.modules_completed.update(
        {f"m{n}": (f"Extra module {n}", timezone.now()) for n in range(60)}
    )
    data = summary_pdf(summary, paper="a4")
    pages = pdf_text(data)
    assert len(pages) >= 2
    assert all("EXPIRED" in page for page in pages)
    credential_revoke(credential=certified, by=people["hr"], reason="test")
    summary = summary_build(person=person, evaluations=[])
    pages = pdf_text(summary_pdf(summary))
    assert all("REVOKED" in page for page in pages)


def test_a_person_without_a_credential_gets_a_summary_that_says_so(curriculum, people, tmp_path):
    data = summary_pdf(summary_build(person=people["outsider"], evaluations=[]))
    text = "\n".join(pdf_text(data))
    assert "NO CREDENTIAL" in text and "holds no credential" in text
    assert "No exam taken" in text
    assert "credential.json" not in PdfReader(io.BytesIO(data)).attachments


def test_paper_from_preference_else_locale():
    assert paper_for_locale("en-US,en;q=0.9") == "letter"
    assert paper_for_locale("fr-CA") == "letter"
    assert paper_for_locale("de-DE,de;q=0.9") == "a4"
    assert paper_for_locale("en-GB") == "a4"
    assert paper_for_locale("") == "a4"


def test_learners_get_only_their_own_summary_and_shared_notes(evaluated, certified, people, client):
    other = reverse("portal:person_summary", kwargs={"user_id": people["engineer"].pk})
    for who in ("outsider", "teammate"):
        client.force_login(people[who])
        assert client.get(other).status_code == 404
    client.force_login(people["engineer"])
    response = client.get(reverse("portal:my_summary"), HTTP_ACCEPT_LANGUAGE="en-US")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "\n".join(pdf_text(response.content))
    assert "SECRET-NOTE" not in text and "Test role" not in text  # not shared yet
    assert (
        tuple(
            round(float(x)) for x in PdfReader(io.BytesIO(response.content)).pages[0].mediabox[2:]
        )
        == LETTER
    )
    evaluated.shared_with_subject = True
    evaluated.save()
    client.post(reverse("portal:paper_preference"), {"paper_size": "a4"})
    response = client.get(reverse("portal:my_summary"), HTTP_ACCEPT_LANGUAGE="en-US")
    assert "SECRET-NOTE" in "\n".join(pdf_text(response.content))
    assert (
        tuple(
            round(float(x)) for x in PdfReader(io.BytesIO(response.content)).pages[0].mediabox[2:]
        )
        == A4
    )
    # The lead of alice's team sees her summary with the notes; HR too. Both are logged.
    for who in ("lead", "hr"):
        client.force_login(people[who])
        response = client.get(other)
        assert response.status_code == 200
        assert "SECRET-NOTE" in "\n".join(pdf_text(response.content))
    log = list(
        SummaryDownload.objects.order_by("at", "id").values_list(
            "actor_label", "subject_label", "format", "channel"
        )
    )
    assert log == [
        ("alice@example.com", "alice@example.com", "pdf", "web"),
        ("alice@example.com", "alice@example.com", "pdf", "web"),
        ("lead@example.com", "alice@example.com", "pdf", "web"),
        ("hr@example.com", "alice@example.com", "pdf", "web"),
    ]
    # HR reads the log in the portal; nobody else does.
    page = client.get(reverse("portal:hr_log")).content.decode()
    assert page.count("lead@example.com") == 1
    client.force_login(people["lead"])
    assert client.get(reverse("portal:hr_log")).status_code == 403


def test_a_team_lead_gets_no_summary_of_a_candidate(rubric, people, client):
    candidate = candidate_invite(
        email="c@example.com", first_name="C", last_name="D", rubric=rubric, invited_by=people["hr"]
    )
    client.force_login(people["lead"])
    assert (
        client.get(reverse("portal:person_summary", kwargs={"user_id": candidate.pk})).status_code
        == 404
    )
    client.force_login(people["hr"])
    response = client.get(reverse("portal:person_summary", kwargs={"user_id": candidate.pk}))
    assert "Candidate for Test role" in "\n".join(pdf_text(response.content))


def test_bulk_zip_is_built_by_the_task_and_retried_without_duplicates(
    evaluated, certified, people, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path / "media"
    chosen = [people["engineer"], people["outsider"], people["teammate"]]
    with django_capture_on_commit_callbacks(execute=True):  # the task runs eagerly
        batch = batch_create(by=people["hr"], people=chosen, paper="a4")
    batch.refresh_from_db()
    assert batch.status == SummaryBatch.Status.DONE and (batch.done, batch.total) == (3, 3)
    # A second delivery of the same task (a worker died after finishing) changes nothing.
    batch_build(str(batch.pk))
    # A run that died half way is rebuilt whole: simulate with the status put back.
    SummaryBatch.objects.filter(pk=batch.pk).update(status=SummaryBatch.Status.RUNNING, done=1)
    batch = batch_build(str(batch.pk))
    path = Path(settings.MEDIA_ROOT) / batch.file
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert len(names) == len(set(names)) == 4 and "index.csv" in names
        index = archive.read("index.csv").decode().splitlines()
        assert len(index) == 4 and index[0].startswith("name,email,team_or_status,credential_id")
        alice = next(n for n in names if n.endswith(f"-{people['engineer'].pk}.pdf"))
        assert "SECRET-NOTE" in "\n".join(pdf_text(archive.read(alice)))
    assert list(tmp_path.glob("media/summaries/.*")) == []  # no temporary file left
    assert SummaryDownload.objects.filter(batch=batch).count() == 3  # once per person
    # The page shows progress; the link works for the requester, then expires after 24 h.
    from django.test import Client

    client = Client()
    client.force_login(people["hr"])
    status = client.get(
        reverse("portal:hr_bulk_status", kwargs={"batch_id": batch.pk})
    ).content.decode()
    assert "3 of 3 summaries" in status and "Download the ZIP" in status
    download = reverse("portal:hr_bulk_download", kwargs={"batch_id": batch.pk})
    response = client.get(download)
    assert response.status_code == 200 and b"".join(response.streaming_content)[:2] == b"PK"
    client.force_login(people["admin"])
    assert client.get(download).status_code in (403, 404)
    SummaryBatch.objects.filter(pk=batch.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    client.force_login(people["hr"])
    assert client.get(download).status_code == 404


def test_bulk_page_queues_a_zip_of_the_selected_people(
    certified, people, client, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(people["hr"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("portal:hr_bulk"), {"people": [people["engineer"].pk, people["outsider"].pk]}
        )
    assert response.status_code == 302
    batch = SummaryBatch.objects.get()
    assert sorted(batch.subject_ids) == sorted([people["engineer"].pk, people["outsider"].pk])
    assert batch.status == SummaryBatch.Status.DONE
    assert batch.expires_at - batch.created_at <= timedelta(hours=24, seconds=5)


def test_the_command_writes_pdfs_and_the_csv(evaluated, certified, people, tmp_path, capsys):
    out = tmp_path / "out"
    call_command("credential_summary", "--all", "--out", str(out), "--csv")
    pdfs = sorted(out.glob("*.pdf"))
    assert [p.name for p in pdfs] == [f"summary-alice-example-com-{people['engineer'].pk}.pdf"]
    rows = (out / "index.csv").read_text().splitlines()
    assert len(rows) == 2 and str(certified.pk) in rows[1] and ",valid," in rows[1]
    call_command("credential_summary", "--email", "bob@example.com", "--out", str(out))
    assert "NO CREDENTIAL" in "\n".join(
        pdf_text((out / f"summary-bob-example-com-{people['outsider'].pk}.pdf").read_bytes())
    )
    call_command("credential_summary", "--team", "search", "--out", str(tmp_path / "empty"))
    assert list((tmp_path / "empty").glob("*.pdf")) == []
    with pytest.raises(CommandError, match=r"no person with e-mail nobody@example\.com"):
        call_command("credential_summary", "--email", "nobody@example.com", "--out", str(out))
    with pytest.raises(CommandError, match="no team with slug 'nope'"):
        call_command("credential_summary", "--team", "nope", "--out", str(out))
    logged = SummaryDownload.objects.filter(channel="command")
    assert logged.filter(format="pdf").count() == 2 and logged.filter(format="csv").count() == 1
    assert logged.first().actor_label.startswith("manage.py credential_summary (")


def test_csv_cells_cannot_become_formulas(certified, people, tmp_path):
    person = people["engineer"]
    person.first_name = "=HYPERLINK(1)"
    person.save()
    out = tmp_path / "out"
    call_command("credential_summary", "--email", person.email, "--out", str(out), "--csv")
    assert "'=HYPERLINK(1)" in (out / "index.csv").read_text()


def test_expired_zip_files_are_purged(people, settings, tmp_path):
    from portal.summaries import batches_purge_expired

    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "summaries").mkdir()
    old = SummaryBatch.objects.create(
        requested_by=people["hr"],
        subject_ids=[1],
        total=1,
        status="done",
        file="summaries/old.zip",
        expires_at=timezone.now() - timedelta(hours=1),
    )
    (tmp_path / "summaries" / "old.zip").write_bytes(b"PK")
    assert batches_purge_expired() == 1
    assert not (tmp_path / "summaries" / "old.zip").exists()
    old.refresh_from_db()
    assert old.file == ""


def test_credential_document_unchanged_by_summaries(certified):
    before = Credential.objects.get(pk=certified.pk).document
    summary_pdf(summary_build(person=certified.user, evaluations=[]))
    assert Credential.objects.get(pk=certified.pk).document == before


def test_a_zip_task_that_dies_half_way_is_retried_without_duplicates(
    certified, people, settings, tmp_path, monkeypatch
):
    import portal.summaries as summaries

    settings.MEDIA_ROOT = tmp_path / "media"
    batch = SummaryBatch.objects.create(
        requested_by=people["hr"],
        subject_ids=[people["engineer"].pk, people["outsider"].pk, people["teammate"].pk],
        total=3,
        expires_at=timezone.now() + timedelta(hours=24),
    )
    real = summaries.summary_pdf
    calls = {"n": 0}

    def dies_on_the_second(summary, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise MemoryError("worker killed")
        return real(summary, **kwargs)

    monkeypatch.setattr(summaries, "summary_pdf", dies_on_the_second)
    with pytest.raises(MemoryError):
        batch_build(str(batch.pk))
    batch.refresh_from_db()
    assert batch.status == SummaryBatch.Status.FAILED and batch.file == ""
    assert list((tmp_path / "media" / "summaries").iterdir()) == []  # the partial ZIP is gone
    assert SummaryDownload.objects.filter(batch=batch).count() == 1  # the one written
    batch = batch_build(str(batch.pk))  # the retry
    assert batch.status == SummaryBatch.Status.DONE and batch.attempts == 2
    with zipfile.ZipFile(Path(settings.MEDIA_ROOT) / batch.file) as archive:
        names = archive.namelist()
    assert len(names) == len(set(names)) == 4
    assert SummaryDownload.objects.filter(batch=batch).count() == 3  # no duplicate log rows
