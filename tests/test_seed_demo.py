"""The demo programme: the right shape, all fictional, and safe to build again and again."""

import datetime
from io import StringIO
from pathlib import Path

import pytest
from allauth.account.auth_backends import AuthenticationBackend
from allauth.account.models import EmailAddress
from django.contrib.auth import authenticate
from django.core.files.base import ContentFile
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import F
from django.test import RequestFactory
from django.utils import timezone

from ilcop.activity import timeline_for
from ilcop.models import ActivityLog, ActivityScope, User
from programmes import demo, selectors
from programmes.models import (
    CoreTeamMembership,
    Enrolment,
    Invitation,
    Organisation,
    Programme,
    Region,
    Resource,
    Site,
    SiteMembership,
)
from qips.models import Measure, Measurement, QualityImprovementPlan
from visits.models import EventMaterial

from .factories import EnrolmentFactory, ProgrammeFactory, SiteMembershipFactory

MODELS = (Programme, User, EmailAddress, Organisation, Site, Enrolment, SiteMembership,
          CoreTeamMembership, Invitation, ActivityLog, ActivityScope, QualityImprovementPlan,
          Measurement)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


# Keys under which the visit-day and plan services log the primary keys of what they made;
# those differ between builds, while everything else in the entry must not.
ID_KEYS = {"item", "contribution", "session", "response", "template", "focus_area", "owner",
           "material", "resource",
           # One-way reviews (qips.demo_one_way goes through the review services).
           "decision", "reviewers", "lead", "line", "document", "review", "standard",
           "recipient", "user", "users", "finding", "visit",
           # A plan's part changed (qips.services.parts names it for a later edit conflict).
           "part_id",
           # A drawn PDF's size moves by a byte or two with the moment it was drawn.
           "size"}


def without_ids(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in ID_KEYS}


# Events, the library and group emails are built relative to today (a conference six weeks
# ahead), so when they were logged differs between two builds; what was logged must not.
NOW_RELATIVE = ("event.", "resource.", "group_message.", "directory.")


def snapshot() -> dict:
    """Everything the demo wrote, minus primary keys and the now-relative invitation dates."""
    return {
        "users": sorted(User.objects.values_list("email", "full_name", "job_title")),
        "emails": sorted(EmailAddress.objects.values_list("email", "verified", "primary")),
        "programmes": sorted(Programme.objects.values_list(
            "name", "specialty", "kind", "status", "start_date", "end_date", "description",
            "created_at")),
        "organisations": sorted(Organisation.objects.values_list(
            "code", "name", "region", "network", "latitude", "longitude")),
        "sites": sorted(Site.objects.values_list(
            "code", "organisation__code", "name", "specialty", "mdt_day", "mdt_time",
            "annual_new_patients")),
        "enrolments": sorted(Enrolment.objects.values_list(
            "site__code", "status", "approved_by", "approved_on", "ineligible_reason",
            "withdrawn_reason", "withdrawn_from", "status_changed_at",
            "status_changed_by__email"), key=repr),
        "core team": sorted(CoreTeamMembership.objects.values_list(
            "user__email", "role", "joined_at")),
        "memberships": sorted(SiteMembership.objects.values_list(
            "site__code", "user__email", "role", "clinical_specialty", "joined_at", "ended_at"),
            key=repr),
        "invitations": sorted(Invitation.objects.values_list(
            "email", "full_name", "site__code", "core_role", "site_role", "clinical_specialty",
            "status", "invited_by__email"), key=repr),
        "activity": sorted(
            repr((verb, repr_, summary, actor, without_ids(data),
                  None if verb == "invitation.created" or verb.startswith(NOW_RELATIVE)
                  else created_at))
            for verb, repr_, summary, actor, data, created_at in ActivityLog.objects.values_list(
                "verb", "object_repr", "summary", "actor__email", "data", "created_at")
        ),
        "activity scopes": ActivityScope.objects.count(),
        "plans": sorted(QualityImprovementPlan.objects.values_list(
            "site__code", "title", "status", "created_at", "status_changed_at", "approved_at",
            "share_with_partner", "share_with_programme"), key=repr),
        "measurements": sorted(Measurement.objects.values_list(
            "measure__plan__site__code", "measure__plan__title", "measure__name", "period",
            "numerator", "denominator", "value", "entered_at"), key=repr),
    }


def primary_keys() -> dict:
    return {model.__name__: sorted(model.objects.values_list("pk", flat=True))
            for model in MODELS}


