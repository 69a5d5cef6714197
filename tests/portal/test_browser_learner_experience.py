"""What a learner sees, in Debian's chromium through Playwright, at 1280 px and at 390 px (a
phone): on the real curriculum and the demo people (alice learning, bob starting, carol
certified, hr), every page kind is checked for horizontal overflow and with axe-core (WCAG 2.2
AA; serious and critical violations fail), and the learner-experience items are checked where
they show. Screenshots go to artifacts/screenshots/learner-*.png (gitignored).

axe-core is vendored under tests/portal/vendor/ (see its README) and injected from that file.
"""

import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from curriculum.models import Choice, Module
from curriculum.services import curriculum_sync
from portal.demo_people import seed_learning, seed_people
from portal.models import Credential
from tests.portal.conftest import SHOTS

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WIDTHS = (1280, 390)
PASSWORDS = {
    "alice@example.com": "alice-demo-pass",
    "bob@example.com": "bob-demo-pass",
    "carol@example.com": "carol-demo-pass",
    "hr@example.com": "hr-demo-pass",
}


@pytest.fixture
def demo(settings):
    """The real curriculum, the demo people and learners, two weeks of demo spend."""
    from metrics.synthetic.demo import seed_usage

    curriculum_sync()
    seed_people()
    seed_learning(StringIO())
    seed_usage(StringIO(), days=14, rows=600)
    table_module = next(
        m for m in Module.objects.catalogue() if "<table" in m.current().rendered_html
    )
    return {
        "credential": Credential.objects.get(user__email="carol@example.com"),
        "table_module": table_module,
        "first_module": Module.objects.catalogue().first(),
    }


def sign_in(browser, base, email, width):
    # bypass_csp: axe-core is injected as an inline script from the test's own file.
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORDS[email])
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    return page


def no_horizontal_overflow(page, name):
    extra = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    wide = page.evaluate(
        """() => Array.from(document.querySelectorAll('main *'))
             .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
             .slice(0, 5).map(el => el.tagName + '.' + el.className)"""
    )
    assert extra <= 0, f"{name}: the page is {extra}px wider than the screen ({wide})"


