"""The programme directory (issue 11): participants find peers who chose to be listed, and
each person decides what the others see."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ilcop.models import ActivityLog
from programmes.demo_community import MESSAGE_SUBJECT, build_demo_community
from programmes.models import (
    DirectoryListing,
    Enrolment,
    GroupMessage,
    RoleGroupOptOut,
    SiteMembership,
)

from .factories import EnrolmentFactory, SiteMembershipFactory

pytestmark = pytest.mark.django_db

CNS = SiteMembership.Role.CNS


def listed(user, **details) -> DirectoryListing:
    return DirectoryListing.objects.update_or_create(user=user, defaults={
        "listed": True, **details})[0]


def main(response) -> str:
    """The page's own content, without the header (which names whoever is signed in)."""
    page = response.content.decode()
    return page[page.index("<main"):page.index("</main>")]


def directory_url(programme, query: str = "") -> str:
    return reverse("programmes:directory", args=[programme.pk]) + (f"?{query}" if query else "")


# --- who may see it ------------------------------------------------------------------------


@pytest.mark.parametrize("who, status", [
    ("core", 200), ("facilitator", 200), ("cns", 200), ("other_lead", 200),
    ("other_core", 404), ("outsider", 404),
])
def test_the_directory_is_for_the_programmes_participants(
        request, client_for, programme, who, status):
    response = client_for(request.getfixturevalue(who)).get(directory_url(programme))
    assert response.status_code == status


def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(client, programme):
    response = client.get(directory_url(programme))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- acceptance (4): a CNS at another site, only if they chose to be listed -----------------


def test_a_participant_finds_a_cns_at_another_site_only_if_they_chose_to_be_listed(
        client_for, programme, cns, other_lead):
    viewer = client_for(other_lead)
    page = main(viewer.get(directory_url(programme, "role=cns")))
    assert "Nia Nurse" not in page

    # A listing they have not ticked "list me" on is still private.
    DirectoryListing.objects.create(user=cns, listed=False, job_title="Lung CNS")
    assert "Nia Nurse" not in main(viewer.get(directory_url(programme)))

    listed(cns, job_title="Lung CNS")
    page = main(viewer.get(directory_url(programme, "role=cns")))
    assert "Nia Nurse" in page and "Lung CNS" in page and "Clinical nurse specialist" in page


def test_people_of_control_sites_and_past_members_are_not_in_the_directory(
        client_for, programme, lead, cns):
    control = EnrolmentFactory(programme=programme, status=Enrolment.Status.CONTROL).site
    hidden = SiteMembershipFactory(site=control, role=CNS, user__full_name="Carla Control")
    listed(hidden.user)
    listed(cns)
    SiteMembership.objects.filter(user=cns).update(ended_at="2026-01-01T00:00Z")
    page = main(client_for(lead).get(directory_url(programme)))
    assert "Carla Control" not in page and "Nia Nurse" not in page


def test_only_the_contact_details_a_person_ticked_are_shown(
        client_for, programme, cns, other_lead):
    listed(cns, show_email=False, phone="0161 234 5678", show_phone=False,
           interests="CNS-led follow-up clinics")
    viewer = client_for(other_lead)
    page = main(viewer.get(directory_url(programme)))
    assert cns.email not in page and "0161 234 5678" not in page
    assert "CNS-led follow-up clinics" in page and "No contact details shown" in page

    listed(cns, show_email=True, show_phone=True)
    page = main(viewer.get(directory_url(programme)))
    assert f'href="mailto:{cns.email}"' in page and "0161 234 5678" in page


def test_the_core_team_appears_as_core_team_when_listed(client_for, programme, core, lead):
    listed(core, job_title="Programme manager")
    page = main(client_for(lead).get(directory_url(programme)))
    assert "Core team" in page and "Priya Manager" in page
    # Filtering to a site leaves the core team out; filtering to the core team, the sites.
    assert "Priya Manager" not in client_for(lead).get(
        directory_url(programme, "role=clinical_lead")).content.decode()


def test_filters_and_search(client_for, programme, site, other_site, lead, cns, other_lead):
    for person in (lead, cns, other_lead):
        listed(person)
    viewer = client_for(lead)
    page = main(viewer.get(directory_url(programme, f"site={other_site.pk}")))
    assert "Nia Nurse" not in page and "Dr Lena Lead" not in page
    assert other_lead.full_name in page
    page = main(viewer.get(directory_url(programme, "q=nurse")))
    assert "Nia Nurse" in page and "Dr Lena Lead" not in page
    # Nonsense filters are dropped, not refused.
    page = main(viewer.get(directory_url(programme, "role=pope&site=x&sort=shoe")))
    assert "Nia Nurse" in page and "Dr Lena Lead" in page


def test_the_page_says_how_many_are_not_listed_and_whether_the_viewer_is(
        client_for, programme, core, lead, cns, other_lead):
    listed(cns)
    page = main(client_for(lead).get(directory_url(programme)))
    # core, lead and other_lead are not listed.
    assert "3 participants are not listed" in page
    assert "You are not listed" in page
    listed(lead)
    page = main(client_for(lead).get(directory_url(programme)))
    assert "You are listed in the directory" in page
    assert "2 participants are not listed" in page


