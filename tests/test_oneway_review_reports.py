"""A one-way review's report: a visit report version on the review's visit (the same pipeline),
sent to exactly its distribution list with delivery tracked, and a redacted version published
only as widely as the core team chooses."""

import datetime
from types import SimpleNamespace

import pytest
import time_machine
from django.template.loader import render_to_string
from django.test import Client

from ilcop import privacy
from ilcop.models import ActivityLog, User
from programmes.models import (
    CoreTeamMembership,
    Enrolment,
    Programme,
    Reviewer,
    SiteMembership,
    Standard,
)
from visits.models import (
    LineOfEnquiry,
    PeerReview,
    ReportRecipient,
    ReviewTeamMember,
    StandardFinding,
    Visit,
    VisitAttendee,
    VisitReport,
)
from visits.review_report import report_slot, review_content
from visits.services import report as report_services
from visits.services import review_reports as services

from .factories import (
    CoreTeamMembershipFactory,
    EnrolmentFactory,
    OrganisationFactory,
    ProgrammeFactory,
    SiteFactory,
    SiteMembershipFactory,
    UserFactory,
)
from .pdf import pdf_text

NOW = datetime.datetime(2026, 6, 3, 10, 0, tzinfo=datetime.UTC)
SITE = "https://peer.example"
NETWORK = "North Central London Cancer Alliance"


@pytest.fixture(autouse=True)
def _frozen(settings):
    settings.SITE_URL = SITE
    with time_machine.travel(NOW, tick=False):
        yield


def _member(site, name, role="clinical_lead"):
    return SiteMembershipFactory(site=site, role=role, user__full_name=name).user


@pytest.fixture
def w(db):
    """A one-way programme with a reviewed service, the people around it, and a review that
    has happened, with findings, lines of enquiry and a two-person distribution list."""
    programme = ProgrammeFactory(name="Specialised Services Quality Review 2026",
                                 kind=Programme.Kind.ONE_WAY)
    core = CoreTeamMembershipFactory(programme=programme, user__full_name="Priya Manager",
                                     role=CoreTeamMembership.Role.PROJECT_MANAGER).user
    trust = OrganisationFactory(name="Wyvern Valley NHS Trust", network=NETWORK)
    neighbour = OrganisationFactory(name="Riverside NHS Trust", network=NETWORK)
    distant = OrganisationFactory(name="Far Moor NHS Trust", network="Another Alliance")

    def enrol(organisation, name):
        site = SiteFactory(organisation=organisation, name=name)
        EnrolmentFactory(programme=programme, site=site, status=Enrolment.Status.APPROVED)
        return site

    service = enrol(trust, "Specialised lung service")
    lead = _member(service, "Dr Lena Lead")
    nurse = _member(service, "Nia Nurse", role="cns")
    same_org = _member(enrol(trust, "Specialised heart service"), "Sam Sameorg")
    same_network = _member(enrol(neighbour, "Specialised lung service"), "Nell Network")
    other_participant = _member(enrol(distant, "Specialised lung service"), "Otto Other")
    elsewhere = EnrolmentFactory(programme=ProgrammeFactory(),
                                 status=Enrolment.Status.INTERVENTION).site
    outsider = _member(elsewhere, "Oz Outsider")

    reviewer_user = UserFactory(full_name="Dr Rita Reviewer")
    reviewer = Reviewer.objects.create(programme=programme, user=reviewer_user,
                                       profession="doctor", region="london",
                                       organisation=distant)
    patient = Reviewer.objects.create(programme=programme,
                                      user=UserFactory(full_name="Pat Patient"),
                                      is_patient_reviewer=True, region="london")
    review = PeerReview.objects.create(programme=programme, site=service, created_by=core)
    ReviewTeamMember.objects.create(review=review, reviewer=reviewer, is_lead=True)
    ReviewTeamMember.objects.create(review=review, reviewer=patient)
    visit = Visit.objects.create(programme=programme, host=service, review=review,
                                 status=Visit.Status.HAPPENED, date=datetime.date(2026, 6, 1),
                                 start_time=datetime.time(9), end_time=datetime.time(16),
                                 facilitator=core)
    VisitAttendee.objects.create(visit=visit, user=lead, team="host", role="clinical_lead")
    VisitAttendee.objects.create(visit=visit, user=reviewer_user, team="visiting",
                                 role="lead_reviewer")
    s1 = Standard.objects.create(programme=programme, code="S1", order=1,
                                 title="Every new patient is discussed at the MDT")
    s2 = Standard.objects.create(programme=programme, code="S2", order=2,
                                 title="Patients see a named key worker")
    LineOfEnquiry.objects.create(review=review, standard=s1, order=1, proposed_by=core,
                                 text="How are late referrals discussed?")
    f1 = StandardFinding.objects.create(
        review=review, standard=s1, rating="partly_met",
        evidence="Dr Lena Lead told us two in ten patients were not discussed",
        recommendation="Add a pre-MDT triage list", good_practice="A clear chair's checklist")
    f2 = StandardFinding.objects.create(review=review, standard=s2, rating="met",
                                        evidence="Every patient had a key worker")
    chief = services.recipient_add(review=review, user=core, role="chief_executive",
                                   full_name="Charles Chief", email="Chief.Exec@Trust.example")
    ReportRecipient.objects.create(review=review, role="service_team", user=lead, added_by=core)
    return SimpleNamespace(
        programme=programme, core=core, service=service, lead=lead, nurse=nurse,
        same_org=same_org, same_network=same_network, other_participant=other_participant,
        outsider=outsider, reviewer=reviewer_user, review=review, visit=visit,
        findings=(f1, f2), chief=chief.user, standards=(s1, s2))


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def approve_and_send(w, capture) -> VisitReport:
    with capture(execute=True):
        response = client_for(w.core).post(f"/visits/{w.visit.pk}/report/approve/",
                                           {"based_on_version": 0})
    assert response.status_code == 302
    return VisitReport.objects.get(visit=w.visit)


