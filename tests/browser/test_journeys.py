"""The main paths of issue 2, as a person would take them in a browser."""

import re

import pytest

from programmes.models import Enrolment, SiteMembership

from ..factories import EnrolmentFactory, SiteMembershipFactory
from .keyboard import assert_keyboard_works

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _live_site_url(settings, live_server):
    settings.SITE_URL = live_server.url


def sign_in(page, live_server, email, password=PASSWORD, totp_secret=None):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name=re.compile("Sign in", re.I)).click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    if "/2fa/authenticate/" in page.url:
        enter_authenticator_code(page, totp_secret)


_codes_used: set[str] = set()


def enter_authenticator_code(page, secret=None) -> None:
    """The second step of a core team member's sign-in: the 6-digit code from their
    authenticator app (allauth.mfa's authenticate stage)."""
    from django.core.cache import cache

    from tests.mfa import TEST_TOTP_SECRET, totp_code

    code = totp_code(secret or TEST_TOTP_SECRET)
    if code in _codes_used:
        # allauth refuses a code already used (it keeps used codes in the cache, which the
        # live server shares with the tests), so a second sign-in within one 30-second
        # step needs a fresh cache rather than a 30-second wait.
        cache.clear()
    _codes_used.add(code)
    page.locator("input[name='code']").fill(code)
    page.locator("main form").get_by_role("button").first.click()
    page.wait_for_url(lambda url: "/2fa/authenticate/" not in url)


@pytest.mark.django_db(transaction=True)
def test_core_team_sees_the_funnel_and_follows_a_count_to_its_sites(
    page, live_server, programme, core, screenshot
):
    for _ in range(3):
        EnrolmentFactory(programme=programme, status=Enrolment.Status.INTERVENTION)
    EnrolmentFactory(programme=programme, status=Enrolment.Status.INVITED)

    sign_in(page, live_server, core.email)
    page.wait_for_url(f"{live_server.url}/programmes/{programme.pk}/dashboard/")
    assert page.get_by_role("heading", level=1).inner_text() == "Dashboard"
    header = page.locator("header").inner_text()
    assert "Priya Manager" in header and programme.name in header
    screenshot(page, "programme-dashboard")

    page.locator("a.app-funnel__link", has_text="Intervention arm").click()
    page.wait_for_url(re.compile(r"/sites/\?reached=intervention$"))
    assert "3 sites" in page.get_by_role("status").inner_text()
    screenshot(page, "site-list-filtered")


@pytest.mark.django_db(transaction=True)
def test_an_invited_site_member_sets_a_password_and_lands_home(
    page, live_server, programme, site, lead, mailoutbox, screenshot
):
    sign_in(page, live_server, lead.email)
    page.wait_for_url(f"{live_server.url}/sites/{site.pk}/")
    page.get_by_role("link", name="Invite someone to the team").click()
    page.get_by_label("Full name").fill("Tom Coordinator")
    page.get_by_label("Email address").fill("tom@trust.example")
    page.get_by_label("MDT coordinator").check()
    page.get_by_role("button", name="Send the invitation").click()
    assert "An invitation has been sent" in page.locator("main").inner_text()

    [message] = mailoutbox
    link = re.search(r"https?://\S+/invitations/\S+/", message.body)[0]
    page.context.clear_cookies()
    page.goto(link)
    page.get_by_label("Create a password", exact=True).fill("a long and unusual passphrase")
    page.get_by_label("Confirm your password", exact=True).fill("a long and unusual passphrase")
    screenshot(page, "invitation-accept")
    page.get_by_role("button", name="Create your account").click()
    page.wait_for_url(f"{live_server.url}/sites/{site.pk}/")
    main = page.locator("main").inner_text()
    assert "Tom Coordinator" in main and "MDT coordinator" in main
    assert "Tom Coordinator" in page.locator("header").inner_text()
    assert SiteMembership.objects.current().filter(user__email="tom@trust.example").exists()
    screenshot(page, "site-home-after-joining")


@pytest.mark.django_db(transaction=True)
def test_the_login_form_explains_a_wrong_password(page, live_server, core):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email", exact=True).fill(core.email)
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name=re.compile("Sign in", re.I)).click()
    summary = page.locator(".nhsuk-error-summary")
    summary.wait_for()
    assert "There is a problem" in summary.inner_text()


@pytest.mark.django_db(transaction=True)
def test_a_site_page_works_on_a_phone(phone, live_server, site, lead, screenshot):
    SiteMembershipFactory(site=site, role=SiteMembership.Role.CNS)
    sign_in(phone, live_server, lead.email)
    phone.wait_for_url(f"{live_server.url}/sites/{site.pk}/")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    screenshot(phone, "site-home")
    assert_keyboard_works(phone)


