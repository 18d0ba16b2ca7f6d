"""A plan's content_version, and its programme's plans_version, change with every change to
the plan or its parts (qips.services.versions), so what is cached under them is never stale.

Each change is made through the real services, as the pages make it. The site journey's plan
cards are cached under the version: after each change the card served must equal one
rendered from scratch, from the database.
"""

import datetime

import pytest
from django.core.cache import cache
from django.db import transaction

from ilcop.activity import log_action
from ilcop.privacy import person_anonymise
from programmes.models import Programme
from qips import journey
from qips.models import (
    Barrier,
    Driver,
    Measure,
    MeasureRebase,
    PdsaCycle,
    PlanRole,
    QualityImprovementPlan,
)
from qips.services import measurements as measurement_services
from qips.services.parts import (
    part_delete,
    part_save,
    pdsa_complete,
    progress_update_save,
    support_record,
)
from qips.services.plans import plan_transition, plan_update, review_comment_add
from visits.models import FocusArea, Visit

pytestmark = pytest.mark.usefixtures("private_cache")


def give_parts(plan, lead):
    """The plan with a driver tree down to one change idea, and a monthly measure with a
    year of data from 2024 entered through the services; read again from the database."""
    primary = Driver.objects.create(plan=plan, kind="primary", text="Driver")
    Driver.objects.create(plan=plan, kind="change_idea", text="Idea", parent=Driver
                          .objects.create(plan=plan, kind="secondary", text="S",
                                          parent=primary))
    measure = part_save(plan=plan, user=lead, model=Measure, kind="outcome",
                        name="Seen in two weeks", numerator="Seen", denominator="Referred",
                        data_source="Log", direction="increase", frequency="monthly",
                        target=80, chart="xmr")
    rows = "\n".join(f"2024-{month:02d}\t{10 + month % 4}\t20" for month in range(1, 13))
    measurement_services.measurements_paste(measure=measure, user=lead, text=rows)
    return QualityImprovementPlan.objects.get(pk=plan.pk)


@pytest.fixture
def plan(programme, site, lead, core):
    plan = QualityImprovementPlan.objects.create(
        programme=programme, site=site, title="Faster diagnosis", status="in_progress",
        aim_what="Faster diagnosis for more patients", created_by=lead)
    return give_parts(plan, lead)


def versions(plan) -> tuple:
    plan = QualityImprovementPlan.objects.get(pk=plan.pk)
    return plan.content_version, Programme.objects.get(pk=plan.programme_id).plans_version


def cards(programme, site) -> list[str]:
    """The journey's parts made from the site's plans (the summary's plan rows, the plans'
    cards, their progress updates, the support given), as the page gets them."""
    part = journey.site_journey(programme, site).plans_part
    return [part.summary, part.cards, part.progress, part.support]


def cards_from_scratch(programme, site) -> list[str]:
    cache.clear()
    return cards(programme, site)


def idea(plan):
    return plan.drivers.get(kind="change_idea")