def squash(content: bytes) -> str:
    return " ".join(content.decode().split())


# --- the content -----------------------------------------------------------------------------


def test_the_draft_has_the_findings_lines_and_team_and_no_observations_or_data_pack(w):
    page = squash(client_for(w.core).get(f"/visits/{w.visit.pk}/report/").content)
    draft = page[page.index('id="draft"'):]
    for text in ("Peer review report", "A review team visited the Specialised lung service at "
                 "Wyvern Valley NHS Trust", "3. The review", "The review team",
                 "Lead reviewer", "Dr Rita Reviewer", "Patient reviewer", "Pat Patient",
                 "How are late referrals discussed?", "S1: Every new patient is discussed",
                 "Partly met", "Add a pre-MDT triage list", "A clear chair&#x27;s checklist",
                 "Met: 1; Partly met: 1; Not met: 0", "Dr Lena Lead",
                 "The review team&#x27;s feedback", "the people on its distribution list"):
        assert text in draft, text
    assert "Observations of the MDT meeting" not in draft
    assert "Appendix: the data pack" not in draft


def test_the_content_reads_in_a_fixed_number_of_queries(w, django_assert_num_queries):
    with django_assert_num_queries(3):
        review_content(w.review)
    for n in range(3):
        standard = Standard.objects.create(programme=w.programme, code=f"X{n}", order=10 + n,
                                           title="More")
        StandardFinding.objects.create(review=w.review, standard=standard, rating="met",
                                       evidence="Seen")
        LineOfEnquiry.objects.create(review=w.review, text=f"Line {n}")
        ReviewTeamMember.objects.create(review=w.review, reviewer=Reviewer.objects.create(
            programme=w.programme, user=UserFactory(), region="london", profession="nurse"))
    with django_assert_num_queries(3):
        content = review_content(w.review)
    assert len(content.findings) == 5 and len(content.team) == 5


