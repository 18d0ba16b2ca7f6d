"""Issue 8's first acceptance point in a real browser, on the demo: the facilitator reads the
draft report of the demo site team's return visit, approves it (a double click makes one
version), and both teams and the core team each get one email with the PDF attached, whose
text holds the visit's content. A member of the visiting team then sees the approved version
and its download, never the draft; and that page fits a phone's width. The facilitator's page,
with the draft, does not yet (an app bug, marked as an expected failure below)."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from ilcop.models import User
from programmes import demo
from programmes.models import SiteMembership
from visits.models import Visit, VisitReport

from ..pdf import pdf_text
from . import test_journeys as journeys

SECTIONS = ("Peer review visit report", "1. Who took part", "2. The agenda as it ran",
            "3. Observations of the MDT meeting", "4. What was said in each session",
            "5. Feedback between the teams", "6. Agreed focus areas",
            "Appendix: the data pack")


@pytest.fixture(autouse=True)
def _live_site_url(settings, live_server):
    settings.SITE_URL = live_server.url


@pytest.fixture
def demo_visit(transactional_db):
    """The demo, seeded as `make run` seeds it; and in it the demo site team's return visit,
    which happened and whose report awaits the facilitator (the same visit as
    tests/test_visit_report.py's demo test)."""
    call_command("seed_demo", stdout=StringIO())
    programme = demo.demo_programmes().get()
    facilitator = User.objects.get(email=demo.CORE_FACILITATOR_EMAIL)
    site = SiteMembership.objects.get(user__email=demo.SITE_LEAD_EMAIL).site
    visit = programme.visits.select_related("host__organisation", "visitor__organisation").get(
        status=Visit.Status.HAPPENED, facilitator=facilitator, visitor=site)
    assert not visit.reports.exists()
    return visit


def sign_in(page, live_server, email):
    """Sign in with the demo's published password (README, programmes.demo)."""
    journeys.sign_in(page, live_server, email, password=demo.DEMO_PASSWORD,
                     totp_secret=demo.DEMO_TOTP_SECRET)


def visit_name(visit) -> str:
    return f"{visit.visitor.organisation.name} visits {visit.host.organisation.name}"


def assert_fits_the_width(page, width=390):
    scroll = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll <= width, f"the page scrolls sideways on a phone ({scroll}px)"


def href(link) -> str:
    """The link's absolute address, as the browser resolves it."""
    return link.evaluate("a => a.href")


def pdf_response(page, url):
    response = page.request.get(url)
    assert response.status == 200, response.status
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    return response.body()


@pytest.mark.django_db(transaction=True)
def test_the_facilitator_approves_the_demo_report_and_both_teams_get_the_pdf(
    page, phone, browser, live_server, demo_visit, mailoutbox, screenshot
):
    visit, base = demo_visit, live_server.url
    strength = visit.contributions.filter(kind="strength").order_by("pk").first().text
    host_name = visit.host.organisation.name
    report_url = f"{base}/visits/{visit.pk}/report/"

    # 1. The facilitator lands on the dashboard, follows "visit reports waiting for approval"
    # to the visits that need one, and opens this visit's report.
    sign_in(page, live_server, demo.CORE_FACILITATOR_EMAIL)
    page.wait_for_url(f"{base}/programmes/{visit.programme_id}/dashboard/")
    page.get_by_role("link", name=re.compile("visit reports? waiting for approval")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Visits")
    page.get_by_role("link", name=visit_name(visit), exact=True).click()
    page.wait_for_url(f"{base}/visits/{visit.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(visit_name(visit))
    expect(page.locator("main strong.nhsuk-tag").first).to_have_text("Happened")
    page.get_by_role("link", name="The visit report", exact=True).click()
    page.wait_for_url(report_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Visit report")
    expect(page.locator("#versions + p")).to_have_text("No version has been approved yet.")

    # The draft shows every section, drawn from the day, strengths first.
    draft = page.locator(".app-report-preview")
    expect(draft).to_be_visible()
    for heading in SECTIONS:
        expect(draft.get_by_text(heading, exact=True)).to_be_visible()
    expect(draft).to_contain_text("Draft, not yet approved")
    expect(draft.locator(".app-report-cover")).to_contain_text(host_name)
    expect(draft).to_contain_text(strength)
    # Who took part: every attendee, by name, in their team's table.
    took_part = draft.locator("xpath=.//h2[@id='report-attendees']/following-sibling::table"
                              "[following-sibling::h2[@id='report-agenda']]")
    expect(took_part.first.locator("caption")).to_contain_text("Host team")
    listed = " ".join(took_part.all_inner_texts())
    for attendee in visit.attendees.select_related("user"):
        assert str(attendee.user) in listed, (str(attendee.user), listed)
    session = draft.locator(".app-report-session").first
    headings = session.locator("h4").all_inner_texts()
    assert headings[:2] == ["Strengths", "Opportunities for improvement"], headings
    expect(draft).to_contain_text(
        "A warm, well-chaired meeting in which every patient's wishes were heard.")
    expect(draft.locator("#report-focus-areas + p + table tbody tr")).not_to_have_count(0)
    expect(page.get_by_role("button", name="Approve and send version 1")).to_be_visible()
    screenshot(page, "report-01-draft")

    # The draft PDF, as the link opens it.
    draft_url = href(page.get_by_role("link", name="Download the draft (PDF)"))
    draft_pdf = pdf_response(page, draft_url)
    assert strength in pdf_text(draft_pdf) and "Draft, not approved" in pdf_text(draft_pdf)

    # 2. A double click on "Approve and send" sends one approval and makes one version.
    assert mailoutbox == []
    approvals = []
    page.on("request", lambda request: approvals.append(request.url)
            if request.method == "POST" and request.url.endswith("/report/approve/") else None)
    page.get_by_role("button", name="Approve and send version 1").dblclick()
    page.wait_for_url(f"{report_url}#versions")
    expect(page.locator(".nhsuk-notification-banner--success")).to_contain_text(
        "Version 1 is approved")
    # Only the success banner: no "Version 1 has been approved since you opened this page".
    expect(page.locator(".nhsuk-notification-banner")).to_have_count(1)
    expect(page.locator(".nhsuk-error-summary")).to_have_count(0)
    assert len(approvals) == 1, approvals
    assert VisitReport.objects.filter(visit=visit).count() == 1
    versions = page.locator("#versions + table")
    expect(versions.locator("tbody tr")).to_have_count(1)
    row = versions.locator("tbody tr").first
    expect(row).to_contain_text("Version 1")
    expect(row).to_contain_text("Megan Lloyd-Evans")
    expect(row.locator("strong.nhsuk-tag")).to_have_text("Sent")
    download = row.get_by_role("link", name="Download version 1 (PDF)")
    expect(download).to_be_visible()
    # The draft stays, now offering a corrected version 2.
    expect(page.get_by_role("button", name="Approve and send version 2")).to_be_visible()
    screenshot(page, "report-02-approved")

    report = VisitReport.objects.get(visit=visit)
    version_one = pdf_response(page, href(download))
    assert version_one == bytes(report.pdf)
    visit.refresh_from_db()
    assert visit.status == Visit.Status.REPORT_SENT

    # 3. One email each to both teams' current members and the core team, the PDF attached.
    members = {site: set(SiteMembership.objects.current().filter(site=site)
                         .values_list("user__email", flat=True))
               for site in (visit.host, visit.visitor)}
    core_team = set(visit.programme.core_team.values_list("user__email", flat=True))
    assert all(members.values()) and core_team
    assert demo.SITE_LEAD_EMAIL in members[visit.visitor]
    expected = set().union(*members.values(), core_team, {demo.CORE_FACILITATOR_EMAIL})
    addresses = [message.to for message in mailoutbox]
    assert all(len(to) == 1 for to in addresses), addresses
    assert sorted(to[0] for to in addresses) == sorted(expected)  # once each
    expect(row).to_contain_text(f"Sent to {len(expected)} people")
    link = f'href="{report_url}"'
    for message in mailoutbox:
        assert host_name in message.subject, message.subject
        ((filename, content, mimetype),) = message.attachments
        assert mimetype == "application/pdf" and filename.endswith("-v1.pdf")
        assert content == version_one
        ((html, html_type),) = message.alternatives
        assert html_type == "text/html"
        assert visit.programme.name in html and link in html, message.to
    text = pdf_text(version_one)
    assert host_name in text and strength in text
    assert "Version 1, approved by Megan Lloyd-Evans" in text

    # 4. The visiting team's clinical lead sees version 1 to download, and nothing else.
    lead_context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        lead = lead_context.new_page()
        sign_in(lead, live_server, demo.SITE_LEAD_EMAIL)
        lead.goto(f"{base}/visits/{visit.pk}/")
        lead.get_by_role("link", name="The visit report", exact=True).click()
        lead.wait_for_url(report_url)
        row = lead.locator("#versions + table tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Version 1")
        expect(row.get_by_role("link", name="Download version 1 (PDF)")).to_be_visible()
        expect(row.locator("strong.nhsuk-tag")).to_have_count(0)  # no sending status
        expect(lead.locator(".app-report-preview")).to_have_count(0)
        expect(lead.locator("#draft")).to_have_count(0)
        expect(lead.get_by_role("link", name="Download the draft (PDF)")).to_have_count(0)
        expect(lead.get_by_role("button", name=re.compile("Approve"))).to_have_count(0)
        assert pdf_response(lead, href(row.get_by_role("link"))) == version_one
        assert lead.request.get(draft_url).status == 403
        screenshot(lead, "report-03-team-member")
    finally:
        lead_context.close()

    # 5. On a phone, the team's report page does not scroll sideways.
    sign_in(phone, live_server, demo.SITE_LEAD_EMAIL)
    phone.goto(report_url)
    expect(phone.get_by_role("link", name="Download version 1 (PDF)")).to_be_visible()
    assert_fits_the_width(phone)
    screenshot(phone, "report-04-team-member")


@pytest.mark.django_db(transaction=True)
def test_the_facilitators_report_page_with_its_draft_fits_a_phone(
    phone, live_server, demo_visit, screenshot
):
    sign_in(phone, live_server, demo.CORE_FACILITATOR_EMAIL)
    phone.goto(f"{live_server.url}/visits/{demo_visit.pk}/report/")
    expect(phone.locator(".app-report-preview")).to_be_visible()
    expect(phone.get_by_role("button", name="Approve and send version 1")).to_be_visible()
    screenshot(phone, "report-05-facilitator")
    assert_fits_the_width(phone)
