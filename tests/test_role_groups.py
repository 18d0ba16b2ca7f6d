"""Role groups (issue 11): the core team emails all the CNSs (or leads...) of its programme in
one step, and optional emails carry a one-click unsubscribe (RFC 8058)."""

import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ilcop.models import Notification
from programmes.models import Enrolment, GroupMessage, RoleGroupOptOut, SiteMembership
from programmes.services.groups import unsubscribe_token
from programmes.tasks import send_group_message

from .factories import EnrolmentFactory, SiteMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

CNS = SiteMembership.Role.CNS
LEAD = SiteMembership.Role.CLINICAL_LEAD


def groups_url(programme) -> str:
    return reverse("programmes:role_groups", args=[programme.pk])


def new_url(programme) -> str:
    return reverse("programmes:group_message_new", args=[programme.pk])


def message_data(**changes) -> dict:
    return {"roles": [CNS], "subject": "CNS breakout", "essential": "",
            "body": "Dear all,\n\nBring one slide on your follow-up clinic.",
            **changes}


@pytest.fixture
def cnss(site, other_site, cns):
    """Three CNSs: Nia at the site, two at the other site (one also its manager)."""
    second = SiteMembershipFactory(site=other_site, role=CNS, user__full_name="Olu Other").user
    third = SiteMembershipFactory(site=other_site, role=CNS, user__full_name="Pat Picky").user
    return [cns, second, third]


# --- who may use them ----------------------------------------------------------------------


@pytest.mark.parametrize("who, status", [
    ("core", 200), ("facilitator", 200), ("cns", 403), ("other_lead", 403),
    ("other_core", 404), ("outsider", 404),
])
def test_role_groups_are_the_core_teams(request, client_for, programme, who, status):
    client = client_for(request.getfixturevalue(who))
    assert client.get(groups_url(programme)).status_code == status
    assert client.get(new_url(programme)).status_code == status
    assert client.post(new_url(programme), message_data(send="yes")).status_code in (
        {200} if status == 200 else {status})


def test_another_programmes_message_is_not_found(as_core, programme, other_core):
    theirs = GroupMessage.objects.create(
        programme=other_core.core_memberships.get().programme, roles=[CNS], subject="x",
        body="y")
    url = reverse("programmes:group_message_detail", args=[programme.pk, theirs.pk])
    assert as_core.get(url).status_code == 404


# --- the groups page -------------------------------------------------------------------------


def test_each_role_shows_its_participants_and_opt_outs(as_core, programme, lead, cnss):
    control = EnrolmentFactory(programme=programme, status=Enrolment.Status.CONTROL).site
    SiteMembershipFactory(site=control, role=CNS)  # not a participant
    RoleGroupOptOut.objects.create(user=cnss[2], programme=programme, role=CNS)
    RoleGroupOptOut.objects.create(user=lead, programme=programme, role=CNS)  # not a CNS
    response = as_core.get(groups_url(programme))
    groups = {g.role: g for g in response.context["groups"]}
    assert (groups[CNS].members, groups[CNS].opted_out) == (3, 1)
    assert (groups[LEAD].members, groups[LEAD].opted_out) == (1, 0)


def test_the_groups_page_makes_the_same_number_of_queries_however_many_messages(
        client_for, programme, core):
    def count() -> int:
        client = client_for(core)
        client.get(groups_url(programme))
        with CaptureQueriesContext(connection) as captured:
            assert client.get(groups_url(programme)).status_code == 200
        return len(captured)

    GroupMessage.objects.create(programme=programme, roles=[CNS], subject="One", body="b",
                                sent_by=core)
    few = count()
    for n in range(15):
        GroupMessage.objects.create(programme=programme, roles=[CNS, LEAD], subject=f"M{n}",
                                    body="b", sent_by=core, can_unsubscribe=n % 2 == 0)
    assert count() == few <= 10


# --- writing and sending -----------------------------------------------------------------------


