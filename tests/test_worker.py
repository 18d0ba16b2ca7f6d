"""The Celery wiring end to end: a real worker process, Redis as the broker, PostgreSQL.

Skipped without REDIS_URL and a PostgreSQL DATABASE_URL; in CI both are set, and conftest
turns a missing service into a failure rather than a skip.
"""

import re
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client

from ilcop.celery import app as celery_app
from programmes import services
from programmes.models import Invitation

from .worker import NEEDS_WORKER, new_queue, start_worker

pytestmark = NEEDS_WORKER


@pytest.fixture
def worker(transactional_db, tmp_path, settings):
    """One worker on a queue of its own; the tasks this test queues go there."""
    queue = new_queue()
    mail_dir = tmp_path / "mail"
    process = start_worker(queue=queue, mail_dir=mail_dir)
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    settings.SITE_URL = "http://testserver"
    yield {"mail_dir": mail_dir, "output": process.output}
    celery_app.conf.task_default_queue = previous
    process.stop()


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
