"""The demo's quality improvement plans: three at every site that has hosted a visit, in
every state, built through the services from a fixed seed.

Each plan starts from a focus area agreed at the host's visit (the visit day's own focus
area, and two more added here). Plans that reached approval have 12 to 24 months of monthly
data: the months before approval are the team's baseline, pulled from their own records. The
featured charts, checked against ``qips.spc`` as they are drawn so that they cannot drift:

- the first host's case-list plan: a clear shift in patients listed by noon the day before
  (about 55% rising to about 80% after the noon cut-off), and a balancing measure showing
  common-cause variation only;
- the second host's treatment-times plan: a trend, the median days from decision to
  treatment falling month on month;
- the third host's pathology plan: one astronomical point, the month the endoscopy unit
  closed;
- the second host's approved case-list plan: its baseline, common cause only.

Two plans need the core team's help (programme_plans): the third host's case-list plan is on
hold with no update for weeks, and its pathology plan has a barrier asking for help. Four
plans are in the programme's library.

The visits demo dates the hosted visits about a year back, so the plans that have run longest
were approved a few weeks after the visit that agreed their focus area and have months of
data since (a shift or trend needs seven points after a change); the months before approval
are a baseline the team pulled from its records. Dates are relative to today, so the demo is
the same whenever it is rebuilt on the same day.
"""

import datetime
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from ilcop.models import ActivityLog, User
from programmes.demo import FIRST_NAMES, SURNAMES
from programmes.models import Indicator, Programme, SiteMembership, SurveyQuestion
from visits.models import FocusArea, Visit
from visits.services import day as visit_day

from . import spc
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
)
from .services import measurements as measurement_services
from .services import parts
from .services import plans as plan_services

SEED = 1965  # any fixed number would do
Status = QualityImprovementPlan.Status


# --- What the plans are about -----------------------------------------------------------------


@dataclass(frozen=True)
class MeasureSpec:
    """A measure, and how its monthly data behaves before and after the change."""

    kind: str
    name: str
    numerator: str
    denominator: str  # "" for a value
    data_source: str
    direction: str
    baseline: float | None
    target: float | None
    chart: str
    before: float  # a proportion (0 to 1) or a value
    after: float
    share: float = 1.0  # a proportion's denominator, as a share of the site's new patients
    spread: float = 0.0  # a value's month-to-month spread
    count: bool = False  # a value that is a whole number


@dataclass(frozen=True)
class CycleSpec:
    idea: int  # index into the plan's change ideas, in driver-diagram order
    title: str
    question: str
    prediction: str
    who: str
    what: str
    when: str
    where: str
    data: str
    happened: str
    results: str
    decision: str
    reason: str
    follows: int | None = None


@dataclass(frozen=True)
class BarrierSpec:
    kind: str
    description: str
    owner: str
    month: int  # months after approval it was raised
    resolved_after: int | None = None  # months after it was raised
    help: str = ""


@dataclass(frozen=True)
class Topic:
    title: str  # also the focus area's
    description: str
    lead: str  # the site role that owns the plan
    problem: str
    evidence: str
    indicators: tuple[str, ...]
    survey: tuple[str, ...]
    aim_what: str
    aim_how_much: str
    aim_for_whom: str
    category: str
    sustainability: str
    drivers: tuple  # ((primary, ((secondary, (change idea, ...)), ...)), ...)
    measures: tuple[MeasureSpec, ...]  # outcome, process, balancing
    cycles: tuple[CycleSpec, ...]
    # (who, job title, what they do, months after approval, permanent, owns sustaining).
    # "@role" is the site team member with that role; otherwise a title for a made-up name.
    roles: tuple[tuple[str, str, str, int, bool, bool], ...]
    milestones: tuple[tuple[str, int], ...]  # (title, months after approval)
    barriers: tuple[BarrierSpec, ...]
    help_barrier: BarrierSpec | None
    comments: tuple[tuple[str, str, str], ...]  # (field, comment, answer); the first asks for
    # the balancing measure, which a plan sent back for changes lacks until it answers
    updates: tuple[str, ...]  # what the team did, month by month
    results: str
    lessons: str


P, C = "process", "outcome"
INCREASE, DECREASE = "increase", "decrease"

