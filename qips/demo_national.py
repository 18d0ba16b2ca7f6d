"""National-scale demonstration data: ``python manage.py seed_demo --scale national``.

On top of the demo programme (programmes.demo, visits.demo, qips.demo) four more programmes
run at the same time in other specialties, at the scale of a national roll-out: five
programmes, 600 MDTs at about 150 trusts (a trust has MDTs in several specialties), 6,000
people, 3,000 improvement plans, 250,000 measurement points and a year of activity log. The
load benchmark (scripts/bench_load.py) and the query-count tests at two scales
(tests/test_scale_query_budgets.py) run against it.

Why it bypasses the services: the demo goes through them, one call per change, each with its
own queries, log entry and (for reports) PDF; at this scale that takes most of an hour. This
module writes rows with ``bulk_create`` in batches, and writes the activity log the services
would have written (``ilcop.activity.log_action``: one entry per change, filed under the
object, its programme and, for a site's business, the site; a visit day's moment-to-moment
entries not on the sites' timelines), dated when the change happened. It keeps what the
services and the database keep: every unique and check constraint; the funnel (approval
recorded before eligibility, a withdrawn site's stage kept, allocation only of eligible
sites); a visit's status agrees with its date (happened ones in the past, confirmed ones with
their checklist, a return visit after the first, every date on the host's MDT day and not a
bank holiday); a plan's status agrees with its dates and contents (approval freezes the
commitment; a submitted plan has a problem, an aim and a measure; completed PDSA cycles have
every stage written up; progress updates and data stop when a plan stops); nothing is dated
in the future. Pairing goes through its services: the engine's scores and strengths are the
point of it, and one call per programme costs nothing.

Where it departs from the demo's shape, on purpose:

- Teams run more plans than ILCOP's 71 from 29 teams: 3,000 plans over 600 sites is about
  ten at each intervention site that has been visited, most started by the team after its
  visits rather than from a focus area.
- A sent visit report keeps a short record of its approval in place of the full approved
  HTML, and no PDF: rendering two hundred reports with their data packs' charts takes
  minutes. Its download page says the PDF is being prepared.
- Each programme ran the app's randomisation (only a confirmed randomisation moves a site
  into an arm); the demo records its allocation as enrolment moves alone.

Deterministic: ``random.Random(rng_seed)`` and dates relative to today, so a rebuild on the
same day is the same, apart from what is dated from the moment it runs (open polls'
deadlines, pending invitations). Everything is fictional: new trusts have "ZQ" codes (the
demo's are "ZR"; real ODS codes never start with Z) and people are under
``national.demo.example``.
"""

from __future__ import annotations

import datetime
import math
import random
import re
import sqlite3
import unicodedata
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.html import format_html

from ilcop.models import ActivityLog, ActivityScope, User
from ilcop.services import changed_summary
from ilcop.uploads import deleting_files_of_deleted_rows
from programmes import demo
from programmes.models import (
    CoreTeamMembership,
    Enrolment,
    Indicator,
    IndicatorValue,
    Invitation,
    Organisation,
    Pairing,
    Programme,
    Randomisation,
    Site,
    SiteMembership,
    Survey,
    SurveyAnswer,
    SurveyCollection,
    SurveyQuestion,
    SurveyResponse,
)
from programmes.models.survey import CODE_ALPHABET
from programmes.periods import Period, parse_period
from programmes.services.allocation import PairingConstraints, pairing_confirm, pairing_propose
from programmes.survey import DEFAULT_QUESTIONS, SCALES
from visits import agenda_default
from visits import observation_form as observation_rules
from visits.calendar import TEAM_LABELS, candidate_dates
from visits.demo import OVERRUNS, SAID
from visits.models import (
    AgendaTemplate,
    AgendaTemplateItem,
    AvailabilityPoll,
    Contribution,
    FacilitatorNote,
    FocusArea,
    LogisticsTask,
    ObservationForm,
    ObservationResponse,
    PollAnswer,
    PollDate,
    PollInvitee,
    TeamFeedback,
    Visit,
    VisitAgendaItem,
    VisitAttendee,
    VisitReport,
)
from visits.models.core import role_label
from visits.services.visits import TASK_DAYS_BEFORE

from . import guidance
from .demo import MeasureSpec
from .models import (
    Barrier,
    Driver,
    Measure,
    Measurement,
    Milestone,
    PdsaCycle,
    PlanRole,
    ProgressUpdate,
    QualityImprovementPlan,
    ReviewComment,
    SupportRecord,
)

SEED = 2026
TZ = ZoneInfo("Europe/London")
EMAIL_DOMAIN = f"national.{demo.DEMO_EMAIL_DOMAIN}"
ORG_CODE_PREFIX = "ZQ"
ORG_CODE_PATTERN = r"^ZQ[0-9]{3}$"  # what --reset deletes, with the sites below
SITE_CODE_PATTERN = r"^Z[QR][0-9]{3}-(BRST|CRC|UGI|URO)$"
NEW_ORGANISATIONS = 34
BATCH = 2000  # rows per INSERT: PostgreSQL takes at most 65,535 parameters in one statement

# The issue's targets, counted over the demo and the national programmes together.
TARGETS = {"programmes": 5, "sites": 600, "people": 6000, "plans": 3000,
           "measurements": 250_000, "activity days": 365}

# Final enrolment status → sites in each national programme (121 each, 484 in all).
ARMS = {"intervention": 84, "control": 20, "invited": 5, "interested": 3, "approved": 2,
        "ineligible": 4, "withdrawn": 3}
WITHDRAWN_FROM = ("invited", "interested", "approved")

Status = QualityImprovementPlan.Status
C, P, B = "outcome", "process", "balancing"
UP, DOWN = "increase", "decrease"


# --- What each programme is about ---------------------------------------------------------


@dataclass(frozen=True)
class IndicatorSpec:
    code: str
    name: str
    national: float
    target: float
    share: float  # the denominator, as a share of the site's new patients a year
    headline: bool = True
    higher_is_better: bool = True


@dataclass(frozen=True)
class Topic:
    """A plan's subject. ``{cancer}`` and ``{nurse}`` are filled in for the specialty."""

    key: str
    title: str
    lead: str  # the site role that owns the plan
    indicator: str  # an indicator code, or ""
    problem: str
    aim_what: str
    aim_how_much: str
    aim_for_whom: str
    category: str
    # ((primary driver, secondary driver, (change idea, ...)), ...)
    drivers: tuple[tuple[str, str, tuple[str, ...]], ...]
    measures: tuple[MeasureSpec, MeasureSpec, MeasureSpec]  # outcome, process, balancing


def _m(kind: str, name: str, numerator: str, denominator: str, source: str, direction: str,
       before: float, after: float, chart: str = "run", share: float = 1.0,
       spread: float = 0.0, count: bool = False) -> MeasureSpec:
    percent = bool(denominator)
    return MeasureSpec(
        kind=kind, name=name, numerator=numerator, denominator=denominator, data_source=source,
        direction=direction, baseline=round(before * 100 if percent else before, 1),
        target=None if kind == B else round(after * 100 if percent else after, 1),
        chart=chart, before=before, after=after, share=share, spread=spread, count=count)


COMMON_TOPICS: tuple[Topic, ...] = (
    Topic("case_list", "Earlier, complete case lists", "mdt_coordinator", "COMPLETE",
          "About one new patient in six has their first {cancer} MDT discussion deferred "
          "because results are not back or they were listed too late for the imaging to be "
          "reviewed.",
          "Fewer first MDT discussions deferred for missing information", "from 17% to under 8%",
          "new patients discussed at the {cancer} MDT", "quick_fix",
          (("Patients are ready for discussion when they are listed",
            "Results are back before the meeting",
            ("Close the list at noon the working day before",
             "Coordinator checks pathology and imaging when listing")),
           ("Everyone knows how to list a patient", "One agreed listing policy",
            ("One-page listing policy shared with referrers",
             "Urgent late additions only with the chair's agreement"))),
          (_m(C, "First MDT discussions deferred", "New patients whose first discussion was "
              "deferred for missing information", "New patients listed for a first discussion",
              "MDT coordinator's deferral log", DOWN, 0.17, 0.08, "xmr"),
           _m(P, "New patients listed by noon the day before", "New patients on the list by "
              "12:00 the working day before", "New patients discussed for the first time",
              "MDT listing spreadsheet", UP, 0.55, 0.85, "xmr"),
           _m(B, "Urgent patients added after the list closed", "Patients added after the "
              "cut-off with the chair's agreement", "", "MDT listing spreadsheet", DOWN, 4.0,
              4.0, spread=1.5, count=True))),
    Topic("faster_diagnosis", "Diagnosis within 28 days", "clinical_lead", "FDS",
          "Too many patients referred urgently wait more than 28 days to be told whether they "
          "have cancer; most of the delay is between the first test and the first clinic.",
          "More patients are told whether they have cancer within 28 days of referral",
          "from 72% to 80%", "patients referred urgently with suspected {cancer}",
          "medium_term",
          (("Tests happen without waiting for a clinic", "A straight-to-test pathway",
            ("Book the first test at referral triage",
             "Nurse-led triage of referrals within one working day")),
           ("Results reach patients quickly", "Results clinic capacity",
            ("Results clinic slots held for the pathway",
             "Telephone results for benign findings"))),
          (_m(C, "Told within 28 days of referral", "Patients told the outcome within 28 days",
              "Patients referred urgently", "Cancer waiting times tracker", UP, 0.72, 0.81,
              "xmr", share=2.5),
           _m(P, "Referrals triaged within one working day", "Referrals triaged within one "
              "working day", "Urgent referrals received", "Referral triage log", UP, 0.60, 0.95,
              share=2.5),
           _m(B, "Routine referrals waiting over 6 weeks", "Routine referrals waiting more "
              "than 6 weeks for a first appointment", "Routine referrals waiting",
              "Outpatient waiting list", DOWN, 0.10, 0.10, share=0.8))),
    Topic("cns_diagnosis", "A nurse specialist at every diagnosis", "cns", "CNS",
          "Not every patient meets a {nurse} when they are told their diagnosis: clinics "
          "without cover and diagnoses given on the ward are often missed.",
          "More patients meet a {nurse} when they are told their diagnosis", "from 78% to 95%",
          "patients newly diagnosed with {cancer}", "medium_term",
          (("A nurse specialist is there when the diagnosis is given",
            "Diagnosis clinics have nurse cover",
            ("Book diagnosis appointments into covered sessions",
             "A shared rota with the neighbouring team")),
           ("Ward patients are not missed", "A daily list of inpatients",
            ("Daily ward list sent to the nurse specialists",
             "Key worker card given at diagnosis"))),
          (_m(C, "Seen by a nurse specialist at diagnosis", "Patients seen by a nurse "
              "specialist at or before diagnosis", "Patients newly diagnosed",
              "Cancer audit database", UP, 0.78, 0.93, "xmr"),
           _m(P, "Diagnosis appointments in covered sessions", "Diagnosis appointments booked "
              "into a session with a nurse specialist", "Diagnosis appointments",
              "Outpatient booking system", UP, 0.65, 0.92),
           _m(B, "Nurse line calls returned the same day", "Calls to the nurse line returned "
              "the same working day", "Calls to the nurse line", "Nurse line log", UP, 0.90,
              0.90, share=1.2))),
    Topic("shared_decisions", "Involving patients in treatment decisions", "cns", "",
          "In the patient survey fewer of our patients than across the programme felt as "
          "involved as they wanted to be in decisions about their treatment.",
          "More patients feel as involved as they want to be in treatment decisions",
          "from 62% to 75%", "patients starting treatment for {cancer}", "quick_fix",
          (("Patients know their options before the clinic", "Information in advance",
            ("Decision aid sent with the clinic letter",
             "Nurse specialist call before the treatment clinic")),
           ("The clinic leaves time to decide", "Longer appointments",
            ("30-minute slots for treatment decisions",))),
          (_m(C, "Patients who felt involved in decisions", "Patients answering “yes, "
              "definitely” to feeling involved", "Patients returning the feedback card",
              "Feedback card at the treatment clinic", UP, 0.62, 0.75, share=0.6),
           _m(P, "Decision aid sent before the clinic", "Patients sent the decision aid before "
              "their treatment clinic", "Patients booked into a treatment clinic",
              "Nurse specialist tracker", UP, 0.05, 0.85, share=0.8),
           _m(B, "Treatment clinic overrun", "Minutes the treatment clinic ran over, average "
              "per clinic", "", "Clinic log", DOWN, 20.0, 22.0, spread=6.0, count=True))),
    Topic("holistic", "Holistic needs assessment for every patient", "cns", "",
          "Fewer than half of our patients are offered a holistic needs assessment and a care "
          "plan within 31 days of diagnosis.",
          "More patients have a holistic needs assessment and care plan soon after diagnosis",
          "from 45% to 80%", "patients newly diagnosed with {cancer}", "medium_term",
          (("Every patient is offered an assessment", "Assessment is part of the pathway",
            ("Offer the assessment at the diagnosis appointment",
             "Electronic assessment sent by text message")),
           ("Needs found are acted on", "A care plan agreed and shared",
            ("Care plan copied to the GP", "Cancer support worker follows up the plan"))),
          (_m(C, "Assessment and care plan within 31 days", "Patients with an assessment and "
              "care plan within 31 days of diagnosis", "Patients newly diagnosed",
              "Nurse specialist tracker", UP, 0.45, 0.80, "xmr"),
           _m(P, "Assessment offered at diagnosis", "Patients offered the assessment at the "
              "diagnosis appointment", "Patients newly diagnosed", "Clinic checklist", UP,
              0.55, 0.95),
           _m(B, "Nurse specialist hours on assessments", "Hours a period the nurse "
              "specialists spend on assessments", "", "Team diary", DOWN, 6.0, 9.0,
              spread=1.5))),
    Topic("prehab", "Prehabilitation before treatment", "clinical_lead", "",
          "Patients going on to surgery or chemotherapy are rarely offered exercise, nutrition "
          "or psychological support while they wait, though it speeds recovery.",
          "More patients starting treatment have prehabilitation", "from 10% to 60%",
          "patients having surgery or chemotherapy for {cancer}", "beyond_local",
          (("Patients are ready for treatment", "Support starts at diagnosis",
            ("Prehabilitation referral at the diagnosis appointment",
             "Exercise advice leaflet and telephone follow-up")),
           ("Services can take the patients", "Enough prehabilitation capacity",
            ("Group classes with the physiotherapy team",))),
          (_m(C, "Treatment started after prehabilitation", "Patients starting treatment "
              "after at least one prehabilitation session", "Patients starting surgery or "
              "chemotherapy", "Therapy service records", UP, 0.10, 0.55, share=0.5),
           _m(P, "Referred for prehabilitation at diagnosis", "Patients referred at diagnosis",
              "Patients newly diagnosed", "Nurse specialist tracker", UP, 0.15, 0.75,
              share=0.5),
           _m(B, "Days from decision to treatment (median)", "Median days from the treatment "
              "decision to the first treatment", "", "Cancer waiting times tracker", DOWN,
              24.0, 25.0, spread=2.0))),
    Topic("standards_of_care", "Standards of care for straightforward cases",
          "clinical_lead", "",
          "Every patient is discussed at length at the full MDT meeting, so complex cases get "
          "too little time and the meeting overruns most weeks.",
          "Complex cases get the MDT's time while straightforward cases follow an agreed "
          "standard of care", "from none to 30% of cases",
          "patients discussed at the {cancer} MDT", "medium_term",
          (("The meeting spends its time on complex cases", "Agreed standards of care",
            ("Written standards of care for the commonest presentations",
             "Chair and coordinator triage the list the day before")),
           ("Everyone trusts the process", "Audit of decisions",
            ("Quarterly audit of standard-of-care decisions",))),
          (_m(C, "Meeting time on complex cases", "Average minutes of discussion per complex "
              "case", "", "MDT coordinator's timings", UP, 6.0, 9.0, spread=1.0),
           _m(P, "Cases on a standard-of-care pathway", "Patients managed on an agreed "
              "standard of care", "Patients on the MDT list", "MDT outcome forms", UP, 0.02,
              0.30, share=2.0),
           _m(B, "Standard-of-care decisions changed at audit", "Decisions changed at the "
              "quarterly audit", "Standard-of-care decisions audited", "Audit log", DOWN, 0.03,
              0.03, share=0.5))),
    Topic("safety_net", "Safety-netting actions after the MDT", "mdt_coordinator", "",
          "Actions agreed at the MDT (a scan, a referral, a letter) are sometimes not done, and "
          "nobody checks until the patient chases.",
          "Every action agreed at the MDT is done and checked",
          "from 82% to 98% of actions completed within 7 days",
          "patients discussed at the {cancer} MDT", "quick_fix",
          (("Every action has an owner", "Actions recorded at the meeting",
            ("A named owner recorded for each action",
             "Outcome form completed in the meeting")),
           ("Someone checks", "Weekly tracking",
            ("Coordinator checks open actions every Friday",))),
          (_m(C, "MDT actions completed within 7 days", "Actions completed within 7 days of "
              "the meeting", "Actions agreed at the MDT", "MDT action tracker", UP, 0.82, 0.97,
              "xmr", share=1.5),
           _m(P, "Actions with a named owner", "Actions recorded with a named owner",
              "Actions agreed at the MDT", "MDT outcome forms", UP, 0.60, 0.98, share=1.5),
           _m(B, "Coordinator hours on tracking", "Hours a period the coordinator spends "
              "tracking actions", "", "Coordinator's diary", DOWN, 3.0, 4.0, spread=0.8))),
    Topic("trials", "Offering clinical trials", "clinical_lead", "",
          "Few of our patients are told about clinical trials they could join; trials are not "
          "checked at the MDT.",
          "More patients are offered a suitable clinical trial", "from 8% to 20%",
          "patients discussed at the {cancer} MDT", "beyond_local",
          (("Trials are considered for every patient", "Trial eligibility at the MDT",
            ("A trials column on the MDT outcome form", "Research nurse attends the MDT")),
           ("Patients can take part", "Access to trials elsewhere",
            ("Referral route to the regional trials centre",))),
          (_m(C, "Patients recruited to a trial", "Patients recruited to a clinical trial",
              "Patients newly diagnosed", "Research office records", UP, 0.04, 0.10,
              share=0.8),
           _m(P, "Outcomes recording trial eligibility", "MDT outcomes recording whether a "
              "trial is open to the patient", "MDT outcomes", "MDT outcome forms", UP, 0.20,
              0.90),
           _m(B, "MDT meeting overrun", "Minutes the meeting ran over", "", "MDT coordinator's "
              "timings", DOWN, 12.0, 14.0, spread=5.0, count=True))),
    Topic("data_completeness", "Recording stage and performance status", "mdt_coordinator",
          "COMPLETE",
          "Stage or performance status is missing from about one record in eight, so our "
          "audit figures understate what the team does.",
          "Complete records for every patient discussed", "from 88% to 98%",
          "new patients at the {cancer} MDT", "quick_fix",
          (("Data are captured once, at the meeting", "Recording at the MDT",
            ("Stage and performance status as required fields on the outcome form",
             "Coordinator checks records before the audit upload")),
           ("The team sees its data", "Monthly feedback",
            ("Data completeness shown at the business meeting",))),
          (_m(C, "Records with stage and performance status", "Records with both recorded",
              "New patients discussed", "Cancer audit database", UP, 0.88, 0.98, "xmr"),
           _m(P, "Outcome forms completed in the meeting", "Outcome forms completed before "
              "the meeting closed", "Patients discussed", "MDT outcome forms", UP, 0.70, 0.95,
              share=1.5),
           _m(B, "Coordinator hours on data checks", "Hours a period spent checking records",
              "", "Coordinator's diary", DOWN, 2.0, 2.5, spread=0.6))),
    Topic("smoking", "Stop-smoking support at diagnosis", "cns", "",
          "About a quarter of newly diagnosed patients still smoke, and few are referred to "
          "the tobacco dependence service.",
          "More patients who smoke are referred for stop-smoking support", "from 30% to 80%",
          "newly diagnosed patients who smoke", "beyond_local",
          (("Every patient who smokes is offered help", "Asking is routine",
            ("Opt-out referral to the tobacco dependence service",
             "Smoking status on the clinic checklist")),
           ("Help is easy to take up", "Support close to the clinic",
            ("Tobacco dependence adviser in the diagnosis clinic",))),
          (_m(C, "Patients who smoke who start support", "Patients who smoke who attend a "
              "first appointment", "Newly diagnosed patients who smoke", "Tobacco dependence "
              "service records", UP, 0.20, 0.40, share=0.3),
           _m(P, "Opt-out referral at diagnosis", "Patients who smoke referred at diagnosis",
              "Newly diagnosed patients who smoke", "Nurse specialist tracker", UP, 0.30, 0.80,
              share=0.3),
           _m(B, "Diagnosis clinics finishing late", "Clinics finishing more than 15 minutes "
              "late", "Diagnosis clinics held", "Clinic log", DOWN, 0.2, 0.2, share=0.3))),
    Topic("treatment_times", "Faster from MDT decision to treatment", "clinical_lead", "",
          "Patients wait too long between the MDT's decision and their first treatment: the "
          "first appointment is booked only once the outcome letter is typed.",
          "Shorter waits from the MDT's decision to the first treatment",
          "median from 30 days to 20 days", "patients starting treatment for {cancer}",
          "medium_term",
          (("Appointments are booked without delay", "Booking starts at the MDT",
            ("Book the first treatment appointment during the MDT",
             "Outcome sent to the booking team the same afternoon")),
           ("Treatment can start soon after the clinic", "Tests done before the clinic",
            ("Nurse specialist orders pre-treatment tests at the MDT",))),
          (_m(C, "Days from decision to first treatment (median)", "Median days from the "
              "decision to the first treatment", "", "Cancer waiting times tracker", DOWN,
              30.0, 20.0, "xmr", spread=1.8),
           _m(P, "First appointment booked within 2 working days", "Patients booked within 2 "
              "working days of the decision", "Patients referred for treatment",
              "Booking system", UP, 0.25, 0.85, share=0.7),
           _m(B, "First treatment dates moved by the hospital", "Patients whose first "
              "treatment date was moved", "Patients starting treatment", "Cancer waiting "
              "times tracker", DOWN, 0.08, 0.08, share=0.7))),
)


