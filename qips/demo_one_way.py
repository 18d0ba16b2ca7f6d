"""The demo's one-way review programme (issue 12): NHS England's quality surveillance model
(seed 003) run on the same machinery as the reciprocal programme.

Twelve thoracic surgery services at the demo's trusts self-reported this year's indicators.
Four fall below threshold and each has a decision: enhanced surveillance, routine
surveillance, and two peer reviews. The first review has happened: findings against every
standard, a report approved, emailed to its distribution list and published to the network
after an approved redaction, and an action plan in progress with an overdue action and a
request for support. The second review's visit is three weeks away, its team chosen and its
lines of enquiry waiting for the service to agree them. A regional hub follows its region's
services, and the reviewer pool has clinical peers and patient reviewers, one with a declared
conflict.

Rows go in through the services where a service exists for that step (setting up a review,
its team, its lines of enquiry and its visits; report approval and redaction) and directly
otherwise, with the log entries the services would have written.
"""

import datetime

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.models import ActivityLog, Notification, User
from ilcop.notifications import absolute_url
from programmes import demo as programmes_demo
from programmes.models import (
    ConflictOfInterest,
    CoreTeamMembership,
    Enrolment,
    IndicatorResponse,
    Organisation,
    Programme,
    QualityIndicator,
    RegionalHub,
    RegionalHubMembership,
    Resource,
    ResourceTopic,
    Reviewer,
    SelfReport,
    SelfReportCycle,
    Site,
    SiteMembership,
    Specialty,
    Standard,
    SurveillanceDecision,
)
from programmes.selectors.surveillance import report_assessment
from visits.models import (
    PeerReview,
    ReportRecipient,
    ReviewChecklistItem,
    StandardFinding,
    Visit,
    VisitAttendee,
    VisitReport,
)
from visits.report import NOTIFICATION_KIND

from .models import Milestone, ProgressUpdate, QualityImprovementPlan

PROGRAMME_NAME = programmes_demo.ONE_WAY_PROGRAMME_NAME
DOMAIN = programmes_demo.DEMO_EMAIL_DOMAIN

STANDARDS = (
    ("S1", "The MDT meets weekly and discusses every new patient",
     "Membership, quorum, attendance and the patients discussed."),
    ("S2", "Patients are seen, diagnosed and treated within the national timeframes",
     "Referral to first appointment, diagnosis and first treatment."),
    ("S3", "Every patient has a named key worker",
     "Usually a clinical nurse specialist, recorded and known to the patient."),
    ("S4", "Surgical outcomes are audited and acted on",
     "Resection rates, 30- and 90-day mortality, length of stay, morbidity meetings."),
    ("S5", "Patients are involved in decisions and their experience is heard",
     "Information, consent and what the service does with the patient survey."),
    ("S6", "The service learns from incidents and from other services",
     "Incident review, sharing learning, taking part in peer review and audit."),
)

# (code, standard, kind, title, what counts as evidence)
AGREED, GOOD = QualityIndicator.Kind.AGREED, QualityIndicator.Kind.GOOD_PRACTICE
INDICATORS = (
    ("QI-01", "S1", AGREED, "The MDT has a core membership agreed with the network",
     "Operational policy listing core members and cover"),
    ("QI-02", "S1", AGREED, "Core members attend at least two-thirds of meetings",
     "The last 12 months' attendance register"),
    ("QI-03", "S2", AGREED, "Waiting times are reported to the MDT monthly",
     "Three months of MDT minutes with the report tabled"),
    ("QI-04", "S3", AGREED, "Every patient is told the name of their key worker",
     "Audit of 20 case notes"),
    ("QI-05", "S4", AGREED, "Surgical outcomes are submitted to the national audit",
     "Confirmation of submission for the last audit year"),
    ("QI-06", "S4", AGREED, "Morbidity and mortality meetings are held quarterly",
     "Minutes of the last four meetings"),
    ("QI-07", "S5", AGREED, "Written information is given at diagnosis",
     "The information pack and an audit of who received it"),
    ("QI-08", "S2", AGREED, "Patients are treated within 62 days of urgent referral",
     "Cancer waiting times data for the last four quarters"),
    ("GP-01", "S5", GOOD, "The service acts on its patient experience survey",
     "The survey results and the actions taken"),
    ("GP-02", "S6", GOOD, "Learning from incidents is shared with the network",
     "Two examples of learning shared"),
    ("GP-03", "S3", GOOD, "Key workers have protected time for the role",
     "Job plans showing the time"),
    ("GP-04", "S6", GOOD, "Pre-operative assessment includes prehabilitation",
     "The prehabilitation pathway and its uptake"),
)
# QI-08 cites the 62-day standard that the Cancer Waiting Times review replaced in 2025: the
# core team has flagged it as out of date, so it is not scored this year.
OUT_OF_DATE = {"QI-08": "The 62-day standard it cites was replaced by the combined "
                        "standards of the 2025 Cancer Waiting Times review; revision agreed "
                        "with the network for next year's cycle."}

