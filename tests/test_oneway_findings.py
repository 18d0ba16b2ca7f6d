"""A review's findings against the standards: who reads and writes them, what a finding must
say, edits that cross, and the counts (visits.services.review_visits)."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string

from ilcop.concurrency import EditConflict
from ilcop.models import ActivityLog
from programmes.models import Standard
from visits.models import StandardFinding, Visit
from visits.services.review_visits import (
    finding_problems,
    finding_record,
    finding_summary,
    findings_open,
)

from .factories import ProgrammeFactory
from .test_oneway_review_visits import add_visit, client_for
from .test_oneway_review_visits import world as world  # noqa: F401 (the fixture)

TODAY = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def visited(world):
    """The review's visit happened yesterday."""
    visit = add_visit(world)
    Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.HAPPENED,
                                             date=datetime.date(2026, 3, 1))
    world.standard = Standard.objects.get(programme=world.programme, code="S1")
    world.standard2 = Standard.objects.create(programme=world.programme, code="S2", order=2,
                                              title="Named key worker")
    return world


def record(world, **overrides):
    data = {"rating": "partly_met", "evidence": "Two in ten patients were not discussed",
            "recommendation": "Add a pre-MDT triage list", "good_practice": ""}
    return finding_record(review=world.review, standard=world.standard, user=world.lead_reviewer,
                          **{**data, **overrides})


# --- the pure rule: worked examples ---------------------------------------------------------


@pytest.mark.parametrize(("rating", "evidence", "recommendation", "problems"), [
    ("met", "Minutes of 12 meetings", "", set()),
    ("partly_met", "Two in ten not discussed", "Add a triage list", set()),
    ("not_met", "No MDT for 3 weeks", "", {"recommendation"}),
    ("partly_met", "Seen", "   ", {"recommendation"}),
    ("met", "  ", "", {"evidence"}),
    ("maybe", "Seen", "", {"rating"}),
])
def test_what_a_finding_must_say(rating, evidence, recommendation, problems):
    found = finding_problems(rating=rating, evidence=evidence, recommendation=recommendation)
    assert set(found) == problems


def test_the_recommendation_message_says_why_it_is_needed():
    found = finding_problems(rating="not_met", evidence="x", recommendation="")
    assert found["recommendation"] == ("Enter how the service could improve: the standard is "
                                       "not met, so the service needs to know what to do next")


def test_the_counts():
    summary = finding_summary(["met", "met", "partly_met", "not_met"], standards=6)
    assert (summary.met, summary.partly_met, summary.not_met) == (2, 1, 1)
    assert (summary.recorded, summary.outstanding) == (4, 2)
    assert finding_summary([], standards=0).outstanding == 0


# --- the service ----------------------------------------------------------------------------


def test_findings_wait_for_a_visit(world):
    world.standard = Standard.objects.get(programme=world.programme, code="S1")
    assert not findings_open(world.review)
    with pytest.raises(ValidationError, match="once a visit of the review has happened"):
        record(world)
    visit = add_visit(world)
    Visit.objects.filter(pk=visit.pk).update(date=datetime.date(2026, 3, 2))
    assert findings_open(world.review)  # its date has come
    Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.CANCELLED)
    assert not findings_open(world.review)


def test_recording_and_changing_a_finding_is_logged(visited):
    finding = record(visited)
    assert (finding.rating, finding.version, finding.recorded_by) == (
        "partly_met", 0, visited.lead_reviewer)
    entry = ActivityLog.objects.get(verb="finding.recorded")
    assert entry.summary == "Recorded the finding for S1: Partly met"
    assert "Two in ten" not in str(entry.data)
    changed = record(visited, rating="met", recommendation="", version=0)
    assert (changed.pk, changed.rating, changed.version) == (finding.pk, "met", 1)
    assert ActivityLog.objects.filter(verb="finding.changed").count() == 1
    # Saving the same again writes nothing.
    record(visited, rating="met", recommendation="", version=1)
    assert StandardFinding.objects.get().version == 1


def test_a_stale_edit_is_refused_and_writes_nothing(visited):
    record(visited)
    record(visited, rating="not_met", version=0)  # someone else's change
    with pytest.raises(EditConflict):
        record(visited, rating="met", recommendation="", version=0)
    # Two people opening an empty form: the second sees the first one's finding.
    finding_record(review=visited.review, standard=visited.standard2, user=visited.core,
                   rating="met", evidence="a", version=None)
    with pytest.raises(EditConflict):
        finding_record(review=visited.review, standard=visited.standard2,
                       user=visited.lead_reviewer, rating="not_met", evidence="b",
                       recommendation="c", version=None)
    assert StandardFinding.objects.get(standard=visited.standard2).rating == "met"
    assert StandardFinding.objects.get(standard=visited.standard).rating == "not_met"