# The survey questions behind a topic's problem, as the demo's plans link them.
TOPIC_SURVEY = {"shared_decisions": ("DECISIONS", "INFORMATION"),
                "cns_diagnosis": ("NURSE", "NURSE_HELP"), "treatment_times": ("WAITING",)}


def _specialty_topics(*topics: tuple) -> tuple[Topic, ...]:
    return tuple(Topic(*t) for t in topics)


@dataclass(frozen=True)
class ProgrammeSpec:
    name: str
    specialty: str  # a programmes.models.Specialty value
    suffix: str  # site codes: ZQ012-BRST
    site_name: str
    cancer: str
    nurse: str
    physician: str  # the clinical lead's job title
    patients: tuple[int, int]  # new patients a year
    audit: str
    clinicians: tuple[tuple[str, str], ...]
    indicators: tuple[IndicatorSpec, ...]
    topics: tuple[Topic, ...]
    started_days_ago: int


def _fds(share: float, national: float) -> IndicatorSpec:
    return IndicatorSpec("FDS", "Diagnosis or cancer ruled out within 28 days", national, 0.80,
                         share)


def _complete() -> IndicatorSpec:
    return IndicatorSpec("COMPLETE", "Data completeness", 0.92, 0.95, 1.0, headline=False)


PROGRAMMES: tuple[ProgrammeSpec, ...] = (
    ProgrammeSpec(
        "Breast Cancer Peer Review 2026", "breast_cancer", "BRST", "Breast cancer MDT",
        "breast cancer", "breast care nurse", "Consultant breast surgeon", (250, 900),
        "National breast cancer audit (fictional demo figures)",
        (("Breast surgery", "Consultant oncoplastic breast surgeon"),
         ("Breast radiology", "Consultant breast radiologist"),
         ("Clinical oncology", "Consultant clinical oncologist"),
         ("Histopathology", "Consultant breast histopathologist"),
         ("Plastic surgery", "Consultant plastic surgeon")),
        (IndicatorSpec("TRIPLE", "Triple diagnostic assessment at the first visit", 0.88, 0.95,
                       0.95),
         IndicatorSpec("BCS", "Breast-conserving surgery for early invasive cancer", 0.70,
                       0.75, 0.5),
         IndicatorSpec("CNS", "Seen by a breast care nurse at diagnosis", 0.86, 0.95, 0.95),
         _fds(3.0, 0.77), _complete()),
        _specialty_topics(
            ("one_stop", "One-stop triple assessment", "clinical_lead", "TRIPLE",
             "Some patients with breast symptoms need a second visit for their imaging or "
             "biopsy because the clinic cannot do all three tests on one day.",
             "More patients have examination, imaging and biopsy at one visit",
             "from 85% to 95%", "patients seen in the rapid access breast clinic",
             "medium_term",
             (("All three tests happen at the first visit", "Imaging and biopsy capacity",
               ("Radiographer-led ultrasound and biopsy lists alongside the clinic",
                "Clinic templates matched to radiology sessions")),
              ("Patients come prepared", "Information before the clinic",
               ("Text message saying the clinic may take half a day",))),
             (_m(C, "Triple assessment at the first visit", "Patients with all three tests at "
                 "the first visit", "Patients seen in the clinic", "Clinic outcome log", UP,
                 0.85, 0.95, "xmr", share=2.0),
              _m(P, "Clinics with a matching biopsy list", "Clinics with a biopsy list running "
                 "alongside", "Rapid access clinics held", "Radiology rota", UP, 0.60, 0.95,
                 share=0.15),
              _m(B, "Rapid access clinic overrun", "Minutes the clinic ran over", "",
                 "Clinic log", DOWN, 15.0, 18.0, spread=6.0, count=True))),
            ("bcs", "Breast-conserving surgery where suitable", "clinical_lead", "BCS",
             "Our rate of breast-conserving surgery for early invasive cancer is below the "
             "national figure; oncoplastic options are not always discussed.",
             "More women with early invasive breast cancer who are suitable have "
             "breast-conserving surgery", "from 66% to 75%",
             "women with early invasive breast cancer", "medium_term",
             (("Every suitable woman is offered breast conservation",
               "Oncoplastic options discussed at the MDT",
               ("Oncoplastic surgeon reviews every mastectomy recommendation",
                "Neoadjuvant therapy considered for larger tumours")),
              ("Women choose with full information", "Decision support",
               ("Breast care nurse appointment before the surgical decision",))),
             (_m(C, "Breast-conserving surgery", "Women having breast-conserving surgery",
                 "Women with early invasive cancer having surgery", "Theatre records", UP,
                 0.66, 0.74, share=0.5),
              _m(P, "Mastectomy recommendations reviewed", "Recommendations reviewed by an "
                 "oncoplastic surgeon", "Mastectomy recommendations", "MDT outcome forms", UP,
                 0.30, 0.90, share=0.2),
              _m(B, "Re-excision after breast-conserving surgery", "Women needing "
                 "re-excision", "Women having breast-conserving surgery", "Theatre records",
                 DOWN, 0.17, 0.17, share=0.4))),
            ("reconstruction", "Immediate reconstruction discussed with every woman", "cns",
             "", "Not every woman having a mastectomy is offered a discussion of immediate "
             "reconstruction, and offers vary by surgeon.",
             "Every woman having a mastectomy discusses immediate reconstruction",
             "from 70% to 100%", "women having a mastectomy", "medium_term",
             (("Every woman hears about her options", "The discussion is recorded",
               ("Reconstruction discussion on the pre-operative checklist",
                "Joint clinic with the plastic surgeons")),
              ("Capacity to offer it", "Theatre time",
               ("Shared theatre list with plastic surgery",))),
             (_m(C, "Immediate reconstruction discussed", "Women with the discussion "
                 "recorded", "Women having a mastectomy", "Pre-operative checklist", UP, 0.70,
                 0.98, share=0.25),
              _m(P, "Joint clinic appointments offered", "Women offered the joint clinic",
                 "Women having a mastectomy", "Clinic records", UP, 0.20, 0.70, share=0.25),
              _m(B, "Days from decision to mastectomy (median)", "Median days from decision "
                 "to surgery", "", "Theatre records", DOWN, 21.0, 23.0, spread=2.0))),
        ),
        started_days_ago=363,
    ),
    ProgrammeSpec(
        "Colorectal Cancer Peer Review 2026", "colorectal_cancer", "CRC",
        "Colorectal cancer MDT", "colorectal cancer", "colorectal nurse specialist",
        "Consultant colorectal surgeon", (150, 500),
        "National bowel cancer audit (fictional demo figures)",
        (("Colorectal surgery", "Consultant colorectal surgeon"),
         ("Gastroenterology", "Consultant gastroenterologist"),
         ("Radiology", "Consultant gastrointestinal radiologist"),
         ("Medical oncology", "Consultant medical oncologist"),
         ("Histopathology", "Consultant histopathologist")),
        (_fds(3.0, 0.72),
         IndicatorSpec("CNS", "Seen by a colorectal nurse specialist at diagnosis", 0.84, 0.95,
                       0.95),
         IndicatorSpec("LAP", "Laparoscopic or robotic elective resection", 0.68, 0.75, 0.35),
         IndicatorSpec("RETURN", "Unplanned return to theatre within 90 days", 0.065, 0.05,
                       0.35, higher_is_better=False),
         _complete()),
        _specialty_topics(
            ("eras", "Enhanced recovery after bowel surgery", "clinical_lead", "",
             "Patients stay longer after major bowel resection than in comparable units; "
             "the enhanced recovery pathway is followed inconsistently.",
             "More patients go home within five days of major resection", "from 45% to 60%",
             "patients having major colorectal resection", "medium_term",
             (("Patients recover faster", "Enhanced recovery every time",
               ("Enhanced recovery checklist on the ward round",
                "Eating and walking on the day of surgery")),
              ("Discharge is planned from admission", "Early discharge planning",
               ("Expected discharge date set at pre-assessment",))),
             (_m(C, "Home within 5 days of resection", "Patients discharged within 5 days",
                 "Patients having major resection", "Hospital episode data", UP, 0.45, 0.60,
                 "xmr", share=0.4),
              _m(P, "Enhanced recovery checklist completed", "Patients with the checklist "
                 "completed", "Patients having major resection", "Ward records", UP, 0.50,
                 0.90, share=0.4),
              _m(B, "Readmissions within 30 days", "Patients readmitted within 30 days",
                 "Patients discharged after resection", "Hospital episode data", DOWN, 0.10,
                 0.10, share=0.4))),
            ("laparoscopic", "Minimally invasive resection", "clinical_lead", "LAP",
             "Fewer of our elective resections are laparoscopic or robotic than nationally.",
             "More elective resections are minimally invasive", "from 62% to 75%",
             "patients having elective colorectal resection", "beyond_local",
             (("Surgeons have the skills and time", "Training and mentoring",
               ("Mentored lists with a visiting laparoscopic surgeon",
                "Robotic list shared with urology")),
              ("Cases are planned for it", "Case selection at the MDT",
               ("Surgical approach recorded at the MDT for every resection",))),
             (_m(C, "Minimally invasive elective resections", "Resections begun "
                 "laparoscopically or robotically", "Elective resections", "Theatre records",
                 UP, 0.62, 0.74, share=0.35),
              _m(P, "Approach recorded at the MDT", "Resections with the approach recorded",
                 "Patients listed for resection", "MDT outcome forms", UP, 0.40, 0.95,
                 share=0.35),
              _m(B, "Conversion to open surgery", "Operations converted to open",
                 "Minimally invasive operations begun", "Theatre records", DOWN, 0.10, 0.10,
                 share=0.25))),
            ("return_theatre", "Fewer unplanned returns to theatre", "clinical_lead",
             "RETURN", "Our rate of unplanned return to theatre after major resection is above "
             "the national figure, mostly anastomotic leaks found late.",
             "Fewer unplanned returns to theatre after major resection", "from 8% to 5%",
             "patients having major colorectal resection", "medium_term",
             (("Leaks are prevented", "Consistent anastomotic technique",
               ("Leak test for every left-sided anastomosis",)),
              ("Leaks are found early", "Early warning on the ward",
               ("Daily CRP on days 3 to 5 with an agreed threshold",
                "Surgical review of every patient over the threshold"))),
             (_m(C, "Unplanned returns to theatre", "Patients returning to theatre unplanned",
                 "Patients having major resection", "Theatre records", DOWN, 0.08, 0.05,
                 "xmr", share=0.4),
              _m(P, "CRP checked on days 3 to 5", "Patients with CRP checked each day",
                 "Patients having major resection", "Ward records", UP, 0.55, 0.95,
                 share=0.4),
              _m(B, "CT scans after resection", "Patients scanned after resection",
                 "Patients having major resection", "Radiology records", DOWN, 0.20, 0.22,
                 share=0.4))),
        ),
        started_days_ago=344,
    ),
    ProgrammeSpec(
        "Upper GI Cancer Peer Review 2026", "upper_gi_cancer", "UGI", "Upper GI cancer MDT",
        "oesophago-gastric cancer", "upper GI nurse specialist",
        "Consultant upper GI surgeon", (100, 350),
        "National oesophago-gastric cancer audit (fictional demo figures)",
        (("Upper GI surgery", "Consultant upper GI surgeon"),
         ("Gastroenterology", "Consultant gastroenterologist"),
         ("Radiology", "Consultant radiologist"),
         ("Clinical oncology", "Consultant clinical oncologist"),
         ("Dietetics", "Specialist upper GI dietitian")),
        (_fds(3.0, 0.70),
         IndicatorSpec("CNS", "Seen by an upper GI nurse specialist at diagnosis", 0.82, 0.95,
                       0.95),
         IndicatorSpec("CURATIVE", "Treatment plan with curative intent", 0.37, 0.40, 0.9),
         IndicatorSpec("EMERG", "Diagnosed after an emergency admission", 0.12, 0.10, 0.9,
                       higher_is_better=False),
         _complete()),
        _specialty_topics(
            ("nutrition", "Nutrition support from diagnosis", "cns", "",
             "Many patients with oesophageal or gastric cancer lose weight before treatment "
             "starts; dietitians see them late or not at all.",
             "More patients are seen by a dietitian before treatment", "from 40% to 85%",
             "patients with oesophago-gastric cancer", "medium_term",
             (("Weight loss is spotted early", "Screening at diagnosis",
               ("Malnutrition screening at the diagnosis appointment",)),
              ("Support starts quickly", "A dietitian in the pathway",
               ("Dietitian at the MDT", "Direct referral by the nurse specialist"))),
             (_m(C, "Seen by a dietitian before treatment", "Patients seen before treatment",
                 "Patients starting treatment", "Dietetic records", UP, 0.40, 0.85, "xmr",
                 share=0.6),
              _m(P, "Malnutrition screening at diagnosis", "Patients screened at diagnosis",
                 "Patients newly diagnosed", "Clinic checklist", UP, 0.50, 0.95, share=0.6),
              _m(B, "Days from diagnosis to treatment (median)", "Median days", "",
                 "Cancer waiting times tracker", DOWN, 35.0, 36.0, spread=3.0))),
            ("staging", "Staging completed within two weeks", "clinical_lead", "CURATIVE",
             "Staging tests (CT, PET-CT, endoscopic ultrasound) are booked one after another, "
             "so staging takes four weeks and some patients become unfit for curative "
             "treatment.", "Staging completed within 14 days of diagnosis", "from 35% to 75%",
             "patients with oesophago-gastric cancer", "medium_term",
             (("Tests are booked together", "Parallel booking",
               ("Book CT, PET-CT and EUS on the day of diagnosis",)),
              ("Capacity for staging", "Ring-fenced slots",
               ("Two ring-fenced EUS slots a week",
                "PET-CT slots agreed with the imaging network"))),
             (_m(C, "Staging within 14 days", "Patients staged within 14 days", "Patients "
                 "newly diagnosed", "Cancer audit database", UP, 0.35, 0.75, share=0.6),
              _m(P, "Staging tests booked on the day of diagnosis", "Patients with every "
                 "staging test booked that day", "Patients newly diagnosed", "Booking system",
                 UP, 0.20, 0.85, share=0.6),
              _m(B, "Staging tests cancelled or repeated", "Tests cancelled or repeated",
                 "Staging tests booked", "Radiology records", DOWN, 0.06, 0.06, share=1.5))),
            ("primary_care", "Earlier diagnosis from primary care", "clinical_lead", "EMERG",
             "More of our patients are diagnosed after an emergency admission than nationally; "
             "GPs find the direct-access endoscopy criteria hard to use.",
             "Fewer patients diagnosed after an emergency admission", "from 14% to 10%",
             "patients diagnosed with oesophago-gastric cancer", "beyond_local",
             (("GPs refer earlier", "Clear referral criteria",
               ("One-page direct-access endoscopy criteria for GPs",
                "Teaching at the GP education afternoon")),
              ("Tests are quick to get", "Direct access",
               ("Direct-access endoscopy within two weeks",))),
             (_m(C, "Diagnosed after an emergency admission", "Patients diagnosed after an "
                 "emergency admission", "Patients newly diagnosed", "Hospital episode data",
                 DOWN, 0.14, 0.10, share=0.9),
              _m(P, "Direct-access endoscopy requests", "Requests from GPs", "",
                 "Endoscopy booking system", UP, 30.0, 40.0, spread=4.0, count=True),
              _m(B, "Endoscopies with nothing abnormal", "Endoscopies with no abnormality",
                 "Direct-access endoscopies", "Endoscopy reports", DOWN, 0.70, 0.72,
                 share=1.5))),
        ),
        started_days_ago=333,
    ),
    ProgrammeSpec(
        "Urological Cancer Peer Review 2026", "urological_cancer", "URO",
        "Urological cancer MDT", "urological cancer", "urology nurse specialist",
        "Consultant urological surgeon", (300, 1000),
        "National prostate cancer audit (fictional demo figures)",
        (("Urology", "Consultant urological surgeon"),
         ("Radiology", "Consultant uroradiologist"),
         ("Clinical oncology", "Consultant clinical oncologist"),
         ("Histopathology", "Consultant uropathologist")),
        (_fds(2.5, 0.74),
         IndicatorSpec("CNS", "Seen by a urology nurse specialist at diagnosis", 0.83, 0.95,
                       0.95),
         IndicatorSpec("MPMRI", "MRI before prostate biopsy", 0.91, 0.95, 0.6),
         IndicatorSpec("READMIT", "Emergency readmission within 90 days of prostatectomy",
                       0.08, 0.06, 0.15, higher_is_better=False),
         _complete()),
        _specialty_topics(
            ("mri_first", "MRI before prostate biopsy", "clinical_lead", "MPMRI",
             "Some men still have a prostate biopsy before an MRI, so biopsies are less "
             "targeted and some are unnecessary.",
             "Every man suspected of prostate cancer has an MRI before any biopsy",
             "from 85% to 98%", "men referred with suspected prostate cancer", "quick_fix",
             (("MRI comes first", "MRI booked from triage",
               ("MRI booked at referral triage", "MRI reported within 7 days")),
              ("Biopsy only when needed", "Decision from the MRI",
               ("Nurse-led clinic to discuss MRI results",))),
             (_m(C, "MRI before biopsy", "Men with an MRI before biopsy", "Men having a "
                 "prostate biopsy", "Radiology records", UP, 0.85, 0.97, "xmr", share=0.7),
              _m(P, "MRI reported within 7 days", "MRIs reported within 7 days",
                 "Prostate MRIs", "Radiology records", UP, 0.50, 0.85, share=0.7),
              _m(B, "Men waiting over 28 days for a diagnosis", "Men waiting more than 28 "
                 "days", "Men referred", "Cancer waiting times tracker", DOWN, 0.25, 0.22,
                 share=0.7))),
            ("transperineal", "Transperineal biopsy under local anaesthetic", "cns", "",
             "Most prostate biopsies are still transrectal, with a higher risk of infection; "
             "transperineal biopsy needs a general anaesthetic and theatre time.",
             "More prostate biopsies are transperineal under local anaesthetic",
             "from 20% to 80%", "men having a prostate biopsy", "medium_term",
             (("Biopsy in the outpatient room", "Local anaesthetic technique",
               ("Train two nurse specialists in the technique",
                "Equip an outpatient biopsy room")),
              ("Fewer infections", "Infection prevention",
               ("Follow-up call two days after biopsy",))),
             (_m(C, "Transperineal biopsies under local anaesthetic", "Biopsies done "
                 "transperineally under local anaesthetic", "Prostate biopsies",
                 "Procedure log", UP, 0.20, 0.75, share=0.4),
              _m(P, "Nurse-led biopsy sessions held", "Sessions held", "", "Procedure log", UP,
                 2.0, 8.0, spread=1.0, count=True),
              _m(B, "Admissions with infection after biopsy", "Men admitted with infection",
                 "Prostate biopsies", "Hospital episode data", DOWN, 0.02, 0.02, share=0.4))),
            ("readmission", "Fewer emergency readmissions after prostatectomy",
             "clinical_lead", "READMIT",
             "Emergency readmissions within 90 days of radical prostatectomy are above the "
             "national figure; most are catheter problems and urinary infections.",
             "Fewer emergency readmissions after radical prostatectomy", "from 9% to 6%",
             "men having radical prostatectomy", "medium_term",
             (("Men go home ready", "Catheter teaching",
               ("Catheter teaching before admission",)),
              ("Problems are caught early", "Telephone follow-up",
               ("Nurse call on day 3 after discharge", "Direct line to the urology ward"))),
             (_m(C, "Emergency readmissions within 90 days", "Men readmitted as an emergency",
                 "Men having radical prostatectomy", "Hospital episode data", DOWN, 0.09,
                 0.06, share=0.2),
              _m(P, "Catheter teaching before admission", "Men taught before admission",
                 "Men listed for prostatectomy", "Ward records", UP, 0.40, 0.90, share=0.2),
              _m(B, "Calls to the urology ward line", "Calls received", "", "Ward call log",
                 DOWN, 20.0, 26.0, spread=4.0, count=True))),
        ),
        started_days_ago=322,
    ),
)

