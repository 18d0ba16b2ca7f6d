"""Surveillance decisions: the core team records one for a service's self-report; the
service's own team reads it; the list of the cycle's decisions and of flagged services waiting
for one."""

import datetime
from types import SimpleNamespace

import pytest
from django.utils import timezone

from ilcop.models import ActivityLog
from programmes.models import (
    CoreTeamMembership,
    Enrolment,
    IndicatorResponse,
    Programme,
    QualityIndicator,
    SelfReport,
    SelfReportCycle,
    SiteMembership,
    SurveillanceDecision,
)
from programmes.services.surveillance_decisions import decision_record

from .factories import (
    CoreTeamMembershipFactory,
    EnrolmentFactory,
    SiteMembershipFactory,
    UserFactory,
)

GOOD = {"actions": ["peer_review"], "risk_level": "medium", "agreed_with_provider": "on",
        "rationale": "Missed an agreed indicator two years running", "version": "0"}


def add_service(programme, cycle, indicators, *, met: bool | None,
                status=SelfReport.Status.SUBMITTED) -> SelfReport:
    site = EnrolmentFactory(programme=programme, status=Enrolment.Status.APPROVED).site
    report = SelfReport.objects.create(cycle=cycle, site=site, status=status,
                                       submitted_at=timezone.now())
    IndicatorResponse.objects.bulk_create(
        IndicatorResponse(report=report, indicator=indicator, met=met)
        for indicator in indicators)
    return report


@pytest.fixture
def ow(db):
    return one_way_world()


def one_way_world() -> SimpleNamespace:
    """A one-way programme with its core team, two agreed indicators and a cycle, in which a
    flagged service (one indicator not met) and a service that meets both have submitted."""
    today = timezone.localdate()
    programme = Programme.objects.create(
        name="Specialised Services Quality Review", specialty="lung_cancer",
        kind=Programme.Kind.ONE_WAY, start_date=today, end_date=today.replace(year=today.year + 1),
        status=Programme.Status.RUNNING)
    core = CoreTeamMembershipFactory(programme=programme, user__full_name="Priya Manager",
                                     role=CoreTeamMembership.Role.PROJECT_MANAGER).user
    indicators = [QualityIndicator.objects.create(programme=programme, code=f"QI-0{n}",
                                                  title=f"Indicator {n}") for n in (1, 2)]
    cycle = SelfReportCycle.objects.create(programme=programme, name="2026/27",
                                           opens_on=today - datetime.timedelta(days=30),
                                           closes_on=today + datetime.timedelta(days=30))
    flagged = add_service(programme, cycle, indicators, met=True)
    IndicatorResponse.objects.filter(report=flagged, indicator=indicators[1]).update(met=False)
    passing = add_service(programme, cycle, indicators, met=True)
    member = SiteMembershipFactory(site=flagged.site, role=SiteMembership.Role.CLINICAL_LEAD,
                                   user__full_name="Dr Lena Lead").user
    return SimpleNamespace(programme=programme, core=core, indicators=indicators, cycle=cycle,
                           flagged=flagged, passing=passing, member=member,
                           other_member=SiteMembershipFactory(site=passing.site).user,
                           other_core=CoreTeamMembershipFactory().user, outsider=UserFactory())


def page(report) -> str:
    return f"/self-reports/{report.pk}/decision/"


# --- the decision page ---------------------------------------------------------------------


def test_the_core_team_sees_why_the_rules_flagged_the_service(ow, client_for):
    response = client_for(ow.core).get(page(ow.flagged))
    text = response.content.decode()
    assert response.status_code == 200
    assert "The rules flagged this service" in text
    assert "Meets 1 of 2 agreed quality indicators (all must be met)" in text
    assert "Record the decision" in text and "<form" in text


def test_a_service_the_rules_did_not_flag_says_so_and_may_still_get_a_decision(ow, client_for):
    client = client_for(ow.core)
    text = client.get(page(ow.passing)).content.decode()
    assert "The rules did not flag this service" in text
    response = client.post(page(ow.passing), {**GOOD, "actions": ["routine"]})
    assert response.status_code == 302
    assert SurveillanceDecision.objects.get(report=ow.passing).routine