def axe_check(page, name):
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => await axe.run(document, {runOnly: {type: 'tag', values:
             ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"""
    )
    bad = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"][:3]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{name}: axe-core found {json.dumps(bad, indent=1)}"


def check(page, name, width):
    """Every page kind: no sideways scrolling, no serious/critical axe violation, a screenshot."""
    page.wait_for_load_state()
    no_horizontal_overflow(page, f"{name} at {width}px")
    page.screenshot(path=str(SHOTS / f"learner-{name}-{width}.png"), full_page=True)
    axe_check(page, f"{name} at {width}px")


def bar_fill(page, selector):
    """(aria-valuenow, drawn fill in %) of every progress bar on the page."""
    return page.evaluate(
        """sel => Array.from(document.querySelectorAll(sel)).map(bar => {
             const fill = bar.querySelector('span');
             return [Number(bar.getAttribute('aria-valuenow')),
                     100 * fill.getBoundingClientRect().width / bar.getBoundingClientRect().width,
                     bar.getBoundingClientRect().width];
           })""",
        selector,
    )


def contrast(rgb_a, rgb_b):
    """WCAG contrast ratio of two sRGB colours given as (r, g, b) 0..255."""

    def luminance(rgb):
        channels = []
        for value in rgb:
            c = value / 255
            channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
        return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]

    light, dark = sorted((luminance(rgb_a), luminance(rgb_b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def rgb(css):
    return tuple(int(part) for part in re.findall(r"\d+", css)[:3])


def check_focus_and_skip_link(page, width):
    """The first Tab lands on the skip link, shown on its own row (not over the brand link);
    the focus ring has 3:1 or more against the white page."""
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.className")
    assert focused == "skip", focused
    skip = page.locator("a.skip").bounding_box()
    brand = page.locator("a.brand").bounding_box()
    assert skip["width"] > 0 and skip["x"] >= 0
    overlap = not (
        skip["y"] + skip["height"] <= brand["y"] or brand["y"] + brand["height"] <= skip["y"]
    ) and not (skip["x"] + skip["width"] <= brand["x"] or brand["x"] + brand["width"] <= skip["x"])
    assert not overlap, (skip, brand)
    page.keyboard.press("Tab")  # the brand link
    style = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineColor, s.outlineWidth]; }"
    )
    assert style[0] != "none" and float(style[2].rstrip("px")) >= 2, style
    assert contrast(rgb(style[1]), (255, 255, 255)) >= 3, style
    page.screenshot(path=str(SHOTS / f"learner-focus-{width}.png"))


@pytest.mark.parametrize("width", WIDTHS)
def test_learner_pages_at_desktop_and_phone_width(browser, live_server, demo, width):
    base = live_server.url
    page = sign_in(browser, base, "alice@example.com", width)
    check(page, "home", width)
    check_focus_and_skip_link(page, width)
    # Home says where alice is: the next module, progress per track, exam and credential.
    main = page.inner_text("main")
    assert "Next:" in main and "No credential yet" in main
    assert "Complete the required modules first" in main
    home_bars = bar_fill(page, ".track-progress [role=progressbar]")
    assert len(home_bars) == 3 and any(value == 100 for value, _, _ in home_bars)
    for value, drawn, box in home_bars:
        assert box > 40 and abs(drawn - value) < 3, (value, drawn, box)
    menu = page.inner_text("nav[aria-label=Main]")
    assert "My learning" in menu and "Spend" in menu

    # Progress bars draw: the fill is as wide as the value says (alice: 3 modules done).
    page.goto(f"{base}/learn/")
    check(page, "modules", width)
    bars = bar_fill(page, "[role=progressbar]")
    assert len(bars) == Module.objects.published().count()
    assert any(value == 100 for value, _, _ in bars) and any(value == 0 for value, _, _ in bars)
    for value, drawn, box in bars:
        assert box > 40 and abs(drawn - value) < 3, (value, drawn, box)

    page.goto(f"{base}/learn/dashboard/")
    check(page, "my-learning", width)
    for value, drawn, box in bar_fill(page, "[role=progressbar]"):
        assert box > 40 and abs(drawn - value) < 3, (value, drawn, box)

    # A module with tables: the tables scroll in their own box, the page does not.
    module = demo["table_module"]
    page.goto(f"{base}/learn/{module.slug}/")
    check(page, "module", width)
    boxes = page.evaluate(
        "() => Array.from(document.querySelectorAll('.module-body .table-scroll'))"
        ".map(b => [b.getBoundingClientRect().right, b.scrollWidth > b.clientWidth])"
    )
    assert boxes and all(right <= width for right, _ in boxes)
    if width == 390:
        assert any(scrolls for _, scrolls in boxes)  # the wide ones scroll inside their box
    # Objectives once; sources are links, safe ones; Sources and Key terms ask for nothing.
    assert page.locator("text=In this module you will").count() == 0
    links = page.eval_on_selector_all(
        "section[aria-label=Sources] a", "els => els.map(a => [a.href, a.rel])"
    )
    assert links and all(href.startswith(("https://", "http://")) for href, _ in links)
    assert all(set(rel.split()) >= {"noopener", "noreferrer"} for _, rel in links)
    assert page.locator("section[aria-label=Sources] form.mark-read").count() == 0
    assert page.locator("section[aria-label='Key terms'] form.mark-read").count() == 0

    # The quiz: opaque choice values.
    page.goto(f"{base}/learn/{module.slug}/quiz/")
    check(page, "quiz", width)
    values = page.eval_on_selector_all(".quiz input", "els => els.map(e => e.value)")
    assert values and all(re.fullmatch(r"[0-9a-f]{16}", value) for value in values)

    page.goto(f"{base}/exam/")
    check(page, "exam", width)
    todo = page.eval_on_selector_all("h3 + ul a", "els => els.map(a => a.textContent)")
    catalogue = [m.title for m in Module.objects.catalogue() if m.required_for_exam]
    assert todo == [title for title in catalogue if title in todo] and len(todo) >= 1
    page.goto(f"{base}/dashboard/")
    check(page, "spend-dashboard", width)
    page.goto(f"{base}/credentials/{demo['credential'].pk}/")
    check(page, "credential", width)
    page.context.close()

    # HR: no learner menu items; People lists learners, not staff who never learn.
    hr = sign_in(browser, base, "hr@example.com", width)
    menu = hr.inner_text("nav[aria-label=Main]")
    assert "People" in menu and not {"Spend", "My learning", "Exam"} & set(menu.split())
    hr.goto(f"{base}/people/")
    check(hr, "people", width)
    table = hr.inner_text("main table")
    assert "alice@example.com" in table and "carol@example.com" in table
    assert "hr@example.com" not in table
    hr.goto(f"{base}/people/invite/")
    check(hr, "invite", width)
    assert "No team (learning only)" in hr.inner_text("select#id_team")
    hr.context.close()

    # Carol's valid credential: shown as valid, renewal as plain text with its date.
    carol = sign_in(browser, base, "carol@example.com", width)
    carol.goto(f"{base}/exam/")
    check(carol, "exam-certified", width)
    assert carol.locator(".notice.ok").inner_text().strip().startswith("✓ Your credential is valid")
    assert carol.locator("div.notice[role=status]").count() == 0
    assert re.search(r"Renewal opens on \d{4}-\d{2}-\d{2}", carol.inner_text("#renewal"))
    carol.context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_failed_quiz_teaches_and_the_retake_redraws(browser, live_server, demo, width):
    """bob answers everything wrong: the review marks each question with an icon and text and
    gives the reason his choice is wrong, never the right one; "Try again" reshuffles."""
    base = live_server.url
    module = demo["table_module"]
    page = sign_in(browser, base, "bob@example.com", width)
    page.goto(f"{base}/learn/{module.slug}/quiz/")
    first_values = set(page.eval_on_selector_all(".quiz input", "els => els.map(e => e.value)"))
    right = set(
        Choice.objects.filter(question__module=module, is_correct=True).values_list(
            "text", flat=True
        )
    )
    items = page.locator("li.quiz-item")
    for n in range(items.count()):
        labels = items.nth(n).locator("label")
        wrong = next(
            i for i in range(labels.count()) if labels.nth(i).inner_text().strip() not in right
        )
        labels.nth(wrong).click()
    page.click("button:has-text('Submit my answers')")
    page.wait_for_selector("#result")
    check(page, "quiz-failed", width)
    review = page.inner_text("#result")
    assert "Not passed yet" in review and "0 of" in review
    assert review.count("✗") >= items.count() and review.count("Not right.") == items.count()
    assert not any(text in review for text in right if len(text) > 12)  # no key given away
    page.click("button:has-text('Try again')")
    page.wait_for_selector("button:has-text('Submit my answers')")
    again = set(page.eval_on_selector_all(".quiz input", "els => els.map(e => e.value)"))
    assert again and not again & first_values
    assert "Your last attempt: 0 of" in page.inner_text("main")
    page.context.close()


def test_sections_are_marked_read_as_the_reader_reaches_them(browser, live_server, demo):
    """bob has read two sections of module 1: scrolling through marks the rest without a
    reload and without a click; Sources and Key terms are never asked for."""
    base = live_server.url
    module = demo["first_module"]
    version = module.current()
    page = sign_in(browser, base, "bob@example.com", 1280)
    page.goto(f"{base}/learn/{module.slug}/")
    page.evaluate("() => { window.stillHere = true; }")
    total = len(version.required_section_ids)
    assert page.locator(".mark-read").count() == total
    for _ in range(80):
        page.mouse.wheel(0, 600)
        page.wait_for_timeout(60)
    page.wait_for_function(f"() => document.getElementById('read-count').textContent === '{total}'")
    assert page.evaluate("() => window.stillHere === true")  # no reload happened
    bob = User.objects.get(email="bob@example.com")
    progress = bob.module_progress.get(module_version=version)
    assert set(version.required_section_ids) <= set(progress.sections_read)
    page.screenshot(path=str(SHOTS / "learner-module-read-1280.png"), full_page=True)
    page.context.close()
