"""Shared fixtures: a programme with two enrolled sites and the people around them.

Like healthchecks' tests, every page is checked with the people who may and may not see it:
- ``core``: the programme's core team (sees all of the programme);
- ``lead`` and ``cns``: the clinical lead and CNS of ``site``;
- ``other_lead``: the clinical lead of ``other_site``, in the same programme;
- ``other_core``: the core team of a different programme;
- ``outsider``: signed in, in no team at all.
"""

import os
import shutil

import pytest
from django.core.cache import cache
from django.test import Client

from ilcop.celery import app as celery_app
from programmes.models import CoreTeamMembership, Enrolment, SiteMembership

from .factories import (
    CoreTeamMembershipFactory,
    EnrolmentFactory,
    ProgrammeFactory,
    SiteMembershipFactory,
    UserFactory,
)


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # The real hasher is deliberately slow; the tests create hundreds of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Many tests move the clock on by hours with one signed-in client to reach a reminder or a
    # stuck report; they are not about idle sessions. tests/test_security.py puts the real
    # idle timeout back (the 8-hour limit from signing in always applies).
    settings.SESSION_IDLE_TIMEOUT = 365 * 24 * 60 * 60


@pytest.fixture(autouse=True)
def _eager_celery(request):
    """Run tasks in-process unless a test asks for the real worker.

    With REDIS_URL set (as in CI) the settings would queue tasks to Redis, where nothing
    consumes them during ordinary tests.
    """
    eager = request.node.get_closest_marker("needs_worker") is None
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = eager
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


def pytest_collection_modifyitems(config, items):
    # In CI the worker tests must run; a missing service is a failure, not a skip.
    wants_worker = any(i.get_closest_marker("needs_worker") for i in items)
    services_set = os.environ.get("REDIS_URL") and os.environ.get("DATABASE_URL")
    if os.environ.get("CI") and wants_worker and not services_set:
        raise pytest.UsageError("CI must set REDIS_URL and DATABASE_URL for worker tests")


@pytest.fixture
def programme(db):
    return ProgrammeFactory(name="Lung Cancer Peer Review 2026")


@pytest.fixture
def site(programme):
    enrolment = EnrolmentFactory(programme=programme, status=Enrolment.Status.INTERVENTION)
    return enrolment.site


@pytest.fixture
def other_site(programme):
    enrolment = EnrolmentFactory(programme=programme, status=Enrolment.Status.INTERVENTION)
    return enrolment.site


@pytest.fixture
def core(programme):
    return CoreTeamMembershipFactory(
        programme=programme, role=CoreTeamMembership.Role.PROJECT_MANAGER,
        user__full_name="Priya Manager",
    ).user


@pytest.fixture
def lead(site):
    return SiteMembershipFactory(
        site=site, role=SiteMembership.Role.CLINICAL_LEAD, user__full_name="Dr Lena Lead"
    ).user


@pytest.fixture
def cns(site):
    return SiteMembershipFactory(
        site=site, role=SiteMembership.Role.CNS, user__full_name="Nia Nurse"
    ).user


@pytest.fixture
def other_lead(other_site):
    return SiteMembershipFactory(site=other_site, role=SiteMembership.Role.CLINICAL_LEAD).user


@pytest.fixture
def facilitator(programme):
    """A QI facilitator in the programme's core team (who runs visit days)."""
    return CoreTeamMembershipFactory(programme=programme,
                                     role=CoreTeamMembership.Role.QI_FACILITATOR,
                                     user__full_name="Fran Facilitator").user


@pytest.fixture
def other_core(db):
    return CoreTeamMembershipFactory().user


@pytest.fixture
def outsider(db):
    return UserFactory()


@pytest.fixture
def client_for():
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def as_core(client_for, core):
    return client_for(core)


@pytest.fixture
def email_dir(tmp_path):
    path = tmp_path / "mail"
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def private_cache(settings):
    """A cache of the test's own, empty when it starts and ends: what a page draws or counts
    (charts, rate limits) is then certain, and clearing it never touches a shared Redis (where
    CI's broker lives). A module takes it with
    ``pytestmark = pytest.mark.usefixtures("private_cache")``."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "private-test-cache"}}
    cache.clear()
    yield
    cache.clear()
