"""Reading a module, the home page, menus by role, the exam page's status and renewal text."""

import re

import pytest
from django.urls import reverse

from curriculum.models import Module
from curriculum.rendering import render_markdown
from tests.portal.conftest import complete_module


def nav(html):
    return html[html.index('<nav aria-label="Main">') : html.index("</nav>")]


def test_objectives_appear_once(client, people, curriculum):
    client.force_login(people["engineer"])
    html = client.get(reverse("portal:module_detail", args=["alpha"])).content.decode()
    assert "In this module you will" not in html  # the body has its own Learning objectives
    assert html.count(">Learning objectives</h2>") == 1


def test_source_urls_become_safe_links():
    html = render_markdown(
        "## Sources\n\n"
        "- FOCUS: https://focus.finops.org/ (accessed 2026-11)\n"
        "- Two: https://a.example/x, and http://b.example/y.\n"
        "- Not these: `https://code.example/`, javascript:alert(1), ftp://files.example/\n"
    ).html
    for url in ("https://focus.finops.org/", "https://a.example/x", "http://b.example/y"):
        assert f'<a href="{url}" rel="noopener noreferrer">{url}</a>' in html
    assert "<code>https://code.example/</code>" in html
    assert html.count("<a ") == 3  # no link for javascript:, ftp: or inside code


def test_module_page_links_its_sources(client, people, curriculum, tmp_path):
    from curriculum.services import curriculum_sync
    from tests.curriculum.conftest import edit

    edit(
        tmp_path / "content" / "modules" / "01-alpha.md",
        "## Sources\n\n",
        "## Sources\n\n- FOCUS spec: https://focus.finops.org/ (accessed 2026-11)\n\n",
    )
    curriculum_sync(content_dir=tmp_path / "content")
    client.force_login(people["engineer"])
    html = client.get(reverse("portal:module_detail", args=["alpha"])).content.decode()
    assert (
        '<a href="https://focus.finops.org/" rel="noopener noreferrer">'
        "https://focus.finops.org/</a>" in html
    )


def test_modules_still_to_complete_follow_the_catalogue(client, people, curriculum):
    # alpha (Crawl) gets a higher order number than beta (Walk): the catalogue goes by track.
    Module.objects.filter(slug="alpha").update(order=3)
    client.force_login(people["engineer"])
    catalogue = client.get(reverse("portal:catalogue")).content.decode()
    assert catalogue.index("Module Alpha") < catalogue.index("Module Beta")
    exam = client.get(reverse("portal:exam_home")).content.decode()
    todo = exam[exam.index("Modules still to complete") :]
    assert todo.index("Module Alpha") < todo.index("Module Beta")


def test_home_shows_a_new_learner_where_to_start(client, people, curriculum):
    client.force_login(people["engineer"])
    html = client.get("/").content.decode()
    assert "Continue learning" not in html
    assert "Start with: <strong>Module Alpha</strong>" in html
    assert "Start the first module" in html
    assert "Crawl: 0 of 1 modules done" in html and "Walk: 0 of 1 modules done" in html
    assert "No credential yet" in html
    assert "Complete the required modules first (2 to go)" in html


def test_home_shows_progress_and_the_next_module(client, people, curriculum):
    complete_module(people["engineer"], "alpha")
    client.force_login(people["engineer"])
    html = client.get("/").content.decode()
    assert "Next: <strong>Module Beta</strong>" in html
    assert "Crawl: 1 of 1 modules done" in html
    assert re.search(r'aria-label="Crawl track"[^>]*aria-valuenow="100"', html)


def test_a_valid_credential_is_shown_as_valid_with_when_renewal_opens(client, certified):
    client.force_login(certified.user)
    for url in ("/", reverse("portal:dashboard")):
        html = client.get(url).content.decode()
        assert "Certified:" in html and f"valid until {certified.expires_at:%Y-%m-%d}" in html
        assert "Renewal opens on" in html
        assert "You hold a valid credential" not in html  # not listed as a problem
    exam = client.get(reverse("portal:exam_home")).content.decode()
    assert f"Your credential is valid until {certified.expires_at:%Y-%m-%d}" in exam
    assert '<p class="notice ok">' in exam
    assert 'class="notice" role="status"' not in exam  # no warning box for good news
    match = re.search(r"Renewal opens on (\d{4}-\d{2}-\d{2})", exam)
    assert match and match.group(1) < f"{certified.expires_at:%Y-%m-%d}"


@pytest.mark.parametrize(
    ("who", "present", "absent"),
    [
        ("engineer", ["Spend", "My learning", "Exam", "Credentials"], ["People"]),
        ("hr", ["People", "Modules"], ["Spend", "My learning", "Exam", "Credentials"]),
        ("lead", ["Spend", "People"], ["My learning", "Exam"]),
        ("admin", ["Spend"], ["My learning", "Exam"]),
    ],
)
def test_menus_follow_roles(client, people, curriculum, who, present, absent):
    client.force_login(people[who])
    menu = nav(client.get("/").content.decode())
    for item in present:
        assert f">{item}</a>" in menu, (who, item)
    for item in absent:
        assert f">{item}</a>" not in menu, (who, item)


def test_learning_menu_appears_for_staff_who_learn(client, people, curriculum):
    complete_module(people["hr"], "alpha", quiz=False)
    client.force_login(people["hr"])
    assert ">My learning</a>" in nav(client.get("/").content.decode())


def test_invitation_form_offers_a_team(client, people, django_capture_on_commit_callbacks):
    client.force_login(people["hr"])
    form = client.get(reverse("portal:people_invite")).content.decode()
    assert '<select name="team"' in form and "No team (learning only)" in form
    assert ">Search</option>" in form
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("portal:people_invite"),
            {
                "email": "new@example.com",
                "team": str(people["outsider"].team_memberships.get().team_id),
            },
            follow=True,
        )
    assert "member of Search" in response.content.decode()
    from django.contrib.auth.models import User

    invited = User.objects.get(email="new@example.com")
    client.force_login(invited)
    home = client.get("/").content.decode()
    assert "Search" in home and "You are not in a team" not in home