def test_the_plan_is_deterministic_and_fictional():
    plan = demo.build_plan()
    assert plan == demo.build_plan()

    assert {o.region for o in plan.organisations} == set(Region.values)
    assert all(o.code.startswith("Z") for o in plan.organisations)
    assert all(s.code == f"{s.organisation_code}-LUNG" for s in plan.sites)
    assert len({o.name for o in plan.organisations}) == len(plan.organisations)
    assert all(o.name.endswith(("NHS Trust", "NHS Foundation Trust")) for o in plan.organisations)
    assert all(o.network.endswith("Cancer Alliance") for o in plan.organisations)
    # Roughly in England: between the Scilly Isles and Berwick, Land's End and Lowestoft.
    assert all(49.9 < o.latitude < 55.8 and -5.8 < o.longitude < 1.8 for o in plan.organisations)

    emails = [p.email for p in plan.people] + [i.email for i in plan.invitations]
    assert len(set(emails)) == len(emails)
    assert all(e.endswith(f"{demo.DEMO_EMAIL_DOMAIN}") for e in emails)
    assert all(s.mdt_day in range(5) for s in plan.sites)
    assert all(120 <= s.annual_new_patients <= 650 for s in plan.sites)
    assert all(8 <= s.mdt_time.hour <= 14 and s.mdt_time.minute in (0, 30) for s in plan.sites)
    assert all(s.mdt_time.hour < 14 or s.mdt_time.minute == 0 for s in plan.sites)


def test_the_demo_logins_cover_every_role():
    logins = {email: role for role, email in demo.demo_logins()}
    assert len(logins) == 10
    assert set(logins) == {
        "lead@demo.example", "pm@demo.example", "admin@demo.example",
        "facilitator@demo.example", "site.lead@demo.example", "site.cns@demo.example",
        "site.mdtc@demo.example",
        # The one-way review programme (qips.demo_one_way).
        "service.lead@demo.example", "reviewer@demo.example", "hub@demo.example",
    }
    assert demo.DEMO_PASSWORD == "peer-review-demo"


def test_the_command_lives_in_the_highest_app():
    # qips → visits → programmes: the command builds every app's demo, so it sits in qips.
    assert get_commands()["seed_demo"] == "qips"


def test_printing_the_logins_does_not_touch_the_database():
    # No db fixture: pytest-django fails the test if the command queries the database.
    out = seed("--logins")
    for _, email in demo.demo_logins():
        assert email in out
    assert demo.DEMO_PASSWORD in out


def test_seed_builds_the_ilcop_shaped_programme(db):
    out = seed()
    assert "Created the demo programme" in out
    assert "Visits: " in out
    # The reciprocal programme's plans; the one-way programme's action plan is counted apart.
    plans = QualityImprovementPlan.objects.filter(review__isnull=True).count()
    assert plans >= 15
    assert f"Quality improvement plans: {plans} (" in out
    assert "draft" in out and "in progress" in out and "stopped" in out

    programme = Programme.objects.get(name=demo.PROGRAMME_NAME)
    assert programme.specialty == "lung_cancer"
    assert programme.kind == Programme.Kind.RECIPROCAL
    assert programme.status == Programme.Status.RUNNING
    enrolments = Enrolment.objects.filter(programme=programme)
    assert enrolments.filter(status=Enrolment.Status.INTERVENTION).count() == 30
    assert enrolments.filter(status=Enrolment.Status.CONTROL).count() == 50
    for status, n in demo.ENROLMENT_COUNTS.items():
        assert enrolments.filter(status=status).count() == n
    assert enrolments.count() == sum(demo.ENROLMENT_COUNTS.values())

    funnel = selectors.funnel_counts(programme)
    assert funnel.reached["eligible"] == 80  # eligible or allocated, as in ILCOP
    assert funnel.reached["invited"] == enrolments.count()

    assert not enrolments.filter(status="ineligible", ineligible_reason="").exists()
    withdrawn = enrolments.filter(status="withdrawn")
    assert not withdrawn.filter(withdrawn_reason="").exists()
    assert set(withdrawn.values_list("withdrawn_from", flat=True)) <= {
        "invited", "interested", "approved"}
    approved = enrolments.filter(status__in=["approved", "ineligible", "intervention", "control"])
    assert not approved.filter(approved_by="").exists()
    assert not approved.filter(approved_on__isnull=True).exists()
    assert not approved.filter(approved_on__year__lt=2026).exists()

    assert set(Organisation.objects.values_list("region", flat=True)) == set(Region.values)
    assert all(code.startswith("Z") for code in Organisation.objects.values_list("code",
                                                                                  flat=True))
    assert not User.objects.exclude(email__endswith=f"{demo.DEMO_EMAIL_DOMAIN}").exists()
    assert CoreTeamMembership.objects.filter(programme=programme).count() == 4
    assert sorted(CoreTeamMembership.objects.filter(programme=programme).values_list(
        "role", flat=True)) == sorted(
        CoreTeamMembership.Role.values)


