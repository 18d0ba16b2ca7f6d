"""Fuzzing every form: bad input gets a message, never a server error.

Each form is fuzzed through the page that posts it, as a person allowed to use that page
(the real view, so the service behind a valid form runs too). Every form is also validated
directly, which covers the forms no page can reach in this programme's state (a rotation
needs a confirmed pairing with a site left over, for example). A registry test fails when a
new form class appears without being added here.
"""

import datetime
import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from allauth.core import context as allauth_context
from django import forms
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import get_resolver
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from ilcop.models import User
from programmes import funnel
from programmes.models import Enrolment, Invitation, Pair, Site, SiteMembership
from programmes.services import survey as survey_services
from programmes.services.invitations import invitation_token
from qips.models import Measure, QualityImprovementPlan
from visits import observation_form as observation_rules
from visits.models import (
    AvailabilityPoll,
    Event,
    PollAnswer,
    PollDate,
    PollInvitee,
    Visit,
    VisitAttendee,
)
from visits.services import day as day_services
from visits.services import observation as observation_services
from visits.services.polls import poll_token

from .factories import UserFactory
from .fuzz import FUZZ, assert_not_a_server_error, form_data
from .test_permissions import world  # noqa: F401 - the fixture

PROJECT_APPS = ("ilcop.", "programmes.", "visits.", "qips.")