# The indicators each service does not meet, by service number (in trust code order).
# Service 1 sits exactly on the 75% threshold (not flagged); 2, 3, 4 and 5 are flagged; 11 has
# not submitted.
NOT_MET = {
    1: {"GP-03"},
    2: {"QI-02"},
    3: {"QI-05", "GP-01", "GP-02"},
    4: {"GP-01", "GP-04"},
    5: {"QI-07", "GP-02", "GP-03"},
    7: {"QI-08"},  # out of date: not scored
}
NOT_SUBMITTED = 11
LEAD_SURNAMES = ("Ahmed", "Clarke", "Evans", "Patel", "Wright", "Brown", "Khan", "Jones",
                 "Taylor", "Smith", "Lewis", "Walker")
NURSE_NAMES = ("Amy", "Beth", "Cara", "Dawn", "Emma", "Faye", "Gill", "Hana", "Iris", "Jade",
               "Kate", "Lucy")
REVIEWED, UPCOMING = 3, 5

REVIEWERS = (
    # (email local part, full name, profession or "" for a patient reviewer, expertise)
    ("reviewer", "Dr Imran Qureshi", Reviewer.Profession.DOCTOR, "Thoracic surgery"),
    ("helen.marsh", "Helen Marsh", Reviewer.Profession.NURSE,
     "Lung cancer clinical nurse specialist, key worker services"),
    ("tom.adeyemi", "Tom Adeyemi", Reviewer.Profession.AHP, "Physiotherapy and prehabilitation"),
    ("fiona.grant", "Fiona Grant", Reviewer.Profession.MANAGER, "Cancer services management"),
    ("raj.menon", "Dr Raj Menon", Reviewer.Profession.DOCTOR, "Respiratory medicine"),
    ("claire.dunn", "Claire Dunn", Reviewer.Profession.PHARMACIST, "Oncology pharmacy"),
    ("margaret.ellis", "Margaret Ellis", "", "Former patient: lobectomy in 2022"),
    ("david.hughes", "David Hughes", "", "Carer; patient panel member"),
)

FINDINGS = (
    ("S1", StandardFinding.Rating.MET,
     "Weekly meeting with a quorate core membership in 48 of the last 52 weeks.",
     "", "A chair's checklist read at the start of every meeting keeps discussion short."),
    ("S2", StandardFinding.Rating.PARTLY_MET,
     "Waiting times are tabled monthly but breaches are not discussed case by case.",
     "Add a breach review to the monthly MDT business meeting, with the pathway navigator "
     "presenting each breach and what delayed it.", ""),
    ("S3", StandardFinding.Rating.MET,
     "All 20 sampled patients knew their key worker by name.", "",
     "Key worker cards given at diagnosis, with the direct line and cover arrangements."),
    ("S4", StandardFinding.Rating.NOT_MET,
     "The last audit year's surgical outcomes were not submitted: the data manager post was "
     "vacant for eight months.",
     "Agree cover for the data manager role with the trust's cancer services manager, and "
     "ask the network's audit lead for a session on catching up the missed submission.", ""),
    ("S5", StandardFinding.Rating.PARTLY_MET,
     "Information is given at diagnosis; the patient survey results have not been discussed "
     "by the team.",
     "Put the survey results on the next business meeting's agenda and choose one change "
     "to test, with a patient representative.", ""),
    ("S6", StandardFinding.Rating.PARTLY_MET,
     "Incidents are reviewed locally; nothing has been shared with the network this year.",
     "Bring one case to the network's quarterly learning event.", ""),
)

