"""A person's data on request, and anonymising a person who leaves (ilcop.privacy)."""

import datetime
import json

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.apps import apps
from django.db import models
from django.test import Client

from ilcop import privacy
from ilcop.activity import log_action
from ilcop.models import ActivityLog, User
from programmes import services as programme_services
from programmes.models import CoreTeamMembership, Invitation, SiteMembership
from qips.models import PlanRole, ProgressUpdate, ReviewComment
from qips.services import plans as plan_services
from visits.models import (
    AvailabilityPoll,
    Contribution,
    FocusArea,
    PollAnswer,
    PollDate,
    PollInvitee,
    Visit,
    VisitAttendee,
    VisitReport,
)

from .factories import SiteMembershipFactory, UserFactory
from .mfa import TEST_TOTP_SECRET, give_totp


@pytest.fixture
def visit(programme, site, other_site, core):
    return Visit.objects.create(programme=programme, host=site, visitor=other_site,
                                status=Visit.Status.HAPPENED, date=datetime.date(2026, 9, 2),
                                facilitator=core)


@pytest.fixture
def records(programme, site, visit, lead, cns, core):
    """What a clinical lead leaves behind: attendance, an availability answer, a note, a
    focus area, a plan with a review comment and a progress update, an invitation they
    accepted, and the log of it all."""
    lead.job_title = "Consultant respiratory physician"
    lead.save()
    give_totp(lead)
    Invitation.objects.create(programme=programme, site=site, email=lead.email,
                              full_name=lead.full_name, site_role="clinical_lead",
                              status=Invitation.Status.ACCEPTED, accepted_by=lead)
    VisitAttendee.objects.create(visit=visit, user=lead, team="host", role="clinical_lead",
                                 present=True)
    poll = AvailabilityPoll.objects.create(
        visit=visit, window_start=datetime.date(2026, 8, 1),
        window_end=datetime.date(2026, 8, 30),
        deadline=datetime.datetime(2026, 7, 20, tzinfo=datetime.UTC))
    day = PollDate.objects.create(poll=poll, date=datetime.date(2026, 8, 4))
    invitee = PollInvitee.objects.create(poll=poll, user=lead, team="host",
                                         role="clinical_lead", nonce="n")
    PollAnswer.objects.create(invitee=invitee, poll_date=day, answer="yes")
    Contribution.objects.create(visit=visit, kind="strength", team="host", role="clinical_lead",
                                text="Our MDT starts on time every week", created_by=lead)
    focus = FocusArea.objects.create(visit=visit, title="CNS at diagnosis", created_by=lead,
                                     owner=lead)
    plan, _ = plan_services.plan_from_focus_area(focus_area=focus, user=lead)
    PlanRole.objects.create(plan=plan, person=lead.full_name, responsibility="Leads the plan")
    ReviewComment.objects.create(plan=plan, field="aim", text="Sharpen the aim", author=core,
                                 response="Done: 85% by March", responded_by=lead)
    ProgressUpdate.objects.create(plan=plan, month=datetime.date(2026, 10, 1),
                                  done="Booked a CNS into every clinic", rag="green",
                                  submitted_by=lead)
    VisitReport.objects.create(visit=visit, version=1, approved_by=core,
                               html=f"<p>Attended: {lead.full_name}, {cns.full_name}</p>")
    programme_services.invitation_create(
        programme=programme, site=site, invited_by=core, email="sam@trust.example",
        full_name="Sam Surgeon", site_role="other_clinician")
    log_action(site, "site.test", actor=core,
               summary=f"Thanked {lead.full_name} ({lead.email})",
               data={"who": lead.full_name}, scopes=[programme])
    return {"plan": plan, "visit": visit}


def download(client: Client, path: str) -> dict:
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Cache-Control"] == "private, no-store"
    assert "attachment" in response["Content-Disposition"]
    return json.loads(b"".join(response) if response.streaming else response.content)


# --- Export --------------------------------------------------------------------------------