def test_the_redacted_content_names_nobody_and_shows_the_evidence_as_published(w):
    f1, _ = w.findings
    f1.published_evidence = "Two in ten patients were not discussed"
    f1.save()
    content = review_content(w.review, redacted=True)
    assert [row.name for row in content.team] == ["", ""]
    assert content.findings[0].evidence == "Two in ten patients were not discussed"
    html = services.redacted_html(w.visit, None)
    for name in ("Dr Lena Lead", "Dr Rita Reviewer", "Pat Patient", "Priya Manager"):
        assert name not in html, name
    assert "Two in ten patients were not discussed" in html and "Lead reviewer" in html


# --- the report reaches exactly its distribution list ----------------------------------------


def test_the_report_reaches_exactly_its_distribution_list(
        w, mailoutbox, django_capture_on_commit_callbacks):
    gone = UserFactory(full_name="Gone Away", is_active=False)
    ReportRecipient.objects.create(review=w.review, role="other", user=gone)
    report = approve_and_send(w, django_capture_on_commit_callbacks)

    assert report.sent_at is not None and report.recipient_count == 2
    # Not the core team, nor the service's other members, nor the reviewers.
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        [w.lead.email, "chief.exec@trust.example"])
    message = next(m for m in mailoutbox if m.to == ["chief.exec@trust.example"])
    assert message.subject == ("Peer review report: Specialised lung service, Wyvern Valley "
                               "NHS Trust, 1 June 2026")
    body = message.body
    assert body.startswith("Dear Charles,")
    for text in ("The report of the peer review of the Specialised lung service at Wyvern "
                 "Valley NHS Trust on 1 June 2026 is attached as a PDF",
                 "You are on the report's distribution list",
                 "Priya Manager approved it on 3 June 2026",
                 "the service writes an action plan", "you do not need to sign in",
                 f"{SITE}/visits/{w.visit.pk}/report/"):
        assert text in body, text
    assert "observations of the MDT meeting" not in body
    assert body.rstrip().endswith("Specialised Services Quality Review 2026")
    ((filename, content, kind),) = message.attachments
    assert kind == "application/pdf" and content == bytes(report.pdf)
    text = pdf_text(content)
    for words in ("Peer review report", "Specialised lung service",
                  "Version 1, approved by Priya Manager on 3 June 2026",
                  "Every new patient is discussed at the MDT", "Partly met",
                  "Add a pre-MDT triage list", "How are late referrals discussed?",
                  "Dr Rita Reviewer"):
        assert words in text, words


def test_anonymising_a_reviewer_draws_the_reports_pdf_again_without_them(
        w, mailoutbox, django_capture_on_commit_callbacks):
    """The patient reviewer is named only in the review team's table: they did not attend
    the report's visit."""
    patient = User.objects.get(full_name="Pat Patient")
    report = approve_and_send(w, django_capture_on_commit_callbacks)
    old, sent = bytes(report.pdf), len(mailoutbox)
    assert "Pat Patient" in pdf_text(old)
    with django_capture_on_commit_callbacks(execute=True):
        privacy.person_anonymise(user=patient, by=w.core)
    report.refresh_from_db()
    text = pdf_text(bytes(report.pdf))
    assert "Pat Patient" not in text and f"Former participant {patient.pk}" in text
    assert "Dr Rita Reviewer" in text and "Patient reviewer" in text
    assert "Pat Patient" not in report.html and len(mailoutbox) == sent


def test_the_recipients_are_the_list_for_a_review_visit(w):
    people = report_services.report_recipients(w.visit)
    assert {p.pk for p in people} == {w.lead.pk, w.chief.pk} and len(people) == 2


# --- the distribution page -------------------------------------------------------------------


