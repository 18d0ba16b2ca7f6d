"""Every page has a query budget, and it does not grow with the size of the programme."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ilcop.activity import log_action
from programmes import services
from programmes.models import Enrolment, Indicator, IndicatorValue, Pairing, SiteMembership

from .factories import EnrolmentFactory, SiteMembershipFactory

# Budgets include the session, user and (for the header) programme lookups.
PAGES = {
    "programme": ("/programmes/{programme}/", 12),
    "site list": ("/programmes/{programme}/sites/", 12),
    "site list filtered": ("/programmes/{programme}/sites/?reached=approved&q=trust", 12),
    "site": ("/sites/{site}/", 16),
    "home (two roles)": ("/", 8),
    "site data": ("/sites/{site}/data/", 14),
    "audit data": ("/programmes/{programme}/indicators/", 12),
    "randomisation": ("/programmes/{programme}/randomisation/", 12),
    "pairing": ("/programmes/{programme}/pairing/", 16),
}


@pytest.fixture
def indicators(programme):
    programme.baseline_period = "2025"
    programme.save()
    return [Indicator.objects.create(programme=programme, code=code, name=code, source="NLCA",
                                     is_headline=True) for code in ("HISTO", "CNS")]


def grow(programme, site, core, n, indicators):
    """Add n intervention sites with audit data, n team members and n activity entries,
    then propose a pairing over them all."""
    for i in range(n):
        enrolment = EnrolmentFactory(programme=programme, status=Enrolment.Status.INTERVENTION)
        SiteMembershipFactory(site=site, role=SiteMembership.Role.OTHER_CLINICIAN)
        log_action(enrolment, "enrolment.moved", actor=core, summary=f"Moved {i}",
                   scopes=[programme, site])
        for target in (enrolment.site, site) if i == 0 else (enrolment.site,):
            for indicator in indicators:
                IndicatorValue.objects.get_or_create(
                    indicator=indicator, site=target, period="2025",
                    defaults={"period_start": datetime.date(2025, 1, 1),
                              "period_end": datetime.date(2025, 12, 31),
                              "numerator": 40 + (7 * i) % 50, "denominator": 100})
    Pairing.objects.filter(programme=programme).delete()
    services.pairing_propose(programme=programme, user=core,
                             rules=services.PairingConstraints())


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


@pytest.mark.parametrize(("name", "page"), PAGES.items(), ids=list(PAGES))
def test_page_queries_stay_flat(as_core, programme, site, core, lead, indicators, name, page):
    url, budget = page
    url = url.format(programme=programme.pk, site=site.pk)
    if name.startswith("home"):
        # A person in two places sees the home page rather than a redirect.
        SiteMembershipFactory(site=site, user=core, role=SiteMembership.Role.MANAGER)
    grow(programme, site, core, 3, indicators)
    small = count_queries(as_core, url)
    grow(programme, site, core, 30, indicators)
    large = count_queries(as_core, url)
    assert small == large, f"{name}: {small} queries for a small programme, {large} for a large"
    assert large <= budget, f"{name}: {large} queries, budget {budget}"