def test_a_person_downloads_everything_held_about_them_and_nobody_elses(
        records, client_for, lead, cns, core):
    data = download(client_for(lead), "/accounts/your-data.json")
    sections = data["sections"]
    [account] = sections["Account"]
    assert account["email"] == lead.email and account["full_name"] == "Dr Lena Lead"
    assert account["job_title"] == "Consultant respiratory physician"
    assert account["email_preferences"] == "immediate"
    assert sections["Email addresses"] == [{"email": lead.email, "verified": True,
                                            "primary": True}]
    assert sections["Two-step sign-in"][0]["type"] == "totp"
    assert TEST_TOTP_SECRET not in json.dumps(data)
    assert [m["role"] for m in sections["Site team places"]] == ["clinical_lead"]
    assert sections["Invitations"][0]["status"] == "accepted"
    assert sections["Availability answers"][0]["answer"] == "yes"
    assert sections["Visit attendance"][0]["present"] is True
    written = {row["what"]: row for row in sections["What you wrote at visits"]}
    assert written["note"]["text"] == "Our MDT starts on time every week"
    assert written["focus area"]["title"] == "CNS at diagnosis"
    assert sections["Review comments"] == [
        {"action": "answered a comment", "plan__site__code": records["plan"].site.code,
         "plan__title": records["plan"].title, "field": "aim",
         "response": "Done: 85% by March",
         "responded_at": None}]
    assert sections["Progress updates"][0]["done"] == "Booked a CNS into every clinic"
    assert any(row["verb"] == "qip.created" or "plan" in row["summary"].lower()
               for row in sections["Things you did (activity log)"])
    # Nobody else's details: not the CNS, not the core team's, not the invited surgeon's.
    text = json.dumps(data)
    for other in (cns, core):
        assert other.email not in text
    assert "Sam Surgeon" not in text and "sam@trust.example" not in text
    assert "Sharpen the aim" not in text  # the core team's comment, not the lead's


def test_every_model_that_points_at_a_person_is_in_the_export_or_deliberately_left_out():
    """A new foreign key to the user is a decision: export it, or say here why not."""
    exported = {
        "programmes.coreteammembership", "programmes.sitemembership", "programmes.invitation",
        "programmes.surveyresponse", "programmes.surveyanswer", "programmes.enrolment",
        "visits.visit", "visits.visitattendee", "visits.pollinvitee", "visits.logisticstask",
        "visits.contribution", "visits.teamfeedback", "visits.focusarea",
        "visits.facilitatornote", "visits.observationresponse", "visits.visitreport",
        "qips.qualityimprovementplan", "qips.reviewcomment", "qips.progressupdate",
        "qips.supportrecord", "qips.pdsacycle", "qips.measurement",
        "ilcop.activitylog", "ilcop.notification", "account.emailaddress",
        "mfa.authenticator", "visits.eventinvitation", "programmes.directorylisting",
        "programmes.rolegroupoptout", "programmes.groupmessage",
        # One-way review programmes (programmes/privacy.py, visits/privacy.py).
        "programmes.selfreport", "programmes.evidencedocument",
        "programmes.surveillancedecision", "programmes.qualityindicator",
        "programmes.regionalhubmembership", "programmes.reviewer", "visits.peerreview",
        "visits.lineofenquiry", "visits.reviewchecklistitem", "visits.reviewdocument",
        "visits.standardfinding", "visits.reportrecipient",
    }
    # Who made a randomisation or pairing, and who opened a poll, is the programme's
    # decision log (in the activity log export already), not data about the person; so is
    # who set up or announced an event and who added a resource or an event's slides. A form
    # token is a technical record of a submitted form, purged after a day.
    left_out = {"programmes.randomisation", "programmes.pairing", "visits.availabilitypoll",
                "ilcop.formtoken", "visits.event", "visits.eventmaterial",
                "programmes.resource"}
    pointing = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if (isinstance(field, models.ForeignKey | models.OneToOneField)
                    and field.related_model is User and model._meta.app_label in
                    {"ilcop", "programmes", "visits", "qips", "account", "mfa"}):
                pointing.add(model._meta.label_lower)
    assert pointing - exported - left_out == set()


