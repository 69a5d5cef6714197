"""PDF credential summaries: time per one-person summary against a minimal WeasyPrint page.

    /work/venv/bin/python bench/pdf.py                 # 40 summaries, a ZIP of 200 people
    /work/venv/bin/python bench/pdf.py --runs 20 --zip-people 50

Uses a throwaway SQLite database in a temporary folder (migrated, the real curriculum and
rubrics synced). One learner goes through the real journey (every module, the exam, a
credential) and gets an evaluation with notes; `--zip-people` learners are then created as
copies of their record (progress, attempt, a credential each, signed).

Measured in this process, after one warm-up render of each:
- baseline: a minimal one-page WeasyPrint document (`HTML(string="<p>Hello</p>").write_pdf()`);
- summary: one person's complete summary as the portal serves it (data queries, HTML, QR code,
  PDF/A-3b, tagged, credential.json attached, the shared FontConfiguration and stylesheets);
- the ZIP of `--zip-people` summaries built by `batch_build`, the function the Celery task
  runs (one worker = this one process, without the queue).

Prints median and p95 per summary, the ratio of the medians to the baseline, and the ZIP's
total. Targets (issue 11): median under 150 ms and under 3x the baseline. The machines here
are shared and noisy: compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--zip-people", type=int, default=200)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-pdf-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import logging

    import django

    django.setup()
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    from django.conf import settings

    settings.MEDIA_ROOT = workdir / "media"
    settings.OB_SIGNING_KEY = ""
    settings.VAR_DIR = workdir
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from curriculum.models import Module
    from curriculum.services import curriculum_sync
    from portal.credentials import credential_sign
    from portal.demo_people import _complete_module, _pass_exam, seed_people
    from portal.exam import current_exam
    from portal.hr import LevelInput, evaluation_start, evaluation_update
    from portal.models import Credential, ExamAttempt, ModuleProgress, Rubric, SummaryBatch
    from portal.rubrics import rubric_sync
    from portal.summaries import (
        batch_build,
        render_pdf,
        resources,
        summary_build,
        summary_pdf,
        visible_evaluations,
    )

    started = time.perf_counter()
    curriculum_sync()
    rubric_sync()
    seed_people()
    from django.contrib.auth.models import User

    hr = User.objects.get(username="hr@example.com")
    carol = User.objects.get(username="carol@example.com")
    for module in Module.objects.catalogue():
        _complete_module(carol, module)
    exam = current_exam()
    assert exam is not None
    _pass_exam(carol, exam)
    rubric = Rubric.objects.get(slug="finops-ai-practitioner")
    evaluation = evaluation_start(subject=carol, rubric=rubric, by=hr)
    evaluation_update(
        evaluation=evaluation,
        levels={
            row.competency: LevelInput(
                row.proposed_level, "", "Interview notes for this competency, two sentences."
            )
            for row in evaluation.levels.all()
        },
        recommendation="yes",
        summary="A summary paragraph of the evaluation.",
        shared=True,
        by=hr,
    )
    # Copies of carol's record for the ZIP.
    attempt = ExamAttempt.objects.get(user=carol)
    progress = list(ModuleProgress.objects.filter(user=carol))
    credential = Credential.objects.get(user=carol)
    people = [carol]
    for n in range(args.zip_people - 1):
        user = User.objects.create_user(
            username=f"p{n}@example.com",
            email=f"p{n}@example.com",
            first_name="P",
            last_name=str(n),
        )
        for p in progress:
            ModuleProgress.objects.create(
                user=user,
                module_version=p.module_version,
                module=p.module,
                sections_read=p.sections_read,
                quiz_passed_at=p.quiz_passed_at,
                completed_at=p.completed_at,
            )
        copy = ExamAttempt.objects.create(
            user=user,
            exam=attempt.exam,
            exam_version=attempt.exam_version,
            status=attempt.status,
            started_at=attempt.started_at,
            deadline=attempt.deadline,
            submitted_at=attempt.submitted_at,
            question_count=attempt.question_count,
            pass_mark=attempt.pass_mark,
            score=attempt.score,
            domain_scores=attempt.domain_scores,
        )
        row = Credential.objects.create(
            user=user,
            exam=credential.exam,
            attempt=copy,
            holder_name=f"P {n}",
            issued_at=credential.issued_at,
            expires_at=credential.expires_at,
        )
        credential_sign(credential=row)
        people.append(user)
    print(f"setup: {time.perf_counter() - started:.1f} s ({args.zip_people} people)")

    from django.utils import timezone
    from pypdf import PdfReader
    from weasyprint import HTML

    def baseline() -> float:
        t = time.perf_counter()
        HTML(string="<p>Hello</p>").write_pdf()
        return time.perf_counter() - t

    def one_summary() -> float:
        t = time.perf_counter()
        s = summary_build(person=carol, evaluations=visible_evaluations(hr, carol))
        summary_pdf(s, paper="a4")
        return time.perf_counter() - t

    def render_only(html: str, attachment: bytes) -> float:
        t = time.perf_counter()
        render_pdf(html, paper="a4", attachment=attachment, title="x")
        return time.perf_counter() - t

    resources()
    baseline()
    one_summary()  # warm-up: fonts, stylesheets, templates
    from portal.credentials import credential_json
    from portal.summaries import summary_html

    summary = summary_build(person=carol, evaluations=visible_evaluations(hr, carol))
    html, attachment = summary_html(summary), credential_json(credential).encode()
    base_times, summary_times, render_times = [], [], []
    for _ in range(args.runs):  # interleaved: the same load for each
        base_times.append(baseline())
        summary_times.append(one_summary())
        render_times.append(render_only(html, attachment))
    pages = len(PdfReader(io.BytesIO(summary_pdf(summary))).pages)

    def line(name: str, values: list[float]) -> None:
        median = statistics.median(values)
        ratio = median / statistics.median(base_times)
        print(
            f"{name:<34} median {median * 1000:7.1f} ms  p95 {percentile(values, 0.95) * 1000:7.1f} ms"
            f"  {ratio:5.2f}x baseline"
        )

    print(f"runs: {args.runs}; the summary has {pages} page(s); load average {os.getloadavg()}")
    line("baseline: minimal one-page PDF", base_times)
    line("one-person summary (portal)", summary_times)
    line("  of which rendering (same HTML)", render_times)

    batch = SummaryBatch.objects.create(
        requested_by=hr,
        subject_ids=[p.pk for p in people],
        total=len(people),
        expires_at=timezone.now() + timedelta(hours=24),
    )
    t = time.perf_counter()
    done = batch_build(str(batch.pk))
    total = time.perf_counter() - t
    size = (Path(settings.MEDIA_ROOT) / done.file).stat().st_size
    print(
        f"ZIP of {done.done} summaries (batch_build, one process): {total:.1f} s, "
        f"{total / done.done * 1000:.0f} ms per person, {size / 1e6:.1f} MB"
    )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
