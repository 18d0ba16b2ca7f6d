"""Load benchmark: gunicorn against PostgreSQL with the national data, driven by wrk.

    python scripts/bench_load.py                       # 10 s per run, 1, 10 and 40 users
    python scripts/bench_load.py --duration 30 --users 1 10 40 80
    python scripts/bench_load.py --reseed              # rebuild the data first

docs/benchmarks.md says what it measures, how, and the figures on the reference machine.

1. Database: DATABASE_URL when it names PostgreSQL, else
   postgres://postgres@127.0.0.1:5432/ilcop_bench (created when missing), migrated, and
   seeded with `seed_demo --scale national` (the normal demo where the command has no
   --scale yet). The data is kept between runs, since building it takes minutes.
2. Server: gunicorn with ilcop.wsgi on a free local port, debug off. With REDIS_URL it runs
   under the production settings (ILCOP_ENVIRONMENT=production, which requires Redis), and
   every request carries the `X-Forwarded-Proto: https` that the TLS proxy in front of
   production adds; without it, the development settings with DJANGO_DEBUG=false, and the
   cache is then each worker's own memory.
3. Pages, as a core-team member of the largest programme: the dashboard, a site's journey,
   a plan with charts and the library search. Pages not built yet are listed as such.
4. Load: after a warm-up, wrk with 1, 10 and 40 connections, each a user sending requests
   back to back with no pause; p50 and p95 latency from scripts/bench_load.lua. Anything but
   a 200 is an error, and errors make the exit status non-zero; a missed goal does not.
5. Memory and CPU: the RSS of the gunicorn master and its workers, read from /proc every
   0.2 s; the CPU time the server side (gunicorn, its PostgreSQL backends, Redis) spends per
   request, and the share of the machine that went to other work during each run.
6. Charts: each worker counts its calls to the chart drawing function, so the output shows
   whether the measured runs were served from the chart cache.
"""

import argparse
import http.client
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/ilcop_bench"
LUA = Path(__file__).with_suffix(".lua")
GOAL_USERS = 10
GOAL_P95_MS = 250
# seed_demo --scale national builds five programmes; fewer means only the normal demo.
NATIONAL_PROGRAMMES = 5
SAMPLE_SECONDS = 0.2
WARMUP_LIMIT_SECONDS = 120
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Counts each chart drawn in a worker: qips.views.charts draws with measure_chart only when
# its cache has no SVG for the data, so a draw during a measured run is a cache miss.
GUNICORN_HOOKS = '''
import os


def post_worker_init(worker):
    from qips.views import charts

    draw = charts.measure_chart
    tally = os.path.join(os.environ["BENCH_DRAWS_DIR"], str(os.getpid()))

    def counted(*args, **kwargs):
        with open(tally, "a") as f:
            f.write("1\\n")
        return draw(*args, **kwargs)

    charts.measure_chart = counted
'''


def fail(message: str, code: int = 2) -> NoReturn:
    print(f"\nbench_load: {message}", file=sys.stderr)
    raise SystemExit(code)


# --- the database -----------------------------------------------------------------------

def database_url() -> str:
    given = os.environ.get("DATABASE_URL", "")
    if given.startswith(("postgres://", "postgresql://")):
        return given
    if given:
        print(f"DATABASE_URL is not PostgreSQL; using {DEFAULT_DATABASE} instead.")
    return DEFAULT_DATABASE


