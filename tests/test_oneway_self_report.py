"""Standards, quality indicators, the annual self-report and regional hubs of a one-way review
programme (programmes.views.self_report, programmes.services.self_report).

The people: ``core`` (the programme's core team), ``lead`` (a member of service A), ``other``
(a member of service B), ``hub_member`` (in a regional hub analysing service A only),
``reciprocal_core`` (the core team of a reciprocal programme) and ``outsider``.
"""

import datetime
import re
from types import SimpleNamespace

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from ilcop.models import ActivityLog
from programmes.models import (
    CoreTeamMembership,
    Enrolment,
    EvidenceDocument,
    IndicatorResponse,
    Programme,
    QualityIndicator,
    RegionalHub,
    RegionalHubMembership,
    SelfReport,
    SelfReportCycle,
    Standard,
    SurveillanceDecision,
)
from programmes.services import self_report as services

from .factories import (
    CoreTeamMembershipFactory,
    EnrolmentFactory,
    ProgrammeFactory,
    SiteMembershipFactory,
    UserFactory,
)

AGREED, GOOD = QualityIndicator.Kind.AGREED, QualityIndicator.Kind.GOOD_PRACTICE


def _service(programme, **site):
    return EnrolmentFactory(programme=programme, status=Enrolment.Status.APPROVED,
                            **{f"site__{k}": v for k, v in site.items()}).site


@pytest.fixture
def ow(db):
    today = timezone.localdate()
    programme = ProgrammeFactory(kind=Programme.Kind.ONE_WAY, compliance_threshold=75,
                                 name="Specialised Services Quality Review")
    core = CoreTeamMembershipFactory(programme=programme).user
    site_a, site_b = _service(programme, code="AAA-1"), _service(programme, code="BBB-1")
    lead = SiteMembershipFactory(site=site_a).user
    other = SiteMembershipFactory(site=site_b).user
    s1 = Standard.objects.create(programme=programme, code="S1", title="MDT", order=1)
    s2 = Standard.objects.create(programme=programme, code="S2", title="Pathway", order=2)
    indicators = []
    for code, kind, standard in (("QI-01", AGREED, s1), ("QI-02", AGREED, s1),
                                 ("GP-01", GOOD, s2), ("GP-02", GOOD, s2)):
        indicators.append(QualityIndicator.objects.create(
            programme=programme, standard=standard, code=code, title=f"Indicator {code}",
            kind=kind, guidance="Terms of reference <b>signed</b>" if code == "QI-01" else "",
            review_date=today + datetime.timedelta(days=100)))
    cycle = SelfReportCycle.objects.create(programme=programme, name="2026/27",
                                           opens_on=today - datetime.timedelta(days=10),
                                           closes_on=today + datetime.timedelta(days=50))
    hub = RegionalHub.objects.create(programme=programme, name="London hub")
    hub.sites.add(site_a)
    hub_member = UserFactory(email="hub@nhs.example")
    RegionalHubMembership.objects.create(hub=hub, user=hub_member)
    reciprocal_core = CoreTeamMembershipFactory().user
    return SimpleNamespace(
        programme=programme, core=core, site_a=site_a, site_b=site_b, lead=lead, other=other,
        standards=[s1, s2], indicators=indicators, cycle=cycle, hub=hub,
        hub_member=hub_member, reciprocal_core=reciprocal_core, outsider=UserFactory(),
        reciprocal=CoreTeamMembership.objects.get(user=reciprocal_core).programme)


def _form(ow, met: dict[str, str], version: int = 0, comment: str = "") -> dict:
    data = {"version": str(version)}
    for indicator in ow.indicators:
        if indicator.code in met:
            data[f"met_{indicator.pk}"] = met[indicator.code]
        data[f"comment_{indicator.pk}"] = comment
    return data


def _submitted(ow, site, met: dict[str, bool]) -> SelfReport:
    report = SelfReport.objects.create(cycle=ow.cycle, site=site,
                                       status=SelfReport.Status.SUBMITTED,
                                       submitted_at=timezone.now(), submitted_by=ow.core)
    for indicator in ow.indicators:
        IndicatorResponse.objects.create(report=report, indicator=indicator,
                                         met=met.get(indicator.code, True))
    return report