# Each change a plan's people make, through the service the page calls.
CHANGES = {
    "data entered": lambda plan, lead, core: measurement_services.measurements_paste(
        measure=plan.measures.get(), user=lead, text="2025-01\t19\t20"),
    "measure renamed": lambda plan, lead, core: part_save(
        plan=plan, user=lead, model=Measure, instance=plan.measures.get(),
        name="Seen within 14 days"),
    "measure added": lambda plan, lead, core: part_save(
        plan=plan, user=lead, model=Measure, kind="process", name="Clinics held",
        numerator="Clinics", denominator="", data_source="Rota", direction="increase",
        frequency="monthly", chart="run"),
    "chart rebased": lambda plan, lead, core: part_save(
        plan=plan, user=lead, model=MeasureRebase, measure=plan.measures.get(),
        starts_on=datetime.date(2024, 7, 1), reason="New pathway"),
    "PDSA cycle added": lambda plan, lead, core: part_save(
        plan=plan, user=lead, model=PdsaCycle, change_idea=idea(plan), title="Test one",
        question="q", prediction="p", started_on=datetime.date(2024, 5, 1)),
    "barrier asks for help": lambda plan, lead, core: part_save(
        plan=plan, user=lead, model=Barrier, kind="data", description="No access",
        raised_on=datetime.date(2025, 1, 5), help_needed="An introduction to the CIO"),
    "role added": lambda plan, lead, core: part_save(
        plan=plan, user=lead, model=PlanRole, person="Ada Okafor", job_title="CNS",
        responsibility="Runs the clinic"),
    "driver removed": lambda plan, lead, core: part_delete(
        plan=plan, user=lead, instance=idea(plan)),
    "progress update": lambda plan, lead, core: progress_update_save(
        plan=plan, user=lead, month=datetime.date(2025, 2, 1), done="Ran the clinic",
        new_data="", barriers="", help_needed="", rag="red"),
    "support recorded": lambda plan, lead, core: support_record(
        plan=plan, user=core, kind="call", given_on=datetime.date(2025, 2, 3),
        notes="Talked through run charts"),
    "aim edited": lambda plan, lead, core: plan_update(
        plan=plan, user=lead, aim_what="Diagnosis within two weeks", version=plan.version),
    "put on hold": lambda plan, lead, core: plan_transition(
        plan=plan, action="hold", user=lead, as_core=False),
    "review comment": lambda plan, lead, core: review_comment_add(
        plan=plan, user=core, field="general", text="Say who runs the clinic"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_every_change_replaces_the_versions_and_the_card(change, plan, programme, site, lead,
                                                         core):
    before = versions(plan)
    cached = cards(programme, site)  # drawn now, and cached
    assert cards(programme, site) == cached
    CHANGES[change](plan, lead, core)
    after = versions(plan)
    assert after[0] != before[0], "the plan's content_version"
    assert after[1] != before[1], "the programme's plans_version"
    served = cards(programme, site)
    assert served == cards_from_scratch(programme, site)


def test_the_card_shows_what_changed(plan, programme, site, lead):
    cards(programme, site)
    measurement_services.measurements_paste(measure=plan.measures.get(), user=lead,
                                            text="2025-01\t19\t20")
    part_save(plan=plan, user=lead, model=Barrier, kind="data", description="No access",
              raised_on=datetime.date(2025, 1, 5), help_needed="An introduction to the CIO")
    progress_update_save(plan=plan, user=lead, month=datetime.date(2025, 2, 1),
                         done="Ran the first clinic", new_data="", barriers="",
                         help_needed="", rag="red")
    summary, card, updates, _support = cards(programme, site)
    assert "February 2025, for “Faster diagnosis”" in summary
    assert "January 2025" in card  # the latest data
    assert "An introduction to the CIO" in card
    assert "February 2025" in card and "Ran the first clinic" in updates


def test_a_pdsa_cycle_completed_is_counted(plan, programme, site, lead):
    cycle = part_save(plan=plan, user=lead, model=PdsaCycle, change_idea=idea(plan),
                      title="Test one", question="q", prediction="p",
                      started_on=datetime.date(2024, 5, 1), what_happened="Ran it",
                      results="As predicted", decision="adopt", decision_reason="It worked")
    assert "1, 0 complete" in cards(programme, site)[1]
    assert "No progress updates yet" in cards(programme, site)[2]
    pdsa_complete(cycle=cycle, user=lead, completed_on=datetime.date(2024, 6, 1))
    assert "1, 1 complete" in cards(programme, site)[1]
    assert cards(programme, site) == cards_from_scratch(programme, site)


def test_an_entry_about_something_else_changes_no_plan(plan, programme, site, core):
    before = versions(plan)
    log_action(site, "site.updated", actor=core, summary="Changed the site",
               scopes=[programme])
    assert versions(plan) == before


def test_only_the_plan_changed_gets_a_new_version(plan, programme, site, lead):
    other = QualityImprovementPlan.objects.create(programme=programme, site=site, title="Other")
    before = QualityImprovementPlan.objects.get(pk=other.pk).content_version
    part_save(plan=plan, user=lead, model=PlanRole, person="Ada Okafor", job_title="CNS",
              responsibility="Runs the clinic")
    assert QualityImprovementPlan.objects.get(pk=other.pk).content_version == before


def test_the_callers_copy_gets_the_new_version_so_saving_it_cannot_undo_it(plan, lead):
    part_save(plan=plan, user=lead, model=PlanRole, person="Ada Okafor", job_title="CNS",
              responsibility="Runs the clinic")
    plan.save()  # a whole-row save of the instance the service was given
    assert versions(plan)[0] == plan.content_version


def test_a_change_rolled_back_leaves_the_versions(plan, lead):
    before = versions(plan)
    with pytest.raises(RuntimeError), transaction.atomic():
        part_save(plan=plan, user=lead, model=PlanRole, person="Ada Okafor", job_title="CNS",
                  responsibility="Runs the clinic")
        raise RuntimeError("the request failed after the change")
    assert versions(plan) == before


def test_a_focus_area_renamed_outside_the_plan_redraws_its_card(plan, programme, site,
                                                                 other_site):
    visit = Visit.objects.create(programme=programme, host=site, visitor=other_site,
                                 date=datetime.date(2026, 3, 4))
    area = FocusArea.objects.create(visit=visit, title="Faster diagnosis")
    QualityImprovementPlan.objects.filter(pk=plan.pk).update(focus_area=area)
    assert "The focus area “Faster diagnosis”" in cards(programme, site)[1]
    FocusArea.objects.filter(pk=area.pk).update(title="Quicker diagnosis")
    Visit.objects.filter(pk=visit.pk).update(date=datetime.date(2026, 3, 11))
    card = cards(programme, site)[1]
    assert "The focus area “Quicker diagnosis”, agreed at the visit on 11 Mar 2026" in card


def test_anonymising_someone_named_in_a_plan_replaces_its_version(plan, programme, site, lead,
                                                                  core, django_user_model):
    progress_update_save(plan=plan, user=lead, month=datetime.date(2025, 2, 1),
                         done="Ran the clinic", new_data="", barriers="", help_needed="",
                         rag="green")
    before = versions(plan)
    person_anonymise(user=lead, by=core)
    assert versions(plan)[0] != before[0]
