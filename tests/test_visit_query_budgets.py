"""Visit pages keep the same number of queries however many visits, people and tasks."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from programmes.models import CoreTeamMembership, Pair, Pairing
from visits import services
from visits.models import (
    Contribution,
    FocusArea,
    ObservationResponse,
    PollInvitee,
    Visit,
    VisitAttendee,
    VisitReport,
)
from visits.services import day as day_services
from visits.services import observation as observation_services

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


def add_to_the_visit_day(visit, core, n):
    """n more people on each team's list, observers, points in every session, focus areas
    and approved versions of the report."""
    items = day_services.visit_agenda_ensure(visit=visit, user=core)
    form = observation_services.observation_form_current(visit.programme)
    for _ in range(n):
        for site, team in ((visit.host, "host"), (visit.visitor, "visiting")):
            person = SiteMembershipFactory(site=site, role="other_clinician").user
            VisitAttendee.objects.create(visit=visit, user=person, team=team,
                                         role="other_clinician", present=True)
        observer = SiteMembershipFactory(site=visit.visitor, role="cns").user
        ObservationResponse.objects.create(visit=visit, form=form, observer=observer,
                                           answers={}, submitted_at=NOW)
        for item in items:
            for kind in Contribution.Kind.values:
                Contribution.objects.create(visit=visit, session=item, kind=kind, team="host",
                                            role="cns", text="Said in the session")
        FocusArea.objects.create(visit=visit, title="An area", owner=core)
        version = visit.reports.count() + 1
        VisitReport.objects.create(visit=visit, version=version, html="<p>Report</p>",
                                   correction_note="" if version == 1 else "A correction",
                                   pdf=b"%PDF-1.7", generated_at=NOW, sent_at=NOW)


@pytest.mark.parametrize(("who", "budget"), [("core", 20), ("lead", 8)])
def test_the_visit_report_page_stays_flat(client_for, programme, site, other_site, core, lead,
                                          who, budget):
    visit = Visit.objects.create(programme=programme, host=site, visitor=other_site,
                                 status=Visit.Status.HAPPENED, date=datetime.date(2026, 2, 24),
                                 facilitator=core)
    client = client_for({"core": core, "lead": lead}[who])
    url = f"/visits/{visit.pk}/report/"
    add_to_the_visit_day(visit, core, 1)
    count(client, url)  # fills the content-type cache, as any earlier request would have
    small = count(client, url)
    add_to_the_visit_day(visit, core, 5)
    large = count(client, url)
    assert small == large, f"{who}: {small} queries for 1 of each, {large} for 6"
    assert large <= budget, f"{who}: {large} queries, budget {budget}"