ALL_MET = {"QI-01": "met", "QI-02": "met", "GP-01": "met", "GP-02": "not_met"}


# --- who gets what ---------------------------------------------------------------------------


def _core_urls(ow):
    p, c = ow.programme.pk, ow.cycle.pk
    return [reverse("programmes:standards", args=[p]),
            reverse("programmes:standard_add", args=[p]),
            reverse("programmes:standard_edit", args=[p, ow.standards[0].pk]),
            reverse("programmes:quality_indicators", args=[p]),
            reverse("programmes:quality_indicator_add", args=[p]),
            reverse("programmes:quality_indicator_edit", args=[p, ow.indicators[0].pk]),
            reverse("programmes:self_report_cycles", args=[p]),
            reverse("programmes:self_report_cycle_add", args=[p]),
            reverse("programmes:self_report_cycle_edit", args=[p, c]),
            reverse("programmes:self_report_results", args=[p, c]),
            reverse("programmes:self_report_import", args=[p, c]),
            reverse("programmes:self_report_import_template", args=[p, c]),
            reverse("programmes:hubs", args=[p]),
            reverse("programmes:hub_add", args=[p]),
            reverse("programmes:hub_edit", args=[p, ow.hub.pk])]


def test_core_team_pages_are_the_core_teams_alone(ow, client_for):
    for url in _core_urls(ow):
        assert client_for(ow.core).get(url).status_code == 200, url
        for person in (ow.lead, ow.other, ow.hub_member, ow.reciprocal_core, ow.outsider):
            assert client_for(person).get(url).status_code == 404, (url, person)


def test_a_reciprocal_programme_has_no_standards_or_self_reports(ow, client_for):
    client = client_for(ow.reciprocal_core)
    for name in ("standards", "quality_indicators", "self_report_cycles", "hubs"):
        assert client.get(reverse(f"programmes:{name}", args=[ow.reciprocal.pk])
                          ).status_code == 404


def test_a_service_sees_its_own_self_report_and_nobody_elses(ow, client_for):
    url = reverse("programmes:site_self_report", args=[ow.site_a.pk])
    assert client_for(ow.lead).get(url).status_code == 200
    assert client_for(ow.core).get(url).status_code == 200
    for person in (ow.other, ow.hub_member, ow.reciprocal_core, ow.outsider):
        assert client_for(person).get(url).status_code == 404
        assert client_for(person).post(url, _form(ow, ALL_MET)).status_code == 404
    assert not SelfReport.objects.exists()


def test_hub_results_show_only_the_hubs_services_to_its_members_and_the_core_team(
        ow, client_for):
    _submitted(ow, ow.site_a, {"QI-01": False})
    _submitted(ow, ow.site_b, {})
    url = reverse("programmes:hub_results", args=[ow.hub.pk])
    page = client_for(ow.hub_member).get(url).content.decode()
    assert "AAA-1" in page and "BBB-1" not in page
    assert "Meets 1 of 2 agreed quality indicators" in page
    assert client_for(ow.core).get(url).status_code == 200
    for person in (ow.lead, ow.other, ow.reciprocal_core, ow.outsider):
        assert client_for(person).get(url).status_code == 404


# --- standards and indicators ----------------------------------------------------------------


def test_adding_a_standard_saves_and_logs_it_and_a_taken_code_is_refused(ow, client_for):
    client = client_for(ow.core)
    url = reverse("programmes:standard_add", args=[ow.programme.pk])
    response = client.post(url, {"code": "s3", "title": "Follow-up", "order": 3})
    assert response.status_code == 302
    standard = Standard.objects.get(programme=ow.programme, code="S3")
    assert ActivityLog.objects.filter(verb="standard.added", object_id=standard.pk).exists()
    response = client.post(url, {"code": "S1", "title": "Again", "order": 4})
    assert response.status_code == 200
    assert "Another standard already has the code S1" in response.content.decode()
    assert Standard.objects.filter(programme=ow.programme).count() == 3