def test_a_standard_of_another_programme_is_refused(visited):
    other = Standard.objects.create(programme=ProgrammeFactory(),
                                    code="X1", title="Other")
    with pytest.raises(ValidationError):
        finding_record(review=visited.review, standard=other, user=visited.core,
                       rating="met", evidence="a")


# --- the pages ------------------------------------------------------------------------------


def test_who_reads_and_who_writes(visited):
    record(visited)
    listing = f"/reviews/{visited.review.pk}/findings/"
    edit = f"/reviews/{visited.review.pk}/findings/{visited.standard.pk}/"
    for person in (visited.core, visited.member, visited.lead_reviewer):
        page = client_for(person).get(listing)
        assert page.status_code == 200
        assert "Two in ten patients were not discussed" in page.content.decode()
    for person in (visited.other_member, visited.outsider):
        assert client_for(person).get(listing).status_code == 404
        assert client_for(person).post(edit, {"rating": "met"}).status_code == 404
    # The service reads its findings but does not write them.
    assert "Change the finding" not in client_for(visited.member).get(listing).content.decode()
    assert client_for(visited.member).get(edit).status_code == 403
    assert client_for(visited.member).post(edit, {"rating": "met", "evidence": "x"}
                                           ).status_code == 403
    assert "Change the finding" in client_for(visited.lead_reviewer).get(listing
                                                                         ).content.decode()
    assert client_for(visited.core).get(edit).status_code == 200
    # A standard of another programme is not there.
    other = Standard.objects.create(programme=ProgrammeFactory(),
                                    code="X1", title="Other")
    assert client_for(visited.core).get(
        f"/reviews/{visited.review.pk}/findings/{other.pk}/").status_code == 404


def test_the_form_explains_what_is_missing(visited):
    edit = f"/reviews/{visited.review.pk}/findings/{visited.standard2.pk}/"
    page = client_for(visited.lead_reviewer).post(edit, {"rating": "not_met", "evidence": ""})
    text = page.content.decode()
    assert page.status_code == 200
    assert "Enter the evidence the review team saw" in text
    assert "Enter how the service could improve: the standard is not met" in text
    assert not StandardFinding.objects.exists()
    response = client_for(visited.lead_reviewer).post(edit, {
        "rating": "met", "evidence": "Named on every letter", "good_practice": "A card"})
    assert response.status_code == 302
    assert response["Location"].endswith(f"#standard-{visited.standard2.pk}")
    assert StandardFinding.objects.get().good_practice == "A card"


def test_the_page_shows_both_versions_after_a_crossing_edit(visited):
    finding = record(visited)
    edit = f"/reviews/{visited.review.pk}/findings/{visited.standard.pk}/"
    record(visited, evidence="Three in ten", version=0)
    page = client_for(visited.core).post(edit, {
        "rating": "partly_met", "evidence": "One in ten", "recommendation": "Triage",
        "version": "0"}).content.decode()
    assert "Someone else changed this while you were editing" in page
    assert "Three in ten" in page and "One in ten" in page
    finding.refresh_from_db()
    assert finding.evidence == "Three in ten"
    # Saving again from that page keeps this person's text.
    client_for(visited.core).post(edit, {
        "rating": "partly_met", "evidence": "One in ten", "recommendation": "Triage",
        "version": "1"})
    finding.refresh_from_db()
    assert finding.evidence == "One in ten"


def test_before_the_visit_the_page_says_when_findings_can_be_recorded(world):
    standard = Standard.objects.get(programme=world.programme, code="S1")
    page = client_for(world.lead_reviewer).get(
        f"/reviews/{world.review.pk}/findings/{standard.pk}/").content.decode()
    assert "Findings are recorded once a visit of the review has happened" in page
    assert "Save the finding" not in page


def test_the_counts_on_the_pages(visited, django_assert_max_num_queries):
    record(visited)
    finding_record(review=visited.review, standard=visited.standard2, user=visited.core,
                   rating="met", evidence="Named on every letter")
    with django_assert_max_num_queries(3):
        html = render_to_string("visits/reviews/_findings.html", {"review": visited.review})
    flat = " ".join(html.split())
    assert "Met</dt><dd class=\"nhsuk-summary-list__value\">1" in flat
    assert "Partly met</dt><dd class=\"nhsuk-summary-list__value\">1" in flat
    assert "Not met</dt><dd class=\"nhsuk-summary-list__value\">0" in flat
    assert "2 of 2 standards have a finding" in flat


def test_the_findings_page_does_not_run_a_query_per_standard(visited,
                                                             django_assert_num_queries):
    client = client_for(visited.lead_reviewer)
    url = f"/reviews/{visited.review.pk}/findings/"
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(3, 13):
        standard = Standard.objects.create(programme=visited.programme, code=f"S{n}", order=n,
                                           title=f"Standard {n}")
        finding_record(review=visited.review, standard=standard, user=visited.core,
                       rating="not_met", evidence="Seen", recommendation="Do this")
    with django_assert_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200
    assert len(few.captured_queries) <= 20
