"""Quality improvement plans: from a visit's focus area, through review, to PDSA cycles and
charts."""

import datetime

import pytest

from ilcop.models import ActivityLog
from programmes.models import Indicator
from qips.models import Driver, Measure, Measurement, PdsaCycle, QualityImprovementPlan
from qips.services import parts as part_services
from qips.services import plans as services
from visits.models import FocusArea, Visit

from .mfa import give_totp
from .pdf import pdf_text


@pytest.fixture
def visit(programme, site, other_site):
    return Visit.objects.create(programme=programme, host=site, visitor=other_site,
                                status=Visit.Status.HAPPENED, date=datetime.date(2026, 9, 2))


@pytest.fixture
def focus_area(visit, lead):
    return FocusArea.objects.create(visit=visit, title="CNS at diagnosis",
                                    description="Too few patients see a CNS when told.",
                                    owner=lead, created_by=lead)


@pytest.fixture
def plan(focus_area, lead):
    plan, _ = services.plan_from_focus_area(focus_area=focus_area, user=lead)
    return plan


def fill_in(plan, user):
    services.plan_update(plan=plan, user=user, problem_statement="Only 55% see a CNS.",
                         aim_what="Patients told with a CNS present",
                         aim_how_much="from 55% to 85%", aim_for_whom="our patients",
                         aim_by_when=datetime.date(2027, 3, 31))
    return part_services.part_save(
        plan=plan, user=user, model=Measure, kind="outcome", name="CNS present",
        numerator="Patients told with a CNS present", denominator="Patients told",
        data_source="Clinic log", direction="increase", frequency="monthly", baseline=55,
        target=85, chart="xmr")


def a_change_idea(plan, user) -> Driver:
    """A primary driver, a secondary driver under it and a change idea under that."""
    primary = part_services.part_save(plan=plan, user=user, model=Driver, kind="primary",
                                      text="Nurse availability")
    secondary = part_services.part_save(plan=plan, user=user, model=Driver, kind="secondary",
                                        text="Clinic booking", parent=primary)
    return part_services.part_save(plan=plan, user=user, model=Driver, kind="change_idea",
                                   text="Book into the CNS diary", parent=secondary)


def test_a_focus_area_becomes_a_draft_plan_once(as_core, client_for, lead, focus_area, site):
    client = client_for(lead)
    first = client.post(f"/focus-areas/{focus_area.pk}/qip/")
    second = client.post(f"/focus-areas/{focus_area.pk}/qip/")
    plan = QualityImprovementPlan.objects.get()
    assert first["Location"] == f"/qips/{plan.pk}/edit/"
    assert second["Location"] == f"/qips/{plan.pk}/"
    assert plan.site == site and plan.status == "draft"
    assert plan.title == "CNS at diagnosis"
    assert plan.problem_statement == "Too few patients see a CNS when told."


def test_only_the_host_team_starts_a_plan_from_its_focus_area(client_for, other_lead,
                                                             outsider, focus_area, as_core):
    # The visiting team and the core team see the focus area, so they are refused (403);
    # anyone else is told nothing (404).
    assert focus_area.visit.visitor.memberships.filter(user=other_lead).exists()
    assert client_for(other_lead).post(f"/focus-areas/{focus_area.pk}/qip/").status_code == 403
    assert as_core.post(f"/focus-areas/{focus_area.pk}/qip/").status_code == 403
    assert client_for(outsider).post(f"/focus-areas/{focus_area.pk}/qip/").status_code == 404
    assert not QualityImprovementPlan.objects.exists()