def test_the_indicator_list_groups_by_standard_and_tags_out_of_date(ow, client_for):
    past = ow.indicators[1]
    past.review_date = timezone.localdate() - datetime.timedelta(days=1)
    past.save()
    flagged = ow.indicators[2]
    services.indicator_flag(indicator=flagged, user=ow.core, reason="Guideline replaced")
    page = client_for(ow.core).get(
        reverse("programmes:quality_indicators", args=[ow.programme.pk])).content.decode()
    assert page.index("S1 MDT") < page.index("QI-01") < page.index("S2 Pathway") \
        < page.index("GP-01")
    assert "Out of date: review date passed" in page
    assert "Out of date: not scored" in page and "Guideline replaced" in page
    assert "is <strong>not scored</strong>" in page


def test_flagging_needs_a_reason_and_revising_clears_the_flag(ow, client_for):
    client = client_for(ow.core)
    indicator = ow.indicators[0]
    flag = reverse("programmes:quality_indicator_flag", args=[ow.programme.pk, indicator.pk])
    response = client.post(flag, {"flag-reason": ""})
    assert response.status_code == 200
    assert "Enter why the indicator is out of date" in response.content.decode()
    indicator.refresh_from_db()
    assert indicator.flagged_out_of_date_at is None

    assert client.post(flag, {"flag-reason": "NICE NG122 updated"}).status_code == 302
    indicator.refresh_from_db()
    assert indicator.flagged_out_of_date_at and indicator.flagged_out_of_date_by == ow.core
    assert indicator.is_out_of_date()

    revise = reverse("programmes:quality_indicator_revise",
                     args=[ow.programme.pk, indicator.pk])
    next_year = (timezone.localdate() + datetime.timedelta(days=365)).isoformat()
    response = client.post(revise, {"revise-version": "1", "revise-review_date": next_year})
    assert "already version 1" in response.content.decode()
    assert client.post(revise, {"revise-version": "2",
                                "revise-review_date": next_year}).status_code == 302
    indicator.refresh_from_db()
    assert (indicator.version, indicator.flagged_out_of_date_at) == ("2", None)
    assert indicator.out_of_date_reason == ""
    entry = ActivityLog.objects.get(verb="quality_indicator.revised")
    assert entry.data["from_version"] == "1" and entry.data["to_version"] == "2"


def test_adding_a_cycle_checks_its_dates(ow, client_for):
    client = client_for(ow.core)
    url = reverse("programmes:self_report_cycle_add", args=[ow.programme.pk])
    response = client.post(url, {"name": "2027/28", "opens_on": "2027-04-01",
                                 "closes_on": "2027-03-01"})
    assert "closing date must be on or after the opening date" in response.content.decode()
    response = client.post(url, {"name": "2026/27", "opens_on": "2027-04-01",
                                 "closes_on": "2027-06-01"})
    assert "There is already a self-report called 2026/27" in response.content.decode()
    assert client.post(url, {"name": "2027/28", "opens_on": "2027-04-01",
                             "closes_on": "2027-06-01"}).status_code == 302
    assert SelfReportCycle.objects.filter(programme=ow.programme).count() == 2


# --- a service's self-report -----------------------------------------------------------------


def test_the_page_shows_each_indicator_with_its_guidance_escaped(ow, client_for):
    page = client_for(ow.lead).get(
        reverse("programmes:site_self_report", args=[ow.site_a.pk])).content.decode()
    assert "Does your service meet QI-01?" in page
    assert "What counts as evidence: Terms of reference &lt;b&gt;signed&lt;/b&gt;" in page
    assert "4 indicators are not answered yet" in page
    assert not SelfReport.objects.exists()


def test_saving_creates_the_report_and_a_stale_save_shows_both_versions(ow, client_for):
    url = reverse("programmes:site_self_report", args=[ow.site_a.pk])
    lead, colleague = client_for(ow.lead), client_for(SiteMembershipFactory(site=ow.site_a).user)
    assert lead.post(url, _form(ow, {"QI-01": "met"})).status_code == 302
    report = SelfReport.objects.get(site=ow.site_a, cycle=ow.cycle)
    assert report.version == 1
    assert report.responses.get(indicator=ow.indicators[0]).met is True
    # The colleague's page was opened at version 0, before the lead saved.
    response = colleague.post(url, _form(ow, {"QI-01": "not_met"}, version=0))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Someone else changed this while you were editing" in page
    assert "Met. (no comment)" in page and "Not met. (no comment)" in page
    report.refresh_from_db()
    assert report.version == 1
    assert report.responses.get(indicator=ow.indicators[0]).met is True
    # Saving again from the conflict page (now at version 1) keeps the colleague's answer.
    assert colleague.post(url, _form(ow, {"QI-01": "not_met"}, version=1)).status_code == 302
    assert report.responses.get(indicator=ow.indicators[0]).met is False


