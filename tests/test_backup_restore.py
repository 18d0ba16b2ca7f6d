"""scripts/backup.sh and scripts/restore.sh: a backup restored into an empty database has
every row and every media file.

Runs against the real PostgreSQL (DATABASE_URL, as in CI); on SQLite it skips, since the
scripts are pg_dump and pg_restore.
"""

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection

from programmes import services

from .worker import database_url

ROOT = Path(__file__).resolve().parent.parent

COUNT_EVERY_MODEL = (
    "import json\nfrom django.apps import apps\n"
    "print(json.dumps({m._meta.label: m._default_manager.count() for m in apps.get_models()}))"
)


def run(*command, env: dict) -> str:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def restore_database(transactional_db):
    """A new, empty database of our own, dropped afterwards."""
    if connection.vendor != "postgresql":
        pytest.skip("needs a PostgreSQL DATABASE_URL: the backup is pg_dump and pg_restore")
    source = database_url()
    if not shutil.which("pg_dump") or not shutil.which("pg_restore"):
        if os.environ.get("CI"):
            pytest.fail("pg_dump and pg_restore must be installed in CI")
        pytest.skip("needs pg_dump and pg_restore")
    name = f"ilcop_restore_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield source, source.rsplit("/", 1)[0] + "/" + name
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_backup_restores_into_an_empty_database_with_every_row_and_file(
        restore_database, settings, tmp_path, programme, site, core, lead, cns, other_lead):
    source_url, restore_url = restore_database
    services.invitation_create(programme=programme, site=site, invited_by=lead,
                               email="ada@trust.example", full_name="Dr Ada Okafor",
                               site_role="cns")
    media = Path(settings.MEDIA_ROOT)
    (media / "reports").mkdir(parents=True)
    (media / "reports" / "visit-1.pdf").write_bytes(os.urandom(50_000))
    (media / "celerybeat-schedule").write_bytes(b"beat state \x00\xff")
    counts = {m._meta.label: m._default_manager.count() for m in apps.get_models()}
    assert counts["programmes.Invitation"] == 1 and counts["ilcop.User"] == 4

    env = {**os.environ, "DATABASE_URL": source_url, "MEDIA_ROOT": str(media)}
    backup = Path(run("scripts/backup.sh", str(tmp_path / "backups"), env=env).split()[-1])
    assert {p.name for p in backup.iterdir()} == {"database.dump", "media.tar.gz", "SHA256SUMS"}

    restored_media = tmp_path / "restored-media"
    env = {**os.environ, "DATABASE_URL": restore_url, "MEDIA_ROOT": str(restored_media)}
    run("scripts/restore.sh", str(backup), env=env)

    restored = json.loads(run(sys.executable, "manage.py", "shell", "-c", COUNT_EVERY_MODEL,
                              env=env).strip().splitlines()[-1])
    assert restored == counts
    for path in [p for p in media.rglob("*") if p.is_file()]:
        copy = restored_media / path.relative_to(media)
        assert copy.read_bytes() == path.read_bytes(), path

    # The restore refuses a database that is no longer empty.
    again = subprocess.run(["scripts/restore.sh", str(backup)], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode != 0 and "restore into a new, empty database" in again.stderr
