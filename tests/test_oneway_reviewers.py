"""The reviewer pool (the core team's) and a reviewer's own page."""

import pytest
from django.core import mail

from ilcop.models import ActivityLog, User
from programmes.models import ConflictOfInterest, Reviewer

from .factories import OrganisationFactory, UserFactory
from .test_oneway_decisions import one_way_world

NEW = {"full_name": "Dr Ada Okafor", "email": "Ada.Okafor@Riverside.example",
       "is_patient_reviewer": "no", "profession": "doctor", "expertise": "Thoracic surgery",
       "region": "london"}


@pytest.fixture
def ow(db):
    return one_way_world()


def pool(ow, rest="") -> str:
    return f"/programmes/{ow.programme.pk}/reviewers/{rest}"


def add(ow, **changes) -> Reviewer:
    fields = {"programme": ow.programme, "user": UserFactory(), "profession": "nurse",
              "region": "london", **changes}
    return Reviewer.objects.create(**fields)


def test_adding_a_newcomer_makes_an_account_without_a_password_and_emails_them(
        ow, client_for, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(ow.core).post(pool(ow, "add/"), NEW)
    reviewer = Reviewer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == pool(ow, f"{reviewer.pk}/")
    person = reviewer.user
    assert person.email == "ada.okafor@riverside.example"
    assert person.full_name == "Dr Ada Okafor" and not person.has_usable_password()
    assert reviewer.profession == "doctor" and not reviewer.is_patient_reviewer
    assert ActivityLog.objects.filter(verb="reviewer.added").count() == 1
    [email] = mail.outbox
    assert email.to == ["ada.okafor@riverside.example"]
    assert email.subject == "You're in the reviewer pool for Specialised Services Quality Review"
    assert "Dear Dr Ada Okafor," in email.body
    assert "reviewer pool of Specialised Services Quality Review as a clinical peer" in email.body
    assert "set a password here" in email.body and "/accounts/password/reset/" in email.body
    assert "/reviewing/" in email.body
    assert "complete reviewer training" in email.body


def test_an_existing_account_is_reused_and_told_to_sign_in_as_usual(
        ow, client_for, django_capture_on_commit_callbacks):
    existing = UserFactory(email="ada.okafor@riverside.example", full_name="Ada Okafor")
    with django_capture_on_commit_callbacks(execute=True):
        client_for(ow.core).post(pool(ow, "add/"), {**NEW, "full_name": "Someone Else"})
    assert Reviewer.objects.get().user == existing
    assert User.objects.filter(email__iexact=NEW["email"]).count() == 1
    existing.refresh_from_db()
    assert existing.full_name == "Ada Okafor" and existing.has_usable_password()
    assert "Sign in as usual" in mail.outbox[0].body
    assert "set a password" not in mail.outbox[0].body


def test_someone_already_in_the_pool_is_not_added_twice(ow, client_for):
    reviewer = add(ow, user=UserFactory(email="ada.okafor@riverside.example"))
    response = client_for(ow.core).post(pool(ow, "add/"), NEW)
    assert response.status_code == 200
    assert "is already in the reviewer pool" in response.content.decode()
    assert list(Reviewer.objects.all()) == [reviewer]


def test_a_clinical_peer_needs_a_profession_and_a_patient_reviewer_does_not(ow, client_for):
    client = client_for(ow.core)
    response = client.post(pool(ow, "add/"), {**NEW, "profession": ""})
    assert response.status_code == 200
    assert "profession, or say they are a patient reviewer" in response.content.decode()
    assert not Reviewer.objects.exists() and not User.objects.filter(
        email=NEW["email"].lower()).exists()
    client.post(pool(ow, "add/"), {**NEW, "is_patient_reviewer": "yes"})
    reviewer = Reviewer.objects.get()
    assert reviewer.is_patient_reviewer and reviewer.profession == ""


def test_editing_a_reviewer_saves_and_logs_only_what_changed(ow, client_for):
    reviewer = add(ow)
    organisation = OrganisationFactory(name="Riverside NHS Trust")
    response = client_for(ow.core).post(pool(ow, f"{reviewer.pk}/"), {
        "is_patient_reviewer": "no", "profession": "doctor", "expertise": "MDT coordination",
        "region": "london", "organisation": organisation.pk,
        "training_completed_on": "2026-03-01", "active": "on"})
    assert response.status_code == 302
    reviewer.refresh_from_db()
    assert reviewer.profession == "doctor" and reviewer.organisation == organisation
    assert str(reviewer.training_completed_on) == "2026-03-01"
    entry = ActivityLog.objects.get(verb="reviewer.updated")
    assert set(entry.data["changed"]) == {"profession", "expertise", "organisation",
                                          "training_completed_on"}


def test_the_core_team_records_and_removes_a_conflict(ow, client_for):
    reviewer = add(ow)
    organisation = OrganisationFactory(name="Wyvern Valley NHS Trust")
    client = client_for(ow.core)
    url = pool(ow, f"{reviewer.pk}/conflicts/add/")
    assert client.post(url, {"organisation": organisation.pk,
                             "description": "Worked there until 2024"}).status_code == 302
    conflict = ConflictOfInterest.objects.get()
    again = client.post(url, {"organisation": organisation.pk, "description": "Again"})
    assert "A conflict with Wyvern Valley NHS Trust is already declared" in again.content.decode()
    assert "Wyvern Valley NHS Trust" in client.get(pool(ow, f"{reviewer.pk}/")).content.decode()
    response = client.post(pool(ow, f"{reviewer.pk}/conflicts/{conflict.pk}/remove/"))
    assert response.status_code == 302 and not ConflictOfInterest.objects.exists()
    assert ActivityLog.objects.filter(verb="reviewer.conflict_removed").count() == 1


def test_a_conflict_of_another_reviewer_cannot_be_removed_through_this_one(ow, client_for):
    reviewer, other = add(ow), add(ow)
    conflict = ConflictOfInterest.objects.create(reviewer=other,
                                                 organisation=OrganisationFactory(),
                                                 description="x")
    response = client_for(ow.core).post(
        pool(ow, f"{reviewer.pk}/conflicts/{conflict.pk}/remove/"))
    assert response.status_code == 404 and ConflictOfInterest.objects.exists()


def test_the_pool_lists_and_filters_in_the_url(ow, client_for):
    organisation = OrganisationFactory(name="Riverside NHS Trust")
    add(ow, user=UserFactory(full_name="Dr Ada Okafor"), profession="doctor",
        expertise="Thoracic surgery", organisation=organisation,
        training_completed_on="2026-01-10")
    add(ow, user=UserFactory(full_name="Pat Reviewer"), is_patient_reviewer=True,
        profession="", region="north_west")
    client = client_for(ow.core)
    text = client.get(pool(ow)).content.decode()
    assert "2 reviewers" in text and "Thoracic surgery" in text and "Riverside NHS Trust" in text
    assert "Patient reviewer" in text and "Not completed" in text
    patients = client.get(pool(ow, "?kind=patient")).content.decode()
    assert "1 reviewer<" in patients and "Pat Reviewer" in patients
    assert "Dr Ada Okafor" not in patients
    trained_doctors = client.get(pool(ow, "?trained=yes&profession=doctor")).content.decode()
    assert "Dr Ada Okafor" in trained_doctors
    assert "Dr Ada Okafor" not in client.get(pool(ow, "?trained=no")).content.decode()
    assert "Pat Reviewer" in client.get(pool(ow, "?region=north_west")).content.decode()
    assert "2 reviewers" in client.get(pool(ow, "?kind=robot&region=mars")).content.decode()


@pytest.mark.parametrize("path", ["", "add/", "{reviewer}/", "{reviewer}/conflicts/add/"])
def test_the_pool_pages_are_the_core_teams(ow, client_for, path):
    reviewer = add(ow, user=ow.member)
    url = pool(ow, path.format(reviewer=reviewer.pk))
    assert client_for(ow.core).get(url).status_code == 200
    for person in (ow.member, ow.other_core, ow.outsider):
        assert client_for(person).get(url).status_code == 404


def test_the_pool_does_not_grow_in_queries_with_reviewers(ow, client_for,
                                                          django_assert_max_num_queries):
    client = client_for(ow.core)
    add(ow, organisation=OrganisationFactory())
    with django_assert_max_num_queries(15) as first:
        client.get(pool(ow))
    for _ in range(8):
        reviewer = add(ow, organisation=OrganisationFactory())
        ConflictOfInterest.objects.create(reviewer=reviewer, organisation=OrganisationFactory(),
                                          description="x")
    with django_assert_max_num_queries(len(first.captured_queries)):
        assert "9 reviewers" in client.get(pool(ow)).content.decode()


# --- a reviewer's own page ----------------------------------------------------------------


def test_a_reviewer_sees_their_pool_and_declares_a_conflict(ow, client_for):
    reviewer = add(ow, user=UserFactory(full_name="Dr Ada Okafor"))
    organisation = OrganisationFactory(name="Wyvern Valley NHS Trust")
    client = client_for(reviewer.user)
    text = client.get("/reviewing/").content.decode()
    assert "Specialised Services Quality Review" in text and "None yet." in text
    response = client.post("/reviewing/conflicts/add/", {
        "reviewer": reviewer.pk, "organisation": organisation.pk,
        "description": "My sister leads the MDT"})
    assert response.status_code == 302 and response["Location"] == "/reviewing/"
    conflict = ConflictOfInterest.objects.get()
    assert conflict.reviewer == reviewer
    assert "My sister leads the MDT" in client.get("/reviewing/").content.decode()
    entry = ActivityLog.objects.get(verb="reviewer.conflict_declared")
    assert entry.actor == reviewer.user


def test_a_reviewer_cannot_declare_against_someone_elses_pool_place(ow, client_for):
    mine, theirs = add(ow), add(ow)
    response = client_for(mine.user).post("/reviewing/conflicts/add/", {
        "reviewer": theirs.pk, "organisation": OrganisationFactory().pk, "description": "x"})
    assert response.status_code == 200 and not ConflictOfInterest.objects.exists()


def test_someone_in_no_pool_sees_so_and_has_nothing_to_declare_against(ow, client_for):
    client = client_for(ow.outsider)
    assert "You are not in a reviewer pool" in client.get("/reviewing/").content.decode()
    assert client.post("/reviewing/conflicts/add/", {}).status_code == 404


def test_a_reviewer_with_no_team_sees_the_home_list_with_their_reviewing(ow, client_for):
    reviewer = add(ow)
    response = client_for(reviewer.user).get("/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "/reviewing/" in text and "You are not part of a programme yet" not in text


def test_a_site_member_who_reviews_is_not_sent_straight_to_their_site(ow, client_for):
    add(ow, user=ow.member)
    response = client_for(ow.member).get("/")
    assert response.status_code == 200 and "/reviewing/" in response.content.decode()


def test_my_reviewing_has_a_fixed_query_count(ow, client_for, django_assert_max_num_queries):
    reviewer = add(ow)
    client = client_for(reviewer.user)
    with django_assert_max_num_queries(15) as first:
        client.get("/reviewing/")
    for _ in range(5):
        ConflictOfInterest.objects.create(reviewer=reviewer, organisation=OrganisationFactory(),
                                          description="x")
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get("/reviewing/")


def test_the_pool_email_is_queued_and_a_mail_server_that_is_down_is_retried_not_lost(
        ow, client_for, settings, caplog, django_capture_on_commit_callbacks):
    """The email goes through the Celery task with the project's delivery policy: the page
    still works with the mail server down, and the task retries rather than dropping it (run
    eagerly here, its retries follow at once; a worker spaces them out)."""
    from ilcop.celery import app as celery_app
    from programmes.tasks import send_reviewer_email

    settings.EMAIL_BACKEND = "tests.test_invitations.FailingBackend"
    previous = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False  # as in production: retried, not raised
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(ow.core).post(pool(ow, "add/"), NEW)
        reviewer = Reviewer.objects.get()
        assert response.status_code == 302
        caplog.clear()
        result = send_reviewer_email.apply(args=[reviewer.pk])
    finally:
        celery_app.conf.task_eager_propagates = previous
    assert mail.outbox == []
    tries = [r.getMessage() for r in caplog.records if "will retry" in r.getMessage()]
    assert tries == [f"reviewer {reviewer.pk}: sending failed (ConnectionRefusedError); "
                     "will retry"] * (1 + send_reviewer_email.max_retries)
    assert result.failed()  # only once every retry has failed