def test_submitting_refuses_unanswered_indicators_then_shows_the_services_result(
        ow, client_for):
    client = client_for(ow.lead)
    page_url = reverse("programmes:site_self_report", args=[ow.site_a.pk])
    submit = reverse("programmes:self_report_submit", args=[ow.site_a.pk])
    client.post(page_url, _form(ow, {"QI-01": "met"}))
    response = client.post(submit, follow=True)
    assert "3 quality indicators are not answered yet" in response.content.decode()
    assert SelfReport.objects.get().status == SelfReport.Status.DRAFT

    client.post(page_url, _form(ow, ALL_MET, version=1))
    page = client.post(submit, follow=True).content.decode()
    report = SelfReport.objects.get()
    assert report.status == SelfReport.Status.SUBMITTED and report.submitted_by == ow.lead
    assert ActivityLog.objects.filter(verb="self_report.submitted").exists()
    assert "2 of 2 met" in page and "50% met (1 of 2)" in page
    assert "below the 75% threshold" in page
    # Submitted answers cannot be changed by the service.
    client.post(page_url, _form(ow, dict.fromkeys(ALL_MET, "met"), version=2))
    assert report.responses.get(indicator=ow.indicators[3]).met is False


def test_only_the_core_team_reopens_a_submitted_report(ow, client_for):
    report = _submitted(ow, ow.site_a, {})
    url = reverse("programmes:self_report_reopen", args=[report.pk])
    assert client_for(ow.lead).post(url).status_code == 403
    assert client_for(ow.other).post(url).status_code == 404
    assert client_for(ow.core).post(url).status_code == 302
    report.refresh_from_db()
    assert (report.status, report.submitted_at) == (SelfReport.Status.DRAFT, None)
    assert ActivityLog.objects.filter(verb="self_report.reopened").exists()


def test_evidence_upload_checks_the_file_and_download_is_scoped(ow, client_for):
    client = client_for(ow.lead)
    url = reverse("programmes:self_report_evidence_add", args=[ow.site_a.pk])
    fake = SimpleUploadedFile("policy.pdf", b"<html>not a pdf</html>")
    response = client.post(url, {"title": "Policy", "file": fake})
    assert "is not a real .pdf file" in response.content.decode()
    assert not EvidenceDocument.objects.exists()
    pdf = SimpleUploadedFile("policy.pdf", b"%PDF-1.4\nhello")
    assert client.post(url, {"title": "Policy", "indicator": ow.indicators[0].pk,
                             "file": pdf}).status_code == 302
    document = EvidenceDocument.objects.get()
    assert document.filename == "policy.pdf" and document.uploaded_by == ow.lead
    download = reverse("programmes:self_report_evidence_download",
                       args=[ow.site_a.pk, document.pk])
    for person in (ow.lead, ow.core, ow.hub_member):
        response = client_for(person).get(download)
        assert response.status_code == 200
        assert b"".join(response.streaming_content).startswith(b"%PDF")
    for person in (ow.other, ow.reciprocal_core, ow.outsider):
        assert client_for(person).get(download).status_code == 404
    # The evidence's own site in the URL, or nothing.
    wrong = reverse("programmes:self_report_evidence_download", args=[ow.site_b.pk,
                                                                      document.pk])
    assert client_for(ow.core).get(wrong).status_code == 404


# --- the opening and closing dates -----------------------------------------------------------


def _days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


def _long(day: datetime.date) -> str:
    return f"{day.day} {day:%B %Y}"


def _move(cycle, opens_on: datetime.date, closes_on: datetime.date) -> None:
    SelfReportCycle.objects.filter(pk=cycle.pk).update(opens_on=opens_on, closes_on=closes_on)
    cycle.refresh_from_db()


def _evidence() -> SimpleUploadedFile:
    return SimpleUploadedFile("policy.pdf", b"%PDF-1.4\nhello")


