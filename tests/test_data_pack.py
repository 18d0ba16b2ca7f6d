"""A visit's data pack: every figure with its source, period and denominator, on the page
and in the PDF; the visiting team reads it once the core team has marked it ready."""

import datetime
import uuid

import pytest

from programmes.models import Indicator, IndicatorValue
from programmes.services import survey as survey_services
from visits.models import LogisticsTask, Visit
from visits.services import task_complete

from .pdf import pdf_text


@pytest.fixture
def visit(programme, site, other_site):
    visit = Visit.objects.create(programme=programme, host=site, visitor=other_site,
                                 status=Visit.Status.CONFIRMED,
                                 date=datetime.date(2026, 12, 9))
    LogisticsTask.objects.create(visit=visit, kind=LogisticsTask.Kind.DATA_PACK,
                                 days_before=14)
    return visit


@pytest.fixture
def audit(programme, site, other_site):
    indicator = Indicator.objects.create(
        programme=programme, code="CNS", name="Seen by a specialist nurse",
        source="National Lung Cancer Audit", is_headline=True)
    for where, numerator in ((site, 150), (other_site, 90)):
        IndicatorValue.objects.create(
            indicator=indicator, site=where, period="2025",
            period_start=datetime.date(2025, 1, 1), period_end=datetime.date(2025, 12, 31),
            numerator=numerator, denominator=200, national=0.7, target=0.8)
    return indicator


@pytest.fixture
def survey(programme, core, site):
    survey = survey_services.survey_create(programme=programme, user=core)
    collection = survey_services.collection_for(survey=survey, site=site)
    nurse, improve = survey.questions.get(code="NURSE"), survey.questions.get(code="IMPROVE")
    for number in range(12):
        survey_services.response_submit(
            collection=collection, submission_key=uuid.uuid4(), mode="online",
            answers={nurse.pk: "yes" if number < 9 else "no",
                     improve.pk: "Nurse Jones never rang back" if number == 0 else ""})
    return survey




def test_the_pack_gives_every_figure_its_source_period_and_denominator(
        visit, audit, survey, as_core):
    page = " ".join(as_core.get(f"/visits/{visit.pk}/data-pack/").content.decode().split())
    assert "Lung cancer MDT" in page and "MDT meeting" in page
    # the audit indicator
    assert "75.0%</strong> (150 of 200 patients)" in page
    assert "National Lung Cancer Audit, imported" in page
    assert "2025 (1 Jan 2025 to 31 Dec 2025)" in page and "old" in page
    assert "70.0%" in page and "80.0%" in page
    # the survey: source, N, period, interval
    assert "12 (12 online, 0 on paper)" in page
    assert "9 of 12" in page and "(47% to 91%)" in page
    assert "the latest response came in today" in page
    # The visiting team reads the pack: the host is "Host team", never "Your team".
    assert "Host team" in page and "Your team" not in page
    assert page.count("<svg") >= 2


def test_the_pdf_holds_the_same_figures_and_can_be_read_back(visit, audit, survey, as_core):
    response = as_core.get(f"/visits/{visit.pk}/data-pack.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    assert "Data pack: Lung cancer MDT" in text
    assert "75.0% (150 of 200 patients)" in text
    assert "National Lung Cancer Audit, imported" in text
    assert "2025 (1 Jan 2025 to 31 Dec 2025)" in text
    assert "12 (12 online, 0 on paper)" in text
    assert "9 of 12" in text and "(47% to 91%)" in text
    assert "Page 1 of" in text
    # the charts are vector SVG with their words as text, in the PDF as on the page
    assert "Seen by a specialist nurse, 2025" in text
    assert "Answered positively" in text


def test_unreviewed_comments_stay_out_of_the_pack_even_for_the_core_team(
        visit, survey, as_core):
    assert "Nurse Jones" not in as_core.get(f"/visits/{visit.pk}/data-pack/").content.decode()


def test_the_visiting_team_reads_the_pack_once_it_is_marked_ready(
        visit, audit, survey, client_for, other_lead, core):
    visitor = client_for(other_lead)
    page = visitor.get(f"/visits/{visit.pk}/data-pack/").content.decode()
    assert "The data pack is not ready yet" in page
    assert "150 of 200" not in page
    assert visitor.get(f"/visits/{visit.pk}/data-pack.pdf").status_code == 409
    task_complete(task=visit.tasks.get(kind="data_pack"), user=core)
    page = visitor.get(f"/visits/{visit.pk}/data-pack/").content.decode()
    assert "150 of 200" in page
    assert "Checked by Priya Manager" in page
    assert visitor.get(f"/visits/{visit.pk}/data-pack.pdf").status_code == 200


def test_the_host_team_sees_the_draft(visit, audit, client_for, lead):
    page = client_for(lead).get(f"/visits/{visit.pk}/data-pack/").content.decode()
    assert "Draft" in page and "150 of 200" in page


def test_another_programmes_people_get_not_found(visit, client_for, other_core, outsider):
    for person in (other_core, outsider):
        assert client_for(person).get(f"/visits/{visit.pk}/data-pack/").status_code == 404
        assert client_for(person).get(f"/visits/{visit.pk}/data-pack.pdf").status_code == 404


def test_a_pack_without_a_survey_or_data_says_so(visit, as_core):
    page = as_core.get(f"/visits/{visit.pk}/data-pack/").content.decode()
    assert "The programme has no patient survey." in page
    assert "The programme has no headline indicators yet." in page