# Short texts a team writes month after month.
UPDATE_TEXTS = (
    "Ran the next test of change and reviewed the results at the MDT business meeting.",
    "Shared the latest chart with the team and agreed the next step.",
    "Collected the month's data; the new process is becoming routine.",
    "Met the service manager about making the change permanent.",
    "Trained two more members of the team in the new process.",
    "Looked at the patients the change missed and adjusted the process.",
    "Presented our progress at the trust's cancer board.",
)
BARRIERS = (
    ("staffing", "A key post has been vacant for two months.", "Service manager",
     "Could the core team share how other sites covered this role?"),
    ("time", "Clinic pressures leave little time for the project.", "Clinical lead", ""),
    ("data", "The data are hard to extract from the hospital's system.", "Information analyst",
     "We would value an introduction to a site that automated this report."),
    ("money", "The change needs funding the division has not agreed.", "Clinical lead",
     "Help with the business case: figures from other sites would make it."),
    ("engagement", "Not every consultant has agreed to the new process.", "MDT chair", ""),
    ("other_department", "Radiology cannot yet release the sessions we need.",
     "Service manager", "Could the programme raise this with the imaging network?"),
)
COMMENTS = (
    ("measures", "What could get worse if this works? Please add a balancing measure.",
     "Added a balancing measure."),
    ("aim", "Please say by when, and for which patients, in the aim.",
     "Added the date and the patients it covers."),
    ("roles", "Who keeps this going once the project ends? Please name a permanent member of "
              "staff.", "A permanent member of the team now owns it."),
    ("timeline", "When will you review the results with the MDT?",
     "Added a six-month review at the business meeting."),
)
SUPPORT_NOTES = {
    "call": "Video call with the plan's lead about the barrier; agreed next steps.",
    "email": "Sent figures and examples from other sites in the programme.",
    "introduction": "Introduced the team to another site that made the same change.",
    "follow_up_visit": "The facilitator sat in on an MDT to see the change working.",
}
CANCELLED_REASON = "The host team's clinical lead is on leave; to be re-arranged."
FEEDBACK = (
    ("A well-chaired meeting in which every patient's wishes were heard.",
     "Close the case list earlier, and chase results before the meeting."),
    ("We were reassured that our nurse specialists' role is a real strength.",
     "We want to look again at how quickly patients start treatment."),
)


# --- Small helpers ------------------------------------------------------------------------


def _at(day: datetime.date, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=TZ)


def _days(day: datetime.date, n: int) -> datetime.date:
    return day + datetime.timedelta(days=n)


def _month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, min(day.day, 28))


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower().replace("'", "")).strip("-")


_NOT_PLACE = {"royal", "north", "hospital", "hospitals", "university", "teaching", "nhs",
              "healthcare", "foundation", "trust", "and", "valley"}


def _place_slug(organisation_name: str) -> str:
    """The place in a trust's name, for its people's email addresses: "mallow-moor"."""
    words = []
    for word in organisation_name.split():
        if word.lower() in _NOT_PLACE:
            if words:
                break
            continue
        words.append(word)
    return _slug(" ".join(words)) or "trust"


def _email_q(prefix: str = "email", domain: str = EMAIL_DOMAIN) -> Q:
    return (Q(**{f"{prefix}__iendswith": f"@{domain}"})
            | Q(**{f"{prefix}__iendswith": f".{domain}"}))


def national_programmes():
    """The national demo programmes: named as here and run by national demo accounts."""
    ids = Programme.objects.filter(
        name__in=[spec.name for spec in PROGRAMMES]).filter(
        _email_q("core_team__user__email")).values_list("pk", flat=True)
    return Programme.objects.filter(pk__in=list(ids))


def exists() -> bool:
    return national_programmes().exists()


def national_logins() -> list[tuple[str, str]]:
    """(programme, its clinical lead's email): one way into each national programme, with
    the demo's password."""
    return list(CoreTeamMembership.objects.filter(
        programme__in=national_programmes(), role=CoreTeamMembership.Role.CLINICAL_LEAD)
        .order_by("programme__name").values_list("programme__name", "user__email"))


# --- Counting and removing ----------------------------------------------------------------


def counts() -> dict[str, int]:
    """The six targets as they stand, the demo and the national programmes together."""
    programme_ids = [*demo.demo_programmes().values_list("pk", flat=True),
                     *national_programmes().values_list("pk", flat=True)]
    since = timezone.now() - datetime.timedelta(days=TARGETS["activity days"])
    entries = ActivityLog.objects.filter(
        created_at__gte=since,
        pk__in=ActivityScope.objects.filter(
            content_type=ContentType.objects.get_for_model(Programme),
            object_id__in=programme_ids).values("entry_id"))
    oldest = entries.order_by("created_at").values_list("created_at", flat=True).first()
    return {
        "programmes": len(programme_ids),
        "sites": Site.objects.filter(Q(code__regex=SITE_CODE_PATTERN) | Q(
            organisation__code__regex=demo.ORG_CODE_PATTERN, code__endswith="-LUNG")).count(),
        "people": User.objects.filter(_email_q(domain=demo.DEMO_EMAIL_DOMAIN)).count(),
        "plans": QualityImprovementPlan.objects.filter(programme_id__in=programme_ids).count(),
        "measurements": Measurement.objects.filter(
            measure__plan__programme_id__in=programme_ids).count(),
        "activity log entries": entries.count(),
        "activity days": (timezone.now() - oldest).days + 1 if oldest else 0,
    }


def _chunks(ids: list[int], size: int = 5000):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def delete() -> dict[str, int]:
    """Remove the national programmes, their sites, trusts, people and activity log, leaving
    the demo (and everything else) alone."""
    programme_ids = list(national_programmes().values_list("pk", flat=True))
    sites = Site.objects.filter(code__regex=SITE_CODE_PATTERN)
    site_ids = list(sites.values_list("pk", flat=True))
    organisations = Organisation.objects.filter(code__regex=ORG_CODE_PATTERN)
    ct = ContentType.objects.get_for_model
    entry_ids = list(ActivityScope.objects.filter(
        Q(content_type=ct(Programme), object_id__in=programme_ids)
        | Q(content_type=ct(Site), object_id__in=site_ids)).values_list(
        "entry_id", flat=True).distinct())
    entries = 0
    # _raw_delete: one DELETE per chunk. The ORM's delete() would load every entry first to
    # cascade to its scopes, which at this scale takes longer than building them.
    for chunk in _chunks(entry_ids):
        ActivityScope.objects.filter(entry_id__in=chunk)._raw_delete(ActivityScope.objects.db)
        entries += ActivityLog.objects.filter(pk__in=chunk)._raw_delete(ActivityLog.objects.db)
    Measurement.objects.filter(measure__plan__programme_id__in=programme_ids)._raw_delete(
        Measurement.objects.db)
    # The national build stores no files today; a document added to it later must not be
    # left in media storage by --reset.
    with deleting_files_of_deleted_rows():
        removed = {
            "activity log entries": entries,
            "programmes": Programme.objects.filter(pk__in=programme_ids).delete()[1].get(
                "programmes.Programme", 0),
            "sites": sites.delete()[1].get("programmes.Site", 0),
            "organisations": organisations.delete()[1].get("programmes.Organisation", 0),
            "accounts": User.objects.filter(_email_q()).delete()[1].get("ilcop.User", 0),
        }
    return removed