def _every_change_refused(ow, message: str) -> None:
    """Saving, adding evidence and submitting are each refused with ``message``."""
    answers = {i.pk: (True, "") for i in ow.indicators}
    for attempt in (
            lambda: services.self_report_save(cycle=ow.cycle, site=ow.site_a, user=ow.lead,
                                              answers=answers),
            lambda: services.evidence_add(cycle=ow.cycle, site=ow.site_a, user=ow.lead,
                                          title="Policy", upload=_evidence()),
            lambda: services.self_report_submit(cycle=ow.cycle, site=ow.site_a,
                                                user=ow.lead)):
        with pytest.raises(ValidationError) as refused:
            attempt()
        assert refused.value.messages == [message]


def test_the_service_refuses_changes_before_the_opening_date(ow):
    _move(ow.cycle, _days(1), _days(30))
    _every_change_refused(ow, f"This self-report opens on {_long(_days(1))}. "
                              "You can answer it from then.")
    assert not SelfReport.objects.exists() and not EvidenceDocument.objects.exists()


def test_the_service_refuses_changes_after_the_closing_date(ow):
    services.self_report_save(cycle=ow.cycle, site=ow.site_a, user=ow.lead,
                              answers={i.pk: (True, "") for i in ow.indicators})
    _move(ow.cycle, _days(-60), _days(-1))
    _every_change_refused(ow, f"This self-report closed on {_long(_days(-1))}. Ask the "
                              "programme's core team if you need the date moved.")
    report = SelfReport.objects.get()
    assert (report.status, report.version) == (SelfReport.Status.DRAFT, 1)
    assert not EvidenceDocument.objects.exists()


def test_the_opening_and_closing_days_themselves_are_open(ow):
    _move(ow.cycle, _days(0), _days(0))
    services.evidence_add(cycle=ow.cycle, site=ow.site_a, user=ow.lead, title="Policy",
                          upload=_evidence())
    services.self_report_save(cycle=ow.cycle, site=ow.site_a, user=ow.lead,
                              answers={i.pk: (True, "") for i in ow.indicators})
    report = services.self_report_submit(cycle=ow.cycle, site=ow.site_a, user=ow.lead)
    assert report.status == SelfReport.Status.SUBMITTED


def test_the_closing_date_is_the_london_date(ow):
    # 23:30 UTC on 30 June is already 1 July in London (BST): closed there, whatever UTC says.
    _move(ow.cycle, datetime.date(2027, 4, 1), datetime.date(2027, 6, 30))
    answers = {ow.indicators[0].pk: (True, "")}
    with time_machine.travel(datetime.datetime(2027, 6, 30, 22, 30, tzinfo=datetime.UTC),
                             tick=False):
        services.self_report_save(cycle=ow.cycle, site=ow.site_a, user=ow.lead,
                                  answers=answers)
    with (time_machine.travel(datetime.datetime(2027, 6, 30, 23, 30, tzinfo=datetime.UTC),
                              tick=False),
          pytest.raises(ValidationError, match="closed on 30 June 2027")):
        services.self_report_save(cycle=ow.cycle, site=ow.site_a, user=ow.lead,
                                  answers={ow.indicators[0].pk: (False, "")})
    assert SelfReport.objects.get().responses.get().met is True


def test_after_closing_the_page_says_why_and_a_post_saves_nothing(ow, client_for):
    client = client_for(ow.lead)
    page_url = reverse("programmes:site_self_report", args=[ow.site_a.pk])
    client.post(page_url, _form(ow, {"QI-01": "met"}))
    _move(ow.cycle, _days(-60), _days(-1))
    message = (f"This self-report closed on {_long(_days(-1))}. Ask the programme&#x27;s core "
               "team if you need the date moved.")
    page = client.get(page_url).content.decode()
    assert message in page and "nhsuk-warning-callout" in page
    assert "Save your answers" not in page and "Submit the self-report" not in page
    assert reverse("programmes:self_report_evidence_add", args=[ow.site_a.pk]) not in page
    assert "Your answers (not submitted)" in page
    entries = ActivityLog.objects.count()

    # A page opened before closing and sent after it: valid, invalid, submit, evidence.
    for url, data in ((page_url, _form(ow, ALL_MET, version=1)),
                      (page_url, _form(ow, ALL_MET, version=1, comment="x" * 3000)),
                      (reverse("programmes:self_report_submit", args=[ow.site_a.pk]), {}),
                      (reverse("programmes:self_report_evidence_add", args=[ow.site_a.pk]),
                       {"title": "Policy", "file": _evidence()})):
        response = client.post(url, data, follow=True)
        assert response.redirect_chain[-1][0] == page_url, url
        assert message in response.content.decode(), url
    report = SelfReport.objects.get()
    assert (report.status, report.version) == (SelfReport.Status.DRAFT, 1)
    assert dict(report.responses.values_list("indicator__code", "met")) == {"QI-01": True}
    assert not EvidenceDocument.objects.exists()
    assert ActivityLog.objects.count() == entries