def test_every_intervention_site_has_its_core_roles(db):
    seed()
    for enrolment in Enrolment.objects.filter(status=Enrolment.Status.INTERVENTION):
        roles = set(SiteMembership.objects.current().filter(site=enrolment.site)
                    .values_list("role", flat=True))
        assert {"clinical_lead", "cns", "mdt_coordinator"} <= roles, enrolment.site.code
    for enrolment in Enrolment.objects.filter(status=Enrolment.Status.CONTROL):
        assert SiteMembership.objects.current().filter(
            site=enrolment.site, role="clinical_lead").exists(), enrolment.site.code

    current = SiteMembership.objects.current()
    clinicians = current.filter(role="other_clinician")
    assert clinicians.exists() and not clinicians.filter(clinical_specialty="").exists()
    assert current.filter(role="manager").count() >= 5
    assert current.filter(role="executive_sponsor").count() >= 5


def test_running_it_twice_changes_nothing(db):
    seed()
    before, keys = snapshot(), primary_keys()
    out = seed()
    assert "already exists; nothing changed" in out
    assert snapshot() == before
    assert primary_keys() == keys


def test_reset_rebuilds_the_same_demo(db):
    seed()
    before = snapshot()
    SiteMembership.objects.filter(user__email=demo.SITE_CNS_EMAIL).delete()  # a demo user's edit
    out = seed("--reset")
    assert "Removed the previous demo data" in out
    assert snapshot() == before  # no leftovers, no orphaned activity log entries


def test_a_rebuilt_demo_never_meets_the_old_demos_cached_charts(db):
    # Charts are cached by the measure's key and data version (qips.views.charts). A reset
    # may hand a measure its old key again; every version is new, so no chart drawn for the
    # old demo's data is served for the new one.
    seed()
    before = set(Measure.objects.values_list("data_version", flat=True))
    seed("--reset")
    after = list(Measure.objects.values_list("data_version", flat=True))
    assert len(set(after)) == len(after) == len(before) > 0
    assert not before & set(after)


def test_reset_leaves_everything_else_alone(db):
    # A real programme that happens to share the demo's name, with its own site and people.
    enrolment = EnrolmentFactory(programme__name=demo.PROGRAMME_NAME)
    member = SiteMembershipFactory(site=enrolment.site)
    seed()
    seed("--reset")
    assert Enrolment.objects.filter(pk=enrolment.pk).exists()
    assert Programme.objects.filter(pk=enrolment.programme_id).exists()
    assert User.objects.filter(pk=member.user_id).exists()
    assert Programme.objects.filter(name=demo.PROGRAMME_NAME).count() == 2


def test_reset_removes_the_old_demos_files_and_no_others(
        db, settings, django_capture_on_commit_callbacks):
    media = Path(settings.MEDIA_ROOT)

    def files() -> set[Path]:
        return {path for path in media.rglob("*") if path.is_file()}

    seed()
    old = files()
    assert {path.parent.name for path in old} == {"resources", "events"}
    # Another programme's library document, and a file no row refers to.
    theirs = Resource.objects.create(programme=ProgrammeFactory(), title="Their guide",
                                     file=ContentFile(b"%PDF-1.7", name="guide.pdf"),
                                     filename="guide.pdf")
    stray = media / "resources" / "put-here-by-hand.pdf"
    stray.write_bytes(b"%PDF-1.7")

    with django_capture_on_commit_callbacks(execute=True):
        seed("--reset")
    now = files()
    assert not old & now
    assert {media / theirs.file.name, stray} <= now
    # The new demo's files are all there, and nothing else is left.
    named = {media / name for model in (Resource, EventMaterial)
             for name in model.objects.exclude(file="").values_list("file", flat=True)}
    assert now == named | {stray}
    assert len(named - {media / theirs.file.name}) == len(old)


