"""The visit day in a real browser: the facilitator runs live mode from the first session to
the summary, and a note captured while offline is kept, shown as waiting, and sent once."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from visits.models import Contribution, Visit, VisitAgendaItem, VisitAttendee

from ..factories import SiteMembershipFactory
from .keyboard import assert_keyboard_works
from .test_journeys import sign_in


@pytest.fixture(autouse=True)
def _live_site_url(settings, live_server):
    settings.SITE_URL = live_server.url


@pytest.fixture
def visit(programme, site, other_site, core, lead, cns, other_lead):
    visiting_cns = SiteMembershipFactory(site=other_site, role="cns").user
    host_mdtc = SiteMembershipFactory(site=site, role="mdt_coordinator").user
    visit = Visit.objects.create(programme=programme, host=site, visitor=other_site,
                                 status=Visit.Status.CONFIRMED, facilitator=core,
                                 date=timezone.localdate(), start_time=datetime.time(9),
                                 end_time=datetime.time(16))
    for user, team, role in ((lead, "host", "clinical_lead"), (cns, "host", "cns"),
                             (host_mdtc, "host", "mdt_coordinator"),
                             (other_lead, "visiting", "clinical_lead"),
                             (visiting_cns, "visiting", "cns"),
                             (core, "facilitator", "facilitator")):
        VisitAttendee.objects.create(visit=visit, user=user, team=team, role=role)
    return visit


def open_live(page, live_server, core, visit):
    sign_in(page, live_server, core.email)
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/visits/{visit.pk}/live/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Live mode")


def capture(page, kind, who, text):
    # NHS.UK buttons with data-prevent-double-click ignore a second click within a second.
    page.wait_for_timeout(1100)
    page.get_by_label(kind, exact=True).check()
    page.get_by_label("Who raised it?").select_option(label=who)
    page.get_by_label("What was said").fill(text)
    page.get_by_role("button", name="Capture", exact=True).click()


@pytest.mark.django_db(transaction=True)
def test_a_facilitator_runs_the_day_from_the_first_session_to_the_summary(
    page, live_server, visit, core, screenshot, close_up
):
    sign_in(page, live_server, core.email)
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/visits/{visit.pk}/agenda/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Agenda for the visit day")
    page.get_by_text("Guidance for this session").nth(2).click()
    expect(page.get_by_text("nurse to nurse").first).to_be_visible()
    screenshot(page, "visit-day-agenda")
    page.get_by_role("link", name="Run the day in live mode").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Live mode")
    panel = page.locator("#session-panel")
    expect(panel.get_by_role("heading", level=2)).to_have_text("Host team's introduction")
    assert_keyboard_works(page)
    page.evaluate("window.stillTheSamePage = true")

    panel.get_by_role("button", name="Start this session").click()
    expect(panel.get_by_text("Running", exact=True)).to_be_visible()
    clock = page.locator("[data-live-clock]")
    first = clock.inner_text()
    page.wait_for_function(
        "text => document.querySelector('[data-live-clock]').textContent !== text", arg=first,
        timeout=5000)
    assert re.fullmatch(r"\d\d:\d\d", clock.inner_text())
    assert clock.inner_text() != first

    # An empty note is refused in place, with the error next to the box.
    page.get_by_role("button", name="Capture", exact=True).click()
    expect(page.locator("#capture-form .nhsuk-error-message").first).to_be_visible()
    expect(page.locator("#capture-form")).to_contain_text("Enter what was said")
    assert not Contribution.objects.filter(visit=visit).exists()

    counts = page.locator("#role-counts")
    expect(counts.locator('[data-role-count="visiting:cns"]')).to_contain_text("Not heard yet")
    capture(page, "Strength", "Clinical lead, host team", "We meet the 62-day target")
    expect(page.locator("#captures")).to_contain_text("We meet the 62-day target")
    capture(page, "Opportunity for improvement", "CNS, visiting team",
            "Pathology reports arrive late")
    expect(page.locator("#captures")).to_contain_text("Pathology reports arrive late")
    expect(counts.locator('[data-role-count="visiting:cns"]')).to_have_attribute(
        "data-count", "1")
    expect(counts.locator('[data-role-count="visiting:cns"]')).not_to_contain_text(
        "Not heard yet")
    expect(counts.locator('[data-role-count="host:cns"]')).to_contain_text("Not heard yet")
    expect(page.get_by_label("What was said")).to_have_value("")
    expect(page.locator("#capture-form .nhsuk-error-message")).to_have_count(0)
    assert page.evaluate("window.stillTheSamePage") is True  # htmx, no reload
    screenshot(page, "visit-day-live")
    page.set_viewport_size({"width": 800, "height": 1100})  # a tablet, as used on the day
    close_up(page, "visit-day-live-tablet-viewport")
    page.set_viewport_size({"width": 1280, "height": 900})

    titles = list(VisitAgendaItem.objects.filter(visit=visit).values_list("title", flat=True))
    for title in titles[1:]:
        panel.get_by_role("button", name="Next session").click()
        expect(panel.get_by_role("heading", level=2)).to_have_text(title)
        if title == "Discussion: how the MDT meeting functions":
            capture(page, "Idea or solution", "MDT coordinator, host team",
                    "Share the radiology slot rota")
            expect(page.locator("#captures")).to_contain_text("Share the radiology slot rota")
    panel.get_by_role("button", name="End the last session").click()
    expect(panel.get_by_role("heading", level=2)).to_have_text("Every session is done")
    assert page.evaluate("window.stillTheSamePage") is True
    assert not VisitAgendaItem.objects.filter(visit=visit, ended_at__isnull=True).exists()

    panel.get_by_role("link", name="Go to the summary").click()
    page.wait_for_url(re.compile(rf"/visits/{visit.pk}/summary/$"))
    main = page.locator("main")
    text = main.inner_text()
    assert "We meet the 62-day target" in text and "Pathology reports arrive late" in text
    assert "Share the radiology slot rota" in text
    screenshot(page, "visit-day-summary")


@pytest.mark.django_db(transaction=True)
def test_a_note_captured_offline_waits_and_is_sent_once_back_online(
    page, live_server, visit, core, screenshot
):
    open_live(page, live_server, core, visit)
    page.locator("#session-panel").get_by_role("button", name="Start this session").click()
    expect(page.locator("#session-panel")).to_contain_text("Running")

    # A draft survives a reload.
    page.get_by_label("What was said").fill("Half-typed thought")
    page.reload()
    expect(page.get_by_label("What was said")).to_have_value("Half-typed thought")

    page.context.set_offline(True)
    capture(page, "Action", "CNS, visiting team", "Send the CNS rota to the host team")
    pending = page.locator("[data-pending-list]")
    expect(pending).to_contain_text("Waiting to send")
    expect(pending).to_contain_text("Send the CNS rota to the host team")
    expect(page.locator("#capture-status")).to_contain_text("kept on this device")
    expect(page.get_by_label("What was said")).to_have_value("")
    assert not Contribution.objects.filter(visit=visit).exists()
    screenshot(page, "visit-day-offline-waiting")

    page.context.set_offline(False)
    expect(page.locator("#captures")).to_contain_text("Send the CNS rota to the host team",
                                                      timeout=20000)
    expect(page.locator("[data-pending-section]")).to_be_hidden()
    assert Contribution.objects.filter(visit=visit).count() == 1
    note = Contribution.objects.get(visit=visit)
    assert (note.kind, note.team, note.role) == ("action", "visiting", "cns")
    assert note.session.title == "Host team's introduction"

    # Nothing is left to replay: a reload sends nothing twice.
    page.reload()
    expect(page.locator("#captures")).to_contain_text("Send the CNS rota to the host team")
    expect(page.locator("[data-pending-section]")).to_be_hidden()
    assert Contribution.objects.filter(visit=visit).count() == 1