# --- Building ---------------------------------------------------------------------------------


@dataclass
class _SiteState:
    """What the build knows about one national site as it goes."""

    site: Site
    programme: int  # index into PROGRAMMES
    status: str
    enrolment: Enrolment | None = None
    members: list[SiteMembership] = None  # current and former
    # When its team first took part in a visit that happened (plans start after it).
    active_from: datetime.date | None = None
    hosted: Visit | None = None  # the visit it hosted, once it has happened
    quiet_from: datetime.date | None = None  # the team's last sign of life, if gone quiet
    moves: list[tuple] = None  # (from, to, when, by whom) through the funnel
    topics: list[Topic] = None  # what its plans are about, the first three agreed at its visit
    focus_areas: list[FocusArea] = None

    def current(self) -> list[SiteMembership]:
        return [m for m in self.members if m.ended_at is None]

    def by_role(self, role: str) -> User | None:
        return next((m.user for m in self.current() if m.role == role), None)


class _Build:
    def __init__(self, rng_seed: int) -> None:
        self.rng = random.Random(rng_seed)
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.password = make_password(demo.DEMO_PASSWORD)
        self.ct: dict[type, int] = {}
        self.events: list[tuple] = []
        self.times: dict[datetime.datetime, object] = {}
        self.emails: set[str] = set(User.objects.filter(
            _email_q(domain=demo.DEMO_EMAIL_DOMAIN)).values_list("email", flat=True))
        self.names_used: set[str] = set()

    # --- the activity log --------------------------------------------------------------

    def ct_id(self, model: type) -> int:
        if model not in self.ct:
            self.ct[model] = ContentType.objects.get_for_model(model).pk
        return self.ct[model]

    def log(self, at: datetime.datetime, actor: User | None, verb: str, obj, summary: str,
            scopes=(), data: dict | None = None) -> None:
        """What ilcop.activity.log_action would have written at ``at``."""
        at = min(at, self.now - datetime.timedelta(minutes=1))
        target = (self.ct_id(type(obj)), obj.pk)
        keys = {target, *((self.ct_id(type(scope)), scope.pk) for scope in scopes)}
        self.events.append((at, actor.pk if actor else None, verb, target, str(obj)[:200],
                            summary[:300], data or {}, sorted(keys)))

    def db_time(self, value: datetime.datetime) -> object:
        """A datetime as the database driver takes it (naive UTC text on SQLite)."""
        if value not in self.times:
            self.times[value] = connection.ops.adapt_datetimefield_value(value)
        return self.times[value]

    def write_log(self) -> int:
        """Insert the entries collected so far, oldest first, with their scopes."""
        self.events.sort(key=lambda event: event[0])
        data = ActivityLog._meta.get_field("data")
        empty = data.get_db_prep_save({}, connection)
        keys = _raw_insert(ActivityLog, (
            "created_at", "actor", "verb", "content_type", "object_id", "object_repr",
            "summary", "data"), [
            (self.db_time(at), actor, verb, ct, pk, repr_, summary,
             data.get_db_prep_save(values, connection) if values else empty)
            for at, actor, verb, (ct, pk), repr_, summary, values, _ in self.events],
            returning=True)
        _raw_insert(ActivityScope, ("entry", "content_type", "object_id", "created_at"), [
            (key, ct, pk, self.db_time(event[0]))
            for key, event in zip(keys, self.events, strict=True) for ct, pk in event[7]])
        written = len(keys)
        self.events = []
        return written

    def redate_log(self, after_id: int, at: datetime.datetime) -> None:
        """Date what a service logged just now at the moment it happened in the story."""
        ActivityLog.objects.filter(id__gt=after_id).update(created_at=at)

    @staticmethod
    def last_log_id() -> int:
        return ActivityLog.objects.order_by("-id").values_list("id", flat=True).first() or 0

    # --- people ----------------------------------------------------------------------

    def person(self, domain: str, job_title: str, joined: datetime.datetime) -> User:
        rng = self.rng
        while True:
            first, surname = rng.choice(demo.FIRST_NAMES), rng.choice(demo.SURNAMES)
            title = rng.choice(demo.TITLES) if "Consultant" in job_title else ""
            full_name = f"{title}{first} {surname}"
            base = _slug(f"{first}.{surname}").replace("-", ".")
            email = f"{base}@{domain}"
            n = 2
            while email in self.emails:
                email, n = f"{base}{n}@{domain}", n + 1
            if full_name not in self.names_used or rng.random() < 0.3:
                break
        self.emails.add(email)
        self.names_used.add(full_name)
        return User(email=email, full_name=full_name, job_title=job_title,
                    password=self.password, date_joined=min(joined, self.now))


def _insert(model, objects, **kwargs):
    return model.objects.bulk_create(objects, batch_size=BATCH, **kwargs)


def _max_params() -> int:
    """The most parameters one statement may carry on this database."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        try:
            return min(30_000, connection.connection.getlimit(
                sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        except AttributeError:  # pragma: no cover (Python before 3.11)
            return 999
    return 30_000  # PostgreSQL allows 65,535


def _raw_insert(model, columns: tuple[str, ...], rows: list[tuple],
                *, returning: bool = False) -> list[int]:
    """Insert plain rows, thousands to a statement; with ``returning``, their new keys in
    the order given.

    For the three biggest tables (activity log, its scopes, measurements): a model instance
    per row and the ORM's compiling of each batch take most of a minute for half a million
    rows. Values must already be as the database takes them (``_Build.db_time``)."""
    ops = connection.ops
    names = ", ".join(ops.quote_name(model._meta.get_field(c).column) for c in columns)
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    suffix = f" RETURNING {ops.quote_name(model._meta.pk.column)}" if returning else ""
    per = max(1, _max_params() // len(columns))
    keys: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per):
            chunk = rows[start:start + per]
            cursor.execute(f"INSERT INTO {ops.quote_name(model._meta.db_table)} ({names}) "
                           f"VALUES {', '.join([row_sql] * len(chunk))}{suffix}",
                           [value for row in chunk for value in row])
            if returning:
                # Keys are drawn in the order of the VALUES list; RETURNING need not list
                # them in that order.
                keys += sorted(row[0] for row in cursor.fetchall())
    return keys


def _insert_people(people: list[User]) -> list[User]:
    """New accounts with verified addresses, so every one of them can sign in."""
    _insert(User, people)
    _insert(EmailAddress, [EmailAddress(user=u, email=u.email, verified=True, primary=True)
                           for u in people])
    return people


@transaction.atomic
def build(*, rng_seed: int = SEED) -> dict[str, int]:
    """Add the four national programmes to the demo (which must exist: seed_demo builds it
    first). Returns the six targets as counted afterwards."""
    if not demo.demo_exists():
        raise RuntimeError("Build the demo programme first (python manage.py seed_demo).")
    if exists():
        return counts()
    b = _Build(rng_seed)
    organisations = _organisations(b)
    runs = [_programme(b, spec) for spec in PROGRAMMES]
    sites = _sites(b, runs, organisations)
    _people(b, runs, sites)
    for index, run in enumerate(runs):
        mine = [s for s in sites if s.programme == index]
        _audit(b, run, mine)
        _allocation(b, run, mine)
        _survey(b, run, mine)
        _visits(b, run, mine)
    b.write_log()
    _plans(b, runs, sites)
    b.write_log()
    return counts()


@dataclass
class _Run:
    """One national programme as it is built."""

    programme: Programme
    spec: ProgrammeSpec
    started: datetime.date
    lead: User
    manager: User
    administrator: User
    facilitators: list[User]
    baseline: Period | None = None
    indicators: dict[str, Indicator] = None
    pairing: Pairing | None = None
    survey: Survey | None = None
    questions: list[SurveyQuestion] = None
    collections: dict[int, SurveyCollection] = None
    template: AgendaTemplate | None = None
    form: ObservationForm | None = None

    @property
    def imported(self) -> datetime.datetime:
        return _at(_days(self.started, 2), 14, 10)

    @property
    def checked(self) -> datetime.datetime:  # eligibility, on baseline audit data
        return _at(_days(self.started, 75), 11, 0)

    @property
    def allocated(self) -> datetime.datetime:
        return _at(_days(self.started, 85), 11, 0)

    @property
    def paired(self) -> datetime.datetime:
        return _at(_days(self.started, 95), 10, 0)


def _organisations(b: _Build) -> list[Organisation]:
    """The demo's trusts, which now run MDTs in other specialties too, and some more."""
    existing = list(Organisation.objects.filter(code__regex=demo.ORG_CODE_PATTERN)
                    .order_by("code"))
    names = set(Organisation.objects.values_list("name", flat=True))
    rng = b.rng
    regions = [region for region in demo.REGIONS for _ in range(region.organisations)]
    templates, weights = zip(*demo.TRUST_TEMPLATES, strict=True)

    def place(region) -> str:
        stem, ending = rng.choice(demo.PLACE_STEMS), rng.choice(region.endings)
        if not ending.startswith(" ") and stem[-1].lower() == ending[0]:
            ending = ending[1:]
        return stem + ending

    new = []
    for number in range(1, NEW_ORGANISATIONS + 1):
        region = rng.choice(regions)
        while True:
            p, q = place(region), place(region)
            name = rng.choices(templates, weights)[0].format(p=p, q=q, stem=p.split()[0])
            if name not in names and p != q:
                break
        names.add(name)
        lat, lon = rng.choice(region.anchors)
        lat += rng.uniform(-region.jitter, region.jitter)
        lon += rng.uniform(-region.jitter, region.jitter) * 1.6
        new.append(Organisation(code=f"{ORG_CODE_PREFIX}{number:03d}", name=name,
                                region=region.region, network=region.network,
                                latitude=Decimal(f"{lat:.5f}"), longitude=Decimal(f"{lon:.5f}")))
    _insert(Organisation, new)
    return existing + new


def _programme(b: _Build, spec: ProgrammeSpec) -> _Run:
    started = _days(b.today, -spec.started_days_ago)
    programme = Programme.objects.create(
        name=spec.name, specialty=spec.specialty, kind=Programme.Kind.RECIPROCAL,
        status=Programme.Status.RUNNING, start_date=started, end_date=_days(started, 728),
        baseline_period=str(_days(started, 85).year - 1), min_denominator=30,
        description=(
            f"{spec.site_name}s in England are paired with a partner MDT. Each pair visits "
            "the other's MDT meeting, shares what works, and agrees quality improvement "
            "plans with help from a quality improvement facilitator. Eligible MDTs are "
            "allocated at random to the intervention group or to a comparison group whose "
            f"audit results are compared at the end.\n\nThis is demonstration data: every "
            "trust, team and person in it is made up."))
    created = _at(started, 9, 20)
    Programme.objects.filter(pk=programme.pk).update(created_at=created)
    roles = (("clinical_lead", f"{spec.physician} and programme clinical lead"),
             ("project_manager", "Programme manager"),
             ("administrator", "Programme administrator"),
             ("qi_facilitator", "Quality improvement facilitator"),
             ("qi_facilitator", "Quality improvement facilitator"))
    people = _insert_people([b.person(EMAIL_DOMAIN, title, created) for _role, title in roles])
    joined = [created] + [_at(_days(started, 1 + n), 10, 5 * n) for n in range(len(roles) - 1)]
    memberships = _insert(CoreTeamMembership, [
        CoreTeamMembership(programme=programme, user=user, role=role, joined_at=when)
        for (role, _title), user, when in zip(roles, people, joined, strict=True)])
    b.log(created, people[0], "programme.created", programme, "Created the programme")
    for membership in memberships[1:]:
        b.log(membership.joined_at, membership.user, "membership.joined", membership,
              f"Joined as {membership.get_role_display()}", scopes=(programme,))
    return _Run(programme=programme, spec=spec, started=started, lead=people[0],
                manager=people[1], administrator=people[2], facilitators=people[3:])


def _funnel_moves(status: str, withdrawn_from: str) -> list[tuple[str, str]]:
    path = {"invited": [], "interested": ["interested"],
            "approved": ["interested", "approved"],
            "ineligible": ["interested", "approved", "ineligible"],
            "intervention": ["interested", "approved", "eligible", "intervention"],
            "control": ["interested", "approved", "eligible", "control"]}
    stages = ["invited", *path[withdrawn_from or status]]
    if status == Enrolment.Status.WITHDRAWN:
        stages.append(status)
    return list(zip(stages, stages[1:], strict=False))


def _sites(b: _Build, runs: list[_Run], organisations: list[Organisation]) -> list[_SiteState]:
    """Each programme's MDTs at about four trusts in five, and their enrolments."""
    rng = b.rng
    new_orgs = [o for o in organisations if o.code.startswith(ORG_CODE_PREFIX)]
    states: list[_SiteState] = []
    total = sum(ARMS.values())
    for index, run in enumerate(runs):
        spec = run.spec
        # Every new trust has at least one MDT; the rest are drawn from all the trusts.
        chosen = new_orgs[index::len(runs)]
        others = [o for o in organisations if o not in chosen]
        chosen += rng.sample(others, total - len(chosen))
        chosen.sort(key=lambda o: o.code)
        statuses = [status for status, n in ARMS.items() for _ in range(n)]
        rng.shuffle(statuses)
        sites = []
        for organisation, status in zip(chosen, statuses, strict=True):
            hour = rng.choice((8, 9, 9, 10, 12, 13, 13))
            site = Site(organisation=organisation, code=f"{organisation.code}-{spec.suffix}",
                        name=spec.site_name, specialty=spec.specialty,
                        mdt_day=rng.randrange(5), mdt_time=datetime.time(hour, rng.choice(
                            (0, 30))), annual_new_patients=rng.randint(*spec.patients))
            sites.append(site)
            states.append(_SiteState(site=site, programme=index, status=status, members=[]))
        _insert(Site, sites)
        mine = [s for s in states if s.programme == index]
        enrolments = [_enrolment(b, run, state) for state in mine]
        _insert(Enrolment, enrolments)
        for n, state in enumerate(mine):
            _log_enrolment(b, run, state, n)
        fresh = sum(1 for o in chosen if o in new_orgs)
        b.log(_at(_days(run.started, 2), 14, 11), run.manager, "sites.imported",
              run.programme, f"Imported {len(mine)} sites ({fresh} new organisations) from "
              f"{spec.suffix.lower()}-mdts-england.csv",
              data={"sites": len(mine), "new_organisations": fresh})
    return states


def _enrolment(b: _Build, run: _Run, state: _SiteState) -> Enrolment:
    rng = b.rng
    withdrawn_from = rng.choice(WITHDRAWN_FROM) if state.status == "withdrawn" else ""
    moves = _funnel_moves(state.status, withdrawn_from)
    interested = _days(run.started, rng.randint(5, 35))
    approved = _days(interested, rng.randint(7, 30))
    times = {"interested": _at(interested, 9 + rng.randrange(8), rng.randrange(60)),
             "approved": _at(approved, 9 + rng.randrange(8), rng.randrange(60)),
             "eligible": run.checked, "ineligible": run.checked,
             "intervention": run.allocated, "control": run.allocated}
    actors = {"interested": run.manager, "approved": run.manager, "eligible": run.lead,
              "ineligible": run.lead, "intervention": run.lead, "control": run.lead}
    stamped = []
    for source, target in moves:
        if target == "withdrawn":
            before = times.get(source, run.imported)
            at = before + datetime.timedelta(days=rng.randint(3, 25))
            stamped.append((source, target, min(at, run.checked), run.manager))
        else:
            stamped.append((source, target, times[target], actors[target]))
    reached = {target for _source, target, _at_, _actor in stamped}
    first, surname = rng.choice(demo.FIRST_NAMES), rng.choice(demo.SURNAMES)
    state.moves = stamped
    last = stamped[-1] if stamped else None
    state.enrolment = Enrolment(
        programme=run.programme, site=state.site, status=state.status,
        approved_by=(f"{first} {surname}, {rng.choice(demo.APPROVER_ROLES)}"
                     if "approved" in reached else ""),
        approved_on=times["approved"].date() if "approved" in reached else None,
        ineligible_reason=(f"Baseline audit data incomplete: fewer than 30 patients recorded "
                           f"for {run.programme.baseline_period}"
                           if state.status == "ineligible" else ""),
        withdrawn_reason=(rng.choice(demo.WITHDRAWN_REASONS[withdrawn_from])
                          if withdrawn_from else ""),
        withdrawn_from=withdrawn_from,
        status_changed_at=last[2] if last else run.imported,
        status_changed_by=last[3] if last else run.manager)
    return state.enrolment


