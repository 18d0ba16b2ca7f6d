"""Moving enrolments through the funnel: one at a time or in bulk, always logged."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from ilcop.activity import timeline_for
from programmes import services
from programmes.models import Enrolment

from .factories import EnrolmentFactory


@pytest.fixture
def invited(programme):
    return EnrolmentFactory(programme=programme, status=Enrolment.Status.INVITED)


def test_a_move_records_who_and_when_and_is_on_both_timelines(invited, core):
    services.enrolment_move(enrolment=invited, target="interested", user=core)

    invited.refresh_from_db()
    assert invited.status == "interested"
    assert invited.status_changed_by == core
    entry = timeline_for(invited.site).first()
    assert entry.actor == core
    assert entry.summary == "Moved from Invited to Interested"
    assert entry.data == {"from": "invited", "to": "interested"}
    assert timeline_for(invited.programme).first() == entry


def test_approval_needs_who_approved_and_when(invited, core):
    services.enrolment_move(enrolment=invited, target="interested", user=core)
    with pytest.raises(ValidationError) as error:
        services.enrolment_move(enrolment=invited, target="approved", user=core)
    assert set(error.value.message_dict) == {"approved_by", "approved_on"}

    services.enrolment_move(
        enrolment=invited, target="approved", user=core,
        approved_by="Dr Jo Bloggs, Chief Executive", approved_on=datetime.date(2026, 2, 3),
    )
    invited.refresh_from_db()
    assert invited.approved_by == "Dr Jo Bloggs, Chief Executive"
    assert timeline_for(invited.site).first().summary.endswith(
        "(approved by Dr Jo Bloggs, Chief Executive on 3 February 2026)"
    )


def test_an_approval_date_in_the_future_is_refused(invited, core):
    services.enrolment_move(enrolment=invited, target="interested", user=core)
    with pytest.raises(ValidationError) as error:
        services.enrolment_move(enrolment=invited, target="approved", user=core,
                                approved_by="Dr X", approved_on=datetime.date(2999, 1, 1))
    assert "approved_on" in error.value.message_dict


def test_withdrawal_needs_a_reason_and_keeps_the_stage_reached(programme, core):
    enrolment = EnrolmentFactory(programme=programme, status=Enrolment.Status.ELIGIBLE)
    with pytest.raises(ValidationError):
        services.enrolment_move(enrolment=enrolment, target="withdrawn", user=core)
    services.enrolment_move(enrolment=enrolment, target="withdrawn", user=core,
                            reason="Lead clinician post vacant")
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.withdrawn_from) == ("withdrawn", "eligible")
    assert enrolment.withdrawn_reason == "Lead clinician post vacant"


def test_a_move_the_funnel_does_not_allow_is_refused(invited, core):
    with pytest.raises(ValidationError, match="cannot move to “Control arm”"):
        services.enrolment_move(enrolment=invited, target="control", user=core)
    invited.refresh_from_db()
    assert invited.status == "invited"


def test_bulk_moves_are_all_or_nothing(programme, core):
    ready = [EnrolmentFactory(programme=programme, status="invited") for _ in range(3)]
    not_ready = EnrolmentFactory(programme=programme, status="approved")

    with pytest.raises(ValidationError, match="Nothing was moved"):
        services.enrolments_move(enrolments=[*ready, not_ready], target="interested", user=core)
    assert Enrolment.objects.filter(status="interested").count() == 0

    services.enrolments_move(enrolments=ready, target="interested", user=core)
    assert Enrolment.objects.filter(status="interested").count() == 3


def test_nobody_moves_a_site_into_an_arm_by_hand(programme, core, as_core):
    eligible = EnrolmentFactory(programme=programme, status="eligible")
    with pytest.raises(ValidationError, match="Nothing was moved"):
        services.enrolment_move(enrolment=eligible, target="intervention", user=core)
    page = as_core.get(f"/programmes/{programme.pk}/enrolments/{eligible.pk}/move/")
    assert "Intervention arm" not in page.content.decode().split("Move to")[1]
    as_core.post(f"/programmes/{programme.pk}/enrolments/{eligible.pk}/move/",
                 {"target": "intervention"})
    eligible.refresh_from_db()
    assert eligible.status == "eligible"


def test_moving_a_site_twice_from_a_stale_page_is_refused(invited, core):
    stale = Enrolment.objects.get(pk=invited.pk)
    services.enrolment_move(enrolment=invited, target="interested", user=core)
    with pytest.raises(ValidationError):
        # The same form submitted again: the site is no longer "invited".
        services.enrolment_move(enrolment=stale, target="interested", user=core)


def test_bulk_move_page(as_core, programme):
    invited = [EnrolmentFactory(programme=programme, status="invited") for _ in range(2)]
    url = f"/programmes/{programme.pk}/sites/?status=invited"
    response = as_core.post(
        url, {"enrolments": [e.pk for e in invited], "target": "interested"}, follow=True
    )
    assert response.redirect_chain[-1][0] == url
    assert "Moved 2 site(s) to “Interested”" in response.content.decode()
    assert Enrolment.objects.filter(status="interested").count() == 2


def test_bulk_move_page_shows_why_nothing_moved(as_core, programme):
    invited = EnrolmentFactory(programme=programme, status="invited")
    response = as_core.post(
        f"/programmes/{programme.pk}/sites/",
        {"enrolments": [invited.pk], "target": "ineligible", "reason": "No data"},
    )
    assert response.status_code == 200
    assert "Nothing was moved" in response.content.decode()


def test_bulk_move_page_ignores_enrolments_of_another_programme(as_core, programme):
    foreign = EnrolmentFactory(status="eligible")
    response = as_core.post(
        f"/programmes/{programme.pk}/sites/",
        {"enrolments": [foreign.pk], "target": "withdrawn", "reason": "x"},
    )
    assert response.status_code == 200
    foreign.refresh_from_db()
    assert foreign.status == "eligible"


def test_single_move_page(as_core, programme, core):
    enrolment = EnrolmentFactory(programme=programme, status="approved")
    url = f"/programmes/{programme.pk}/enrolments/{enrolment.pk}/move/"
    response = as_core.post(url, {"target": "ineligible"})
    assert response.status_code == 200
    assert "Enter why the site is ineligible" in response.content.decode()

    response = as_core.post(url, {"target": "ineligible", "reason": "No baseline audit data"})
    assert response.status_code == 302
    enrolment.refresh_from_db()
    assert enrolment.ineligible_reason == "No baseline audit data"
