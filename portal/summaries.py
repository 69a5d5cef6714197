"""PDF credential summaries (WeasyPrint): one person, a bulk ZIP, a CSV index, the audit log.

A summary is PDF/A-3b, tagged, A4 or US Letter, with the signed Open Badges 3.0 credential
attached as `credential.json` (so `verify_credential` can check the PDF itself offline).
Fonts come from the `font-source-sans-pro` package (never from the system), and one
FontConfiguration with the parsed stylesheets is shared by every render in the process.
"""

from __future__ import annotations

import atexit
import csv
import functools
import io
import os
import re
import threading
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import segno
from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from metrics.ledger.csv_safety import csv_safe
from portal import conf
from portal.credentials import credential_json
from portal.hr import PersonEvidence, evaluations_visible_to, person_evidence
from portal.models import (
    Candidacy,
    Credential,
    Evaluation,
    Profile,
    SummaryBatch,
    SummaryDownload,
)

PAPERS = ("a4", "letter")
# Regions whose default paper is US Letter (the rest of the world uses A4).
LETTER_REGIONS = frozenset({"US", "CA", "MX", "PH", "CL", "CO", "VE", "CR", "GT", "PR", "DO", "SV"})
ZIP_LIFETIME = timedelta(hours=24)
CSV_COLUMNS = [
    "name",
    "email",
    "team_or_status",
    "credential_id",
    "credential_status",
    "issued",
    "expires",
    "exam_score",
    "modules_completed",
    "evaluations",
    "file",
]


# --- Paper size --------------------------------------------------------------------------------


def paper_for_locale(locale: str) -> str:
    """'letter' for en-US, es-MX, fr-CA ..., else 'a4'. Accepts an Accept-Language header."""
    first = (locale or "").split(",")[0].split(";")[0].strip().replace("_", "-")
    parts = first.split("-")
    region = parts[1].upper() if len(parts) > 1 else ""
    return "letter" if region in LETTER_REGIONS else "a4"


def paper_for(user: Any, accept_language: str = "") -> str:
    """The person's chosen paper size, else the one of their browser's language, else the
    site's LANGUAGE_CODE."""
    if getattr(user, "is_authenticated", False):
        chosen = Profile.objects.filter(user_id=user.pk).values_list("paper_size", flat=True)
        if chosen and chosen[0] in PAPERS:
            return chosen[0]
    return paper_for_locale(accept_language or settings.LANGUAGE_CODE)


# --- Rendering resources (shared per process) ----------------------------------------------


def font_dir() -> Path:
    import font_source_sans_pro

    return Path(font_source_sans_pro.font_directory)


_render_lock = threading.Lock()
_resources: dict[str, Any] = {}
# Drop the FontConfiguration before interpreter teardown (its __del__ needs live modules).
atexit.register(_resources.clear)
STYLESHEET = Path(__file__).resolve().parent / "static" / "portal" / "summary.css"