def test_the_directory_makes_the_same_number_of_queries_however_many_are_listed(
        client_for, programme, site, other_site, core, lead):
    listed(core)

    def count() -> int:
        client = client_for(lead)
        client.get(directory_url(programme))
        with CaptureQueriesContext(connection) as captured:
            assert client.get(directory_url(programme)).status_code == 200
        return len(captured)

    for _ in range(2):
        listed(SiteMembershipFactory(site=site, role=CNS).user)
    few = count()
    for n in range(20):
        listed(SiteMembershipFactory(site=other_site if n % 2 else site, role=CNS).user,
               show_email=True, phone="0161 234 5678", show_phone=True)
    assert count() == few <= 12


def test_the_directory_pages_in_fifties(client_for, programme, site, lead):
    for _ in range(55):
        listed(SiteMembershipFactory(site=site, role=CNS).user)
    client = client_for(lead)
    assert "Page 2 of 2" in client.get(directory_url(programme)).content.decode()
    assert client.get(directory_url(programme, "page=2")).status_code == 200


# --- a person's own listing ------------------------------------------------------------------

LISTING = "/directory/your-listing/"


def test_anyone_signed_in_may_open_their_listing_and_is_told_who_sees_it(
        client_for, client, outsider, cns, programme):
    page = main(client_for(cns).get(LISTING))
    assert "people taking part in the programmes you take part in" in page
    assert programme.name in page
    assert client_for(outsider).get(LISTING).status_code == 200
    assert client.get(LISTING)["Location"].startswith(reverse("account_login"))


def test_saving_a_listing(client_for, cns):
    response = client_for(cns).post(LISTING, {
        "listed": "on", "job_title": "Lung CNS", "show_email": "on",
        "phone": " +44 (0)161  234 5678 ", "show_phone": "on",
        "interests": "Our nurse-led clinic, and what went wrong first"})
    assert response.status_code == 302
    listing = DirectoryListing.objects.get(user=cns)
    assert listing.listed and listing.show_email and listing.show_phone
    assert listing.phone == "+44 (0)161 234 5678"
    entry = ActivityLog.objects.get(verb="directory_listing.changed")
    # The choices are logged, never what the person wrote about themselves.
    assert "nurse-led" not in f"{entry.summary} {entry.data}" and "0161" not in str(entry.data)
    assert entry.data == {"listed": True, "show_email": True, "show_phone": True}


@pytest.mark.parametrize("phone, message", [
    ("call me", "digits, spaces, + and brackets only"),
    ("0161-234-5678", "digits, spaces, + and brackets only"),
    ("12345", "between 7 and 20 digits"),
    ("1" * 21, "between 7 and 20 digits"),
    ("", "Enter your work phone number, or untick"),
])
def test_a_phone_number_that_will_not_do_is_refused_and_nothing_is_saved(
        client_for, cns, phone, message):
    response = client_for(cns).post(LISTING, {"listed": "on", "phone": phone,
                                              "show_phone": "on"})
    assert response.status_code == 200
    assert "nhsuk-error-summary" in response.content.decode()
    assert message in response.content.decode()
    assert not DirectoryListing.objects.filter(user=cns).exists()


def test_the_listing_page_shows_opt_outs_and_only_the_owner_may_remove_one(
        client_for, programme, cns, lead):
    opt_out = RoleGroupOptOut.objects.create(user=cns, programme=programme, role=CNS)
    page = main(client_for(cns).get(LISTING))
    assert "Get these emails again" in page
    url = reverse("programmes:role_group_resubscribe", args=[opt_out.pk])
    assert client_for(lead).post(url).status_code == 404
    assert client_for(cns).get(url).status_code == 405
    assert client_for(cns).post(url).status_code == 302
    assert not RoleGroupOptOut.objects.exists()
    assert ActivityLog.objects.filter(verb="role_group.opted_in").count() == 1


def test_the_account_page_links_to_the_listing(client_for, cns):
    assert LISTING in main(client_for(cns).get(reverse("email_preferences")))


# --- the demo --------------------------------------------------------------------------------


def test_the_demo_lists_about_two_thirds_and_emails_the_cnss(programme, site, other_site,
                                                              core, facilitator):
    for n in range(9):
        SiteMembershipFactory(site=site if n % 2 else other_site,
                              role=CNS if n % 3 == 0 else SiteMembership.Role.CLINICAL_LEAD)
    build_demo_community(programme)
    build_demo_community(programme)  # a second run adds nothing
    site_people = DirectoryListing.objects.exclude(user__core_memberships__isnull=False)
    assert site_people.count() == 9
    assert site_people.filter(listed=True).count() == 6
    assert site_people.filter(show_phone=True).exclude(phone="").exists()
    assert site_people.filter(show_email=True).exists()
    assert DirectoryListing.objects.filter(user=facilitator, listed=True).exists()
    message = GroupMessage.objects.get(programme=programme, subject=MESSAGE_SUBJECT)
    assert message.roles == [CNS] and message.recipient_count == 3
    assert RoleGroupOptOut.objects.filter(programme=programme, role=CNS).count() == 1
