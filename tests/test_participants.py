"""Who takes part in a programme (programmes.selectors.participants): the rule behind its
events, directory, role groups and resource library."""

import pytest

from programmes.models import Enrolment, SiteMembership
from programmes.selectors import (
    CORE_TEAM_ROLE,
    is_participant,
    participant_audience,
    participant_programmes,
)

from .factories import EnrolmentFactory, SiteMembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def control_cns(programme):
    site = EnrolmentFactory(programme=programme, status=Enrolment.Status.CONTROL).site
    return SiteMembershipFactory(site=site, role=SiteMembership.Role.CNS).user


def test_core_team_and_intervention_sites_take_part_control_and_others_do_not(
        programme, core, lead, cns, other_lead, other_core, outsider, control_cns):
    for person in (core, lead, cns, other_lead):
        assert is_participant(person, programme), person
    for person in (other_core, outsider, control_cns):
        assert not is_participant(person, programme), person


def test_a_person_who_left_their_site_no_longer_takes_part(programme, site, cns):
    SiteMembership.objects.filter(user=cns).update(ended_at="2026-03-01T09:00:00Z")
    assert not participant_programmes(cns).filter(pk=programme.pk).exists()


def test_withdrawn_site_does_not_take_part(programme, site, lead):
    Enrolment.objects.filter(site=site).update(status=Enrolment.Status.WITHDRAWN)
    assert not is_participant(lead, programme)


def test_audience_by_role_by_site_both_and_neither(programme, site, other_site, core, lead, cns,
                                                   other_lead, control_cns):
    other_cns = SiteMembershipFactory(site=other_site, role=SiteMembership.Role.CNS).user

    def people(**narrowing):
        return {member.user for member in participant_audience(programme, **narrowing)}

    assert people(roles=["cns"]) == {cns, other_cns}  # never the control arm's CNS
    assert people(site_ids=[site.pk]) == {lead, cns}
    assert people(roles=["cns"], site_ids=[other_site.pk]) == {other_cns}
    assert people() == {lead, cns, other_lead, other_cns}
    everyone = participant_audience(programme, include_core_team=True)
    assert [m.role for m in everyone if m.user == core] == [CORE_TEAM_ROLE]


def test_a_person_at_two_sites_is_in_the_audience_once(programme, site, other_site, cns):
    SiteMembershipFactory(site=other_site, user=cns, role=SiteMembership.Role.CNS)
    members = [m for m in participant_audience(programme, roles=["cns"]) if m.user == cns]
    assert len(members) == 1


def test_inactive_accounts_are_not_in_the_audience(programme, cns):
    cns.is_active = False
    cns.save(update_fields=["is_active"])
    assert cns not in {m.user for m in participant_audience(programme)}
