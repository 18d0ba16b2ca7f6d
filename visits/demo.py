"""The demo programme's visits, in every state, built through the services.

Dates are relative to today, so whenever the demo is built there are visits that have
happened, confirmed visits coming up with their checklists part done, polls still open and
half answered, and visits not yet arranged. Deterministic for a given day.
"""

import datetime
import random
import uuid

from django.db import transaction
from django.utils import timezone

from ilcop.models import ActivityLog, User
from programmes import demo as programmes_demo
from programmes import demo_survey
from programmes.models import Programme

from . import services
from .calendar import candidate_dates
from .models import LogisticsTask, PollInvitee, Visit, VisitReport

# What happens to the 15 pairs' visits, in pair order. Every visit not yet dated has a poll
# fully answered, except three half-answered ones and one pair not yet started, so the
# programme-wide scheduler has real availability to work with.
HAPPENED_PAIRS = 3       # both visits happened; the first's report sent, the second's to do
CONFIRMED_PAIRS = 3      # first visit confirmed and coming up, tasks part done
AGREED_PAIRS = 2         # first visit has an agreed date, not yet confirmed
HALF_ANSWERED_PAIRS = 3  # first visit's poll open and half answered
CANCELLED_PAIRS = 1      # first visit cancelled, to be re-arranged
POLLED_PAIRS = 2         # both visits' polls fully answered, waiting for dates
# The last pair: proposed, nothing arranged yet.


def _next_weekday(day: datetime.date, weekday: int) -> datetime.date:
    return day + datetime.timedelta(days=(weekday - day.weekday()) % 7)


def _mdt_day_from(visit: Visit, earliest: datetime.date) -> datetime.date:
    """The host's first MDT day on or after ``earliest`` that is not a bank holiday."""
    return candidate_dates(visit.host.mdt_day, earliest,
                           earliest + datetime.timedelta(weeks=8))[0]


def _with_dates_unchecked(visit: Visit, date: datetime.date) -> None:
    """Give a visit a past date directly: the services rightly refuse to agree past dates."""
    Visit.objects.filter(pk=visit.pk).update(date=date)


# Minutes each session of a demo visit day ran over (or, below zero, under) its plan.
OVERRUNS = (5, 10, -5, 15, 0, 10, -10)

# What was said on a demo visit day, session by session: (kind, team, role, words).
SAID = {
    "introduction": [
        ("strength", "host", "clinical_lead", "Every new patient is discussed within a week of "
                                              "referral."),
        ("opportunity", "host", "mdt_coordinator", "The case list often goes out the evening "
                                                   "before, so members cannot prepare."),
    ],
    "mdt_discussion": [
        ("strength", "visiting", "cns", "The chair asked the CNS for the patient's wishes on "
                                        "every case."),
        ("opportunity", "visiting", "clinical_lead", "Several cases were deferred because the "
                                                     "pathology was not back."),
        ("idea", "visiting", "mdt_coordinator", "Our coordinator closes the list at noon the "
                                                "day before; it cut deferrals by half."),
    ],
    "audit_discussion": [
        ("opportunity", "host", "clinical_lead", "Our active treatment rate is below the "
                                                 "national figure for older patients."),
        ("idea", "visiting", "clinical_lead", "A frailty assessment clinic before the MDT "
                                              "helped us offer treatment to more people."),
    ],
    "survey_discussion": [
        ("strength", "visiting", "cns", "Patients said they always knew how to reach their "
                                        "nurse specialist."),
        ("opportunity", "host", "cns", "Fewer patients than nationally felt involved in "
                                       "decisions about their treatment."),
    ],
    "summary": [
        ("action", "host", "mdt_coordinator", "Close the MDT list at noon the day before, "
                                              "from next month."),
    ],
}