def test_the_review_cycle(plan, lead, core, client_for, as_core):
    team = client_for(lead)
    fill_in(plan, lead)
    assert team.post(f"/qips/{plan.pk}/move/submit/").status_code == 302
    plan.refresh_from_db()
    assert plan.status == "submitted"
    # The team cannot approve its own plan; the core team cannot submit it.
    team.post(f"/qips/{plan.pk}/move/approve/")
    plan.refresh_from_db()
    assert plan.status == "submitted"
    as_core.post(f"/qips/{plan.pk}/comments/", {"field": "measures",
                                               "text": "Add a balancing measure"})
    as_core.post(f"/qips/{plan.pk}/move/request_changes/", {"note": ""})
    plan.refresh_from_db()
    assert plan.status == "changes_requested"
    comment = plan.review_comments.get()
    team.post(f"/qips/{plan.pk}/comments/{comment.pk}/answer/",
              {"response": "Added days to diagnosis appointment"})
    comment.refresh_from_db()
    assert comment.response == "Added days to diagnosis appointment"
    team.post(f"/qips/{plan.pk}/move/submit/")
    plan.refresh_from_db()
    assert plan.status == "resubmitted"
    as_core.post(f"/qips/{plan.pk}/move/approve/")
    plan.refresh_from_db()
    assert plan.status == "approved"
    assert plan.commitment["aim"]["statement"] == plan.aim_statement
    assert plan.commitment["measures"][0]["target"] == 85
    verbs = list(ActivityLog.objects.filter(verb__startswith="qip.").values_list(
        "verb", flat=True))
    for verb in ("qip.submit", "qip.request_changes", "qip.approve", "qip.comment_answered"):
        assert verb in verbs


def test_a_plan_cannot_be_submitted_half_written(plan, client_for, lead):
    response = client_for(lead).post(f"/qips/{plan.pk}/move/submit/", follow=True)
    assert "Before submitting" in response.content.decode()
    plan.refresh_from_db()
    assert plan.status == "draft"


def test_asking_for_changes_needs_a_comment(plan, lead, as_core):
    fill_in(plan, lead)
    services.plan_transition(plan=plan, action="submit", user=lead, as_core=False)
    response = as_core.post(f"/qips/{plan.pk}/move/request_changes/", follow=True)
    assert "Say what should change" in response.content.decode()


def test_changing_the_aim_after_approval_is_visible(plan, lead, core, client_for):
    fill_in(plan, lead)
    services.plan_transition(plan=plan, action="submit", user=lead, as_core=False)
    services.plan_transition(plan=plan, action="approve", user=core, as_core=True)
    approved = plan.aim_statement
    services.plan_update(plan=plan, user=lead, aim_how_much="from 55% to 70%")
    page = client_for(lead).get(f"/qips/{plan.pk}/").content.decode()
    assert "The aim has changed since approval" in page
    assert approved in page
    assert ActivityLog.objects.filter(verb="qip.aim_changed").exists()


def test_smart_aim_and_measure_family_warnings(plan, client_for, lead):
    page = client_for(lead).get(f"/qips/{plan.pk}/").content.decode()
    assert "The aim has no number" in page
    assert "The aim has no date" in page
    assert "There is no outcome measure" in page
    assert "There is no balancing measure" in page


def test_a_pdsa_cycle_cannot_be_completed_with_a_stage_missing(plan, lead, client_for):
    idea = a_change_idea(plan, lead)
    cycle = part_services.part_save(plan=plan, user=lead, model=PdsaCycle, change_idea=idea,
                                    title="Diary test", question="Will booking work?",
                                    prediction="8 of 10 patients will have a CNS")
    client = client_for(lead)
    response = client.post(f"/qips/{plan.pk}/pdsa/{cycle.pk}/complete/", follow=True)
    assert "Still to write: Do (what happened); Study" in response.content.decode()
    cycle.refresh_from_db()
    assert cycle.completed_on is None
    part_services.part_save(plan=plan, user=lead, model=PdsaCycle, instance=cycle,
                            what_happened="Booked 10", results="9 of 10: better than predicted",
                            decision="adopt", decision_reason="It worked")
    client.post(f"/qips/{plan.pk}/pdsa/{cycle.pk}/complete/")
    cycle.refresh_from_db()
    assert cycle.completed_on is not None


