"""A one-way peer review's set-up (visits.views_reviews, visits.services.reviews): creating
it from a decision, its team, checklist, lines of enquiry, documents and previous contact."""

import datetime
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from ilcop.models import ActivityLog
from programmes.models import (
    ConflictOfInterest,
    CoreTeamMembership,
    Enrolment,
    Programme,
    Reviewer,
    SelfReport,
    SelfReportCycle,
    Standard,
    SurveillanceDecision,
)
from visits.models import (
    LineOfEnquiry,
    PeerReview,
    ReportRecipient,
    ReviewChecklistItem,
    ReviewDocument,
    ReviewTeamMember,
    Visit,
    VisitAttendee,
)
from visits.services import reviews as services
from visits.views_reviews import status_of

from .factories import (
    CoreTeamMembershipFactory,
    OrganisationFactory,
    SiteFactory,
    SiteMembershipFactory,
    UserFactory,
)

TODAY = datetime.date(2026, 6, 1)


def _reviewer(programme, name, organisation=None, patient=False, trained=True):
    return Reviewer.objects.create(
        programme=programme, user=UserFactory(full_name=name), is_patient_reviewer=patient,
        profession="" if patient else "doctor", region="london", organisation=organisation,
        training_completed_on=TODAY if trained else None)


@pytest.fixture
def ow(db):
    programme = Programme.objects.create(
        name="Specialised Services Quality Review", specialty="lung_cancer",
        kind=Programme.Kind.ONE_WAY, start_date=TODAY, end_date=TODAY + datetime.timedelta(365),
        status=Programme.Status.RUNNING)
    core = CoreTeamMembershipFactory(programme=programme, user__full_name="Priya Manager",
                                     role=CoreTeamMembership.Role.PROJECT_MANAGER).user
    trust = OrganisationFactory(name="Wyvern Valley NHS Trust", network="North Alliance")
    site = SiteFactory(organisation=trust, name="Specialised lung service")
    other = SiteFactory(name="Another lung service")
    for service in (site, other):
        Enrolment.objects.create(programme=programme, site=service,
                                 status=Enrolment.Status.APPROVED)
    lead = SiteMembershipFactory(site=site, user__full_name="Dr Lena Lead").user
    cns = SiteMembershipFactory(site=site, role="cns", user__full_name="Nia Nurse").user
    other_member = SiteMembershipFactory(site=other).user
    elsewhere = OrganisationFactory(name="Elsewhere NHS Trust", network="South Alliance")
    clinical = _reviewer(programme, "Dr Clare Peer", elsewhere)
    patient = _reviewer(programme, "Pat Reviewer", patient=True)
    insider = _reviewer(programme, "Dr Ivan Insider", trust)
    cycle = SelfReportCycle.objects.create(programme=programme, name="2026/27", opens_on=TODAY,
                                           closes_on=TODAY + datetime.timedelta(30))
    report = SelfReport.objects.create(cycle=cycle, site=site, status="submitted")
    decision = SurveillanceDecision.objects.create(
        report=report, peer_review=True, risk_level="medium", rationale="Missed QI-01",
        decided_by=core)
    standard = Standard.objects.create(programme=programme, code="S1", title="MDT weekly")
    return SimpleNamespace(programme=programme, core=core, site=site, other=other, lead=lead,
                           cns=cns, other_member=other_member, clinical=clinical,
                           patient=patient, insider=insider, decision=decision,
                           standard=standard, trust=trust, outsider=UserFactory())


@pytest.fixture
def review(ow):
    return services.review_create(decision=ow.decision, user=ow.core)


def _reviewer_client(client_for, reviewer):
    return client_for(reviewer.user)


# --- creating -------------------------------------------------------------------------------


def test_creating_a_review_adds_the_checklist_and_the_service_team_as_recipients(ow):
    review = services.review_create(decision=ow.decision, user=ow.core, format="deep_dive")
    assert review.site == ow.site and review.programme == ow.programme
    assert review.format == "deep_dive"
    assert [i.text for i in review.checklist.all()] == list(services.PRE_VISIT_CHECKLIST)
    assert {(r.user, r.role) for r in review.distribution.all()} == {
        (ow.lead, ReportRecipient.Role.SERVICE_TEAM), (ow.cns, ReportRecipient.Role.SERVICE_TEAM)}
    entry = ActivityLog.objects.get(verb="review.created")
    assert entry.data == {"decision": ow.decision.pk, "format": "deep_dive"}
    # Asked again, the same review; nothing new is made.
    assert services.review_create(decision=ow.decision, user=ow.core) == review
    assert PeerReview.objects.count() == 1 and ReviewChecklistItem.objects.count() == 5


