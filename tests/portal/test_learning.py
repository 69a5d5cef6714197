"""Learner journey: catalogue, module pages, mark read without JS, quiz feedback, progress."""

import re

import pytest
from django.urls import reverse

from curriculum.models import Module, ModuleVersion
from curriculum.services import curriculum_sync
from portal.learning import learner_dashboard, tracks_overview
from portal.models import ModuleProgress, XapiStatement
from tests.curriculum.conftest import edit
from tests.portal.conftest import complete_module


@pytest.fixture
def learner_client(client, people, curriculum):
    client.force_login(people["engineer"])
    return client


def test_catalogue_groups_modules_by_track(learner_client):
    html = learner_client.get(reverse("portal:catalogue")).content.decode()
    assert html.index("Crawl") < html.index("Module Alpha") < html.index("Walk")
    assert html.index("Walk") < html.index("Module Beta")
    assert "Not started" in html


def test_module_page_has_toc_and_a_mark_read_form_per_section(learner_client):
    version = Module.objects.get(slug="alpha").current()
    html = learner_client.get(reverse("portal:module_detail", args=["alpha"])).content.decode()
    assert 'aria-labelledby="toc-h"' in html
    for entry in version.toc:
        assert f'href="#{entry["id"]}"' in html
    # Sources and Key terms are reference sections: nothing to tick off there.
    assert set(version.section_ids) - set(version.required_section_ids) == {"key-terms", "sources"}
    for section_id in version.required_section_ids:
        assert f'name="section" value="{section_id}"' in html
    assert 'name="section" value="sources"' not in html
    assert 'name="section" value="key-terms"' not in html
    assert html.count('class="mark-read"') == len(version.required_section_ids)
    assert f'read-count">0</span> of {len(version.required_section_ids)} sections read' in html


def test_mark_read_works_without_javascript_and_points_at_the_version(learner_client, people):
    version = Module.objects.get(slug="alpha").current()
    first, second = version.section_ids[:2]
    url = reverse("portal:section_read", args=["alpha"])
    response = learner_client.post(url, {"section": first})
    assert response.status_code == 302
    assert response["Location"].endswith(f"#{second}")  # on to the next unread section
    progress = ModuleProgress.objects.get(user=people["engineer"])
    assert progress.module_version == version
    assert progress.sections_read == [first]
    html = learner_client.get(reverse("portal:module_detail", args=["alpha"])).content.decode()
    assert "You have read" in html
    assert "Continue where you left off" in html
    assert learner_client.post(url, {"section": "no-such-section"}).status_code == 302
    assert ModuleProgress.objects.get(user=people["engineer"]).sections_read == [first]


def test_mark_read_refuses_get(learner_client):
    url = reverse("portal:section_read", args=["alpha"])
    assert learner_client.get(url).status_code == 405


def test_module_completes_with_all_sections_and_the_quiz(people, curriculum):
    engineer = people["engineer"]
    complete_module(engineer, "alpha", quiz=False)
    progress = ModuleProgress.objects.get(user=engineer)
    assert progress.completed_at is None and progress.percent() < 100
    complete_module(engineer, "alpha")
    progress.refresh_from_db()
    assert progress.completed_at is not None and progress.quiz_passed_at is not None
    verbs = set(XapiStatement.objects.filter(user=engineer).values_list("verb", flat=True))
    assert verbs == {"passed", "completed"}
    statement = XapiStatement.objects.get(user=engineer, verb="completed").statement
    assert statement["object"]["id"].endswith("/learn/alpha/")
    assert statement["actor"]["mbox"] == "mailto:alice@example.com"


def test_progress_per_track_resume_and_next(people, curriculum):
    engineer = people["engineer"]
    complete_module(engineer, "alpha")
    beta = Module.objects.get(slug="beta").current()
    from portal.learning import progress_mark_section_read

    progress_mark_section_read(user=engineer, module=beta.module, section_id=beta.section_ids[2])
    tracks = {summary.track.slug: summary for summary in tracks_overview(engineer)}
    assert (tracks["crawl"].done, tracks["crawl"].total, tracks["crawl"].percent) == (1, 1, 100)
    assert (tracks["walk"].done, tracks["walk"].percent) == (0, 0)
    board = learner_dashboard(engineer)
    assert board.resume.module.slug == "beta" and board.resume.resume_section == beta.section_ids[2]
    assert [s.module.slug for s in board.done] == ["alpha"]


def test_dashboard_shows_done_resume_and_exam_status(learner_client, people):
    complete_module(people["engineer"], "alpha")
    html = learner_client.get(reverse("portal:dashboard")).content.decode()
    assert "Module Alpha" in html and "Resume" not in html
    assert re.search(r"Next: <strong>Module Beta", html)
    assert "Complete the required modules first (1 to go)" in html


def test_completion_survives_a_new_module_version(people, curriculum, tmp_path):
    engineer = people["engineer"]
    complete_module(engineer, "alpha")
    content = tmp_path / "content"
    edit(content / "modules" / "01-alpha.md", "## Lab\n", "## Lab\n\nA new paragraph.\n\n")
    curriculum_sync(content_dir=content)
    alpha = Module.objects.get(slug="alpha")
    assert alpha.current_version == 2
    done = ModuleProgress.objects.get(user=engineer)
    assert done.module_version == ModuleVersion.objects.get(module=alpha, version=1)
    assert tracks_overview(engineer)[0].modules[0].completed


def test_anonymous_is_sent_to_sign_in(client, curriculum):
    response = client.get(reverse("portal:module_detail", args=["alpha"]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
