"""Visit pages keep the same number of queries however many visits, people and tasks."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from programmes.models import CoreTeamMembership, Pair, Pairing
from visits import services
from visits.models import PollInvitee

from .factories import CoreTeamMembershipFactory, EnrolmentFactory, SiteMembershipFactory

NOW = datetime.datetime(2026, 3, 2, 9, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def add_pairs(programme, core, n):
    """n more pairs with full teams, visits, a fully answered poll and a confirmed visit."""
    pairing, _ = Pairing.objects.get_or_create(programme=programme, status="confirmed")
    for _ in range(n):
        a, b = (EnrolmentFactory(programme=programme, status="intervention").site
                for _ in range(2))
        for site in (a, b):
            for role in ("clinical_lead", "cns", "mdt_coordinator", "manager"):
                SiteMembershipFactory(site=site, role=role)
        Pair.objects.create(pairing=pairing, site_a=a, site_b=b)
    visits = services.visits_create_for_pairing(programme=programme, user=core)
    for first, second in zip(visits[::2], visits[1::2], strict=True):
        poll = services.poll_open(
            visit=second, user=core, window_start=datetime.date(2026, 4, 1),
            window_end=datetime.date(2026, 5, 30),
            deadline=datetime.datetime(2026, 3, 20, 17, tzinfo=datetime.UTC))
        for invitee in PollInvitee.objects.filter(poll=poll):
            services.poll_answer(invitee=invitee, answers={d.date: "yes"
                                                           for d in poll.dates.all()})
        services.visit_choose_date(visit=first, date=datetime.date(2026, 3, 31), user=core)
        services.visit_confirm(visit=first, user=core, start_time=datetime.time(9),
                               end_time=datetime.time(16), venue="Room", directions="")
    return visits


def count(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


@pytest.mark.parametrize(("name", "budget"), [
    ("programme visits", 12), ("logistics", 10), ("visit", 16), ("poll grid", 14),
    ("site visits", 14),
])
def test_visit_pages_stay_flat(as_core, programme, core, name, budget):
    CoreTeamMembershipFactory(programme=programme, role=CoreTeamMembership.Role.QI_FACILITATOR)
    visits = add_pairs(programme, core, 2)
    urls = {
        "programme visits": f"/programmes/{programme.pk}/visits/",
        "logistics": f"/programmes/{programme.pk}/logistics/",
        "visit": f"/visits/{visits[0].pk}/",
        "poll grid": f"/visits/{visits[1].pk}/poll/",
        "site visits": f"/sites/{visits[0].host_id}/visits/",
    }
    small = count(as_core, urls[name])
    add_pairs(programme, core, 6)
    large = count(as_core, urls[name])
    assert small == large, f"{name}: {small} queries for 2 pairs, {large} for 8"
    assert large <= budget, f"{name}: {large} queries, budget {budget}"