LINES = (
    ("S4", "How can the service catch up and keep up its national audit submissions while "
           "the data manager post is vacant?"),
    ("S5", "What has the team done with its patient survey results, and what got in the way?"),
    ("S2", "How are waiting-time breaches reviewed and learnt from?"),
)

def demo_programme() -> Programme | None:
    return Programme.objects.filter(name=PROGRAMME_NAME, kind=Programme.Kind.ONE_WAY,
                                    core_team__user__email=programmes_demo.CORE_LEAD_EMAIL
                                    ).first()


def _midnight() -> datetime.datetime:
    """The start of today: every time the demo writes is a whole number of days from it, so a
    rebuild the same day writes the same rows (tests/test_seed_demo.py)."""
    return timezone.make_aware(datetime.datetime.combine(timezone.localdate(), datetime.time(0)))


def _person(email: str, full_name: str, password: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create(email=email, full_name=full_name, password=password)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def _weekday(day: datetime.date) -> datetime.date:
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day


@transaction.atomic
def build(actor: User) -> dict[str, int]:
    """Build the one-way programme once; nothing if it exists. Returns counts for the
    command's summary."""
    if demo_programme() is not None:
        return {}
    today = timezone.localdate()
    now = _midnight()
    first_entry = ActivityLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    password = make_password(programmes_demo.DEMO_PASSWORD)
    pm = User.objects.get(email=programmes_demo.CORE_PROJECT_MANAGER_EMAIL)
    programme = Programme.objects.create(
        name=PROGRAMME_NAME, specialty=Specialty.LUNG_CANCER, kind=Programme.Kind.ONE_WAY,
        description="The annual self-report and peer review of thoracic surgery services, "
                    "on NHS England's quality surveillance model.",
        start_date=datetime.date(today.year if today.month >= 4 else today.year - 1, 4, 1),
        end_date=datetime.date(today.year + 1 if today.month >= 4 else today.year, 3, 31),
        status=Programme.Status.RUNNING, min_denominator=30, compliance_threshold=75)
    CoreTeamMembership.objects.bulk_create([
        CoreTeamMembership(programme=programme, user=actor,
                           role=CoreTeamMembership.Role.CLINICAL_LEAD),
        CoreTeamMembership(programme=programme, user=pm,
                           role=CoreTeamMembership.Role.PROJECT_MANAGER),
    ])
    log_action(programme, "programme.created", actor=actor, scopes=[programme],
               summary=f"Created the one-way review programme {programme.name}")

    # Services: a thoracic surgery team at twelve demo trusts spread across the regions (the
    # trusts are numbered region by region), so a hub sees only its region's services.
    organisations = list(Organisation.objects.filter(
        code__regex=programmes_demo.ORG_CODE_PATTERN).order_by("code"))[::9][:12]
    services = [Site.objects.create(
        organisation=org, name="Thoracic surgery service", code=f"{org.code}-THOR",
        specialty=Specialty.LUNG_CANCER, mdt_day=2, mdt_time=datetime.time(8),
        annual_new_patients=180 + 15 * n) for n, org in enumerate(organisations)]
    Enrolment.objects.bulk_create(Enrolment(programme=programme, site=site,
                                            status=Enrolment.Status.APPROVED,
                                            approved_by="Chief executive", approved_on=today
                                            - datetime.timedelta(days=200))
                                  for site in services)
    teams: dict[int, list[User]] = {}
    for n, site in enumerate(services):
        slug = site.organisation.code.lower()
        lead_email = (programmes_demo.SERVICE_LEAD_EMAIL if n == REVIEWED
                      else f"thoracic.lead@{slug}.{DOMAIN}")
        lead = _person(lead_email, f"Mr {LEAD_SURNAMES[n]}", password)
        nurse = _person(f"thoracic.cns@{slug}.{DOMAIN}", f"{NURSE_NAMES[n]} Morgan", password)
        SiteMembership.objects.bulk_create([
            SiteMembership(site=site, user=lead, role=SiteMembership.Role.CLINICAL_LEAD),
            SiteMembership(site=site, user=nurse, role=SiteMembership.Role.CNS)])
        teams[n] = [lead, nurse]

    # Standards and indicators.
    standards = {code: Standard.objects.create(programme=programme, code=code, title=title,
                                               description=description, order=n)
                 for n, (code, title, description) in enumerate(STANDARDS, start=1)}
    indicators = {}
    for n, (code, standard, kind, title, guidance) in enumerate(INDICATORS, start=1):
        indicators[code] = QualityIndicator.objects.create(
            programme=programme, standard=standards[standard], code=code, title=title,
            guidance=guidance, kind=kind, version="2", order=n,
            review_date=today + datetime.timedelta(days=300 if code != "GP-04" else -20),
            flagged_out_of_date_at=now if code in OUT_OF_DATE else None,
            flagged_out_of_date_by=actor if code in OUT_OF_DATE else None,
            out_of_date_reason=OUT_OF_DATE.get(code, ""))

    # This year's self-report.
    opens = today - datetime.timedelta(days=150)
    cycle = SelfReportCycle.objects.create(programme=programme, name=f"{opens.year}/"
                                           f"{(opens.year + 1) % 100:02d}", opens_on=opens,
                                           closes_on=today - datetime.timedelta(days=55))
    reports = {}
    for n, site in enumerate(services):
        submitted = n != NOT_SUBMITTED
        report = SelfReport.objects.create(
            cycle=cycle, site=site,
            status=SelfReport.Status.SUBMITTED if submitted else SelfReport.Status.DRAFT,
            submitted_at=now - datetime.timedelta(days=60 + n) if submitted else None,
            submitted_by=teams[n][0] if submitted else None)
        answered = list(indicators.values()) if submitted else list(indicators.values())[:5]
        IndicatorResponse.objects.bulk_create(
            IndicatorResponse(report=report, indicator=indicator,
                              met=indicator.code not in NOT_MET.get(n, set()),
                              comment="" if indicator.code not in NOT_MET.get(n, set())
                              else "Not met this year; see our action notes.")
            for indicator in answered)
        reports[n] = report
        if submitted:
            log_action(report, "self_report.submitted", actor=teams[n][0],
                       scopes=[programme, site],
                       summary=f"Submitted the self-report {cycle.name}")

    # A decision for every flagged service.
    decisions = {
        2: {"enhanced": True, "routine": True, "enhanced_by": "provider",
            "risk_level": "medium",
            "enhanced_action": "The trust's cancer manager reports MDT attendance monthly to "
                               "the hub for six months.",
            "rationale": "Attendance fell below two-thirds after two consultants retired; the "
                         "trust has appointed and expects recovery by spring."},
        3: {"peer_review": True, "risk_level": "high",
            "rationale": "Outcomes not submitted to the national audit and two good practice "
                         "indicators missed; the provider asked for a peer review to help "
                         "with the audit backlog and the survey."},
        4: {"routine": True, "risk_level": "low",
            "rationale": "Two good practice indicators missed for the first time; the "
                         "prehabilitation pathway starts in January."},
        5: {"peer_review": True, "enhanced": True, "enhanced_by": "commissioner",
            "risk_level": "high",
            "enhanced_action": "The commissioner reviews written information at diagnosis "
                               "with the network's patient panel.",
            "rationale": "An agreed indicator and two good practice indicators missed; "
                         "concerns raised by the network's patient panel."},
    }
    made_decisions = {}
    for n, fields in decisions.items():
        assert report_assessment(reports[n]).flagged, f"demo service {n} must be flagged"
        made_decisions[n] = SurveillanceDecision.objects.create(
            report=reports[n], agreed_with_provider=True, agreed_with_commissioner=n != 4,
            decided_by=actor, decided_at=now - datetime.timedelta(days=52), **fields)
        log_action(made_decisions[n], "surveillance_decision.recorded", actor=actor,
                   scopes=[programme, services[n]],
                   summary="Recorded the surveillance decision: "
                           + ", ".join(made_decisions[n].actions).lower())

    # The regional hub of the reviewed service's region.
    region = services[REVIEWED].organisation.region
    hub = RegionalHub.objects.create(
        programme=programme, region=region,
        name=f"{services[REVIEWED].organisation.get_region_display()} hub")
    hub.sites.set([s for s in services if s.organisation.region == region])
    RegionalHubMembership.objects.create(
        hub=hub, user=_person(programmes_demo.HUB_EMAIL, "Grace Osei", password))

    # The reviewer pool: clinical peers from trusts outside both reviewed services' networks,
    # and two patient reviewers.
    networks = {services[n].organisation.network for n in (REVIEWED, UPCOMING)}
    elsewhere = list(Organisation.objects.filter(
        code__regex=programmes_demo.ORG_CODE_PATTERN).exclude(network__in=networks)
        .order_by("code"))
    reviewers = []
    for n, (local, name, profession, expertise) in enumerate(REVIEWERS):
        patient = not profession
        email = (programmes_demo.REVIEWER_EMAIL if local == "reviewer"
                 else f"{local}@{DOMAIN}")
        org = None if patient else elsewhere[n % len(elsewhere)]
        reviewers.append(Reviewer.objects.create(
            programme=programme, user=_person(email, name, password),
            is_patient_reviewer=patient, profession=profession, expertise=expertise,
            region=org.region if org else region, organisation=org,
            training_completed_on=today - datetime.timedelta(days=400 - 30 * n)
            if n != 5 else None))
    ConflictOfInterest.objects.create(
        reviewer=reviewers[4], organisation=services[UPCOMING].organisation,
        description="Trained there as a registrar until 2023", declared_on=opens)

    reviewed = _review_happened(programme, services[REVIEWED], made_decisions[REVIEWED],
                                reviewers[:2] + [reviewers[6]], teams[REVIEWED], standards,
                                actor, today)
    _review_upcoming(programme, services[UPCOMING], made_decisions[UPCOMING],
                     [reviewers[2], reviewers[3], reviewers[7]], teams[UPCOMING], standards,
                     actor, today)
    # Dates the services and model defaults wrote as "now": the programme started months ago.
    started = now - datetime.timedelta(days=240)
    Programme.objects.filter(pk=programme.pk).update(created_at=started)
    CoreTeamMembership.objects.filter(programme=programme).update(joined_at=started)
    Enrolment.objects.filter(programme=programme).update(status_changed_at=started)
    SiteMembership.objects.filter(site__in=services).update(joined_at=started)
    ActivityLog.objects.filter(id__gt=first_entry).update(created_at=now)
    return {"services": len(services), "submitted": len(services) - 1,
            "flagged": len(decisions),
            "reviews": PeerReview.objects.filter(programme=programme).count(),
            "report_pk": reviewed}


def _review(programme, site, decision, members, team, standards, actor, *, created):
    """Set up a review as the core team's pages do: through the services, so the demo's team
    passes the same conflict and mix check (visits.services.reviews.review_team_set) and gets
    the same checklist and first distribution list."""
    from visits.services import reviews

    review = reviews.review_create(decision=decision, user=actor)
    reviews.review_team_set(review=review, reviewer_ids=[r.pk for r in members],
                            lead_id=members[0].pk, user=actor)
    for standard, text in LINES:
        reviews.line_add(review=review, user=actor, text=text, standard=standards[standard])
    PeerReview.objects.filter(pk=review.pk).update(created_at=created)
    review.refresh_from_db()
    return review


def _visit(review, actor, *, date, status):
    """The review's visit, added as the core team adds it (the facilitator, the service's team
    and the review team on its attendance list), then dated without a poll."""
    from visits.services.review_visits import review_visit_add

    visit = review_visit_add(review=review, user=actor, facilitator=actor)
    Visit.objects.filter(pk=visit.pk).update(
        status=status, date=date, start_time=datetime.time(9), end_time=datetime.time(16, 30),
        venue=f"Seminar room, {review.site.organisation.name}")
    visit.refresh_from_db()
    return visit


def _review_happened(programme, site, decision, members, team, standards, actor, today):
    # Decided 52 days ago; set up two days later; lines agreed and checklist done in the
    # following week; the visit five weeks ago; the report a week after it.
    visit_day = _weekday(today - datetime.timedelta(days=35))
    review = _review(programme, site, decision, members, team, standards, actor,
                     created=_midnight() - datetime.timedelta(days=50))
    PeerReview.objects.filter(pk=review.pk).update(
        lines_agreed_by=team[0], lines_agreed_at=_midnight() - datetime.timedelta(days=44))
    review.checklist.update(done_at=_midnight() - datetime.timedelta(days=42),
                            done_by=team[0])
    visit = _visit(review, actor, date=visit_day, status=Visit.Status.HAPPENED)
    VisitAttendee.objects.filter(visit=visit).update(present=True)
    _agenda_as_run(visit, actor, visit_day)
    findings = {}
    for code, rating, evidence, recommendation, good in FINDINGS:
        findings[code] = StandardFinding.objects.create(
            review=review, standard=standards[code], rating=rating, evidence=evidence,
            recommendation=recommendation, good_practice=good, published_evidence=evidence,
            recorded_by=members[0].user, recorded_at=timezone.make_aware(
                datetime.datetime.combine(visit_day, datetime.time(15, 30))))
    # The chief executive, the commissioner and the network's lead receive the report too.
    slug = site.organisation.code.lower()
    for role, email, name in (
            (ReportRecipient.Role.CHIEF_EXECUTIVE, f"chief.executive@{slug}.{DOMAIN}",
             "Dame Ruth Hallam"),
            (ReportRecipient.Role.COMMISSIONER, f"commissioner@{DOMAIN}", "Owen Pritchard"),
            (ReportRecipient.Role.NETWORK, f"network.lead@{DOMAIN}", "Dr Nadia Farouk")):
        # No password: they receive the PDF and need never sign in (visits.models.review).
        user = _person(email, name, make_password(None))
        ReportRecipient.objects.create(review=review, role=role, user=user, added_by=actor)

    # The report, approved a week after the visit and emailed to exactly its distribution list
    # (recorded in the ledger, as the app's sending would; the demo emails nobody).
    from visits.services import report as report_services

    approved_at = timezone.make_aware(datetime.datetime.combine(
        visit_day + datetime.timedelta(days=7), datetime.time(11)))
    version = report_services.report_version_create(visit=visit, user=actor,
                                                     based_on_version=0,
                                                     approved_at=approved_at)
    recipients = report_services.report_recipients(visit)
    Notification.objects.bulk_create(Notification(
        kind=NOTIFICATION_KIND, content_type=ContentType.objects.get_for_model(VisitReport),
        object_id=version.pk, recipient=person, due_on=approved_at.date(),
        programme_name=programme.name, summary=f"Visit report (version 1): {visit}",
        url=absolute_url(reverse("visits:visit_report", args=[visit.pk])),
        created_at=approved_at, sent_at=approved_at) for person in recipients)
    VisitReport.objects.filter(pk=version.pk).update(sent_at=approved_at,
                                                     recipient_count=len(recipients))
    from visits.tasks import generate_visit_report

    generate_visit_report.delay_on_commit(version.pk)
    _published(review, actor)

    # Good practice shared in the library.
    topic, _ = ResourceTopic.objects.get_or_create(programme=programme,
                                                   name="Good practice from reviews")
    for code in ("S1", "S3"):
        finding = findings[code]
        resource = Resource.objects.create(
            programme=programme, title=f"{finding.standard.code}: {finding.standard.title}",
            description="Good practice found at a peer review.", kind=Resource.Kind.EXAMPLE,
            after_visit=True, body=finding.good_practice, created_by=actor)
        resource.topics.add(topic)
        StandardFinding.objects.filter(pk=finding.pk).update(library_resource=resource)

    _action_plan(programme, review, site, team, findings, actor, approved_at)
    return version.pk


def _agenda_as_run(visit: Visit, actor: User, day: datetime.date) -> None:
    """The one-day review's agenda (visits.agenda_default.REVIEW_AGENDA), run on the day with
    the sessions over or under by a few minutes, as days are."""
    from visits.models import VisitAgendaItem
    from visits.services.day import visit_agenda_ensure

    clock = timezone.make_aware(datetime.datetime.combine(day, datetime.time(9)))
    for n, item in enumerate(visit_agenda_ensure(visit=visit, user=actor)):
        ran = datetime.timedelta(minutes=item.planned_minutes + (5, -5, 10, 0)[n % 4])
        VisitAgendaItem.objects.filter(pk=item.pk).update(started_at=clock,
                                                          ended_at=clock + ran)
        clock += ran


def _published(review: PeerReview, actor: User) -> None:
    """The redaction approved and the report published to the network."""
    from visits.services import review_reports

    review_reports.redaction_approve(review=review, user=actor)
    review.refresh_from_db()
    review_reports.visibility_set(review=review, user=actor,
                                  visibility=PeerReview.Visibility.NETWORK)


def _action_plan(programme, review, site, team, findings, actor, approved_at):
    today = timezone.localdate()
    plan = QualityImprovementPlan.objects.create(
        programme=programme, site=site, review=review,
        title="Action plan after the peer review", reporting_owner=team[0],
        problem_statement="The peer review found the national audit submission missed, "
                          "waiting-time breaches not reviewed case by case, and the patient "
                          "survey not acted on.",
        aim_what="Submit complete surgical outcomes to the national audit",
        aim_how_much="for 100% of operations, up from none last year",
        aim_by_when=today + datetime.timedelta(days=150),
        aim_for_whom="thoracic surgery patients",
        support_requested="A session with the network's audit lead on catching up the missed "
                          "submission, and an introduction to a service that runs a breach "
                          "review well.",
        next_review_on=today + datetime.timedelta(days=330),
        status=QualityImprovementPlan.Status.IN_PROGRESS,
        approved_at=approved_at + datetime.timedelta(days=14), approved_by=actor,
        status_changed_at=approved_at + datetime.timedelta(days=14),
        updated_at=approved_at + datetime.timedelta(days=14), created_by=team[0],
        created_at=approved_at + datetime.timedelta(days=3))
    actions = (
        ("S4", "Agree cover for the data manager role", -20, "Cancer services manager",
         Milestone.Status.DONE),
        ("S4", "Submit last year's surgical outcomes to the national audit", -5,
         "Data manager", Milestone.Status.IN_PROGRESS),
        ("S2", "Start a monthly breach review at the MDT business meeting", 25,
         "Pathway navigator", Milestone.Status.NOT_STARTED),
        ("S5", "Choose one change from the patient survey to test", 45, "Lead CNS",
         Milestone.Status.NOT_STARTED),
    )
    for code, title, days, owner, status in actions:
        due = today + datetime.timedelta(days=days)
        Milestone.objects.create(plan=plan, title=title, due_on=due, owner=owner,
                                 status=status, finding=findings[code],
                                 done_on=due if status == Milestone.Status.DONE else None)
    month = today.replace(day=1)
    ProgressUpdate.objects.create(
        plan=plan, month=month, rag=ProgressUpdate.Rag.AMBER, submitted_by=team[0],
        submitted_at=_midnight(),
        done="Data manager cover agreed with the trust; catching up the submission.",
        help_needed="The network audit lead's session, please.")
    log_action(plan, "qip.created", actor=team[0], scopes=[programme, site],
               summary="Created the action plan from the peer review")


def _review_upcoming(programme, site, decision, members, team, standards, actor, today):
    review = _review(programme, site, decision, members, team, standards, actor,
                     created=_midnight() - datetime.timedelta(days=20))
    first, second = review.checklist.order_by("order")[:2]
    for item in (first, second):
        ReviewChecklistItem.objects.filter(pk=item.pk).update(done_at=_midnight(),
                                                              done_by=team[0])
    _visit(review, actor, date=_weekday(today + datetime.timedelta(days=21)),
           status=Visit.Status.CONFIRMED)