def test_recording_a_decision_saves_it_and_logs_it_under_the_programme_and_site(ow, client_for):
    response = client_for(ow.core).post(page(ow.flagged), GOOD)
    assert response.status_code == 302 and response["Location"] == page(ow.flagged)
    decision = SurveillanceDecision.objects.get(report=ow.flagged)
    assert decision.peer_review and not decision.routine and not decision.enhanced
    assert decision.risk_level == "medium" and decision.agreed_with_provider
    assert not decision.agreed_with_commissioner
    assert decision.decided_by == ow.core and decision.version == 1
    entry = ActivityLog.objects.get(verb="surveillance_decision.recorded")
    scoped = {(scope.content_type.model, scope.object_id) for scope in entry.scopes.all()}
    assert {("programme", ow.programme.pk), ("site", ow.flagged.site.pk)} <= scoped
    assert entry.data["risk_level"] == "medium" and entry.data["peer_review"] is True


def test_the_same_decision_posted_twice_is_saved_once(ow, client_for):
    client = client_for(ow.core)
    client.post(page(ow.flagged), GOOD)
    client.post(page(ow.flagged), GOOD)
    assert SurveillanceDecision.objects.count() == 1
    assert ActivityLog.objects.filter(verb__startswith="surveillance_decision").count() == 1


@pytest.mark.parametrize(("changes", "message"), [
    ({"actions": []}, "Choose at least one action"),
    ({"actions": ["enhanced"]}, "Say who carries out the enhanced surveillance"),
    ({"actions": ["enhanced"], "enhanced_by": "provider"},
     "Say what the enhanced surveillance involves"),
    ({"risk_level": ""}, "Choose the risk level: low, medium or high"),
    ({"rationale": "   "}, "Give the reasons for the decision"),
])
def test_an_incomplete_decision_says_what_to_put_right_and_saves_nothing(ow, client_for,
                                                                         changes, message):
    response = client_for(ow.core).post(page(ow.flagged), {**GOOD, **changes})
    assert response.status_code == 200
    text = response.content.decode()
    assert "nhsuk-error-summary" in text and message in text
    assert not SurveillanceDecision.objects.exists()


def test_enhanced_surveillance_keeps_who_and_what(ow, client_for):
    client_for(ow.core).post(page(ow.flagged), {
        **GOOD, "actions": ["enhanced", "peer_review"], "enhanced_by": "both",
        "enhanced_action": "Monthly data on time to MDT discussion"})
    decision = SurveillanceDecision.objects.get()
    assert decision.enhanced and decision.enhanced_by == "both"
    assert decision.actions == ["Enhanced surveillance", "Peer review"]


def test_dropping_enhanced_surveillance_clears_who_and_what(ow):
    decision = decision_record(report=ow.flagged, user=ow.core, enhanced=True,
                               enhanced_by="provider", enhanced_action="Monthly data",
                               risk_level="high", rationale="Concern")
    decision = decision_record(report=ow.flagged, user=ow.core, routine=True, enhanced=False,
                               enhanced_by="provider", enhanced_action="Monthly data",
                               risk_level="low", rationale="Improved",
                               version=decision.version)
    decision.refresh_from_db()
    assert (decision.enhanced_by, decision.enhanced_action) == ("", "")
    assert decision.version == 2
    assert ActivityLog.objects.filter(verb="surveillance_decision.changed").count() == 1


def test_a_decision_changed_by_someone_else_meanwhile_shows_both_versions(ow, client_for):
    opened = client_for(ow.core).get(page(ow.flagged))
    assert opened.status_code == 200
    colleague = CoreTeamMembershipFactory(programme=ow.programme).user
    decision_record(report=ow.flagged, user=colleague, routine=True, risk_level="low",
                    rationale="Their reasons")
    # This person's form was opened before any decision existed (version 0).
    response = client_for(ow.core).post(page(ow.flagged), GOOD)
    text = response.content.decode()
    assert response.status_code == 200
    assert "Someone else changed this while you were editing" in text
    assert "Their reasons" in text
    decision = SurveillanceDecision.objects.get()
    assert decision.rationale == "Their reasons" and decision.decided_by == colleague


def test_a_draft_self_report_cannot_have_a_decision_yet(ow, client_for):
    draft = add_service(ow.programme, ow.cycle, ow.indicators, met=None,
                        status=SelfReport.Status.DRAFT)
    client = client_for(ow.core)
    text = client.get(page(draft)).content.decode()
    assert "has not submitted its self-report yet" in text and "<form method" not in text
    assert client.post(page(draft), GOOD).status_code == 200
    assert not SurveillanceDecision.objects.exists()
    with pytest.raises(Exception, match="not submitted"):
        decision_record(report=draft, user=ow.core, routine=True, risk_level="low",
                        rationale="x")


def test_the_service_reads_its_decision_without_a_form_and_may_not_post(ow, client_for):
    decision_record(report=ow.flagged, user=ow.core, peer_review=True, risk_level="high",
                    agreed_with_provider=True, rationale="Agreed at the quality meeting")
    client = client_for(ow.member)
    response = client.get(page(ow.flagged))
    text = response.content.decode()
    assert response.status_code == 200
    assert "Agreed at the quality meeting" in text and "High" in text
    assert 'name="rationale"' not in text
    assert client.post(page(ow.flagged), GOOD).status_code == 403


