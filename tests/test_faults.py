"""Faults against the real services: PostgreSQL restarted, Redis down, a worker killed.

The app runs as it does in production, as real processes (gunicorn, a Celery worker with
beat) against a private PostgreSQL cluster and a private Redis that only these tests use
(tests/faults.py), so they can be stopped and killed without touching anyone else's run.
Run by `make test-faults` (marker ``faults``), not by `make test`. docs/operations.md says
what people see during each fault.
"""

import time
import uuid

import pytest

from .faults import (
    SEED,
    PrivatePostgres,
    PrivateRedis,
    Stack,
    approve_report,
    messages_to,
    report_state,
    time_request,
)
from .worker import wait_for

pytestmark = pytest.mark.faults

# Hand a dead worker's message to the next worker within seconds, not the production hours.
QUICK_REDELIVERY = {"CELERY_VISIBILITY_TIMEOUT": "3", "CELERY_RESTORE_INTERVAL": "1",
                    "CELERY_RESTORE_THROTTLE": "1"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    postgres = PrivatePostgres()
    redis = PrivateRedis()
    postgres.init()
    try:
        postgres.createdb("ilcop")
        redis.start()
        stack = Stack(postgres, redis, tmp_path_factory.mktemp("faults") / "mail")
        stack.manage("migrate", "--noinput")
        stack.seed = stack.shell(SEED)
        yield stack
    finally:
        redis.kill()
        postgres.destroy()


@pytest.fixture
def app(stack):
    """Each test starts its own processes, and leaves both services running."""
    yield stack
    stack.stop_all()
    if stack.redis.process is None or stack.redis.process.poll() is not None:
        stack.redis.start()


def invite(browser, site: int, email: str):
    """The site's clinical lead invites a colleague through the team page, as a person would."""
    path = f"/sites/{site}/team/invite/"
    status, _ = browser.get(path)
    assert status == 200
    return browser.post(path, {"full_name": "Dr Ada Okafor", "email": email, "role": "cns"})


def outbox_size(stack) -> int:
    return stack.shell("import json\nfrom ilcop.models import OutboxTask\n"
                       "print(json.dumps({'n': OutboxTask.objects.count()}))")["n"]


def test_after_postgresql_restarts_the_same_processes_answer_again(app):
    web = app.start_web()
    app.start_worker()
    browser = web.client(app.seed["session"])
    page = f"/sites/{app.seed['site']}/"
    assert browser.get(page)[0] == 200

    app.postgres.stop()
    # During the outage a page fails at once with a server error, rather than hanging.
    status, took = time_request(browser, page)
    assert 500 <= status < 600 and took < 10, (status, took)

    app.postgres.start()
    # The same gunicorn process, with the connections it held before the restart: Django's
    # CONN_HEALTH_CHECKS drops a dead persistent connection and opens a new one.
    for _ in range(4):  # every thread, each with its own connection
        status, body = browser.get(page)
        assert status == 200, body[:500]
    assert web.process.process.poll() is None

    # The worker, started before the restart, recovers too: the invitation's email arrives.
    email = f"restart-{uuid.uuid4().hex[:6]}@trust.example"
    status, body = invite(browser, app.seed["site"], email)
    assert status == 200 and f"An invitation has been sent to {email}" in body
    wait_for(lambda: messages_to(app.mail_dir, email) == 1, timeout=60,
             what="the invitation email from the worker")


def test_with_redis_down_pages_work_and_emails_and_reports_go_once_it_is_back(app):
    web = app.start_web()
    app.start_worker(beat=True, OUTBOX_FLUSH_SECONDS="1")
    browser = web.client(app.seed["session"])
    page = f"/sites/{app.seed['site']}/"
    assert browser.get(page)[0] == 200

    app.redis.kill()
    status, took = time_request(browser, page)
    assert status == 200 and took < 10, (status, took)
    # A failed sign-in counts against a rate limit held in the cache: still an ordinary page.
    stranger = web.client()
    assert stranger.get("/accounts/login/")[0] == 200
    status, body = stranger.post("/accounts/login/", {"login": "nobody@trust.example",
                                                      "password": "not the password"})
    assert status == 200 and "nhsuk-error-summary" in body

    # An invitation made now is saved and its email kept, not lost and not an error page.
    email = f"outage-{uuid.uuid4().hex[:6]}@trust.example"
    status, body = invite(browser, app.seed["site"], email)
    assert status == 200 and f"An invitation has been sent to {email}" in body
    # A report approved now: its PDF cannot be queued either.
    report = approve_report(app, visit=app.seed["visit"], core=app.seed["core"])["report"]
    assert outbox_size(app) == 2
    time.sleep(1)
    assert messages_to(app.mail_dir, email) == 0
    assert report_state(app, report) == {"generated": False, "sent": False, "versions": 1}

    app.redis.start()
    # The worker reconnects, beat's flush_outbox queues the kept tasks, and each runs once.
    wait_for(lambda: messages_to(app.mail_dir, email) == 1, timeout=90,
             what="the invitation email once Redis is back")
    wait_for(lambda: report_state(app, report)["sent"], timeout=90, interval=1,
             what="the report to be made and sent once Redis is back")
    time.sleep(3)  # long enough for a second flush or a redelivery to show up
    assert messages_to(app.mail_dir, email) == 1
    assert report_state(app, report) == {"generated": True, "sent": True, "versions": 1}
    assert outbox_size(app) == 0


def test_a_worker_killed_mid_task_leaves_it_to_the_next_worker_which_does_it_once(
        app, tmp_path):
    """acks_late: the killed worker never acknowledged its message, so Redis hands it to the
    next worker after the visibility timeout; the email goes once."""
    web = app.start_web()
    marker = tmp_path / "sending-began"
    first = app.start_worker(**QUICK_REDELIVERY,
                             EMAIL_BACKEND="tests.stalling_mail.StallingBackend",
                             STALL_MARKER=str(marker), STALL_AT="1")
    browser = web.client(app.seed["session"])
    email = f"killed-{uuid.uuid4().hex[:6]}@trust.example"
    status, _ = invite(browser, app.seed["site"], email)
    assert status == 200

    wait_for(marker.exists, timeout=60, what="the first worker to start sending")
    first.kill()
    assert first.process.returncode == -9
    assert messages_to(app.mail_dir, email) == 0

    second = app.start_worker(**QUICK_REDELIVERY)
    wait_for(lambda: messages_to(app.mail_dir, email) == 1, timeout=60,
             what="the second worker to send the invitation")
    time.sleep(3)  # a second redelivery would have sent it again by now
    assert messages_to(app.mail_dir, email) == 1
    assert any("send_invitation_email" in line and " succeeded " in line
               for line in second.output), second.log()