TOPICS: dict[str, Topic] = {
    "case_list": Topic(
        title="Earlier, complete case lists",
        description="Close the list at noon the day before and check pathology is back, to "
                    "cut deferred discussions.",
        lead="mdt_coordinator",
        problem="About one new patient in five listed for our weekly lung MDT has their first "
                "discussion deferred to the following week, most often because pathology or "
                "PET-CT is not back, or because they were added too late for the radiologist "
                "to review the imaging. The list usually goes out the evening before, so "
                "members cannot prepare. The peer review team saw three deferrals in one "
                "meeting.",
        evidence="The MDT coordinator's deferral log for the last twelve months; what the "
                 "visiting team saw at the peer review visit.",
        indicators=("COMPLETE",), survey=(),
        aim_what="Fewer first MDT discussions deferred for missing information",
        aim_how_much="from 20% to under 10%",
        aim_for_whom="new patients discussed at the lung cancer MDT",
        category="quick_fix",
        sustainability="The noon cut-off and the listing checks are written into the MDT "
                       "operational policy, which the business meeting reviews every year. "
                       "The deputy MDT coordinator has been trained to run the list, so it "
                       "does not depend on one person.",
        drivers=(
            ("Patients are ready for discussion when they are listed", (
                ("Results are back before the meeting", (
                    "Close the list at noon the working day before",
                    "Coordinator checks pathology and PET-CT status when listing")),
                ("Radiology has time to review the imaging", (
                    "Send the closed list to the lead radiologist by 2 pm the day before",)),
            )),
            ("Everyone knows how to list a patient", (
                ("One agreed listing policy", (
                    "One-page listing policy shared with referrers",
                    "Urgent late additions only with the chair's agreement")),
            )),
        ),
        measures=(
            MeasureSpec(C, "First MDT discussions deferred",
                        "New patients whose first MDT discussion was deferred because "
                        "information was missing",
                        "New patients listed for their first MDT discussion",
                        "MDT coordinator's deferral log", DECREASE, 20, 10, "xmr", 0.20, 0.09),
            MeasureSpec(P, "New patients listed by noon the day before",
                        "New patients on the list by 12:00 the working day before the meeting",
                        "New patients discussed for the first time",
                        "MDT listing spreadsheet (the time each patient was added)", INCREASE,
                        55, 85, "xmr", 0.55, 0.80),
            MeasureSpec("balancing", "Urgent patients added after the list closed",
                        "Patients added after the noon cut-off with the chair's agreement, "
                        "per month", "", "MDT listing spreadsheet", DECREASE, 4, None, "xmr",
                        4.0, 4.0, spread=2.0, count=True),
        ),
        cycles=(
            CycleSpec(0, "Noon cut-off for four meetings",
                      "If the list closes at noon the working day before, will fewer first "
                      "discussions be deferred?",
                      "Deferrals will fall from about one in five to one in ten; two or three "
                      "urgent patients a week will still need adding after the cut-off.",
                      "MDT coordinator, with the chair",
                      "Close the list at 12:00 the working day before; the coordinator emails "
                      "the closed list to every member.",
                      "Four weekly meetings", "Lung cancer MDT",
                      "The time each patient was listed; each deferral and its reason; late "
                      "additions.",
                      "The list closed at noon for all four meetings. Two respiratory "
                      "consultants had not heard about the cut-off and asked to add patients "
                      "late in the first week; the chair agreed to one.",
                      "4 of 38 first discussions were deferred (11%), close to our prediction. "
                      "Late additions averaged two a week, as predicted.",
                      "adopt", "It worked as predicted and the MDT agreed to keep it."),
            CycleSpec(3, "Listing policy sent to referrers",
                      "Will a one-page listing policy sent to every referrer cut the requests "
                      "for late additions?",
                      "Late requests will halve within a month.",
                      "Clinical lead",
                      "Send the one-page policy to respiratory, oncology and the district "
                      "hospital's chest physicians; present it at the respiratory "
                      "departmental meeting.",
                      "One month", "Both hospitals", "Requests for late additions, by referrer.",
                      "The policy went to 23 referrers. Requests from our own hospital fell, "
                      "but the district hospital's physicians kept asking: most had not opened "
                      "the email.",
                      "Late requests fell from 9 to 6 in the month, not the half we predicted; "
                      "all 6 came from the district hospital.",
                      "adapt", "The policy works where people know about it. Next, put the "
                               "cut-off on the referral form, where every referrer sees it.",
                      follows=0),
            CycleSpec(3, "Cut-off printed on the referral form",
                      "If the referral form states the noon cut-off, will the district "
                      "hospital's late requests stop?",
                      "Late requests from the district hospital will fall to one or two a "
                      "month.",
                      "MDT coordinator, with the district hospital's lead chest physician",
                      "Add the cut-off and the coordinator's direct line to the electronic "
                      "referral form.",
                      "Two months", "District hospital", "Late requests, by referrer.",
                      "The form changed in the second week. One locum still telephoned late "
                      "requests through the switchboard.",
                      "Late requests from the district hospital fell to 2 in the first full "
                      "month, as predicted.",
                      "adopt", "It costs nothing and keeps the rule in front of referrers.",
                      follows=1),
        ),
        roles=(
            ("@mdt_coordinator", "MDT coordinator", "Closes the list at noon and keeps the "
             "deferral log", 1, True, True),
            ("@clinical_lead", "MDT chair", "Agrees urgent additions after the cut-off", 1,
             True, False),
            ("Dr", "Lead lung radiologist", "Reviews the imaging the afternoon before the "
             "meeting", 2, True, False),
            ("", "Cancer services manager", "Takes the listing policy to the divisional board",
             3, True, False),
        ),
        milestones=(("Listing policy agreed at the MDT business meeting", 1),
                    ("Noon cut-off in place", 1), ("Cut-off added to the referral form", 4),
                    ("Six-month review of the data with the MDT", 6),
                    ("MDT operational policy updated", 10)),
        barriers=(BarrierSpec("time", "The coordinator also runs the upper GI MDT list on the "
                                      "same day, so the cut-off slips when both are busy.",
                              "Cancer services manager", 2, resolved_after=1),),
        help_barrier=BarrierSpec(
            "staffing", "Our MDT coordinator has been on long-term sick leave and there is no "
                        "cover: the noon cut-off and the deferral log have lapsed.",
            "Cancer services manager", 4,
            help="Could the core team help us make the case for cover to the division, with "
                 "figures from other sites on what a coordinator's time saves?"),
        comments=(
            ("measures", "There is no balancing measure. What could get worse if the list "
                         "closes earlier? Urgent patients waiting an extra week, perhaps?",
             "Added a balancing measure: urgent patients added after the list closed, from "
             "the listing spreadsheet."),
            ("roles", "Who keeps this going once the project ends? Please name a permanent "
                      "member of staff.",
             "The MDT coordinator, a permanent post, owns it, and the deputy is being "
             "trained."),
        ),
        updates=("Agreed the listing policy at the MDT business meeting.",
                 "Started the noon cut-off; the coordinator emails the closed list each week.",
                 "Sent the listing policy to every referrer.",
                 "Reviewed the month's deferrals with the chair: most now wait for PET-CT.",
                 "Changed the referral form to show the cut-off.",
                 "Trained the deputy coordinator to close the list.",
                 "Presented the charts at the trust's cancer board.",
                 "Audited a month of late additions with the chair."),
        results="New patients listed by noon the day before rose from about 55% to about 80% "
                "within two months of the cut-off and have stayed there: a sustained shift on "
                "the chart. Deferred first discussions fell from about 20% to about 10%, and "
                "urgent additions after the cut-off did not rise.",
        lessons="Agree the rule with referrers before starting: the first week's late requests "
                "all came from people who had not heard of it. One named person to say no (the "
                "chair) made the cut-off stick. Put the rule where referrers already look, on "
                "the referral form, rather than in an email.",
    ),
    "older_treatment": Topic(
        title="Treatment for older, frailer patients",
        description="Our active treatment rate is below the national figure for patients aged "
                    "75 and over. Assess frailty before the MDT, so treatment is offered on "
                    "fitness rather than age.",
        lead="clinical_lead",
        problem="In the last national audit, 48% of our patients aged 75 and over with "
                "non-small cell lung cancer had anti-cancer treatment, against 58% nationally. "
                "Decisions at the MDT are often based on age and an unrecorded impression of "
                "fitness: a frailty score is recorded for fewer than one in three older "
                "patients.",
        evidence="National lung cancer audit; a local review of the notes of 40 patients aged "
                 "75 and over.",
        indicators=("ACTIVE",), survey=(),
        aim_what="More patients aged 75 and over with non-small cell lung cancer have "
                 "anti-cancer treatment",
        aim_how_much="from 48% to 60%",
        aim_for_whom="patients aged 75 and over discussed at our lung MDT",
        category="medium_term",
        sustainability="The frailty score is a required field on the MDT pro forma, so a "
                       "patient cannot be listed without it; the elderly care consultant's "
                       "session is in the job plan from April.",
        drivers=(
            ("Decisions are based on fitness, not age", (
                ("Fitness is assessed before the MDT", (
                    "Clinical Frailty Scale recorded at the first clinic visit",
                    "Geriatric assessment clinic for frailty scores of 4 to 6")),
                ("The MDT sees the assessment", ("Frailty score on the MDT pro forma",)),
            )),
            ("Treatment is easier to tolerate", (
                ("Support before and during treatment", (
                    "Prehabilitation referral at diagnosis",
                    "CNS telephone review in the first week of treatment")),
            )),
        ),
        measures=(
            MeasureSpec(C, "Anti-cancer treatment at 75 and over",
                        "Patients aged 75 and over with NSCLC who start anti-cancer treatment",
                        "Patients aged 75 and over with NSCLC discussed at the MDT",
                        "Local lung cancer audit database", INCREASE, 48, 60, "run", 0.48,
                        0.61, share=0.6),
            MeasureSpec(P, "Frailty recorded before the MDT",
                        "Patients aged 75 and over with a Clinical Frailty Scale score "
                        "recorded before their first MDT discussion",
                        "Patients aged 75 and over discussed for the first time",
                        "MDT pro forma", INCREASE, 30, 90, "xmr", 0.30, 0.86, share=0.6),
            MeasureSpec("balancing", "Emergency admissions within 30 days of starting "
                                     "treatment",
                        "Patients aged 75 and over admitted as an emergency within 30 days of "
                        "starting treatment",
                        "Patients aged 75 and over starting anti-cancer treatment",
                        "Hospital admissions data, matched to the audit database", DECREASE,
                        15, None, "run", 0.15, 0.15, share=0.4),
        ),
        cycles=(
            CycleSpec(0, "Frailty scale at the first clinic",
                      "Can the clinic nurses record a Clinical Frailty Scale score for every "
                      "patient aged 75 and over at their first visit?",
                      "Four in five will have a score by the end of the first fortnight.",
                      "Clinic nurses, with the CNS",
                      "Add the Clinical Frailty Scale to the clinic checklist; a five-minute "
                      "briefing for the nurses.",
                      "Two weeks", "Rapid access lung clinic",
                      "Patients aged 75 and over seen, and how many had a score.",
                      "The nurses recorded scores from the second day. On one clinic an agency "
                      "nurse did not know the scale.",
                      "17 of 19 patients had a score (89%), better than we predicted.",
                      "adopt", "It takes under two minutes and the MDT found the scores "
                               "useful."),
            CycleSpec(1, "Geriatric assessment before the MDT",
                      "If patients with a frailty score of 4 to 6 see the elderly care team "
                      "before the MDT, will more of them be offered treatment?",
                      "Half of those seen will be judged fit for some treatment, against about "
                      "a third now.",
                      "Elderly care consultant and the lung CNS",
                      "A weekly geriatric assessment slot for patients with frailty scores of "
                      "4 to 6, before their MDT discussion.",
                      "Three months", "Elderly care day unit",
                      "Patients seen; the MDT's recommendation; treatment started.",
                      "Twelve patients were seen. Two declined because of the extra hospital "
                      "visit.",
                      "7 of 12 (58%) were judged fit for treatment and 6 started it: more "
                      "than predicted.",
                      "adapt", "Offer the assessment on the same day as the CNS appointment, "
                               "so patients make one journey.",
                      follows=0),
            CycleSpec(3, "Prehabilitation from diagnosis",
                      "Will patients referred for prehabilitation at diagnosis take it up?",
                      "Two in three will attend at least one session.",
                      "Lung CNS and the physiotherapy team",
                      "Refer every patient aged 75 and over who is offered treatment to the "
                      "prehabilitation programme at diagnosis.",
                      "Two months", "Physiotherapy gym and by telephone",
                      "Referrals; sessions attended.",
                      "22 patients were referred. Telephone sessions suited those who live "
                      "far away.",
                      "16 of 22 (73%) attended at least one session, as predicted.",
                      "adopt", "Patients valued it and the physiotherapists can absorb the "
                               "numbers.",
                      follows=1),
        ),
        roles=(
            ("@clinical_lead", "Clinical lead", "Leads the plan and shows the data to the MDT",
             1, True, True),
            ("@cns", "Lung cancer nurse specialist", "Briefs the clinic nurses on the frailty "
             "scale", 1, True, False),
            ("Dr", "Consultant in elderly care medicine", "Runs the geriatric assessment clinic",
             2, True, False),
            ("", "Physiotherapy team lead", "Runs the prehabilitation programme", 4, True,
             False),
        ),
        milestones=(("Frailty scale on the clinic checklist", 1),
                    ("Geriatric assessment clinic starts", 2),
                    ("Frailty score on the MDT pro forma", 3),
                    ("Elderly care session in the job plan", 6)),
        barriers=(BarrierSpec("money", "The elderly care consultant's session is funded for "
                                       "three months only.", "Clinical lead", 2,
                              resolved_after=3),),
        help_barrier=None,
        comments=(
            ("measures", "What could go wrong if more frail patients are treated? Please add a "
                         "balancing measure, such as emergency admissions soon after treatment.",
             "Added emergency admissions within 30 days of starting treatment."),
            ("aim", "Is 60% realistic within a year? The national figure is 58%.",
             "We are aiming to match the better trusts in our cancer alliance."),
        ),
        updates=("Briefed the clinic nurses and added the frailty scale to the checklist.",
                 "The first geriatric assessment clinics ran.",
                 "Added the frailty score to the MDT pro forma.",
                 "Moved geriatric assessments to the same day as the CNS appointment.",
                 "Started prehabilitation referrals at diagnosis.",
                 "Made the case for the elderly care session at the divisional board."),
        results="Frailty was recorded before the MDT for about 85% of patients aged 75 and "
                "over, up from 30%. The share starting anti-cancer treatment rose from 48% to "
                "about 60%, with no rise in emergency admissions in the first 30 days.",
        lessons="Start with the measure the clinic can change tomorrow (recording frailty); the "
                "outcome follows. Same-day appointments mattered more to older patients than "
                "we expected. Get the elderly care session into the job plan before the pilot "
                "money runs out.",
    ),
    "faster_treatment": Topic(
        title="Faster from MDT decision to treatment",
        description="Patients wait too long between the MDT's decision and their first "
                    "treatment. Book the oncology appointment from the MDT.",
        lead="clinical_lead",
        problem="The median time from the MDT's treatment decision to the first treatment was "
                "34 days last year. Patients wait for an oncology appointment that is booked "
                "only once the MDT outcome letter is typed, usually three to five days after "
                "the meeting.",
        evidence="Cancer waiting times from the Somerset Cancer Register; the patient survey's "
                 "comments about waiting.",
        indicators=(), survey=("WAITING",),
        aim_what="Shorter waits from the MDT's treatment decision to the first treatment",
        aim_how_much="median from 34 days to 21 days",
        aim_for_whom="patients starting treatment for lung cancer",
        category="medium_term",
        sustainability="Booking from the MDT room is in the coordinator's job description and "
                       "the ring-fenced slots are in the oncology clinic template.",
        drivers=(
            ("Appointments are booked without delay", (
                ("Booking starts at the MDT", (
                    "Book the oncology appointment during the MDT",
                    "MDT outcome sent to the booking team the same afternoon")),
                ("Enough clinic slots", (
                    "Ring-fenced new-patient slots in the lung oncology clinic",)),
            )),
            ("Treatment can start soon after the clinic", (
                ("Tests are done before the clinic", (
                    "CNS orders pre-treatment tests at the MDT",)),
            )),
        ),
        measures=(
            MeasureSpec(C, "Days from MDT decision to first treatment (median)",
                        "Median days from the MDT's treatment decision to the first "
                        "treatment, for patients starting treatment in the month", "",
                        "Somerset Cancer Register", DECREASE, 34, 21, "xmr", 34.0, 22.0,
                        spread=1.6),
            MeasureSpec(P, "Oncology appointment booked within 2 working days",
                        "Patients with an oncology appointment booked within 2 working days of "
                        "the MDT decision", "Patients referred to oncology from the MDT",
                        "Oncology booking system", INCREASE, 25, 90, "run", 0.25, 0.86,
                        share=0.7),
            MeasureSpec("balancing", "First treatment dates moved by the hospital",
                        "Patients whose first treatment date was moved by the hospital",
                        "Patients starting treatment", "Somerset Cancer Register", DECREASE, 8,
                        None, "run", 0.08, 0.08, share=0.7),
        ),
        cycles=(
            CycleSpec(0, "Booking from the MDT room",
                      "If the coordinator books the oncology appointment during the meeting, "
                      "how soon will patients be seen?",
                      "Most patients will have a date before they leave the MDT's list; the "
                      "wait to clinic will fall by four days.",
                      "MDT coordinator and the oncology booking clerk",
                      "The booking clerk joins the last 20 minutes of the MDT and books from "
                      "the outcomes.",
                      "Four weekly meetings", "Lung cancer MDT",
                      "Days from decision to booked appointment.",
                      "The clerk booked 27 patients in four meetings. Two needed a different "
                      "oncologist and were rebooked.",
                      "The wait from decision to clinic fell from 9 to 4 days: more than "
                      "predicted.",
                      "adopt", "It worked, and the clerk prefers it to chasing letters."),
            CycleSpec(2, "Ring-fenced oncology slots",
                      "Will two ring-fenced new-patient slots a week keep the clinic wait "
                      "under a week?",
                      "Every booked patient will be seen within 7 days.",
                      "Lead clinical oncologist",
                      "Hold two new-patient slots in each lung oncology clinic for patients "
                      "booked from the MDT.",
                      "Six weeks", "Oncology outpatients",
                      "Days from booking to clinic; unused slots.",
                      "Slots were used most weeks, but three went unused and were lost.",
                      "91% were seen within 7 days; three slots were wasted.",
                      "adapt", "Release unused slots to the general list at noon the day "
                               "before.", follows=0),
            CycleSpec(3, "Pre-treatment tests ordered at the MDT",
                      "If the CNS orders pre-treatment bloods and lung function at the MDT, "
                      "will treatment start sooner after the clinic?",
                      "The wait from clinic to treatment will fall by three days.",
                      "Lung CNS",
                      "The CNS orders the standard pre-treatment tests for every patient "
                      "referred to oncology, during the meeting.",
                      "Two months", "Lung cancer MDT",
                      "Days from clinic to first treatment.",
                      "Tests were ordered for 41 patients; four were not needed.",
                      "The wait from clinic to treatment fell from 12 to 8 days.",
                      "adopt", "Worth the few unneeded tests.", follows=1),
        ),
        roles=(
            ("@clinical_lead", "Clinical lead", "Leads the plan", 1, True, False),
            ("@mdt_coordinator", "MDT coordinator", "Books oncology appointments from the MDT",
             1, True, True),
            ("Dr", "Lead clinical oncologist", "Protects the ring-fenced clinic slots", 2, True,
             False),
            ("@cns", "Lung cancer nurse specialist", "Orders pre-treatment tests at the MDT", 4,
             True, False),
        ),
        milestones=(("Booking clerk joins the MDT", 1), ("Ring-fenced slots in the template", 3),
                    ("Pre-treatment test order set agreed", 5),
                    ("Review with the cancer board", 8)),
        barriers=(BarrierSpec("other_department", "The oncology booking team is short-staffed "
                                                  "on Thursdays, the day after the MDT.",
                              "Oncology service manager", 1, resolved_after=2),),
        help_barrier=None,
        comments=(
            ("measures", "Please add a balancing measure: if treatment is booked faster, do "
                         "more dates get moved?",
             "Added first treatment dates moved by the hospital."),
            ("timeline", "The milestones stop at month five. When will you review the results "
                         "with the cancer board?",
             "Added a review with the cancer board at month eight."),
        ),
        updates=("The booking clerk started joining the MDT.",
                 "Agreed the ring-fenced slots with the oncologists.",
                 "Changed the clinic template to hold two slots a week.",
                 "Started releasing unused slots at noon the day before.",
                 "The CNS began ordering pre-treatment tests at the MDT.",
                 "Shared the chart with the oncology directorate.",
                 "Looked at the patients who still waited longest: mostly those needing "
                 "a second opinion."),
        results="The median time from decision to first treatment has fallen month on month "
                "since booking moved into the MDT: a trend on the chart, from about 34 days to "
                "about 22.",
        lessons="Bring the booking clerk into the room: every hand-off we removed saved days. "
                "Ring-fenced slots need a rule for releasing them, or they are wasted.",
    ),
    "cns_diagnosis": Topic(
        title="A nurse specialist at every diagnosis",
        description="Not every patient meets a lung cancer nurse specialist when they are told "
                    "their diagnosis, and fewer than nationally felt well supported.",
        lead="cns",
        problem="72% of our patients were seen by a lung cancer nurse specialist at diagnosis "
                "in the last audit, against 80% nationally. Diagnoses given in the Thursday "
                "afternoon clinic have no CNS cover, and patients told on the ward are often "
                "missed.",
        evidence="National lung cancer audit; the CNS team's activity log; the patient survey.",
        indicators=("CNS",), survey=("NURSE", "NURSE_HELP"),
        aim_what="More patients meet a lung cancer nurse specialist when they are told their "
                 "diagnosis",
        aim_how_much="from 72% to 90%",
        aim_for_whom="patients newly diagnosed with lung cancer",
        category="medium_term",
        sustainability="Diagnosis appointments are booked only into CNS-covered sessions, by a "
                       "rule in the booking system.",
        drivers=(
            ("A CNS is there when the diagnosis is given", (
                ("Diagnosis clinics have CNS cover", (
                    "Book diagnosis appointments into CNS-covered sessions",
                    "Cover from the palliative care CNS team on Thursdays")),
                ("Ward patients are not missed", ("Daily ward list sent to the CNS team",)),
            )),
            ("Patients can reach the CNS afterwards", (
                ("Clear contact details", ("Key worker card given at diagnosis",)),
            )),
        ),
        measures=(
            MeasureSpec(C, "Seen by a lung CNS at diagnosis",
                        "Patients seen by a lung cancer nurse specialist at or before "
                        "diagnosis", "Patients newly diagnosed with lung cancer",
                        "Lung cancer audit database (CNS contact)", INCREASE, 72, 90, "xmr",
                        0.72, 0.88),
            MeasureSpec(P, "Diagnosis appointments in CNS-covered sessions",
                        "Diagnosis appointments booked into a session with a CNS present",
                        "Diagnosis appointments", "Outpatient booking system", INCREASE, 65,
                        95, "run", 0.65, 0.90),
            MeasureSpec("balancing", "CNS calls returned the same working day",
                        "Calls to the CNS line returned the same working day",
                        "Calls to the CNS line", "CNS telephone log", INCREASE, 90, None, "run",
                        0.90, 0.90, share=1.2),
        ),
        cycles=(
            CycleSpec(0, "Diagnosis appointments in CNS sessions",
                      "If diagnosis appointments are booked only into sessions with a CNS, "
                      "will every patient meet one?",
                      "Nine in ten patients told in clinic will see a CNS.",
                      "Outpatient booking team and the CNS team",
                      "Book diagnosis appointments only into the Monday, Tuesday and Friday "
                      "clinics.",
                      "One month", "Outpatients", "Diagnosis appointments; CNS present or not.",
                      "Most appointments moved. Two patients were told on a Thursday because "
                      "they could not wait.",
                      "28 of 31 (90%) saw a CNS, as predicted.",
                      "adopt", "It works without extra staff."),
            CycleSpec(1, "Thursday cover from palliative care",
                      "Can the palliative care CNS team cover the Thursday diagnosis clinic?",
                      "Every Thursday will be covered.",
                      "Palliative care CNS team leader",
                      "A palliative care CNS sits in the Thursday clinic.",
                      "Eight weeks", "Outpatients", "Thursdays covered.",
                      "The palliative care team could not release a nurse on three of the "
                      "eight Thursdays.",
                      "5 of 8 Thursdays covered, not every one as predicted.",
                      "abandon", "Cover that fails one week in three is worse than moving the "
                                 "appointments.", follows=0),
            CycleSpec(2, "Daily ward list for the CNS team",
                      "Will a daily list of inpatients with suspected lung cancer mean the CNS "
                      "sees them before they are told?",
                      "Four in five ward patients will see a CNS at diagnosis.",
                      "Ward clerks and the CNS team",
                      "The acute medical unit's clerk emails a list each morning.",
                      "One month", "Acute medical unit and wards",
                      "Inpatients diagnosed; CNS present or not.",
                      "The list came every weekday; weekend admissions were missed until "
                      "Monday.",
                      "9 of 11 inpatients saw a CNS (82%), as predicted.",
                      "adopt", "Simple and reliable on weekdays.", follows=0),
        ),
        roles=(
            ("@cns", "Lung cancer nurse specialist", "Leads the plan and keeps the audit data",
             1, True, True),
            ("@mdt_coordinator", "MDT coordinator", "Checks diagnosis appointments against CNS "
             "rotas", 1, True, False),
            ("", "Outpatient booking manager", "Sets the booking rule", 2, True, False),
        ),
        milestones=(("Booking rule in place", 1), ("Ward list running", 2),
                    ("Key worker cards printed", 3), ("Review of six months' data", 6)),
        barriers=(BarrierSpec("staffing", "One CNS post has been vacant since the spring.",
                              "Lead cancer nurse", 1, resolved_after=3),),
        help_barrier=None,
        comments=(
            ("measures", "What might suffer if CNSs spend more time in diagnosis clinics? "
                         "Please add a balancing measure.",
             "Added calls to the CNS line returned the same working day."),
            ("problem", "Please point to the survey results behind the problem statement.",
             "Linked the survey questions on the nurse specialist."),
        ),
        updates=("Changed the booking rule for diagnosis appointments.",
                 "Started the daily ward list.", "Printed the key worker cards.",
                 "Reviewed the patients who did not see a CNS."),
        results="",
        lessons="",
    ),
    "pathology": Topic(
        title="Pathological confirmation of diagnosis",
        description="Too few patients have their lung cancer confirmed by a biopsy, and EBUS "
                    "waits are long.",
        lead="clinical_lead",
        problem="About 80% of our patients had their lung cancer confirmed by histology or "
                "cytology last year, below the audit's standard of 90%. Most of the gap is "
                "patients who waited so long for EBUS that they became too unwell for it, or "
                "who were never offered a biopsy.",
        evidence="National lung cancer audit; the EBUS waiting list.",
        indicators=("HISTO",), survey=(),
        aim_what="More patients have their lung cancer confirmed by histology or cytology",
        aim_how_much="from 80% to 90%",
        aim_for_whom="patients diagnosed with lung cancer at our trust",
        category="beyond_local",
        sustainability="A biopsy plan is a required field in the MDT outcome; the extra EBUS "
                       "list, once funded, will be in the endoscopy template.",
        drivers=(
            ("Biopsy happens quickly", (
                ("Enough EBUS capacity", (
                    "Extra EBUS list every fortnight",
                    "Book EBUS from the CT report, before clinic")),
                ("Fewer non-diagnostic samples", ("Rapid on-site evaluation of EBUS samples",)),
            )),
            ("Every suitable patient is offered a biopsy", (
                ("A decision at the first MDT", (
                    "Biopsy plan recorded for every new patient at the MDT",)),
            )),
        ),
        measures=(
            MeasureSpec(C, "Histological or cytological confirmation",
                        "Patients with lung cancer confirmed by histology or cytology",
                        "Patients diagnosed with lung cancer", "Lung cancer audit database",
                        INCREASE, 80, 90, "xmr", 0.82, 0.82),
            MeasureSpec(P, "EBUS within 7 days of the request",
                        "Patients having EBUS within 7 days of the request", "EBUS requests",
                        "Endoscopy booking system", INCREASE, 40, 80, "run", 0.40, 0.50,
                        share=0.6),
            MeasureSpec("balancing", "Non-diagnostic EBUS samples",
                        "EBUS procedures needing a repeat biopsy", "EBUS procedures",
                        "Pathology reports", DECREASE, 12, None, "run", 0.12, 0.12, share=0.6),
        ),
        cycles=(
            CycleSpec(3, "A biopsy plan at the first MDT",
                      "If the chair asks for a biopsy plan for every new patient, will fewer "
                      "patients go without one?",
                      "Every new patient will leave the first MDT with a biopsy plan or a "
                      "recorded reason for none.",
                      "MDT chair",
                      "Add a biopsy plan line to the outcome template; the chair asks for it.",
                      "Four weekly meetings", "Lung cancer MDT",
                      "New patients; biopsy plan recorded or not.",
                      "The line was filled in for nearly everyone from the second week.",
                      "58 of 61 new patients (95%) had a plan or a reason.",
                      "adopt", "It costs one question per patient."),
            CycleSpec(1, "Booking EBUS from the CT report",
                      "If EBUS is booked straight from the CT report, will patients wait less?",
                      "The wait for EBUS will fall by a week.",
                      "Lead respiratory physician and the endoscopy bookers",
                      "Book EBUS when the CT report suggests nodal disease, before clinic.",
                      "One month", "Endoscopy unit", "Days to EBUS; procedures not needed.",
                      "4 of 15 patients booked this way then needed a different test, and the "
                      "slots were lost.",
                      "The wait fell by four days, but a quarter of the slots were wasted.",
                      "abandon", "With so few slots, a wasted one costs more than the days "
                                 "saved.", follows=0),
            CycleSpec(0, "Extra fortnightly EBUS list",
                      "Will an extra EBUS list every fortnight bring most patients in within "
                      "7 days?",
                      "Eight in ten patients will have EBUS within 7 days of the request.",
                      "Lead respiratory physician",
                      "Run an extra Friday afternoon list every other week.",
                      "Three months", "Endoscopy unit", "Days from request to EBUS.",
                      "", "", "", "", follows=0),
        ),
        roles=(
            ("@clinical_lead", "Lead respiratory physician", "Leads the plan and the business "
             "case", 1, True, True),
            ("", "Endoscopy unit manager", "Schedules the EBUS lists", 2, True, False),
            ("Dr", "Consultant cytopathologist", "Provides rapid on-site evaluation", 3, True,
             False),
        ),
        milestones=(("Biopsy plan line in the MDT outcome", 1),
                    ("Business case for an extra EBUS list", 3),
                    ("Extra EBUS list starts", 6)),
        barriers=(BarrierSpec("other_department", "The endoscopy unit closed for ventilation "
                                                  "works this month: no EBUS lists ran.",
                              "Endoscopy unit manager", 4, resolved_after=1),),
        help_barrier=BarrierSpec(
            "money", "An extra EBUS list needs a second endoscopy nurse and a respiratory "
                     "physician session, which the division has not funded.", "Clinical lead",
            3, help="We would value help with the business case: figures from sites in the "
                    "programme that added EBUS capacity, and an introduction to one of them."),
        comments=(
            ("measures", "Please add a balancing measure: will faster EBUS mean more samples "
                         "that are not diagnostic?",
             "Added non-diagnostic EBUS samples, from the pathology reports."),
            ("aim", "Which patients count towards the 90%? Please say in the aim.",
             "All patients diagnosed with lung cancer at the trust, as in the audit."),
        ),
        updates=("Added the biopsy plan line to the MDT outcome.",
                 "Tried booking EBUS from the CT report.",
                 "Wrote the business case for an extra EBUS list.",
                 "No EBUS lists while the endoscopy unit was closed.",
                 "Met the divisional director about the business case.",
                 "Still waiting for the division's decision on the extra list."),
        results="", lessons="",
    ),
    "shared_decisions": Topic(
        title="Involving patients in treatment decisions",
        description="Fewer patients than nationally felt involved in decisions about their "
                    "treatment.",
        lead="cns",
        problem="In the programme's patient survey, 61% of our patients said they were "
                "definitely as involved as they wanted to be in decisions about their "
                "treatment, against 74% across the programme. Patients often hear their "
                "treatment options for the first time in a short oncology appointment.",
        evidence="The programme's patient survey; patients' comments.",
        indicators=(), survey=("DECISIONS", "INFORMATION"),
        aim_what="More patients feel as involved as they want to be in decisions about their "
                 "treatment",
        aim_how_much="from 61% to 75%",
        aim_for_whom="patients starting treatment for lung cancer",
        category="quick_fix",
        sustainability="The decision aid is sent by the booking system with every treatment "
                       "clinic letter.",
        drivers=(
            ("Patients know their options before the clinic", (
                ("Information in advance", (
                    "Decision aid sent with the clinic letter",
                    "CNS telephone call before the treatment clinic")),
            )),
            ("The clinic leaves time to decide", (
                ("Longer appointments", ("30-minute slots for treatment decisions",)),
            )),
        ),
        measures=(
            MeasureSpec(C, "Patients who felt involved in decisions",
                        "Patients answering “yes, definitely” to feeling as involved as they "
                        "wanted", "Patients returning the feedback card after their treatment "
                        "clinic", "Feedback card given at the treatment clinic", INCREASE, 61,
                        75, "run", 0.61, 0.74, share=0.6),
            MeasureSpec(P, "Decision aid sent before the clinic",
                        "Patients sent the decision aid before their treatment clinic",
                        "Patients booked into a treatment clinic", "CNS tracker", INCREASE, 5,
                        90, "run", 0.05, 0.85, share=0.8),
            MeasureSpec("balancing", "Treatment clinic overrun",
                        "Minutes the treatment clinic ran over its finishing time, average per "
                        "clinic", "", "Clinic log", DECREASE, 25, None, "run", 20.0, 22.0,
                        spread=6.0, count=True),
        ),
        cycles=(),
        roles=(
            ("@cns", "Lung cancer nurse specialist", "Leads the plan and sends the decision "
             "aid", 1, True, True),
            ("Dr", "Consultant clinical oncologist", "Tests 30-minute appointments", 2, True,
             False),
        ),
        milestones=(("Decision aid chosen with the patient panel", 1),
                    ("Decision aid sent with clinic letters", 2)),
        barriers=(), help_barrier=None,
        comments=(
            ("measures", "Longer appointments may cost clinic time. Please add a balancing "
                         "measure.", "Added the treatment clinic overrun, from the clinic log."),
            ("sustainability", "How will the decision aid keep being sent when the CNS is "
                               "away?", "The booking system sends it with every letter."),
        ),
        updates=(), results="", lessons="",
    ),
    "smoking": Topic(
        title="Stop-smoking support at diagnosis",
        description="Patients who smoke are not always offered help to stop when they are "
                    "diagnosed.",
        lead="cns",
        problem="About a third of our newly diagnosed patients still smoke. Only 35% of them "
                "were referred to the tobacco dependence service last year, though stopping "
                "improves the results of surgery, radiotherapy and chemotherapy.",
        evidence="A local audit of 60 case notes; the tobacco dependence service's referral "
                 "data.",
        indicators=(), survey=(),
        aim_what="More patients who smoke are referred for stop-smoking support at diagnosis",
        aim_how_much="from 35% to 80%",
        aim_for_whom="newly diagnosed patients with lung cancer who smoke",
        category="beyond_local",
        sustainability="Opt-out referral is part of the diagnosis clinic checklist.",
        drivers=(
            ("Every patient who smokes is asked and offered help", (
                ("Asking is routine", (
                    "Opt-out referral to the tobacco dependence service",
                    "Smoking status on the clinic checklist")),
            )),
            ("Help is easy to take up", (
                ("Support close to the clinic", (
                    "Tobacco dependence adviser in the diagnosis clinic",)),
            )),
        ),
        measures=(
            MeasureSpec(C, "Patients who smoke who start stop-smoking support",
                        "Patients who smoke who attend a first tobacco dependence appointment",
                        "Newly diagnosed patients who smoke",
                        "Tobacco dependence service records", INCREASE, 20, 50, "run", 0.20,
                        0.26, share=0.5),
            MeasureSpec(P, "Opt-out referral at diagnosis",
                        "Patients who smoke referred to the tobacco dependence service at "
                        "diagnosis", "Newly diagnosed patients who smoke", "CNS tracker",
                        INCREASE, 35, 80, "run", 0.35, 0.45, share=0.5),
            MeasureSpec("balancing", "Diagnosis clinics running late",
                        "Diagnosis clinics finishing more than 15 minutes late",
                        "Diagnosis clinics held", "Clinic log", DECREASE, 20, None, "run", 0.2,
                        0.2, share=0.5),
        ),
        cycles=(
            CycleSpec(0, "Opt-out referral in the diagnosis clinic",
                      "If every patient who smokes is referred unless they say no, will more "
                      "start support?",
                      "Eight in ten will be referred and half of those will attend.",
                      "Lung CNS",
                      "Refer every patient who smokes at the diagnosis appointment, unless "
                      "they decline.",
                      "One month", "Diagnosis clinic", "Referrals; first appointments attended.",
                      "Referrals rose, but the tobacco dependence service stopped taking "
                      "outpatient referrals half way through the month.",
                      "12 of 16 were referred, but only 3 were seen before referrals closed.",
                      "abandon", "There is no service to refer to until the regional service "
                                 "opens."),
        ),
        roles=(
            ("@cns", "Lung cancer nurse specialist", "Leads the plan and makes the referrals",
             1, True, True),
            ("", "Tobacco dependence service lead", "Sees referred patients", 1, False, False),
        ),
        milestones=(("Opt-out referral on the clinic checklist", 1),
                    ("Adviser in the diagnosis clinic", 3)),
        barriers=(BarrierSpec("other_department", "The tobacco dependence service no longer "
                                                  "takes outpatient referrals since its "
                                                  "funding changed.",
                              "Lung cancer nurse specialist", 3),),
        help_barrier=None,
        comments=(
            ("measures", "Please add a balancing measure: asking everyone takes clinic time.",
             "Added diagnosis clinics running late."),
            ("roles", "The tobacco dependence lead is on a fixed-term contract. Who owns this "
                      "afterwards?", "The lung CNS, a permanent post."),
        ),
        updates=("Added opt-out referral to the diagnosis clinic checklist.",
                 "Referrals rose, then the service closed to outpatients.",
                 "Met the public health team about the regional service."),
        results="Referrals rose from 35% to about half in the first month, but the tobacco "
                "dependence service then stopped taking outpatient referrals.",
        lessons="Check the service you refer to can take the extra patients before you start.",
    ),
}


