"""The learner pages under load: 10,000 learners in PostgreSQL, 20 clients, served by gunicorn.

    .venv/bin/python bench/portal.py
    .venv/bin/python bench/portal.py --learners 2000 --rounds 10     # a quick run

Drops and re-creates the database `bench_portal` (BENCH_PORTAL_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/bench_portal; its name must start with `bench_`),
migrates it, syncs the real curriculum (`curriculum_sync`) and creates `--learners` learners
at every stage of the journey (bench/portal_data.py: module progress, quiz answers, exam
attempts with their drawn questions, credentials; bulk_create and COPY).

Then:

1. Query counts, in this process with Django's test Client and CaptureQueriesContext (gunicorn
   workers cannot report them): each page for learners at each stage (new, learning, ready,
   waiting, certified, and a learner with an open attempt), the second request of each (warm
   process caches), the largest count per page reported. The issue's budget: 10 queries.
2. Latency: gunicorn (`config.wsgi`, `--workers`, DEBUG off, CONN_MAX_AGE as configured, an
   in-memory Celery broker) on a free port, in two phases. A round is one GET of every page,
   in a random order: the dashboard (/learn/dashboard/), a random module page
   (/learn/<slug>/), the exam page (/exam/), a random question of the client's attempt
   (/exam/attempts/<id>/<n>/) and the baseline, GET /healthz (a SELECT 1 through the same
   middleware), so the baseline is measured under the same load at the same moments.
   - 1 client alone (`--solo-rounds`): what each page costs, without queueing;
   - `--clients` threads, each signed in through the login form (CSRF) as one exam-ready
     learner; all start an exam attempt at once (POST /exam/, timed), do one unmeasured round,
     then `--rounds` rounds together, with no pause between requests unless `--think`.
   Every response must be a 200 (a redirect to the login is an error).

Prints p50/p95/max per page and phase, p95 / baseline p95, queries per page, the machine's
load average before and after. With no think time the clients are a closed loop: each request
waits behind the others' (latency ~ clients / throughput), so the concurrent p95 mostly
measures the machine's throughput; the 1-client table and the ratios show the pages' own cost.
Targets (issue 7): p95 under 100 ms and at most 10 queries on every page. Machines here are
noisy and the clients share the CPU with the server: compare the ratios of one run, not
seconds across runs. gunicorn is stopped on exit, errors included.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_portal"
MAX_QUERIES = 10
TARGET_P95 = 0.100
PAGES = ["dashboard", "module", "exam", "attempt question", "healthz (baseline)"]
ATTEMPT_RE = re.compile(r"/exam/attempts/([0-9a-f-]{36})/1/")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def recreate_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    if not name.startswith("bench_"):
        sys.exit(f"refusing to drop {name!r}: the benchmark database's name must start with bench_")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


# --- Set-up ----------------------------------------------------------------------------------


def set_up(learners: int, seed: int) -> Any:
    from django.core.management import call_command

    from bench.portal_data import populate
    from curriculum.services import curriculum_sync

    t = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrated in {time.perf_counter() - t:.1f}s")
    t = time.perf_counter()
    report = curriculum_sync()
    print(f"curriculum synced in {time.perf_counter() - t:.1f}s: {report.lines()[0]}")
    t = time.perf_counter()
    population = populate(learners, seed=seed)
    counts = ", ".join(f"{n:,} {what}" for what, n in population.counts.items())
    stages = ", ".join(f"{len(ids):,} {stage}" for stage, ids in population.users.items())
    print(f"generated in {time.perf_counter() - t:.1f}s: {counts}")
    print(f"learners by stage: {stages}")
    return population


# --- Query counts (in process) ---------------------------------------------------------------


def count_queries(population: Any, clients: list[int]) -> dict[str, tuple[int, str]]:
    """The largest number of queries of each page (every module page) over learners at every
    stage, with the stage that needed it. The exam start is a write, outside the budget."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from curriculum.models import Module
    from portal.exam import attempt_start, current_exam

    slugs = list(Module.objects.catalogue().values_list("slug", flat=True))
    exam = current_exam()
    assert exam is not None

    def count(client: Client, url: str, method: str = "get") -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = getattr(client, method)(url)
        ok = 302 if method == "post" else 200
        assert response.status_code == ok, (url, response.status_code)
        return len(ctx.captured_queries)

    spare_ready = [pk for pk in population.users["ready"] if pk not in clients]
    learners = {stage: population.users[stage][0] for stage in population.users}
    learners["ready"] = spare_ready[0]
    worst: dict[str, tuple[int, str]] = defaultdict(lambda: (-1, ""))

    def note(page: str, queries: int, who: str) -> None:
        if queries > worst[page][0]:
            worst[page] = (queries, who)

    for stage, pk in learners.items():
        client = Client(SERVER_NAME="127.0.0.1")
        client.force_login(User.objects.get(pk=pk))
        pages = [("dashboard", "/learn/dashboard/"), ("exam", "/exam/")]
        pages += [("module", f"/learn/{slug}/") for slug in slugs]
        for page, url in pages:
            count(client, url)  # the first one warms process caches up (content types, ...)
            note(page, count(client, url), stage)
    # A learner with an open attempt: starting it, then every page again.
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(User.objects.get(pk=spare_ready[1]))
    note("exam start (POST)", count(client, "/exam/", "post"), "ready")
    attempt = attempt_start(user=User.objects.get(pk=spare_ready[1]), exam=exam)
    pages = {
        "dashboard": "/learn/dashboard/",
        "module": f"/learn/{slugs[0]}/",
        "exam": "/exam/",
        "attempt question": f"/exam/attempts/{attempt.public_id}/7/",
    }
    for page, url in pages.items():
        count(client, url)
        note(page, count(client, url), "open attempt")
    note("healthz (baseline)", count(client, "/healthz"), "any")
    return dict(worst)


