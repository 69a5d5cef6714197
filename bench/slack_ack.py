"""50 concurrent signed `/finops` slash commands against the app served by gunicorn.

    .venv/bin/python bench/slack_ack.py                      # 10M-record ledger (issue 5)
    .venv/bin/python bench/slack_ack.py --rows 1000000       # a quicker run

Uses its own database (`--database`, default bench_slack; only names starting with bench_
are ever created or dropped), migrates it, and (re)generates the ledger when it does not have
the requested shape, with bench/spend_query.py's generator (one `INSERT ... SELECT
generate_series` per million lines, then `metrics.ledger.ingest.rebuild_rollups`), ending today so
that "last week" has spend. The first generated team becomes `ml-platform`, and the demo
people are seeded (`portal.demo_people.seed_people`): U0DEMOALICE asks about "my team".

Then, all on 127.0.0.1 and stopped on exit (also on errors and Ctrl-C):

- the fake Slack Web API (`tests.fakes.slack.FakeSlack`) in this process;
- a private redis-server (the Celery broker) and a Celery worker (`--celery-concurrency`),
  so the bot hands the answer off as in production: the listener acknowledges, the worker
  computes the answer and posts it to the response_url. `--eager` instead runs the task
  inside the web request (CELERY_TASK_ALWAYS_EAGER: the ack then waits for the answer);
- gunicorn (`config.wsgi`, `--workers` 4) with the bench database, SLACK_SIGNING_SECRET,
  SLACK_BOT_TOKEN and SLACK_API_BASE_URL pointing at the fake.

Each round sends `--concurrency` (50) signed `/finops spend my team last week` commands at
once (form-encoded, each with its own response_url path on the fake) and measures per
request the time to the HTTP acknowledgement and the time until the answer reaches the fake
(the fake's recorded calls are polled for the request's path). The baseline, GET /healthz at
the same concurrency, runs in alternating rounds of the same run. Prints p50/p99 of each and
the ratios to the baseline, with the load average. Targets (issue 5): p99 ack under 300 ms,
answer under 1 s. Machines here are noisy: compare with the baseline of the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import spend_query  # noqa: E402

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
ASKER = "U0DEMOALICE"
QUESTION = "spend my team last week"
TEAM_SLUG = "ml-platform"
ACK_TARGET = 0.300
ANSWER_TARGET = 1.0


# --- the database -------------------------------------------------------------------------


def checked_name(name: str) -> str:
    if not name.startswith("bench_") or not name.replace("_", "").isalnum():
        sys.exit(f"refusing database {name!r}: the bench only uses databases named bench_*")
    return name


def prepare_database(base: str, name: str, fresh: bool) -> None:
    import psycopg

    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{checked_name(name)}" WITH (FORCE)')
            print(f"dropped database {name}")
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{checked_name(name)}"')
            print(f"created database {name}")


def prepare_data(rows: int, teams: int, days: int, regenerate: bool) -> int:
    """Ledger ending today, team ml-platform holding generated spend, demo people. Returns
    the number of CostRecord lines."""
    from django.core.management import call_command
    from django.db import connection

    from metrics.models import ImportBatch, Team
    from portal.demo_people import seed_people

    call_command("migrate", verbosity=0)
    spend_query.LAST_DAY = date.today()  # the generator reads the module's LAST_DAY
    wanted = spend_query.marker(rows, teams, days)
    have = ImportBatch.objects.filter(file_name=wanted).exists()
    if regenerate or not have or not Team.objects.filter(slug=TEAM_SLUG).exists():
        print(f"generating {rows:,} lines, {teams} teams x {days} days, ending {date.today()}")
        Team.objects.filter(slug=TEAM_SLUG).delete()
        spend_query.generate(rows, teams, days)
        Team.objects.filter(slug=spend_query.SLUG.format(0)).update(slug=TEAM_SLUG)
        spend_query.vacuum()
    else:
        print(f"reusing the ledger: {wanted}")
    seed_people()
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM metrics_costrecord")
        (count,) = cur.fetchone()
    return int(count)


def expected_total(today: date) -> str:
    """Last week's effective cost of ml-platform straight from the raw ledger (a check)."""
    from django.db import connection

    monday = today - timedelta(days=today.weekday())
    start, end = monday - timedelta(days=7), monday
    with connection.cursor() as cur:
        cur.execute(
            "SELECT r.billing_currency, SUM(r.effective_cost) FROM metrics_costrecord r "
            "JOIN metrics_team t ON t.id = r.team_id WHERE t.slug = %s "
            "AND r.day >= %s AND r.day < %s GROUP BY 1 ORDER BY 1",
            [TEAM_SLUG, start, end],
        )
        parts = [f"{currency} {amount:,.2f}" for currency, amount in cur.fetchall()]
    return f"{start}..{end - timedelta(days=1)}: " + ", ".join(parts)