@pytest.mark.parametrize("changes, error", [
    ({"roles": []}, "Select at least one role group"),
    ({"roles": ["pope"]}, "Select a valid choice"),
    ({"subject": "   "}, "Enter the subject"),
    ({"subject": "x" * 151}, "at most 150 characters"),
    ({"body": ""}, "Enter the message"),
])
def test_a_message_that_will_not_do_is_refused_and_nothing_is_sent(
        as_core, programme, cnss, mailoutbox, changes, error):
    response = as_core.post(new_url(programme), message_data(send="yes", **changes))
    page = response.content.decode()
    assert response.status_code == 200
    assert "nhsuk-error-summary" in page and error in page
    assert not GroupMessage.objects.exists() and not mailoutbox


def test_the_confirm_step_says_how_many_it_will_reach_and_sends_nothing(
        as_core, programme, cnss, mailoutbox):
    RoleGroupOptOut.objects.create(user=cnss[2], programme=programme, role=CNS)
    page = as_core.post(new_url(programme), message_data()).content.decode()
    assert "This email will go to <strong>2 people</strong>" in page
    assert "1 person has opted out" in page
    assert 'name="send" value="yes"' in page and "{% form_token %}" not in page
    page = as_core.post(new_url(programme), message_data(essential="on")).content.decode()
    assert "This email will go to <strong>3 people</strong>" in page
    assert not GroupMessage.objects.exists() and not mailoutbox
    # "Change the email" shows the form again, filled in.
    page = as_core.post(new_url(programme), message_data(edit="yes")).content.decode()
    assert "CNS breakout" in page and "Continue" in page


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """Post and run what was queued after the commit: the emails go from a task."""
    def post(client, url, data, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data, **kwargs)
    return post


def test_a_rerun_of_the_sending_task_sends_nobody_a_second_copy(
        as_core, programme, cnss, mailoutbox, sent):
    sent(as_core, new_url(programme), message_data(send="yes"))
    message = GroupMessage.objects.get()
    assert len(mailoutbox) == 3
    send_group_message(message.pk)
    assert len(mailoutbox) == 3
    message.refresh_from_db()
    assert message.recipient_count == 3


def test_sending_emails_each_person_in_the_groups_once_less_those_who_opted_out(
        as_core, programme, core, lead, cnss, mailoutbox, sent):
    RoleGroupOptOut.objects.create(user=cnss[2], programme=programme, role=CNS)
    response = sent(as_core, new_url(programme), message_data(send="yes"))
    message = GroupMessage.objects.get()
    assert response["Location"] == reverse("programmes:group_message_detail",
                                           args=[programme.pk, message.pk])
    assert message.recipient_count == 2 and message.can_unsubscribe
    assert sorted(m.to[0] for m in mailoutbox) == sorted([cnss[0].email, cnss[1].email])

    email = next(m for m in mailoutbox if m.to == [cnss[0].email])
    assert email.subject == "CNS breakout"
    assert email.body.startswith("Dear Nia,\n\nDear all,\n\nBring one slide on your follow-up")
    assert "Priya Manager, for the Lung Cancer Peer Review 2026 core team" in email.body
    assert "one of the programme's clinical nurse specialists (CNSs)" in email.body
    assert f"/programmes/{programme.pk}/directory/" in email.body
    token = unsubscribe_token(cnss[0], programme, [CNS])
    link = f"/groups/unsubscribe/{token}/"
    assert "To stop the core team's optional emails to clinical nurse specialists" in email.body
    assert link in email.body
    assert email.extra_headers["List-Unsubscribe"].endswith(f"{link}>")
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email.extra_headers["Message-ID"].startswith("<group_message.")

    page = as_core.get(response["Location"]).content.decode()
    assert "Nia Nurse" in page and "Olu Other" in page and "Pat Picky" not in page
    assert Notification.objects.filter(kind="group_message").count() == 2