# --- gunicorn --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """gunicorn gets SIGTERM if this process dies without running its clean-up (Linux)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Gunicorn:
    def __init__(self, url: str, workers: int, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DATABASE_URL": url,
            "DEBUG": "False",
            "CELERY_BROKER_URL": "memory://",
            "LOG_LEVEL": "WARNING",
        }
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                "--timeout",
                "120",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )

    def wait_ready(self, timeout: float = 90) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                if requests.get(f"{self.base}/healthz", timeout=30).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or workers still booting
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer /healthz in {timeout:.0f}s:\n{self.tail()}")

    def tail(self) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])

    def stop(self, *, quick: bool = False) -> None:
        """Stop the master and its workers: gracefully after a finished run, at once (SIGQUIT)
        when interrupted; whatever is left after 10 s is killed (gunicorn's own session)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT if quick else signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


# --- Load ------------------------------------------------------------------------------------


@dataclass
class Results:
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    starts: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, times: dict[str, list[float]], errors: list[str]) -> None:
        with self.lock:
            self.errors.extend(errors)
            for name, values in times.items():
                self.times[name].extend(values)


@dataclass
class Learner:
    """One signed-in browser: a requests.Session with the session and CSRF cookies."""

    base: str
    email: str
    session: Any = None
    attempt: str = ""

    def sign_in(self) -> None:
        import requests

        from bench.portal_data import PASSWORD

        self.session = requests.Session()
        self.session.get(f"{self.base}/accounts/login/", timeout=120).raise_for_status()
        response = self.session.post(
            f"{self.base}/accounts/login/",
            data={"username": self.email, "password": PASSWORD, "next": "/learn/dashboard/"},
            headers={"X-CSRFToken": self.session.cookies["csrftoken"]},
            allow_redirects=False,
            timeout=120,
        )
        if response.status_code != 302 or "sessionid" not in self.session.cookies:
            raise RuntimeError(f"sign-in failed for {self.email}: {response.status_code}")

    def start_exam(self) -> float:
        """POST /exam/ (start an attempt); returns the seconds it took."""
        t = time.perf_counter()
        response = self.session.post(
            f"{self.base}/exam/",
            headers={"X-CSRFToken": self.session.cookies["csrftoken"]},
            allow_redirects=False,
            timeout=120,
        )
        elapsed = time.perf_counter() - t
        match = ATTEMPT_RE.search(response.headers.get("Location", ""))
        if response.status_code != 302 or match is None:
            raise RuntimeError(f"{self.email} could not start the exam: {response.status_code}")
        self.attempt = match.group(1)
        return elapsed

    def rounds(
        self, count: int, slugs: list[str], rng: random.Random, think: float = 0.0
    ) -> tuple[dict[str, list[float]], list[str]]:
        """`count` rounds of one GET of every page, in a random order each round, with a
        random pause of `think` seconds on average before each request."""
        times: dict[str, list[float]] = defaultdict(list)
        errors = []
        for _ in range(count):
            plan = [
                ("dashboard", "/learn/dashboard/"),
                ("module", f"/learn/{rng.choice(slugs)}/"),
                ("exam", "/exam/"),
                ("healthz (baseline)", "/healthz"),
            ]
            if self.attempt:
                position = rng.randint(1, 50)
                plan.append(("attempt question", f"/exam/attempts/{self.attempt}/{position}/"))
            rng.shuffle(plan)
            for name, path in plan:
                if think:
                    time.sleep(rng.expovariate(1 / think))
                t = time.perf_counter()
                response = self.session.get(f"{self.base}{path}", allow_redirects=False, timeout=60)
                times[name].append(time.perf_counter() - t)
                if response.status_code != 200:
                    errors.append(f"{self.email} GET {path}: {response.status_code}")
        return times, errors


def solo(base: str, email: str, slugs: list[str], rounds: int, seed: int, workers: int) -> Results:
    """One client alone: what each page costs the server without queueing."""
    results = Results()
    learner = Learner(base, email)
    rng = random.Random(seed)
    learner.sign_in()
    # Warm every worker up first (connections, URLconf, compiled templates): any worker may
    # take any request.
    learner.rounds(3 * workers, slugs, rng)
    results.starts.append(learner.start_exam())
    learner.rounds(3 * workers, slugs, rng)
    results.add(*learner.rounds(rounds, slugs, rng))
    return results


def concurrent(
    base: str, emails: list[str], slugs: list[str], rounds: int, seed: int, think: float
) -> tuple[Results, float]:
    """Every client signs in, then all start an attempt at once, warm up, and run `rounds`
    rounds together; returns the results and the seconds of the measured rounds."""
    results = Results()
    signed_in = threading.Barrier(len(emails))
    warm = threading.Barrier(len(emails) + 1)

    def client(n: int, email: str) -> None:
        learner = Learner(base, email)
        rng = random.Random(seed + n)
        try:
            learner.sign_in()
            signed_in.wait(timeout=600)
            started = learner.start_exam()
            learner.rounds(1, slugs, rng)
        except Exception as exc:
            with results.lock:
                results.errors.append(f"{email}: {exc!r}")
            signed_in.abort()
            warm.abort()
            return
        with results.lock:
            results.starts.append(started)
        try:
            warm.wait(timeout=600)
        except threading.BrokenBarrierError:
            return
        results.add(*learner.rounds(rounds, slugs, rng, think))

    threads = [
        threading.Thread(target=client, args=(n, email), daemon=True)
        for n, email in enumerate(emails)
    ]
    for thread in threads:
        thread.start()
    try:
        warm.wait(timeout=900)
    except threading.BrokenBarrierError:
        for thread in threads:
            thread.join(timeout=60)
        raise RuntimeError("clients failed to start:\n" + "\n".join(results.errors)) from None
    t = time.perf_counter()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - t


# --- Main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--rounds", type=int, default=25, help="rounds of every page per client")
    parser.add_argument("--solo-rounds", type=int, default=40, help="rounds of the lone client")
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean pause (seconds, exponential) of each concurrent client before each request",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    url = os.environ.get("BENCH_PORTAL_DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        sys.exit("bench/portal.py needs PostgreSQL (BENCH_PORTAL_DATABASE_URL=postgres://...)")
    # Never the checkout's own database: this one is dropped and re-created.
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["CELERY_BROKER_URL"] = "memory://"
    load_before = os.getloadavg()
    total = time.perf_counter()
    recreate_database(url)

    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connections

    from curriculum.models import Module

    population = set_up(args.learners, args.seed)
    rng = random.Random(args.seed)
    if len(population.users["ready"]) < args.clients + 3:
        sys.exit(f"only {len(population.users['ready'])} exam-ready learners: raise --learners")
    chosen = rng.sample(population.users["ready"], args.clients + 1)
    queries = count_queries(population, chosen)
    email = dict(User.objects.filter(pk__in=chosen).values_list("pk", "email"))
    emails = [email[pk] for pk in chosen]
    slugs = list(Module.objects.catalogue().values_list("slug", flat=True))
    connections.close_all()
    print(f"set-up done in {time.perf_counter() - total:.1f}s")

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    with tempfile.TemporaryDirectory(prefix="bench-portal-") as tmp:
        server = Gunicorn(url, args.workers, Path(tmp) / "gunicorn.log")
        try:
            server.wait_ready()
            print(f"gunicorn on {server.base}, {args.workers} workers")
            alone = solo(server.base, emails[-1], slugs, args.solo_rounds, args.seed, args.workers)
            load_start = os.getloadavg()
            together, elapsed = concurrent(
                server.base, emails[:-1], slugs, args.rounds, args.seed, args.think
            )
            load_end = os.getloadavg()
        except (KeyboardInterrupt, SystemExit):
            print("interrupted: stopping gunicorn", file=sys.stderr)
            server.stop(quick=True)
            raise
        except BaseException:
            print(server.tail(), file=sys.stderr)
            server.stop(quick=True)
            raise
        server.stop()
    print(
        f"\nload average {load_before[0]:.2f} before set-up, {load_start[0]:.2f} at the start "
        f"of the concurrent run, {load_end[0]:.2f} (1 min) / {load_end[1]:.2f} (5 min) at its "
        f"end; {os.cpu_count()} CPUs"
    )
    print("milliseconds; ratio = page p95 / baseline p95; queries: in process, worst learner")
    table(f"1 client, {args.solo_rounds} rounds (service time, no queueing)", alone, queries)
    measured = sum(len(v) for v in together.times.values())
    pause = f"{args.think:g} s mean think time" if args.think else "no think time"
    table(
        f"{args.clients} concurrent clients, {args.rounds} rounds each, {pause}: "
        f"{measured:,} requests in {elapsed:.1f}s ({measured / elapsed:.0f}/s)",
        together,
        queries,
    )
    print()
    for name in PAGES[:-1]:
        p95 = percentile(together.times[name], 0.95)
        count = queries[name][0]
        verdict = "met" if p95 < TARGET_P95 and count <= MAX_QUERIES else "NOT met"
        print(
            f"target (p95 < {TARGET_P95 * 1000:.0f} ms with {args.clients} clients, "
            f"<= {MAX_QUERIES} queries) for {name}: {verdict} ({p95 * 1000:.0f} ms, "
            f"{count} queries)"
        )
    if alone.errors or together.errors:
        sys.exit(1)


def table(title: str, results: Results, queries: dict[str, Any]) -> None:
    base_p95 = percentile(results.times["healthz (baseline)"], 0.95)
    print(f"\n{title}")
    print(
        f"{'page':<22}{'n':>6}{'p50':>9}{'p95':>9}{'max':>9}{'ratio':>8}{'queries':>9}  worst for"
    )
    rows = [(name, results.times[name]) for name in PAGES]
    rows.append(("exam start (POST)", results.starts))
    for name, times in rows:
        if not times:
            continue
        count, who = queries.get(name, (0, ""))
        p95 = percentile(times, 0.95)
        print(
            f"{name:<22}{len(times):>6}{percentile(times, 0.5) * 1000:>9.1f}{p95 * 1000:>9.1f}"
            f"{max(times) * 1000:>9.1f}{p95 / base_p95:>7.1f}x{count:>9}  {who}"
        )
    if results.errors:
        print(f"{len(results.errors)} errors, e.g.:\n  " + "\n  ".join(results.errors[:5]))


if __name__ == "__main__":
    main()