def _url_fetcher() -> Any:
    """Only inline data and the packaged fonts: a summary never reaches the network."""
    from weasyprint.urls import URLFetcher

    class LocalOnly(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            local = url.startswith("file://") and Path(
                url[len("file://") :]
            ).resolve().is_relative_to(font_dir())
            if not (url.startswith("data:") or local):
                raise ValueError(f"summary PDFs load no external resource: {url[:80]}")
            return super().fetch(url, headers)

    return LocalOnly(allowed_protocols=("data", "file"))


def _font_css() -> str:
    faces = []
    for weight, style, name in (
        (400, "normal", "SourceSansPro-Regular.ttf"),
        (600, "normal", "SourceSansPro-Semibold.ttf"),
        (700, "normal", "SourceSansPro-Bold.ttf"),
        (400, "italic", "SourceSansPro-It.ttf"),
    ):
        path = font_dir() / name
        faces.append(
            "@font-face { font-family: 'Summary Sans'; "
            f"src: url('{path.as_uri()}'); font-weight: {weight}; font-style: {style}; }}"
        )
    return "\n".join(faces)


def resources() -> dict[str, Any]:
    """The FontConfiguration and the parsed stylesheets (base + one per paper size), built
    once per process and reused by every render."""
    with _render_lock:
        if not _resources:
            from weasyprint import CSS
            from weasyprint.text.fonts import FontConfiguration

            fonts = FontConfiguration()
            fetcher = _url_fetcher()
            base = CSS(
                string=_font_css() + "\n" + STYLESHEET.read_text(encoding="utf-8"),
                font_config=fonts,
                url_fetcher=fetcher,
            )
            _resources.update(
                fonts=fonts,
                fetcher=fetcher,
                base=base,
                a4=CSS(string="@page { size: A4; }", font_config=fonts),
                letter=CSS(string="@page { size: letter; }", font_config=fonts),
            )
        return _resources


# --- Content -----------------------------------------------------------------------------------


@dataclass
class EvaluationView:
    rubric: str
    version: int
    evaluator: str
    updated_at: datetime
    recommendation: str
    summary: str
    rows: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Summary:
    person: User
    name: str
    email: str
    affiliation: str  # team names, or "Candidate for <role>", or "-"
    candidate: bool
    evidence: PersonEvidence
    credential: Credential | None
    status: str  # valid, expired, revoked, none
    status_label: str
    verification_url: str
    evaluations: list[EvaluationView]
    generated_at: datetime

    @property
    def filename(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-") or "person"
        return f"summary-{slug}-{self.person.pk}.pdf"


def _evaluation_view(evaluation: Evaluation) -> EvaluationView:
    version = evaluation.rubric_version
    titles = {c["slug"]: c["title"] for c in version.competencies}
    rows = []
    for row in evaluation.levels.all():
        rows.append(
            {
                "competency": titles.get(row.competency, row.competency),
                "level": version.level_title(row.level) if row.level else "Not rated",
                "proposed": version.level_title(row.proposed_level) if row.proposed_level else "-",
                "note": row.note,
                "interview_notes": row.interview_notes,
            }
        )
    evaluator = evaluation.evaluator
    return EvaluationView(
        rubric=version.rubric.title,
        version=version.version,
        evaluator=(evaluator.get_full_name() or evaluator.email) if evaluator else "-",
        updated_at=evaluation.updated_at,
        recommendation=evaluation.get_recommendation_display(),
        summary=evaluation.summary,
        rows=rows,
    )


def summary_build(*, person: User, evaluations: Iterable[Evaluation]) -> Summary:
    """Everything one summary shows. `evaluations` are those the viewer may see (with notes):
    the caller decides (see `visible_evaluations`)."""
    evidence = person_evidence(person)
    credential = evidence.credential
    candidacy = Candidacy.objects.filter(user=person).select_related("rubric").first()
    if candidacy is not None:
        affiliation = f"Candidate for {candidacy.rubric.title}"
    else:
        teams = list(
            person.team_memberships.select_related("team").values_list("team__name", flat=True)
        )
        affiliation = ", ".join(sorted(teams)) or "No team"
    if credential is None:
        status, label, url = "none", "No credential", ""
    else:
        state = credential.state()
        status, label = state.value, str(state.label)
        url = conf.site_url() + reverse(
            "portal:credential_verify", kwargs={"credential_id": credential.pk}
        )
    return Summary(
        person=person,
        name=person.get_full_name() or person.email,
        email=person.email,
        affiliation=affiliation,
        candidate=candidacy is not None,
        evidence=evidence,
        credential=credential,
        status=status,
        status_label=label,
        verification_url=url,
        evaluations=[_evaluation_view(e) for e in evaluations],
        generated_at=timezone.now(),
    )


def visible_evaluations(viewer: Any, person: User) -> list[Evaluation]:
    """The latest evaluation per rubric of `person` that `viewer` may read; viewer None means
    the operator's command line, which sees what HR sees."""
    qs = Evaluation.objects.all() if viewer is None else evaluations_visible_to(viewer)
    qs = (
        qs.filter(subject=person)
        .select_related("rubric_version__rubric", "evaluator")
        .prefetch_related("levels")
        .order_by("-updated_at")
    )
    latest: dict[int, Evaluation] = {}
    for evaluation in qs:
        latest.setdefault(evaluation.rubric_version.rubric_id, evaluation)
    return list(latest.values())


@functools.lru_cache(maxsize=1024)
def qr_data_uri(url: str) -> str:
    """The QR code of `url` as an SVG data URI (a pure function of the URL: memoized)."""
    return str(segno.make(url, error="m").svg_data_uri(scale=4, border=4, dark="#000"))


def summary_html(summary: Summary) -> str:
    return render_to_string(
        "portal/summary/summary.html",
        {
            "s": summary,
            "qr": qr_data_uri(summary.verification_url) if summary.verification_url else "",
            "issuer_name": conf.issuer_name(),
        },
    )


def render_pdf(html: str, *, paper: str, attachment: bytes | None, title: str) -> bytes:
    """HTML to a tagged PDF/A-3b with `credential.json` attached when given."""
    from weasyprint import HTML, Attachment

    res = resources()
    attachments = []
    if attachment is not None:
        attachments.append(
            Attachment(
                string=attachment,
                name="credential.json",
                description="Signed Open Badges 3.0 credential (verify with verify_credential)",
                relationship="Data",
            )
        )
    document = HTML(string=html, base_url=str(font_dir()), url_fetcher=res["fetcher"])
    pdf = document.write_pdf(
        stylesheets=[res["base"], res["letter" if paper == "letter" else "a4"]],
        font_config=res["fonts"],
        pdf_variant="pdf/a-3b",
        pdf_tags=True,
        attachments=attachments,
    )
    assert pdf is not None
    return bytes(pdf)


def summary_pdf(summary: Summary, *, paper: str = "a4") -> bytes:
    attachment = (
        credential_json(summary.credential).encode()
        if summary.credential is not None and summary.credential.document
        else None
    )
    return render_pdf(summary_html(summary), paper=paper, attachment=attachment, title=summary.name)


def csv_row(summary: Summary, filename: str) -> dict[str, str]:
    exam = summary.evidence.exam
    credential = summary.credential
    return {
        "name": summary.name,
        "email": summary.email,
        "team_or_status": summary.affiliation,
        "credential_id": str(credential.pk) if credential else "",
        "credential_status": summary.status,
        "issued": f"{credential.issued_at:%Y-%m-%d}" if credential else "",
        "expires": f"{credential.expires_at:%Y-%m-%d}" if credential else "",
        "exam_score": f"{exam.score}/{exam.question_count}"
        if exam and exam.score is not None
        else "",
        "modules_completed": str(len(summary.evidence.modules_completed)),
        "evaluations": "; ".join(
            f"{e.rubric} v{e.version}: {e.recommendation}" for e in summary.evaluations
        ),
        "file": filename,
    }


def csv_text(rows: Sequence[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_safe(v) for k, v in row.items()})
    return out.getvalue()


# --- Audit log ---------------------------------------------------------------------------------


def summary_log(
    *,
    actor: User | None,
    subject: User,
    format: str,
    channel: str,
    actor_label: str = "",
    batch: SummaryBatch | None = None,
) -> None:
    """Record one download. Within a ZIP batch, a person is logged once however often the
    task is retried (a unique constraint, not process memory)."""
    label = actor_label or (actor.email if actor is not None else "unknown")
    try:
        with transaction.atomic():
            SummaryDownload.objects.create(
                actor=actor,
                actor_label=label,
                subject=subject,
                subject_label=subject.get_full_name() or subject.email,
                format=format,
                channel=channel,
                batch=batch,
            )
    except IntegrityError:
        if batch is None:
            raise


# --- One person, many people -------------------------------------------------------------------


def summary_for_download(*, viewer: User, person: User, paper: str) -> tuple[str, bytes]:
    """One person's PDF as the portal serves it (the caller has checked `viewer` may)."""
    summary = summary_build(person=person, evaluations=visible_evaluations(viewer, person))
    pdf = summary_pdf(summary, paper=paper)
    summary_log(
        actor=viewer,
        subject=person,
        format=SummaryDownload.Format.PDF,
        channel=SummaryDownload.Channel.WEB,
    )
    return summary.filename, pdf


def summary_people(
    *, emails: Sequence[str] = (), team: str | None = None, everyone: bool = False
) -> list[User]:
    """People for the command: given e-mails, or every certified or evaluated member of a
    team, or every certified or evaluated person. Unknown e-mails or team raise ValueError."""
    from django.contrib.auth import get_user_model

    from metrics.models import Team

    users = get_user_model()._default_manager.filter(is_active=True)
    if emails:
        found = {u.email.lower(): u for u in users.filter(email__in=[e.lower() for e in emails])}
        missing = [e for e in emails if e.lower() not in found]
        if missing:
            raise ValueError(f"no person with e-mail {', '.join(missing)}")
        return [found[e.lower()] for e in emails]
    credentialed = users.filter(credentials__isnull=False) | users.filter(evaluations__isnull=False)
    if team is not None:
        if not Team.objects.filter(slug=team).exists():
            raise ValueError(f"no team with slug {team!r}")
        credentialed = credentialed.filter(team_memberships__team__slug=team)
    elif not everyone:
        raise ValueError("give --email, --team or --all")
    return list(credentialed.distinct().order_by("last_name", "first_name", "email"))


def summaries_write(
    *,
    people: Sequence[User],
    out: Path,
    paper: str,
    with_csv: bool,
    actor_label: str,
) -> list[Path]:
    """Write one PDF per person (and index.csv) into `out`, atomically per file; log each."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    rows = []
    for person in people:
        summary = summary_build(person=person, evaluations=visible_evaluations(None, person))
        target = out / summary.filename
        _atomic_write(target, summary_pdf(summary, paper=paper))
        written.append(target)
        rows.append(csv_row(summary, summary.filename))
        summary_log(
            actor=None,
            actor_label=actor_label,
            subject=person,
            format=SummaryDownload.Format.PDF,
            channel=SummaryDownload.Channel.COMMAND,
        )
    if with_csv:
        target = out / "index.csv"
        _atomic_write(target, csv_text(rows).encode())
        written.append(target)
        for person in people:
            summary_log(
                actor=None,
                actor_label=actor_label,
                subject=person,
                format=SummaryDownload.Format.CSV,
                channel=SummaryDownload.Channel.COMMAND,
            )
    return written


def _atomic_write(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


# --- Bulk ZIP ----------------------------------------------------------------------------------


def batch_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "summaries"


def batch_create(*, by: User, people: Sequence[User], paper: str, label: str = "") -> SummaryBatch:
    """Queue a ZIP of the given people's summaries (the task starts after commit)."""
    from portal.tasks import build_summary_zip

    ids = sorted({p.pk for p in people})
    if not ids:
        raise ValueError("select at least one person")
    batches_purge_expired()
    with transaction.atomic():
        batch = SummaryBatch.objects.create(
            requested_by=by,
            subject_ids=ids,
            total=len(ids),
            paper=paper if paper in PAPERS else "a4",
            label=label[:200],
            expires_at=timezone.now() + ZIP_LIFETIME,
        )
        transaction.on_commit(lambda: build_summary_zip.delay(str(batch.pk)))
    return batch


def batch_build(batch_id: str) -> SummaryBatch:
    """Build the ZIP of a batch: one PDF per person plus index.csv.

    Safe to re-run: a finished batch is left alone; a batch whose earlier run died is rebuilt
    from scratch into a fresh temporary file and renamed into place, so the ZIP never holds a
    person twice, and the audit log holds each person once per batch (unique constraint).
    Progress (`done`/`total`) is saved as each PDF is written, for the page to show.
    """
    from django.contrib.auth import get_user_model

    with transaction.atomic():
        batch = SummaryBatch.objects.select_for_update().get(pk=batch_id)
        if batch.status == SummaryBatch.Status.DONE:
            return batch
        batch.status = SummaryBatch.Status.RUNNING
        batch.attempts += 1
        batch.done = 0
        batch.save(update_fields=["status", "attempts", "done"])
    requester = batch.requested_by
    users = get_user_model()._default_manager.in_bulk(batch.subject_ids)
    # Only people the requester may still see go into the ZIP.
    from portal.hr import summary_subjects_visible_to

    allowed = set(
        summary_subjects_visible_to(requester)
        .filter(pk__in=batch.subject_ids)
        .values_list("pk", flat=True)
    )
    directory = batch_dir()
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{batch.pk}.zip"
    tmp = directory / f".{batch.pk}.{os.getpid()}.{batch.attempts}.tmp"
    rows = []
    done = 0
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for user_id in batch.subject_ids:
                person = users.get(user_id)
                if person is None or user_id not in allowed:
                    continue
                summary = summary_build(
                    person=person, evaluations=visible_evaluations(requester, person)
                )
                archive.writestr(summary.filename, summary_pdf(summary, paper=batch.paper))
                rows.append(csv_row(summary, summary.filename))
                summary_log(
                    actor=requester,
                    subject=person,
                    format=SummaryDownload.Format.ZIP,
                    channel=SummaryDownload.Channel.ZIP,
                    batch=batch,
                )
                done += 1
                SummaryBatch.objects.filter(pk=batch.pk).update(done=done)
            archive.writestr("index.csv", csv_text(rows))
        os.replace(tmp, final)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        SummaryBatch.objects.filter(pk=batch.pk).update(
            status=SummaryBatch.Status.FAILED, error=str(exc)[:500]
        )
        raise
    SummaryBatch.objects.filter(pk=batch.pk).update(
        status=SummaryBatch.Status.DONE,
        done=done,
        total=done,
        file=str(final.relative_to(Path(settings.MEDIA_ROOT))),
        finished_at=timezone.now(),
    )
    batch.refresh_from_db()
    return batch


def batch_file(batch: SummaryBatch) -> Path | None:
    if batch.status != SummaryBatch.Status.DONE or not batch.file or batch.is_expired():
        return None
    path = Path(settings.MEDIA_ROOT) / batch.file
    return path if path.is_file() else None


def batches_purge_expired() -> int:
    """Delete ZIP files whose link has expired (the rows stay for the audit trail)."""
    count = 0
    for batch in SummaryBatch.objects.filter(expires_at__lte=timezone.now()).exclude(file=""):
        (Path(settings.MEDIA_ROOT) / batch.file).unlink(missing_ok=True)
        SummaryBatch.objects.filter(pk=batch.pk).update(file="")
        count += 1
    return count


def summary_json_of_pdf(data: bytes) -> bytes:
    """The `credential.json` attached to a summary PDF (raises ValueError when none)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    files = reader.attachments
    if "credential.json" not in files:
        raise ValueError("the PDF has no attached credential.json")
    return bytes(files["credential.json"][0])
