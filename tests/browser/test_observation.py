"""The observation form on a phone: typed answers survive reloads, then are submitted."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from programmes.models import Enrolment, SiteMembership
from visits import observation_form as rules
from visits.models import ObservationResponse, Visit

from ..factories import EnrolmentFactory, SiteMembershipFactory
from .test_journeys import sign_in

NOTES = "Chair kept to time; radiology screen hard to read from the back"


@pytest.fixture(autouse=True)
def _live_site_url(settings, live_server):
    settings.SITE_URL = live_server.url


@pytest.fixture
def observer_and_visit(programme, core):
    host, visiting = (EnrolmentFactory(programme=programme,
                                       status=Enrolment.Status.INTERVENTION).site
                      for _ in range(2))
    observer = SiteMembershipFactory(site=visiting, role=SiteMembership.Role.CNS,
                                     user__full_name="Vera Visiting").user
    visit = Visit.objects.create(programme=programme, host=host, visitor=visiting,
                                 status=Visit.Status.CONFIRMED,
                                 date=timezone.localdate() + datetime.timedelta(days=1))
    return observer, visit


def saved(phone):
    expect(phone.locator("#observation-status [data-complete='true']")).to_contain_text(
        re.compile(r"Saved at \d\d:\d\d"))


def stored(phone, key):
    return phone.evaluate("(key) => window.localStorage.getItem(key)", key)


@pytest.mark.django_db(transaction=True)
def test_an_observer_on_a_phone_loses_nothing_on_reload_and_submits(
    phone, live_server, observer_and_visit, screenshot, close_up
):
    observer, visit = observer_and_visit
    url = f"{live_server.url}/visits/{visit.pk}/observation/"
    key = f"observation:{visit.pk}:{observer.pk}"
    sign_in(phone, live_server, observer.email)
    phone.wait_for_url(re.compile(r"/sites/\d+/$"))
    phone.goto(url)
    expect(phone.get_by_role("heading", level=1)).to_have_text(rules.DEFAULT_TITLE)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the form scrolls sideways on a phone ({width}px)"
    screenshot(phone, "observation-form")

    notes = phone.get_by_label("Anything else about attendance? (optional)")
    # 1. Reload straight after typing: the autosave has not even been sent.
    notes.press_sequentially("Room was full")
    phone.locator("#q-chair_rating-4").check()
    phone.reload()
    expect(notes).to_have_value("Room was full")
    expect(phone.locator("#q-chair_rating-4")).to_be_checked()
    saved(phone)  # the restored answers are saved without anyone touching the form
    answers = ObservationResponse.objects.get(observer=observer).answers
    assert answers == {"att_notes": "Room was full", "chair_rating": 4}

    # 2. The autosave is sent but never comes back (the connection drops), and the observer
    #    goes on typing; then they open the page again.
    sent = []
    phone.route(url, lambda route: sent.append(route.request.method))  # never answered
    notes.fill("")
    with phone.expect_request(lambda r: r.method == "POST"):
        notes.press_sequentially(NOTES[:20])
        phone.locator("#q-prep_rating-2").check()
    for _ in range(50):  # the request reaches the route handler, which never answers it
        if sent:
            break
        phone.wait_for_timeout(100)
    assert sent == ["POST"]
    notes.press_sequentially(NOTES[20:])  # typed after the save went
    phone.unroute(url)
    phone.goto(url)
    expect(notes).to_have_value(NOTES)
    expect(phone.locator("#q-prep_rating-2")).to_be_checked()
    expect(phone.locator("#q-chair_rating-4")).to_be_checked()
    saved(phone)
    answers = ObservationResponse.objects.get(observer=observer).answers
    assert answers["att_notes"] == NOTES and answers["prep_rating"] == 2

    # 3. Reload after "Saved" shows: the server has it all, and the device keeps nothing.
    with phone.expect_response(lambda r: r.request.method == "POST"):
        phone.get_by_label("How many thoracic surgeons attended?").fill("2")
        phone.locator("#q-dec_rating-5").check()
    saved(phone)
    phone.wait_for_function("(key) => window.localStorage.getItem(key) === null", arg=key)
    phone.reload()
    expect(phone.get_by_label("How many thoracic surgeons attended?")).to_have_value("2")
    expect(phone.locator("#q-dec_rating-5")).to_be_checked()
    expect(notes).to_have_value(NOTES)
    expect(phone.locator("#observation-status")).to_contain_text("Last saved")
    # Mid-form on the phone's screen, the status stays in view.
    phone.locator("#q-dec_rating-5").scroll_into_view_if_needed()
    assert phone.locator("#observation-status").is_visible()
    box = phone.locator("#observation-status").bounding_box()
    assert box and box["y"] + box["height"] <= 844 + 1, box
    close_up(phone, "observation-form-mid-form-phone-viewport")

    # Submitting too early names what is missing.
    phone.get_by_role("button", name="Submit my observations").click()
    expect(phone.locator(".nhsuk-error-summary")).to_contain_text("There is a problem")
    screenshot(phone, "observation-form-errors")

    # Answer the rest and submit.
    for question in rules.questions(rules.DEFAULT_DEFINITION):
        key_ = question["key"]
        if question["type"] == "rating" and key_ not in ("chair_rating", "prep_rating",
                                                         "dec_rating"):
            phone.locator(f"#q-{key_}-3").check()
        elif question["type"] == "yes_no_partly":
            phone.locator(f"#q-{key_}-yes").check()
        elif question["type"] == "number" and key_ != "att_surgeons":
            phone.locator(f"#q-{key_}").fill("1")
    phone.get_by_role("button", name="Submit my observations").click()
    expect(phone.locator("main")).to_contain_text("You submitted these observations")
    assert stored(phone, key) is None
    response = ObservationResponse.objects.get(observer=observer)
    assert response.submitted_at is not None
    assert response.answers["att_notes"] == NOTES and response.answers["att_surgeons"] == 2
    screenshot(phone, "observation-submitted")

    phone.get_by_role("link", name="See everyone's observations").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Observations of the MDT meeting")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the combined view scrolls sideways on a phone ({width}px)"
    screenshot(phone, "observations-combined")
