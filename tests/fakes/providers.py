"""A local fake of the OpenAI and Anthropic admin APIs, serving recorded pages.

- Routes: `/openai/v1/organization/costs`, `/openai/v1/organization/usage/<endpoint>`,
  `/anthropic/v1/organizations/usage_report/messages`, `/anthropic/v1/organizations/cost_report`,
  answered from tests/fixtures/billing/ (usage endpoints without a fixture answer an empty page).
- Buckets are filtered by the requested window (start_time/end_time or starting_at/ending_at).
- Pagination: with two or more buckets, the first page holds the first half with
  `has_more: true` and a `next_page` cursor; the cursor's page holds the rest and is final.
- Faults: `fail_next(429, 503)` answers the next requests with those statuses (429 carries
  `Retry-After: 1`); `always_status = 502` answers every request with that status;
  `path_status["/openai/v1/organization/usage/images"] = 500` makes one endpoint fail.
- Auth: a request without the provider's auth header gets 401. Every request is recorded.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "billing"

ROUTES = {
    "/openai/v1/organization/costs": "openai_costs_page.json",
    "/openai/v1/organization/usage/completions": "openai_usage_completions_grouped.json",
    "/anthropic/v1/organizations/usage_report/messages": "anthropic_usage_messages.json",
    "/anthropic/v1/organizations/cost_report": "anthropic_cost_report.json",
}
CURSOR = "page_AAAAAGfakecursor2"


@dataclass
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


def _epoch(value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value)).timestamp()


class FakeProviders:
    def __init__(self, fixtures: Path = FIXTURES) -> None:
        self.fixtures = fixtures
        self.requests: list[Request] = []
        self.faults: list[int] = []
        self.always_status: int | None = None
        self.path_status: dict[str, int] = {}  # one endpoint answering this status, always
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                headers = {k.lower(): v for k, v in self.headers.items()}
                fake.requests.append(Request(url.path, query, headers))
                status, body, extra = fake.answer(url.path, query, headers)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        root = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.openai_url = f"{root}/openai/v1/"
        self.anthropic_url = f"{root}/anthropic/v1/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeProviders:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, *statuses: int) -> None:
        self.faults.extend(statuses)

    def answer(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str]
    ) -> tuple[int, dict, dict[str, str]]:
        if self.always_status:
            return self.always_status, {"error": {"message": "upstream unavailable"}}, {}
        if path in self.path_status:
            return self.path_status[path], {"error": {"message": "this endpoint is down"}}, {}
        if self.faults:
            status = self.faults.pop(0)
            extra = {"Retry-After": "1"} if status == 429 else {}
            return status, {"error": {"message": f"fake fault {status}"}}, extra
        if path.startswith("/openai/"):
            if not headers.get("authorization", "").startswith("Bearer "):
                return 401, {"error": {"message": "missing bearer token"}}, {}
            start_key, end_key = "start_time", "end_time"
        elif path.startswith("/anthropic/"):
            if not headers.get("x-api-key") or not headers.get("anthropic-version"):
                return 401, {"error": {"message": "missing x-api-key"}}, {}
            start_key, end_key = "starting_at", "ending_at"
        else:
            return 404, {"error": {"message": "not found"}}, {}
        if path in ROUTES:
            page = json.loads((self.fixtures / ROUTES[path]).read_text())
        elif path.startswith("/openai/v1/organization/usage/"):
            page = {"object": "page", "data": [], "has_more": False, "next_page": None}
        else:
            return 404, {"error": {"message": "not found"}}, {}
        buckets = page["data"]
        if start_key in query:
            lo = _epoch(_number_or_text(query[start_key][0]))
            buckets = [b for b in buckets if _epoch(b[start_key]) >= lo]
        if end_key in query:
            hi = _epoch(_number_or_text(query[end_key][0]))
            buckets = [b for b in buckets if _epoch(b[start_key]) < hi]
        half = (len(buckets) + 1) // 2
        if query.get("page") == [CURSOR]:
            return 200, {**page, "data": buckets[half:], "has_more": False, "next_page": None}, {}
        if len(buckets) >= 2:
            return 200, {**page, "data": buckets[:half], "has_more": True, "next_page": CURSOR}, {}
        return 200, {**page, "data": buckets, "has_more": False, "next_page": None}, {}

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


def _number_or_text(value: str) -> int | str:
    return int(value) if value.isdigit() else value
