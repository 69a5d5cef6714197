"""A local fake of Slack's Web API: records every call, answers like Slack does.

- `fake.url` is the Web API base URL (SLACK_API_BASE_URL); `fake.response_url(name)` gives a
  slash-command / interaction response URL served by the same server (recorded as method
  "response_url", the name in the payload's "_path").
- `fake.script(method, (429, 1), (429, 0), ...)` makes the next calls of `method` answer 429
  with that Retry-After (seconds) before the normal answer; `(500, None)` answers a 500;
  `("error", "channel_not_found")` answers ok=false with that error.
- `fake.usergroups = {"S1": ["U1", "U2"]}` is what `usergroups.users.list` returns.
- `fake.responses[method]` is the answer of any other method (e.g. `oauth.v2.access`).
"""

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.usergroups: dict[str, list[str]] = {}
        self.scripts: dict[str, list[tuple]] = {}
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self.responses: dict[str, dict] = {
            "auth.test": {
                "ok": True,
                "user_id": "UBOT",
                "bot_id": "BBOT",
                "team_id": "T1",
                "team": "Demo",
            },
            # the OAuth code exchange of a multi-workspace install (workspace T2)
            "oauth.v2.access": {
                "ok": True,
                "app_id": "A1",
                "authed_user": {"id": "UINSTALLER"},
                "scope": "app_mentions:read,chat:write,commands",
                "token_type": "bot",
                "access_token": "xoxb-installed-token",
                "bot_user_id": "UBOT2",
                "team": {"id": "T2", "name": "Second workspace"},
                "enterprise": None,
                "is_enterprise_install": False,
            },
            "chat.update": {"ok": True},
            "views.publish": {"ok": True},
        }
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length).decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    payload = json.loads(raw or "{}")
                else:
                    payload = {k: v[0] for k, v in parse_qs(raw).items()}
                path = urlsplit(self.path).path
                if path.startswith("/response/"):
                    method = "response_url"
                    payload["_path"] = path.rsplit("/", 1)[-1]
                else:
                    method = path.rsplit("/", 1)[-1]
                status, body, headers = fake._answer(method, payload)
                with fake._lock:
                    fake.calls.append((method, payload))
                data = json.dumps(body).encode() if not isinstance(body, bytes) else body
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = f"{self.base}/api/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _answer(self, method: str, payload: dict) -> tuple[int, object, dict]:
        with self._lock:
            queue = self.scripts.get(method)
            step = queue.pop(0) if queue else None
        if step is not None:
            kind, arg = step
            if kind == 429:
                headers = {"Retry-After": str(arg)} if arg is not None else {}
                return 429, {"ok": False, "error": "ratelimited"}, headers
            if kind == "error":
                return 200, {"ok": False, "error": arg}, {}
            return int(kind), {"ok": False, "error": "fatal_error"}, {}
        if method == "chat.postMessage":
            ts = f"1700000000.{next(self._ts):06d}"
            return 200, {"ok": True, "ts": ts, "channel": payload.get("channel", "C1")}, {}
        if method == "chat.postEphemeral":
            return 200, {"ok": True, "message_ts": f"1700000001.{next(self._ts):06d}"}, {}
        if method == "conversations.open":
            users = str(payload.get("users", "U0")).split(",")[0]
            return 200, {"ok": True, "channel": {"id": "D" + users.lstrip("U")}}, {}
        if method == "usergroups.users.list":
            group = payload.get("usergroup", "")
            if group not in self.usergroups:
                return 200, {"ok": False, "error": "no_such_subteam"}, {}
            return 200, {"ok": True, "users": self.usergroups[group]}, {}
        if method == "response_url":
            return 200, b"ok", {}
        return 200, self.responses.get(method, {"ok": True}), {}

    def script(self, method: str, *steps: tuple) -> None:
        with self._lock:
            self.scripts.setdefault(method, []).extend(steps)

    def response_url(self, name: str = "r1") -> str:
        return f"{self.base}/response/{name}"

    def __enter__(self) -> "FakeSlack":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def methods(self) -> list[str]:
        with self._lock:
            return [m for m, _ in self.calls]

    def of(self, method: str) -> list[dict]:
        """Payloads of every call of `method`, in order."""
        with self._lock:
            return [p for m, p in self.calls if m == method]

    def wait_for(self, method: str, n: int = 1, timeout: float = 10) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of(method)
            if len(found) >= n:
                return found
            time.sleep(0.02)
        raise AssertionError(f"{method} was called {len(self.of(method))} times, not {n}")

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
