"""Real Celery worker processes for the tests marked ``needs_worker``.

Each worker is a `celery worker` subprocess on a queue of its own (so a test run can share
Redis with anything else), pointed at the test database, writing email to files.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent

# pytestmark for a module of worker tests. Skipped without REDIS_URL (and, in the fixtures,
# without PostgreSQL); in CI both are set, and conftest turns a missing one into a failure.
NEEDS_WORKER = [
    pytest.mark.needs_worker,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"),
                       reason="needs REDIS_URL: a real Celery worker uses Redis as its broker"),
]


def database_url() -> str:
    if connection.vendor != "postgresql":
        pytest.skip("needs a PostgreSQL DATABASE_URL: the worker process shares the test database")
    db = connection.settings_dict
    return (f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or 'localhost'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}")


def new_queue() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@dataclass
class Worker:
    process: subprocess.Popen
    output: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)

    def log(self) -> str:
        return "".join(self.output)

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-task without acknowledging its message."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_worker(*, queue: str, mail_dir: Path, **extra_env: str) -> Worker:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "SITE_URL": "http://testserver",
        **extra_env,
    }
    env.pop("EMAIL_HOST", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "ilcop", "worker", "--pool", "solo",
         "--queues", queue, "--hostname", f"{queue}-{uuid.uuid4().hex[:4]}@%h",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    worker = Worker(process)

    def read():
        for line in process.stdout:
            worker.output.append(line)
            if " ready." in line:
                worker.ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not worker.ready.wait(60):
        process.kill()
        pytest.fail("the Celery worker did not start:\n" + worker.log())
    return worker


def wait_for(condition, *, timeout: float = 30, what: str = "the condition", interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")