def test_a_rolled_back_reset_keeps_the_files(db, settings, django_capture_on_commit_callbacks):
    seed()
    old = {path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()}
    with django_capture_on_commit_callbacks(execute=True) as callbacks, \
            pytest.raises(RuntimeError), transaction.atomic():
        demo.delete_demo()
        raise RuntimeError("rolled back")
    assert callbacks == []
    assert all(path.is_file() for path in old)


def test_leftovers_of_a_deleted_demo_are_cleared_before_building(db):
    seed()
    before = snapshot()
    Programme.objects.filter(core_team__user__email=demo.CORE_LEAD_EMAIL).delete()
    seed()
    assert snapshot() == before


def test_every_demo_login_can_sign_in(db):
    seed()
    request = RequestFactory().post("/accounts/login/")
    logins = [email for _, email in demo.demo_logins()]
    # Django's ModelBackend: USERNAME_FIELD is email.
    assert authenticate(username=logins[0], password=demo.DEMO_PASSWORD) is not None
    for email in logins:
        # allauth's email login, which the sign-in page uses.
        user = AuthenticationBackend().authenticate(
            request, email=email, password=demo.DEMO_PASSWORD)
        assert user is not None and user.email == email
        # ACCOUNT_EMAIL_VERIFICATION is mandatory: the address must be verified.
        assert EmailAddress.objects.filter(
            user=user, email=email, verified=True, primary=True).exists()
    assert not User.objects.exclude(emailaddress__verified=True).exists()


def test_the_demo_logins_have_the_roles_they_say(db):
    seed()
    programme = Programme.objects.get(name=demo.PROGRAMME_NAME)
    core = dict(CoreTeamMembership.objects.filter(programme=programme)
                .values_list("user__email", "role"))
    assert core == {
        demo.CORE_LEAD_EMAIL: "clinical_lead",
        demo.CORE_PROJECT_MANAGER_EMAIL: "project_manager",
        demo.CORE_ADMINISTRATOR_EMAIL: "administrator",
        demo.CORE_FACILITATOR_EMAIL: "qi_facilitator",
    }
    site_logins = {demo.SITE_LEAD_EMAIL: "clinical_lead", demo.SITE_CNS_EMAIL: "cns",
                   demo.SITE_MDT_COORDINATOR_EMAIL: "mdt_coordinator"}
    memberships = SiteMembership.objects.current().filter(user__email__in=site_logins)
    assert {m.user.email: m.role for m in memberships} == site_logins
    (site,) = {m.site for m in memberships}
    lowest = (Enrolment.objects.filter(programme=programme, status="intervention")
              .order_by("site__code").first().site)
    assert site == lowest
    assert selectors.can_manage_site_team(User.objects.get(email=demo.SITE_LEAD_EMAIL), site)


def test_timelines_are_filled_in_as_log_action_would(db, mailoutbox):
    seed()
    programme = Programme.objects.get(name=demo.PROGRAMME_NAME)
    site = SiteMembership.objects.get(user__email=demo.SITE_LEAD_EMAIL).site

    summaries = list(timeline_for(site).values_list("summary", flat=True))
    assert "Invited to the programme (imported from a file)" in summaries
    assert "Moved from Invited to Interested" in summaries
    assert "Moved from Eligible to Intervention arm" in summaries
    assert "Joined as Clinical lead" in summaries
    assert timeline_for(programme).filter(summary="Created the programme").exists()

    now = timezone.now()
    for entry in ActivityLog.objects.all():
        # log_action files every entry under its own object as well as its scopes.
        assert entry.scopes.filter(content_type=entry.content_type,
                                   object_id=entry.object_id).exists()
        assert entry.created_at <= now
        # The oldest entries are the first visits' plans, about a year and a half back.
        assert now - entry.created_at < datetime.timedelta(days=2 * 365)
    # Every scope carries its entry's moment (the timelines are read in that order), though
    # the seeds write the log in bulk and date entries after the services wrote them.
    assert not ActivityScope.objects.exclude(created_at=F("entry__created_at")).exists()
    assert ActivityScope.objects.count() > ActivityLog.objects.count()

    pending = Invitation.objects.filter(programme=programme, status="pending")
    assert pending.filter(site__isnull=True).count() == 1
    assert pending.filter(site=site).count() == 1
    assert not pending.filter(sent_at__isnull=True).exists()
    assert not pending.filter(nonce="").exists()
    assert mailoutbox == []  # the seed never sends email


def test_it_refuses_to_run_in_production(db, settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError):
        seed()
    assert not Programme.objects.exists()
