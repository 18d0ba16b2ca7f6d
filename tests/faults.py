"""Private PostgreSQL, Redis, web server and Celery workers that a fault test may break at will.

Other test runs share the machine's PostgreSQL (5432) and Redis (6379), so the fault tests
never touch them: each module starts its own throwaway instances on free ports, and the app
runs as real processes (gunicorn and `celery worker`) pointed at them, as in production.
The test then stops, restarts or kills any of them and watches what the app does.

Without the binaries (redis-server, PostgreSQL's initdb and pg_ctl, gunicorn) the tests skip
with the reason; in CI (CI set) a missing binary fails the run instead.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .worker import Worker, wait_for

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(sys.executable).parent


def unavailable(reason: str):
    """Skip on a laptop without the tool; fail in CI, where the fault tests must run."""
    if os.environ.get("CI"):
        pytest.fail(f"the fault tests must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def postgres_bin() -> Path | None:
    """The directory holding initdb and pg_ctl: Debian keeps them out of PATH."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                      else 0)
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, *, up: bool, timeout: float = 30) -> None:
    def check() -> bool:
        with socket.socket() as s:
            s.settimeout(0.5)
            return (s.connect_ex(("127.0.0.1", port)) == 0) is up
    wait_for(check, timeout=timeout, what=f"port {port} to be {'up' if up else 'down'}")


class PrivateRedis:
    """A redis-server of our own, no persistence: killing it loses every queued message,
    which is the worst case the app must survive."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        if not self.binary:
            unavailable("redis-server is not installed")
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(self.port, up=True)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        _wait_port(self.port, up=False)


class PrivatePostgres:
    """A throwaway PostgreSQL cluster in a temporary directory, listening on a free port.

    initdb refuses to run as root, so as root the cluster belongs to the postgres user
    (runuser); otherwise to whoever runs the tests."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        if self.bin is None or not (self.bin / "pg_ctl").exists():
            unavailable("PostgreSQL's initdb and pg_ctl are not installed")
        self.as_root = os.geteuid() == 0
        if self.as_root and not shutil.which("runuser"):
            unavailable("running as root without runuser: initdb refuses to run as root")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="ilcop-faults-pg-"))
        self.data = self.dir / "data"
        self.user = "postgres" if self.as_root else os.environ.get("USER", "postgres")

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(a) for a in args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def init(self) -> None:
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(self.bin / "initdb", "-D", self.data, "-U", self.user, "--auth", "trust",
                  "--no-sync", "-E", "UTF8")
        self.start()

    @property
    def _options(self) -> str:
        # fsync off: this cluster holds nothing worth keeping, and it makes migrate quicker.
        return f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"

    def start(self) -> None:
        self._run(self.bin / "pg_ctl", "-D", self.data, "-o", self._options, "-l",
                  self.dir / "log", "-w", "start")

    def stop(self) -> None:
        self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop", check=False)

    def restart(self) -> None:
        self._run(self.bin / "pg_ctl", "-D", self.data, "-o", self._options, "-l",
                  self.dir / "log", "-m", "fast", "-w", "restart")

    def url(self, database: str = "ilcop") -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{database}"

    def createdb(self, name: str) -> None:
        self._run(self.bin / "createdb", "-h", "127.0.0.1", "-p", self.port, "-U", self.user,
                  name)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Stack:
    """The environment every app process of one test module shares."""

    postgres: PrivatePostgres
    redis: PrivateRedis
    mail_dir: Path
    queue: str = field(default_factory=lambda: f"faults-{uuid.uuid4().hex[:8]}")
    processes: list = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            **os.environ,
            "DATABASE_URL": self.postgres.url(),
            "REDIS_URL": self.redis.url,
            "CELERY_QUEUE": self.queue,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(self.mail_dir),
            "SITE_URL": "http://testserver",
            "DJANGO_DEBUG": "false",
            "LOG_LEVEL": "INFO",
            **extra,
        }
        env.pop("EMAIL_HOST", None)
        env.pop("DJANGO_SETTINGS_MODULE", None)
        return env

    def manage(self, *args: str, **extra_env: str) -> str:
        done = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=self.env(**extra_env),
                              capture_output=True, text=True, timeout=180)
        if done.returncode:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n"
                                 f"{done.stderr}")
        return done.stdout

    def shell(self, code: str, **extra_env: str) -> dict:
        """Run ``code`` in `manage.py shell` against the private services; it must print
        one JSON object as its last line."""
        return json.loads(self.manage("shell", "-c", code, **extra_env).strip().splitlines()[-1])

    def _spawn(self, command: list[str], ready: str, **extra_env: str) -> Worker:
        process = subprocess.Popen(command, cwd=ROOT, env=self.env(**extra_env),
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        handle = Worker(process)

        def read():
            for line in process.stdout:
                handle.output.append(line)
                if ready in line:
                    handle.ready.set()

        threading.Thread(target=read, daemon=True).start()
        self.processes.append(handle)
        if not handle.ready.wait(60):
            process.kill()
            pytest.fail(f"{command[2]} did not start:\n{handle.log()}")
        return handle

    def start_worker(self, *, beat: bool = False, **extra_env: str) -> Worker:
        command = [PYTHON, "-m", "celery", "-A", "ilcop", "worker", "--pool", "solo",
                   "--queues", self.queue, "--hostname", f"{self.queue}-{uuid.uuid4().hex[:4]}@%h",
                   "--without-gossip", "--without-mingle", "--without-heartbeat",
                   "--loglevel", "INFO"]
        if beat:
            command += ["--beat", "--schedule", str(self.mail_dir.parent / "beat-schedule")]
        return self._spawn(command, " ready.", **extra_env)

    def start_web(self) -> Web:
        port = free_port()
        gunicorn = BIN / "gunicorn"
        if not gunicorn.exists():
            unavailable("gunicorn is not installed in the virtualenv")
        # One process, so "the same process answers again" is what the test sees.
        handle = self._spawn(
            [str(gunicorn), "ilcop.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "--threads", "4", "--timeout", "30", "--graceful-timeout", "2"],
            "Booting worker")
        _wait_port(port, up=True)
        return Web(f"http://127.0.0.1:{port}", handle)

    def stop_all(self) -> None:
        for handle in self.processes:
            handle.stop()
        self.processes.clear()


@dataclass
class Web:
    base: str
    process: Worker

    def client(self, session_key: str | None = None) -> Browser:
        return Browser(self.base, session_key)


class Browser:
    """Just enough of a browser: cookies, CSRF tokens and a timeout, so a hang fails."""

    def __init__(self, base: str, session_key: str | None) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        if session_key:
            self._cookie("sessionid", session_key)

    def _cookie(self, name: str, value: str) -> None:
        self.jar.set_cookie(http.cookiejar.Cookie(
            0, name, value, None, False, "127.0.0.1", False, False, "/", True, False, None,
            False, None, None, {}))

    def request(self, path: str, data: dict | None = None, timeout: float = 15):
        """(status, body). Raises if the server takes longer than ``timeout``."""
        body = None
        headers = {"Referer": self.base + path}
        if data is not None:
            token = next((c.value for c in self.jar if c.name == "csrftoken"), "")
            body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **data}).encode()
        request = urllib.request.Request(self.base + path, data=body, headers=headers)
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def get(self, path: str, **kwargs):
        return self.request(path, **kwargs)

    def post(self, path: str, data: dict, **kwargs):
        return self.request(path, data=data, **kwargs)


