"""Production settings fail fast and pass Django's deployment checks."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "ILCOP_ENVIRONMENT": "production",
    "DJANGO_SECRET_KEY": "x" * 20 + "a-long-random-production-secret-for-the-check-0123456789",
    "DJANGO_ALLOWED_HOSTS": "peer-review.example.nhs.uk",
    "DATABASE_URL": "postgres://ilcop:secret@db.example:5432/ilcop",
    "REDIS_URL": "redis://redis.example:6379/0",
}


def manage(*args, env):
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("DJANGO_", "ILCOP_", "DATABASE_URL", "REDIS_URL"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env},
        capture_output=True, text=True, timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_SECRET_KEY"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set in production" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    env = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_ALLOWED_HOSTS"}
    result = manage("check", env=env)
    assert "DJANGO_ALLOWED_HOSTS must be set in production" in result.stderr


def test_check_deploy_is_clean_under_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_development_defaults_need_nothing_set():
    result = manage("check", env={})
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("docker-compose") is None,
                    reason="Debian's docker-compose is not installed (CI installs it)")
def test_docker_compose_file_is_valid():
    result = subprocess.run(
        ["docker-compose", "config", "--quiet"], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "DJANGO_SECRET_KEY": "x", "POSTGRES_PASSWORD": "x",
             "DJANGO_ALLOWED_HOSTS": "example.org"}, timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_production_never_runs_in_debug_mode():
    result = manage("shell", "-c", "from django.conf import settings; print(settings.DEBUG)",
                    env={**PRODUCTION, "DJANGO_DEBUG": "true"})
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr


def test_production_requires_a_broker():
    env = {k: v for k, v in PRODUCTION.items() if k != "REDIS_URL"}
    assert "REDIS_URL must be set in production" in manage("check", env=env).stderr


def test_production_cookies_and_hsts_are_strict():
    script = ("from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, "
              "s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SECURE_SSL_REDIRECT, "
              "s.SECURE_HSTS_SECONDS >= 31536000, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
              "s.X_FRAME_OPTIONS, 'allauth.mfa' in s.INSTALLED_APPS, "
              "'ilcop.security.SecurityHeadersMiddleware' in s.MIDDLEWARE)")
    result = manage("shell", "-c", script, env=PRODUCTION)
    expected = "True True True True True True DENY True True"
    assert result.stdout.strip().splitlines()[-1] == expected, result.stderr