def test_a_decision_without_a_peer_review_is_refused_with_a_clear_message(ow, client_for):
    SurveillanceDecision.objects.filter(pk=ow.decision.pk).update(peer_review=False,
                                                                  routine=True)
    response = client_for(ow.core).post(f"/decisions/{ow.decision.pk}/review/",
                                        {"format": "one_day"})
    assert response.status_code == 200
    assert "did not choose a peer review" in response.content.decode()
    assert not PeerReview.objects.exists()


def test_the_decision_page_button_sets_up_a_one_day_review_once(ow, client_for):
    client = client_for(ow.core)
    first = client.post(f"/decisions/{ow.decision.pk}/review/")
    review = PeerReview.objects.get()
    assert first["Location"] == f"/reviews/{review.pk}/" and review.format == "one_day"
    second = client.post(f"/decisions/{ow.decision.pk}/review/", follow=True)
    assert second.redirect_chain[0] == (f"/reviews/{review.pk}/", 302)
    assert "already set up" in second.content.decode()
    assert PeerReview.objects.count() == 1


def test_who_may_set_up_a_review(ow, client_for):
    url = f"/decisions/{ow.decision.pk}/review/"
    assert client_for(ow.core).get(url).status_code == 200
    assert client_for(ow.lead).post(url).status_code == 403
    assert client_for(ow.other_member).post(url).status_code == 404
    assert client_for(ow.outsider).post(url).status_code == 404
    assert not PeerReview.objects.exists()


# --- the team -------------------------------------------------------------------------------


def test_a_reviewer_from_the_services_own_organisation_is_refused_and_nothing_is_written(
        ow, review, client_for):
    response = client_for(ow.core).post(f"/reviews/{review.pk}/team/", {
        "reviewers": [ow.clinical.pk, ow.patient.pk, ow.insider.pk], "lead": ow.clinical.pk})
    page = response.content.decode()
    assert response.status_code == 200
    summary = page[page.index("nhsuk-error-summary"):page.index("</ul>",
                                                                page.index("nhsuk-error-summary"))]
    assert "Dr Ivan Insider works at Wyvern Valley NHS Trust, the organisation under review" in \
        summary
    assert not ReviewTeamMember.objects.exists()
    assert not ActivityLog.objects.filter(verb="review.team_set").exists()


def test_every_conflict_is_listed_at_once(ow, review):
    ConflictOfInterest.objects.create(reviewer=ow.clinical, organisation=ow.trust,
                                      description="Trained there")
    with pytest.raises(Exception) as exc:
        services.review_team_set(review=review, reviewer_ids=[ow.clinical.pk, ow.insider.pk],
                                 lead_id=ow.clinical.pk, user=ow.core)
    messages = exc.value.messages
    assert any("declared a conflict of interest with Wyvern Valley NHS Trust: Trained there"
               in m for m in messages)
    assert any("Dr Ivan Insider works at Wyvern Valley NHS Trust" in m for m in messages)


def test_a_team_short_of_the_mix_needs_a_reason_which_is_kept(ow, review, client_for):
    client = client_for(ow.core)
    url = f"/reviews/{review.pk}/team/"
    refused = client.post(url, {"reviewers": [ow.clinical.pk], "lead": ow.clinical.pk})
    assert "The team needs at least 1 patient reviewer; it has none." in \
        refused.content.decode()
    assert not review.team.exists()
    saved = client.post(url, {"reviewers": [ow.clinical.pk], "lead": ow.clinical.pk,
                              "mix_reason": "Our patient reviewer fell ill"})
    assert saved.status_code == 302
    review.refresh_from_db()
    assert review.team_mix_reason == "Our patient reviewer fell ill"
    assert [m.reviewer for m in review.team.all()] == [ow.clinical]


