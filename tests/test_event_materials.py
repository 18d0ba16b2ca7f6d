"""Slides and documents from an event: added by the core team, downloaded by participants and
nobody else, listed for the library, and the demo's replies, attendance and slides."""

import datetime
import uuid

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from ilcop.models import ActivityLog
from programmes.models import Enrolment, SiteMembership
from visits.demo_event_responses import build_demo_event_responses
from visits.models import Event, EventInvitation, EventMaterial
from visits.selectors_events import programme_event_materials
from visits.services import event_responses as services

from .factories import EnrolmentFactory, SiteMembershipFactory

PDF = b"%PDF-1.4\n% slides\n"


def make_event(programme, *, days: int = -7, **fields) -> Event:
    defaults = {"kind": Event.Kind.CONFERENCE, "title": "Winter online conference",
                "status": Event.Status.ANNOUNCED,
                "date": timezone.localdate() + datetime.timedelta(days=days),
                "start_time": datetime.time(13), "end_time": datetime.time(16),
                "uid": uuid.uuid4().hex}
    return Event.objects.create(programme=programme, **{**defaults, **fields})


def pdf(name="slides.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@pytest.fixture
def event(programme):
    return make_event(programme)


@pytest.fixture
def material(event, core):
    return services.event_material_add(event=event, user=core, title="CNS-led follow-up",
                                       file=pdf("CNS follow-up.pdf"))


def add_url(event):
    return f"/events/{event.pk}/materials/add/"


def test_the_core_team_uploads_slides(event, as_core):
    page = as_core.get(add_url(event)).content.decode()
    assert 'enctype="multipart/form-data"' in page and 'name="form_token"' in page
    response = as_core.post(add_url(event), {"title": "Lessons from CNS clinics",
                                             "file": pdf("Lessons.pdf"),
                                             "form_token": str(uuid.uuid4())})
    assert response.status_code == 302
    assert response["Location"] == f"/events/{event.pk}/#materials"
    material = EventMaterial.objects.get()
    assert material.filename == "Lessons.pdf" and material.size == len(PDF)
    # Stored under a random name, not the person's.
    assert material.file.name.startswith("events/") and "Lessons" not in material.file.name
    assert default_storage.exists(material.file.name)
    assert ActivityLog.objects.filter(verb="event.material_added").count() == 1


def test_the_same_upload_sent_twice_is_saved_once(event, as_core):
    token = str(uuid.uuid4())
    for _ in range(2):
        as_core.post(add_url(event), {"title": "Slides", "file": pdf(), "form_token": token})
    assert EventMaterial.objects.count() == 1


@pytest.mark.parametrize(("data", "message"), [
    ({"title": "", "file": "slides"}, "Enter a title for the slides or document"),
    ({"title": "Slides"}, "Select the file to upload"),
    ({"title": "Slides", "file": ("page.html", b"<script>")}, "is not a file type we accept"),
    ({"title": "Slides", "file": ("fake.pdf", b"<html>")}, "is not a real .pdf file"),
    ({"title": "Slides", "file": ("empty.pdf", b"")}, "The selected file is empty"),
])
def test_a_bad_upload_says_why_and_saves_nothing(event, as_core, data, message):
    data = dict(data)
    if data.get("file") == "slides":
        data["file"] = pdf()
    elif isinstance(data.get("file"), tuple):
        data["file"] = SimpleUploadedFile(*data["file"])
    response = as_core.post(add_url(event), data)
    assert response.status_code == 200
    assert "nhsuk-error-summary" in response.content.decode()
    assert message in response.content.decode()
    assert not EventMaterial.objects.exists()


def test_participants_download_and_outsiders_do_not(event, material, client_for, lead,
                                                    other_lead, core, other_core, outsider,
                                                    client):
    url = f"/events/{event.pk}/materials/{material.pk}/"
    for person in (lead, other_lead, core):
        response = client_for(person).get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PDF
        assert response["Content-Disposition"].startswith("attachment")
        assert 'filename="CNS follow-up.pdf"' in response["Content-Disposition"]
        assert response["X-Content-Type-Options"] == "nosniff"
    assert client_for(other_core).get(url).status_code == 404
    assert client_for(outsider).get(url).status_code == 404
    assert client.get(url)["Location"].startswith("/accounts/login/")


def test_a_control_site_cannot_download(event, material, programme, client_for):
    control = EnrolmentFactory(programme=programme, status=Enrolment.Status.CONTROL).site
    member = SiteMembershipFactory(site=control, role=SiteMembership.Role.CNS).user
    assert client_for(member).get(
        f"/events/{event.pk}/materials/{material.pk}/").status_code == 404


def test_a_draft_events_materials_are_the_core_teams(programme, core, lead, client_for):
    draft = make_event(programme, status=Event.Status.DRAFT)
    material = services.event_material_add(event=draft, user=core, title="Pre-reading",
                                           file=pdf())
    url = f"/events/{draft.pk}/materials/{material.pk}/"
    assert client_for(lead).get(url).status_code == 404
    assert client_for(core).get(url).status_code == 200


def test_a_material_of_another_event_is_a_404(event, material, programme, as_core):
    other = make_event(programme)
    assert as_core.get(f"/events/{other.pk}/materials/{material.pk}/").status_code == 404


def test_a_file_missing_from_storage_is_a_404(event, material, as_core):
    default_storage.delete(material.file.name)
    assert as_core.get(f"/events/{event.pk}/materials/{material.pk}/").status_code == 404


def test_the_materials_partial_lists_downloads(event, material, core, lead):
    from django.template.loader import render_to_string

    as_participant = render_to_string("visits/events/_materials.html",
                                      {"event": event, "is_core": False})
    assert f"/events/{event.pk}/materials/{material.pk}/" in as_participant
    assert "CNS follow-up.pdf" in as_participant
    assert "Add slides or a document" not in as_participant and "Remove" not in as_participant
    as_core = render_to_string("visits/events/_materials.html", {"event": event, "is_core": True})
    assert "Add slides or a document" in as_core and "/remove/" in as_core


@pytest.mark.django_db(transaction=True)
def test_removing_deletes_the_file_after_the_commit(programme, core, client_for):
    event = make_event(programme)
    material = services.event_material_add(event=event, user=core, title="Slides", file=pdf())
    name = material.file.name
    client = client_for(core)
    url = f"/events/{event.pk}/materials/{material.pk}/remove/"
    page = client.get(url).content.decode()
    assert "Remove “Slides”?" in page
    assert client.post(url)["Location"] == f"/events/{event.pk}/#materials"
    assert not EventMaterial.objects.exists()
    assert not default_storage.exists(name)
    assert ActivityLog.objects.filter(verb="event.material_removed").count() == 1


def test_a_rolled_back_removal_keeps_the_file(material, core):
    name = material.file.name
    with transaction.atomic():
        services.event_material_remove(material=material, user=core)
        transaction.set_rollback(True)
    assert default_storage.exists(name)


@pytest.mark.parametrize("path", ["materials/add/", "materials/{m}/remove/"])
def test_only_the_core_team_adds_and_removes(event, material, path, client_for, lead,
                                            other_core, outsider, facilitator):
    url = f"/events/{event.pk}/" + path.format(m=material.pk)
    assert client_for(facilitator).get(url).status_code == 200
    for person, status in ((lead, 403), (other_core, 404), (outsider, 404)):
        assert client_for(person).get(url).status_code == status
        assert client_for(person).post(url).status_code == status
    assert EventMaterial.objects.filter(pk=material.pk).exists()


def test_the_library_lists_announced_events_materials_newest_first(programme, core,
                                                                   django_assert_num_queries):
    older = make_event(programme, days=-60, title="Autumn workshop")
    newer = make_event(programme, days=-7, title="Winter conference")
    draft = make_event(programme, days=-3, status=Event.Status.DRAFT)
    cancelled = make_event(programme, days=-2, status=Event.Status.CANCELLED)
    for event in (older, newer, draft):
        services.event_material_add(event=event, user=core, title="Slides", file=pdf())
    EventMaterial.objects.create(event=cancelled, title="Old", file="events/x.pdf",
                                 filename="x.pdf")
    with django_assert_num_queries(1):
        listed = [(m.event.title, m.title) for m in programme_event_materials(programme)]
    assert listed == [("Winter conference", "Slides"), ("Autumn workshop", "Slides")]


def test_the_demo_builds_replies_attendance_and_slides(programme, core, site):
    past = make_event(programme, days=-14, title="Spring national workshop")
    coming = make_event(programme, days=21, title="Summer online conference")
    members = [SiteMembershipFactory(site=site).user for _ in range(20)]
    for event in (past, coming):
        for user in members:
            EventInvitation.objects.create(event=event, user=user, site=site, role="cns")
    counts = build_demo_event_responses(programme, core)
    assert counts["events"] == 2 and counts["materials"] == 2
    for event in (past, coming):
        responses = set(event.invitations.values_list("response", flat=True))
        assert responses == {"attending", "not_attending", "pending"}
    assert not coming.invitations.filter(attended__isnull=False).exists()
    assert past.invitations.filter(attended=True).exists()
    assert not past.invitations.filter(attended__isnull=True).exists()
    titles = list(past.materials.values_list("title", flat=True))
    assert "Lessons from CNS-led follow-up clinics (slides)" in titles
    for material in past.materials.all():
        with material.file.open("rb") as handle:
            assert handle.read(5) == b"%PDF-"
    # Again: nothing new.
    again = build_demo_event_responses(programme, core)
    assert again["materials"] == 0 and EventMaterial.objects.count() == 2