def _log_enrolment(b: _Build, run: _Run, state: _SiteState, n: int) -> None:
    enrolment, programme, site = state.enrolment, run.programme, state.site
    b.log(run.imported + datetime.timedelta(milliseconds=n), run.manager, "enrolment.created",
          enrolment, "Invited to the programme (imported from a file)", (programme, site))
    for source, target, at, actor in state.moves:
        summary = (f"Moved from {Enrolment.Status(source).label} to "
                   f"{Enrolment.Status(target).label}")
        if target == "approved":
            summary += (f" (approved by {enrolment.approved_by} on "
                        f"{enrolment.approved_on.day} {enrolment.approved_on:%B %Y})")
        b.log(at, actor, "enrolment.moved", enrolment, summary, (programme, site),
              {"from": source, "to": target})


# People in each site's team, by the enrolment status the site ended at: (fewest, most).
TEAMS = {
    "intervention": {"clinical_lead": (1, 1), "cns": (1, 3), "mdt_coordinator": (1, 2),
                     "executive_sponsor": (0, 1)},
    "control": {"clinical_lead": (1, 1), "cns": (1, 2), "mdt_coordinator": (1, 1)},
    "ineligible": {"clinical_lead": (1, 1), "cns": (0, 1)},
    "approved": {"clinical_lead": (1, 1), "cns": (0, 1)},
    "interested": {"clinical_lead": (0, 1)},
}
LEAVERS = 0.04  # of other clinicians at intervention sites, who have since left the team


def _people(b: _Build, runs: list[_Run], states: list[_SiteState]) -> None:
    """Each site's team, a cancer services manager shared by a trust's MDTs, and other
    clinicians enough to bring the demo's and national people to the target."""
    rng = b.rng
    wanted: list[tuple[_SiteState, str, str, str]] = []  # (site, role, specialty, job title)
    for state in states:
        spec = runs[state.programme].spec
        titles = {"clinical_lead": spec.physician,
                  "cns": spec.nurse[0].upper() + spec.nurse[1:],
                  "mdt_coordinator": f"{spec.site_name.removesuffix(' MDT')} MDT coordinator"}
        for role, (low, high) in TEAMS.get(state.status, {}).items():
            for _ in range(rng.randint(low, high)):
                title = titles.get(role) or rng.choice(demo.EXECUTIVE_SPONSOR_TITLES)
                wanted.append((state, role, "", title))
    # A trust's cancer services manager looks after all its MDTs in the programmes.
    by_trust: dict[int, list[_SiteState]] = defaultdict(list)
    for state in states:
        if state.status in ("intervention", "control"):
            by_trust[state.site.organisation_id].append(state)
    shared = [group for _org, group in sorted(by_trust.items())
              if len(group) > 1 and rng.random() < 0.5]
    for state in states:
        if state.status == "intervention" and rng.random() < 0.3 and not any(
                state in group for group in shared):
            wanted.append((state, "manager", "", "Cancer services manager"))
    others = TARGETS["people"] - len(b.emails) - len(wanted) - len(shared)
    weights = [(state, 3 if state.status == "intervention" else 1) for state in states
               if state.status in ("intervention", "control")]
    unit = others / sum(w for _s, w in weights)
    extra = {id(state): int(unit * w) for state, w in weights}
    short = others - sum(extra.values())
    for state, _w in rng.sample(weights, short):
        extra[id(state)] += 1
    for state, _w in weights:
        clinicians = runs[state.programme].spec.clinicians
        for n in range(extra[id(state)]):
            specialty, title = clinicians[n % len(clinicians)]
            wanted.append((state, "other_clinician", specialty, title))

    people, memberships = [], []
    for state, role, specialty, title in wanted:
        joined = _joined(b, runs[state.programme], state)
        user = b.person(f"{_place_slug(state.site.organisation.name)}.{EMAIL_DOMAIN}", title,
                        joined)
        people.append(user)
        ended = None
        if role == "other_clinician" and state.status == "intervention" and \
                rng.random() < LEAVERS:
            ended = min(joined + datetime.timedelta(days=rng.randint(90, 200)),
                        _at(_days(b.today, -7)))
        memberships.append(SiteMembership(site=state.site, user=user, role=role,
                                          clinical_specialty=specialty, joined_at=joined,
                                          ended_at=ended))
    for group in shared:
        joined = min(_joined(b, runs[state.programme], state) for state in group)
        user = b.person(f"{_place_slug(group[0].site.organisation.name)}.{EMAIL_DOMAIN}",
                        "Cancer services manager", joined)
        people.append(user)
        for state in group:
            memberships.append(SiteMembership(site=state.site, user=user, role="manager",
                                              joined_at=_joined(b, runs[state.programme],
                                                                state)))
    _insert_people(people)
    _insert(SiteMembership, memberships)
    by_site = {id(state.site): state for state in states}
    for membership in memberships:
        state = by_site[id(membership.site)]
        state.members.append(membership)
    for state in states:
        programme, site = runs[state.programme].programme, state.site
        for membership in state.members:
            b.log(membership.joined_at, membership.user, "membership.joined", membership,
                  f"Joined as {membership.role_label}", (programme, site))
            if membership.ended_at:
                b.log(membership.ended_at, state.by_role("clinical_lead"), "membership.ended",
                      membership, f"Removed {membership.user} ({membership.role_label}) "
                                  "from the team", (site, programme))
    _invitations(b, runs, states)


def _joined(b: _Build, run: _Run, state: _SiteState) -> datetime.datetime:
    """Teams sign up once their trust has said yes, and fill out after allocation."""
    moves = {target: at for _source, target, at, _actor in state.moves}
    start = moves.get("approved") or moves.get("interested") or run.imported
    end = run.allocated + datetime.timedelta(days=40) if state.status in (
        "intervention", "control") else max(start, run.checked)
    seconds = int((end - start).total_seconds())
    return start + datetime.timedelta(seconds=b.rng.randint(3600, max(3601, seconds)))


def _invitations(b: _Build, runs: list[_Run], states: list[_SiteState]) -> None:
    """A few invitations still waiting for a reply at intervention sites."""
    rng = b.rng
    invitations = []
    for index, run in enumerate(runs):
        sites = [s for s in states if s.programme == index and s.status == "intervention"]
        for state in rng.sample(sites, 6):
            first, surname = rng.choice(demo.FIRST_NAMES), rng.choice(demo.SURNAMES)
            domain = f"{_place_slug(state.site.organisation.name)}.{EMAIL_DOMAIN}"
            email = f"{_slug(f'{first}.{surname}').replace('-', '.')}.new@{domain}"
            if email in b.emails:
                continue
            b.emails.add(email)
            specialty, _title = rng.choice(run.spec.clinicians)
            sent = (b.now - datetime.timedelta(days=rng.randint(1, 12))).replace(microsecond=0)
            invitation = Invitation(
                programme=run.programme, site=state.site, email=email,
                full_name=f"{first} {surname}", site_role="other_clinician",
                clinical_specialty=specialty, invited_by=state.by_role("clinical_lead"),
                created_at=sent, sent_at=sent, nonce=f"{rng.getrandbits(128):032x}")
            invitations.append((run, state, invitation))
    _insert(Invitation, [i for _r, _s, i in invitations])
    for run, state, invitation in invitations:
        b.log(invitation.created_at, invitation.invited_by, "invitation.created", invitation,
              f"Invited {invitation.full_name} as {invitation.role_label}",
              (run.programme, state.site))


def _evaluation_periods(run: _Run, today: datetime.date) -> list[Period]:
    """The year before the baseline, and each calendar quarter of the allocation's year
    whose audit figures are out (seven weeks after it ends), as the demo has them."""
    year = run.allocated.year
    quarters = [parse_period(f"{year} Q{q}") for q in range(1, 5)]
    return [parse_period(str(year - 2)), *(q for q in quarters
                                           if _days(q.end, 50) <= today)]


def _audit(b: _Build, run: _Run, states: list[_SiteState]) -> None:
    """Headline indicators and every checked site's baseline year; for the allocated sites,
    the year before and the quarters since, for the programme's evaluation."""
    rng, spec = b.rng, run.spec
    indicators = _insert(Indicator, [
        Indicator(programme=run.programme, code=i.code, name=i.name, source=spec.audit,
                  is_headline=i.headline, higher_is_better=i.higher_is_better, order=n)
        for n, i in enumerate(spec.indicators)])
    run.indicators = {i.code: i for i in indicators}
    run.baseline = parse_period(run.programme.baseline_period)
    others = _evaluation_periods(run, b.today)
    visits_began = _days(run.started, 110)
    imported = {run.baseline.label: _at(_days(run.started, 60), 10, 30)}
    for period in others:
        imported[period.label] = _at(min(max(_days(period.end, 50), _days(run.started, 61)),
                                         _days(b.today, -1)), 10, 30)
    values = []
    for state in states:
        reached = state.enrolment.withdrawn_from or state.status
        if reached not in ("approved", "ineligible", "intervention", "control"):
            continue
        patients = state.site.annual_new_patients
        if state.status == "ineligible":
            patients = rng.randint(12, 28)  # too few at baseline: why it is ineligible
        periods = [run.baseline]
        if state.status in ("intervention", "control"):
            periods += others
        effects = {i.code: rng.gauss(0, min(0.06, 0.3 * min(i.national, 1 - i.national)))
                   for i in spec.indicators}
        for period in periods:
            fraction = ((period.end - period.start).days + 1) / 365
            # The intervention shows once visits have begun; audit figures drift up anyway.
            shown = 0.0
            if state.status == "intervention" and period.end > visits_began:
                shown = 1.0 if period.start > visits_began else 0.4
            years = (period.start - run.baseline.start).days / 365
            for i in spec.indicators:
                denominator = max(1, round(patients * i.share * fraction
                                           * rng.uniform(0.85, 1.05)))
                change = 0.01 * years + 0.035 * shown + rng.gauss(0, 0.01)
                if not i.higher_is_better:
                    change = -change * i.national * 2
                proportion = min(0.99, max(0.01, i.national + effects[i.code] * 0.8 + change))
                values.append(IndicatorValue(
                    indicator=run.indicators[i.code], site=state.site, period=period.label,
                    period_start=period.start, period_end=period.end,
                    numerator=round(proportion * denominator), denominator=denominator,
                    national=i.national, target=i.target, imported_at=imported[period.label]))
    _insert(IndicatorValue, values)
    codes = ", ".join(sorted(i.code for i in spec.indicators))
    for period in (run.baseline, *others):
        count = sum(1 for v in values if v.period == period.label)
        b.log(imported[period.label], run.manager, "audit.imported", run.programme,
              f"Imported {period.label} audit data for {codes}: {count} values",
              data={"period": period.label, "indicators": codes.split(", "), "values": count,
                    "replaced": 0})
    eligible = sum(1 for s in states if s.status in ("intervention", "control"))
    ineligible = sum(1 for s in states if s.status == "ineligible")
    b.log(run.checked, run.lead, "eligibility.checked", run.programme,
          f"Checked eligibility on {run.baseline.label} data: {eligible} eligible, "
          f"{ineligible} not", data={"eligible": eligible, "ineligible": ineligible})


def _allocation(b: _Build, run: _Run, states: list[_SiteState]) -> None:
    """The confirmed randomisation behind the arms, and the pairing engine's pairs."""
    allocated = [s for s in states if s.status in ("intervention", "control")]
    seed = b.rng.randrange(2 ** 31)
    randomisation = Randomisation.objects.create(
        programme=run.programme, seed=seed, intervention_count=ARMS["intervention"],
        stratify_by_region=True, allocation={str(s.site.pk): s.status for s in allocated},
        created_by=run.lead, created_at=run.allocated - datetime.timedelta(hours=1),
        confirmed_by=run.lead, confirmed_at=run.allocated)
    b.log(randomisation.created_at, run.lead, "randomisation.run", randomisation,
          f"Randomised {len(allocated)} eligible sites: {ARMS['intervention']} to "
          f"intervention (seed {seed})", (run.programme,),
          {"seed": seed, "intervention_count": ARMS["intervention"],
           "stratify_by_region": True, "stratify_by_size": False, "size_band_edges": [],
           "sites": len(allocated)})
    b.log(run.allocated, run.lead, "randomisation.confirmed", randomisation,
          f"Confirmed the allocation (seed {seed}); it is now locked", (run.programme,))
    # The engine's pairs, as the core team would have made them: through the services.
    mark = b.last_log_id()
    pairing = pairing_propose(programme=run.programme, user=run.lead,
                              rules=PairingConstraints(not_same_network=True))
    pairing_confirm(pairing=pairing, user=run.lead)
    Pairing.objects.filter(pk=pairing.pk).update(created_at=run.paired,
                                                 confirmed_at=run.paired)
    b.redate_log(mark, run.paired)
    run.pairing = pairing


def _survey(b: _Build, run: _Run, states: list[_SiteState]) -> None:
    """The patient survey, set up after allocation, with a collection for each intervention
    site (responses come with the visits: hosts collect them before their visit)."""
    created = run.allocated + datetime.timedelta(days=10)
    spec = run.spec
    run.survey = Survey.objects.create(
        programme=run.programme, title=f"Your experience of {spec.cancer} care",
        introduction=(f"Your {spec.cancer} team is taking part in a quality improvement "
                      "programme with another hospital's team. Please tell us about your care "
                      "so far. The survey is anonymous: we do not ask for your name, and we "
                      "do not record who you are."),
        closes_on=_days(b.today, 84), created_at=created)
    run.questions = _insert(SurveyQuestion, [
        SurveyQuestion(survey=run.survey, code=q.code, text=q.text, hint=q.hint, kind=q.kind,
                       scale=q.scale, order=n)
        for n, q in enumerate(DEFAULT_QUESTIONS, start=1)])
    b.log(created, run.lead, "survey.created", run.survey, "Set up the patient experience survey",
          (run.programme,))
    used = set(SurveyCollection.objects.values_list("code", flat=True))
    collections = []
    for state in states:
        if state.status != "intervention":
            continue
        while (code := "".join(b.rng.choice(CODE_ALPHABET) for _ in range(8))) in used:
            pass
        used.add(code)
        collections.append(SurveyCollection(survey=run.survey, site=state.site, code=code,
                                            created_at=created))
    run.collections = {c.site_id: c for c in _insert(SurveyCollection, collections)}


def _survey_responses(b: _Build, run: _Run, state: _SiteState,
                      until: datetime.date) -> tuple[list, list]:
    """A host's patients' answers, collected in the weeks before its visit."""
    rng = b.rng
    collection = run.collections[state.site.pk]
    opened = collection.created_at.date()
    spread = rng.uniform(0.3, 0.85)
    responses, answers = [], []
    span = max(1, (until - opened).days)
    for _ in range(rng.randint(12, 40)):
        response = SurveyResponse(
            collection=collection, mode=rng.choices(("online", "paper"), (3, 1))[0],
            received_on=_days(opened, rng.randint(1, span)),
            submission_key=uuid.UUID(int=rng.getrandbits(128)))
        responses.append(response)
        for question in run.questions:
            if question.kind == "free_text":
                if rng.random() < 0.25:
                    text = rng.choice(SAID_BY_PATIENTS)
                    shared = rng.random() < 0.75
                    answers.append((response, SurveyAnswer(
                        question=question, text=text, review="shared" if shared else "pending",
                        shared_text=text if shared else "",
                        reviewed_by=run.lead if shared else None,
                        reviewed_at=_at(until, 12) if shared else None)))
            elif rng.random() < 0.95:
                scale = SCALES[question.scale]
                codes = [c for c, _label in scale.options if c not in scale.excluded]
                choice = rng.choices(codes, [spread ** i for i in range(len(codes))])[0]
                if scale.excluded and rng.random() < 0.05:
                    choice = next(iter(scale.excluded))
                answers.append((response, SurveyAnswer(question=question, choice=choice)))
    return responses, answers


SAID_BY_PATIENTS = (
    "The nurse specialist rang me back the same day every time.",
    "Everyone explained things in a way I could follow.",
    "Quick from the scan to seeing someone, which I did not expect.",
    "I waited almost three weeks for my results and nobody called.",
    "Parking at the hospital is impossible on clinic days.",
    "It would help to have one number to ring rather than being passed around.",
)