def test_the_team_is_replaced_and_kept_in_step_with_the_visits_attendees(ow, review):
    live = Visit.objects.create(programme=ow.programme, host=ow.site, review=review)
    cancelled = Visit.objects.create(programme=ow.programme, host=ow.site, review=review,
                                     status=Visit.Status.CANCELLED)
    VisitAttendee.objects.create(visit=live, user=ow.lead, team="host", role="clinical_lead")
    services.review_team_set(review=review, reviewer_ids=[ow.clinical.pk, ow.patient.pk],
                             lead_id=ow.clinical.pk, user=ow.core)
    assert {(a.user, a.team, a.role) for a in live.attendees.all()} == {
        (ow.lead, "host", "clinical_lead"), (ow.clinical.user, "visiting", "lead_reviewer"),
        (ow.patient.user, "visiting", "patient_reviewer")}
    assert not cancelled.attendees.exists()
    other_peer = _reviewer(ow.programme, "Dr Olu Other", OrganisationFactory())
    services.review_team_set(review=review, reviewer_ids=[other_peer.pk, ow.patient.pk],
                             lead_id=ow.patient.pk, user=ow.core)
    assert {(m.reviewer, m.is_lead) for m in review.team.all()} == {
        (other_peer, False), (ow.patient, True)}
    assert {(a.user, a.role) for a in live.attendees.filter(team="visiting")} == {
        (other_peer.user, "clinical_peer"), (ow.patient.user, "lead_reviewer")}
    entry = ActivityLog.objects.filter(verb="review.team_set").latest("pk")
    assert entry.data == {"reviewers": [other_peer.pk, ow.patient.pk], "lead": ow.patient.pk,
                          "short_of_mix": False}


def test_the_lead_must_be_on_the_team(ow, review):
    with pytest.raises(Exception, match="lead reviewer"):
        services.review_team_set(review=review, reviewer_ids=[ow.clinical.pk, ow.patient.pk],
                                 lead_id=ow.insider.pk, user=ow.core)


def test_the_team_page_shows_the_pool_with_who_cannot_review(ow, review, client_for):
    page = client_for(ow.core).get(f"/reviews/{review.pk}/team/").content.decode()
    assert "Dr Clare Peer" in page and "Elsewhere NHS Trust" in page
    assert "Pat Reviewer" in page and "Patient reviewer" in page
    assert "Cannot review this service" in page


# --- the checklist and the lines of enquiry --------------------------------------------------


def test_the_service_ticks_the_checklist_as_sent(ow, review, client_for):
    item = review.checklist.first()
    client = client_for(ow.lead)
    for _ in range(2):
        client.post(f"/reviews/{review.pk}/checklist/{item.pk}/", {"done": "1"})
    item.refresh_from_db()
    assert item.done_by == ow.lead and item.done_at is not None
    assert ActivityLog.objects.filter(verb="review.checklist_ticked").count() == 1
    client.post(f"/reviews/{review.pk}/checklist/{item.pk}/", {"done": "0"})
    item.refresh_from_db()
    assert item.done_at is None


def test_changing_a_line_after_agreement_clears_it_and_the_page_says_so(ow, review,
                                                                         client_for):
    client = client_for(ow.lead)
    client.post(f"/reviews/{review.pk}/lines/add/", {"text": "How are late referrals "
                                                             "discussed?",
                                                     "standard": ow.standard.pk})
    line = LineOfEnquiry.objects.get()
    assert line.standard == ow.standard and line.proposed_by == ow.lead
    client.post(f"/reviews/{review.pk}/lines/agree/")
    review.refresh_from_db()
    assert review.lines_agreed_by == ow.lead
    assert "Changing a line means agreeing them again" in client.get(
        f"/reviews/{review.pk}/").content.decode()
    response = client.post(f"/reviews/{review.pk}/lines/{line.pk}/edit/",
                           {"text": "How are late referrals triaged?"}, follow=True)
    assert "they need agreeing again" in response.content.decode()
    review.refresh_from_db()
    assert review.lines_agreed_at is None
    assert "Not agreed yet" in response.content.decode()


def test_agreeing_without_lines_is_refused(ow, review, client_for):
    response = client_for(ow.core).post(f"/reviews/{review.pk}/lines/agree/", follow=True)
    assert "Add at least one line of enquiry" in response.content.decode()
    review.refresh_from_db()
    assert review.lines_agreed_at is None