def test_the_core_team_moving_the_closing_date_reopens_the_self_report(ow, client_for):
    _move(ow.cycle, _days(-60), _days(-1))
    page_url = reverse("programmes:site_self_report", args=[ow.site_a.pk])
    edit = reverse("programmes:self_report_cycle_edit", args=[ow.programme.pk, ow.cycle.pk])
    core = client_for(ow.core)
    assert edit in core.get(page_url).content.decode()  # the core team is shown the way
    response = core.post(edit, {"name": "2026/27", "opens_on": _days(-60).isoformat(),
                                "closes_on": _days(-61).isoformat()})
    assert "closing date must be on or after the opening date" in response.content.decode()
    assert core.post(edit, {"name": "2026/27", "opens_on": _days(-60).isoformat(),
                            "closes_on": _days(7).isoformat()}).status_code == 302
    ow.cycle.refresh_from_db()
    assert ow.cycle.closes_on == _days(7)
    entry = ActivityLog.objects.get(verb="self_report_cycle.updated")
    assert entry.data["from"]["closes_on"] == _days(-1).isoformat()
    assert entry.data["to"]["closes_on"] == _days(7).isoformat()

    lead = client_for(ow.lead)
    assert "Save your answers" in lead.get(page_url).content.decode()
    assert lead.post(page_url, _form(ow, ALL_MET)).status_code == 302
    lead.post(reverse("programmes:self_report_submit", args=[ow.site_a.pk]))
    assert SelfReport.objects.get().status == SelfReport.Status.SUBMITTED


def test_a_report_reopened_after_closing_may_be_changed_and_resubmitted(ow, client_for):
    report = _submitted(ow, ow.site_a, {})
    _move(ow.cycle, _days(-60), _days(-1))
    assert client_for(ow.core).post(
        reverse("programmes:self_report_reopen", args=[report.pk])).status_code == 302
    report.refresh_from_db()
    assert report.reopened_at is not None
    lead = client_for(ow.lead)
    page_url = reverse("programmes:site_self_report", args=[ow.site_a.pk])
    page = lead.get(page_url).content.decode()
    assert "The core team reopened this self-report for changes" in page
    assert "Save your answers" in page
    assert lead.post(page_url, _form(ow, ALL_MET, version=report.version)).status_code == 302
    assert report.responses.get(indicator__code="GP-02").met is False
    lead.post(reverse("programmes:self_report_submit", args=[ow.site_a.pk]))
    report.refresh_from_db()
    assert (report.status, report.reopened_at) == (SelfReport.Status.SUBMITTED, None)
    # Resubmitted: it is closed to the service again, like any other.
    assert "closed on" in services.self_report_closed_reason(cycle=ow.cycle, report=report)
    # Another service that never submitted is still held to the date.
    with pytest.raises(ValidationError, match="closed on"):
        services.self_report_save(cycle=ow.cycle, site=ow.site_b, user=ow.other,
                                  answers={ow.indicators[0].pk: (True, "")})


def test_the_core_team_still_imports_and_reads_results_after_closing(ow, client_for):
    _move(ow.cycle, _days(-60), _days(-1))
    rows = [f"AAA-1,{i.code},yes," for i in ow.indicators]
    assert services.self_report_import(cycle=ow.cycle, user=ow.core, uploaded=_csv(rows)) == 1
    page = client_for(ow.core).get(reverse(
        "programmes:self_report_results", args=[ow.programme.pk, ow.cycle.pk])).content.decode()
    assert f"Closed on {_long(_days(-1))}" in page and "1 of 2 services submitted" in page