@pytest.mark.parametrize("who", ["cns", "core", "other_core", "outsider"])
def test_only_staff_download_someone_elses_data(who, request, records, lead, client_for):
    person = request.getfixturevalue(who)
    assert client_for(person).get(f"/people/{lead.pk}/data.json").status_code == 404
    assert client_for(person).get(f"/people/{lead.pk}/anonymise/").status_code == 404
    assert Client().get(f"/people/{lead.pk}/data.json").status_code == 302
    assert Client().get("/accounts/your-data.json").status_code == 302


def test_staff_download_a_persons_data_for_a_subject_access_request(records, lead, client_for):
    staff = UserFactory(email="dpo@nhs.example", full_name="Dee Pio", is_staff=True)
    data = download(client_for(staff), f"/people/{lead.pk}/data.json")
    assert data["person_id"] == lead.pk
    assert data["sections"]["Account"][0]["email"] == lead.email
    assert "dpo@nhs.example" not in json.dumps(data)


def test_the_account_page_offers_the_download(client_for, lead):
    page = client_for(lead).get("/accounts/reminders/").content.decode()
    assert "/accounts/your-data.json" in page


# --- Anonymising ---------------------------------------------------------------------------

@pytest.fixture
def staff(db):
    return UserFactory(email="dpo@nhs.example", full_name="Dee Pio", is_staff=True)


def text_columns_holding(*needles: str) -> list[str]:
    """Every text column of every row in our apps' and allauth's tables that holds a needle."""
    found = []
    for model in apps.get_models():
        if model._meta.app_label not in {"ilcop", "programmes", "visits", "qips", "account",
                                         "mfa"}:
            continue
        fields = [f for f in model._meta.concrete_fields
                  if isinstance(f, models.CharField | models.TextField | models.EmailField
                                | models.JSONField)]
        for row in model.objects.all():
            for field in fields:
                value = field.value_from_object(row)
                text = json.dumps(value) if field.get_internal_type() == "JSONField" else \
                    str(value or "")
                found += [f"{model._meta.label}.{field.name}" for needle in needles
                          if needle.lower() in text.lower()]
    return found


def test_anonymising_removes_the_name_and_address_and_keeps_the_records(
        records, lead, cns, core, staff, client_for, as_core, programme, site):
    name, email = lead.full_name, lead.email
    assert text_columns_holding(name, email)  # the check can find them
    client = client_for(staff)
    confirm = client.get(f"/people/{lead.pk}/anonymise/")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.content.decode()
    assert User.objects.get(pk=lead.pk).full_name == name  # nothing happens on GET
    assert client.post(f"/people/{lead.pk}/anonymise/").status_code == 302

    lead.refresh_from_db()
    assert lead.full_name == f"Former participant {lead.pk}"
    assert lead.email == f"anonymised-{lead.pk}@invalid"
    assert lead.job_title == "" and not lead.is_active and not lead.has_usable_password()
    assert not EmailAddress.objects.filter(user=lead).exists()
    assert not Authenticator.objects.filter(user=lead).exists()
    assert text_columns_holding(name, email) == []
    # The other people are untouched.
    assert cns.full_name in VisitReport.objects.get().html
    # The records stand, and still point at the (now anonymous) person.
    assert Contribution.objects.get().created_by == lead
    assert Contribution.objects.get().text == "Our MDT starts on time every week"
    assert ProgressUpdate.objects.get().submitted_by == lead
    assert SiteMembership.objects.get(user=lead).ended_at is not None
    assert PlanRole.objects.get().person == f"Former participant {lead.pk}"
    # Logged: who anonymised whom, without the old name.
    entry = ActivityLog.objects.get(verb="person.anonymised")
    assert entry.actor == staff and entry.object_id == lead.pk
    assert name not in entry.summary

    # The programme's pages still read, naming the former participant.
    plan, visit = records["plan"], records["visit"]
    for page in (f"/qips/{plan.pk}/", f"/visits/{visit.pk}/", f"/visits/{visit.pk}/report/",
                 f"/programmes/{programme.pk}/activity/", f"/sites/{site.pk}/",
                 f"/programmes/{programme.pk}/history/person/{lead.pk}/"):
        response = as_core.get(page)
        assert response.status_code == 200, page
        assert name not in response.content.decode(), page
    assert "Former participant" in as_core.get(
        f"/programmes/{programme.pk}/activity/").content.decode()