def project_forms() -> set[type]:
    get_resolver().url_patterns  # noqa: B018 - imports every view module, so every form
    found, todo = set(), [forms.BaseForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith(PROJECT_APPS):
                found.add(sub)
    return found


def name_of(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def fields_form(**fields) -> forms.Form:
    """A stand-in form for a page that reads request.POST itself, to say what it reads."""
    return type("Posted", (forms.Form,), dict(fields))()


@pytest.fixture
def fw(world, programme, site, other_site, core, lead, other_lead,  # noqa: F811 - fixture
       facilitator):
    """The permissions world, plus what the other pages need: a staff member, a visit on its
    day with an agenda and attendees, an open poll, a pending invitation and a measure of
    each kind."""
    ids = world["ids"]
    today = timezone.localdate()
    staff = UserFactory(is_staff=True)
    visit = Visit.objects.get(pk=ids["visit"])
    Visit.objects.filter(pk=visit.pk).update(facilitator=facilitator)
    day = Visit.objects.create(programme=programme, host=site, visitor=other_site,
                               facilitator=facilitator, status=Visit.Status.CONFIRMED,
                               date=today, start_time=datetime.time(9),
                               end_time=datetime.time(16), venue="Room 1")
    items = day_services.visit_agenda_ensure(visit=day, user=core)
    for person, team in ((lead, "host"), (other_lead, "visiting"), (facilitator, "facilitator")):
        VisitAttendee.objects.create(visit=day, user=person, team=team, role="clinical_lead")
    poll = AvailabilityPoll.objects.create(
        visit=visit, window_start=today + datetime.timedelta(days=30),
        window_end=today + datetime.timedelta(days=60),
        deadline=timezone.now() + datetime.timedelta(days=14), created_by=core)
    for offset in (30, 37, 44):
        PollDate.objects.create(poll=poll, date=today + datetime.timedelta(days=offset))
    invitee = PollInvitee.objects.create(poll=poll, user=lead, team="host", role="clinical_lead",
                                         nonce=uuid.uuid4().hex)
    newcomer = Invitation.objects.create(programme=programme, site=site, email="nu@nhs.example",
                                         full_name="New Person", site_role="cns",
                                         invited_by=lead, sent_at=timezone.now())
    plan = QualityImprovementPlan.objects.get(pk=ids["plan"])
    percentage = Measure.objects.create(plan=plan, kind="process", name="P", numerator="n",
                                        denominator="d", data_source="log",
                                        direction="increase")
    # An undated draft workshop, whose date the event poll's form sets out to find.
    ids["event_poll_undated"] = Event.objects.create(
        programme=programme, kind=Event.Kind.WORKSHOP, title="Workshop", created_by=core).pk
    # Event replies: the lead is invited to a workshop in three weeks (replies open) and to
    # one today (attendance can be recorded).
    for key, days in (("reply_event", 21), ("attendance_event", 0)):
        ids[key] = Event.objects.create(
            programme=programme, kind=Event.Kind.WORKSHOP, title=key, status="announced",
            date=today + datetime.timedelta(days=days), start_time=datetime.time(23, 59),
            created_by=core).pk
        for person in (lead, other_lead):
            _event_invitation(ids[key], person, site)
    survey = programme.survey
    return SimpleNamespace(
        ids=ids, programme=programme, site=site,
        enrolment=Enrolment.objects.get(pk=ids["enrolment"]),
        survey=survey, questions=list(survey.questions.all()),
        collection=survey_services.collection_for(survey=survey, site=site),
        visit=visit, day=day, item=items[0], poll=poll, poll_token=poll_token(invitee),
        invitation=newcomer, invitation_token=invitation_token(newcomer),
        plan=plan, measure=Measure.objects.get(pk=ids["measure"]), percentage=percentage,
        people={"core": core, "lead": lead, "other_lead": other_lead, "staff": staff,
                "facilitator": facilitator},
    )


# --- constructor arguments for every form -------------------------------------------------


def _intervention_sites(w):
    return Site.objects.filter(enrolments__programme=w.programme,
                               enrolments__status=Enrolment.Status.INTERVENTION)


def _people(w):
    return User.objects.filter(site_memberships__in=SiteMembership.objects.current().filter(
        site=w.site))


def _event_invitation(event_id, person, site):
    from visits.models import EventInvitation

    return EventInvitation.objects.create(event_id=event_id, user=person, site=site,
                                          role="clinical_lead")


def _event_invitations(w):
    from visits.models import EventInvitation

    return {"invitations": list(EventInvitation.objects.filter(
        event_id=w.ids["attendance_event"]).select_related("user", "site"))}


def _reviewers():
    from programmes.models import Reviewer

    return Reviewer.objects.all()


def _standards():
    from programmes.models import Standard

    return Standard.objects.all()


KWARGS = {
    "ilcop.views.ReminderEmailsForm": lambda w: {"instance": w.people["lead"]},
    "ilcop.mfa.ActivateTotpForm": lambda w: {"user": w.people["core"]},
    "ilcop.mfa.SignInCodeForm": lambda w: {"user": w.people["core"]},
    "ilcop.mfa.ConfirmCodeForm": lambda w: {"user": w.people["core"]},
    "programmes.forms.ProgrammeForm": lambda w: {"instance": w.programme},
    "programmes.forms.NewProgrammeForm": lambda w: {},
    "programmes.forms.OrganisationForm": lambda w: {},
    "programmes.forms.SiteForm": lambda w: {"instance": w.site},
    "programmes.forms.SiteImportForm": lambda w: {},
    "programmes.forms.EnrolmentMoveForm": lambda w: {
        "targets": funnel.allowed_moves(w.enrolment.status)},
    "programmes.forms.BulkMoveForm": lambda w: {"programme": w.programme},
    "programmes.forms.InvitationForm": lambda w: {"for_site": True},
    "programmes.forms.AcceptInvitationForm": lambda w: {"email": "nu@nhs.example"},
    "programmes.forms.IndicatorForm": lambda w: {"programme": w.programme},
    "programmes.forms.AuditImportForm": lambda w: {},
    "programmes.forms.RandomisationForm": lambda w: {},
    "programmes.forms.PairingConstraintsForm": lambda w: {},
    "programmes.forms.MakePairForm": lambda w: {"sites": _intervention_sites(w)},
    "programmes.forms.ConflictForm": lambda w: {"sites": _intervention_sites(w)},
    "programmes.forms.SwapPairsForm": lambda w: {"pairs": Pair.objects.all()},
    "programmes.forms.ReasonForm": lambda w: {},
    "programmes.forms_resources.ResourceForm": lambda w: {"programme": w.programme},
    "programmes.forms_community.DirectoryListingForm": lambda w: {},
    "programmes.forms_community.GroupMessageForm": lambda w: {},
    "programmes.forms_survey.SurveySettingsForm": lambda w: {"instance": w.survey},
    "programmes.forms_survey.SurveyQuestionForm": lambda w: {"survey": w.survey},
    "programmes.forms_survey.SurveyResponseForm": lambda w: {"questions": w.questions},
    "programmes.forms_survey.PaperResponseForm": lambda w: {"questions": w.questions},
    "programmes.forms_survey.SurveyImportForm": lambda w: {},
    "programmes.forms_survey.CommentReviewForm": lambda w: {},
    "visits.forms.PollOpenForm": lambda w: {},
    "visits.forms_event_responses.EventReplyForm": lambda w: {},
    "visits.forms_event_responses.EventAttendanceForm": _event_invitations,
    "visits.forms_event_responses.EventMaterialForm": lambda w: {},
    "visits.forms_event_polls.EventPollOpenForm": lambda w: {"sites": _intervention_sites(w)},
    "visits.forms_events.EventKindForm": lambda w: {},
    "visits.forms_events.EventForm": lambda w: {"kind": "conference"},
    "visits.forms_events.SessionForm": lambda w: {
        "event": Event.objects.get(pk=w.ids["reply_event"])},
    "visits.forms_events.AudienceForm": lambda w: {"sites": _intervention_sites(w),
                                                   "short_notice": True},
    "visits.forms_events.CancelForm": lambda w: {},
    "visits.forms.ConfirmForm": lambda w: {},
    "visits.forms.VisitDetailsForm": lambda w: {"instance": w.day},
    "visits.forms.ReasonForm": lambda w: {},
    "visits.forms.RotationForm": lambda w: {"pairs": Pair.objects.all(),
                                            "sites": _intervention_sites(w)},
    "visits.views_day.AgendaItemForm": lambda w: {},
    "visits.views_day.AgendaItemAddForm": lambda w: {"visit": w.day},
    "visits.views_day.CaptureForm": lambda w: {"who": day_services.who_choices(w.day)},
    "visits.views_day.FeedbackForm": lambda w: {"prefix": "visiting"},
    "visits.views_day.FocusAreaForm": lambda w: {"visit": w.day},
    "visits.views_day.NoteForm": lambda w: {},
    "visits.views_day.AttendanceForm": lambda w: {"attendees": list(w.day.attendees.all())},
    "visits.views_report.ApproveForm": lambda w: {"correcting": True},
    "qips.forms.NewPlanForm": lambda w: {},
    "qips.forms.PlanForm": lambda w: {"instance": w.plan, "plan": w.plan, "people": _people(w)},
    "qips.forms.DriverForm": lambda w: {"plan": w.plan},
    "qips.forms.RoleForm": lambda w: {},
    "qips.forms.MilestoneForm": lambda w: {},
    "qips.forms.BarrierForm": lambda w: {},
    "qips.forms.MeasureForm": lambda w: {},
    "qips.forms.MeasurementPasteForm": lambda w: {},
    "qips.forms.MeasurementImportForm": lambda w: {},
    "qips.forms.RebaseForm": lambda w: {"measure": w.measure},
    "qips.forms.PdsaForm": lambda w: {"plan": w.plan},
    "qips.forms.ProgressUpdateForm": lambda w: {},
    "qips.forms.ReviewCommentForm": lambda w: {},
    "qips.forms.CommentResponseForm": lambda w: {},
    "qips.forms.TransitionForm": lambda w: {},
    "qips.forms.SupportForm": lambda w: {},
    # A review report's forms: this world has no review with a report to post them to, so
    # they are validated directly (NOT_POSTED_HERE); tests/test_oneway_review_reports.py
    # posts bad input through their pages.
    "visits.forms_review_reports.RecipientForm": lambda w: {},
    "visits.forms_review_reports.PublishedEvidenceForm": lambda w: {},
    "visits.forms_review_reports.RedactionApproveForm": lambda w: {},
    "visits.forms_review_reports.VisibilityForm": lambda w: {},
    "programmes.forms_self_report.StandardForm": lambda w: {},
    "programmes.forms_self_report.QualityIndicatorForm": lambda w: {"programme": w.programme},
    "programmes.forms_self_report.FlagForm": lambda w: {},
    "programmes.forms_self_report.ReviseForm": lambda w: {},
    "programmes.forms_self_report.CycleForm": lambda w: {},
    "programmes.forms_self_report.SelfReportForm": lambda w: {"indicators": []},
    "programmes.forms_self_report.EvidenceForm": lambda w: {"programme": w.programme},
    "programmes.forms_self_report.SelfReportImportForm": lambda w: {},
    "programmes.forms_self_report.HubForm": lambda w: {"sites": _intervention_sites(w)},
    "programmes.forms_reviewers.DecisionForm": lambda w: {},
    "programmes.forms_reviewers.ReviewerForm": lambda w: {},
    "programmes.forms_reviewers.ReviewerAddForm": lambda w: {},
    "programmes.forms_reviewers.ConflictForm": lambda w: {},
    "programmes.forms_reviewers.MyConflictForm": lambda w: {"reviewers": _reviewers()},
    "visits.forms_reviews.ReviewCreateForm": lambda w: {},
    "visits.forms_reviews.ReviewTeamForm": lambda w: {"reviewers": _reviewers()},
    "visits.forms_reviews.LineOfEnquiryForm": lambda w: {"standards": _standards()},
    "visits.forms_reviews.ReviewDocumentForm": lambda w: {},
    "visits.forms_reviews.PreviousContactForm": lambda w: {"sites": _intervention_sites(w)},
    "visits.forms_review_visits.ReviewVisitAddForm": lambda w: {"programme": w.programme},
    "visits.forms_review_visits.FindingForm": lambda w: {},
    "qips.forms_action_plans.LibraryShareForm": lambda w: {},
}


# --- the pages that post each form ----------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    person: str | None  # None: not signed in
    form: str  # a KWARGS key, or "custom:<what>" for a page that reads request.POST itself
    fixed: dict = field(default_factory=dict)
    kwargs: object = None  # overrides KWARGS[form]


def _poll_form(w):
    return fields_form(**{f"date-{d.date.isoformat()}": forms.ChoiceField(
        choices=PollAnswer.Answer.choices) for d in w.poll.dates.all()})


def _observation_form(w):
    definition = observation_services.observation_form_current(w.programme).definition
    return fields_form(action=forms.ChoiceField(choices=[("save", "save"), ("submit", "s")]),
                       **{q["key"]: forms.CharField() for q in
                          observation_rules.questions(definition)})


def _login_form(w):
    return fields_form(login=forms.EmailField(), password=forms.CharField(),
                       remember=forms.BooleanField())


CUSTOM = {"custom:poll": _poll_form, "custom:observation": _observation_form,
          "custom:login": _login_form}

P = "/programmes/{programme}"
TARGETS = [
    Target("email preferences", "/accounts/reminders/", "lead", "ilcop.views.ReminderEmailsForm"),
    Target("programme new", "/programmes/new/", "staff", "programmes.forms.NewProgrammeForm"),
    Target("programme edit", P + "/edit/", "core", "programmes.forms.ProgrammeForm"),
    Target("bulk move", P + "/sites/", "core", "programmes.forms.BulkMoveForm"),
    Target("enrolment move", P + "/enrolments/{enrolment}/move/", "core",
           "programmes.forms.EnrolmentMoveForm"),
    Target("site add", P + "/sites/add/", "core", "programmes.forms.SiteForm",
           kwargs=lambda w: {}),
    Target("site edit", "/sites/{site}/edit/", "core", "programmes.forms.SiteForm"),
    Target("organisation add", P + "/organisations/add/", "core",
           "programmes.forms.OrganisationForm"),
    Target("core team invite", P + "/core-team/invite/", "core",
           "programmes.forms.InvitationForm", kwargs=lambda w: {"for_site": False}),
    Target("site team invite", "/sites/{site}/team/invite/", "lead",
           "programmes.forms.InvitationForm"),
    Target("invitation accept", "/invitations/{invitation_token}/", None,
           "programmes.forms.AcceptInvitationForm"),
    Target("indicator add", P + "/indicators/add/", "core", "programmes.forms.IndicatorForm"),
    Target("resource add", P + "/resources/add/", "core",
           "programmes.forms_resources.ResourceForm"),
    Target("indicator edit", P + "/indicators/{indicator}/edit/", "core",
           "programmes.forms.IndicatorForm"),
    Target("randomisation", P + "/randomisation/", "core",
           "programmes.forms.RandomisationForm"),
    Target("pairing", P + "/pairing/", "core", "programmes.forms.PairingConstraintsForm"),
    Target("pairing conflict", P + "/pairing/conflicts/add/", "core",
           "programmes.forms.ConflictForm"),
    Target("pair make", P + "/pairing/make/", "core", "programmes.forms.MakePairForm"),
    Target("pairs swap", P + "/pairing/swap/", "core", "programmes.forms.SwapPairsForm"),
    Target("pairing reopen", P + "/pairing/reopen/", "core", "programmes.forms.ReasonForm"),
    Target("directory listing", "/directory/your-listing/", "lead",
           "programmes.forms_community.DirectoryListingForm"),
    Target("group message", P + "/groups/email/", "core",
           "programmes.forms_community.GroupMessageForm"),
    Target("survey settings", P + "/survey/edit/", "core",
           "programmes.forms_survey.SurveySettingsForm"),
    # Questions are locked once a patient has answered, as here: the page sends the core team
    # back, and the form itself is fuzzed directly below.
    Target("survey question add", P + "/survey/questions/add/", "core",
           "programmes.forms_survey.SurveyQuestionForm"),
    Target("survey paper entry", "/sites/{site}/survey/enter/", "lead",
           "programmes.forms_survey.PaperResponseForm"),
    Target("survey comment review", "/sites/{site}/survey/comments/{comment}/", "core",
           "programmes.forms_survey.CommentReviewForm"),
    Target("public survey", "/survey/{survey_code}/", None,
           "programmes.forms_survey.SurveyResponseForm"),
    Target("visit edit", "/visits/{day}/edit/", "core", "visits.forms.VisitDetailsForm"),
    Target("event reply", "/events/{reply_event}/reply/", "lead",
           "visits.forms_event_responses.EventReplyForm"),
    Target("event attendance", "/events/{attendance_event}/attendance/", "core",
           "visits.forms_event_responses.EventAttendanceForm"),
    Target("event material", "/events/{reply_event}/materials/add/", "core",
           "visits.forms_event_responses.EventMaterialForm"),
    Target("poll open", "/visits/{visit}/poll/new/", "core", "visits.forms.PollOpenForm"),
    Target("event poll open", "/events/{event_poll_undated}/poll/new/", "core",
           "visits.forms_event_polls.EventPollOpenForm"),
    Target("event create", P + "/events/new/?kind=conference", "core",
           "visits.forms_events.EventForm"),
    Target("event edit", "/events/{reply_event}/edit/", "core", "visits.forms_events.EventForm",
           kwargs=lambda w: {"kind": "workshop"}),
    Target("event session add", "/events/{reply_event}/sessions/add/", "core",
           "visits.forms_events.SessionForm"),
    Target("event invite", "/events/{reply_event}/invite/", "core",
           "visits.forms_events.AudienceForm"),
    Target("event kind", P + "/events/new/", "core", "visits.forms_events.EventKindForm"),
    Target("event cancel", "/events/{reply_event}/cancel/", "core",
           "visits.forms_events.CancelForm"),
    Target("visit confirm", "/visits/{visit}/confirm/", "core", "visits.forms.ConfirmForm"),
    Target("visit cancel", "/visits/{visit}/cancel/", "core", "visits.forms.ReasonForm"),
    Target("rotation", P + "/visits/rotation/", "core", "visits.forms.RotationForm"),
    Target("agenda add", "/visits/{day}/agenda/add/", "core",
           "visits.views_day.AgendaItemAddForm"),
    Target("agenda edit", "/visits/{day}/agenda/{item}/edit/", "core",
           "visits.views_day.AgendaItemForm"),
    Target("live capture", "/visits/{day}/live/capture/", "core", "visits.views_day.CaptureForm"),
    Target("feedback", "/visits/{day}/summary/feedback/visiting/", "other_lead",
           "visits.views_day.FeedbackForm"),
    Target("focus area add", "/visits/{day}/summary/focus-areas/", "lead",
           "visits.views_day.FocusAreaForm"),
    Target("attendance", "/visits/{day}/attendance/", "core", "visits.views_day.AttendanceForm"),
    Target("facilitator notes", "/visits/{day}/notes/", "core", "visits.views_day.NoteForm"),
    Target("report approve", "/visits/{day}/report/approve/", "core",
           "visits.views_report.ApproveForm"),
    Target("observation", "/visits/{day}/observation/", "other_lead", "custom:observation"),
    Target("poll answer", "/availability/{poll_token}/", None, "custom:poll"),
    Target("sign in", "/accounts/login/", None, "custom:login"),
    Target("plan start", "/sites/{site}/qips/new/", "lead", "qips.forms.NewPlanForm"),
    Target("plan edit", "/qips/{plan}/edit/", "lead", "qips.forms.PlanForm"),
    Target("plan submit", "/qips/{plan}/move/submit/", "lead", "qips.forms.TransitionForm"),
    Target("plan review comment", "/qips/{plan}/comments/", "core",
           "qips.forms.ReviewCommentForm"),
    Target("plan comment answer", "/qips/{plan}/comments/{review_comment}/answer/", "lead",
           "qips.forms.CommentResponseForm"),
    Target("plan support", "/qips/{plan}/support/", "core", "qips.forms.SupportForm"),
    Target("plan progress", "/qips/{plan}/progress/", "lead", "qips.forms.ProgressUpdateForm"),
    Target("driver add", "/qips/{plan}/drivers/add/", "lead", "qips.forms.DriverForm"),
    Target("role add", "/qips/{plan}/roles/add/", "lead", "qips.forms.RoleForm"),
    Target("milestone add", "/qips/{plan}/milestones/add/", "lead", "qips.forms.MilestoneForm"),
    Target("barrier add", "/qips/{plan}/barriers/add/", "lead", "qips.forms.BarrierForm"),
    Target("measure add", "/qips/{plan}/measures/add/", "lead", "qips.forms.MeasureForm"),
    Target("measure edit", "/qips/{plan}/measures/{measure}/edit/", "lead",
           "qips.forms.MeasureForm", kwargs=lambda w: {"instance": w.measure}),
    Target("pdsa add", "/qips/{plan}/pdsa/add/", "lead", "qips.forms.PdsaForm"),
    Target("measure rebase", "/qips/{plan}/measures/{measure}/data/", "lead",
           "qips.forms.RebaseForm", fixed={"how": "rebase"},
           kwargs=lambda w: {"measure": w.measure, "prefix": "rebase"}),
    Target("measure paste", "/qips/{plan}/measures/{percentage}/data/", "lead",
           "qips.forms.MeasurementPasteForm", fixed={"how": "paste"},
           kwargs=lambda w: {"prefix": "paste"}),
]


def url_for(target: Target, w) -> str:
    return target.url.format(
        **w.ids, day=w.day.pk, item=w.item.pk, poll_token=w.poll_token,
        invitation_token=w.invitation_token, survey_code=w.collection.code,
        percentage=w.percentage.pk)


def unbound_form(target: Target, w) -> forms.BaseForm:
    if target.form in CUSTOM:
        return CUSTOM[target.form](w)
    cls = next(c for c in project_forms() if name_of(c) == target.form)
    return cls(**(target.kwargs or KWARGS[target.form])(w))


def client_as(person: str | None, w) -> Client:
    client = Client()
    if person:
        client.force_login(w.people[person])
    return client


# --- the registry ---------------------------------------------------------------------------


def test_every_form_in_the_project_is_fuzzed():
    """A new form fails here until it has constructor arguments in KWARGS (and, if a page
    posts it, a Target)."""
    assert {name_of(c) for c in project_forms()} == set(KWARGS)


# Import forms are posted with a file (tests/test_fuzz_imports); the two-step sign-in forms
# sit on allauth's own pages, mid-flow, and are validated directly only.
NOT_POSTED_HERE = {"ilcop.mfa.ActivateTotpForm", "ilcop.mfa.SignInCodeForm",
                   "ilcop.mfa.ConfirmCodeForm",
                   "programmes.forms.SiteImportForm", "programmes.forms.AuditImportForm",
                   "programmes.forms_survey.SurveyImportForm",
                   "qips.forms.MeasurementImportForm",
                   "visits.forms_review_reports.RecipientForm",
                   "visits.forms_review_reports.PublishedEvidenceForm",
                   "visits.forms_review_reports.RedactionApproveForm",
                   "visits.forms_review_reports.VisibilityForm",
                   # A one-way programme's pages, which this world has none of;
                   # tests/test_oneway_self_report_fuzz.py posts them through their pages.
                   "programmes.forms_self_report.StandardForm",
                   "programmes.forms_self_report.QualityIndicatorForm",
                   "programmes.forms_self_report.FlagForm",
                   "programmes.forms_self_report.ReviseForm",
                   "programmes.forms_self_report.CycleForm",
                   "programmes.forms_self_report.SelfReportForm",
                   "programmes.forms_self_report.EvidenceForm",
                   "programmes.forms_self_report.SelfReportImportForm",
                   "programmes.forms_self_report.HubForm",
                   # Decisions and the reviewer pool belong to a one-way programme, which this
                   # world has none of; tests/test_oneway_reviewers_fuzz.py posts them.
                   "programmes.forms_reviewers.DecisionForm",
                   "programmes.forms_reviewers.ReviewerForm",
                   "programmes.forms_reviewers.ReviewerAddForm",
                   "programmes.forms_reviewers.ConflictForm",
                   "programmes.forms_reviewers.MyConflictForm",
                   # A one-way review's set-up: this world has no review;
                   # tests/test_oneway_reviews_fuzz.py posts them through their pages.
                   "visits.forms_reviews.ReviewCreateForm",
                   "visits.forms_reviews.ReviewTeamForm",
                   "visits.forms_reviews.LineOfEnquiryForm",
                   "visits.forms_reviews.ReviewDocumentForm",
                   "visits.forms_reviews.PreviousContactForm",
                   # A review's visits and findings: this world has no review;
                   # tests/test_oneway_findings_fuzz.py posts them through their pages.
                   "visits.forms_review_visits.ReviewVisitAddForm",
                   "visits.forms_review_visits.FindingForm",
                   # Posted on a one-way review's finding, which this world has none of;
                   # tests/test_oneway_learning.py posts it.
                   "qips.forms_action_plans.LibraryShareForm"}


def test_every_form_a_page_posts_is_fuzzed_through_that_page():
    posted = {t.form for t in TARGETS}
    assert set(KWARGS) - NOT_POSTED_HERE <= posted


# --- (b) through the pages ------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
@FUZZ
@given(data=st.data())
def test_posting_anything_to_a_form_page_is_never_a_server_error(fw, target, data):
    url = url_for(target, fw)
    client = client_as(target.person, fw)
    form = unbound_form(target, fw)
    payload = data.draw(form_data(form, fixed=target.fixed), label="POST")
    # The public pages count posts per client; every example is a fresh visitor.
    cache.clear()
    response = client.post(url, payload)
    assert_not_a_server_error(response)
    if response.status_code == 200 and target.person:
        # A refused form says why, in the NHS.UK error summary, or the page is the form again.
        page = response.content.decode()
        assert "nhsuk-error-summary" in page or "<form" in page


# --- (a) directly, with the programme's objects -------------------------------------------


@pytest.mark.parametrize("form_name", sorted(KWARGS))
@FUZZ
@given(data=st.data())
def test_validating_anything_never_raises(fw, form_name, data):
    cls = next(c for c in project_forms() if name_of(c) == form_name)
    # allauth's two-step forms read the request from allauth's context, as its views set it.
    request = RequestFactory().post("/")
    request.session = SessionStore()
    request.user = fw.people["core"]
    with allauth_context.request_context(request):
        kwargs = KWARGS[form_name](fw)
        payload = data.draw(form_data(cls(**kwargs)), label="data")
        bound = cls(_querydict(payload), **kwargs)
        valid = bound.is_valid()
    if valid:
        assert bound.cleaned_data is not None
    else:
        assert all(str(e) for errors in bound.errors.values() for e in errors)


def _querydict(payload: dict):
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    for key, value in payload.items():
        query.setlist(key, value if isinstance(value, list) else [value])
    return query
