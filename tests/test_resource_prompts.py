"""The library's prompts at the right stage: "before the visit" on the visit page for the site
teams, "after the visit" beside the plan's aim, drivers and measures and on the plan form,
"sustaining" beside the sustainability section. One query each, nothing when empty."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from programmes.models import Resource
from programmes.services import resources as services
from qips.models import QualityImprovementPlan
from visits.models import Visit


def add(programme, core, title, stages, link="https://www.england.nhs.uk/"):
    return services.resource_create(programme=programme, user=core, title=title,
                                    stages=stages, link=link)


@pytest.fixture
def plan(programme, site, lead):
    return QualityImprovementPlan.objects.create(programme=programme, site=site,
                                                 title="Faster diagnosis")


@pytest.fixture
def visit(programme, site, other_site):
    return Visit.objects.create(programme=programme, host=site, visitor=other_site,
                                status=Visit.Status.CONFIRMED,
                                date=timezone.localdate() + datetime.timedelta(days=20))


def render(programme, stage):
    template = Template('{% load resources %}{% resources_for programme stage %}')
    return template.render(Context({"programme": programme, "stage": stage}))


def test_a_prompt_shows_three_and_links_to_all_in_one_query(programme, core,
                                                            django_assert_num_queries):
    for i in range(5):
        add(programme, core, f"Sustaining {i}", ["sustaining"])
    add(programme, core, "Before only", ["before_visit"])
    with django_assert_num_queries(1):
        html = render(programme, "sustaining")
    assert html.count("<li>") == 3
    assert "Sustaining 0" in html and "Sustaining 3" not in html
    assert "Before only" not in html
    assert "See all 5 resources for this stage" in html
    assert reverse("qips:resources", args=[programme.pk]) + "?stage=sustaining" in html
    assert "Help with making the change last" in html


def test_a_prompt_with_nothing_to_show_shows_nothing(programme, core, django_assert_num_queries):
    add(programme, core, "After", ["after_visit"])
    with django_assert_num_queries(1):
        assert render(programme, "sustaining").strip() == ""
    with django_assert_num_queries(0):
        assert render(programme, "not a stage").strip() == ""


def test_a_prompt_links_files_to_their_download_and_marks_links_as_elsewhere(programme, core):
    guide = services.resource_create(
        programme=programme, user=core, title="Checklist", stages=["before_visit"],
        upload=SimpleUploadedFile("checklist.pdf", b"%PDF-1.4 x"))
    add(programme, core, "NHS England", ["before_visit"])
    html = render(programme, "before_visit")
    assert reverse("programmes:resource_download", args=[programme.pk, guide.pk]) in html
    assert "(guide, PDF, 10\xa0bytes)" in html
    assert "on another website" in html


def test_the_plan_shows_planning_and_sustaining_resources(client_for, programme, core, lead,
                                                          plan):
    add(programme, core, "Drawing a driver diagram", ["after_visit"])
    add(programme, core, "Keeping it going", ["sustaining"])
    add(programme, core, "Getting ready", ["before_visit"])
    for person in (lead, core):
        text = client_for(person).get(reverse("qips:plan_detail", args=[plan.pk])
                                      ).content.decode()
        planning = text.index("Help with planning the improvement")
        assert text.index('id="measures"') < planning < text.index('id="pdsa"')
        assert text.index("Drawing a driver diagram") > planning
        lasting = text.index("Help with making the change last")
        assert text.index('id="sustainability"') < lasting
        assert text.index("Keeping it going") > lasting
        assert "Getting ready" not in text


def test_the_plan_form_shows_planning_resources(client_for, programme, core, lead, plan):
    add(programme, core, "Writing a SMART aim", ["after_visit"])
    add(programme, core, "Keeping it going", ["sustaining"])
    text = client_for(lead).get(reverse("qips:plan_edit", args=[plan.pk])).content.decode()
    assert "Help with planning the improvement" in text and "Writing a SMART aim" in text
    assert "Keeping it going" not in text


def test_no_prompt_when_the_library_is_empty(client_for, lead, plan):
    text = client_for(lead).get(reverse("qips:plan_detail", args=[plan.pk])).content.decode()
    assert "app-resource-prompt" not in text


def test_the_site_teams_see_visit_preparation_until_the_visit_happens(
        client_for, programme, core, lead, other_lead, visit):
    add(programme, core, "Preparing for your visit", ["before_visit"])
    add(programme, core, "After it", ["after_visit"])
    url = reverse("visits:visit_detail", args=[visit.pk])
    for person in (lead, other_lead):
        text = client_for(person).get(url).content.decode()
        assert "Help to prepare for the visit" in text
        assert "Preparing for your visit" in text and "After it" not in text
    # The core team runs the visit; the prompt is for the teams.
    assert "Help to prepare for the visit" not in client_for(core).get(url).content.decode()
    Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.HAPPENED)
    assert "Help to prepare for the visit" not in client_for(lead).get(url).content.decode()


def count(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_prompt_costs_one_query_however_big_the_library(client_for, programme, core, lead,
                                                           visit):
    client = client_for(lead)
    url = reverse("visits:visit_detail", args=[visit.pk])
    client.get(url)
    empty = count(client, url)
    add(programme, core, "One", ["before_visit"])
    one = count(client, url)
    for i in range(10):
        add(programme, core, f"More {i}", ["before_visit", "after_visit"])
    assert empty == one == count(client, url)
    assert Resource.objects.count() == 11