def _the_day(visit: Visit, rng: random.Random) -> None:
    """A finished visit day: what was said, the observations, feedback and focus areas."""
    from .models import VisitAgendaItem
    from .services import day, observation
    from .services.day import visit_agenda_ensure

    visit = Visit.objects.select_related("programme", "facilitator").get(pk=visit.pk)
    actor = visit.facilitator
    items = visit_agenda_ensure(visit=visit, user=actor)
    sessions = {item.kind: item for item in items}
    # The sessions ran one after another from the start of the day, some over and some under
    # their planned time, as the report's "agenda as it ran" shows.
    moment = timezone.make_aware(datetime.datetime.combine(visit.date, visit.start_time))
    for n, item in enumerate(items):
        item.started_at = moment
        moment += datetime.timedelta(
            minutes=item.planned_minutes + OVERRUNS[n % len(OVERRUNS)])
        item.ended_at = moment
    VisitAgendaItem.objects.bulk_update(items, ["started_at", "ended_at"])
    for kind, points in SAID.items():
        for n, (what, team, role, words) in enumerate(points):
            day.contribution_add(visit=visit, user=actor, kind=what, team=team, role=role,
                                 text=words, session=sessions.get(kind),
                                 client_id=uuid.UUID(int=visit.pk * 1000 + len(kind) * 10 + n))
    form = observation.observation_form_current(visit.programme)
    observers = [a.user for a in visit.attendees.filter(team="visiting")]
    for observer in observers:
        raw = {}
        for section in form.definition:
            for question in section["questions"]:
                if question["type"] == "number":
                    raw[question["key"]] = str(rng.randint(question.get("min", 0),
                                                           min(question.get("max", 8), 8)))
                elif question["type"] == "yes_no_partly":
                    raw[question["key"]] = rng.choice(["yes", "yes", "partly", "no"])
                elif question["type"] == "rating":
                    raw[question["key"]] = str(rng.randint(2, 5))
        observation.observation_draft_save(visit=visit, observer=observer, raw=raw)
        observation.observation_submit(visit=visit, observer=observer)
    day.feedback_save(
        visit=visit, team="visiting", user=actor,
        strengths="A warm, well-chaired meeting in which every patient's wishes were heard.",
        opportunities="Close the case list earlier, and chase pathology before the meeting.")
    day.feedback_save(
        visit=visit, team="host", user=actor,
        strengths="We were reassured that our nurse specialists' role is a real strength.",
        opportunities="We want to look again at how we offer treatment to older patients.")
    owner = visit.attendees.filter(team="host", role="mdt_coordinator").first()
    if owner:
        day.focus_area_add(visit=visit, user=actor, title="Earlier, complete case lists",
                           description="Close the list at noon the day before and check "
                                       "pathology is back, to cut deferred discussions.",
                           owner=owner.user)


def _report_sent(visit: Visit, actor: User) -> None:
    """Version 1 of the visit's report, approved by its facilitator a week after the visit
    and recorded as sent. The demo emails nobody, so it records the sending itself rather
    than through the ledger; the PDF is made by the app's own task once the demo is
    committed (seed_demo runs tasks in-process), which sends nothing for a version already
    sent. Rendering three reports takes seconds, so a test that builds the demo without
    committing it does not pay for them."""
    from .services import report
    from .tasks import generate_visit_report

    visit = Visit.objects.select_related("facilitator").get(pk=visit.pk)
    approved_at = timezone.make_aware(datetime.datetime.combine(
        visit.date + datetime.timedelta(days=7), datetime.time(11)))
    version = report.report_version_create(visit=visit, user=visit.facilitator or actor,
                                           based_on_version=0, approved_at=approved_at)
    VisitReport.objects.filter(pk=version.pk).update(
        sent_at=approved_at, recipient_count=len(report.report_recipients(visit)))
    generate_visit_report.delay_on_commit(version.pk)


def reports_build(programme: Programme, actor: User) -> int:
    """Version 1 of the report of each visit marked "Report sent". seed_demo calls it last,
    after the survey (each report's data pack has its results) and after qips.demo has
    agreed the rest of each visit's focus areas, so the report lists them all."""
    first_entry = ActivityLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    visits = list(programme.visits.filter(status=Visit.Status.REPORT_SENT, reports=None))
    for visit in visits:
        _report_sent(visit, actor)
    _date_log_entries_after(first_entry)
    return len(visits)


def _date_log_entries_after(first_entry: int) -> None:
    """Date the log at the start of the day the demo was built: a rebuild the same day
    matches, and no entry is ever in the future (as 08:00 was, for a demo built at night)."""
    ActivityLog.objects.filter(id__gt=first_entry).update(created_at=timezone.make_aware(
        datetime.datetime.combine(timezone.localdate(), datetime.time(0))))


