"""Shared learning from one-way reviews: good practice into the library, and the themes."""

import pytest
from django.db import reset_queries
from django.urls import reverse

from ilcop.models import ActivityLog
from programmes.models import Resource, ResourceTopic
from qips import learning
from visits.models import PeerReview, StandardFinding

from .test_oneway_action_plans_world import add_findings, build


@pytest.fixture
def w(db):
    return build()


def _finding(w, code="S1") -> StandardFinding:
    return StandardFinding.objects.get(review=w.review, standard__code=code)


def test_the_core_team_shares_good_practice_after_checking_it(w, client_for):
    finding = _finding(w)
    url = reverse("qips:finding_to_library", args=[finding.pk])
    page = client_for(w.core).get(url).content.decode()
    assert "A chair&#x27;s checklist read out" in page  # offered for editing first
    assert "names nobody" in page
    response = client_for(w.core).post(url, {"title": "A chair's checklist",
                                             "body": "The chair reads a checklist"})
    assert response["Location"] == reverse("qips:resources", args=[w.programme.pk])
    resource = Resource.objects.get()
    assert (resource.kind, resource.after_visit, resource.body, resource.programme) == (
        Resource.Kind.EXAMPLE, True, "The chair reads a checklist", w.programme)
    assert [t.name for t in resource.topics.all()] == ["Good practice from reviews"]
    finding.refresh_from_db()
    assert finding.library_resource == resource
    assert ActivityLog.objects.filter(verb="resource.from_review").count() == 1
    # Again: nothing new, and the same topic is reused for the next finding.
    client_for(w.core).post(url, {"title": "Twice", "body": "Twice"})
    assert Resource.objects.count() == 1
    client_for(w.core).post(reverse("qips:finding_to_library", args=[_finding(w, "S2").pk]),
                            {"title": "Key worker cards", "body": "Cards"})
    assert ResourceTopic.objects.count() == 1 and Resource.objects.count() == 2
    # The library shows the text.
    library = client_for(w.other_member).get(reverse("qips:resources",
                                                     args=[w.programme.pk])).content.decode()
    assert "The chair reads a checklist" in library


def test_an_empty_text_is_refused_with_a_message(w, client_for):
    url = reverse("qips:finding_to_library", args=[_finding(w).pk])
    response = client_for(w.core).post(url, {"title": "A title", "body": "  "})
    assert response.status_code == 200
    assert "Enter" in response.content.decode() or "required" in response.content.decode()
    assert not Resource.objects.exists()


def test_only_the_core_team_shares(w, client_for):
    url = reverse("qips:finding_to_library", args=[_finding(w).pk])
    assert client_for(w.member).get(url).status_code == 403
    assert client_for(w.reviewer).post(url, {"title": "x", "body": "y"}).status_code == 403
    assert client_for(w.other_member).get(url).status_code == 404
    assert client_for(w.outsider).get(url).status_code == 404
    assert not Resource.objects.exists()


def _second_review(w) -> PeerReview:
    review = PeerReview.objects.create(programme=w.programme, site=w.other_service,
                                       created_by=w.core)
    add_findings(review, w.standards, w.reviewer)
    return review


def test_themes_count_each_rating_across_reviews(w):
    _second_review(w)
    themes = learning.review_themes(w.programme, named=True)
    assert [(t.standard.code, t.met, t.partly_met, t.not_met) for t in themes] == [
        ("S1", 0, 2, 0), ("S2", 2, 0, 0), ("S3", 0, 0, 2)]
    assert [f.review.site.name for f in themes[0].findings] == [
        "Specialised lung service", "Thoracic surgery service"]
    anonymous = learning.review_themes(w.programme, named=False)
    assert all(not t.findings for t in anonymous)


def test_the_core_team_sees_services_and_participants_see_counts(w, client_for):
    _second_review(w)
    url = reverse("qips:review_themes", args=[w.programme.pk])
    core_page = client_for(w.core).get(url).content.decode()
    assert "Thoracic surgery service" in core_page
    assert "Add a pre-MDT triage list" in core_page
    assert "Share in the library" in core_page
    client_for(w.core).post(reverse("qips:finding_to_library", args=[_finding(w).pk]),
                            {"title": "A chair's checklist", "body": "Shared wording"})
    for person in (w.member, w.other_member):
        page = client_for(person).get(url).content.decode()
        assert "Specialised lung service" not in page
        assert "Thoracic surgery service" not in page
        assert "Add a pre-MDT triage list" not in page  # recommendations stay with the core
        assert "Shared wording" in page
        assert "Key worker cards" not in page  # good practice not shared
        assert "2 services reviewed" in page
    for person in (w.reviewer, w.outsider):
        assert client_for(person).get(url).status_code == 404


def test_themes_query_count_does_not_grow(w, client_for, django_assert_max_num_queries):
    url = reverse("qips:review_themes", args=[w.programme.pk])
    reset_queries()
    with django_assert_max_num_queries(25) as counted:
        client_for(w.core).get(url)
    before = len(counted)
    _second_review(w)
    for n in range(3):
        review = PeerReview.objects.create(programme=w.programme, site=w.other_service,
                                           created_by=w.core)
        add_findings(review, w.standards, w.reviewer)
        StandardFinding.objects.filter(review=review).update(recommendation=f"Do {n}")
    for person in (w.core, w.other_member):
        reset_queries()
        with django_assert_max_num_queries(before):
            client_for(person).get(url)


def test_themes_are_only_for_one_way_programmes(w, client_for, programme, core):
    assert client_for(core).get(reverse("qips:review_themes", args=[programme.pk])
                                ).status_code == 404
