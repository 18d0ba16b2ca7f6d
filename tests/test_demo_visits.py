"""The demo's visits: every state present, and the scheduler works on them."""

from io import StringIO

from django.core.management import call_command

from programmes import demo
from visits.models import Visit
from visits.scheduler import Rules, check_schedule
from visits.services import schedule_propose
from visits.services.schedule import schedule_requests


def test_the_demo_has_visits_in_every_state_and_the_scheduler_dates_the_open_ones(db):
    call_command("seed_demo", stdout=StringIO())
    programme = demo.demo_programmes().get()
    statuses = set(programme.visits.values_list("status", flat=True))
    assert statuses == set(Visit.Status.values)
    # Half-answered polls exist alongside fully answered ones.
    polls = [v.poll for v in programme.visits.filter(status="polling").select_related("poll")]
    answered = [p.invitees.filter(responded_at__isnull=False).count() / p.invitees.count()
                for p in polls]
    assert min(answered) < 1 and max(answered) == 1

    proposal = schedule_propose(programme, time_limit_seconds=20)
    open_ids = set(programme.visits.filter(status__in=["proposed", "polling"])
                   .values_list("pk", flat=True))
    assert len(set(proposal.dates) & open_ids) >= 6
    rules = Rules(facilitator_max_per_week=programme.facilitator_max_visits_per_week,
                  site_min_gap_days=programme.visit_gap_days)
    assert check_schedule(schedule_requests(programme), rules, proposal.dates) == []
