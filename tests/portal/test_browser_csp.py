"""The Content-Security-Policy in a real browser (#12): the portal's pages, the spend charts
and the API docs work under it, and the browser reports no violation.

Every page records `securitypolicyviolation` events (an init script) and console errors; the
test also checks that what needs script actually ran (Vega drew the charts as SVG, Swagger UI
listed the API's operations), so a policy that silently broke a page fails here.
"""

import pytest

from tests.portal.conftest import complete_all
from tests.portal.spend_ledger import build_ledger

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile);
});
"""


@pytest.fixture
def world(people, teams, certified, monkeypatch):
    from datetime import date

    monkeypatch.setattr("portal.views.spend.ledger_today", lambda: date(2026, 10, 4))
    build_ledger(teams)
    complete_all(people["admin"])
    return people


def _sign_in(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", "pw-" + email)
    page.click("form button[type=submit], form input[type=submit]")
    page.wait_for_load_state("networkidle")


def test_pages_and_api_docs_work_under_the_policy(page, live_server, world, certified):
    errors: list[str] = []
    page.add_init_script(WATCH)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    base = live_server.url
    _sign_in(page, base, "finops@example.com")
    visited = {}
    for path in [
        "/",
        "/learn/",
        "/learn/alpha/",
        "/learn/dashboard/",
        "/exam/",
        f"/credentials/{certified.pk}/",
        "/dashboard/?start=2026-09-01&end=2026-10-04",
        "/api/docs/",
    ]:
        response = page.goto(base + path)
        assert response is not None and response.status == 200, path
        assert "default-src 'self'" in response.headers["content-security-policy"]
        if path.startswith("/dashboard/"):
            page.wait_for_selector(".dash-vega svg", timeout=20_000)  # Vega ran, no eval
            visited[path] = page.locator(".dash-vega svg").count()
        if path == "/api/docs/":
            page.wait_for_selector(".opblock", timeout=20_000)  # Swagger UI rendered the API
            visited[path] = page.locator(".opblock").count()
        violations = page.evaluate("window.__csp")
        assert violations == [], (path, violations)
    assert visited["/api/docs/"] > 10
    assert visited["/dashboard/?start=2026-09-01&end=2026-10-04"] >= 1
    assert not [e for e in errors if "Content Security Policy" in e], errors