def test_lists_say_closed_or_not_open_yet(ow, client_for):
    _move(ow.cycle, _days(-60), _days(-1))
    SelfReportCycle.objects.create(programme=ow.programme, name="2027/28",
                                   opens_on=_days(5), closes_on=_days(60))
    page = client_for(ow.core).get(
        reverse("programmes:self_report_cycles", args=[ow.programme.pk])).content.decode()
    def year_cell(name):
        return re.search(rf"Year </span>{name}(.*?)</td>", page).group(1)
    assert "Not open yet" in year_cell("2027/28") and "Closed" not in year_cell("2027/28")
    assert ">Closed<" in year_cell("2026/27") and "Not open yet" not in year_cell("2026/27")
    page = client_for(ow.lead).get(
        reverse("programmes:site_self_report", args=[ow.site_a.pk])).content.decode()
    assert f"The next self-report, 2027/28, opens on {_long(_days(5))}" in page
    # Before any self-report has opened, the service is told when the first one opens.
    SelfReportCycle.objects.filter(name="2026/27").delete()
    page = client_for(ow.lead).get(
        reverse("programmes:site_self_report", args=[ow.site_a.pk])).content.decode()
    assert f"Not open yet. The self-report 2027/28 opens on {_long(_days(5))}" in page


# --- results, decisions link, filters --------------------------------------------------------


def test_results_list_every_service_with_filters_kept_in_the_url(ow, client_for):
    flagged = _submitted(ow, ow.site_a, {"QI-01": False})
    url = reverse("programmes:self_report_results", args=[ow.programme.pk, ow.cycle.pk])
    client = client_for(ow.core)
    page = client.get(url).content.decode()
    assert "AAA-1" in page and "BBB-1" in page and "Not started" in page
    decision_url = reverse("programmes:surveillance_decision", args=[flagged.pk])
    assert decision_url in page and "Record a decision" in page
    assert "BBB-1" not in client.get(url + "?show=flagged").content.decode()
    SurveillanceDecision.objects.create(report=flagged, routine=True, risk_level="low",
                                        rationale="Known", decided_by=ow.core)
    page = client.get(url + "?show=needs_decision").content.decode()
    assert "AAA-1" not in page and "No services to show" in page
    assert "Routine surveillance (low risk)" in client.get(url).content.decode()
    # A filter that makes no sense shows everything.
    assert "BBB-1" in client.get(url + "?show=nonsense").content.decode()


# --- import ----------------------------------------------------------------------------------


def _csv(rows: list[str]) -> SimpleUploadedFile:
    text = "service_code,indicator_code,met,comment\n" + "\n".join(rows) + "\n"
    return SimpleUploadedFile("answers.csv", text.encode())


def test_import_submits_on_the_services_behalf(ow, client_for):
    url = reverse("programmes:self_report_import", args=[ow.programme.pk, ow.cycle.pk])
    rows = ["aaa-1,QI-01,yes,Weekly", "AAA-1,QI-02,Met,", "AAA-1,GP-01,not met,",
            "AAA-1,GP-02,NO,"]
    assert client_for(ow.core).post(url, {"file": _csv(rows)}).status_code == 302
    report = SelfReport.objects.get(site=ow.site_a)
    assert report.status == SelfReport.Status.SUBMITTED and report.submitted_by == ow.core
    assert report.responses.get(indicator__code="QI-01").comment == "Weekly"
    assert list(report.responses.order_by("indicator__code").values_list("met", flat=True)) \
        == [False, False, True, True]
    assert ActivityLog.objects.filter(verb="self_report.imported").exists()


def test_a_bad_import_names_row_and_column_and_writes_nothing(ow, client_for):
    url = reverse("programmes:self_report_import", args=[ow.programme.pk, ow.cycle.pk])
    rows = ["AAA-1,QI-01,perhaps,", "ZZZ-9,QI-02,yes,", "AAA-1,QI-99,yes,",
            "AAA-1,QI-01,yes,"]
    page = client_for(ow.core).post(url, {"file": _csv(rows)}).content.decode()
    assert "Nothing was imported" in page
    assert "Row 2, column “met”: “perhaps” must be yes, no, met or not met." in page
    assert "Row 3, column “service_code”" in page
    assert "Row 4, column “indicator_code”" in page
    assert not SelfReport.objects.exists() and not IndicatorResponse.objects.exists()


