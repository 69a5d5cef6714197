"""Fuzz (#12): every URL of the product, every parameter it reads, for every role: no 500.

The URLs come from the URL resolver (portal, API, Slack, admin, health), so a URL added later
is fuzzed without touching this file. The parameter names come from the code and templates
(`GET.get("x")`, `query_params`, `name="x"` in forms) and from the OpenAPI schema, and every
name is tried on every URL, as a query string (GET) and as a form or JSON body (POST/PUT/
PATCH/DELETE). Values are hostile: impossible and extreme dates, non-ASCII digits, NUL bytes,
huge numbers, forged cursors, other teams' ids, markup.

Two passes, both in CI: a sweep (each URL x each role, no parameters, then every parameter at
once with each hostile value) and a Hypothesis search over the same space (FUZZ_EXAMPLES
examples, derandomized so CI is reproducible; set FUZZ_RANDOM=1 to explore). A streamed body
is read to its end, so an error half-way through a CSV counts too.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.exceptions import NoReverseMatch
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from portal.roles import Role
from tests.factories import UserFactory
from tests.metrics.test_api_world import world as ledger_world

REPO = Path(__file__).resolve().parent.parent.parent
ROLES = ("anonymous", "engineer", "outsider", "lead", "hr", "admin", "author", "superuser")
METHODS = ("get", "post", "put", "patch", "delete")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "400"))

HOSTILE = [
    "",
    "0",
    "-1",
    "1e309",
    "NaN",
    "9" * 40,
    "0001-01-01",
    "9999-12-31",
    "2024-02-30",
    "2024-02-30T00:00:00",
    "2024-13-01T25:61:00Z",
    "\u00b2",  # "²".isdigit() is True
    "\u0661\u0662",  # Arabic-Indic digits
    "a\x00b",
    "\ud7ff\ufffd",
    "true",
    "[]",
    '{"a": [[[[1]]]]}',
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "%",
    ",,,",
    "ml-platform",
    "search",
    "alpha",
    "x" * 3000,
    base64.b64encode(b"p=abc").decode(),
    base64.b64encode(b"o=-5&r=1&p=9999-99-99").decode(),
]

# Path arguments: real values first (so the view goes past its lookup), then hostile ones.
CONVERTER_VALUES = {
    "int": ["1", "0", "2147483648", "99999999999999999999"],
    "uuid": ["00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"],
    "slug": ["alpha", "ml-platform", "nope", "-"],
    "str": ["1", "abc", "%00", "\u00b2"],
    "path": ["1", "a/b", "..", "\u00b2"],
    "drf_format_suffix": [".json", ".api", ".csv", ".xyz"],
}


@dataclass(frozen=True)
class Route:
    name: str
    kwargs: dict[str, str]  # kwarg -> converter (or "str" for regex groups)
    admin: bool


def _converter(pattern: Any, kwarg: str) -> str:
    converters = getattr(pattern, "converters", {}) or {}
    if kwarg in converters:
        return type(converters[kwarg]).__name__.replace("Converter", "").lower()
    return "str"


def _walk(patterns: list[Any], namespace: str = "", prefix: str = "") -> Iterator[Route]:
    for item in patterns:
        if isinstance(item, URLResolver):
            inner = namespace + (f"{item.namespace}:" if item.namespace else "")
            yield from _walk(item.url_patterns, inner, prefix + str(item.pattern))
        elif isinstance(item, URLPattern) and item.name:
            regex = item.pattern.regex
            kwargs = {k: _converter(item.pattern, k) for k in regex.groupindex}
            if "format" in kwargs and kwargs["format"] == "str":
                kwargs["format"] = "format"
            yield Route(namespace + item.name, kwargs, prefix.startswith("admin/"))


def routes() -> list[Route]:
    unique: dict[tuple[str, tuple[str, ...]], Route] = {}
    for route in _walk(get_resolver().url_patterns):
        unique.setdefault((route.name, tuple(sorted(route.kwargs))), route)
    return list(unique.values())


def parameter_names() -> list[str]:
    """Every name the product reads from a query string or a form, and the API's own."""
    from drf_spectacular.generators import SchemaGenerator

    names: set[str] = set()
    code = re.compile(
        r"""(?:GET|POST|query_params|data|params)\s*(?:\.get|\.getlist|\[)\(?\s*["']([A-Za-z_][\w-]*)["']"""
    )
    field = re.compile(r"""\bname=["']([A-Za-z_][\w-]*)["']""")
    for folder in ("metrics", "portal", "bot", "curriculum", "config"):
        for path in (REPO / folder).rglob("*.py"):
            names.update(code.findall(path.read_text(encoding="utf-8", errors="replace")))
        for path in (REPO / folder).rglob("*.html"):
            names.update(field.findall(path.read_text(encoding="utf-8", errors="replace")))
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for item in schema["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            names.update(p["name"] for p in operation.get("parameters", []))
            for content in (operation.get("requestBody") or {}).get("content", {}).values():
                ref = content.get("schema", {}).get("$ref", "")
                component = schema["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
                names.update(component.get("properties", {}))
    for admin_param in ("q", "o", "p", "e", "all", "_changelist_filters", "_popup", "_to_field"):
        names.add(admin_param)
    names.discard("csrfmiddlewaretoken")
    return sorted(names)


# --- The world: one object of each kind, and one user per role ------------------------------


@pytest.fixture
def fuzz_world(people, teams, certified, curriculum, django_user_model):
    from portal.exam import attempt_start
    from portal.models import ExamAttempt
    from tests.portal.conftest import complete_all

    objects = ledger_world(teams)
    complete_all(people["outsider"])
    open_attempt = attempt_start(user=people["outsider"], exam=curriculum)
    passed = ExamAttempt.objects.filter(user=people["engineer"]).first()
    users = {role: people[role] for role in ("engineer", "outsider", "lead", "hr", "admin")}
    users["author"] = UserFactory(email="author@example.com", roles=[Role.AUTHOR])
    superuser = UserFactory(email="root@example.com", roles=[Role.FINOPS_ADMIN])
    superuser.is_staff = superuser.is_superuser = True
    superuser.save()
    users["superuser"] = superuser
    real = {
        "slug": ["ml-platform", "alpha"],
        "pk": [str(o.pk) for k, o in objects.items() if k != "team"],
        "object_id": [str(objects["alert"].pk), str(people["engineer"].pk)],
        "user_id": [str(people["engineer"].pk), str(people["outsider"].pk)],
        "attempt_id": [str(open_attempt.public_id), str(passed.public_id)],
        "credential_id": [str(certified.pk)],
        "position": ["1", "10"],
        "uidb64": ["MQ", "MTIz"],
        "token": ["bogus-token", "set-password"],
        "app_label": ["metrics", "portal", "auth"],
        "format": ["json", "csv", "api"],
        "action_id": [str(objects["action"].pk)],
        "decision": ["approve", "reject"],
    }
    return {"users": users, "real": real}


def _path_values(route: Route, real: dict[str, list[str]]) -> dict[str, list[str]]:
    values = {}
    for kwarg, converter in route.kwargs.items():
        hostile = CONVERTER_VALUES.get(converter, CONVERTER_VALUES["str"])
        if converter == "format":
            hostile = ["json", "api", "csv", "xyz"]
        values[kwarg] = [*real.get(kwarg, []), *hostile]
    return values


def _url(route: Route, kwargs: dict[str, str]) -> str | None:
    try:
        return reverse(route.name, kwargs=kwargs or None)
    except NoReverseMatch:
        return None


class Fuzzer:
    """One signed-in client per role; records every 5xx with the exception behind it."""

    def __init__(self, world: dict[str, Any]) -> None:
        self.users = world["users"]
        self.real = world["real"]
        self.clients: dict[str, Client] = {}
        for role in ROLES:
            client = Client(raise_request_exception=False)
            if role != "anonymous":
                client.force_login(self.users[role])
            self.clients[role] = client
        self.failures: dict[str, str] = {}
        self.requests = 0

    def request(
        self, role: str, method: str, url: str, params: dict[str, str], as_json: bool = False
    ) -> None:
        client = self.clients[role]
        self.requests += 1
        if method == "get":
            response = client.get(url, params)
        elif as_json:
            response = getattr(client, method)(
                url, json.dumps(params), content_type="application/json"
            )
        elif method == "post":
            response = client.post(url, params)
        else:
            response = getattr(client, method)(
                url, urlencode(params), content_type="application/x-www-form-urlencoded"
            )
        problem = ""
        if response.status_code >= 500:
            exc = getattr(response, "exc_info", None)
            problem = (
                f"{response.status_code} {exc[1]!r}"[:300] if exc else str(response.status_code)
            )
        elif getattr(response, "streaming", False):
            try:
                b"".join(response.streaming_content)
            except Exception as exc:  # a failure half-way through a download
                problem = f"streamed body failed: {exc!r}"[:300]
        if problem:
            key = f"{role} {method.upper()} {url.split('?')[0]}"
            self.failures.setdefault(key, f"{key} {_short(params)} -> {problem}")
        session = response.cookies.get(settings.SESSION_COOKIE_NAME)
        if role != "anonymous" and session is not None and not session.value:  # a logout
            client.force_login(self.users[role])

    def report(self) -> str:
        return "\n".join(list(self.failures.values())[:40])


def _short(params: dict[str, str]) -> str:
    values = sorted({v[:30] for v in params.values()})
    return f"[{len(params)} params: {values[:3]!r}]"


pytestmark = pytest.mark.django_db(transaction=False)


@pytest.mark.slow  # every URL x every role x every hostile value (~10-20 s)
def test_the_sweep_finds_no_500_on_any_url_for_any_role(
    fuzz_world, django_capture_on_commit_callbacks
):
    """Each URL, each role: bare, then every known parameter at once with each hostile value
    (query string for GET, form body for the other methods; admin pages GET only)."""
    fuzzer = Fuzzer(fuzz_world)
    names = parameter_names()
    all_routes = routes()
    assert len(all_routes) > 60 and len(names) > 30
    turn = 0  # rotates the hostile values so that every one meets every role and many URLs
    with django_capture_on_commit_callbacks(execute=True):
        for route in all_routes:
            paths = _path_values(route, fuzzer.real)
            first = {k: v[0] for k, v in paths.items()}
            url = _url(route, first)
            if url is None:
                continue
            if route.admin:  # Django's admin: staff only, GET with hostile lookups
                fuzzer.request("superuser", "get", url, {n: "\u00b2" for n in ("q", "o", "p")})
                fuzzer.request("admin", "get", url, {})
                continue
            for offset, role in enumerate(ROLES):
                hostile = HOSTILE[(offset + turn) % len(HOSTILE)]
                fuzzer.request(role, "get", url, {})
                fuzzer.request(role, "get", url, {name: hostile for name in names})
                fuzzer.request(role, "post", url, {name: hostile for name in names})
            turn += len(ROLES)
            fuzzer.request("admin", "post", url, {name: HOSTILE[6] for name in names}, True)
            for method in ("put", "patch", "delete"):
                fuzzer.request("admin", method, url, {name: HOSTILE[9] for name in names})
            # Every hostile path argument, once, as the most privileged non-staff role.
            for kwarg, values in paths.items():
                for value in values[1:]:
                    other = _url(route, {**first, kwarg: value})
                    if other is not None:
                        fuzzer.request("admin", "get", other, {})
    assert not fuzzer.failures, fuzzer.report()


hypothesis_settings.register_profile(
    "fuzz",
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def fuzz_requests(
    draw: st.DrawFn, all_routes: list[Route], names: list[str], real: dict[str, list[str]]
) -> tuple[str, str, str, dict[str, str], bool]:
    route = draw(st.sampled_from(all_routes))
    role = draw(st.sampled_from(ROLES))
    kwargs = {
        kwarg: draw(st.sampled_from(values)) for kwarg, values in _path_values(route, real).items()
    }
    url = _url(route, kwargs) or _url(
        route, {k: v[0] for k, v in _path_values(route, real).items()}
    )
    method = "get" if route.admin else draw(st.sampled_from(METHODS))
    value = st.one_of(
        st.sampled_from(HOSTILE),
        st.text(max_size=30),
        st.integers(min_value=-(10**20), max_value=10**20).map(str),
        st.dates().map(str),
    )
    params = draw(st.dictionaries(st.sampled_from(names), value, max_size=6))
    as_json = method != "get" and draw(st.booleans())
    return role, method, url or "/", params, as_json


def test_hypothesis_finds_no_500(fuzz_world, django_capture_on_commit_callbacks):
    fuzzer = Fuzzer(fuzz_world)
    all_routes = routes()
    names = parameter_names()

    @hypothesis_settings(hypothesis_settings.get_profile("fuzz"))
    @given(fuzz_requests(all_routes, names, fuzzer.real))
    def search(request: tuple[str, str, str, dict[str, str], bool]) -> None:
        role, method, url, params, as_json = request
        before = len(fuzzer.failures)
        with django_capture_on_commit_callbacks(execute=True):
            fuzzer.request(role, method, url, params, as_json)
        assert len(fuzzer.failures) == before, fuzzer.report()

    search()