def _mdt_date(site: Site, earliest: datetime.date) -> datetime.date:
    """The host's first MDT day on or after ``earliest`` that is not a bank holiday."""
    return candidate_dates(site.mdt_day, earliest, _days(earliest, 28))[0]


def _visit_plan(b: _Build, run: _Run, pairs: list) -> list[dict]:
    """Each pair's two visits: dates spread from soon after pairing to a few weeks ahead,
    and each visit's status from its date."""
    rng, today = b.rng, b.today
    start, end = _days(run.started, 110), _days(today, 35)
    rows = []
    for k, (pair, a, bb) in enumerate(pairs):
        target = _days(start, (end - start).days * k // max(1, len(pairs) - 1)
                       + rng.randint(-4, 4))
        first = _mdt_date(a.site, target)
        second = _mdt_date(bb.site, _days(first, rng.randint(28, 49)))
        rows.append({"pair": pair, "host": a, "visitor": bb, "date": first, "first": True})
        rows.append({"pair": pair, "host": bb, "visitor": a, "date": second, "first": False})
    firsts = [r for r in rows if r["first"]]
    cancelled = min(firsts, key=lambda r: abs((r["date"] - _days(today, 20)).days))
    # The last pair to be arranged is still finding a date.
    rows[-2]["date"], rows[-1]["date"] = _days(today, 100), _days(today, 150)
    overdue = [r for r in rows if _days(today, -150) <= r["date"] < _days(today, -30)][:2]
    unmarked = [r for r in rows if _days(today, -10) <= r["date"] < today][:1]
    for row in rows:
        date = row["date"]
        if row is cancelled:
            row["status"] = Visit.Status.CANCELLED
        elif not row["first"] and rows[rows.index(row) - 1] is cancelled:
            row["status"], row["date"] = Visit.Status.PROPOSED, None
        elif row in unmarked:
            row["status"] = Visit.Status.CONFIRMED
        elif date < _days(today, -21):
            row["status"] = Visit.Status.HAPPENED if row in overdue else \
                Visit.Status.REPORT_SENT
        elif date < today:
            row["status"] = Visit.Status.HAPPENED
        elif date < _days(today, 42):
            row["status"] = Visit.Status.CONFIRMED
        elif date < _days(today, 70):
            row["status"] = Visit.Status.DATE_AGREED
        elif row["first"] or rng.random() < 0.5:
            row["status"], row["date"] = Visit.Status.POLLING, None
        else:
            row["status"], row["date"] = Visit.Status.PROPOSED, None
    return rows


PAST = (Visit.Status.HAPPENED, Visit.Status.REPORT_SENT)
DATED = (Visit.Status.DATE_AGREED, Visit.Status.CONFIRMED, *PAST, Visit.Status.CANCELLED)
CHECKLIST = (Visit.Status.CONFIRMED, *PAST)


