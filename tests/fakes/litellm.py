"""A local fake of a LiteLLM proxy's key management API, enough for the remediation
executor: `POST /key/update` with `Authorization: Bearer <master key>` sets a virtual key's
budget (`max_budget`, `budget_duration`) or model aliases, like the real proxy does.

`fake.keys[key]` is the state of each key; `fake.requests` every request (path, headers,
body); a wrong or missing master key answers 401, an unknown key 404."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeLiteLLM:
    def __init__(self, master_key: str = "sk-master-test", keys: tuple[str, ...] = ()) -> None:
        self.master_key = master_key
        self.keys: dict[str, dict] = {k: {"aliases": {}, "max_budget": None} for k in keys}
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.loads(raw or b"{}")
                with fake._lock:
                    fake.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                    status, answer = fake._answer(self.path, self.headers, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _answer(self, path: str, headers, body: dict) -> tuple[int, dict]:
        if headers.get("Authorization") != f"Bearer {self.master_key}":
            return 401, {"error": {"message": "Authentication Error, invalid master key"}}
        if path != "/key/update":
            return 404, {"error": {"message": f"no route {path}"}}
        key = body.get("key")
        if key not in self.keys:
            return 404, {"error": {"message": f"key {key!r} not found"}}
        state = self.keys[key]
        if "max_budget" in body:
            state["max_budget"] = body["max_budget"]
            state["budget_duration"] = body.get("budget_duration")
        if "aliases" in body:
            state["aliases"].update(body["aliases"])
        return 200, {"key": key, **state}

    def __enter__(self) -> "FakeLiteLLM":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
