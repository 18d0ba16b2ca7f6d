"""The patient survey as a patient and a site team meet it: a phone, no account, one tap too
many on the button, and the answer counted on the site's results page."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from playwright.sync_api import expect

from programmes.models import SurveyAnswer, SurveyResponse
from programmes.services import survey as services
from programmes.views.survey import public_link

from .keyboard import assert_keyboard_works
from .test_journeys import sign_in

PHONE = {"width": 390, "height": 844}
COMMENT = "The nurse rang me back the same afternoon."


@pytest.fixture(autouse=True)
def _live_site_url(settings, live_server):
    settings.SITE_URL = live_server.url


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # The rate limit counts in the cache, which the live server's thread shares with us.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def patient_phone(browser):
    """A phone with a touch screen and nobody signed in: a fresh context, no cookies."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def collection(programme, core, site):
    survey = services.survey_create(programme=programme, user=core)
    return services.collection_for(survey=survey, site=site)


def scroll_width(page) -> int:
    return page.evaluate("document.scrollingElement.scrollWidth")


def assert_no_sideways_scroll(page, what: str) -> None:
    width = scroll_width(page)
    assert width <= PHONE["width"], f"{what} scrolls sideways on a phone ({width}px)"


def question(page, number: int):
    """The fieldset of the question numbered ``number`` on the form."""
    return page.get_by_role("group", name=re.compile(rf"^{number}\. "))


@pytest.mark.django_db(transaction=True)
def test_a_patient_answers_on_a_phone_and_the_site_team_sees_it_counted(
    patient_phone, page, live_server, collection, site, lead, screenshot, close_up
):
    phone = patient_phone
    link = public_link(collection)
    assert link.startswith(live_server.url)

    # The patient scans the poster: the form opens with no sign-in and no account links.
    phone.goto(link)
    expect(phone.get_by_role("heading", level=1)).to_have_text(collection.survey.title)
    expect(phone.get_by_role("link", name=re.compile("Sign in", re.I))).to_have_count(0)
    expect(phone.get_by_role("navigation", name="Account")).to_have_count(0)
    assert_no_sideways_scroll(phone, "the survey form")
    # The honeypot is off screen and out of the accessibility tree.
    honeypot = phone.locator("#id_website")
    assert not honeypot.is_visible() or (honeypot.bounding_box() or {"x": 0})["x"] < 0
    expect(phone.get_by_role("textbox", name="Leave this empty")).to_have_count(0)
    screenshot(phone, "survey-form")
    assert_keyboard_works(phone)

    # A few answers, tapped as a finger would, and a comment.
    question(phone, 1).get_by_text("Strongly agree", exact=True).tap()
    question(phone, 2).get_by_text("Agree", exact=True).tap()
    question(phone, 3).get_by_text("Yes", exact=True).tap()
    question(phone, 8).get_by_text("Very good", exact=True).tap()
    expect(question(phone, 1).get_by_label("Strongly agree", exact=True)).to_be_checked()
    expect(question(phone, 2).get_by_label("Agree", exact=True)).to_be_checked()
    comment = phone.get_by_label(re.compile(r"^9\. What was good about your care\?"))
    comment.tap()
    comment.fill(COMMENT)
    button = phone.get_by_role("button", name="Send my answers")
    button.scroll_into_view_if_needed()
    assert_no_sideways_scroll(phone, "the filled-in survey form")
    close_up(phone, "survey-form-filled-phone-viewport")  # the viewport: the filled-in end

    # An impatient double tap on the button: one response is stored.
    with phone.expect_navigation(url=re.compile(r"/survey/\w+/thanks/$")):
        button.dblclick()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Thank you")
    expect(phone.locator("main")).to_contain_text("Your answers have been sent")
    assert_no_sideways_scroll(phone, "the thank-you page")
    screenshot(phone, "survey-thanks")

    assert SurveyResponse.objects.filter(collection=collection).count() == 1
    stored = SurveyResponse.objects.get(collection=collection)
    assert stored.mode == SurveyResponse.Mode.ONLINE and stored.entered_by is None
    assert {a.question.code: a.choice or a.text for a in stored.answers.all()} == {
        "DIAGNOSIS": "strongly_agree", "INFORMATION": "agree", "NURSE": "yes",
        "OVERALL": "very_good", "GOOD": COMMENT}
    # Nothing but the CSRF token is left on the phone: no session, no tracking cookie.
    cookies = {c["name"] for c in phone.context.cookies()}
    assert cookies <= {"csrftoken"}, cookies

    # A member of the site's team signs in and finds the response counted.
    sign_in(page, live_server, lead.email)
    page.wait_for_url(f"{live_server.url}/sites/{site.pk}/")
    page.get_by_role("link", name="See the site's patient survey").click()
    page.wait_for_url(f"{live_server.url}/sites/{site.pk}/survey/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Patient experience survey")
    responses = page.locator(".nhsuk-summary-list__row", has_text="Responses")
    expect(responses).to_contain_text("1 (1 online, 0 on paper)")
    first = page.get_by_role("row", name=re.compile(r"^Q1\. When I was told"))
    expect(first.locator("td").nth(1)).to_have_text("1")
    # One answer is below the suppression threshold: hidden, not shown as 100%.
    expect(first).to_contain_text("Hidden")
    expect(first).not_to_contain_text("100%")
    # One response is too few for comments to be shown to the team at all (and this one
    # still waits for the core team's review).
    expect(page.locator("main")).not_to_contain_text(COMMENT)
    expect(page.locator("main")).to_contain_text(
        "Comments are not shown while fewer than 5 patients have answered")
    screenshot(page, "survey-site-results-after-one-response")


@pytest.mark.django_db(transaction=True)
def test_the_same_form_sent_three_times_is_stored_once(patient_phone, live_server,
                                                       collection):
    """The button's double-click guard is JavaScript; the server must not rely on it. Three
    posts of the same form make one response: all in flight together on PostgreSQL (as CI
    runs it), one after another on SQLite, whose shared in-memory test database locks a
    table against a second writer instead of waiting."""
    phone = patient_phone
    phone.goto(public_link(collection))
    question(phone, 3).get_by_text("No", exact=True).tap()
    statuses = phone.evaluate("""async (together) => {
        const form = document.querySelector("main form");
        const send = () => fetch(location.href, {method: "POST", body: new FormData(form),
                                                 redirect: "manual", credentials: "same-origin"});
        let answers = [];
        if (together) {
            answers = await Promise.all([send(), send(), send()]);
        } else {
            for (let i = 0; i < 3; i++) answers.push(await send());
        }
        return answers.map(r => r.type === "opaqueredirect" ? 302 : r.status);
    }""", connection.vendor != "sqlite")
    assert statuses == [302, 302, 302], statuses
    assert SurveyResponse.objects.filter(collection=collection).count() == 1
    assert SurveyAnswer.objects.filter(response__collection=collection).count() == 1