@dataclass(frozen=True)
class Story:
    """What happens to one plan. Months are counted back from the current month."""

    topic: str
    status: str
    approved: int | None = None  # months ago the plan was approved, for plans that have run
    first: int = 0  # months ago of the first data point (plans approved or later)
    last: int = 1  # months ago of the last
    ended: int = 0  # days ago it was completed, put on hold or stopped
    review: bool = False  # sent back for changes once
    depth: int = 3  # how much of a draft is written: 1 to 3
    partner: bool = False
    library: bool = False
    help: bool = False  # a barrier asks the core team for help
    patterns: tuple[tuple[int, str], ...] = ()  # (measure, signal its chart must show)
    aim_raised: str = ""  # a new "how much" after early success
    paused: bool = False  # held for a month and resumed
    support: tuple[tuple[str, int, str], ...] = ()  # (kind, months after approval, notes)


S = Status
# Three plans for each host, in the order the visits were made (by primary key).
STORIES: tuple[tuple[Story, ...], ...] = (
    (Story("case_list", S.IN_PROGRESS, approved=9, first=20, review=True, partner=True,
           library=True, patterns=((1, "shift"), (2, "common")),
           support=(("follow_up_visit", 5, "The facilitator sat in on an MDT to see the cut-off "
                                           "working and met the chair about sustaining it."),)),
     Story("older_treatment", S.COMPLETED, approved=9, first=21, ended=9, partner=True,
           library=True, patterns=((0, "shift"), (2, "common"))),
     Story("cns_diagnosis", S.CHANGES_REQUESTED, review=True)),
    (Story("case_list", S.APPROVED, first=13, partner=True, patterns=((0, "common"),)),
     Story("faster_treatment", S.IN_PROGRESS, approved=9, first=20, review=True, library=True,
           patterns=((0, "trend"),), aim_raised="median from 34 days to 18 days",
           support=(("introduction", 2, "Introduced the team to another site in the "
                                        "programme whose booking clerk joins its MDT."),)),
     Story("smoking", S.DRAFT, depth=1)),
    (Story("case_list", S.ON_HOLD, approved=7, first=15, last=3, ended=64, help=True,
           support=(("email", 3, "Sent the team the deferral figures from two other sites "
                                 "for their case for cover."),)),
     Story("pathology", S.IN_PROGRESS, approved=8, first=16, review=True, partner=True,
           help=True, patterns=((0, "outside"),),
           support=(("call", 5, "Video call with the clinical lead about the EBUS business "
                                "case; agreed to share figures from other sites."),)),
     Story("shared_decisions", S.SUBMITTED)),
    (Story("case_list", S.RESUBMITTED, review=True),
     Story("cns_diagnosis", S.APPROVED, first=12),
     Story("older_treatment", S.DRAFT, depth=3)),
    (Story("case_list", S.COMPLETED, approved=9, first=22, ended=16, partner=True,
           library=True),
     Story("smoking", S.STOPPED, approved=6, first=14, last=2, ended=35, review=True),
     Story("faster_treatment", S.IN_PROGRESS, approved=5, first=14, paused=True)),
    (Story("case_list", S.SUBMITTED),
     Story("pathology", S.CHANGES_REQUESTED, review=True),
     Story("shared_decisions", S.DRAFT, depth=2)),
)