def test_a_service_waiting_for_its_decision_is_told_who_agrees_it(ow, client_for):
    text = client_for(ow.member).get(page(ow.flagged)).content.decode()
    assert "No decision has been recorded yet" in text


@pytest.mark.parametrize("who", ["other_member", "other_core", "outsider"])
def test_anyone_else_gets_a_404(ow, client_for, who):
    client = client_for(getattr(ow, who))
    assert client.get(page(ow.flagged)).status_code == 404
    assert client.post(page(ow.flagged), GOOD).status_code == 404


def test_the_peer_review_button_shows_only_for_a_peer_review(ow, client_for):
    decision_record(report=ow.flagged, user=ow.core, routine=True, risk_level="low",
                    rationale="Routine")
    client = client_for(ow.core)
    assert "Set up the peer review" not in client.get(page(ow.flagged)).content.decode()
    decision_record(report=ow.flagged, user=ow.core, peer_review=True, risk_level="low",
                    rationale="Peer review", version=1)
    text = client.get(page(ow.flagged)).content.decode()
    assert "Set up the peer review" in text
    assert f'action="/decisions/{SurveillanceDecision.objects.get().pk}/review/"' in text
    # The service reads the decision; setting up the review is the core team's.
    assert "Set up the peer review" not in client_for(ow.member).get(
        page(ow.flagged)).content.decode()


def test_the_decision_page_has_a_fixed_query_count(ow, client_for,
                                                   django_assert_max_num_queries):
    client = client_for(ow.core)
    decision_record(report=ow.flagged, user=ow.core, peer_review=True, risk_level="high",
                    rationale="Concern")
    with django_assert_max_num_queries(20):
        assert client.get(page(ow.flagged)).status_code == 200
    for n in range(3, 13):
        QualityIndicator.objects.create(programme=ow.programme, code=f"QI-{n:02d}",
                                        title=f"Indicator {n}")
    with django_assert_max_num_queries(20):
        assert client.get(page(ow.flagged)).status_code == 200


# --- the list -------------------------------------------------------------------------------


def decisions_url(ow, query="") -> str:
    return f"/programmes/{ow.programme.pk}/decisions/{query}"


def test_the_list_shows_decisions_and_the_flagged_services_still_waiting(ow, client_for):
    client = client_for(ow.core)
    text = client.get(decisions_url(ow)).content.decode()
    assert page(ow.flagged) in text and "Meets 1 of 2 agreed quality indicators" in text
    decision_record(report=ow.flagged, user=ow.core, peer_review=True, risk_level="high",
                    agreed_with_commissioner=True, rationale="Concern")
    decision_record(report=ow.passing, user=ow.core, routine=True, risk_level="low",
                    rationale="Routine")
    text = client.get(decisions_url(ow)).content.decode()
    assert "Every flagged service has a decision" in text
    assert "2 decisions" in text and "Priya Manager" in text
    high = client.get(decisions_url(ow, "?risk=high")).content.decode()
    assert "1 decision<" in high and page(ow.flagged) in high and page(ow.passing) not in high
    routine = client.get(decisions_url(ow, "?action=routine")).content.decode()
    assert page(ow.passing) in routine and page(ow.flagged) not in routine
    # A filter that makes no sense is dropped, not refused.
    assert "2 decisions" in client.get(decisions_url(ow, "?risk=dire&action=x")).content.decode()


def test_the_list_is_the_core_teams(ow, client_for):
    assert client_for(ow.member).get(decisions_url(ow)).status_code == 404
    assert client_for(ow.other_core).get(decisions_url(ow)).status_code == 404


def test_the_list_does_not_grow_in_queries_with_services(ow, client_for,
                                                          django_assert_max_num_queries):
    client = client_for(ow.core)
    decision_record(report=ow.flagged, user=ow.core, peer_review=True, risk_level="high",
                    rationale="Concern")
    with django_assert_max_num_queries(20) as first:
        client.get(decisions_url(ow))
    for _ in range(5):
        report = add_service(ow.programme, ow.cycle, ow.indicators, met=False)
        decision_record(report=report, user=UserFactory(), routine=True, risk_level="low",
                        rationale="Routine")
        add_service(ow.programme, ow.cycle, ow.indicators, met=False)
    with django_assert_max_num_queries(len(first.captured_queries)):
        text = client.get(decisions_url(ow)).content.decode()
    assert "6 decisions" in text