def test_the_list_shows_delivery_of_the_latest_version(
        w, mailoutbox, django_capture_on_commit_callbacks):
    url = f"/reviews/{w.review.pk}/distribution/"
    page = squash(client_for(w.core).get(url).content)
    assert "No version of the report has been approved yet" in page
    assert "Charles Chief" in page and "chief.exec@trust.example" in page
    assert page.index("The service team") < page.index("Chief executive")
    approve_and_send(w, django_capture_on_commit_callbacks)
    with time_machine.travel(NOW + datetime.timedelta(hours=1), tick=False):
        services.recipient_add(review=w.review, user=w.core, role="commissioner",
                               full_name="Cara Commissioner", email="cara@icb.example")
    page = squash(client_for(w.core).get(url).content)
    assert "sent to 2 of 3 people on the list" in page
    assert page.count("nhsuk-tag--green\">Sent") == 2
    assert "Not sent: added after this version went out" in page


def test_a_failed_send_shows_on_the_list(w, django_capture_on_commit_callbacks):
    report = approve_and_send(w, django_capture_on_commit_callbacks)
    VisitReport.objects.filter(pk=report.pk).update(send_failed_at=NOW)
    from ilcop.models import Notification

    Notification.objects.filter(recipient=w.chief).delete()
    page = squash(client_for(w.core).get(f"/reviews/{w.review.pk}/distribution/").content)
    assert "Not sent: sending failed" in page


def test_adding_a_person_reuses_an_account_or_makes_one_without_a_password(w):
    client = client_for(w.core)
    url = f"/reviews/{w.review.pk}/distribution/add/"
    response = client.post(url, {"role": "commissioner", "full_name": "Cara Commissioner",
                                 "email": "Cara@ICB.example"})
    assert response.status_code == 302
    cara = User.objects.get(email="cara@icb.example")
    assert not cara.has_usable_password() and cara.full_name == "Cara Commissioner"
    response = client.post(url, {"role": "network", "full_name": "Anyone",
                                 "email": w.nurse.email.upper()})
    assert ReportRecipient.objects.get(review=w.review, user=w.nurse).role == "network"
    # Already on the list: said plainly, nothing written.
    response = client.post(url, {"role": "other", "full_name": "Cara",
                                 "email": "cara@icb.example"})
    assert response.status_code == 200
    assert "Cara Commissioner is already on the distribution list" in squash(response.content)
    response = client.post(url, {"role": "", "full_name": "", "email": "not an address"})
    page = squash(response.content)
    assert "Choose the person&#x27;s role" in page and "Enter the person&#x27;s full name" in page
    assert "Enter an email address like name@nhs.net" in page
    assert w.review.distribution.count() == 4
    # The log names nobody.
    for entry in ActivityLog.objects.filter(verb__startswith="review.recipient"):
        assert "Cara" not in entry.summary and "icb" not in str(entry.data)


def test_adding_the_team_in_one_click_and_removing(w):
    client = client_for(w.core)
    response = client.post(f"/reviews/{w.review.pk}/distribution/add-team/")
    assert response.status_code == 302
    assert set(w.review.distribution.values_list("user_id", flat=True)) == {
        w.lead.pk, w.nurse.pk, w.chief.pk}
    assert client.post(f"/reviews/{w.review.pk}/distribution/add-team/").status_code == 302
    assert w.review.distribution.count() == 3
    entry = w.review.distribution.get(user=w.nurse)
    remove = f"/reviews/{w.review.pk}/distribution/{entry.pk}/remove/"
    assert client.post(remove).status_code == 302
    assert client.post(remove).status_code == 302  # a second click changes nothing
    assert not w.review.distribution.filter(user=w.nurse).exists()
    page = squash(client.get(f"/reviews/{w.review.pk}/distribution/").content)
    assert "keeps any version they have been sent" in page


@pytest.mark.parametrize(("who", "get", "post"), [
    ("core", 200, 302), ("lead", 200, 403), ("reviewer", 200, 403),
    ("same_org", 404, 404), ("other_participant", 404, 404), ("outsider", 404, 404)])