STOP_REASON = ("The trust's tobacco dependence service no longer takes outpatient referrals; "
               "we will start again when the regional service opens.")
HOLD_NOTE = "Paused while the lead oncologist post was vacant."


# --- Dates ------------------------------------------------------------------------------------


def _month(today: datetime.date, months_ago: int) -> datetime.date:
    """The first day of the month ``months_ago`` months before this one."""
    index = today.year * 12 + today.month - 1 - months_ago
    return datetime.date(index // 12, index % 12 + 1, 1)


def _months_after(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, min(day.day, 28))


def _at(day: datetime.date, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


class _Clock:
    """Dates the activity log: each step's entries get the step's date, not today's."""

    def __init__(self) -> None:
        self.mark = self._last()

    @staticmethod
    def _last() -> int:
        return ActivityLog.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def stamp(self, when: datetime.datetime) -> None:
        ActivityLog.objects.filter(id__gt=self.mark).update(created_at=when)
        self.mark = self._last()


# --- Data -------------------------------------------------------------------------------------


def _binomial(rng: random.Random, n: int, p: float) -> int:
    return sum(rng.random() < p for _ in range(n))


def _shows(pattern: str | None, values: list[float], direction: str,
           baseline: int | None, change: int | None) -> bool:
    """Whether the XmR chart's special causes are ``pattern``: "shift" or "trend" among
    them (a trend only from the change on), "outside" (one point outside the limits and
    nothing else) or "common" (none at all)."""
    if pattern is None:
        return True
    rules = [p.rules for p in spc.special_causes(values, improvement=direction,
                                                 baseline=baseline)]
    if pattern == "trend":
        trend = [i for i, r in enumerate(rules) if spc.TREND in r]
        return bool(trend) and change is not None and min(trend) >= change - 1
    if pattern == "common":
        return not any(rules)
    if pattern == "outside":
        flagged = [r for r in rules if r]
        return len(flagged) == 1 and flagged[0] == {spc.OUTSIDE_LIMITS}
    return any(spc.SHIFT in r for r in rules)


def _series(spec: MeasureSpec, *, months: int, change: int | None, patients: float,
            rng: random.Random, pattern: str | None, baseline: int | None,
            outlier: int) -> list[tuple[int | None, int | None, float | None]]:
    """(numerator, denominator, value) for each month, oldest first. ``change`` is the index
    of the first month after the change, if there has been one. Drawn again until the chart
    shows ``pattern``."""
    step = 1 if spec.after >= spec.before else -1
    for _ in range(1000):
        rows, figures = [], []
        for i in range(months):
            level = spec.before
            if change is not None and i >= change and pattern != "common":
                level += (spec.after - spec.before) * min(1.0, (i - change + 1) / 2)
            if spec.denominator:
                if pattern == "outside" and i == outlier:
                    level = spec.before - 0.36 if spec.direction == INCREASE else \
                        spec.before + 0.36
                mean = min(40.0, patients * spec.share)
                den = min(45, max(8, round(rng.gauss(mean, max(1.5, 0.8 * mean ** 0.5)))))
                num = _binomial(rng, den, min(0.98, max(0.02, level)))
                rows.append((num, den, None))
                figures.append(num / den)
                continue
            if pattern == "trend" and change is not None and i >= change:
                # A steady fall (or rise) to where the change is heading, a little noise.
                done = (i - change + 1) / (months - change)
                value = spec.before + (spec.after - spec.before) * done + rng.gauss(0, 0.25)
                value = round(value * 2) / 2
                if figures and (value - figures[-1]) * step <= 0:
                    value = figures[-1] + 0.5 * step
            else:
                value = rng.gauss(level, spec.spread)
                value = max(0.0, round(value) if spec.count else round(value * 2) / 2)
            rows.append((None, None, float(value)))
            figures.append(float(value))
        if _shows(pattern, figures, spec.direction, baseline, change):
            return rows
    raise RuntimeError(f"No series for {spec.name} shows {pattern}")  # pragma: no cover


# --- One plan ---------------------------------------------------------------------------------


class _PlanBuilder:
    def __init__(self, *, programme: Programme, actor: User, visit: Visit,
                 area: FocusArea, story: Story, members: dict[str, User],
                 lookups: tuple[dict, dict], clock: _Clock, today: datetime.date,
                 seed: str) -> None:
        self.programme, self.actor, self.visit, self.area = programme, actor, visit, area
        self.story, self.topic = story, TOPICS[story.topic]
        self.members, self.clock, self.today = members, clock, today
        self.indicators, self.questions = lookups
        self.rng = random.Random(seed)
        self.owner = members.get(self.topic.lead) or next(iter(members.values()))
        self.comment_times: list[tuple[ReviewComment, datetime.datetime,
                                       datetime.datetime | None]] = []
        self.cycle_times: list[tuple[PdsaCycle, datetime.datetime]] = []
        self.update_times: list[tuple[ProgressUpdate, datetime.datetime]] = []
        self.last_event = None
        self.last_transition = None

    # helpers

    def step(self, when: datetime.datetime) -> None:
        self.clock.stamp(when)
        self.last_event = max(self.last_event or when, when)

    def move(self, action: str, when: datetime.datetime, *, core: bool = False,
             note: str = "") -> None:
        plan_services.plan_transition(plan=self.plan, action=action, as_core=core, note=note,
                                      user=self.actor if core else self.owner)
        self.step(when)
        self.last_transition = when

    def person(self, who: str) -> str:
        if who.startswith("@"):
            user = self.members.get(who[1:]) or self.owner
            return user.full_name
        name = f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(SURNAMES)}"
        return f"{who} {name}".strip()

    def save(self, model, **fields):
        return parts.part_save(plan=self.plan, user=self.owner, model=model, **fields)

    # the story

    def build(self) -> QualityImprovementPlan:
        story, today = self.story, self.today
        if story.approved is not None:
            approved = _month(today, story.approved) + datetime.timedelta(days=9)
            created = approved - datetime.timedelta(days=28)
            times = {"created": created, "filled": created + datetime.timedelta(days=3),
                     "submitted": approved - datetime.timedelta(days=18),
                     "comments": approved - datetime.timedelta(days=14),
                     "answered": approved - datetime.timedelta(days=8),
                     "approved": approved}
        else:
            # From the visit to two days ago, in proportion, so the order always fits.
            span = max(10, (today - self.visit.date).days - 2)

            def after(share):
                return self.visit.date + datetime.timedelta(days=round(span * share))

            times = {"created": after(0.12), "filled": after(0.2), "submitted": after(0.45),
                     "comments": after(0.6), "answered": after(0.72),
                     "approved": after(0.85)}
        self.times = times
        self.plan, _ = plan_services.plan_from_focus_area(focus_area=self.area,
                                                          user=self.owner)
        self.step(_at(times["created"], 9, 40))
        self.fill()
        if story.status == Status.DRAFT:
            return self.finish()
        self.move("submit", _at(times["submitted"], 16, 5))
        if story.review:
            self.review()
            if story.status in (Status.CHANGES_REQUESTED, Status.RESUBMITTED):
                return self.finish()
        if story.status == Status.SUBMITTED:
            return self.finish()
        self.move("approve", _at(times["approved"], 14, 30), core=True)
        self.approved_on = times["approved"]
        self.data()
        if story.status == Status.APPROVED:
            self.cycles(planned_only=True)
            return self.finish()
        self.run()
        return self.finish()

    def fill(self) -> None:
        topic, story, when = self.topic, self.story, self.times["filled"]
        start = self.times["approved"]
        draft = story.status == Status.DRAFT
        fields = {"problem_statement": topic.problem, "aim_what": topic.aim_what}
        if not draft or story.depth >= 2:
            fields.update(evidence_notes=topic.evidence, aim_how_much=topic.aim_how_much,
                          aim_for_whom=topic.aim_for_whom, category=topic.category,
                          aim_by_when=_months_after(start, 12).replace(day=1)
                          - datetime.timedelta(days=1))
        if not draft:
            fields["sustainability_plan"] = topic.sustainability
        plan_services.plan_update(
            plan=self.plan, user=self.owner,
            indicators=[self.indicators[c] for c in topic.indicators if c in self.indicators],
            survey_questions=[self.questions[c] for c in topic.survey if c in self.questions],
            **fields)
        self.step(_at(when, 11, 15))
        if draft and story.depth < 2:
            return
        self.ideas: list[Driver] = []
        for p, (primary, secondaries) in enumerate(topic.drivers):
            top = self.save(Driver, kind="primary", text=primary, order=p)
            for s, (secondary, ideas) in enumerate(secondaries):
                middle = self.save(Driver, kind="secondary", text=secondary, parent=top,
                                   order=s)
                if draft and story.depth < 3:
                    continue
                for i, idea in enumerate(ideas):
                    self.ideas.append(self.save(Driver, kind="change_idea", text=idea,
                                                parent=middle, order=i))
            if draft and story.depth < 3:
                break
        self.step(_at(when, 11, 40))
        self.measures: list[Measure] = []
        # A plan sent back for changes lacked its balancing measure; a draft has no more
        # than two.
        count = 2 if draft or story.review else 3
        for index in range(count if not draft or story.depth >= 3 else 0):
            self.add_measure(index)
        self.step(_at(when, 12, 5))
        if draft:
            return
        for who, job, responsibility, months, permanent, owns in topic.roles:
            self.save(PlanRole, person=self.person(who), job_title=job,
                      responsibility=responsibility, due_on=_months_after(start, months),
                      permanent_staff=permanent, owns_sustainability=owns)
        self.milestones = [self.save(Milestone, title=title,
                                     due_on=_months_after(start, months))
                           for title, months in topic.milestones]
        self.step(_at(when, 14, 20))

    def add_measure(self, index: int) -> None:
        spec, story = self.topic.measures[index], self.story
        baseline = None
        if story.approved is not None and story.first - story.approved + 1 >= 12:
            baseline = story.first - story.approved + 1  # the months before the change
        self.measures.append(self.save(
            Measure, kind=spec.kind, name=spec.name, numerator=spec.numerator,
            denominator=spec.denominator, frequency="monthly", data_source=spec.data_source,
            direction=spec.direction, baseline=spec.baseline, target=spec.target,
            chart=spec.chart, baseline_points=baseline, order=index))

    def review(self) -> None:
        times, topic = self.times, self.topic
        comments = []
        for n, (field, text, _answer) in enumerate(topic.comments):
            comments.append(plan_services.review_comment_add(
                plan=self.plan, user=self.actor, field=field, text=text))
            self.step(_at(times["comments"], 11, 10 + n))
        self.move("request_changes", _at(times["comments"], 11, 30), core=True)
        if self.story.status == Status.CHANGES_REQUESTED:
            self.comment_times = [(c, _at(times["comments"], 11, 10 + n), None)
                                  for n, c in enumerate(comments)]
            return
        self.add_measure(2)
        self.step(_at(times["answered"], 15, 0))
        for n, (comment, (_f, _t, answer)) in enumerate(zip(comments, topic.comments,
                                                             strict=True)):
            plan_services.review_comment_respond(comment=comment, user=self.owner,
                                                 response=answer)
            self.step(_at(times["answered"], 15, 10 + n))
            self.comment_times.append((comment, _at(times["comments"], 11, 10 + n),
                                       _at(times["answered"], 15, 10 + n)))
        self.move("submit", _at(times["answered"], 15, 45))

    def data(self) -> None:
        story, today = self.story, self.today
        months = [_month(today, ago) for ago in range(story.first, story.last - 1, -1)]
        change = None
        if story.approved is not None:
            change = story.first - story.approved + 1
        outlier = months.index(_month(today, 4)) if _month(today, 4) in months else \
            len(months) - 5
        # A lung MDT's new patients a month, from the site's annual figure.
        patients = min(40, max(16, self.plan.site.annual_new_patients / 12))
        patterns = dict(story.patterns)
        entries, last = [], []
        for index, measure in enumerate(self.measures):
            spec = self.topic.measures[index]
            rows = _series(spec, months=len(months), change=change, patients=patients,
                           rng=self.rng, pattern=patterns.get(index),
                           baseline=measure.baseline_points, outlier=outlier)
            for period, (num, den, value) in zip(months[:-1], rows[:-1], strict=False):
                entries.append(Measurement(
                    measure=measure, period=period, numerator=num, denominator=den,
                    value=value, entered_by=self.owner,
                    entered_at=_at(max(_months_after(period, 1) + datetime.timedelta(days=4),
                                       self.times["filled"]))))
            last.append((measure, rows[-1]))
        Measurement.objects.bulk_create(entries)
        self.figures = {m.pk: rows for m, rows in last}
        # The latest month goes in as the team would enter it, so the timeline shows it.
        period = months[-1]
        entered = min(_months_after(period, 1) + datetime.timedelta(days=4),
                      today - datetime.timedelta(days=2))
        entered = max(entered, self.times["approved"])
        for measure, (num, den, value) in last:
            text = f"{period:%Y-%m}\t{num}\t{den}" if measure.is_percentage else \
                f"{period:%Y-%m}\t{value:g}"
            measurement_services.measurements_paste(measure=measure, user=self.owner,
                                                    text=text)
        self.step(_at(entered, 9, 50))
        Measurement.objects.filter(measure__plan=self.plan, period=period).update(
            entered_at=_at(entered, 9, 50))
        self.months = months

    def cycles(self, *, planned_only: bool = False, until: datetime.date | None = None,
               complete_all: bool = False) -> None:
        """PDSA cycles one after another from the month after approval. The last is still
        running unless the plan is finished."""
        specs = self.topic.cycles
        if planned_only:
            specs = specs[:1]
        made: list[PdsaCycle] = []
        start = _month(self.today, self.story.approved - 1) + datetime.timedelta(days=3) \
            if self.story.approved else None
        for n, spec in enumerate(specs):
            if not planned_only and start >= until:
                break
            planned = start - datetime.timedelta(days=5) if start else \
                self.approved_on + datetime.timedelta(days=2)
            cycle = self.save(
                PdsaCycle, change_idea=self.ideas[spec.idea],
                follows=made[spec.follows] if spec.follows is not None else None,
                title=spec.title, question=spec.question, prediction=spec.prediction,
                who=spec.who, what=spec.what, when=spec.when, where=spec.where,
                data_to_collect=spec.data, started_on=start)
            self.step(_at(planned, 13, 0))
            self.cycle_times.append((cycle, _at(planned, 13, 0)))
            made.append(cycle)
            if planned_only:
                return
            finished = start + datetime.timedelta(days=28 + 14 * (n % 2))
            last = n == len(specs) - 1
            if not spec.decision or (last and not complete_all) or finished >= until:
                break
            self.save(PdsaCycle, instance=cycle, what_happened=spec.happened,
                      results=spec.results, decision=spec.decision,
                      decision_reason=spec.reason)
            parts.pdsa_complete(cycle=cycle, user=self.owner, completed_on=finished)
            self.step(_at(finished, 16, 0))
            start = finished + datetime.timedelta(days=7)

    def run(self) -> None:
        story, today, topic = self.story, self.today, self.topic
        started = self.approved_on + datetime.timedelta(days=8)
        self.move("start", _at(started, 9, 15))
        if story.status in (Status.COMPLETED, Status.ON_HOLD, Status.STOPPED):
            until = today - datetime.timedelta(days=story.ended)
        else:
            until = today - datetime.timedelta(days=1)
        if story.partner or story.library:
            plan_services.plan_update(plan=self.plan, user=self.owner,
                                      share_with_partner=story.partner,
                                      share_with_programme=story.library)
            self.step(_at(started, 9, 30))
        self.cycles(until=until,
                    complete_all=story.status in (Status.COMPLETED, Status.STOPPED))
        for milestone in self.milestones:
            if milestone.due_on < until and not (story.status == Status.ON_HOLD
                                                 and milestone.due_on > until
                                                 - datetime.timedelta(days=60)):
                done = milestone.due_on - datetime.timedelta(days=self.rng.randint(0, 9))
                self.save(Milestone, instance=milestone, done_on=done)
                self.step(_at(max(done, started), 17, 0))
        barriers = [(b, False) for b in topic.barriers]
        if story.help and topic.help_barrier:
            barriers.append((topic.help_barrier, True))
        for spec, asks in barriers:
            raised = _months_after(self.approved_on, spec.month)
            if asks and story.status == Status.ON_HOLD:
                raised = until - datetime.timedelta(days=12)
            if raised >= until:
                continue
            barrier = self.save(Barrier, kind=spec.kind, description=spec.description,
                                raised_on=raised, owner=spec.owner, help_needed=spec.help)
            self.step(_at(raised, 12, 0))
            if spec.resolved_after is not None and not asks:
                resolved = _months_after(raised, spec.resolved_after)
                if resolved < until:
                    self.save(Barrier, instance=barrier, status=Barrier.Status.RESOLVED)
                    self.step(_at(resolved, 12, 0))
        for kind, months, notes in story.support:
            given = _months_after(self.approved_on, months)
            parts.support_record(plan=self.plan, user=self.actor, kind=kind, given_on=given,
                                 notes=notes)
            self.step(_at(given, 15, 0))
        if story.paused:
            self.move("hold", _at(_month(today, 4) + datetime.timedelta(days=19), 10, 0))
            self.move("resume", _at(_month(today, 3) + datetime.timedelta(days=11), 10, 0))
        if story.aim_raised:
            plan_services.plan_update(plan=self.plan, user=self.owner,
                                      aim_how_much=story.aim_raised)
            self.step(_at(_month(today, 3) + datetime.timedelta(days=6), 11, 0))
        self.progress(until)
        if story.library or story.status == Status.COMPLETED:
            plan_services.plan_update(plan=self.plan, user=self.owner,
                                      results_summary=topic.results,
                                      lessons_learned=topic.lessons)
            self.step(_at(until - datetime.timedelta(days=1), 16, 0))
        end = _at(until, 11, 0)
        if story.status == Status.ON_HOLD:
            self.move("hold", end)
        elif story.status == Status.COMPLETED:
            self.move("complete", end)
        elif story.status == Status.STOPPED:
            plan_services.plan_update(plan=self.plan, user=self.owner,
                                      results_summary=topic.results,
                                      lessons_learned=topic.lessons)
            self.step(_at(until - datetime.timedelta(days=1), 16, 0))
            self.move("stop", end, note=STOP_REASON)

    def progress(self, until: datetime.date) -> None:
        """A monthly update from the first month of work to the last month with data."""
        story, topic = self.story, self.topic
        first = self.measures[0]
        months = self.months
        change = months.index(_month(self.today, story.approved - 1))
        values = list(first.measurements.order_by("period").values_list(
            "numerator", "denominator", "value"))
        for n, index in enumerate(range(change, len(months))):
            month = months[index]
            sent = min(_months_after(month, 1) + datetime.timedelta(days=5),
                       until - datetime.timedelta(days=1))
            num, den, value = values[index]
            figure = f"{num} of {den} ({num / den:.0%})" if den else f"{value:g}"
            rag = "green" if self.rng.random() < 0.75 else "amber"
            help_needed = barriers = ""
            if story.status == Status.ON_HOLD and index == len(months) - 1:
                rag, barriers = "red", "Our MDT coordinator is off sick and there is no cover."
                help_needed = topic.help_barrier.help
            elif story.help and index >= len(months) - 3 and topic.help_barrier:
                rag, barriers = "amber", topic.help_barrier.description
                help_needed = topic.help_barrier.help
            elif story.paused and month == _month(self.today, 4):
                rag, barriers = "amber", HOLD_NOTE
            update, _ = parts.progress_update_save(
                plan=self.plan, user=self.owner, month=month,
                done=topic.updates[n % len(topic.updates)],
                new_data=f"{first.name}: {figure} in {month:%B}.", barriers=barriers,
                help_needed=help_needed, rag=rag)
            self.step(_at(sent, 10, 30))
            self.update_times.append((update, _at(sent, 10, 30)))

    def finish(self) -> QualityImprovementPlan:
        """Give everything the service stamped with today its date in the story."""
        plan, times = self.plan, self.times
        created = _at(times["created"], 9, 40)
        QualityImprovementPlan.objects.filter(pk=plan.pk).update(
            created_at=created, updated_at=self.last_event,
            status_changed_at=self.last_transition or created,
            approved_at=_at(times["approved"], 14, 30) if plan.approved_at else None)
        for comment, made, answered in self.comment_times:
            ReviewComment.objects.filter(pk=comment.pk).update(created_at=made,
                                                               responded_at=answered)
        for cycle, made in self.cycle_times:
            PdsaCycle.objects.filter(pk=cycle.pk).update(created_at=made)
        for update, sent in self.update_times:
            ProgressUpdate.objects.filter(pk=update.pk).update(submitted_at=sent)
        return plan


def _members(site) -> dict[str, User]:
    members: dict[str, User] = {}
    for membership in SiteMembership.objects.current().filter(site=site).select_related(
            "user").order_by("joined_at", "pk"):
        members.setdefault(membership.role, membership.user)
    return members


@transaction.atomic
def build(programme: Programme, actor: User) -> dict[str, int]:
    """About three plans for each site that has hosted a visit; returns the count of plans
    in each state."""
    today = timezone.localdate()
    clock = _Clock()
    lookups = ({i.code: i for i in Indicator.objects.filter(programme=programme)},
               {q.code: q for q in SurveyQuestion.objects.filter(survey__programme=programme)})
    visits = list(programme.visits.filter(
        status__in=[Visit.Status.HAPPENED, Visit.Status.REPORT_SENT]).select_related(
        "host", "facilitator").order_by("pk"))
    for number, visit in enumerate(visits):
        members = _members(visit.host)
        if not members:
            continue
        areas = list(visit.focus_areas.order_by("created_at", "pk"))
        for slot, story in enumerate(STORIES[number % len(STORIES)]):
            topic = TOPICS[story.topic]
            if slot < len(areas):
                area = areas[slot]
            else:
                area = visit_day.focus_area_add(
                    visit=visit, user=visit.facilitator or actor, title=topic.title,
                    description=topic.description,
                    owner=members.get(topic.lead) or next(iter(members.values())))
                agreed = _at(visit.date, 15, 20 + slot)
                FocusArea.objects.filter(pk=area.pk).update(created_at=agreed)
                clock.stamp(agreed)
            _PlanBuilder(programme=programme, actor=actor, visit=visit, area=area,
                         story=story, members=members, lookups=lookups, clock=clock,
                         today=today, seed=f"{SEED}-{number}-{slot}").build()
    return {status: programme.qips.filter(status=status).count() for status in Status.values}