def messages_to(mail_dir: Path, address: str) -> int:
    """How many messages Django's file backend wrote to ``address``."""
    count = 0
    for path in mail_dir.glob("*.log") if mail_dir.exists() else []:
        count += sum(1 for line in path.read_text(errors="replace").splitlines()
                     if line == f"To: {address}")
    return count


# A programme with two sites, the site's clinical lead (who may invite to their team and
# whose session the web tests use) and a visit that happened, ready for its report.
SEED = """
import datetime, json, uuid
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from tests.factories import (CoreTeamMembershipFactory, EnrolmentFactory, ProgrammeFactory,
                             SiteMembershipFactory)
from visits.models import Visit, VisitAttendee
from visits.services import day
programme = ProgrammeFactory(name="Fault Test Programme")
site = EnrolmentFactory(programme=programme, status="intervention").site
other = EnrolmentFactory(programme=programme, status="intervention").site
lead = SiteMembershipFactory(site=site, role="clinical_lead").user
other_lead = SiteMembershipFactory(site=other, role="clinical_lead").user
core = CoreTeamMembershipFactory(programme=programme, role="project_manager").user
visit = Visit.objects.create(
    programme=programme, host=site, visitor=other, status=Visit.Status.HAPPENED,
    date=timezone.localdate() - datetime.timedelta(days=3), start_time=datetime.time(9),
    end_time=datetime.time(16), venue="Seminar room 2", facilitator=core)
for user, team, role in ((lead, "host", "clinical_lead"), (other_lead, "visiting",
                         "clinical_lead"), (core, "facilitator", "facilitator")):
    VisitAttendee.objects.create(visit=visit, user=user, team=team, role=role, present=True)
sessions = day.visit_agenda_ensure(visit=visit, user=core)
day.contribution_add(visit=visit, user=core, kind="strength", team="visiting",
                     role="clinical_lead", session=sessions[2], text="Clear case lists",
                     client_id=uuid.uuid4())
session = SessionStore()
session[SESSION_KEY] = str(lead.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = lead.get_session_auth_hash()
session.create()
print(json.dumps({"session": session.session_key, "site": site.pk, "visit": visit.pk,
                  "core": core.pk}))
"""


def approve_report(stack: Stack, *, visit: int, core: int) -> dict:
    """Approve the visit's report as the core team would (visits.services.report), in a
    process of its own, so that queueing its PDF meets whatever state Redis is in."""
    return stack.shell(f"""
import json
from ilcop.models import User
from visits.models import Visit
from visits.services.report import report_approve, latest_version
visit = Visit.objects.get(pk={visit})
report = report_approve(visit=visit, user=User.objects.get(pk={core}),
                        based_on_version=latest_version(visit))
print(json.dumps({{"report": report.pk}}))
""")


def report_state(stack: Stack, report: int) -> dict:
    return stack.shell(f"""
import json
from visits.models import VisitReport
r = VisitReport.objects.defer("html", "pdf").get(pk={report})
print(json.dumps({{"generated": r.generated_at is not None, "sent": r.sent_at is not None,
                   "versions": VisitReport.objects.filter(visit_id=r.visit_id).count()}}))
""")


def time_request(browser: Browser, path: str, **kwargs) -> tuple[int, float]:
    started = time.monotonic()
    try:
        status, _ = browser.get(path, **kwargs)
    except (urllib.error.URLError, ConnectionError):
        status = 0
    return status, time.monotonic() - started