def test_who_may_see_and_keep_the_list(w, who, get, post):
    client = client_for(getattr(w, who))
    assert client.get(f"/reviews/{w.review.pk}/distribution/").status_code == get
    assert client.post(f"/reviews/{w.review.pk}/distribution/add-team/").status_code == post
    entry = w.review.distribution.first()
    assert client.post(f"/reviews/{w.review.pk}/distribution/{entry.pk}/remove/"
                       ).status_code == post


def test_the_list_page_reads_in_a_fixed_number_of_queries(w, django_assert_max_num_queries):
    client = client_for(w.core)
    url = f"/reviews/{w.review.pk}/distribution/"
    with django_assert_max_num_queries(20) as before:
        assert client.get(url).status_code == 200
    for n in range(5):
        services.recipient_add(review=w.review, user=w.core, role="other",
                               full_name=f"Person {n}", email=f"p{n}@x.example")
    with django_assert_max_num_queries(len(before.captured_queries)):
        assert client.get(url).status_code == 200


# --- redaction and visibility ----------------------------------------------------------------


def test_redaction_needs_an_approved_report_and_every_published_evidence(
        w, django_capture_on_commit_callbacks):
    client = client_for(w.core)
    url = f"/reviews/{w.review.pk}/publication/"
    page = squash(client.get(url).content)
    assert "Approve the report first" in page
    response = client.post(url + "approve/", follow=True)
    assert "Approve the report first" in squash(response.content)
    approve_and_send(w, django_capture_on_commit_callbacks)
    response = client.post(url + "approve/", follow=True)
    assert "Write the evidence as published for standard S1, S2 first" in squash(
        response.content)
    # Widening is refused until a redaction is approved.
    response = client.post(url + "visibility/", {"visibility": "public"})
    assert response.status_code == 200
    assert "Approve the redacted report before publishing it" in squash(response.content)
    w.review.refresh_from_db()
    assert w.review.visibility == "organisation"


def test_approving_the_redaction_freezes_it_then_an_edit_withdraws_it(
        w, django_capture_on_commit_callbacks):
    approve_and_send(w, django_capture_on_commit_callbacks)
    client = client_for(w.core)
    url = f"/reviews/{w.review.pk}/publication/"
    f1, f2 = w.findings
    page = squash(client.get(url).content)
    # Prefilled from the evidence, which the core team then edits.
    assert "Dr Lena Lead told us two in ten" in page
    for finding, text in ((f1, "Two in ten patients were not discussed"),
                          (f2, "Every patient had a key worker")):
        response = client.post(f"{url}findings/{finding.pk}/", {
            f"finding-{finding.pk}-published_evidence": text,
            f"finding-{finding.pk}-version": finding.version})
        assert response.status_code == 302
    page = squash(client.get(url).content)
    preview = page[page.index("2. The redacted report"):page.index("3. Who may read it")]
    assert "Two in ten patients were not discussed" in preview
    for name in ("Dr Lena Lead", "Dr Rita Reviewer", "Pat Patient", "Priya Manager"):
        assert name not in preview, name
    draft = page.split('name="draft" value="')[1].split('"')[0]
    assert client.post(url + "approve/", {"draft": draft}).status_code == 302
    w.review.refresh_from_db()
    assert w.review.redaction_approved_by == w.core
    assert "Two in ten patients were not discussed" in w.review.published_html
    assert client.post(url + "visibility/", {"visibility": "national"}).status_code == 302
    w.review.refresh_from_db()
    assert w.review.visibility == "national"

    f1.refresh_from_db()
    response = client.post(f"{url}findings/{f1.pk}/", {
        f"finding-{f1.pk}-published_evidence": "Some patients were not discussed",
        f"finding-{f1.pk}-version": f1.version}, follow=True)
    assert "its approval was withdrawn" in squash(response.content)
    w.review.refresh_from_db()
    assert (w.review.visibility, w.review.redaction_approved_at, w.review.published_html) == (
        "organisation", None, "")
    assert ActivityLog.objects.filter(verb="review.redaction_withdrawn").exists()


