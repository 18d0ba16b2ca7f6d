"""Posting anything to the decision and reviewer-pool forms gets a message, never a server
error (their one-way programme is not in tests/test_fuzz_forms.py's world)."""

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from programmes.forms_reviewers import (
    ConflictForm,
    DecisionForm,
    MyConflictForm,
    ReviewerAddForm,
    ReviewerForm,
)
from programmes.models import Reviewer

from .factories import OrganisationFactory, UserFactory
from .fuzz import FUZZ, assert_not_a_server_error, form_data
from .test_oneway_decisions import one_way_world


@pytest.fixture
def fz(db):
    ow = one_way_world()
    OrganisationFactory()
    ow.reviewer = Reviewer.objects.create(programme=ow.programme, user=UserFactory(),
                                          profession="nurse", region="london")
    return ow


PAGES = {
    "decision": (lambda w: f"/self-reports/{w.flagged.pk}/decision/", "core",
                 lambda w: DecisionForm()),
    "reviewer add": (lambda w: f"/programmes/{w.programme.pk}/reviewers/add/", "core",
                     lambda w: ReviewerAddForm()),
    "reviewer edit": (lambda w: f"/programmes/{w.programme.pk}/reviewers/{w.reviewer.pk}/",
                      "core", lambda w: ReviewerForm()),
    "conflict add": (lambda w: f"/programmes/{w.programme.pk}/reviewers/{w.reviewer.pk}"
                               "/conflicts/add/", "core", lambda w: ConflictForm()),
    "my conflict": (lambda w: "/reviewing/conflicts/add/", "reviewer",
                    lambda w: MyConflictForm(reviewers=Reviewer.objects.filter(
                        user=w.reviewer.user))),
}


@pytest.mark.parametrize("name", sorted(PAGES))
@FUZZ
@given(data=st.data())
def test_posting_anything_is_never_a_server_error(fz, name, data):
    url, person, form = PAGES[name]
    client = Client()
    client.force_login(fz.reviewer.user if person == "reviewer" else fz.core)
    payload = data.draw(form_data(form(fz)), label="POST")
    response = client.post(url(fz), payload)
    assert_not_a_server_error(response)
    if response.status_code == 200:
        page = response.content.decode()
        assert "nhsuk-error-summary" in page or "<form" in page
