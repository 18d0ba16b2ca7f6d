"""Acceptance: over a programme's first months, every reminder fires on its day, exactly once.

The clock (time_machine) walks day by day from Monday 2 March to Monday 20 July 2026. Each
day every beat job runs at the London times its crontab in CELERY_BEAT_SCHEDULE gives (an
interval job, closing polls, runs hourly), and at 10:00 the people in the story do that
day's work through the services. The ledger's new rows are counted day by day against the
expected schedule, and each one not held for a digest is one email. Then the same days are
walked again with every job run every day at 08:00: nothing new is sent.
"""

import datetime
from collections import Counter
from importlib import import_module
from zoneinfo import ZoneInfo

import pytest
import time_machine
from celery.schedules import crontab
from django.conf import settings
from django.core import mail

from ilcop.celery import app
from ilcop.models import Notification, ReminderEmails
from programmes.models import CoreTeamMembership, Enrolment, Pair, Pairing
from qips.models import Measure
from qips.services import plans as plan_services
from visits import services
from visits.models import FocusArea, Visit
from visits.services import observation

from .factories import CoreTeamMembershipFactory, SiteMembershipFactory
from .test_observation import full_answers

LONDON = ZoneInfo("Europe/London")
FIRST_DAY, LAST_DAY = datetime.date(2026, 3, 2), datetime.date(2026, 7, 20)
VISIT_DAY = datetime.date(2026, 4, 14)
D = datetime.date


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=LONDON)


def days(first: datetime.date, last: datetime.date):
    while first <= last:
        yield first
        first += datetime.timedelta(days=1)


def beat_runs(day: datetime.date) -> list[tuple[datetime.datetime, str]]:
    """(time, task) for every run beat makes on ``day``, in order."""
    runs = []
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        schedule = entry["schedule"]
        if isinstance(schedule, crontab):
            if day.isoweekday() % 7 not in schedule.day_of_week:  # Celery: Sunday is 0
                continue
            runs += [(at(day, h, m), entry["task"]) for h in schedule.hour
                     for m in schedule.minute]
        else:  # every few minutes: hourly through the working day is enough for the story
            runs += [(at(day, h), entry["task"]) for h in range(7, 20)]
    return sorted(runs)


def run_task(name: str) -> None:
    module, function = name.rsplit(".", 1)
    getattr(import_module(module), function)()


@pytest.fixture(autouse=True)
def _links(settings):
    settings.SITE_URL = "https://peer.example"


@pytest.fixture
def story(programme, site, other_site, core, lead, cns, other_lead):
    """Two paired sites, their teams and the core team, as the programme starts."""
    Enrolment.objects.update(status_changed_at=at(D(2026, 2, 2), 12))  # randomised in February
    people = {"core": core, "lead": lead, "cns": cns, "other_lead": other_lead}
    for name, role in (("admin", CoreTeamMembership.Role.ADMINISTRATOR),
                       ("facilitator", CoreTeamMembership.Role.QI_FACILITATOR)):
        people[name] = CoreTeamMembershipFactory(programme=programme, role=role).user
    for name, where, role in (("host_mdtc", site, "mdt_coordinator"),
                              ("host_surgeon", site, "other_clinician"),
                              ("visitor_cns", other_site, "cns"),
                              ("visitor_mdtc", other_site, "mdt_coordinator"),
                              ("visitor_manager", other_site, "manager")):
        people[name] = SiteMembershipFactory(site=where, role=role).user
    # The host's CNS gathers her reminders into a Monday digest.
    cns.reminder_emails = ReminderEmails.WEEKLY
    cns.save()
    pairing = Pairing.objects.create(programme=programme, status=Pairing.Status.CONFIRMED)
    Pair.objects.create(pairing=pairing, site_a=site, site_b=other_site)
    return people


