"""The QIP issue's acceptance point in a real browser: a site team turns a visit focus area
into a plan and submits it; the core team asks for a change, the team resubmits, the core
team approves; the team adds a PDSA cycle and enters data, and the chart shows the signals."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from qips.models import Driver, Measure, Measurement, PdsaCycle, QualityImprovementPlan
from visits.models import FocusArea, Visit

from .test_journeys import sign_in

PROBLEM = ("Only 30% of our patients had a lung cancer nurse specialist with them when told "
           "their diagnosis (audit, 2025), against 64% nationally.")


@pytest.fixture(autouse=True)
def _live_site_url(settings, live_server):
    settings.SITE_URL = live_server.url


@pytest.fixture
def focus_area(programme, site, other_site, lead, other_lead, core):
    visit = Visit.objects.create(programme=programme, host=site, visitor=other_site,
                                 status=Visit.Status.HAPPENED, facilitator=core,
                                 date=timezone.localdate() - datetime.timedelta(days=30))
    return FocusArea.objects.create(
        visit=visit, title="CNS at diagnosis", owner=lead, created_by=core,
        description="Too few patients have a nurse specialist with them when told.")


@pytest.fixture
def core_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def months_back(count: int) -> list[datetime.date]:
    """The first days of the last ``count`` whole months, oldest first."""
    first = timezone.localdate().replace(day=1)
    months = []
    for _ in range(count):
        first = (first - datetime.timedelta(days=1)).replace(day=1)
        months.append(first)
    return months[::-1]


def click_button(page, name):
    # NHS.UK buttons with data-prevent-double-click ignore a second click within a second.
    page.wait_for_timeout(1100)
    page.get_by_role("button", name=name, exact=True).click()


def status_tag(page):
    return page.locator("main p strong.nhsuk-tag").first


@pytest.mark.django_db(transaction=True)
def test_a_focus_area_becomes_an_approved_plan_with_a_pdsa_cycle_and_a_chart_that_signals(
    page, core_page, live_server, focus_area, lead, core, screenshot, close_up
):
    base = live_server.url

    # 1. The host lead starts a plan from the agreed focus area, fills it in and submits it.
    sign_in(page, live_server, lead.email)
    page.wait_for_load_state()
    page.goto(f"{base}/visits/{focus_area.visit_id}/summary/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Summary of the visit day")
    screenshot(page, "qip-01-visit-summary")
    page.get_by_role("button", name=re.compile(r"^Start a plan")).click()
    page.wait_for_url(re.compile(r"/qips/\d+/edit/$"))
    plan = QualityImprovementPlan.objects.get(focus_area=focus_area)
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit the plan")
    expect(page.get_by_label("Title")).to_have_value("CNS at diagnosis")
    page.get_by_label("Problem statement").fill(PROBLEM)
    page.get_by_label("What will improve").fill(
        "the share of patients told their diagnosis with a nurse specialist present")
    page.get_by_label("By how much").fill("from 30% to 75%")
    page.get_by_label("For whom").fill("patients diagnosed with lung cancer at our trust")
    page.get_by_label("By when").fill(
        (timezone.localdate() + datetime.timedelta(days=300)).isoformat())
    screenshot(page, "qip-02-plan-form")
    click_button(page, "Save the plan")
    page.wait_for_url(f"{base}/qips/{plan.pk}/")
    expect(page.locator("main")).to_contain_text("from 30% to 75%")
    expect(status_tag(page)).to_have_text("Draft")
    expect(page.locator("main")).to_contain_text("Add at least one measure.")

    page.get_by_role("link", name="Add a measure", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a measure")
    page.get_by_label("Outcome", exact=True).check()
    page.get_by_label("Name", exact=True).fill("CNS present at diagnosis")
    page.get_by_label("Numerator", exact=True).fill(
        "Patients told their diagnosis with a CNS present")
    page.get_by_label("Denominator", exact=True).fill("Patients told their diagnosis")
    page.get_by_label("Frequency").select_option("monthly")
    page.get_by_label("Data source").fill("Clinic log")
    page.get_by_label("Higher is better").check()
    page.get_by_label("Baseline", exact=True).fill("30")
    page.get_by_label("Target", exact=True).fill("75")
    page.get_by_label("XmR (SPC) chart").check()
    screenshot(page, "qip-03-measure-form")
    click_button(page, "Save")
    page.wait_for_url(re.compile(rf"/qips/{plan.pk}/#measures$"))
    measure = Measure.objects.get(plan=plan)
    assert (measure.kind, measure.chart, measure.denominator) == (
        "outcome", "xmr", "Patients told their diagnosis")
    expect(page.locator("#measure-" + str(measure.pk))).to_contain_text(
        "CNS present at diagnosis")

    click_button(page, "Submit for review")
    expect(status_tag(page)).to_have_text("Submitted for review")
    screenshot(page, "qip-04-submitted")

    # 2. The core team comments on the aim and asks for changes.
    sign_in(core_page, live_server, core.email)
    core_page.wait_for_load_state()
    core_page.goto(f"{base}/qips/{plan.pk}/")
    expect(status_tag(core_page)).to_have_text("Submitted for review")
    core_page.get_by_label("About").select_option(label="Aim")
    core_page.get_by_label("Comment", exact=True).fill(
        "Say which clinics count: does the aim include the Friday rapid-access clinic?")
    click_button(core_page, "Add the comment")
    core_page.wait_for_url(re.compile(rf"/qips/{plan.pk}/#review$"))
    expect(core_page.locator("#review ~ section").first).to_contain_text("Friday rapid-access")
    core_page.locator("summary", has_text="Ask for changes").click()
    expect(core_page.get_by_label("What should change?")).to_be_visible()
    screenshot(core_page, "qip-05a-core-review")
    click_button(core_page, "Ask for changes")
    expect(status_tag(core_page)).to_have_text("Changes requested")
    screenshot(core_page, "qip-05-changes-requested")

    # 3. The team answers the comment and resubmits.
    page.goto(f"{base}/qips/{plan.pk}/")
    expect(status_tag(page)).to_have_text("Changes requested")
    page.get_by_role("link", name=re.compile(r"^Answer this comment")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Answer a comment")
    page.get_by_label("Your answer").fill("Yes: every clinic where a diagnosis is given, "
                                          "including the Friday rapid-access clinic.")
    screenshot(page, "qip-06-answer-comment")
    click_button(page, "Save your answer")
    page.wait_for_url(re.compile(rf"/qips/{plan.pk}/#review$"))
    expect(page.locator("main")).to_contain_text("including the Friday rapid-access clinic")
    click_button(page, "Resubmit for review")
    expect(status_tag(page)).to_have_text("Resubmitted")

    # 4. The core team approves.
    core_page.goto(f"{base}/qips/{plan.pk}/")
    expect(status_tag(core_page)).to_have_text("Resubmitted")
    expect(core_page.locator("main")).to_contain_text("including the Friday rapid-access clinic")
    click_button(core_page, "Approve the plan")
    expect(status_tag(core_page)).to_have_text("Approved")
    expect(core_page.locator("main")).to_contain_text("Approved " + format(
        timezone.localdate(), "%-d %B %Y"))
    screenshot(core_page, "qip-07-approved")

    # 5. The team starts work, builds the driver diagram and plans a PDSA cycle.
    page.goto(f"{base}/qips/{plan.pk}/")
    click_button(page, "Start work")
    expect(status_tag(page)).to_have_text("In progress")

    def add_driver(kind, under, wording):
        page.get_by_role("link", name="Add a driver or change idea").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Add to the driver diagram")
        page.get_by_label("Under").select_option(label=under)
        page.get_by_label(kind, exact=True).check()
        page.get_by_label("Wording").fill(wording)
        click_button(page, "Save")
        page.wait_for_url(re.compile(rf"/qips/{plan.pk}/#drivers$"))
        expect(page.locator(".app-driver-diagram")).to_contain_text(wording)

    add_driver("Primary driver", "The aim (for a primary driver)",
               "A nurse specialist is free when the news is given")
    add_driver("Secondary driver",
               "Primary driver: A nurse specialist is free when the news is given",
               "Diagnosis clinics are booked into the nurses' diaries")
    add_driver("Change idea",
               "Secondary driver: Diagnosis clinics are booked into the nurses' diaries",
               "The MDT coordinator books the CNS when the clinic slot is booked")
    idea = Driver.objects.get(plan=plan, kind=Driver.Kind.CHANGE_IDEA)
    assert idea.parent.parent.kind == Driver.Kind.PRIMARY
    diagram = page.locator(".app-driver-diagram")
    expect(diagram.locator(".app-driver-diagram__node--primary")).to_have_count(1)
    expect(diagram.locator(".app-driver-diagram__node--secondary")).to_have_count(1)
    expect(diagram.locator(".app-driver-diagram__node--idea")).to_have_count(1)
    screenshot(page, "qip-08-driver-diagram")
    close_up(diagram, "qip-08b-driver-diagram-close")

    months = months_back(20)
    page.get_by_role("link", name="Plan a PDSA cycle", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Plan a PDSA cycle")
    page.get_by_label("Change idea").select_option(label=idea.text)
    page.get_by_label("Title", exact=True).fill("Book the CNS with the clinic slot")
    page.get_by_label("What question will this test answer?").fill(
        "If the coordinator books the CNS with the slot, is a CNS there when the news is given?")
    page.get_by_label("What do you predict will happen?").fill(
        "At least 8 of the next 10 patients will have a CNS with them when told")
    page.get_by_label("Started on").fill(months[10].isoformat())
    screenshot(page, "qip-09-pdsa-form")
    click_button(page, "Save")
    page.wait_for_url(re.compile(rf"/qips/{plan.pk}/#pdsa$"))
    cycle = PdsaCycle.objects.get(plan=plan)
    assert cycle.change_idea == idea and cycle.started_on == months[10]
    expect(page.locator(f"#cycle-{cycle.pk}")).to_contain_text(
        "Book the CNS with the clinic slot")
    expect(page.locator(f"section[aria-labelledby='cycle-{cycle.pk}']")).to_contain_text(
        "At least 8 of the next 10 patients")

    # 6. Twenty months of data with a clear upward shift after the change.
    page.get_by_role("link", name=re.compile(r"^Enter data and see the figures")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("CNS present at diagnosis")
    before = [12, 11, 13, 12, 14, 11, 12, 13, 12, 11]
    after = [29, 31, 30, 32, 28, 30, 31, 29, 30, 32]
    rows = "\n".join(f"{month:%Y-%m}\t{numerator}\t40"
                     for month, numerator in zip(months, before + after, strict=True))
    page.get_by_label("Paste rows from a spreadsheet").fill(rows)
    screenshot(page, "qip-10-paste-data")
    click_button(page, "Save the pasted rows")
    expect(page.locator("main")).to_contain_text("Saved 20 values")
    assert Measurement.objects.filter(measure=measure).count() == 20
    expect(page.locator("figure.app-chart svg")).to_be_visible()
    screenshot(page, "qip-11-measure-data")

    page.get_by_role("link", name="Back to the plan").click()
    page.wait_for_url(re.compile(rf"/qips/{plan.pk}/#measures$"))
    card = page.locator(f"section[aria-labelledby='measure-{measure.pk}']")
    chart = card.locator("figure.app-chart svg")
    expect(chart).to_be_visible()
    # The chart is an image with a name and a plain-English description for screen readers.
    expect(card.get_by_role("img", name=re.compile("CNS present at diagnosis"))).to_be_visible()
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 150
    signals = card.locator("ul.nhsuk-list--bullet")
    expect(signals).to_be_visible()
    text = signals.inner_text()
    assert re.search(r"shift", text, re.I), text
    assert "improvement" in text, text
    assert "No signal" not in card.inner_text()
    screenshot(page, "qip-12-plan-with-chart")
    close_up(card, "qip-12b-measure-card-close")

    # The same plan on a phone: the driver diagram stacks, and the chart keeps a legible
    # size inside a frame that fits the screen and scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(chart).to_be_visible()
    frame = card.locator("figure.app-chart")
    box = frame.bounding_box()
    assert box and box["width"] <= 390, box
    assert frame.evaluate("f => f.scrollWidth > f.clientWidth")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    close_up(page.locator(".app-driver-diagram"), "qip-13-driver-diagram-phone")
    close_up(card, "qip-13b-measure-card-phone")
