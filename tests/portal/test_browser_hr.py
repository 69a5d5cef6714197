"""The HR journey in a real browser (Debian's chromium through Playwright).

HR signs in, opens a role, invites a candidate, evaluates the candidate against the rubric
(confirming one proposed level and overriding another with a note), compares two candidates,
downloads one credential summary (opened with pypdf, its attached credential verified) and a
bulk ZIP built by the Celery task (eager in tests) with progress shown on the page.
Screenshots go to artifacts/screenshots/ (gitignored).
"""

import io
import json
import shutil
import subprocess
import zipfile

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from portal.credentials import credential_verify
from portal.hr import candidate_invite
from portal.models import Candidacy, Evaluation, SummaryDownload
from portal.summaries import summary_json_of_pdf
from tests.portal.conftest import SHOTS, complete_all, new_page, take_exam

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(browser):
    return new_page(browser, locale="en-GB")


def shot(page, name):
    page.screenshot(path=str(SHOTS / f"hr-{name}.png"), full_page=True)


def test_hr_journey_in_chromium(page, live_server, people, rubric, curriculum, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    base = live_server.url
    hr = people["hr"]
    # A first candidate who already took the modules and passed the exam.
    first = candidate_invite(
        email="ada@example.com", first_name="Ada", last_name="First", rubric=rubric, invited_by=hr
    )
    complete_all(first)
    take_exam(first, curriculum, correct=9)

    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "hr@example.com")
    page.fill("#id_password", "pw-hr@example.com")
    page.click("button:has-text('Sign in')")
    page.click("nav >> a:has-text('HR')")
    page.wait_for_selector("h1:has-text('Hiring and evaluations')")
    shot(page, "01-home")

    # The role and its rubric (competencies x levels).
    page.click("a:has-text('Test role')")
    page.wait_for_selector("table.rubric")
    page.wait_for_load_state()  # its rows are counted below
    assert page.locator("table.rubric tbody tr").count() == 2
    assert "visibility at expert level." in page.inner_text("table.rubric")
    shot(page, "02-rubric")

    # Invite a candidate through the invitation flow.
    page.click("a:has-text('Invite a candidate')")
    page.fill("#id_email", "grace@example.com")
    page.fill("#id_first_name", "Grace")
    page.fill("#id_last_name", "Second")
    shot(page, "03-invite")
    page.click("button:has-text('Send the invitation')")
    page.wait_for_selector("text=Invitation sent to grace@example.com")
    grace = Candidacy.objects.get(user__email="grace@example.com").user

    # Evaluate her: confirm the (empty) proposal for one competency, set the other with notes.
    page.click("button:has-text('Evaluate Grace Second')")
    page.wait_for_selector("h1:has-text('Grace Second')")
    page.wait_for_load_state()
    assert "no evidence" in page.inner_text("main")
    page.select_option("#level-visibility", "practitioner")
    page.fill("#note-visibility", "Explained allocation by API key and namespace")
    page.fill("#interview-visibility", "Good questions about shared GPU nodes")
    page.select_option("#recommendation", "yes")
    page.fill("#summary", "Worth a second interview")
    shot(page, "04-evaluate")
    page.click("button:has-text('Save the evaluation')")
    page.wait_for_selector("text=Evaluation saved.")
    evaluation = Evaluation.objects.get(subject=grace)
    assert evaluation.levels.get(competency="visibility").level == "practitioner"

    # Evaluate the first candidate: her exam evidence proposes levels; override one with a note.
    page.goto(f"{base}/hr/roles/{rubric.slug}/")
    page.click("button:has-text('Evaluate Ada First')")
    page.wait_for_selector("h1:has-text('Ada First')")
    page.wait_for_load_state()
    assert "Exam domain 'Domain A'" in page.inner_text("main")
    page.select_option("#level-economics", "expert")
    page.click("button:has-text('Save the evaluation')")
    page.wait_for_selector("text=say why you override")
    page.fill("#note-economics", "Ran unit economics for a 40-team platform")
    page.select_option("#recommendation", "strong_yes")
    page.click("button:has-text('Save the evaluation')")
    page.wait_for_selector("text=Evaluation saved.")

    # Compare the two candidates side by side.
    page.goto(f"{base}/hr/roles/{rubric.slug}/compare/")
    table = page.inner_text("table.compare")
    assert "Ada First" in table and "Grace Second" in table
    assert "Expert" in table and "Practitioner" in table
    assert "Strong yes" in table and "Valid" in table and "No credential" in table
    shot(page, "05-compare")

    # Download one summary.
    page.goto(f"{base}/hr/roles/{rubric.slug}/")
    with page.expect_download() as info:
        page.locator("tr:has-text('Ada First') >> a:has-text('PDF')").click()
    saved = SHOTS / "hr-summary.pdf"  # kept as a test artifact, with a picture of page 1
    info.value.save_as(saved)
    if shutil.which("pdftoppm"):
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                "70",
                "-f",
                "1",
                "-l",
                "1",
                "-png",
                "-singlefile",
                str(saved),
                str(SHOTS / "hr-summary-page1"),
            ],
            check=True,
        )
    data = saved.read_bytes()
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "Ada First" in text and "Candidate for Test role" in text
    assert "Ran unit economics for a 40-team platform" in text
    assert tuple(round(float(x)) for x in reader.pages[0].mediabox[2:]) == (595, 842)  # en-GB
    assert credential_verify(document=json.loads(summary_json_of_pdf(data))).valid

    # A bulk ZIP of the role's candidates, with progress on the page.
    page.click("a:has-text('ZIP of the candidates')")
    page.wait_for_selector("button:has-text('Build the ZIP')")  # the click returns before the page
    expect(page.locator("input[name=people]:checked")).to_have_count(2)
    shot(page, "06-bulk")
    page.click("button:has-text('Build the ZIP')")
    page.wait_for_selector("#zip-download")
    assert "2 of 2 summaries" in page.inner_text("#progress-text")
    shot(page, "07-zip-ready")
    with page.expect_download() as info:
        page.click("#zip-download")
    zipped = tmp_path / "bulk.zip"
    info.value.save_as(zipped)
    with zipfile.ZipFile(zipped) as archive:
        assert sorted(n.split("-")[1] for n in archive.namelist() if n.endswith(".pdf")) == [
            "ada",
            "grace",
        ]
        assert "index.csv" in archive.namelist()

    # The audit log shows each download.
    page.goto(f"{base}/hr/log/")
    log = page.inner_text("main")
    assert log.count("hr@example.com") == 3  # one PDF, two people in the ZIP
    assert SummaryDownload.objects.count() == 3
    shot(page, "08-log")