@transaction.atomic
def build(programme: Programme, actor: User) -> dict[str, int]:
    rng = random.Random(1997)
    today = timezone.localdate()
    first_entry = ActivityLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    visits = services.visits_create_for_pairing(programme=programme, user=actor)
    pairs = [visits[i:i + 2] for i in range(0, len(visits), 2)]
    # The demo site team's own pair has visited: its sign-ins then see a visit day, its
    # focus areas and the improvement plans that grew from them.
    pairs.sort(key=lambda pair: not any(
        v.host.memberships.filter(user__email=programmes_demo.SITE_LEAD_EMAIL).exists()
        for v in pair))
    counts: dict[str, int] = {}
    index = 0

    def take(n):
        nonlocal index
        chunk = pairs[index:index + n]
        index += n
        return chunk

    # A year and more ago: their hosts' improvement plans have run long enough to show
    # shifts and trends on their charts (qips.demo).
    for weeks_ago, (first, second) in zip((60, 56, 52), take(HAPPENED_PAIRS), strict=True):
        for visit, extra in ((first, 0), (second, 4)):
            date = _next_weekday(today - datetime.timedelta(weeks=weeks_ago - extra),
                                 visit.host.mdt_day)
            services.visit_choose_date(
                visit=visit, date=_mdt_day_from(visit, today + datetime.timedelta(days=1)),
                user=actor)
            _with_dates_unchecked(visit, date)
            visit.refresh_from_db()
            services.visit_confirm(visit=visit, user=actor, start_time=datetime.time(9, 30),
                                   end_time=datetime.time(16), venue="Education centre",
                                   directions="", override_reason="")
            LogisticsTask.objects.filter(visit=visit).update(done_at=timezone.now(),
                                                             done_by=actor)
            services.visit_mark_happened(visit=visit, user=actor)
            _the_day(visit, rng)
        # Its report was approved and sent (reports_build makes it, once the demo is built);
        # the second visit's report awaits the facilitator's approval.
        Visit.objects.filter(pk=first.pk).update(status=Visit.Status.REPORT_SENT)

    to_poll_fully: list[Visit] = []

    upcoming: list[Visit] = []
    for weeks_ahead, (first, second) in zip((2, 4, 7), take(CONFIRMED_PAIRS), strict=True):
        upcoming.append(first)
        to_poll_fully.append(second)
        date = _mdt_day_from(first, today + datetime.timedelta(weeks=weeks_ahead))
        services.visit_choose_date(visit=first, date=date, user=actor)
        services.visit_confirm(visit=first, user=actor, start_time=datetime.time(9, 30),
                               end_time=datetime.time(16), venue="Seminar room, education centre",
                               directions="Visitor parking in car park C; the education centre "
                                          "is signposted from the main entrance.",
                               override_reason="")
        tasks = list(first.tasks.order_by("-days_before"))
        for task in tasks[: rng.randint(1, 4)]:
            services.task_complete(task=task, user=actor)

    for weeks_ahead, (first, second) in zip((9, 11), take(AGREED_PAIRS), strict=True):
        to_poll_fully.append(second)
        date = _mdt_day_from(first, today + datetime.timedelta(weeks=weeks_ahead))
        services.visit_choose_date(visit=first, date=date, user=actor)

    def poll(visit: Visit, *, share: float) -> None:
        opened = services.poll_open(
            visit=visit, user=actor, window_start=today + datetime.timedelta(weeks=6),
            window_end=today + datetime.timedelta(weeks=20),
            deadline=timezone.now() + datetime.timedelta(days=10))
        dates = [d.date for d in opened.dates.all()]
        # The facilitator (asked last) answers first: they arrange their diary around visits.
        invitees = list(PollInvitee.objects.filter(poll=opened).order_by("-pk"))
        for invitee in invitees[: max(1, round(len(invitees) * share))]:
            services.poll_answer(invitee=invitee, answers={
                date: rng.choices(["yes", "if_need_be", "no"], weights=[7, 2, 1])[0]
                for date in dates})

    for first, _second in take(HALF_ANSWERED_PAIRS):
        poll(first, share=0.5)

    for first, _second in take(CANCELLED_PAIRS):
        date = _mdt_day_from(first, today + datetime.timedelta(weeks=5))
        services.visit_choose_date(visit=first, date=date, user=actor)
        services.visit_cancel(visit=first, user=actor,
                              reason="The host team's clinical lead is on leave; to be "
                                     "re-arranged for the spring.")

    for first, second in take(POLLED_PAIRS):
        to_poll_fully += [first, second]
    for visit in to_poll_fully:
        poll(visit, share=1.0)

    # The next visit's data pack is checked and ready (two weeks before, as the programme
    # asks); its host has just four survey responses, and the one after that two, so the
    # demo shows both small-numbers warnings.
    demo_survey.build(programme, actor, low_site=upcoming[0].host,
                      suppressed_site=upcoming[1].host)
    data_pack = upcoming[0].tasks.get(kind=LogisticsTask.Kind.DATA_PACK)
    if data_pack.done_at is None:
        services.task_complete(task=data_pack, user=actor)

    _date_log_entries_after(first_entry)
    for status in Visit.Status.values:
        counts[status] = programme.visits.filter(status=status).count()
    return counts
