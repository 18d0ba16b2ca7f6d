"""Joining by invitation, end to end: invite, read the email, follow the link, set a password,
land on the right home page."""

import datetime
import re

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.test import Client

from ilcop.models import User
from programmes import services
from programmes.models import CoreTeamMembership, Invitation, SiteMembership

from .factories import UserFactory

LINK = re.compile(r"http://testserver(/invitations/[^/\s]+/)")
PASSWORD = "a long and unusual passphrase"


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "http://testserver"


def link_in(message) -> str:
    match = LINK.search(message.body)
    assert match, message.body
    return match[1]


def invite_site_lead(as_core, site, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_core.post(f"/sites/{site.pk}/team/invite/", {
            "full_name": "Dr Ada Okafor", "email": "Ada.Okafor@Trust.example",
            "role": "clinical_lead",
        })
    assert response.status_code == 302
    return response


def test_invitation_end_to_end(as_core, site, core, mailoutbox,
                               django_capture_on_commit_callbacks):
    invite_site_lead(as_core, site, django_capture_on_commit_callbacks)

    [message] = mailoutbox
    assert message.to == ["ada.okafor@trust.example"]
    assert message.subject == f"You're invited to join Lung cancer MDT at {site.organisation.name}"
    assert "Dear Dr Ada Okafor," in message.body
    assert "Priya Manager has invited you to join the Lung cancer MDT team" in message.body
    assert "as Clinical lead." in message.body
    assert "The link works for 14 days" in message.body

    newcomer = Client()
    page = newcomer.get(link_in(message))
    assert page.status_code == 200
    assert "Join the Lung cancer MDT team" in page.content.decode()

    response = newcomer.post(link_in(message), {
        "full_name": "Dr Ada Okafor", "password1": PASSWORD, "password2": PASSWORD,
    }, follow=True)
    # Lands on their home: the one site they belong to, showing real data.
    assert response.redirect_chain[-1][0] == f"/sites/{site.pk}/"
    content = response.content.decode()
    assert "Lung Cancer Peer Review 2026" in content
    assert "Intervention arm" in content
    assert "Dr Ada Okafor" in content

    user = User.objects.get(email="ada.okafor@trust.example")
    assert user.check_password(PASSWORD)
    assert EmailAddress.objects.get(user=user).verified
    assert SiteMembership.objects.get(user=user).role == "clinical_lead"
    assert Invitation.objects.get().status == "accepted"
    # They can sign in again later with the password they set.
    assert Client().login(email="ada.okafor@trust.example", password=PASSWORD)


def test_a_core_team_invitation_lands_on_the_programme(as_core, programme, mailoutbox,
                                                       django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        as_core.post(f"/programmes/{programme.pk}/core-team/invite/", {
            "full_name": "Sam Facilitator", "email": "sam@qi.example", "role": "qi_facilitator",
        })
    [message] = mailoutbox
    assert message.subject == "You're invited to join the core team of Lung Cancer Peer Review 2026"
    response = Client().post(link_in(message), {
        "full_name": "Sam Facilitator", "password1": PASSWORD, "password2": PASSWORD,
    }, follow=True)
    # The core team sees every site's data, so the newcomer sets up their authenticator app
    # first, without being asked again for the password they have just chosen.
    assert response.redirect_chain[-1][0] == "/accounts/2fa/totp/activate/"
    assert "authenticator app" in response.content.decode()
    assert CoreTeamMembership.objects.get(user__email="sam@qi.example").role == "qi_facilitator"


def test_weak_or_mismatched_passwords_are_explained(as_core, site, mailoutbox,
                                                    django_capture_on_commit_callbacks):
    invite_site_lead(as_core, site, django_capture_on_commit_callbacks)
    link = link_in(mailoutbox[0])
    response = Client().post(link, {"full_name": "Ada", "password1": "short",
                                    "password2": "short"})
    content = response.content.decode()
    assert "There is a problem" in content
    assert "at least 12 characters" in content
    response = Client().post(link, {"full_name": "Ada", "password1": PASSWORD,
                                    "password2": PASSWORD + "x"})
    assert "The passwords do not match" in response.content.decode()
    assert Invitation.objects.get().status == "pending"


def test_the_link_expires(as_core, site, mailoutbox, django_capture_on_commit_callbacks):
    invite_site_lead(as_core, site, django_capture_on_commit_callbacks)
    link = link_in(mailoutbox[0])
    with time_machine.travel(datetime.timedelta(days=15)):
        response = Client().get(link)
    assert response.status_code == 410
    assert "This invitation link has expired" in response.content.decode()


def test_sending_again_retires_the_old_link(as_core, site, core, mailoutbox,
                                            django_capture_on_commit_callbacks):
    invite_site_lead(as_core, site, django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        as_core.post(f"/invitations/{invitation.pk}/resend/")
    old, new = link_in(mailoutbox[0]), link_in(mailoutbox[1])
    assert Client().get(old).status_code == 410
    assert Client().get(new).status_code == 200


def test_a_double_submitted_invitation_is_sent_once(
    as_core, site, mailoutbox, django_capture_on_commit_callbacks
):
    invite_site_lead(as_core, site, django_capture_on_commit_callbacks)
    invite_site_lead(as_core, site, django_capture_on_commit_callbacks)
    assert Invitation.objects.count() == 1
    assert len(mailoutbox) == 1


def test_inviting_again_with_a_different_role_updates_and_resends(
    as_core, site, mailoutbox, django_capture_on_commit_callbacks
):
    invite_site_lead(as_core, site, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        as_core.post(f"/sites/{site.pk}/team/invite/", {
            "full_name": "Dr Ada Okafor", "email": "ada.okafor@trust.example", "role": "manager",
        })
    invitation = Invitation.objects.get()
    assert invitation.site_role == "manager"
    assert len(mailoutbox) == 2
    assert "as Manager." in mailoutbox[1].body
    assert Client().get(link_in(mailoutbox[0])).status_code == 410


def test_inviting_again_later_resends(as_core, site, mailoutbox,
                                      django_capture_on_commit_callbacks):
    invite_site_lead(as_core, site, django_capture_on_commit_callbacks)
    with time_machine.travel(datetime.timedelta(minutes=5)):
        invite_site_lead(as_core, site, django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 2


def test_a_withdrawn_invitation_cannot_be_used(as_core, site, mailoutbox,
                                               django_capture_on_commit_callbacks):
    invite_site_lead(as_core, site, django_capture_on_commit_callbacks)
    as_core.post(f"/invitations/{Invitation.objects.get().pk}/withdraw/")
    response = Client().get(link_in(mailoutbox[0]))
    assert response.status_code == 410
    assert "withdrawn" in response.content.decode()


def test_a_tampered_link_is_refused(as_core, site, mailoutbox,
                                    django_capture_on_commit_callbacks):
    invite_site_lead(as_core, site, django_capture_on_commit_callbacks)
    response = Client().get(link_in(mailoutbox[0]).replace(":", ";", 1))
    assert response.status_code == 410


def test_accepting_twice_is_harmless(as_core, site, mailoutbox,
                                     django_capture_on_commit_callbacks):
    invite_site_lead(as_core, site, django_capture_on_commit_callbacks)
    link = link_in(mailoutbox[0])
    newcomer = Client()
    form = {"full_name": "Ada", "password1": PASSWORD, "password2": PASSWORD}
    newcomer.post(link, form)
    again = newcomer.post(link, form)  # a double-submitted form
    assert again.status_code == 302 and again["Location"] == "/"
    assert User.objects.filter(email="ada.okafor@trust.example").count() == 1
    assert SiteMembership.objects.filter(user__email="ada.okafor@trust.example").count() == 1


def test_someone_with_an_account_signs_in_to_accept(as_core, site, mailoutbox, client_for,
                                                    django_capture_on_commit_callbacks):
    existing = UserFactory(email="ada.okafor@trust.example")
    invite_site_lead(as_core, site, django_capture_on_commit_callbacks)
    link = link_in(mailoutbox[0])

    anonymous = Client().get(link)
    assert "Sign in to accept your invitation" in anonymous.content.decode()

    signed_in = client_for(existing)
    signed_in.post(link)
    assert SiteMembership.objects.current().filter(user=existing, site=site).exists()


def test_the_clinical_lead_invites_their_own_team(client_for, lead, site, mailoutbox,
                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(lead).post(f"/sites/{site.pk}/team/invite/", {
            "full_name": "Tom Coordinator", "email": "tom@trust.example",
            "role": "mdt_coordinator",
        })
    assert response.status_code == 302
    assert mailoutbox[0].to == ["tom@trust.example"]


def test_other_clinicians_need_a_specialty(client_for, lead, site):
    response = client_for(lead).post(f"/sites/{site.pk}/team/invite/", {
        "full_name": "Sue Surgeon", "email": "sue@trust.example", "role": "other_clinician",
    })
    assert "Enter the clinician&#x27;s specialty" in response.content.decode()


def test_a_team_member_who_is_not_the_lead_cannot_invite(client_for, cns, site):
    assert client_for(cns).get(f"/sites/{site.pk}/team/invite/").status_code == 403


def test_existing_members_are_not_invited_again(client_for, lead, cns, site):
    response = client_for(lead).post(f"/sites/{site.pk}/team/invite/", {
        "full_name": "Nia", "email": cns.email.upper(), "role": "cns",
    })
    assert "is already a member" in response.content.decode()
    assert not Invitation.objects.exists()


def test_the_lead_removes_a_member_who_then_loses_access(client_for, lead, cns, site):
    membership = SiteMembership.objects.get(user=cns)
    response = client_for(lead).post(f"/sites/{site.pk}/team/{membership.pk}/remove/")
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.ended_at is not None
    assert client_for(cns).get(f"/sites/{site.pk}/").status_code == 404


def test_the_last_clinical_lead_cannot_be_removed(as_core, lead, site):
    membership = SiteMembership.objects.get(user=lead)
    response = as_core.post(f"/sites/{site.pk}/team/{membership.pk}/remove/")
    assert response.status_code == 200
    assert "A site must keep a clinical lead" in response.content.decode()


def test_the_invitation_email_task_skips_a_withdrawn_invitation(site, core, mailoutbox,
                                                                django_capture_on_commit_callbacks):
    invitation = services.invitation_create(
        programme=site.enrolments.get().programme, site=site, invited_by=core,
        email="x@trust.example", full_name="X", site_role="cns",
    )
    services.invitation_revoke(invitation=invitation, user=core)
    from programmes.tasks import send_invitation_email

    send_invitation_email.delay(invitation.pk)
    assert mailoutbox == []


def test_a_mail_server_failure_without_redis_does_not_break_the_page(
    as_core, site, settings, django_capture_on_commit_callbacks
):
    """With no broker, tasks run in the web process; a failure is logged, not shown as 500."""
    from ilcop.celery import app as celery_app

    settings.EMAIL_BACKEND = "tests.test_invitations.FailingBackend"
    celery_app.conf.task_eager_propagates = False
    response = invite_site_lead(as_core, site, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert Invitation.objects.get().status == "pending"


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")
