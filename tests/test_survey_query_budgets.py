"""Query budgets for the survey pages and the data pack: flat however many responses,
comments and sites there are."""

import datetime
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from programmes.models import Enrolment, Indicator, IndicatorValue
from programmes.services import survey as services
from visits.models import LogisticsTask, Visit

from .factories import EnrolmentFactory

PAGES = {
    "survey": ("/programmes/{programme}/survey/", 10),
    "site survey": ("/sites/{site}/survey/", 16),
    "paper entry": ("/sites/{site}/survey/enter/", 12),
    "data pack": ("/visits/{visit}/data-pack/", 16),
}


def grow(survey, site, n):
    """n more sites with n responses each, and n responses (with comments) at the site."""
    diagnosis = survey.questions.get(code="DIAGNOSIS")
    improve = survey.questions.get(code="IMPROVE")
    indicator = Indicator.objects.get(programme=survey.programme)
    for i in range(n):
        other = EnrolmentFactory(programme=survey.programme,
                                 status=Enrolment.Status.INTERVENTION).site
        IndicatorValue.objects.create(
            indicator=indicator, site=other, period="2025",
            period_start=datetime.date(2025, 1, 1), period_end=datetime.date(2025, 12, 31),
            numerator=50 + i, denominator=100)
        for where in (other, site):
            services.response_submit(
                collection=services.collection_for(survey=survey, site=where),
                answers={diagnosis.pk: "agree", improve.pk: f"Comment {i}"},
                submission_key=uuid.uuid4(), mode="online")


def count(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


@pytest.mark.parametrize(("name", "page"), PAGES.items(), ids=list(PAGES))
def test_survey_pages_stay_flat(as_core, programme, site, other_site, core, name, page):
    survey = services.survey_create(programme=programme, user=core)
    Indicator.objects.create(programme=programme, code="CNS", name="CNS", source="NLCA",
                             is_headline=True)
    visit = Visit.objects.create(programme=programme, host=site, visitor=other_site,
                                 status=Visit.Status.CONFIRMED, date=datetime.date(2026, 12, 9))
    LogisticsTask.objects.create(visit=visit, kind=LogisticsTask.Kind.DATA_PACK, days_before=14)
    url, budget = page
    url = url.format(programme=programme.pk, site=site.pk, visit=visit.pk)
    grow(survey, site, 2)
    small = count(as_core, url)
    grow(survey, site, 20)
    large = count(as_core, url)
    assert small == large, f"{name}: {small} queries when small, {large} when large"
    assert large <= budget, f"{name}: {large} queries, budget {budget}"


def test_the_public_form_uses_few_queries(programme, site, core):
    survey = services.survey_create(programme=programme, user=core)
    collection = services.collection_for(survey=survey, site=site)
    assert count(Client(), f"/survey/{collection.code}/") <= 3
