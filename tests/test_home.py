"""The home page: people land in the one place they belong, or choose."""

from programmes.models import CoreTeamMembership

from .factories import CoreTeamMembershipFactory, SiteMembershipFactory


def test_a_site_member_lands_on_their_site(client_for, lead, site):
    response = client_for(lead).get("/", follow=True)
    assert response.redirect_chain == [(f"/sites/{site.pk}/", 302)]
    content = response.content.decode()
    assert "Lung Cancer Peer Review 2026" in content
    assert "Intervention arm" in content
    assert "What happens next" in content
    assert "Dr Lena Lead" in content and "Clinical lead" in content


def test_the_core_team_lands_on_their_programmes_dashboard(as_core, programme):
    response = as_core.get("/", follow=True)
    assert response.redirect_chain == [(f"/programmes/{programme.pk}/dashboard/", 302)]
    assert b"Needs your attention this week" in response.content


def test_someone_in_two_places_chooses(client_for, lead, site):
    CoreTeamMembershipFactory(user=lead, role=CoreTeamMembership.Role.CLINICAL_LEAD)
    response = client_for(lead).get("/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Programmes you help run" in content and "Your teams" in content


def test_the_header_names_the_person_and_the_programme(as_core, programme):
    content = as_core.get(f"/programmes/{programme.pk}/").content.decode()
    assert "Priya Manager" in content
    assert content.count("Lung Cancer Peer Review 2026") >= 2  # header and heading


def test_a_member_of_two_sites_chooses_between_them(client_for, lead):
    SiteMembershipFactory(user=lead)
    assert client_for(lead).get("/").status_code == 200