def _visits(b: _Build, run: _Run, states: list[_SiteState]) -> None:
    """Two visits per pair in every state, with attendance, checklists, polls, the visit
    day's record, reports, and the hosts' survey responses."""
    rng, today = b.rng, b.today
    by_site = {s.site.pk: s for s in states}
    programme = run.programme
    run.template = AgendaTemplate.objects.create(programme=programme, is_default=True,
                                                 name=agenda_default.TEMPLATE_NAME)
    _insert(AgendaTemplateItem, [
        AgendaTemplateItem(template=run.template, order=n, kind=s.kind, title=s.title,
                           minutes=s.minutes, guidance=s.guidance)
        for n, s in enumerate(agenda_default.DEFAULT_AGENDA, start=1)])
    b.log(run.paired + datetime.timedelta(days=3), run.facilitators[0],
          "agenda_template.created", run.template, "Created the default visit-day agenda",
          (programme,))
    run.form = ObservationForm.objects.create(
        programme=programme, version=1, title=observation_rules.DEFAULT_TITLE,
        definition=observation_rules.DEFAULT_DEFINITION,
        created_at=run.paired + datetime.timedelta(days=3))

    pairs = [(pair, by_site[pair.site_a_id], by_site[pair.site_b_id])
             for pair in run.pairing.pairs.order_by("pk")]
    rows = _visit_plan(b, run, pairs)
    created = run.paired + datetime.timedelta(hours=2)
    for n, row in enumerate(rows):
        status, date = row["status"], row["date"]
        checklist = status in CHECKLIST
        row["visit"] = Visit(
            programme=programme, pair=row["pair"], host=row["host"].site,
            visitor=row["visitor"].site, facilitator=run.facilitators[(n // 2) % 2],
            status=status, date=date,
            start_time=datetime.time(9, 30) if checklist else None,
            end_time=datetime.time(16) if checklist else None,
            venue="Education centre, seminar room 2" if checklist else "",
            directions=("Visitor parking in car park C; the education centre is signposted "
                        "from the main entrance." if checklist else ""),
            uid=str(uuid.UUID(int=rng.getrandbits(128))),
            cancelled_reason=CANCELLED_REASON if status == Visit.Status.CANCELLED else "",
            created_at=created + datetime.timedelta(seconds=n))
    _insert(Visit, [r["visit"] for r in rows if r["first"]])
    for first, second in zip(rows[::2], rows[1::2], strict=True):
        second["visit"].after = first["visit"]
    _insert(Visit, [r["visit"] for r in rows if not r["first"]])

    attendees, tasks, agenda, said, observations, feedback, areas, notes = ([] for _ in range(8))
    responses, answers = [], []
    for row in rows:
        visit, status, date = row["visit"], row["status"], row["date"]
        host, visitor = row["host"], row["visitor"]
        scopes = (programme, host.site, visitor.site)
        b.log(visit.created_at, run.manager, "visit.created", visit, "Visit proposed", scopes)
        if status == Visit.Status.POLLING:
            _poll(b, run, visit, host, visitor)
            continue
        if status not in DATED:
            continue
        agreed = _at(max(_days(date, -rng.randint(42, 70)), _days(visit.created_at.date(), 1)),
                     10, 15)
        agreed = min(agreed, _at(_days(today, -rng.randint(1, 9)), 10, 15))
        b.log(agreed, run.manager, "visit.date_agreed",
              visit, f"Date agreed: {date:%A} {date.day} {date:%B %Y}", scopes,
              {"date": date.isoformat()})
        people = [(visit.facilitator, "facilitator", "facilitator")] + [
            (m.user, team, m.role) for state, team in ((host, "host"), (visitor, "visiting"))
            for m in state.current()]
        seen = set()
        for user, team, role in people:
            if user.pk in seen:
                continue
            seen.add(user.pk)
            attendees.append(VisitAttendee(
                visit=visit, user=user, team=team, role=role,
                present=(rng.random() < 0.9) if status in PAST else None))
        if status == Visit.Status.CANCELLED:
            b.log(agreed + datetime.timedelta(days=rng.randint(2, 6)), run.manager,
                  "visit.cancelled", visit, f"Cancelled: {CANCELLED_REASON}", scopes)
            continue
        if status == Visit.Status.DATE_AGREED:
            continue
        confirmed = min(agreed + datetime.timedelta(days=rng.randint(2, 8)),
                        _at(_days(date, -29), 11), b.now - datetime.timedelta(hours=2))
        confirmed = max(confirmed, agreed + datetime.timedelta(minutes=30))
        b.log(confirmed, run.manager, "visit.confirmed", visit, "Confirmed the visit", scopes,
              {"missing": [], "override": ""})
        for kind, days in TASK_DAYS_BEFORE.items():
            due = _days(date, -days)
            done = None
            if status in PAST or (due < today and rng.random() < 0.85) or rng.random() < 0.25:
                done = max(confirmed + datetime.timedelta(hours=1),
                           _at(_days(due, -rng.randint(0, 5)), 15))
                done = min(done, b.now - datetime.timedelta(minutes=5))
            task = LogisticsTask(visit=visit, kind=kind, days_before=days,
                                 owner=run.administrator, done_at=done,
                                 done_by=run.administrator if done else None)
            tasks.append(task)
            if done:
                b.log(done, run.administrator, "task.done", visit,
                      f"{task.get_kind_display()}: done", scopes)
        collection_until = min(_days(date, -7), _days(today, -1))
        if host.site.pk in run.collections and collection_until > _days(
                run.collections[host.site.pk].created_at.date(), 14):
            more = _survey_responses(b, run, host, collection_until)
            responses += more[0]
            answers += more[1]
        if status not in PAST:
            continue
        for site_state in (host, visitor):
            site_state.active_from = min(filter(None, (site_state.active_from, date)))
        host.hosted = visit
        _visit_day(b, run, row, (agenda, said, observations, feedback, areas, notes))
        b.log(_at(date, 17, 10), visit.facilitator, "visit.happened", visit,
              "The visit happened", scopes)
        present = sum(1 for a in attendees if a.visit is visit and a.present)
        absent = sum(1 for a in attendees if a.visit is visit and a.present is False)
        b.log(_at(date, 17, 15), visit.facilitator, "visit.attendance_marked", visit,
              f"Marked attendance: {present} present, {absent} absent", scopes)
    _insert(VisitAttendee, attendees)
    _insert(LogisticsTask, tasks)
    _insert(VisitAgendaItem, agenda)
    _insert(Contribution, said)
    _insert(ObservationResponse, observations)
    _insert(TeamFeedback, feedback)
    _insert(FocusArea, areas)
    _insert(FacilitatorNote, notes)
    _insert(SurveyResponse, responses)
    for response, answer in answers:
        answer.response = response
    _insert(SurveyAnswer, [a for _r, a in answers])
    for contribution in said:
        b.log(contribution.created_at, contribution.created_by, "visit.contribution_added",
              contribution.visit, f"Captured {contribution.get_kind_display().lower()} "
              f"({TEAM_LABELS.get(contribution.team, contribution.team)}, "
              f"{role_label(contribution.role)})", (programme,),
              {"contribution": contribution.pk, "session": contribution.session_id})
    for response in observations:
        visit = response.visit
        b.log(response.submitted_at, response.observer, "observation.submitted", visit,
              f"{response.observer.full_name} submitted their observations",
              (programme, visit.host, visit.visitor),
              {"response": response.pk, "form_version": run.form.version})
    for area in areas:
        b.log(area.created_at, area.created_by, "visit.focus_area_added", area.visit,
              "Agreed a focus area for improvement", (programme, area.visit.host,
                                                       area.visit.visitor),
              {"focus_area": area.pk, "owner": area.owner_id})
    _reports(b, run, [r for r in rows if r["status"] == Visit.Status.REPORT_SENT])


def _topics(b: _Build, run: _Run, state: _SiteState) -> list[Topic]:
    if state.topics is None:
        topics = [*COMMON_TOPICS, *run.spec.topics]
        state.topics = b.rng.sample(topics, len(topics))
    return state.topics


def _text(text: str, spec: ProgrammeSpec) -> str:
    return text.format(cancer=spec.cancer, nurse=spec.nurse)


def _visit_day(b: _Build, run: _Run, row: dict, lists: tuple[list, ...]) -> None:
    """A visit day as the facilitator records it: the agenda as it ran, what was said, the
    visiting team's observations, both teams' feedback and three focus areas."""
    agenda, said, observations, feedback, areas, notes = lists
    rng = b.rng
    visit, date, host, visitor = row["visit"], row["date"], row["host"], row["visitor"]
    facilitator, scopes = visit.facilitator, (run.programme, host.site, visitor.site)
    b.log(_at(_days(date, -1), 16), facilitator, "visit.agenda_created", visit,
          "Agenda set up from the programme's template", scopes, {"template": run.template.pk})
    items = [VisitAgendaItem(visit=visit, order=n, kind=s.kind, title=s.title,
                             planned_minutes=s.minutes, guidance=s.guidance)
             for n, s in enumerate(agenda_default.DEFAULT_AGENDA, start=1)]
    moment = _at(date, 9, 30)
    for n, item in enumerate(items):
        item.started_at = moment
        moment += datetime.timedelta(minutes=item.planned_minutes + OVERRUNS[n % len(OVERRUNS)])
        item.ended_at = moment
    agenda += items
    sessions = {item.kind: item for item in items}
    for kind, points in SAID.items():
        session = sessions.get(kind)
        for n, (what, team, role, words) in enumerate(points):
            said.append(Contribution(
                visit=visit, session=session, kind=what, team=team, role=role, text=words,
                client_id=uuid.UUID(int=rng.getrandbits(128)), created_by=facilitator,
                created_at=(session.started_at if session else _at(date, 12))
                + datetime.timedelta(minutes=4 + 5 * n)))
    observers = {}
    for membership in visitor.current():
        if membership.role in ("clinical_lead", "cns", "mdt_coordinator"):
            observers.setdefault(membership.role, membership.user)
    for n, observer in enumerate(observers.values()):
        raw = {}
        for question in observation_rules.questions(run.form.definition):
            if question["type"] == "number":
                raw[question["key"]] = str(rng.randint(question.get("min", 0),
                                                       min(question.get("max", 8), 8)))
            elif question["type"] == "yes_no_partly":
                raw[question["key"]] = rng.choice(["yes", "yes", "partly", "no"])
            elif question["type"] == "rating":
                raw[question["key"]] = str(rng.randint(2, 5))
        answers, _errors = observation_rules.clean_answers(run.form.definition, raw)
        submitted = _at(date, 16, 5 * n)
        observations.append(ObservationResponse(visit=visit, form=run.form, observer=observer,
                                                answers=answers, updated_at=submitted,
                                                submitted_at=submitted))
    for n, team in enumerate((TeamFeedback.Team.VISITING, TeamFeedback.Team.HOST)):
        strengths, opportunities = FEEDBACK[n]
        feedback.append(TeamFeedback(visit=visit, team=team, strengths=strengths,
                                     opportunities=opportunities, updated_by=facilitator,
                                     updated_at=_at(date, 15, n)))
        label = TeamFeedback.Team(team).label
        b.log(_at(date, 15, n), facilitator, "visit.feedback_saved", visit,
              f"Saved the {label[0].lower()}{label[1:]}", scopes, {"team": team})
    owners = {m.role: m.user for m in reversed(host.current())}
    state_areas = []
    for n, topic in enumerate(_topics(b, run, host)[:3]):
        state_areas.append(FocusArea(
            visit=visit, title=_text(topic.title, run.spec),
            description=_text(topic.problem, run.spec),
            owner=owners.get(topic.lead) or owners.get("clinical_lead"),
            created_by=facilitator, created_at=_at(date, 15, 20 + n)))
    areas += state_areas
    host.focus_areas = state_areas
    notes.append(FacilitatorNote(visit=visit, updated_by=facilitator,
                                 updated_at=_at(date, 17, 30),
                                 text="Both teams engaged well; follow up the host's plans "
                                      "at six weeks."))
    b.log(_at(date, 17, 30), facilitator, "visit.facilitator_note_saved", visit,
          "Saved the facilitator's notes", (run.programme,))


def _poll(b: _Build, run: _Run, visit: Visit, host: _SiteState, visitor: _SiteState) -> None:
    """An open availability poll on the host's MDT days, part answered."""
    rng = b.rng
    opened = b.now - datetime.timedelta(days=rng.randint(2, 12), hours=rng.randint(0, 8))
    deadline = (b.now + datetime.timedelta(days=rng.randint(3, 12))).replace(
        hour=17, minute=0, second=0, microsecond=0)
    scopes = (run.programme, host.site, visitor.site)
    poll = AvailabilityPoll.objects.create(
        visit=visit, window_start=_days(b.today, 42), window_end=_days(b.today, 120),
        deadline=deadline, created_by=run.manager, created_at=opened)
    dates = _insert(PollDate, [PollDate(poll=poll, date=day) for day in candidate_dates(
        host.site.mdt_day, poll.window_start, poll.window_end)])
    people = [(visit.facilitator, "facilitator", "facilitator")] + [
        (m.user, team, m.role) for state, team in ((host, "host"), (visitor, "visiting"))
        for m in state.current()]
    invitees, seen = [], set()
    share = rng.uniform(0.3, 1.0)
    for user, team, role in people:
        if user.pk in seen:
            continue
        seen.add(user.pk)
        answered = rng.random() < share
        invitees.append(PollInvitee(
            poll=poll, user=user, team=team, role=role, nonce=f"{rng.getrandbits(128):032x}",
            responded_at=min(opened + datetime.timedelta(hours=rng.randint(1, 200)),
                             b.now - datetime.timedelta(minutes=10)) if answered else None))
    _insert(PollInvitee, invitees)
    answers = [PollAnswer(invitee=invitee, poll_date=day, answered_at=invitee.responded_at,
                          answer=rng.choices(("yes", "if_need_be", "no"), (7, 2, 1))[0])
               for invitee in invitees if invitee.responded_at for day in dates]
    _insert(PollAnswer, answers)
    b.log(opened, run.manager, "poll.opened", visit,
          f"Asked {len(invitees)} people about {len(dates)} dates, closing "
          f"{timezone.localtime(deadline).day} {timezone.localtime(deadline):%B %Y}", scopes)
    for invitee in invitees:
        if invitee.responded_at:
            b.log(invitee.responded_at, invitee.user, "poll.answered", visit,
                  f"{invitee.user} answered the poll", scopes)


# What a sent report keeps here in place of its full approved HTML (see the docstring).
REPORT_HTML = ("<h1>Visit report</h1><p>{visit}, {date}.</p><p>Version 1, approved by "
               "{facilitator} on {approved}. National-scale demonstration data: the full "
               "report is not kept.</p>")


def _reports(b: _Build, run: _Run, rows: list[dict]) -> None:
    """Version 1 of each sent report, approved a week after the visit and emailed."""
    reports = []
    for row in rows:
        visit = row["visit"]
        approved = min(_at(_days(row["date"], 7), 11), b.now - datetime.timedelta(hours=2))
        people = {m.user_id for state in (row["host"], row["visitor"])
                  for m in state.current()} | {run.lead.pk, run.manager.pk,
                                               run.administrator.pk,
                                               *(f.pk for f in run.facilitators)}
        report = VisitReport(visit=visit, version=1, approved_by=visit.facilitator,
                             approved_at=approved, recipient_count=len(people),
                             sent_at=approved + datetime.timedelta(minutes=3))
        report.html = format_html(REPORT_HTML, visit=visit, date=row["date"],
                                  facilitator=visit.facilitator, approved=approved.date())
        reports.append(report)
        scopes = (run.programme, visit.host, visit.visitor)
        b.log(approved, visit.facilitator, "visit.report_approved", visit,
              "Approved version 1 of the visit report", scopes, {"version": 1, "correction": ""})
        b.log(report.sent_at, None, "visit.report_sent", visit,
              f"Emailed version 1 of the visit report to {len(people)} people", scopes,
              {"version": 1, "sent": len(people)})
    _insert(VisitReport, reports)


# --- Plans ------------------------------------------------------------------------------------

# A plan's state by its age in days: (up to this age, ((state, weight), ...)).
STATUS_MIX = (
    (14, ((Status.DRAFT, 6), (Status.SUBMITTED, 4))),
    (35, ((Status.DRAFT, 2), (Status.SUBMITTED, 3), (Status.CHANGES_REQUESTED, 3),
          (Status.RESUBMITTED, 2), (Status.APPROVED, 2))),
    (80, ((Status.CHANGES_REQUESTED, 1), (Status.APPROVED, 2), (Status.IN_PROGRESS, 7),
          (Status.STOPPED, 0.4))),
    (10_000, ((Status.DRAFT, 0.4), (Status.APPROVED, 0.4), (Status.IN_PROGRESS, 6),
              (Status.COMPLETED, 2.2), (Status.ON_HOLD, 0.9), (Status.STOPPED, 0.6))),
)
APPROVED_OR_LATER = (Status.APPROVED, Status.IN_PROGRESS, Status.COMPLETED, Status.ON_HOLD,
                     Status.STOPPED)
# The date each state needs, and the state a plan is left in when that date has not come.
NEEDS = {Status.SUBMITTED: "submitted", Status.CHANGES_REQUESTED: "comments",
         Status.RESUBMITTED: "answered", Status.APPROVED: "approved",
         Status.IN_PROGRESS: "started", Status.COMPLETED: "ended", Status.ON_HOLD: "ended",
         Status.STOPPED: "ended"}
FALLBACK = {Status.COMPLETED: Status.IN_PROGRESS, Status.STOPPED: Status.IN_PROGRESS,
            Status.ON_HOLD: Status.IN_PROGRESS, Status.IN_PROGRESS: Status.APPROVED,
            Status.CHANGES_REQUESTED: Status.SUBMITTED, Status.RESUBMITTED:
            Status.CHANGES_REQUESTED, Status.SUBMITTED: Status.DRAFT}
QUIET_SITES = 0.06  # of visited intervention sites whose teams have gone quiet
STOP_REASON = "The service the plan depended on has changed; we will start again next year."
MILESTONES = (("Plan agreed at the MDT business meeting", 1), ("First test of change complete",
              2), ("Six-month review of the data with the MDT", 6))


@dataclass
class _Plan:
    run: _Run
    state: _SiteState
    topic: Topic
    owner: User
    status: str
    times: dict[str, datetime.date]
    review: bool
    depth: int  # how much of a draft is written, 1 to 3
    horizon: datetime.date  # nothing happens from this day: today, or when the team went quiet
    area: FocusArea | None = None
    plan: QualityImprovementPlan = None
    measures: list[tuple[Measure, MeasureSpec]] = None
    ideas: list[Driver] = None
    last: datetime.datetime = None

    @property
    def until(self) -> datetime.date:
        """The last day of work: when the plan ended, or the horizon."""
        return self.times.get("ended") or self.horizon

    def log(self, b: _Build, at: datetime.datetime, actor: User, verb: str, summary: str,
            data: dict | None = None) -> None:
        b.log(at, actor, verb, self.plan, summary, (self.run.programme, self.state.site), data)
        self.last = max(self.last or at, at)


def _story(rng: random.Random, created: datetime.date, horizon: datetime.date,
           target: str) -> tuple[str, dict[str, datetime.date], bool]:
    """The plan's dates from creation to its target state, cut back to the last state
    reached before ``horizon``."""
    t = {"created": created, "filled": min(_days(created, rng.randint(0, 3)), horizon)}
    review = target in (Status.CHANGES_REQUESTED, Status.RESUBMITTED) or (
        target in APPROVED_OR_LATER and rng.random() < 0.45)
    t["submitted"] = _days(t["filled"], rng.randint(3, 10))
    if review:
        t["comments"] = _days(t["submitted"], rng.randint(2, 6))
        t["answered"] = _days(t["comments"], rng.randint(3, 9))
    t["approved"] = _days(t["answered"] if review else t["submitted"], rng.randint(3, 9))
    t["started"] = _days(t["approved"], rng.randint(2, 10))
    if target == Status.COMPLETED:
        t["ended"] = _days(t["started"], rng.randint(90, 240))
    elif target == Status.STOPPED:
        t["ended"] = _days(t["started"], rng.randint(30, 160))
    elif target == Status.ON_HOLD:
        t["ended"] = max(_days(t["started"], 30), _days(horizon, -rng.randint(14, 90)))
    status = target
    while status != Status.DRAFT and t[NEEDS[status]] >= horizon:
        status = Status.RESUBMITTED if (status == Status.APPROVED and review) else \
            Status.SUBMITTED if status == Status.APPROVED else FALLBACK[status]
    order = ["created", "filled", "submitted", "comments", "answered", "approved", "started",
             "ended"]
    keep = order[:order.index(NEEDS.get(status, "filled")) + 1]
    return status, {k: v for k, v in t.items() if k in keep}, review and "comments" in keep


def _plan_counts(b: _Build, states: list[_SiteState], total: int) -> dict[int, int]:
    """How many plans each visited intervention site has: more the longer it has been at it,
    up to one on each topic."""
    active = [s for s in states if s.active_from]
    weight = {id(s): (b.today - s.active_from).days + 30 for s in active}
    scale = total / sum(weight.values())
    counts = {id(s): max(2, min(len(s.topics), round(weight[id(s)] * scale)))
              for s in active}
    order = sorted(active, key=lambda s: weight[id(s)], reverse=True)
    n = 0
    while (gap := total - sum(counts.values())) and n < 100_000:
        state = order[n % len(order)]
        if gap > 0 and counts[id(state)] < len(state.topics):
            counts[id(state)] += 1
        elif gap < 0 and counts[id(state)] > 2:
            counts[id(state)] -= 1
        n += 1
    return counts


def _plans(b: _Build, runs: list[_Run], states: list[_SiteState]) -> None:
    rng, today = b.rng, b.today
    existing = QualityImprovementPlan.objects.filter(
        programme__in=demo.demo_programmes()).count()
    active = [s for s in states if s.active_from]
    for state in active:
        _topics(b, runs[state.programme], state)
        last_visit = state.hosted.date if state.hosted else state.active_from
        if last_visit < _days(today, -100) and rng.random() < QUIET_SITES * 2:
            state.quiet_from = _days(today, -rng.randint(45, 80))
    counts = _plan_counts(b, states, TARGETS["plans"] - existing)
    plans: list[_Plan] = []
    for state in active:
        run = runs[state.programme]
        horizon = state.quiet_from or today
        owners = {m.role: m.user for m in reversed(state.current())}
        areas = state.focus_areas or []
        for n, topic in enumerate(state.topics[:counts[id(state)]]):
            area = areas[n] if n < len(areas) else None
            if area:
                created = _days(area.visit.date, rng.randint(4, 20))
            else:
                first = _days(state.active_from, 10)
                span = max(0, (horizon - first).days - 1)
                created = _days(first, rng.randint(0, span))
            created = min(created, _days(horizon, -1))
            age = (today - created).days
            mix = next(m for limit, m in STATUS_MIX if age <= limit)
            target = rng.choices([s for s, _w in mix], [w for _s, w in mix])[0]
            status, times, review = _story(rng, created, horizon, target)
            owner = owners.get(topic.lead) or owners.get("clinical_lead") or next(
                iter(owners.values()))
            plans.append(_Plan(run=run, state=state, topic=topic, owner=owner, status=status,
                               times=times, review=review, depth=rng.randint(1, 3),
                               horizon=horizon, area=area))
    for item in plans:
        item.plan = _plan_row(b, item)
    _insert(QualityImprovementPlan, [p.plan for p in plans])
    through = QualityImprovementPlan.indicators.through
    _insert(through, [through(qualityimprovementplan_id=p.plan.pk,
                              indicator_id=p.run.indicators[p.topic.indicator].pk)
                      for p in plans if p.topic.indicator])
    through = QualityImprovementPlan.survey_questions.through
    questions = {(run.programme.pk, q.code): q.pk for run in runs for q in run.questions}
    _insert(through, [through(qualityimprovementplan_id=p.plan.pk,
                              surveyquestion_id=questions[p.run.programme.pk, code])
                      for p in plans for code in TOPIC_SURVEY.get(p.topic.key, ())])
    for item in plans:
        _plan_story_log(b, item)
    _drivers(b, plans)
    _measures(b, plans)
    _plan_parts(b, plans)
    _measurements(b, plans)
    for item in plans:
        item.plan.updated_at = item.last
    QualityImprovementPlan.objects.bulk_update([p.plan for p in plans],
                                               ["updated_at", "commitment"], batch_size=500)


def _plan_row(b: _Build, item: _Plan) -> QualityImprovementPlan:
    rng, spec, topic, t = b.rng, item.run.spec, item.topic, item.times
    status = item.status
    draft = status == Status.DRAFT
    full = not draft or item.depth >= 2
    approved = t.get("approved")
    by_when = _add_months(approved or _days(t["created"], 30), 12).replace(day=1) - \
        datetime.timedelta(days=1)
    transition = {Status.DRAFT: ("created", 9, 40), Status.SUBMITTED: ("submitted", 16, 5),
                  Status.CHANGES_REQUESTED: ("comments", 11, 30),
                  Status.RESUBMITTED: ("answered", 15, 45), Status.APPROVED: ("approved", 14, 30),
                  Status.IN_PROGRESS: ("started", 9, 15)}.get(status, ("ended", 11, 0))
    shared = status in APPROVED_OR_LATER
    # Finished work is what teams most often share with the programme.
    library = shared and rng.random() < (0.6 if status == Status.COMPLETED else 0.25)
    outcome = topic.measures[0]
    written_up = library or status == Status.COMPLETED
    return QualityImprovementPlan(
        programme=item.run.programme, site=item.state.site, focus_area=item.area,
        title=_text(topic.title, spec), problem_statement=_text(topic.problem, spec),
        evidence_notes=("The team's own records, the programme's data pack and the audit "
                        "figures." if full else ""),
        aim_what=_text(topic.aim_what, spec),
        aim_how_much=topic.aim_how_much if full else "",
        aim_by_when=by_when if full else None,
        aim_for_whom=_text(topic.aim_for_whom, spec) if full else "",
        category=topic.category if full else "",
        sustainability_plan=("The change is written into the MDT's operational policy, "
                             "reviewed each year at the business meeting, and owned by a "
                             "permanent member of the team." if not draft else ""),
        reporting_owner=item.owner, status=status,
        status_changed_at=_at(t[transition[0]], *transition[1:]),
        approved_at=_at(approved, 14, 30) if status in APPROVED_OR_LATER else None,
        approved_by=item.run.lead if status in APPROVED_OR_LATER else None,
        share_with_partner=shared and rng.random() < (0.5 if library else 0.25),
        share_with_programme=library,
        results_summary=(f"{outcome.name} has moved from about its baseline towards the "
                         "target since the change began; the chart shows the shift."
                         if written_up else ""),
        lessons_learned=("Agree the change with everyone it touches before starting, and put "
                         "the new step where people already look." if written_up else ""),
        created_by=item.owner, created_at=_at(t["created"], 9, 40),
        updated_at=_at(t["created"], 9, 40))


SUMMARIES = {"submit": "Submitted the plan for review", "request_changes": "Asked for changes",
             "approve": "Approved the plan", "start": "Started work on the plan",
             "hold": "Put the plan on hold", "complete": "Completed the plan",
             "stop": "Stopped the plan"}


def _plan_story_log(b: _Build, item: _Plan) -> None:
    """The plan's own moves, as plan_create, plan_update and plan_transition log them."""
    plan, t, owner, lead = item.plan, item.times, item.owner, item.run.lead
    item.log(b, _at(t["created"], 9, 40), owner, "qip.created",
             "Started a quality improvement plan" + (" from a visit focus area"
                                                     if item.area else ""),
             {"focus_area": item.area.pk if item.area else None})
    fields = [f for f in ("problem_statement", "evidence_notes", "aim_what", "aim_how_much",
                          "aim_by_when", "aim_for_whom", "category", "sustainability_plan")
              if getattr(plan, f)]
    item.log(b, _at(t["filled"], 11, 15), owner, "qip.updated",
             changed_summary(QualityImprovementPlan, fields), {"fields": fields})

    def move(action: str, day: datetime.date, hour: int, minute: int, status: str,
             actor: User, **data) -> None:
        item.log(b, _at(day, hour, minute), actor, f"qip.{action}", SUMMARIES[action],
                 {"status": status, **data})

    if "submitted" in t:
        move("submit", t["submitted"], 16, 5, Status.SUBMITTED, owner)
    if "comments" in t:
        move("request_changes", t["comments"], 11, 30, Status.CHANGES_REQUESTED, lead)
    if "answered" in t:
        move("submit", t["answered"], 15, 45, Status.RESUBMITTED, owner)
    if "approved" in t:
        move("approve", t["approved"], 14, 30, Status.APPROVED, lead)
    if "started" in t:
        move("start", t["started"], 9, 15, Status.IN_PROGRESS, owner)
        if plan.share_with_partner or plan.share_with_programme:
            shared = [f for f in ("share_with_partner", "share_with_programme")
                      if getattr(plan, f)]
            item.log(b, _at(t["started"], 9, 30), owner, "qip.updated",
                     changed_summary(QualityImprovementPlan, shared), {"fields": shared})
    if "ended" in t:
        if plan.results_summary:
            fields = ["results_summary", "lessons_learned"]
            item.log(b, _at(_days(t["ended"], -1), 16), owner, "qip.updated",
                     changed_summary(QualityImprovementPlan, fields), {"fields": fields})
        action = {Status.COMPLETED: "complete", Status.STOPPED: "stop",
                  Status.ON_HOLD: "hold"}[item.status]
        extra = {"reason": STOP_REASON} if action == "stop" else {}
        move(action, t["ended"], 11, 0, item.status, owner, **extra)


def _drivers(b: _Build, plans: list[_Plan]) -> None:
    """Driver diagrams: primary drivers, then their secondary drivers, then change ideas
    (three inserts, each level needing its parents' keys)."""
    levels: list[list[tuple[_Plan, Driver]]] = [[], [], []]
    for item in plans:
        item.ideas = []
        if item.status == Status.DRAFT and item.depth < 2:
            continue
        for p, (primary, secondary, ideas) in enumerate(item.topic.drivers):
            top = Driver(plan=item.plan, kind="primary", text=primary, order=p)
            middle = Driver(plan=item.plan, kind="secondary", text=secondary, parent=top)
            levels[0].append((item, top))
            levels[1].append((item, middle))
            if item.status == Status.DRAFT and item.depth < 3:
                continue
            for i, idea in enumerate(ideas):
                change = Driver(plan=item.plan, kind="change_idea", text=idea, parent=middle,
                                order=i)
                levels[2].append((item, change))
                item.ideas.append(change)
    for level in levels:
        _insert(Driver, [d for _i, d in level])
    for level in levels:
        for item, driver in level:
            item.log(b, _at(item.times["filled"], 11, 40), item.owner, "qip.part_added",
                     f"Added a driver diagram: {driver.text[:80]}")


def _aim(plan: QualityImprovementPlan) -> dict:
    return {"what": plan.aim_what, "how_much": plan.aim_how_much,
            "by_when": plan.aim_by_when.isoformat() if plan.aim_by_when else None,
            "for_whom": plan.aim_for_whom, "statement": plan.aim_statement}


def _measures(b: _Build, plans: list[_Plan]) -> None:
    """A family of measures: outcome, process and balancing (a plan sent back for changes
    lacks its balancing measure until it answers, as in the demo; a draft has at most two).
    Approval freezes them, with the aim, in the plan's commitment."""
    rng = b.rng
    made = []
    for item in plans:
        status = item.status
        if status == Status.DRAFT:
            count = 2 if item.depth == 3 else 0
        else:
            count = 2 if status in (Status.SUBMITTED, Status.CHANGES_REQUESTED) and \
                item.review else 3
        item.measures = []
        for index, spec in enumerate(item.topic.measures[:count]):
            # Weekly data for some percentages: a busy MDT sees enough patients in a week.
            weekly = bool(spec.denominator) and status in APPROVED_OR_LATER and \
                rng.random() < 0.55
            measure = Measure(
                plan=item.plan, kind=spec.kind, name=spec.name, numerator=spec.numerator,
                denominator=spec.denominator,
                frequency=Measure.Frequency.WEEKLY if weekly else Measure.Frequency.MONTHLY,
                data_source=spec.data_source, direction=spec.direction,
                baseline=spec.baseline, target=spec.target, chart=spec.chart, order=index)
            item.measures.append((measure, spec))
            made.append(measure)
    _insert(Measure, made)
    for item in plans:
        for measure, _spec in item.measures:
            late = measure.kind == B and item.review
            when = _at(item.times["answered"], 15, 0) if late else _at(item.times["filled"],
                                                                       12, 5)
            item.log(b, when, item.owner, "qip.part_added",
                     f"Added a measure: {measure.name[:80]}")
        if item.status in APPROVED_OR_LATER:
            item.plan.commitment = guidance.commitment(aim=_aim(item.plan), measures=[
                {"id": m.pk, "name": m.name, "kind": m.kind, "numerator": m.numerator,
                 "denominator": m.denominator, "direction": m.direction,
                 "baseline": m.baseline, "target": m.target} for m, _s in item.measures])


def _plan_parts(b: _Build, plans: list[_Plan]) -> None:
    """Roles, milestones, review comments, PDSA cycles, barriers, support and the monthly
    progress updates."""
    rng = b.rng
    roles, milestones, comments, barriers, support, updates = ([] for _ in range(6))
    cycles: list[list[tuple[_Plan, PdsaCycle]]] = [[], [], []]
    for item in plans:
        t, owner, lead = item.times, item.owner, item.run.lead
        if item.status == Status.DRAFT:
            continue
        start = t.get("approved") or _days(t["created"], 30)
        filled = _at(t["filled"], 14, 20)
        others = [m for m in item.state.current() if m.user_id != owner.pk and m.role in (
            "cns", "mdt_coordinator", "clinical_lead")]
        helper = others[0].user if others else owner
        first, surname = rng.choice(demo.FIRST_NAMES), rng.choice(demo.SURNAMES)
        for person, job, what, months, owns in (
                (owner.full_name, owner.job_title, "Leads the plan and keeps it going", 1,
                 True),
                (helper.full_name, helper.job_title, "Collects the data each month", 1, False),
                (f"{first} {surname}", "Cancer services manager",
                 "Takes the plan to the divisional board", 3, False)):
            role = PlanRole(plan=item.plan, person=person, job_title=job, responsibility=what,
                            due_on=_add_months(start, months), owns_sustainability=owns)
            roles.append(role)
            item.log(b, filled, owner, "qip.part_added", f"Added a role: {str(role)[:80]}")
        for title, months in MILESTONES:
            due = _add_months(start, months)
            done = _days(due, -rng.randint(0, 9)) if (
                "started" in t and due < item.until and rng.random() < 0.85) else None
            milestone = Milestone(plan=item.plan, title=title, due_on=due, done_on=done,
                                  status=Milestone.Status.DONE if done
                                  else Milestone.Status.NOT_STARTED)
            milestones.append(milestone)
            item.log(b, filled, owner, "qip.part_added", f"Added a milestone: {title}")
            if done:
                item.log(b, _at(max(done, t["started"]), 17), owner, "qip.part_changed",
                         f"Changed a milestone: {title}")
        if item.review:
            for n, (field, text, answer) in enumerate(rng.sample(COMMENTS, rng.randint(1, 2))):
                answered = t.get("answered")
                comment = ReviewComment(
                    plan=item.plan, field=field, text=text, author=lead,
                    created_at=_at(t["comments"], 11, 10 + n),
                    response=answer if answered else "", responded_by=owner if answered else None,
                    responded_at=_at(answered, 15, 10 + n) if answered else None)
                comments.append(comment)
                label = comment.get_field_display().lower()
                item.log(b, comment.created_at, lead, "qip.commented", f"Commented on {label}")
                if answered:
                    item.log(b, comment.responded_at, owner, "qip.comment_answered",
                             f"Answered a comment on {label}")
        if "started" not in t:
            continue
        until = item.until
        # PDSA cycles one after another; the last still running unless the plan ended.
        begin, previous = _days(t["started"], 3), None
        for n in range(rng.randint(1, 3)):
            if begin >= until or not item.ideas:
                break
            idea = item.ideas[n % len(item.ideas)]
            cycle = PdsaCycle(
                plan=item.plan, change_idea=idea, follows=previous,
                title=f"Test: {idea.text[:190]}",
                question=f"If we try “{idea.text}”, will {item.topic.measures[0].name.lower()} "
                         "improve?",
                prediction="A small improvement within the month, without extra work for the "
                           "team.", who=owner.full_name, what=idea.text, when="Four weeks",
                where="The MDT", data_to_collect=item.topic.measures[1].name,
                started_on=begin, created_by=owner,
                created_at=_at(_days(begin, -5), 13))
            finished = _days(begin, rng.randint(28, 42))
            if finished < until:
                decision = rng.choices(("adopt", "adapt", "abandon"), (6, 3, 1))[0]
                cycle.what_happened = "The test ran as planned for most patients."
                cycle.results = "The results were close to the prediction."
                cycle.decision = decision
                cycle.decision_reason = {"adopt": "It worked and the team wants to keep it.",
                                         "adapt": "It helped; the next test changes the "
                                                  "timing.",
                                         "abandon": "It cost more than it saved."}[decision]
                cycle.completed_on = finished
            cycles[n].append((item, cycle))
            item.log(b, cycle.created_at, owner, "qip.part_added",
                     f"Added a PDSA cycle: {cycle.title[:80]}")
            if cycle.completed_on:
                item.log(b, _at(finished, 16), owner, "qip.pdsa_completed",
                         f"Completed a PDSA cycle ({cycle.get_decision_display().lower()}): "
                         f"{cycle.title}")
            previous, begin = cycle, _days(finished, 7)
            if not cycle.completed_on:
                break
        asks = None
        for _n in range(rng.choice((0, 0, 1, 1, 2))):
            kind, text, who, help_text = rng.choice(BARRIERS)
            raised = _days(t["started"], rng.randint(15, 150))
            if raised >= until:
                continue
            resolved = _days(raised, 30) < until and rng.random() < 0.6
            help_needed = help_text if not resolved and rng.random() < 0.5 else ""
            barrier = Barrier(plan=item.plan, kind=kind, description=text, raised_on=raised,
                              owner=who, help_needed=help_needed,
                              status="resolved" if resolved else "open")
            barriers.append(barrier)
            item.log(b, _at(raised, 12), owner, "qip.part_added",
                     f"Added a barrier: {barrier.get_kind_display()}")
            if resolved:
                item.log(b, _at(_days(raised, 30), 12), owner, "qip.part_changed",
                         f"Changed a barrier: {barrier.get_kind_display()}")
            if help_needed:
                asks = raised
        if (asks and rng.random() < 0.6) or rng.random() < 0.05:
            kind = rng.choice(tuple(SUPPORT_NOTES))
            given = _days(asks or t["started"], rng.randint(3, 40))
            if given < item.horizon:
                record = SupportRecord(plan=item.plan, kind=kind, given_on=given,
                                       notes=SUPPORT_NOTES[kind],
                                       given_by=item.run.facilitators[0])
                support.append(record)
                b.log(_at(given, 15), record.given_by, "qip.support", item.plan,
                      f"Recorded support: {record.get_kind_display().lower()}",
                      (item.run.programme,))
        updates += _updates(b, item)
    _insert(PlanRole, roles)
    _insert(Milestone, milestones)
    _insert(ReviewComment, comments)
    for wave in cycles:
        _insert(PdsaCycle, [c for _i, c in wave])
    _insert(Barrier, barriers)
    _insert(SupportRecord, support)
    _insert(ProgressUpdate, updates)


def _updates(b: _Build, item: _Plan) -> list[ProgressUpdate]:
    """A monthly update, sent early the next month, from the month work started; now and then
    a month is missed, and some ask the core team for help."""
    rng, t = b.rng, item.times
    made = []
    month = _month_start(t["started"])
    while True:
        sent = _days(_add_months(month, 1).replace(day=1), rng.randint(2, 9))
        if sent >= item.until or sent >= b.today:
            break
        if rng.random() < 0.9:
            rag = rng.choices(("green", "amber", "red"), (70, 22, 8))[0]
            help_needed = barriers = ""
            if rag != "green" and rng.random() < 0.4:
                _kind, barriers, _who, help_needed = rng.choice(BARRIERS)
            update = ProgressUpdate(
                plan=item.plan, month=month, done=rng.choice(UPDATE_TEXTS),
                new_data=f"{item.topic.measures[0].name}: see the chart for {month:%B}.",
                barriers=barriers, help_needed=help_needed, rag=rag, submitted_by=item.owner,
                submitted_at=_at(sent, 10, 30))
            made.append(update)
            item.log(b, update.submitted_at, item.owner, "qip.progress_update",
                     f"Sent the progress update for {month:%B %Y} "
                     f"({update.get_rag_display().split(':')[0].lower()})")
        month = _add_months(month, 1)
    return made


# Points before the plan's approval, pulled from the team's records: (fewest, usual, most).
BASELINE_POINTS = {Measure.Frequency.MONTHLY: (6, 14, 36),
                   Measure.Frequency.WEEKLY: (12, 45, 156)}


def _periods_before(first: datetime.date, weekly: bool, n: int) -> list[datetime.date]:
    if weekly:
        return [first - datetime.timedelta(weeks=k) for k in range(n, 0, -1)]
    return [_add_months(first, -k) for k in range(n, 0, -1)]


def _period_end(period: datetime.date, weekly: bool) -> datetime.date:
    if weekly:
        return _days(period, 6)
    return _add_months(period, 1).replace(day=1) - datetime.timedelta(days=1)


def _entered(period: datetime.date, weekly: bool, filled: datetime.date) -> datetime.date:
    """Teams send their data once a month, a few days into the next: the baseline in one go
    when they write the plan."""
    end = _period_end(period, weekly)
    return max(_days(filled, 1), _days(_add_months(end, 1).replace(day=1), 4))


def _measurements(b: _Build, plans: list[_Plan]) -> None:
    """Data for every measure of an approved plan: a baseline from the team's records, then
    each period as it is sent, until the plan ends or the team goes quiet. The baseline
    lengths are set so that the total comes to the target."""
    rng = b.rng
    rows = []  # (item, measure, spec, weekly, periods from approval on)
    for item in plans:
        if item.status not in APPROVED_OR_LATER:
            continue
        t = item.times
        for measure, spec in item.measures:
            weekly = measure.frequency == Measure.Frequency.WEEKLY
            approved = t["approved"]
            first = approved - datetime.timedelta(days=approved.weekday()) if weekly else \
                _month_start(approved)
            after = []
            period = first
            while _entered(period, weekly, t["filled"]) < min(item.until, b.today):
                after.append(period)
                period = _days(period, 7) if weekly else _add_months(period, 1)
            rows.append((item, measure, spec, weekly, first, after))
    existing = Measurement.objects.filter(
        measure__plan__programme__in=demo.demo_programmes()).count()
    wanted = TARGETS["measurements"] - existing - sum(len(r[5]) for r in rows)
    usual = sum(BASELINE_POINTS[r[1].frequency][1] for r in rows)
    scale = max(0.0, wanted / usual) if usual else 0.0
    lengths = []
    for _item, measure, *_rest in rows:
        low, middle, high = BASELINE_POINTS[measure.frequency]
        lengths.append(min(high, max(low, round(middle * scale * rng.uniform(0.8, 1.2)))))
    gap, n = wanted - sum(lengths), 0
    while gap and n < 20 * len(rows):
        index = n % len(rows)
        low, _middle, high = BASELINE_POINTS[rows[index][1].frequency]
        step = 1 if gap > 0 else -1
        if low <= lengths[index] + step <= high:
            lengths[index] += step
            gap -= step
        n += 1

    changed, points = [], []
    day = connection.ops.adapt_datefield_value
    for (item, measure, spec, weekly, first, after), length in zip(rows, lengths, strict=True):
        end = min(item.until, b.today)
        before = [p for p in _periods_before(first, weekly, length)
                  if _entered(p, weekly, item.times["filled"]) < end]
        if measure.chart == Measure.Chart.XMR and len(before) >= 12:
            # Making Data Count: fix the limits on the baseline, judge the change against it.
            measure.baseline_points = len(before)
            changed.append(measure)
        periods = before + after
        patients = item.state.site.annual_new_patients / (52 if weekly else 12)
        values = _series(rng, spec, len(periods), len(before), patients)
        batches: dict[datetime.date, int] = defaultdict(int)
        for period, (numerator, denominator, value) in zip(periods, values, strict=True):
            entered = _entered(period, weekly, item.times["filled"])
            batches[entered] += 1
            points.append((measure.pk, day(period), numerator, denominator, value,
                           item.owner.pk, b.db_time(_at(entered, 9, 50))))
        for n, (entered, count) in enumerate(sorted(batches.items())):
            how = "Imported" if n == 0 and count > 1 else "Pasted"
            item.log(b, _at(entered, 9, 50), item.owner, "qip.data_entered",
                     f"{how} {count} value{'s' if count != 1 else ''} for {measure.name[:80]}")
    # Past the measurement service, which changes a measure's data_version: these measures
    # were made in this build with versions of their own, so no chart is cached under them.
    _raw_insert(Measurement, ("measure", "period", "numerator", "denominator", "value",
                              "entered_by", "entered_at"), points)
    Measure.objects.bulk_update(changed, ["baseline_points"], batch_size=BATCH)


def _series(rng: random.Random, spec: MeasureSpec, count: int, change: int,
            patients: float) -> list[tuple[int | None, int | None, float | None]]:
    """(numerator, denominator, value) for each period, oldest first: the level moves from
    ``before`` towards ``after`` over three periods from ``change`` (the approval)."""
    rows = []
    for i in range(count):
        level = spec.before
        if i >= change:
            level += (spec.after - spec.before) * min(1.0, (i - change + 1) / 3)
        if spec.denominator:
            mean = max(3.0, patients * spec.share)
            denominator = max(3, min(400, round(rng.gauss(mean, max(1.0, 0.25 * mean)))))
            p = min(0.99, max(0.01, level + rng.gauss(0, 0.02)))
            numerator = round(denominator * p + rng.gauss(0, math.sqrt(
                denominator * p * (1 - p))))
            rows.append((min(denominator, max(0, numerator)), denominator, None))
        else:
            value = max(0.0, rng.gauss(level, spec.spread))
            rows.append((None, None, float(round(value) if spec.count else
                                            round(value * 2) / 2)))
    return rows
