"""The resource library: the core team adds, changes and removes resources; every participant
reads the library and downloads from it, from their first day; event slides are listed too."""

import datetime
import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ilcop.models import ActivityLog
from programmes.demo_resources import build_demo_resources
from programmes.models import Enrolment, Resource, ResourceTopic
from programmes.services import resources as services
from visits.models import Event, EventMaterial

from .factories import CoreTeamMembershipFactory, EnrolmentFactory, SiteMembershipFactory

PDF = b"%PDF-1.4\n% a small test file\n"


def pdf(name="guide.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def make(programme, core, **overrides):
    fields = {"title": "Driver diagram guide", "description": "How to draw one",
              "kind": Resource.Kind.GUIDE, "stages": ["after_visit"], "topics": "Driver diagrams",
              "upload": pdf()}
    fields.update(overrides)
    return services.resource_create(programme=programme, user=core, **fields)


def form_data(**overrides):
    data = {"title": "Sustainability questions", "description": "Ask early",
            "kind": "tool", "stages": ["sustaining", "after_visit"],
            "topics": "sustainability, Measures", "link": "", "form_token": str(uuid.uuid4())}
    data.update(overrides)
    return data


@pytest.fixture
def control_member(programme):
    site = EnrolmentFactory(programme=programme, status=Enrolment.Status.CONTROL).site
    return SiteMembershipFactory(site=site, role="clinical_lead").user


# --- who may do what ---------------------------------------------------------------------------


def test_the_library_is_open_to_participants_only(client_for, programme, core, lead, cns,
                                                   other_lead, other_core, outsider,
                                                   control_member):
    url = reverse("qips:resources", args=[programme.pk])
    for person in (core, lead, cns, other_lead):
        assert client_for(person).get(url).status_code == 200
    # Control-arm teams would contaminate the evaluation; everyone else learns nothing.
    for person in (other_core, outsider, control_member):
        assert client_for(person).get(url).status_code == 404
    response = Client().get(url)
    assert response.status_code == 302 and "login" in response["Location"]


def test_only_the_core_team_changes_the_library(client_for, programme, core, lead,
                                                other_core, outsider):
    resource = make(programme, core)
    urls = [reverse("programmes:resource_add", args=[programme.pk]),
            reverse("programmes:resource_edit", args=[programme.pk, resource.pk]),
            reverse("programmes:resource_remove", args=[programme.pk, resource.pk])]
    for url in urls:
        assert client_for(core).get(url).status_code == 200
        assert client_for(lead).get(url).status_code == 403
        assert client_for(lead).post(url).status_code == 403
        assert client_for(other_core).get(url).status_code == 404
        assert client_for(outsider).get(url).status_code == 404
        assert Client().get(url).status_code == 302
    assert Resource.objects.filter(pk=resource.pk).exists()


def test_a_resource_of_another_programme_is_a_404(client_for, programme, core):
    other = CoreTeamMembershipFactory()
    theirs = make(other.programme, other.user)
    client = client_for(core)
    for name in ("resource_edit", "resource_remove", "resource_download"):
        assert client.get(reverse(f"programmes:{name}",
                                  args=[programme.pk, theirs.pk])).status_code == 404


# --- adding, changing, removing ----------------------------------------------------------------


def test_the_core_team_adds_a_resource_with_a_file(client_for, programme, core):
    ResourceTopic.objects.create(programme=programme, name="Sustainability")
    client = client_for(core)
    page = client.get(reverse("programmes:resource_add", args=[programme.pk]))
    assert "Topics already in use: Sustainability" in page.content.decode()
    response = client.post(reverse("programmes:resource_add", args=[programme.pk]),
                           form_data(file=pdf("Questions for your team.pdf")))
    assert response.status_code == 302
    assert response["Location"] == reverse("qips:resources", args=[programme.pk])
    resource = Resource.objects.get()
    assert (resource.sustaining, resource.after_visit, resource.before_visit) == (
        True, True, False)
    assert resource.filename == "Questions for your team.pdf"
    assert resource.size == len(PDF)
    assert resource.file.name.startswith("resources/")
    # "sustainability" matched the existing topic; "Measures" was made.
    assert sorted(t.name for t in resource.topics.all()) == ["Measures", "Sustainability"]
    assert ResourceTopic.objects.filter(programme=programme).count() == 2
    entry = ActivityLog.objects.get(verb="resource.added")
    assert entry.actor == core and entry.object_id == resource.pk


def test_a_link_alone_is_enough(client_for, programme, core):
    response = client_for(core).post(
        reverse("programmes:resource_add", args=[programme.pk]),
        form_data(link="https://www.england.nhs.uk/sustainableimprovement/"))
    assert response.status_code == 302
    assert Resource.objects.get().link == "https://www.england.nhs.uk/sustainableimprovement/"


@pytest.mark.parametrize(("changes", "message"), [
    ({"stages": []}, "Select at least one stage the resource helps with"),
    ({"title": ""}, "Enter the title"),
    ({}, "Upload a file or give a link: a resource needs at least one"),
    ({"file": SimpleUploadedFile("slides.pdf", b"<html>not a pdf</html>")},
     "is not a real .pdf file"),
    ({"file": SimpleUploadedFile("run.exe", b"MZ")}, "is not a file type we accept"),
    ({"link": "not a web address"}, "Enter a valid URL"),
    ({"link": "https://example.org/", "topics": ",".join(f"t{i}" for i in range(11))},
     "Give no more than 10 topics"),
])
def test_bad_input_is_explained_and_nothing_is_written(client_for, programme, core, changes,
                                                        message):
    response = client_for(core).post(reverse("programmes:resource_add", args=[programme.pk]),
                                     form_data(**changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "There is a problem" in response.content.decode()
    assert not Resource.objects.exists()
    assert not ResourceTopic.objects.exists()
    assert not default_storage.exists("resources") or not default_storage.listdir(
        "resources")[1]


def test_the_same_form_sent_twice_saves_once(client_for, programme, core):
    client = client_for(core)
    data = form_data(link="https://www.england.nhs.uk/")
    url = reverse("programmes:resource_add", args=[programme.pk])
    first, second = client.post(url, data), client.post(url, data, follow=True)
    assert first.status_code == 302
    assert "This was already saved" in second.content.decode()
    assert Resource.objects.count() == 1


def test_a_new_file_replaces_the_old_one_after_the_commit(client_for, programme, core,
                                                          django_capture_on_commit_callbacks):
    resource = make(programme, core)
    old = resource.file.name
    assert default_storage.exists(old)
    url = reverse("programmes:resource_edit", args=[programme.pk, resource.pk])
    page = client_for(core).get(url)
    assert "Now: guide.pdf" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(core).post(url, form_data(
            title="Drawing a driver diagram", file=pdf("new.pdf", PDF + b"more"),
            topics="Driver diagrams"))
    assert response.status_code == 302
    resource.refresh_from_db()
    assert resource.title == "Drawing a driver diagram"
    assert resource.filename == "new.pdf" and resource.file.name != old
    assert default_storage.exists(resource.file.name)
    assert not default_storage.exists(old)
    assert ActivityLog.objects.filter(verb="resource.updated", object_id=resource.pk).exists()


def test_an_edit_keeps_the_file_and_can_drop_it_for_a_link(client_for, programme, core,
                                                           django_capture_on_commit_callbacks):
    resource = make(programme, core)
    url = reverse("programmes:resource_edit", args=[programme.pk, resource.pk])
    client_for(core).post(url, form_data(title="Renamed", topics=""))
    resource.refresh_from_db()
    assert resource.title == "Renamed" and resource.file and not resource.topics.exists()
    # Removing the file with no link is refused: the resource would be empty.
    response = client_for(core).post(url, form_data(remove_file="on"))
    assert "a resource needs at least one" in response.content.decode()
    old = resource.file.name
    with django_capture_on_commit_callbacks(execute=True):
        client_for(core).post(url, form_data(remove_file="on",
                                             link="https://www.england.nhs.uk/"))
    resource.refresh_from_db()
    assert not resource.file and resource.link and not default_storage.exists(old)


def test_removing_asks_first_then_deletes_the_row_and_the_file(
        client_for, programme, core, django_capture_on_commit_callbacks):
    resource = make(programme, core)
    url = reverse("programmes:resource_remove", args=[programme.pk, resource.pk])
    page = client_for(core).get(url)
    assert "Remove “Driver diagram guide” from the library?" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(core).post(url)
    assert response.status_code == 302
    assert not Resource.objects.exists()
    assert not default_storage.exists(resource.file.name)
    assert ActivityLog.objects.filter(verb="resource.removed").exists()


# --- downloading ---------------------------------------------------------------------------------


def test_participants_download_the_file_as_an_attachment(client_for, programme, core, lead,
                                                         other_core, outsider, control_member):
    resource = make(programme, core, upload=pdf("Checklist: visit.pdf"))
    url = reverse("programmes:resource_download", args=[programme.pk, resource.pk])
    response = client_for(lead).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    for person in (other_core, outsider, control_member):
        assert client_for(person).get(url).status_code == 404


def test_a_link_has_nothing_to_download(client_for, programme, core, lead):
    resource = make(programme, core, upload=None, link="https://www.england.nhs.uk/")
    url = reverse("programmes:resource_download", args=[programme.pk, resource.pk])
    assert client_for(lead).get(url).status_code == 404


# --- the library page ----------------------------------------------------------------------------


@pytest.fixture
def library(programme, core):
    visit_guide = make(programme, core, title="Preparing for your visit", stages=["before_visit"],
                       topics="Visit preparation", description="A checklist")
    spc = make(programme, core, title="Reading SPC charts", kind=Resource.Kind.READING,
               stages=["after_visit"], topics="Measures", upload=None,
               link="https://www.england.nhs.uk/statistical-process-control-tool/")
    lasting = make(programme, core, title="Making it last", kind=Resource.Kind.TOOL,
                   stages=["sustaining"], topics="Sustainability",
                   description="Questions about permanent staff")
    return {"visit": visit_guide, "spc": spc, "lasting": lasting}


def announced_event_with_slides(programme, title="Spring workshop", status="announced"):
    event = Event.objects.create(programme=programme, kind="workshop", title=title,
                                 status=status, date=datetime.date(2026, 5, 12))
    material = EventMaterial(event=event, title=f"{title} slides", filename="slides.pptx",
                             size=2048)
    material.file.save("slides.pptx", ContentFile(b"PK\x03\x04slides"), save=False)
    material.save()
    return event, material


def titles(response) -> list[str]:
    return [r.title for r in response.context["resources"]]


def test_the_library_lists_resources_and_event_slides(client_for, programme, core, lead,
                                                      library):
    event, material = announced_event_with_slides(programme)
    announced_event_with_slides(programme, title="Draft conference", status="draft")
    response = client_for(lead).get(reverse("qips:resources", args=[programme.pk]))
    text = response.content.decode()
    assert titles(response) == ["Making it last", "Preparing for your visit",
                                "Reading SPC charts"]
    assert "Sustaining the change" in text and "Before the visit" in text
    assert "Topics: Visit preparation" in text
    assert (reverse("programmes:resource_download", args=[programme.pk, library["visit"].pk])
            in text)
    assert "(PDF, 29\xa0bytes)" in text
    assert 'href="https://www.england.nhs.uk/statistical-process-control-tool/"' in text
    assert "on another website" in text
    assert "Slides and documents from events" in text
    assert reverse("visits:event_material_download",
                   kwargs={"pk": event.pk, "material_pk": material.pk}) in text
    assert "Draft conference slides" not in text
    # Participants read; only the core team sees how to change the library.
    assert "Add a resource" not in text
    assert "Add a resource" in client_for(core).get(
        reverse("qips:resources", args=[programme.pk])).content.decode()


@pytest.mark.parametrize(("query", "expected", "with_events"), [
    ("stage=sustaining", ["Making it last"], False),
    ("stage=before_visit&kind=guide", ["Preparing for your visit"], False),
    ("kind=reading", ["Reading SPC charts"], False),
    ("query=permanent", ["Making it last"], True),
    ("query=checklist", ["Preparing for your visit"], False),
    ("kind=events", [], True),
    # Nonsense is dropped rather than refused.
    ("stage=whenever&kind=nonsense&topic=x", ["Making it last", "Preparing for your visit",
                                               "Reading SPC charts"], True),
])
def test_the_library_filters(client_for, programme, lead, library, query, expected,
                             with_events):
    announced_event_with_slides(programme, title="Permanent staff workshop")
    response = client_for(lead).get(reverse("qips:resources", args=[programme.pk]) + "?"
                                    + query)
    assert response.status_code == 200
    assert titles(response) == expected
    assert bool(response.context["materials"]) == with_events


def test_the_library_filters_by_topic(client_for, programme, lead, library):
    topic = ResourceTopic.objects.get(programme=programme, name="Measures")
    response = client_for(lead).get(reverse("qips:resources", args=[programme.pk]),
                                    {"topic": topic.pk})
    assert titles(response) == ["Reading SPC charts"]


def test_the_library_is_linked_from_the_plan_library(client_for, programme, lead):
    text = client_for(lead).get(reverse("qips:library", args=[programme.pk])).content.decode()
    assert reverse("qips:resources", args=[programme.pk]) in text


def count(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_library_page_does_not_grow_with_the_library(client_for, programme, core, lead,
                                                         django_assert_max_num_queries):
    client = client_for(lead)
    url = reverse("qips:resources", args=[programme.pk])
    make(programme, core, topics="A, B")
    announced_event_with_slides(programme)
    client.get(url)
    small = count(client, url)
    for i in range(8):
        make(programme, core, title=f"Resource {i}", topics=f"Topic {i}, A",
             stages=["before_visit", "sustaining"])
        announced_event_with_slides(programme, title=f"Event {i}")
    with django_assert_max_num_queries(9):
        large = count(client, url)
    assert small == large


# --- the demo ----------------------------------------------------------------------------------


def test_the_demo_library_covers_every_stage(programme, core):
    made = build_demo_resources(programme, core)
    assert 7 <= len(made) <= 10
    for stage in Resource.Stage.values:
        assert Resource.objects.filter(programme=programme, **{stage: True}).exists(), stage
    pdfs = [r for r in made if r.filename.endswith(".pdf")]
    assert len(pdfs) == 2
    for resource in pdfs:
        with resource.file.open("rb") as handle:
            assert handle.read(5) == b"%PDF-"
    assert any(r.link.startswith("https://www.england.nhs.uk/") for r in made)
    assert {"Sustainability", "Visit preparation", "Driver diagrams", "Measures",
            "PDSA cycles", "MDT effectiveness"} <= set(
        ResourceTopic.objects.filter(programme=programme).values_list("name", flat=True))
    # Seeding twice adds nothing.
    assert build_demo_resources(programme, core) == []