def the_days_work(day: datetime.date, p: dict, programme, state: dict) -> None:
    """What the core team and the two teams do on ``day``, through the services."""
    visit = Visit.objects.get(pk=state["visit"].pk) if "visit" in state else None
    if day == D(2026, 3, 2):
        visit = state["visit"] = services.visits_create_for_pairing(
            programme=programme, user=p["core"])[0]
        state["poll"] = services.poll_open(
            visit=visit, user=p["core"], window_start=D(2026, 3, 30),
            window_end=D(2026, 4, 28), deadline=at(D(2026, 3, 13), 17))
    elif day == D(2026, 3, 3):  # all but the surgeon and the manager answer
        for name in ("facilitator", "lead", "cns", "host_mdtc", "other_lead", "visitor_cns",
                     "visitor_mdtc"):
            services.poll_answer(invitee=state["poll"].invitees.get(user=p[name]),
                                 answers={VISIT_DAY: "yes"})
    elif day == D(2026, 3, 16):
        services.visit_choose_date(visit=visit, date=VISIT_DAY, user=p["core"])
        services.visit_confirm(visit=visit, user=p["core"], start_time=datetime.time(9, 30),
                               end_time=datetime.time(16), venue="Seminar room 2",
                               directions="")
    elif day == D(2026, 3, 23):
        for task in visit.tasks.filter(kind__in=["room", "travel"]):
            services.task_complete(task=task, user=p["admin"])
    elif day == D(2026, 4, 8):
        for task in visit.tasks.filter(done_at__isnull=True):
            services.task_complete(task=task, user=p["admin"])
    elif day == VISIT_DAY:  # one of the three observers submits her form on the day
        observation.observation_draft_save(visit=visit, observer=p["visitor_cns"],
                                           raw=full_answers())
        observation.observation_submit(visit=visit, observer=p["visitor_cns"])
        services.visit_mark_happened(visit=visit, user=p["facilitator"])
        state["areas"] = [
            FocusArea.objects.create(visit=visit, title="Every patient told of their CNS",
                                     owner=p["cns"]),
            FocusArea.objects.create(visit=visit, title="Pathology at the MDT meeting",
                                     owner=p["host_mdtc"])]
    elif day == D(2026, 4, 30):
        # What approving the report does to the visit (visits.services.report).
        Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.REPORT_SENT)
    elif day == D(2026, 5, 20):
        state["plan"], _ = plan_services.plan_from_focus_area(focus_area=state["areas"][0],
                                                              user=p["cns"])
    elif day == D(2026, 5, 29):
        plan = state["plan"]
        plan_services.plan_update(plan=plan, user=p["cns"], aim_what="Tell every patient",
                                  problem_statement="A third of patients do not know theirs")
        Measure.objects.create(plan=plan, kind="outcome", name="Patients told of their CNS",
                               numerator="Told", denominator="New patients",
                               data_source="MDT records", direction="increase")
        plan_services.plan_transition(plan=plan, action="submit", user=p["cns"],
                                      as_core=False)
    elif day == D(2026, 6, 3):
        plan_services.plan_transition(plan=state["plan"], action="approve", user=p["core"],
                                      as_core=True)
        plan_services.plan_transition(plan=state["plan"], action="start", user=p["cns"],
                                      as_core=False)


MONDAYS = [d for d in days(FIRST_DAY, LAST_DAY) if d.weekday() == 0]
EXPECTED = {
    D(2026, 3, 11): {"poll_closing": 2},  # at 17:00, two days before the deadline
    D(2026, 3, 31): {"visit_in_14_days": 8},  # 7 going, and the administrator's open tasks
    D(2026, 4, 6): {"digest": 1},  # the CNS's held 14-day notice
    D(2026, 4, 12): {"visit_in_2_days": 7},  # the administrator's tasks are all done
    D(2026, 4, 15): {"observation_due": 2},  # one of the three observers submitted
    D(2026, 4, 21): {"report_awaiting_approval": 1},
    D(2026, 4, 28): {"report_awaiting_approval": 1},
    D(2026, 5, 19): {"qip_due_soon": 3},  # due 26 May: the lead and both focus-area owners
    D(2026, 5, 25): {"digest": 1},
    D(2026, 5, 27): {"qip_overdue": 3},  # the CNS's is dropped: the plan went in on 29 May
    D(2026, 7, 1): {"progress_update_due": 1},  # June's, from the plan's reporting owner
    D(2026, 7, 6): {"digest": 1},
    D(2026, 7, 15): {"progress_update_overdue": 2},  # and now the clinical lead too
    D(2026, 7, 20): {"digest": 1},
}