def test_drivers_go_in_the_right_place(plan, client_for, lead):
    response = client_for(lead).post(f"/qips/{plan.pk}/drivers/add/",
                                     {"kind": "change_idea", "text": "Something"})
    assert "A change idea goes under a secondary driver" in response.content.decode()
    assert not Driver.objects.exists()


def test_pasted_data_appears_on_the_chart(plan, lead, client_for):
    measure = fill_in(plan, lead)
    rows = "\n".join(f"2025-{m:02d}\t{10 + m}\t40" for m in range(1, 13))
    client = client_for(lead)
    response = client.post(f"/qips/{plan.pk}/measures/{measure.pk}/data/",
                           {"how": "paste", "paste-rows": rows})
    assert response.status_code == 302
    assert Measurement.objects.filter(measure=measure).count() == 12
    page = client.get(f"/qips/{plan.pk}/").content.decode()
    assert 'id="measure-' in page and "<svg" in page


def test_a_bad_measurement_file_imports_nothing_and_names_row_and_column(plan, lead,
                                                                         client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    measure = fill_in(plan, lead)
    csv = "period,numerator,denominator\n2025-01,10,40\n2025-13,5,40\n2025-03,50,40\n"
    response = client_for(lead).post(
        f"/qips/{plan.pk}/measures/{measure.pk}/data/",
        {"how": "import", "import-file": SimpleUploadedFile("d.csv", csv.encode())})
    page = response.content.decode()
    assert "Nothing was imported" in page
    assert "Row 3, column “period”" in page
    assert "Row 4, column “numerator”: 50 is more than the denominator (40)" in page
    assert not Measurement.objects.exists()


def test_an_unshared_plan_is_not_found_by_other_sites(plan, client_for, other_lead,
                                                      other_core, outsider):
    for person in (other_lead, other_core, outsider):
        assert client_for(person).get(f"/qips/{plan.pk}/").status_code == 404


def test_a_shared_approved_plan_appears_in_the_library(plan, lead, core, client_for,
                                                       other_lead, programme):
    fill_in(plan, lead)
    services.plan_transition(plan=plan, action="submit", user=lead, as_core=False)
    services.plan_transition(plan=plan, action="approve", user=core, as_core=True)
    library = f"/programmes/{programme.pk}/library/"
    assert plan.title not in client_for(other_lead).get(library).content.decode()
    services.plan_update(plan=plan, user=lead, share_with_programme=True)
    assert plan.title in client_for(other_lead).get(library).content.decode()
    assert client_for(other_lead).get(f"/qips/{plan.pk}/").status_code == 200
    # Readers cannot change it.
    assert client_for(other_lead).get(f"/qips/{plan.pk}/edit/").status_code == 403


def test_the_library_search_reads_each_text_and_lists_a_plan_once(plan, lead, core,
                                                                   client_for, other_lead,
                                                                   programme):
    fill_in(plan, lead)
    a_change_idea(plan, lead)  # three drivers; two of them name the clinic
    services.plan_transition(plan=plan, action="submit", user=lead, as_core=False)
    services.plan_transition(plan=plan, action="approve", user=core, as_core=True)
    services.plan_update(plan=plan, user=lead, share_with_programme=True,
                         lessons_learned="Ring-fenced diary slots worked.")
    indicator, other = (
        Indicator.objects.create(programme=programme, code=code, name=name, order=order)
        for order, (code, name) in enumerate([("CNS", "CNS at diagnosis"),
                                              ("HISTO", "Histological confirmation")]))
    plan.indicators.add(indicator)
    library = f"/programmes/{programme.pk}/library/"
    client = client_for(other_lead)

    def found(**params) -> int:
        return client.get(library, params).content.decode().count(f'id="plan-{plan.pk}"')

    # Its title (from the focus area), aim, lessons and drivers' texts, in any case; a word
    # in two drivers and the lessons still gives one card.
    for word in ("CNS AT DIAGNOSIS", "patients told", "ring-fenced", "nurse availability",
                 "diary", "clinic"):
        assert found(query=word) == 1, word
    assert found(query="bronchoscopy") == 0
    assert found(query="diary", indicator=indicator.code) == 1
    assert found(query="diary", indicator=other.code) == 0
    assert found(query="diary", status="approved") == 1
    assert found(query="diary", status="completed") == 0


def test_the_write_up_pdf_holds_the_plan(plan, lead, client_for):
    fill_in(plan, lead)
    response = client_for(lead).get(f"/qips/{plan.pk}/report.pdf")
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "CNS at diagnosis" in text
    assert "from 55% to 85%" in text
    assert "CNS present" in text


# --- Fixes from the outside review ------------------------------------------------------------


def approved(plan, lead, core):
    measure = fill_in(plan, lead)
    services.plan_transition(plan=plan, action="submit", user=lead, as_core=False)
    services.plan_transition(plan=plan, action="approve", user=core, as_core=True)
    return measure


def test_editing_a_part_saves_it(plan, lead, client_for):
    measure = fill_in(plan, lead)
    client = client_for(lead)
    response = client.post(f"/qips/{plan.pk}/measures/{measure.pk}/edit/", {
        "kind": "outcome", "name": "CNS present when told", "numerator": "n",
        "denominator": "d", "frequency": "monthly", "data_source": "Clinic log",
        "direction": "increase", "baseline": "55", "target": "90", "chart": "xmr"})
    assert response.status_code == 302
    measure.refresh_from_db()
    assert measure.name == "CNS present when told" and measure.target == 90
    assert ActivityLog.objects.filter(verb="qip.part_changed").exists()


def test_a_pdsa_cycle_is_written_up_and_completed_in_the_browser_forms(plan, lead, client_for):
    idea = a_change_idea(plan, lead)
    cycle = part_services.part_save(plan=plan, user=lead, model=PdsaCycle, change_idea=idea,
                                    title="Test", question="Q?", prediction="8 of 10")
    client = client_for(lead)
    client.post(f"/qips/{plan.pk}/pdsa/{cycle.pk}/edit/", {
        "change_idea": idea.pk, "title": "Test", "question": "Q?", "prediction": "8 of 10",
        "what_happened": "Done with 10", "results": "9 of 10", "decision": "adopt",
        "decision_reason": "Better than predicted"})
    client.post(f"/qips/{plan.pk}/pdsa/{cycle.pk}/complete/")
    cycle.refresh_from_db()
    assert cycle.what_happened == "Done with 10" and cycle.completed_on is not None
    # Once run, the prediction is fixed, and a completed cycle is not edited.
    response = client.get(f"/qips/{plan.pk}/pdsa/{cycle.pk}/edit/")
    assert response.status_code == 302


def test_the_prediction_is_fixed_once_the_test_has_run(plan, lead, client_for):
    idea = a_change_idea(plan, lead)
    cycle = part_services.part_save(plan=plan, user=lead, model=PdsaCycle, change_idea=idea,
                                    title="Test", question="Q?", prediction="8 of 10",
                                    what_happened="Ran it")
    client_for(lead).post(f"/qips/{plan.pk}/pdsa/{cycle.pk}/edit/", {
        "change_idea": idea.pk, "title": "Test", "question": "Q?",
        "prediction": "10 of 10, as we always knew", "what_happened": "Ran it"})
    cycle.refresh_from_db()
    assert cycle.prediction == "8 of 10"


def test_dates_are_shown_in_date_inputs(plan, lead, client_for):
    fill_in(plan, lead)
    page = client_for(lead).get(f"/qips/{plan.pk}/edit/").content.decode()
    assert 'type="date" name="aim_by_when" value="2027-03-31"' in page


def test_a_driver_cannot_go_under_itself(plan, lead, client_for):
    primary = part_services.part_save(plan=plan, user=lead, model=Driver, kind="primary",
                                      text="P")
    secondary = part_services.part_save(plan=plan, user=lead, model=Driver, kind="secondary",
                                        text="S", parent=primary)
    page = client_for(lead).get(f"/qips/{plan.pk}/drivers/{secondary.pk}/edit/"
                                ).content.decode()
    assert f'value="{secondary.pk}"' not in page.split('name="parent"')[1].split("</select>")[0]


def test_limits_need_two_points_and_a_bad_chart_never_breaks_the_page(plan, lead, client_for):
    measure = fill_in(plan, lead)
    Measurement.objects.bulk_create(Measurement(
        measure=measure, period=datetime.date(2025, m, 1), numerator=10, denominator=40)
        for m in range(1, 6))
    client = client_for(lead)
    response = client.post(f"/qips/{plan.pk}/measures/{measure.pk}/edit/", {
        "kind": "outcome", "name": "CNS present", "numerator": "n", "denominator": "d",
        "frequency": "monthly", "data_source": "log", "direction": "increase",
        "chart": "xmr", "baseline_points": "1"})
    assert "Ensure this value is greater than or equal to 2" in response.content.decode()
    Measure.objects.filter(pk=measure.pk).update(baseline_points=1)
    assert client.get(f"/qips/{plan.pk}/").status_code == 200
    assert client.get(f"/qips/{plan.pk}/report.pdf").status_code == 200


@pytest.mark.parametrize(("rows", "message"), [
    ("0000-01\t1\t2", "check the year"),
    ("2025-01\t1e20\t2", "is not a whole number of patients"),
    ("2025-01\t1\t-2", "is not a whole number of patients"),
])
def test_nonsense_pasted_data_is_refused_with_a_message(plan, lead, client_for, rows, message):
    measure = fill_in(plan, lead)
    response = client_for(lead).post(f"/qips/{plan.pk}/measures/{measure.pk}/data/",
                                     {"how": "paste", "paste-rows": rows})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Measurement.objects.exists()


def test_huge_values_are_refused(plan, lead):
    from qips.services import measurements

    measure = part_services.part_save(
        plan=plan, user=lead, model=Measure, kind="process", name="Days", numerator="Days",
        data_source="log", direction="decrease")
    with pytest.raises(measurements.ImportFailed) as failure:
        measurements.measurements_paste(measure=measure, user=lead, text="2025-01\t1e308")
    assert "is not a number the chart can use" in str(failure.value.errors[0])


def test_excel_date_cells_are_periods(plan, lead):
    from qips.services.measurements import parse_period

    assert parse_period("2025-03-01 00:00:00", "monthly") == datetime.date(2025, 3, 1)


def test_a_second_rebase_on_the_same_date_gets_a_message(plan, lead, client_for):
    measure = fill_in(plan, lead)
    client = client_for(lead)
    url = f"/qips/{plan.pk}/measures/{measure.pk}/data/"
    data = {"how": "rebase", "rebase-starts_on": "2025-06-01", "rebase-reason": "New clinic"}
    client.post(url, data)
    response = client.post(url, data)
    assert "already rebased from that date" in response.content.decode()


def test_the_core_team_cannot_make_the_teams_moves(plan, lead, core, as_core):
    fill_in(plan, lead)
    as_core.post(f"/qips/{plan.pk}/move/submit/")
    plan.refresh_from_db()
    assert plan.status == "draft"


def test_nobody_approves_their_own_teams_plan(plan, lead, core, client_for, programme):
    from programmes.models import CoreTeamMembership

    fill_in(plan, lead)
    services.plan_transition(plan=plan, action="submit", user=lead, as_core=False)
    CoreTeamMembership.objects.create(programme=programme, user=lead, role="qi_facilitator")
    give_totp(lead)  # so the refusal comes from the plan's rule, not from the two-step sign-in
    response = client_for(lead).post(f"/qips/{plan.pk}/move/approve/")
    assert response.status_code == 302
    assert response["Location"] == f"/qips/{plan.pk}/"
    plan.refresh_from_db()
    assert plan.status == "submitted"


def test_a_completed_plan_takes_no_more_data_or_updates(plan, lead, core, client_for):
    measure = approved(plan, lead, core)
    for action in ("start", "complete"):
        services.plan_transition(plan=plan, action=action, user=lead, as_core=False)
    client = client_for(lead)
    client.post(f"/qips/{plan.pk}/measures/{measure.pk}/data/",
                {"how": "paste", "paste-rows": "2025-01\t1\t2"})
    client.post(f"/qips/{plan.pk}/progress/", {"month": "2025-01", "done": "x",
                                               "rag": "green"})
    assert not Measurement.objects.exists()
    assert not plan.progress_updates.exists()


def test_planned_and_achieved_are_shown_side_by_side(plan, lead, core, client_for):
    measure = approved(plan, lead, core)
    Measurement.objects.create(measure=measure, period=datetime.date(2026, 6, 1),
                               numerator=36, denominator=40)
    part_services.part_save(plan=plan, user=lead, model=Measure, instance=measure, target=70)
    page = " ".join(client_for(lead).get(f"/qips/{plan.pk}/").content.decode().split())
    assert "Planned and achieved" in page
    assert "85%" in page and "90%" in page  # committed target, latest figure
    assert "Changed since approval" in page


def test_control_arm_sites_do_not_read_the_library(plan, lead, core, client_for, programme):
    from programmes.models import Enrolment

    from .factories import EnrolmentFactory, SiteMembershipFactory

    approved(plan, lead, core)
    services.plan_update(plan=plan, user=lead, share_with_programme=True)
    control = EnrolmentFactory(programme=programme, status=Enrolment.Status.CONTROL).site
    control_lead = SiteMembershipFactory(site=control, role="clinical_lead").user
    client = client_for(control_lead)
    assert client.get(f"/programmes/{programme.pk}/library/").status_code == 404
    assert client.get(f"/qips/{plan.pk}/").status_code == 404


def test_the_visiting_team_follows_a_plan_shared_with_it(plan, lead, other_lead, client_for):
    client = client_for(other_lead)
    assert client.get(f"/qips/{plan.pk}/").status_code == 404
    services.plan_update(plan=plan, user=lead, share_with_partner=True)
    assert client.get(f"/qips/{plan.pk}/").status_code == 200


def test_sustainability_needs_a_permanent_owner(plan, lead, client_for):
    page = client_for(lead).get(f"/qips/{plan.pk}/").content.decode()
    assert "No permanent member of staff owns sustaining the change" in page
    from qips.models import PlanRole
    from qips.services.parts import part_save

    # Through the service the page calls: the page's parts are cached under the plan's
    # content_version, which every change logged under the plan replaces.
    part_save(plan=plan, user=lead, model=PlanRole, person="Sam Manager",
              responsibility="Owns it", permanent_staff=True, owns_sustainability=True)
    page = client_for(lead).get(f"/qips/{plan.pk}/").content.decode()
    assert "No permanent member of staff owns sustaining the change" not in page


def test_library_readers_see_results_not_working_notes(plan, lead, core, client_for,
                                                       other_lead):
    approved(plan, lead, core)
    services.plan_update(plan=plan, user=lead, share_with_programme=True)
    part_services.progress_update_save(plan=plan, user=lead, month=datetime.date(2026, 1, 1),
                                       done="Chased the consultant", rag="red",
                                       help_needed="Need a word with the CEO")
    page = client_for(other_lead).get(f"/qips/{plan.pk}/").content.decode()
    assert "Need a word with the CEO" not in page
    assert plan.aim_statement in page
