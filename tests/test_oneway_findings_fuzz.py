"""Posting anything to a review's visit and finding forms gets a message, never a server
error (their one-way programme is not in tests/test_fuzz_forms.py's world)."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from programmes.models import Standard
from visits.forms_review_visits import FindingForm, ReviewVisitAddForm
from visits.models import PeerReview, Visit

from .fuzz import FUZZ, assert_not_a_server_error, form_data
from .test_oneway_review_visits import add_visit
from .test_oneway_review_visits import world as world  # noqa: F401 (the fixture)


@pytest.fixture
def fz(world):
    visit = add_visit(world)
    Visit.objects.filter(pk=visit.pk).update(
        status=Visit.Status.HAPPENED, date=timezone.localdate() - datetime.timedelta(days=1))
    # A deep dive takes more visits, so a valid form adds one rather than being refused.
    PeerReview.objects.filter(pk=world.review.pk).update(format=PeerReview.Format.DEEP_DIVE)
    world.standard = Standard.objects.get(programme=world.programme, code="S1")
    return world


PAGES = {
    "review visit add": (lambda w: f"/reviews/{w.review.pk}/visits/add/", "core",
                         lambda w: ReviewVisitAddForm(programme=w.programme)),
    "finding": (lambda w: f"/reviews/{w.review.pk}/findings/{w.standard.pk}/", "reviewer",
                lambda w: FindingForm()),
}


@pytest.mark.parametrize("name", sorted(PAGES))
@FUZZ
@given(data=st.data())
def test_posting_anything_is_never_a_server_error(fz, name, data):
    url, person, form = PAGES[name]
    client = Client()
    client.force_login(fz.lead_reviewer if person == "reviewer" else fz.core)
    payload = data.draw(form_data(form(fz)), label="POST")
    response = client.post(url(fz), payload)
    assert_not_a_server_error(response)
    if response.status_code == 200:
        page = response.content.decode()
        assert "nhsuk-error-summary" in page or "<form" in page