def test_every_reminder_fires_on_its_day_exactly_once(story, programme, site, other_site):
    p, state = story, {}
    seen: dict[datetime.date, Counter] = {}
    last_pk, emails = 0, {}
    with time_machine.travel(at(FIRST_DAY, 0), tick=False) as clock:
        for day in days(FIRST_DAY, LAST_DAY):
            before = len(mail.outbox)
            runs = beat_runs(day)
            for when, task in [r for r in runs if r[0].hour < 10]:
                clock.move_to(when)
                run_task(task)
            clock.move_to(at(day, 10))
            the_days_work(day, p, programme, state)
            for when, task in [r for r in runs if r[0].hour >= 10]:
                clock.move_to(when)
                run_task(task)
            new = list(Notification.objects.filter(pk__gt=last_pk).order_by("pk"))
            if new:
                last_pk = new[-1].pk
                seen[day] = Counter(n.kind for n in new)
            # Every new row not held for a digest is one email, sent that day.
            assert len(mail.outbox) - before == sum(not n.held_for_digest for n in new), day
            emails[day] = mail.outbox[before:]

    expected = {day: Counter(kinds) for day, kinds in EXPECTED.items()}
    for monday in MONDAYS:  # the core team's digest, to its three members
        expected.setdefault(monday, Counter())["core_team_digest"] += 3
    assert seen == expected

    def to(person, day):
        [message] = [m for m in emails[day] if m.to == [person.email]]
        return message

    assert to(p["core"], FIRST_DAY).subject.startswith("Nothing is overdue")
    # Six weeks after its observer's form, the visiting team has gone quiet; the host, which
    # started a plan on 20 May, has not.
    quiet = to(p["core"], D(2026, 6, 1)).body.split("Teams gone quiet")[1]
    assert f"- {other_site}: last heard from on Tuesday 14 April 2026" in quiet
    assert f"- {site}:" not in quiet
    cns_digest = to(p["cns"], D(2026, 5, 25))
    assert "Improvement plans from the visit on Tuesday 14 April 2026 are due" \
        in cns_digest.body

    # The same days again, every job every day: the ledger holds it all.
    sent, rows = len(mail.outbox), Notification.objects.count()
    with time_machine.travel(at(FIRST_DAY, 0), tick=False) as clock:
        for day in days(FIRST_DAY, LAST_DAY):
            clock.move_to(at(day, 8))
            for entry in settings.CELERY_BEAT_SCHEDULE.values():
                run_task(entry["task"])
    assert (len(mail.outbox), Notification.objects.count()) == (sent, rows)


def test_each_beat_entry_is_a_registered_task_run_in_the_working_day():
    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name
        schedule = entry["schedule"]
        if isinstance(schedule, crontab) and name != "close-polls-at-deadline":
            assert schedule.hour <= set(range(7, 20)), name  # London time
    reminders = [e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()]
    for task in ("visits.tasks.remind_polls", "visits.tasks.send_visit_reminders",
                 "visits.tasks.send_observation_reminders",
                 "visits.tasks.send_report_reminders", "qips.tasks.send_qip_reminders",
                 "qips.tasks.send_progress_reminders", "qips.tasks.send_core_team_digests",
                 "ilcop.tasks.send_digests"):
        assert reminders.count(task) == 1, task
    assert settings.CELERY_TIMEZONE == "Europe/London"


def test_a_reminder_task_returns_what_it_did(db):
    from qips.tasks import send_core_team_digests

    assert send_core_team_digests() == {"sent": 0, "held": 0, "already": 0, "failed": 0,
                                       "refused": 0}
