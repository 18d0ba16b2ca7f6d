"""A site's page links to what its programmes' mode has: a service reviewed one way (NHS
England's model) gets its self-report and reviews, not the reciprocal programme's audit data,
patient survey, visits and plans (programmes.views.sites.site_detail)."""

import pytest

from programmes.models import Enrolment, Programme

from .factories import EnrolmentFactory, ProgrammeFactory, SiteMembershipFactory

RECIPROCAL_LINKS = ("See the site's audit data", "See the site's patient survey",
                    "See the site's quality improvement plans", "See the site's visits")


def _site_page(client_for, *kinds):
    site = None
    for kind in kinds:
        enrolment = EnrolmentFactory(programme=ProgrammeFactory(kind=kind),
                                     status=Enrolment.Status.APPROVED,
                                     **({"site": site} if site else {}))
        site = enrolment.site
    member = SiteMembershipFactory(site=site).user
    response = client_for(member).get(f"/sites/{site.pk}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_a_service_reviewed_one_way_is_not_sent_to_reciprocal_pages(client_for):
    page = _site_page(client_for, Programme.Kind.ONE_WAY)
    assert "Your self-report" in page
    for link in RECIPROCAL_LINKS:
        assert link not in page


@pytest.mark.django_db
def test_a_reciprocal_site_has_its_audit_survey_plans_and_visits(client_for):
    page = _site_page(client_for, Programme.Kind.RECIPROCAL)
    assert "Your self-report" not in page
    for link in RECIPROCAL_LINKS:
        assert link in page


@pytest.mark.django_db
def test_a_site_in_both_kinds_of_programme_has_both(client_for):
    page = _site_page(client_for, Programme.Kind.ONE_WAY, Programme.Kind.RECIPROCAL)
    assert "Your self-report" in page
    for link in RECIPROCAL_LINKS:
        assert link in page