def test_a_blank_line_says_what_to_do(ow, review, client_for):
    response = client_for(ow.lead).post(f"/reviews/{review.pk}/lines/add/", {"text": "  "})
    assert "Enter the line of enquiry" in response.content.decode()
    assert not LineOfEnquiry.objects.exists()


def test_a_line_is_removed(ow, review):
    line = services.line_add(review=review, user=ow.core, text="Q")
    services.line_remove(line=line, user=ow.core)
    assert not LineOfEnquiry.objects.exists()


# --- documents ------------------------------------------------------------------------------


def test_the_service_shares_a_document_the_review_team_downloads(ow, review, client_for):
    services.review_team_set(review=review, reviewer_ids=[ow.clinical.pk, ow.patient.pk],
                             lead_id=ow.clinical.pk, user=ow.core)
    upload = SimpleUploadedFile("policy.pdf", b"%PDF-1.4\n", content_type="application/pdf")
    response = client_for(ow.lead).post(f"/reviews/{review.pk}/documents/add/",
                                        {"title": "Operational policy", "file": upload})
    assert response.status_code == 302
    document = ReviewDocument.objects.get()
    assert document.filename == "policy.pdf" and document.uploaded_by == ow.lead
    url = f"/reviews/{review.pk}/documents/{document.pk}/"
    download = client_for(ow.clinical.user).get(url)
    assert download.status_code == 200 and b"".join(download.streaming_content) == \
        b"%PDF-1.4\n"
    assert client_for(ow.other_member).get(url).status_code == 404


def test_a_file_that_is_not_what_it_says_is_refused_and_nothing_is_stored(ow, review,
                                                                          client_for):
    upload = SimpleUploadedFile("policy.pdf", b"<html>", content_type="application/pdf")
    response = client_for(ow.lead).post(f"/reviews/{review.pk}/documents/add/",
                                        {"title": "Policy", "file": upload})
    assert "is not a real .pdf file" in response.content.decode()
    assert not ReviewDocument.objects.exists()


# --- previous contact -----------------------------------------------------------------------


def test_the_core_team_puts_the_service_in_touch_with_one_reviewed_before(ow, review,
                                                                          client_for):
    earlier = PeerReview.objects.create(programme=ow.programme, site=ow.other, created_by=ow.core)
    Visit.objects.create(programme=ow.programme, host=ow.other, review=earlier,
                         status=Visit.Status.HAPPENED, date=TODAY)
    client = client_for(ow.core)
    url = f"/reviews/{review.pk}/previous-contact/"
    assert "only with their agreement" in client.get(url).content.decode().lower()
    response = client.post(url, {"site": ow.other.pk, "details": "Sam, MDT lead, 01234",
                                 "version": review.version})
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.previous_contact_site == ow.other
    page = client_for(ow.lead).get(f"/reviews/{review.pk}/").content.decode()
    assert "Sam, MDT lead, 01234" in page
    # Someone who opened the form before that save is shown both versions.
    stale = client.post(url, {"site": ow.other.pk, "details": "Someone else",
                              "version": review.version - 1})
    assert "Someone else changed this while you were editing" in stale.content.decode()


def test_a_service_not_yet_reviewed_cannot_be_the_contact(ow, review):
    with pytest.raises(Exception, match="whose review visit has happened"):
        services.previous_contact_set(review=review, user=ow.core, site=ow.other,
                                      details="x")


# --- who sees what, and the pages' queries ---------------------------------------------------


def test_who_sees_the_review(ow, review, client_for):
    services.review_team_set(review=review, reviewer_ids=[ow.clinical.pk, ow.patient.pk],
                             lead_id=ow.clinical.pk, user=ow.core)
    url = f"/reviews/{review.pk}/"
    for person in (ow.core, ow.lead, ow.clinical.user):
        assert client_for(person).get(url).status_code == 200
        assert client_for(person).get(url + "guidance/").status_code == 200
    for person in (ow.other_member, ow.outsider):
        assert client_for(person).get(url).status_code == 404
    # The lead reviewer sees the review but may not prepare it or choose the team.
    reviewer = client_for(ow.clinical.user)
    page = reviewer.get(url).content.decode()
    assert "Add a line of enquiry" not in page and "Talk to a service reviewed before" not in page
    assert reviewer.get(url + "team/").status_code == 403
    assert reviewer.post(url + "lines/add/", {"text": "x"}).status_code == 403
    assert client_for(ow.lead).get(url + "team/").status_code == 403