def test_a_stale_preview_or_a_stale_edit_is_refused(w, django_capture_on_commit_callbacks):
    approve_and_send(w, django_capture_on_commit_callbacks)
    for finding in w.findings:
        services.published_evidence_save(finding=finding, user=w.core, text="Written",
                                         version=None)
    client = client_for(w.core)
    url = f"/reviews/{w.review.pk}/publication/"
    response = client.post(url + "approve/", {"draft": "0" * 64}, follow=True)
    assert "has changed since you opened this page" in squash(response.content)
    f1 = w.findings[0]
    response = client.post(f"{url}findings/{f1.pk}/", {
        f"finding-{f1.pk}-published_evidence": "Mine", f"finding-{f1.pk}-version": 0})
    assert response.status_code == 200
    assert "Someone else changed this while you were editing" in squash(response.content)
    f1.refresh_from_db()
    assert f1.published_evidence == "Written"


@pytest.mark.parametrize(("who", "status"), [
    ("core", 200), ("lead", 403), ("reviewer", 403), ("same_org", 404), ("outsider", 404)])
def test_only_the_core_team_publishes(w, who, status):
    client = client_for(getattr(w, who))
    assert client.get(f"/reviews/{w.review.pk}/publication/").status_code == status
    for action in ("approve/", "visibility/", f"findings/{w.findings[0].pk}/"):
        assert client.post(f"/reviews/{w.review.pk}/publication/{action}").status_code in (
            (status,) if status != 200 else (200, 302))


def test_the_publication_page_reads_in_a_fixed_number_of_queries(
        w, django_assert_max_num_queries, django_capture_on_commit_callbacks):
    approve_and_send(w, django_capture_on_commit_callbacks)
    client = client_for(w.core)
    url = f"/reviews/{w.review.pk}/publication/"
    with django_assert_max_num_queries(30) as before:
        assert client.get(url).status_code == 200
    for n in range(4):
        standard = Standard.objects.create(programme=w.programme, code=f"X{n}", order=10 + n,
                                           title="More")
        StandardFinding.objects.create(review=w.review, standard=standard, rating="met",
                                       evidence="Seen")
        LineOfEnquiry.objects.create(review=w.review, text=f"Line {n}")
    with django_assert_max_num_queries(len(before.captured_queries)):
        assert client.get(url).status_code == 200


# --- visibility is respected on every page ---------------------------------------------------

READERS = ("core", "lead", "reviewer", "same_org", "same_network", "other_participant",
           "outsider", "anonymous")
# Who may read the published version at each visibility (those who see the review itself may
# always read it).
PUBLISHED_TO = {
    "organisation": {"core", "lead", "reviewer", "same_org"},
    "network": {"core", "lead", "reviewer", "same_org", "same_network"},
    "national": {"core", "lead", "reviewer", "same_org", "same_network", "other_participant"},
    "public": set(READERS),
}
SEES_THE_REVIEW = {"core", "lead", "reviewer"}
PROGRAMME_READERS = {"core", "lead", "reviewer", "same_org", "same_network",
                     "other_participant"}


@pytest.fixture
def published(w, django_capture_on_commit_callbacks):
    approve_and_send(w, django_capture_on_commit_callbacks)
    for finding in w.findings:
        services.published_evidence_save(finding=finding, user=w.core,
                                         text=f"Published {finding.standard.code}",
                                         version=None)
    services.redaction_approve(review=w.review, user=w.core)
    return w


