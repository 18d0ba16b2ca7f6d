"""Every page has a query budget, and it does not grow with the size of the programme."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ilcop.activity import log_action
from programmes.models import Enrolment, SiteMembership

from .factories import EnrolmentFactory, SiteMembershipFactory

# Budgets include the session, user and (for the header) programme lookups.
PAGES = {
    "programme": ("/programmes/{programme}/", 12),
    "site list": ("/programmes/{programme}/sites/", 12),
    "site list filtered": ("/programmes/{programme}/sites/?reached=approved&q=trust", 12),
    "site": ("/sites/{site}/", 16),
    "home (two roles)": ("/", 8),
}


def grow(programme, site, core, n):
    """Add n enrolments, n team members and n activity entries."""
    for i in range(n):
        enrolment = EnrolmentFactory(programme=programme, status=Enrolment.Status.ELIGIBLE)
        SiteMembershipFactory(site=site, role=SiteMembership.Role.OTHER_CLINICIAN)
        log_action(enrolment, "enrolment.moved", actor=core, summary=f"Moved {i}",
                   scopes=[programme, site])


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


@pytest.mark.parametrize(("name", "page"), PAGES.items(), ids=list(PAGES))
def test_page_queries_stay_flat(as_core, programme, site, core, lead, name, page):
    url, budget = page
    url = url.format(programme=programme.pk, site=site.pk)
    if name.startswith("home"):
        # A person in two places sees the home page rather than a redirect.
        SiteMembershipFactory(site=site, user=core, role=SiteMembership.Role.MANAGER)
    grow(programme, site, core, 3)
    small = count_queries(as_core, url)
    grow(programme, site, core, 30)
    large = count_queries(as_core, url)
    assert small == large, f"{name}: {small} queries for a small programme, {large} for a large"
    assert large <= budget, f"{name}: {large} queries, budget {budget}"