# --- processes ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Processes:
    """Child processes, each in its own session, stopped (their group) on exit."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.children: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.logdir / f"{name}.log", "wb")  # noqa: SIM115 (closed with the child)
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.children.append((name, proc))
        return proc

    def check(self) -> None:
        for name, proc in self.children:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}: see {self.logdir}")

    def stop(self) -> None:
        for _, proc in reversed(self.children):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _, proc in reversed(self.children):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.children.clear()


def wait_until(what: str, probe: Any, procs: Processes, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        procs.check()
        try:
            if probe():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} not ready after {timeout:.0f}s: see {procs.logdir}")


def healthz_ok(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    finally:
        conn.close()


# --- the load -----------------------------------------------------------------------------


class AnswerWatch:
    """Polls the fake's recorded calls and notes when each response_url path first shows up."""

    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self.seen: dict[str, tuple[float, dict]] = {}
        self.index = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stopped.is_set():
            with self.fake._lock:
                new = self.fake.calls[self.index :]
            now = time.perf_counter()
            self.index += len(new)
            for method, payload in new:
                if method == "response_url":
                    self.seen.setdefault(payload.get("_path", ""), (now, payload))
            time.sleep(0.002)

    def wait(self, paths: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(p in self.seen for p in paths):
                return
            time.sleep(0.01)
        missing = sum(p not in self.seen for p in paths)
        raise RuntimeError(f"{missing} of {len(paths)} answers never reached the fake Slack")

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()


def slash_body(fake: Any, path: str) -> str:
    return urlencode(
        {
            "token": "unused",
            "team_id": "T1",
            "team_domain": "demo",
            "channel_id": "C0DEMOMLP",
            "channel_name": "ml-platform",
            "user_id": ASKER,
            "user_name": "alice",
            "command": "/finops",
            "text": QUESTION,
            "api_app_id": "A1",
            "response_url": fake.response_url(path),
            "trigger_id": path,
        }
    )


def fire(port: int, n: int, request: Any) -> list[tuple[float, int, bytes]]:
    """`n` threads each open a connection, wait at a barrier, then send `request(i)` at once.
    Returns (start, seconds to the response, status, body) per request."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def one(i: int) -> None:
        method, path, body, headers = request(i)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.connect()
            barrier.wait()
            t0 = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            results[i] = (t0, time.perf_counter() - t0, resp.status, data)
        except Exception as exc:  # recorded, reported by the caller
            results[i] = (time.perf_counter(), float("nan"), -1, repr(exc).encode())
        finally:
            conn.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def slash_round(port: int, n: int, fake: Any, watch: AnswerWatch, timeout: float) -> list:
    paths = [f"bench-{uuid.uuid4().hex}" for _ in range(n)]

    def request(i: int) -> tuple[str, str, str, dict[str, str]]:
        body = slash_body(fake, paths[i])
        ts = str(int(time.time()))
        sig = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": f"v0={sig}",
        }
        return "POST", "/slack/events", body, headers

    results = fire(port, n, request)
    for _, _, status, data in results:
        if status != 200:
            raise RuntimeError(f"slash command got {status}: {data[:300]!r}")
    watch.wait(paths, timeout)
    return [
        (ack, watch.seen[p][0] - t0, watch.seen[p][1])
        for p, (t0, ack, _, _) in zip(paths, results, strict=True)
    ]


def healthz_round(port: int, n: int) -> list[float]:
    results = fire(port, n, lambda i: ("GET", "/healthz", None, {}))
    for _, _, status, data in results:
        if status != 200:
            raise RuntimeError(f"/healthz got {status}: {data[:300]!r}")
    return [seconds for _, seconds, _, _ in results]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


# --- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--teams", type=int, default=40)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--database", default="bench_slack")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4, help="measured rounds of each kind")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--celery-concurrency", type=int, default=4)
    parser.add_argument("--eager", action="store_true", help="answer inside the web request")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for answers")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the ledger")
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the database")
    args = parser.parse_args()
    if args.days < 21:
        sys.exit("--days must be at least 21 (last week and the week before)")
    name = checked_name(args.database)
    url = f"{args.server.rstrip('/')}/{name}"
    if not shutil.which("redis-server") and not args.eager:
        sys.exit("redis-server not found: install it or pass --eager")

    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    prepare_database(args.server.rstrip("/"), name, args.fresh)

    import django

    django.setup()
    rows = prepare_data(args.rows, args.teams, args.days, args.regenerate)
    print(
        f"CostRecord: {rows:,} lines; {TEAM_SLUG} last week (raw SUM): {expected_total(date.today())}"
    )
    from django.db import connections

    connections.close_all()

    from tests.fakes.slack import FakeSlack

    logdir = Path(tempfile.mkdtemp(prefix="bench-slack-ack-"))
    procs = Processes(logdir)

    def on_signal(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    fake = FakeSlack()
    web_port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_BASE_URL": fake.url,
        "SITE_URL": f"http://127.0.0.1:{web_port}",
    }
    with fake:
        watch = AnswerWatch(fake)
        try:
            if args.eager:
                env["CELERY_TASK_ALWAYS_EAGER"] = "true"
                mode = "eager: the task runs inside the web request (CELERY_TASK_ALWAYS_EAGER)"
            else:
                redis_port = free_port()
                procs.start(
                    "redis",
                    [
                        "redis-server",
                        "--port",
                        str(redis_port),
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                    ],
                    env,
                )
                env["CELERY_BROKER_URL"] = f"redis://127.0.0.1:{redis_port}/0"

                def redis_up() -> bool:
                    with socket.create_connection(("127.0.0.1", redis_port), timeout=1) as s:
                        s.sendall(b"PING\r\n")
                        return s.recv(16).startswith(b"+PONG")

                wait_until("redis", redis_up, procs)
                procs.start(
                    "celery",
                    [
                        str(ROOT / ".venv/bin/celery"),
                        "-A",
                        "config",
                        "worker",
                        "--concurrency",
                        str(args.celery_concurrency),
                        "--loglevel",
                        "WARNING",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                    ],
                    env,
                )
                mode = (
                    f"Celery worker (prefork, concurrency {args.celery_concurrency}) "
                    "on a private redis broker"
                )
            procs.start(
                "gunicorn",
                [
                    str(ROOT / ".venv/bin/gunicorn"),
                    "config.wsgi",
                    "--workers",
                    str(args.workers),
                    "--bind",
                    f"127.0.0.1:{web_port}",
                    "--backlog",
                    "2048",
                    "--log-level",
                    "warning",
                ],
                env,
            )
            wait_until("gunicorn", lambda: healthz_ok(web_port), procs)
            print(f"gunicorn: {args.workers} workers on :{web_port}; answers: {mode}")
            print(f"fake Slack at {fake.base}; logs in {logdir}")

            # Warm-up: every worker imports, connects and plans its queries once.
            warm = max(args.concurrency, 5 * args.workers)
            for _ in range(2):
                healthz_round(web_port, warm)
                slash_round(web_port, warm, fake, watch, args.timeout)
            acks: list[float] = []
            answers: list[float] = []
            base: list[float] = []
            sample: dict = {}
            print(f"load average before: {load_average()}")
            for i in range(args.rounds):
                procs.check()
                if i % 2:  # neither kind always runs right after the other
                    base += healthz_round(web_port, args.concurrency)
                got = slash_round(web_port, args.concurrency, fake, watch, args.timeout)
                if not i % 2:
                    base += healthz_round(web_port, args.concurrency)
                acks += [a for a, _, _ in got]
                answers += [b for _, b, _ in got]
                sample = got[0][2]
            load = load_average()
        finally:
            watch.stop()
            procs.stop()

    text = str(sample.get("text", ""))
    if any(w in text.lower() for w in ("sorry", "not allowed", "didn't understand")):
        raise SystemExit(f"the answer is not a spend answer: {text[:300]}")
    print(f"\nanswer text (one of {len(answers)}): {text[:300]}")
    print(f"answer blocks: {len(sample.get('blocks', []))}; ledger: {rows:,} CostRecord lines")
    print(
        f"\n{args.rounds} rounds x {args.concurrency} concurrent requests; milliseconds; "
        "x = p50 / baseline p50 and p99 / baseline p99"
    )
    b50, b99 = percentile(base, 0.5), percentile(base, 0.99)
    print(f"{'':<50}{'p50':>9}{'p99':>9}{'x p50':>9}{'x p99':>9}")
    for label, values in (
        ("slash command: HTTP ack", acks),
        ("slash command: answer at the fake response_url", answers),
        ("baseline: GET /healthz (same concurrency)", base),
    ):
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        print(
            f"{label:<50}{p50 * 1000:>9.1f}{p99 * 1000:>9.1f}{p50 / b50:>8.1f}x{p99 / b99:>8.1f}x"
        )
    ack99, ans99 = percentile(acks, 0.99), percentile(answers, 0.99)
    print(
        f"target p99 ack < {ACK_TARGET * 1000:.0f} ms: {'met' if ack99 < ACK_TARGET else 'NOT met'}"
    )
    print(
        f"target p99 answer < {ANSWER_TARGET:.0f} s: {'met' if ans99 < ANSWER_TARGET else 'NOT met'}"
    )
    print(f"load average at the end of the measured rounds: {load}")
    print(f"finished {datetime.now().astimezone():%Y-%m-%d %H:%M:%S %Z}")
    host = urlsplit(url)
    print(f"database {host.path.lstrip('/')} kept for reuse (--fresh drops it)")


if __name__ == "__main__":
    main()