@pytest.mark.django_db(transaction=True)
def test_core_team_pairs_the_sites_and_a_site_sees_its_partner_and_data(
    page, live_server, programme, core, screenshot
):
    import datetime

    from programmes.models import Indicator, IndicatorValue

    programme.baseline_period = "2025"
    programme.save()
    indicators = [Indicator.objects.create(programme=programme, code=c, name=n, source="NLCA",
                                           is_headline=True)
                  for c, n in (("HISTO", "Histology"), ("CNS", "Nurse specialist"))]
    sites = []
    for histo, nurse in ((90, 60), (60, 90), (80, 70), (70, 80)):
        site = EnrolmentFactory(programme=programme, status=Enrolment.Status.INTERVENTION).site
        for indicator, value in zip(indicators, (histo, nurse), strict=True):
            IndicatorValue.objects.create(
                indicator=indicator, site=site, period="2025", numerator=value,
                denominator=100, period_start=datetime.date(2025, 1, 1),
                period_end=datetime.date(2025, 12, 31), national=0.75)
        sites.append(site)
    lead = SiteMembershipFactory(site=sites[0], role=SiteMembership.Role.CLINICAL_LEAD).user

    sign_in(page, live_server, core.email)
    page.goto(f"{live_server.url}/programmes/{programme.pk}/pairing/")
    page.get_by_role("button", name="Propose pairs").click()
    assert "Proposed pairs (2)" in page.locator("main").inner_text()
    screenshot(page, "pairing-proposed")
    page.get_by_role("button", name="Confirm these pairs").click()
    assert "The pairing is confirmed" in page.locator("main").inner_text()

    page.context.clear_cookies()
    sign_in(page, live_server, lead.email)
    page.wait_for_url(f"{live_server.url}/sites/{sites[0].pk}/")
    main = " ".join(page.locator("main").inner_text().split())
    assert f"Your partner {sites[1].organisation.name}" in main
    assert "Your team is stronger on histology; theirs on nurse specialist" in main
    page.get_by_role("link", name="See the site's audit data").click()
    main = page.locator("main").inner_text()
    assert "90.0%" in main and "National figure" in main
    chart = page.locator("figure.app-chart svg").first
    assert "Your team" in chart.inner_html()
    for other in sites[1:]:
        assert other.organisation.name not in page.content()
    screenshot(page, "site-audit-data")


@pytest.mark.django_db(transaction=True)
def test_poll_to_confirmation_in_the_browser(page, browser, live_server, programme, core,
                                             mailoutbox, screenshot):
    """The core team opens a poll; invitees answer from their emailed links without signing
    in; the grid shows the minimum met; a date is chosen and the visit confirmed; every
    attendee receives a valid calendar invitation in London time."""
    import datetime

    from django.utils import timezone
    from icalendar import Calendar

    from programmes.models import CoreTeamMembership, Pair, Pairing
    from visits import services as visit_services

    from ..factories import CoreTeamMembershipFactory

    CoreTeamMembershipFactory(programme=programme, role=CoreTeamMembership.Role.QI_FACILITATOR)
    host, visitor = (EnrolmentFactory(programme=programme, status="intervention").site
                     for _ in range(2))
    for site in (host, visitor):
        for role in ("clinical_lead", "cns", "mdt_coordinator"):
            SiteMembershipFactory(site=site, role=role)
    pairing = Pairing.objects.create(programme=programme, status="confirmed")
    Pair.objects.create(pairing=pairing, site_a=host, site_b=visitor)
    visit, _ = visit_services.visits_create_for_pairing(programme=programme, user=core)

    sign_in(page, live_server, core.email)
    page.goto(f"{live_server.url}/visits/{visit.pk}/")
    page.get_by_role("link", name="Ask for availability").click()
    today = timezone.localdate()
    start = today + datetime.timedelta(days=35)
    end = start + datetime.timedelta(days=27)
    page.get_by_label("First date to offer").fill(start.isoformat())
    page.get_by_label("Last date to offer").fill(end.isoformat())
    page.get_by_label("Answers needed by").fill((today + datetime.timedelta(days=14)).isoformat())
    page.get_by_role("button", name="Send the poll").click()
    assert "The poll is open" in page.locator("main").inner_text()
    assert len(mailoutbox) == 7

    first_date = visit.poll.dates.first().date
    answerer = browser.new_context(viewport={"width": 390, "height": 844})
    phone = answerer.new_page()
    for message in mailoutbox:
        link = re.search(r"https?://\S+/availability/\S+/", message.body)[0]
        phone.goto(link)
        assert "Which dates can you make?" in phone.locator("h1").inner_text()
        phone.locator(f"#date-{first_date.isoformat()}-yes").check()
        phone.locator("#saved").get_by_text("Saved").wait_for()
    screenshot(phone, "poll-answer")
    answerer.close()

    page.goto(f"{live_server.url}/visits/{visit.pk}/poll/")
    first_row = page.locator("tbody tr").first
    assert "Yes" in first_row.locator("td").first.inner_text()
    screenshot(page, "poll-grid")
    first_row.get_by_role("button", name=re.compile("Choose")).click()
    page.get_by_label("Venue").fill("Seminar room 2")
    mailoutbox.clear()
    page.get_by_role("button", name="Confirm and send the invitations").click()
    assert "The visit is confirmed" in page.locator("main").inner_text()
    assert len(mailoutbox) == 7
    event = Calendar.from_ical(mailoutbox[0].attachments[0][1]).walk("VEVENT")[0]
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert event["DTSTART"].dt.date() == first_date
    assert event["DTSTART"].dt.strftime("%H:%M") == "09:00"
    assert event["DTSTART"].dt.utcoffset() in (datetime.timedelta(0), datetime.timedelta(hours=1))