def test_the_guidance_covers_before_during_and_after(ow, review, client_for):
    page = client_for(ow.lead).get(f"/reviews/{review.pk}/guidance/").content.decode()
    for heading in ("Before the visit", "Agreeing what the review looks at", "Documents",
                    "On the day", "The report", "The action plan"):
        assert f">{heading}</h2>" in page
    assert "informal time" in page and "named owner" in page
    assert services.PRE_VISIT_CHECKLIST[0] in page


def _fill(ow, review, n):
    pool = [_reviewer(ow.programme, f"Dr Peer {i}", OrganisationFactory()) for i in range(n)]
    ReviewTeamMember.objects.filter(review=review).delete()
    for i, reviewer in enumerate(pool):
        ReviewTeamMember.objects.create(review=review, reviewer=reviewer, is_lead=i == 0)
    for i in range(n):
        LineOfEnquiry.objects.create(review=review, text=f"Line {i}", standard=ow.standard,
                                     proposed_by=ow.core)
        ReviewDocument.objects.create(review=review, title=f"Doc {i}", file="reviews/x.pdf",
                                      filename="x.pdf", size=9, uploaded_by=ow.lead)
    for item in review.checklist.all():
        item.done_at, item.done_by = timezone.now(), ow.lead
        item.save()


@pytest.mark.parametrize("who", ["core", "lead"])
def test_the_review_page_query_count_does_not_grow(ow, review, client_for,
                                                   django_assert_max_num_queries, who):
    client = client_for(getattr(ow, who))
    counts = []
    for n in (1, 5):
        _fill(ow, review, n)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/reviews/{review.pk}/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    with django_assert_max_num_queries(30):
        client.get(f"/reviews/{review.pk}/")


def test_the_programme_list_and_the_team_page_query_counts_do_not_grow(
        ow, client_for, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(ow.core)
    counts = {}
    for n in (1, 5):
        for i in range(n):
            site = SiteFactory()
            review = PeerReview.objects.create(programme=ow.programme, site=site,
                                               created_by=ow.core)
            Visit.objects.create(programme=ow.programme, host=site, review=review,
                                 date=TODAY + datetime.timedelta(days=400))
            _reviewer(ow.programme, f"Dr Pool {n}-{i}", OrganisationFactory())
        for url in (f"/programmes/{ow.programme.pk}/reviews/", f"/reviews/{review.pk}/team/"):
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            counts.setdefault(url.split("/")[1], []).append(len(queries))
    assert all(a == b for a, b in counts.values()), counts
    with django_assert_max_num_queries(20):
        client.get(f"/programmes/{ow.programme.pk}/reviews/?status=dated&format=one_day")


def test_the_programme_list_is_the_core_teams_and_filters_by_status(ow, review, client_for):
    url = f"/programmes/{ow.programme.pk}/reviews/"
    page = client_for(ow.core).get(url).content.decode()
    assert "Specialised lung service" in page and "Not yet dated" in page
    assert "No reviews match" in client_for(ow.core).get(url + "?status=report_sent"
                                                         ).content.decode()
    assert client_for(ow.lead).get(url).status_code == 403
    assert client_for(ow.outsider).get(url).status_code == 404


# --- the status in words: worked examples ---------------------------------------------------


def _v(status, date=None):
    return Visit(status=status, date=date)


@pytest.mark.parametrize(("visits", "expected"), [
    ([], "not_dated"),
    ([_v("proposed")], "not_dated"),
    ([_v("confirmed", TODAY)], "dated"),
    ([_v("cancelled", TODAY), _v("polling")], "not_dated"),
    ([_v("happened", TODAY), _v("proposed")], "not_dated"),  # a deep dive's next visit
    ([_v("happened", TODAY), _v("confirmed", TODAY)], "dated"),
    ([_v("happened", TODAY), _v("cancelled")], "happened"),
    ([_v("happened", TODAY), _v("report_sent", TODAY)], "report_sent"),
])
def test_status_in_words(visits, expected):
    assert status_of(visits) == expected
