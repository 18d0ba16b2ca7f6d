"""Setting up a programme and adding its organisations and sites by hand."""

import pytest

from ilcop.activity import timeline_for
from programmes.models import CoreTeamMembership, Enrolment, Organisation, Programme, Site

from .factories import OrganisationFactory, UserFactory

PROGRAMME = {
    "name": "Breast Cancer Peer Review 2027", "specialty": "breast_cancer", "kind": "reciprocal",
    "description": "", "start_date": "2027-01-04", "end_date": "2028-06-30",
    "creator_role": "project_manager",
}


def test_staff_set_up_a_programme_and_join_its_core_team(client_for, db):
    staff = UserFactory(is_staff=True)
    response = client_for(staff).post("/programmes/new/", PROGRAMME)
    programme = Programme.objects.get()
    assert response["Location"] == f"/programmes/{programme.pk}/"
    assert CoreTeamMembership.objects.get(programme=programme).user == staff
    assert timeline_for(programme).first().summary == "Created the programme"


def test_a_programme_cannot_end_before_it_starts(client_for, db):
    staff = UserFactory(is_staff=True)
    response = client_for(staff).post("/programmes/new/", {**PROGRAMME, "end_date": "2026-01-01"})
    assert "The end date must be the same as or after the start date" in response.content.decode()
    assert not Programme.objects.exists()


def test_people_outside_any_core_team_cannot_set_up_programmes(client_for, outsider, lead):
    assert client_for(outsider).get("/programmes/new/").status_code == 404
    assert client_for(lead).post("/programmes/new/", PROGRAMME).status_code == 404
    assert Programme.objects.count() == 1  # only the fixture's


def test_editing_a_programme_logs_what_changed(as_core, programme):
    data = {"name": programme.name, "specialty": "lung_cancer", "kind": "reciprocal",
            "description": "Now recruiting", "start_date": "2026-01-05",
            "end_date": "2027-12-17", "status": "recruiting", "baseline_period": "",
            "min_denominator": "30", "qip_due_weeks": "6", "event_notice_weeks": "4"}
    response = as_core.post(f"/programmes/{programme.pk}/edit/", data)
    assert response.status_code == 302
    programme.refresh_from_db()
    assert programme.status == "recruiting"
    entry = timeline_for(programme).first()
    assert entry.summary == "Changed description, status"


def test_the_core_team_chooses_when_improvement_plans_are_due(as_core, programme):
    page = as_core.get(f"/programmes/{programme.pk}/edit/").content.decode()
    assert "Weeks after hosting a visit that improvement plans are due" in page
    data = {"name": programme.name, "specialty": "lung_cancer", "kind": "reciprocal",
            "description": "", "start_date": "2026-01-05", "end_date": "2027-12-17",
            "status": "running", "baseline_period": "", "min_denominator": "30",
            "event_notice_weeks": "4"}
    response = as_core.post(f"/programmes/{programme.pk}/edit/", {**data, "qip_due_weeks": "0"})
    assert response.status_code == 200  # at least a week
    response = as_core.post(f"/programmes/{programme.pk}/edit/", {**data, "qip_due_weeks": "8"})
    assert response.status_code == 302
    programme.refresh_from_db()
    assert programme.qip_due_weeks == 8
    assert "improvement plans are due" in timeline_for(programme).first().summary


def test_the_core_team_chooses_how_much_notice_events_need(as_core, programme):
    page = as_core.get(f"/programmes/{programme.pk}/edit/").content.decode()
    assert "Weeks of notice for workshops and conferences" in page
    data = {"name": programme.name, "specialty": "lung_cancer", "kind": "reciprocal",
            "description": "", "start_date": "2026-01-05", "end_date": "2027-12-17",
            "status": "running", "baseline_period": "", "min_denominator": "30",
            "qip_due_weeks": "6"}
    for nonsense in ("0", "27", "four"):
        response = as_core.post(f"/programmes/{programme.pk}/edit/",
                                {**data, "event_notice_weeks": nonsense})
        assert response.status_code == 200, nonsense
    response = as_core.post(f"/programmes/{programme.pk}/edit/",
                            {**data, "event_notice_weeks": "6"})
    assert response.status_code == 302
    programme.refresh_from_db()
    assert programme.event_notice_weeks == 6


def test_adding_an_organisation_then_its_site_invites_the_site(as_core, programme):
    response = as_core.post(f"/programmes/{programme.pk}/organisations/add/", {
        "name": "Kestrelford University Hospitals", "code": "zk1", "region": "north_west",
        "network": "", "latitude": "53.4", "longitude": "-2.2",
    })
    organisation = Organisation.objects.get(code="ZK1")
    assert response["Location"] == (
        f"/programmes/{programme.pk}/sites/add/?organisation={organisation.pk}"
    )
    page = as_core.get(response["Location"]).content.decode()
    assert f'value="{organisation.pk}" selected' in page

    response = as_core.post(f"/programmes/{programme.pk}/sites/add/", {
        "organisation": organisation.pk, "name": "Lung cancer MDT", "code": "zk1-lung",
        "specialty": "lung_cancer", "mdt_day": "3", "mdt_time": "13:00",
        "annual_new_patients": "300",
    })
    site = Site.objects.get(code="ZK1-LUNG")
    assert response["Location"] == f"/sites/{site.pk}/"
    assert Enrolment.objects.get(site=site, programme=programme).status == "invited"


def test_half_a_location_is_refused(as_core, programme):
    response = as_core.post(f"/programmes/{programme.pk}/organisations/add/", {
        "name": "X", "code": "ZX", "region": "london", "latitude": "51.5",
    })
    assert "Enter both latitude and longitude, or neither" in response.content.decode()


def test_a_duplicate_site_code_is_explained(as_core, programme, site):
    response = as_core.post(f"/programmes/{programme.pk}/sites/add/", {
        "organisation": OrganisationFactory().pk, "name": "MDT", "code": site.code.lower(),
        "specialty": "lung_cancer", "mdt_day": "1", "mdt_time": "09:00",
    })
    assert "Another site already has this code" in response.content.decode()


@pytest.mark.parametrize("field", ["mdt_day", "mdt_time"])
def test_nonsense_in_a_site_form_gets_a_message_not_an_error(as_core, programme, field):
    data = {"organisation": OrganisationFactory().pk, "name": "MDT", "code": "ZQ-1",
            "specialty": "lung_cancer", "mdt_day": "1", "mdt_time": "09:00",
            field: "<script>9</script>"}
    response = as_core.post(f"/programmes/{programme.pk}/sites/add/", data)
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()


def test_the_core_team_edits_a_site_and_the_site_sees_it_logged(as_core, client_for, lead, site):
    data = {"organisation": site.organisation_id, "name": site.name, "code": site.code,
            "specialty": "lung_cancer", "mdt_day": "4", "mdt_time": "13:30",
            "annual_new_patients": ""}
    assert as_core.post(f"/sites/{site.pk}/edit/", data).status_code == 302
    page = client_for(lead).get(f"/sites/{site.pk}/").content.decode()
    assert "Fridays at 13:30" in page
    assert "Changed MDT meeting day" in page
