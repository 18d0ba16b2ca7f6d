"""Fuzzing a review's set-up forms through their pages (tests/test_fuzz_forms.py lists them
in NOT_POSTED_HERE, since its world has no one-way review): bad input gets a message, never
a server error."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from programmes.models import Reviewer, Site
from visits.forms_reviews import (
    LineOfEnquiryForm,
    PreviousContactForm,
    ReviewCreateForm,
    ReviewDocumentForm,
    ReviewTeamForm,
)

from .fuzz import FUZZ, assert_not_a_server_error, form_data
from .test_oneway_reviews import ow, review  # noqa: F401 - fixtures

PAGES = [
    ("create", "/decisions/{decision}/review/", lambda w: ReviewCreateForm()),
    ("team", "/reviews/{review}/team/",
     lambda w: ReviewTeamForm(reviewers=Reviewer.objects.all())),
    ("line add", "/reviews/{review}/lines/add/",
     lambda w: LineOfEnquiryForm(standards=w.programme.standards.all())),
    ("document", "/reviews/{review}/documents/add/", lambda w: ReviewDocumentForm()),
    ("previous contact", "/reviews/{review}/previous-contact/",
     lambda w: PreviousContactForm(sites=Site.objects.all())),
]


@pytest.mark.parametrize(("name", "url", "make"), PAGES, ids=[p[0] for p in PAGES])
@FUZZ
@given(data=st.data())
def test_posting_anything_to_a_review_form_is_never_a_server_error(
        ow, review, client_for, name, url, make, data):  # noqa: F811 - fixtures
    payload = data.draw(form_data(make(ow)), label="POST")
    response = client_for(ow.core).post(
        url.format(decision=ow.decision.pk, review=review.pk), payload)
    assert_not_a_server_error(response)