def test_import_refuses_a_service_missing_indicators(ow):
    upload = _csv(["AAA-1,QI-01,yes,"])
    with pytest.raises(services.ImportFailed) as failure:
        services.self_report_import(cycle=ow.cycle, user=ow.core, uploaded=upload)
    assert "has no row for AAA-1 and GP-01, GP-02, QI-02" in str(failure.value.errors[0])


def test_the_import_template_lists_every_service_and_indicator(ow, client_for):
    response = client_for(ow.core).get(reverse(
        "programmes:self_report_import_template", args=[ow.programme.pk, ow.cycle.pk]))
    lines = response.content.decode().splitlines()
    assert lines[0] == "service_code,indicator_code,met,comment"
    assert len(lines) == 1 + 2 * 4 and "AAA-1,QI-01,," in lines


# --- regional hubs ---------------------------------------------------------------------------


def test_adding_a_hub_takes_existing_accounts_by_email(ow, client_for):
    client = client_for(ow.core)
    url = reverse("programmes:hub_add", args=[ow.programme.pk])
    response = client.post(url, {"name": "North hub", "sites": [ow.site_b.pk],
                                 "members": "nobody@nhs.example"})
    assert "No account uses nobody@nhs.example" in response.content.decode()
    assert not RegionalHub.objects.filter(name="North hub").exists()
    response = client.post(url, {"name": "North hub", "region": "north_west",
                                 "sites": [ow.site_b.pk],
                                 "members": f"HUB@nhs.example\n{ow.other.email}"})
    assert response.status_code == 302
    hub = RegionalHub.objects.get(name="North hub")
    assert list(hub.sites.all()) == [ow.site_b]
    assert set(hub.memberships.values_list("user", flat=True)) == {ow.hub_member.pk,
                                                                   ow.other.pk}
    edit = reverse("programmes:hub_edit", args=[ow.programme.pk, hub.pk])
    client.post(edit, {"name": "North hub", "sites": [ow.site_b.pk], "members": ""})
    assert not hub.memberships.exists()


def test_a_hub_member_lands_on_a_list_of_their_hubs(ow, client_for):
    response = client_for(ow.hub_member).get(reverse("programmes:home"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Your regional hubs" in page
    assert reverse("programmes:hub_results", args=[ow.hub.pk]) in page
    # Someone with one site and a hub chooses too.
    RegionalHubMembership.objects.create(hub=ow.hub, user=ow.lead)
    assert client_for(ow.lead).get(reverse("programmes:home")).status_code == 200


# --- query budgets ---------------------------------------------------------------------------


def _more_services(ow, n: int) -> None:
    for i in range(n):
        site = _service(ow.programme)
        ow.hub.sites.add(site)
        report = _submitted(ow, site, {"QI-01": i % 2 == 0})
        EvidenceDocument.objects.create(report=report, title=f"Doc {i}", file="evidence/x.pdf",
                                        filename="x.pdf", size=3, uploaded_by=ow.core)
        if i % 2:
            SurveillanceDecision.objects.create(report=report, routine=True, risk_level="low",
                                                rationale="x", decided_by=ow.core)
        QualityIndicator.objects.create(programme=ow.programme, standard=ow.standards[i % 2],
                                        code=f"X-{i}", title="More", kind=GOOD)


@pytest.mark.parametrize("name", ["results", "hub", "site", "indicators", "hubs"])
def test_pages_query_counts_do_not_grow_with_rows(ow, client_for, name,
                                                  django_assert_max_num_queries):
    urls = {
        "results": (ow.core, reverse("programmes:self_report_results",
                                     args=[ow.programme.pk, ow.cycle.pk])),
        "hub": (ow.hub_member, reverse("programmes:hub_results", args=[ow.hub.pk])),
        "site": (ow.lead, reverse("programmes:site_self_report", args=[ow.site_a.pk])),
        "indicators": (ow.core, reverse("programmes:quality_indicators",
                                        args=[ow.programme.pk])),
        "hubs": (ow.core, reverse("programmes:hubs", args=[ow.programme.pk])),
    }
    person, url = urls[name]
    client = client_for(person)
    _submitted(ow, ow.site_a, {})
    client.get(url)  # sessions and caches warmed
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    _more_services(ow, 6)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(url).status_code == 200
    assert len(small.captured_queries) <= 25