def test_an_essential_message_reaches_everyone_and_has_no_unsubscribe(
        as_core, programme, cnss, mailoutbox, sent):
    RoleGroupOptOut.objects.create(user=cnss[2], programme=programme, role=CNS)
    sent(as_core, new_url(programme), message_data(send="yes", essential="on"))
    assert GroupMessage.objects.get().recipient_count == 3
    assert len(mailoutbox) == 3
    for email in mailoutbox:
        assert "List-Unsubscribe" not in email.extra_headers
        assert "/groups/unsubscribe/" not in email.body
        assert "essential message for everyone in the group" in email.body


def test_someone_in_two_groups_gets_it_unless_they_left_both(
        as_core, programme, site, cnss, mailoutbox, sent):
    SiteMembership.objects.create(site=site, user=cnss[2], role=LEAD)
    RoleGroupOptOut.objects.create(user=cnss[2], programme=programme, role=CNS)
    sent(as_core, new_url(programme), message_data(send="yes", roles=[CNS, LEAD]))
    email = next(m for m in mailoutbox if m.to == [cnss[2].email])
    # The link stops only the group that still reaches them.
    assert unsubscribe_token(cnss[2], programme, [LEAD]) in email.body


def test_a_double_submit_sends_once(as_core, programme, cnss, mailoutbox, sent):
    data = message_data(send="yes", form_token=str(uuid.uuid4()))
    first = sent(as_core, new_url(programme), data)
    second = sent(as_core, new_url(programme), data, follow=True)
    assert first.status_code == 302
    assert "This was already saved" in second.content.decode()
    assert GroupMessage.objects.count() == 1 and len(mailoutbox) == 3


def test_the_message_page_makes_the_same_number_of_queries_however_many_it_reached(
        client_for, programme, core, site, cnss, sent):
    client = client_for(core)
    sent(client, new_url(programme), message_data(send="yes"))
    message = GroupMessage.objects.get()
    url = reverse("programmes:group_message_detail", args=[programme.pk, message.pk])

    def count() -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    few = count()
    content_type = Notification.objects.first().content_type
    for _ in range(10):
        Notification.objects.create(
            kind="group_message", content_type=content_type, object_id=message.pk,
            recipient=UserFactory(), due_on="2026-01-01", sent_at="2026-01-01T09:00Z")
    assert count() == few <= 9


# --- unsubscribing -------------------------------------------------------------------------------


def unsubscribe_url(user, programme, roles=(CNS,)) -> str:
    return reverse("programmes:role_group_unsubscribe",
                   args=[unsubscribe_token(user, programme, list(roles))])


def test_the_link_asks_first_then_one_post_records_the_opt_out(programme, cns):
    client = Client(enforce_csrf_checks=True)
    url = unsubscribe_url(cns, programme)
    page = client.get(url).content.decode()
    assert "Stop the core team's optional emails to clinical nurse specialists" in page
    assert not RoleGroupOptOut.objects.exists()
    # RFC 8058: the mail client's POST has no cookie and no CSRF token.
    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert "You will not get optional emails" in response.content.decode()
    assert client.post(url).status_code == 200  # a second POST changes nothing
    assert RoleGroupOptOut.objects.get().user == cns


@pytest.mark.parametrize("token", ["nonsense", "a" * 300])
def test_a_link_that_does_not_work_says_so(client, token):
    response = client.get(reverse("programmes:role_group_unsubscribe", args=[token]))
    assert response.status_code == 404
    assert "This unsubscribe link does not work" in response.content.decode()
    assert client.post(reverse("programmes:role_group_unsubscribe", args=[token])
                       ).status_code == 404
    assert not RoleGroupOptOut.objects.exists()


def test_a_tampered_link_does_not_work(client, programme, cns, lead):
    good = unsubscribe_token(cns, programme, [CNS])
    other = unsubscribe_token(lead, programme, [CNS])
    tampered = good.split(":")[0] + ":" + other.split(":", 1)[1]
    url = reverse("programmes:role_group_unsubscribe", args=[tampered])
    assert client.post(url).status_code == 404