def ensure_database(url: str) -> None:
    import psycopg2

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    try:
        admin = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres", connect_timeout=5)
    except psycopg2.OperationalError as exc:
        fail(f"PostgreSQL is not reachable at {parsed.hostname}:{parsed.port or 5432} "
             f"({str(exc).strip().splitlines()[0]}).\nStart it (for example "
             "`pg_ctlcluster 15 main start`, as .ci/run does) or set DATABASE_URL.")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            print(f"Creating the database {name}.")
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def manage(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def setup_django(env: dict) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ilcop.settings")
    import django

    django.setup()


def seed_demo_has_scale() -> bool:
    from django.core.management import load_command_class

    parser = load_command_class("qips", "seed_demo").create_parser("manage.py", "seed_demo")
    return any("--scale" in action.option_strings for action in parser._actions)


def data_counts() -> dict[str, int]:
    from ilcop.models import User
    from programmes.models import Programme, Site
    from qips.models import Measurement, QualityImprovementPlan

    return {"programmes": Programme.objects.count(), "sites": Site.objects.count(),
            "people": User.objects.count(), "plans": QualityImprovementPlan.objects.count(),
            "measurements": Measurement.objects.count()}


def seed(*, reseed: bool, env: dict) -> str:
    """Build the data unless it is there; returns which scale is in the database."""
    national = seed_demo_has_scale()
    counts = data_counts()
    present = counts["programmes"] >= (NATIONAL_PROGRAMMES if national else 1)
    scale = ["--scale", "national"] if national else []
    if not national:
        print("seed_demo has no --scale option yet: benchmarking the normal demo, not the "
              "national data.")
    if reseed or not present:
        what = "national data" if national else "demo"
        print(f"Building the {what} (seed_demo {' '.join(scale)}"
              f"{' --reset' if reseed else ''}); this takes a few minutes.", flush=True)
        started = time.monotonic()
        manage("seed_demo", *scale, *(["--reset"] if reseed else []), env=env)
        print(f"Built in {time.monotonic() - started:.0f} s.")
        counts = data_counts()
    else:
        print("Reusing the data already in the database (--reseed rebuilds it).")
    print("Data: " + ", ".join(f"{n:,} {what}" for what, n in counts.items()) + ".")
    return "national" if counts["programmes"] >= NATIONAL_PROGRAMMES else "demo"


def vacuum_analyze() -> None:
    """Planner statistics, as autovacuum keeps them on a live database. A database just
    filled in one transaction has none until autovacuum gets round to it, and then plans
    queries for empty tables: the dashboard's activity query took 183 ms instead of 0.6."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")


# --- what to request --------------------------------------------------------------------

@dataclass
class Page:
    name: str
    path: str | None
    note: str = ""


def reverse_or_none(name: str, *args) -> str | None:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def library_word(programme) -> tuple[str, int, int]:
    """A word from shared plans' titles that finds some of the shared plans but at most half
    (the search also reads aims, drivers and lessons, so a title's word may find them all):
    the commonest such word, a search someone might make."""
    from qips import selectors

    titles = list(selectors.library(programme).values_list("title", flat=True))
    words = Counter(word for title in titles
                    for word in {w.strip(".,:;()'\"").lower() for w in title.split()}
                    if len(word) >= 5 and word.isalpha())
    fallback = ("", len(titles), len(titles))
    for word, _ in words.most_common(30):
        found = selectors.library(programme, query=word).count()
        if 0 < found <= len(titles) / 2:
            return word, found, len(titles)
        if found and not fallback[0]:
            fallback = (word, found, len(titles))
    return fallback


def choose_pages():
    """The largest programme, a core-team member of it, and the four pages to load."""
    from django.db.models import Count, Q

    from programmes.models import CoreTeamMembership, Programme, Site
    from qips.models import QualityImprovementPlan

    programme = (Programme.objects.annotate(size=Count("enrolments"))
                 .order_by("-size", "pk").first())
    if programme is None:
        fail("there is no programme in the database.")
    member = (CoreTeamMembership.objects.filter(programme=programme, user__is_active=True)
              .select_related("user").order_by("pk").first())
    if member is None:
        fail(f"programme {programme.pk} has no active core-team member to sign in as.")
    print(f"\nProgramme #{programme.pk} “{programme.name}” ({programme.size} enrolments); "
          f"signed in as its core team's {member.get_role_display().lower()} "
          f"(user #{member.user.pk}).")

    pages = []
    dashboard = reverse_or_none("qips:dashboard", programme.pk)
    pages.append(Page("Dashboard", dashboard, "" if dashboard else
                      "not built (qips:dashboard does not resolve)"))

    site = (Site.objects.filter(enrolments__programme=programme)
            .annotate(plans=Count("qips", filter=Q(qips__programme=programme), distinct=True),
                      visits=Count("hosted_visits", filter=Q(
                          hosted_visits__programme=programme), distinct=True))
            .select_related("organisation").order_by("-plans", "-visits", "pk").first())
    journey = reverse_or_none("qips:site_journey", programme.pk, site.pk)
    pages.append(Page("Site journey", journey, "" if journey else
                      "not built (qips:site_journey does not resolve)"))
    print(f"Site journey: site #{site.pk} ({site.organisation.name}, {site.name}): "
          f"{site.plans} plans, {site.visits} hosted visits.")

    plan = (QualityImprovementPlan.objects.filter(programme=programme)
            .annotate(measures_n=Count("measures", distinct=True),
                      points=Count("measures__measurements"))
            .order_by("-measures_n", "-points", "pk").first())
    pages.append(Page("Plan with charts", reverse_or_none("qips:plan_detail", plan.pk)))
    print(f"Plan with charts: plan #{plan.pk} “{plan.title}”: {plan.measures_n} measures, "
          f"{plan.points} measurements.")

    word, found, shared = library_word(programme)
    library = reverse_or_none("qips:library", programme.pk) + (f"?query={word}" if word else "")
    pages.append(Page("Library search", library))
    print(f"Library search: “{word}” finds {found} of the {shared} plans shared with the "
          "programme.")
    return member.user, pages


def session_cookie(user) -> str:
    """A signed-in session, as django.contrib.auth.login leaves it."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


# --- the server -------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name is in brackets and may hold spaces: the parent id follows it.
        if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
            found.append(int(entry))
    return found


def busy_ticks() -> int:
    """CPU time the whole machine has spent busy, in clock ticks (the first line of
    /proc/stat: user, nice, system, idle, iowait, irq, softirq, steal)."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(ticks) - ticks[3] - ticks[4]


def process_ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def our_pids(master: int, database: str, redis: bool) -> list[int]:
    """gunicorn's master and workers, the PostgreSQL backends serving our database (a
    backend's process title names its database) and, when it is the cache, Redis."""
    pids = [master]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            worker = int(stat[stat.rindex(")") + 2:].split()[1]) == master
            backend = ("(postgres)" in stat and f" {database} " in Path(
                f"/proc/{entry}/cmdline").read_text()) or (redis and "(redis-server)" in stat)
        except (OSError, ValueError):
            continue
        if worker or backend:
            pids.append(int(entry))
    return pids


@dataclass
class CpuSnapshot:
    at: float
    busy: int
    server: dict[int, int]
    sampler: int  # this script, which reads /proc while wrk runs

    @classmethod
    def take(cls, master: int, database: str, redis: bool) -> "CpuSnapshot":
        return cls(time.monotonic(), busy_ticks(),
                   {pid: process_ticks(pid) for pid in our_pids(master, database, redis)},
                   process_ticks(os.getpid()))

    def since(self, earlier: "CpuSnapshot", wrk_ticks: float) -> tuple[float, float]:
        """(seconds of CPU the server side used: gunicorn, its database backends, Redis;
        the percentage of the machine's CPU that went to anything but the benchmark, such
        as someone's tests)."""
        server = sum(ticks - earlier.server.get(pid, 0) for pid, ticks in self.server.items())
        others = (self.busy - earlier.busy - server - wrk_ticks
                  - (self.sampler - earlier.sampler))
        capacity = (self.at - earlier.at) * CLOCK_TICKS * (os.cpu_count() or 1)
        return server / CLOCK_TICKS, max(0.0, 100 * others / capacity)


def memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in kB: resident now, and the most the process has ever had resident."""
    rss = hwm = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


class Server:
    def __init__(self, *, env: dict, workers: int, threads: int, folder: Path):
        self.port = free_port()
        self.workers = workers
        self.folder = folder
        self.log = folder / "gunicorn.log"
        self.draws = folder / "draws"
        self.draws.mkdir()
        config = folder / "gunicorn_hooks.py"
        config.write_text(GUNICORN_HOOKS)
        command = [sys.executable, "-m", "gunicorn", "ilcop.wsgi:application",
                   "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
                   "--config", str(config), "--error-logfile", str(self.log),
                   "--log-level", "warning", "--timeout", "60"]
        if threads > 1:
            command += ["--worker-class", "gthread", "--threads", str(threads)]
        # Its own session: a Ctrl+C reaches this script, which then stops gunicorn itself.
        # Django's error log (a 500's traceback) goes to the workers' stderr; logs carry no
        # personal details (ilcop.logging).
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env={**env, "BENCH_DRAWS_DIR": str(self.draws)},
                stdout=log, stderr=log, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text().splitlines()[-30:])
        except OSError:
            return "(no log)"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                fail(f"gunicorn stopped while starting:\n{self.log_tail()}")
            if len(children_of(self.pid)) >= self.workers:
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                    connection.request("GET", "/")
                    connection.getresponse().read()
                    return
                except OSError:
                    pass
            time.sleep(0.2)
        fail(f"gunicorn did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def draw_counts(self) -> dict[int, int]:
        return {int(p.name): len(p.read_text().splitlines()) for p in self.draws.iterdir()}

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.process.wait()


class MemorySampler(threading.Thread):
    """Peak RSS of the master and its workers together, overall and per labelled phase."""

    def __init__(self, master: int):
        super().__init__(daemon=True)
        self.master = master
        self.label = "start"
        self.peak_total: dict[str, int] = {}
        self.peak_worker_hwm = 0
        self.peak_master = 0
        self.samples = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            master_rss, _ = memory_kb(self.master)
            total = master_rss
            for pid in children_of(self.master):
                rss, hwm = memory_kb(pid)
                total += rss
                self.peak_worker_hwm = max(self.peak_worker_hwm, hwm)
            self.peak_master = max(self.peak_master, master_rss)
            label = self.label
            self.peak_total[label] = max(self.peak_total.get(label, 0), total)
            self.samples += 1
            self._done.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._done.set()
        self.join()


# --- the load ---------------------------------------------------------------------------

def check_page(port: int, path: str, headers: dict) -> str | None:
    """None when the page answers 200; otherwise what it answered."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    if response.status == 200:
        return None
    where = response.getheader("Location")
    hint = " (the sign-in page: the session cookie was not accepted)" if where and (
        "login" in where) else ""
    return f"HTTP {response.status}" + (f" to {where}{hint}" if where else "")


def wrk(url: str, *, connections: int, seconds: float, headers: dict) -> dict:
    command = ["wrk", "--threads", str(min(connections, 2)), "--connections",
               str(connections), "--duration", f"{seconds:g}s", "--timeout", "30s",
               "--script", str(LUA)]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.run([*command, url], capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    if run.returncode != 0 or not lines:
        fail(f"wrk failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    result = json.loads(lines[-1])
    result["errors"] = (result["non_200"] + result["connect_errors"] + result["read_errors"]
                        + result["write_errors"] + result["timeouts"])
    result["rps"] = result["requests"] / result["duration_s"]
    result["wrk_ticks"] = CLOCK_TICKS * (after.ru_utime + after.ru_stime
                                         - before.ru_utime - before.ru_stime)
    return result


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0:
        print("Installing wrk from Debian's packages.")
        install = ["apt-get", "install", "-y", "-qq", "wrk"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(install, env=env, stdout=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
            subprocess.run(install, env=env, stdout=subprocess.DEVNULL, check=True)
    if not shutil.which("wrk"):
        fail("wrk is not installed. Install it with `sudo apt-get install wrk` (Debian and "
             "Ubuntu) or `brew install wrk` (macOS).")


@dataclass
class Row:
    page: str
    users: int | None = None
    result: dict = field(default_factory=dict)
    peak_mb: float = 0
    note: str = ""


def print_table(rows: list[Row]) -> None:
    goal = f"goal: p95 < {GOAL_P95_MS} ms at {GOAL_USERS} users"
    header = (f"{'Page':<17} {'Users':>5} {'Requests':>9} {'Req/s':>7} {'p50 ms':>8} "
              f"{'p95 ms':>8} {'Errors':>7} {'CPU ms/req':>11} {'Peak RSS MB':>12} "
              f"{'Others CPU':>11}  {goal}")
    print("\n" + header + "\n" + "-" * len(header))
    for row in rows:
        if row.note:
            print(f"{row.page:<17} {'':>5} {row.note}")
            continue
        r = row.result
        # wrk counts only answered requests: none answered means none within the run.
        answered = r["requests"] > 0
        verdict = ""
        if row.users == GOAL_USERS:
            met = answered and r["p95_ms"] < GOAL_P95_MS and not r["errors"]
            verdict = "met" if met else "NOT MET"
        p50, p95 = (f"{r['p50_ms']:>8.1f}", f"{r['p95_ms']:>8.1f}") if answered else (
            f"{'-':>8}", f"{'-':>8}")
        print(f"{row.page:<17} {row.users:>5} {r['requests']:>9,} {r['rps']:>7.1f} "
              f"{p50} {p95} {r['errors']:>7} {r['cpu_ms']:>11.0f} {row.peak_mb:>12.0f} "
              f"{r['others_cpu']:>10.0f}%  {verdict}")
    print("CPU ms/req: CPU time of gunicorn, its PostgreSQL backends (and Redis) per answered "
          "request. Peak RSS: gunicorn's master and workers together. Others CPU: the share "
          "of the machine's CPUs that went to anything but the benchmark during the run; "
          "above a few per cent the latencies are not this code's alone.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10,
                        help="seconds of load for each page and number of users (10)")
    parser.add_argument("--users", type=int, nargs="+", default=[1, 10, 40],
                        help="concurrent users, i.e. wrk connections (1 10 40)")
    parser.add_argument("--workers", type=int, default=4,
                        help="gunicorn worker processes (4: see docs/benchmarks.md)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per worker; more than 1 uses gunicorn's gthread workers")
    parser.add_argument("--warmup", type=float, default=2,
                        help="seconds of each warm-up round on a page, repeated until a "
                             "round draws no chart, for at most two minutes (2)")
    parser.add_argument("--reseed", action="store_true",
                        help="rebuild the data (seed_demo --reset) even if it is there")
    args = parser.parse_args()

    # A `kill` stops the server as a Ctrl+C does: through the finally below (and Ctrl+C does
    # even when a shell started this in the background with SIGINT ignored).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    ensure_wrk()
    url = database_url()
    ensure_database(url)
    redis = os.environ.get("REDIS_URL", "")
    secret = secrets.token_urlsafe(50)
    base = {**os.environ, "DATABASE_URL": url, "DJANGO_SECRET_KEY": secret,
            "DJANGO_DEBUG": "false", "LOG_LEVEL": "WARNING",
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"}
    # Seeding refuses the production settings (the demo's published password).
    tools = {**base, "ILCOP_ENVIRONMENT": "development"}
    if redis:
        # Production's settings as deployed (whitenoise's manifest storage, secure cookies,
        # HSTS); the HTTPS redirect is satisfied by the header the TLS proxy adds.
        served = {**base, "ILCOP_ENVIRONMENT": "production",
                  "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost"}
        headers = {"X-Forwarded-Proto": "https"}
        posture = ("production settings (ILCOP_ENVIRONMENT=production), cache and chart "
                   "SVGs in Redis, shared by the workers")
    else:
        # Production refuses to start without Redis; the nearest runnable posture.
        served = {**base, "ILCOP_ENVIRONMENT": "development"}
        headers = {}
        posture = ("development settings with DEBUG off (production needs REDIS_URL); "
                   "no Redis, so each worker caches chart SVGs in its own memory")

    where = urlparse(url)
    database = where.path.lstrip("/")
    print(f"Database: PostgreSQL {where.path.lstrip('/')} on "
          f"{where.hostname}:{where.port or 5432}.")
    manage("migrate", "--noinput", "-v", "0", env=tools)
    setup_django(tools)
    scale = seed(reseed=args.reseed, env=tools)
    vacuum_analyze()
    user, pages = choose_pages()
    headers["Cookie"] = session_cookie(user)
    from django.db import connections

    connections.close_all()
    manage("collectstatic", "--noinput", "-v", "0", env=served)

    folder = Path(tempfile.mkdtemp(prefix="ilcop-bench-load-"))
    server = sampler = None
    rows: list[Row] = []
    try:
        server = Server(env=served, workers=args.workers, threads=args.threads, folder=folder)
        server.wait_ready()
        kind = (f"gthread, {args.threads} threads each" if args.threads > 1
                else "sync, one request at a time each")
        print(f"\ngunicorn on 127.0.0.1:{server.port}: {args.workers} workers ({kind}); "
              f"{posture}.\nThis machine: {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.2f} before the load (anything else running skews the "
              f"figures). {args.duration:g} s per run; each user sends its next request as "
              "soon as the last is answered.")
        started_mb = sum(memory_kb(pid)[0] for pid in [server.pid, *children_of(server.pid)])
        started_mb /= 1024
        sampler = MemorySampler(server.pid)
        sampler.start()
        base_url = f"http://127.0.0.1:{server.port}"
        draws: dict[str, tuple[int, int]] = {}
        for page in pages:
            if page.path is None:
                rows.append(Row(page.name, note=page.note))
                continue
            before = sum(server.draw_counts().values())
            problem = check_page(server.port, page.path, headers)
            if problem:
                log = f" The server's log ends:\n{server.log_tail()}" if "HTTP 5" in problem else ""
                print(f"\n!! {page.name} {page.path} answered {problem}, not 200.{log}",
                      file=sys.stderr)
                rows.append(Row(page.name, note=f"ERROR: {problem}"))
                continue
            warmed = sum(server.draw_counts().values())
            sampler.label = f"{page.name} warm-up"
            # Without Redis each worker fills its own cache, and which worker takes a
            # request is up to the kernel: warm up until a round draws no chart and answers.
            deadline = time.monotonic() + WARMUP_LIMIT_SECONDS
            while time.monotonic() < deadline:
                warm = wrk(base_url + page.path, connections=args.workers,
                           seconds=args.warmup, headers=headers)
                if warm["errors"]:
                    print(f"\n!! {page.name}: {warm['errors']} errors during the warm-up "
                          f"(first non-200 status {warm['first_non_200_status']}).",
                          file=sys.stderr)
                drawn, warmed = warmed, sum(server.draw_counts().values())
                if drawn == warmed and warm["requests"]:
                    break
            else:
                print(f"\n!! {page.name}: still drawing charts after "
                      f"{WARMUP_LIMIT_SECONDS} s of warm-up.", file=sys.stderr)
            for users in args.users:
                sampler.label = f"{page.name} {users}"
                cpu = CpuSnapshot.take(server.pid, database, bool(redis))
                result = wrk(base_url + page.path, connections=users,
                             seconds=args.duration, headers=headers)
                server_cpu, result["others_cpu"] = CpuSnapshot.take(
                    server.pid, database, bool(redis)).since(cpu, result["wrk_ticks"])
                result["cpu_ms"] = 1000 * server_cpu / max(result["requests"], 1)
                if result["non_200"]:
                    print(f"\n!! {page.name} at {users} users: {result['non_200']} responses "
                          f"were not 200 (first: {result['first_non_200_status']}).",
                          file=sys.stderr)
                rows.append(Row(page.name, users, result,
                                sampler.peak_total.get(sampler.label, 0) / 1024))
            draws[page.name] = (warmed - before, sum(server.draw_counts().values()) - warmed)
        sampler.stop()
        print_table(rows)

        print("\nPath of each page: " + "; ".join(
            f"{p.name} {p.path}" for p in pages if p.path))
        if scale != "national":
            print("Data: the normal demo, NOT the national data (see above): these are not the "
                  "national figures.")
        peak = max(sampler.peak_total.values()) / 1024
        print(f"Memory of the web process (gunicorn master and {args.workers} workers, RSS "
              f"sampled every {SAMPLE_SECONDS:g} s, {sampler.samples} samples): "
              f"{started_mb:.0f} MB once started (before requests load the URLs and "
              f"views), peak {peak:.0f} MB in total; the largest single "
              f"worker peaked at {sampler.peak_worker_hwm / 1024:.0f} MB (VmHWM), the "
              f"master at {sampler.peak_master / 1024:.0f} MB.")
        per_worker = server.draw_counts()
        shared = ("the cache is Redis, so a chart one worker drew is drawn by no other, nor by "
                  "a later run within a day" if redis else "each worker's cache is its own "
                  "memory, so every worker draws each chart once")
        print("Chart drawing (calls to measure_chart in the workers): " + "; ".join(
            f"{name}: {w} during the warm-up, {m} during the measured runs"
            for name, (w, m) in draws.items()) + f". {len(per_worker)} of {args.workers} "
            f"workers drew at least one chart, {sum(per_worker.values())} in all: {shared}.")
    finally:
        if server is not None:
            server.stop()
        if sampler is not None:
            sampler.stop()
        shutil.rmtree(folder, ignore_errors=True)
        from django.contrib.sessions.models import Session

        Session.objects.filter(session_key=headers["Cookie"].split("=", 1)[1]).delete()

    failed = [row for row in rows if row.note.startswith("ERROR") or (
        row.result and row.result["errors"])]
    if failed:
        print(f"\nErrors on: {', '.join(sorted({row.page for row in failed}))}. "
              "Every request must answer 200.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nInterrupted; gunicorn has been stopped.", file=sys.stderr)
        sys.exit(130)
