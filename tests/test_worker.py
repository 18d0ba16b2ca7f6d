"""The Celery wiring end to end: a real worker process, Redis as the broker, PostgreSQL.

Skipped without REDIS_URL and a PostgreSQL DATABASE_URL; in CI both are set, and conftest
turns a missing service into a failure rather than a skip.
"""

import os
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client

from ilcop.celery import app as celery_app
from programmes import services
from programmes.models import Invitation

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.needs_worker,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"),
                       reason="needs REDIS_URL: a real Celery worker uses Redis as its broker"),
]


@pytest.fixture
def worker(transactional_db, tmp_path, settings):
    """A `celery worker` subprocess on a queue of its own, pointed at the test database."""
    if connection.vendor != "postgresql":
        pytest.skip("needs a PostgreSQL DATABASE_URL: the worker process shares the test database")
    db = connection.settings_dict
    database_url = (f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or 'localhost'}:"
                    f"{db['PORT'] or 5432}/{db['NAME']}")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    mail_dir = tmp_path / "mail"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "SITE_URL": "http://testserver",
    }
    env.pop("EMAIL_HOST", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "ilcop", "worker", "--pool", "solo",
         "--queues", queue, "--hostname", f"{queue}@%h", "--without-gossip",
         "--without-mingle", "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output: list[str] = []
    ready = threading.Event()

    def read():
        for line in process.stdout:
            output.append(line)
            if " ready." in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(60):
        process.kill()
        pytest.fail("the Celery worker did not start:\n" + "".join(output))

    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    settings.SITE_URL = "http://testserver"
    yield {"mail_dir": mail_dir, "output": output}
    celery_app.conf.task_default_queue = previous
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for_mail(mail_dir: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = list(mail_dir.glob("*.log")) if mail_dir.exists() else []
        if files:
            return files[0].read_text()
        time.sleep(0.2)
    raise AssertionError("no email arrived")


def test_a_real_worker_sends_the_invitation_email(worker, programme, site, core):
    assert not celery_app.conf.task_always_eager
    assert settings.CELERY_BROKER_URL.startswith("redis://")

    with transaction.atomic():
        services.invitation_create(
            programme=programme, site=site, invited_by=core, email="ada@trust.example",
            full_name="Dr Ada Okafor", site_role="clinical_lead",
        )
        # Nothing is queued until the invitation is committed and the worker can read it.
        assert len(connection.run_on_commit) == 1
        time.sleep(1)
        assert not worker["mail_dir"].exists() or not any(worker["mail_dir"].iterdir())

    message = wait_for_mail(worker["mail_dir"])
    assert "To: ada@trust.example" in message
    assert "Dear Dr Ada Okafor," in message
    assert any("send_invitation_email" in line and "succeeded" in line
               for line in worker["output"]), "".join(worker["output"])

    link = re.search(r"http://testserver(/invitations/\S+/)", message)[1]
    page = Client().get(link)
    assert page.status_code == 200
    assert Invitation.objects.get().status == "pending"