@pytest.mark.parametrize("visibility", list(PUBLISHED_TO))
@pytest.mark.parametrize("who", READERS)
def test_visibility_is_respected_on_every_page(published, visibility, who):
    w = published
    services.visibility_set(review=w.review, user=w.core, visibility=visibility)
    client = client_for(None if who == "anonymous" else getattr(w, who))
    signed_out = 302 if who == "anonymous" else 404

    def status(url):
        return client.get(url).status_code

    sees = who in SEES_THE_REVIEW
    version = VisitReport.objects.get(visit=w.visit).version
    assert status(f"/reviews/{w.review.pk}/") == (200 if sees else signed_out)
    assert status(f"/visits/{w.visit.pk}/report/") == (200 if sees else signed_out)
    assert status(f"/visits/{w.visit.pk}/report/v{version}.pdf") == (
        200 if sees else signed_out)
    assert status(f"/reviews/{w.review.pk}/distribution/") == (200 if sees else signed_out)
    listing = client.get(f"/programmes/{w.programme.pk}/reviews/published/")
    if who == "anonymous":
        assert listing.status_code == 302
    elif who in PROGRAMME_READERS:
        assert listing.status_code == 200
        listed = f"/reviews/{w.review.pk}/published/" in listing.content.decode()
        assert listed == (who in PUBLISHED_TO[visibility])
    else:
        assert listing.status_code == 404
    page = client.get(f"/reviews/{w.review.pk}/published/")
    assert page.status_code == (200 if who in PUBLISHED_TO[visibility] else 404)
    if page.status_code == 200:
        whole = page.content.decode()
        assert 'content="noindex"' in whole
        text = whole[whole.index("<h1"):whole.index("</main>")]
        assert "Published S1" in text and "Dr Lena Lead" not in text
        assert "Dr Rita Reviewer" not in text and "Pat Patient" not in text


def test_nothing_is_published_before_the_redaction_is_approved(w):
    assert client_for(w.lead).get(f"/reviews/{w.review.pk}/published/").status_code == 404
    assert Client().get(f"/reviews/{w.review.pk}/published/").status_code == 404
    with pytest.raises(Exception):  # noqa: B017 - the database's check constraint
        PeerReview.objects.filter(pk=w.review.pk).update(visibility="public")


def test_the_published_pages_read_in_a_fixed_number_of_queries(
        published, django_assert_max_num_queries):
    w = published
    services.visibility_set(review=w.review, user=w.core, visibility="public")
    with django_assert_max_num_queries(3):
        assert Client().get(f"/reviews/{w.review.pk}/published/").status_code == 200
    client = client_for(w.other_participant)
    url = f"/programmes/{w.programme.pk}/reviews/published/"
    with django_assert_max_num_queries(15) as before:
        assert client.get(url).status_code == 200
    for _ in range(3):
        other = PeerReview.objects.create(
            programme=w.programme, site=w.service, visibility="public",
            redaction_approved_at=NOW, published_html="<p>x</p>")
        assert other.pk
    with django_assert_max_num_queries(len(before.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count("/published/\"") == 4


# --- the review page's slot ------------------------------------------------------------------


def test_the_review_page_says_where_the_report_stands(
        w, django_capture_on_commit_callbacks, django_assert_max_num_queries):
    def slot_text():
        with django_assert_max_num_queries(4):
            slot = report_slot(w.review)
        return " ".join(render_to_string("visits/reviews/_report.html", {
            "review": w.review, "report_slot": slot, "is_core": True}).split())

    text = slot_text()
    assert "Draft" in text and "No version has been approved yet" in text
    assert f"/visits/{w.visit.pk}/report/" in text
    assert f"/reviews/{w.review.pk}/distribution/" in text
    assert f"/reviews/{w.review.pk}/publication/" in text
    approve_and_send(w, django_capture_on_commit_callbacks)
    text = slot_text()
    assert "Version 1 approved" in text and "sent to 2 of 2 people" in text


def test_a_member_who_left_is_not_added_with_the_team(w):
    SiteMembership.objects.filter(user=w.nurse).update(ended_at=NOW)
    assert services.recipients_add_team(review=w.review, user=w.core) == 0
