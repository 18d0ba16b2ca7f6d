"""The core team's main path, and a site member's keyboard-only answer to a poll: from the
dashboard's "not dated yet" figure to the scheduler's proposal, agreed in the browser; an
invitation to join the core team; and the keyboard checks on the key pages."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from programmes.models import Invitation, Pair, Pairing
from visits import services as visit_services
from visits.models import PollAnswer, PollInvitee, Visit
from visits.services.polls import poll_token

from ..factories import SiteMembershipFactory
from .keyboard import assert_keyboard_works
from .test_journeys import sign_in


@pytest.fixture(autouse=True)
def _live_site_url(settings, live_server):
    settings.SITE_URL = live_server.url


@pytest.fixture
def open_visits(programme, site, other_site, core, facilitator):
    """A confirmed pair's two visits, each with an open poll that everyone has answered."""
    for s in (site, other_site):
        for role in ("clinical_lead", "cns", "mdt_coordinator"):
            SiteMembershipFactory(site=s, role=role)
    pairing = Pairing.objects.create(programme=programme, status=Pairing.Status.CONFIRMED)
    Pair.objects.create(pairing=pairing, site_a=site, site_b=other_site)
    visits = visit_services.visits_create_for_pairing(programme=programme, user=core)
    start = timezone.localdate() + datetime.timedelta(days=42)
    for visit in visits:
        poll = visit_services.poll_open(
            visit=visit, user=core, window_start=start,
            window_end=start + datetime.timedelta(days=41),
            deadline=datetime.datetime.combine(start - datetime.timedelta(days=14),
                                               datetime.time(17), tzinfo=datetime.UTC))
        for invitee in PollInvitee.objects.filter(poll=poll):
            visit_services.poll_answer(invitee=invitee,
                                       answers={d.date: "yes" for d in poll.dates.all()})
    return visits


@pytest.mark.django_db(transaction=True)
def test_core_team_follows_the_dashboard_to_the_scheduler_and_agrees_the_dates(
    page, live_server, programme, core, open_visits, screenshot
):
    sign_in(page, live_server, core.email)
    page.wait_for_url(f"{live_server.url}/programmes/{programme.pk}/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    screenshot(page, "dashboard")
    assert_keyboard_works(page)

    page.get_by_role("link", name=re.compile(r"not dated yet")).first.click()
    page.wait_for_url(re.compile(rf"/programmes/{programme.pk}/visits/\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Visits")
    for visit in open_visits:
        expect(page.locator("main")).to_contain_text(str(visit))
    screenshot(page, "visits-not-dated")

    page.get_by_role("link", name="Propose dates for all open visits").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Proposed dates for every open visit")
    expect(page.locator("main")).to_contain_text("2 visits can be dated")
    screenshot(page, "schedule-proposed")
    assert_keyboard_works(page)
    page.get_by_role("button", name="Agree the selected dates").click()
    expect(page.locator("main")).to_contain_text("2 date(s) agreed")
    first, second = (Visit.objects.get(pk=v.pk) for v in open_visits)
    assert first.status == second.status == Visit.Status.DATE_AGREED
    assert first.date < second.date
    screenshot(page, "visits-dates-agreed")

    # Setting up: a new colleague is invited to the core team from the programme's page.
    page.goto(f"{live_server.url}/programmes/{programme.pk}/")
    screenshot(page, "programme")
    assert_keyboard_works(page)
    page.get_by_role("link", name="Invite someone to the core team").click()
    page.get_by_label("Full name").fill("Sam Analyst")
    page.get_by_label("Email address").fill("sam@nhs.example")
    page.locator("main input[type=radio]").first.check()
    screenshot(page, "core-team-invite")
    page.get_by_role("button", name=re.compile("Send the invitation")).click()
    expect(page.locator("main")).to_contain_text("An invitation has been sent")
    assert Invitation.objects.filter(email="sam@nhs.example", programme=programme).exists()


@pytest.mark.django_db(transaction=True)
def test_a_site_member_answers_the_availability_poll_with_the_keyboard_alone(
    page, live_server, programme, core, open_visits, screenshot
):
    visit = open_visits[0]
    invitee = PollInvitee.objects.filter(poll=visit.poll).first()
    first_date = visit.poll.dates.first().date
    page.goto(live_server.url + reverse("visits:poll_answer", args=[poll_token(invitee)]))
    expect(page.get_by_role("heading", level=1)).to_have_text("Which dates can you make?")
    screenshot(page, "poll-answer")
    assert_keyboard_works(page)

    target = f"date-{first_date.isoformat()}-no"
    page.evaluate("() => window.scrollTo(0, 0)")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.name") == f"date-{first_date}":
            break
    # Arrow keys move between a radio group's options; Space checks the focused one.
    for _ in range(3):
        if page.evaluate("() => document.activeElement.id") == target:
            break
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    expect(page.locator(f"#{target}")).to_be_checked()
    page.locator("#saved").get_by_text("Saved").wait_for()
    # Each arrow press checks an option and saves it, so "Saved" may be the answer to an
    # earlier option: wait for the last one to arrive rather than read the first.
    answers = PollAnswer.objects.filter(invitee=invitee, poll_date__date=first_date)
    for _ in range(50):
        if answers.filter(answer="no").exists():
            break
        page.wait_for_timeout(100)
    assert answers.get().answer == "no"