def test_an_anonymised_person_cannot_sign_in(lead, staff):
    lead.set_password("a long enough password 1")
    lead.save()
    email = lead.email
    client = Client()
    client.force_login(lead)
    privacy.person_anonymise(user=lead, by=staff)
    # The old session has ended with the password.
    assert client.get("/accounts/reminders/").status_code == 302
    for login in (email, f"anonymised-{lead.pk}@invalid"):
        visitor = Client()
        visitor.post("/accounts/login/", {"login": login, "password": "a long enough password 1"})
        assert "_auth_user_id" not in visitor.session
        assert visitor.get("/accounts/reminders/").status_code == 302


def test_a_core_team_member_who_leaves_loses_the_programme(core, programme, staff, client_for):
    privacy.person_anonymise(user=core, by=staff)
    assert not CoreTeamMembership.objects.filter(user=core).exists()


def test_anonymising_twice_changes_nothing_more(lead, staff):
    privacy.person_anonymise(user=lead, by=staff)
    privacy.person_anonymise(user=lead, by=staff)
    assert ActivityLog.objects.filter(verb="person.anonymised").count() == 1


def test_staff_cannot_anonymise_themselves_by_mistake(staff, client_for):
    assert client_for(staff).post(f"/people/{staff.pk}/anonymise/").status_code == 404
    staff.refresh_from_db()
    assert staff.is_active


def test_a_pending_invitation_to_the_person_is_withdrawn(programme, site, core, staff):
    invitation = programme_services.invitation_create(
        programme=programme, site=site, invited_by=core, email="sam@trust.example",
        full_name="Sam Surgeon", site_role="other_clinician")
    person = SiteMembershipFactory(site=site, user__email="sam@trust.example").user
    privacy.person_anonymise(user=person, by=staff)
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.REVOKED
    assert invitation.email == f"anonymised-{person.pk}@invalid"


def test_a_name_with_accents_is_replaced_in_the_logs_details_too(site, programme, core, staff):
    person = SiteMembershipFactory(site=site, user__full_name="Zoë Ní Bhriain").user
    log_action(site, "site.test", actor=core, summary="Thanked Zoë Ní Bhriain",
               data={"people": ["Zoë Ní Bhriain"], "note": {"by": "Zoë Ní Bhriain"}},
               scopes=[programme])
    privacy.person_anonymise(user=person, by=staff)
    entry = ActivityLog.objects.get(verb="site.test")
    placeholder = f"Former participant {person.pk}"
    assert entry.summary == f"Thanked {placeholder}"
    assert entry.data == {"people": [placeholder], "note": {"by": placeholder}}


def test_a_namesake_elsewhere_and_a_longer_name_keep_their_words(programme, core, staff,
                                                                  other_core):
    """Only whole words change, and only in the part of the log the person took part in."""
    from .factories import EnrolmentFactory

    site = EnrolmentFactory(programme=programme).site
    person = SiteMembershipFactory(site=site, user__full_name="Ann Lee").user
    log_action(site, "site.test", actor=core, summary="Ann Lee and Ann Leeson agreed",
               scopes=[programme, site])
    second = other_core.core_memberships.get().programme
    elsewhere = EnrolmentFactory(programme=second).site
    log_action(elsewhere, "site.elsewhere", actor=other_core,
               summary="Ann Lee (a namesake) joined", scopes=[second, elsewhere])

    privacy.person_anonymise(user=person, by=staff)

    assert ActivityLog.objects.get(verb="site.test").summary == (
        f"Former participant {person.pk} and Ann Leeson agreed")
    assert ActivityLog.objects.get(verb="site.elsewhere").summary == "Ann Lee (a namesake) joined"
