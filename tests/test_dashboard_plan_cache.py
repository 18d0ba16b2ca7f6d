"""The dashboard counts the programme's plans from their health rows (qips.selectors
.plans_health), cached under the programme's plans_version and the day. The reasons are
worked out from the rows at each request, so "quiet for six weeks" is exact to the second.

Each change is made through the real services, as the pages make it: after each, the counts
served must equal those worked out with an empty cache, and those of the plans list the
numbers link to (programme_plans).
"""

import datetime
import re
from collections import Counter

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from programmes.models import Programme
from qips import selectors
from qips.models import QualityImprovementPlan
from qips.services import measurements as measurement_services
from qips.services.parts import progress_update_save
from qips.services.plans import plan_create, plan_transition

from .test_plan_versions import CHANGES, give_parts

pytestmark = pytest.mark.usefixtures("private_cache")

START = datetime.datetime(2026, 3, 2, 9, tzinfo=datetime.UTC)


def active_plan(programme, site, lead, title="Faster diagnosis"):
    """A plan started through plan_create and put in progress (the approval's steps are not
    the point here), with a monthly measure whose data stopped in 2024."""
    plan = plan_create(programme=programme, site=site, user=lead, title=title)
    QualityImprovementPlan.objects.filter(pk=plan.pk).update(status="in_progress")
    plan = QualityImprovementPlan.objects.get(pk=plan.pk)
    return give_parts(plan, lead)


@pytest.fixture
def plan(programme, site, lead):
    return active_plan(programme, site, lead)


def summary(programme) -> selectors.PlanSummary:
    # Read again, as each request reads it: its plans_version is the cache's key.
    return selectors.plan_summary(Programme.objects.get(pk=programme.pk))


def summary_from_scratch(programme) -> selectors.PlanSummary:
    cache.clear()
    return summary(programme)


def listed(programme) -> tuple:
    """The plans list's rows counted as the dashboard counts them."""
    rows = selectors.programme_plans(programme)
    by_reason = Counter(code for row in rows for code in row.codes)
    return (dict(Counter(row.plan.status for row in rows)), len(rows),
            {code: by_reason[code] for code in selectors.REASONS},
            {code: len({row.plan.site_id for row in rows if code in row.codes})
             for code in selectors.REASONS},
            sum(1 for row in rows if row.codes))


def counted(s: selectors.PlanSummary) -> tuple:
    return s.by_status, s.total, s.by_reason, s.sites_by_reason, s.needing_help


def plan_created(plan, lead, core):
    plan_create(programme=plan.programme, site=plan.site, user=lead, title="Another plan")


def recent_data(plan, lead, core):
    month = timezone.localdate().replace(day=1)
    measurement_services.measurements_paste(measure=plan.measures.get(), user=lead,
                                            text=f"{month:%Y-%m}\t19\t20")


def update_asks_for_help(plan, lead, core):
    progress_update_save(plan=plan, user=lead, month=timezone.localdate(), done="Ran it",
                         new_data="", barriers="", help_needed="A data analyst", rag="amber")


def approved(plan, lead, core):
    """A submitted plan approved by the core team: its status moves between the counts."""
    QualityImprovementPlan.objects.filter(pk=plan.pk).update(status="submitted")
    plan_transition(plan=QualityImprovementPlan.objects.get(pk=plan.pk), action="approve",
                    user=core, as_core=True)


MORE = {"plan created": plan_created, "recent data entered": recent_data,
        "update asks for help": update_asks_for_help}


@pytest.mark.parametrize("change", [*CHANGES, *MORE])
def test_every_change_through_the_services_is_counted(change, plan, programme, lead, core):
    cached = summary(programme)  # worked out now, and cached
    assert summary(programme) == cached
    assert counted(cached) == listed(programme)
    (CHANGES | MORE)[change](plan, lead, core)
    served = summary(programme)
    assert served == summary_from_scratch(programme)
    assert counted(served) == listed(programme)


def test_the_counts_show_what_changed(plan, programme, lead, core):
    assert summary(programme).by_reason["no_data"] == 1
    recent_data(plan, lead, core)
    update_asks_for_help(plan, lead, core)
    plan_created(plan, lead, core)
    counts = summary(programme)
    assert counts.by_reason["no_data"] == 0
    assert counts.by_reason["update_help"] == 1
    assert counts.by_status == {"in_progress": 1, "draft": 1} and counts.total == 2


def test_a_status_transition_moves_the_plan_between_the_counts(plan, programme, lead, core):
    QualityImprovementPlan.objects.filter(pk=plan.pk).update(status="submitted")
    assert summary_from_scratch(programme).by_status == {"submitted": 1}
    approved(plan, lead, core)
    assert summary(programme).by_status == {"approved": 1}
    assert summary(programme) == summary_from_scratch(programme)


def test_the_rows_are_read_once_a_day_while_nothing_changes(plan, programme,
                                                           django_assert_num_queries):
    summary(programme)
    fresh = Programme.objects.get(pk=programme.pk)
    with django_assert_num_queries(0):
        selectors.plan_summary(fresh)


def test_a_plan_deleted_with_its_site_is_no_longer_counted(plan, programme, other_site,
                                                           lead):
    other = active_plan(programme, other_site, lead, title="At the other site")
    assert summary(programme).total == 2
    other.site.delete()  # as staff can in the admin: no service, no log entry
    assert summary(programme).total == 1
    assert summary(programme) == summary_from_scratch(programme)


def test_another_programmes_change_keeps_this_ones_rows(plan, programme, lead,
                                                       django_assert_num_queries):
    from .factories import EnrolmentFactory, ProgrammeFactory
    summary(programme)
    elsewhere = EnrolmentFactory(programme=ProgrammeFactory(), status="intervention")
    plan_create(programme=elsewhere.programme, site=elsewhere.site, user=lead, title="Other")
    fresh = Programme.objects.get(pk=programme.pk)
    with django_assert_num_queries(0):
        selectors.plan_summary(fresh)


# --- Time passing, with no write ------------------------------------------------------------


def test_a_plan_goes_quiet_to_the_second_from_cached_rows(programme, site, lead,
                                                          django_assert_num_queries):
    with time_machine.travel(START, tick=False):
        made = plan_create(programme=programme, site=site, user=lead, title="Quiet soon")
        QualityImprovementPlan.objects.filter(pk=made.pk).update(
            status="in_progress", approved_at=START, status_changed_at=START)
    edge = START + selectors.QUIET_AFTER
    with time_machine.travel(edge - datetime.timedelta(seconds=1), tick=False):
        assert summary(programme).by_reason["quiet"] == 0
    fresh = Programme.objects.get(pk=programme.pk)
    with time_machine.travel(edge + datetime.timedelta(seconds=1), tick=False):
        with django_assert_num_queries(0):  # the same day's rows, from the cache
            quiet = selectors.plan_summary(fresh)
        assert quiet.by_reason["quiet"] == 1
        assert quiet == summary_from_scratch(programme)
        assert counted(quiet) == listed(programme)


def test_a_plan_has_no_data_from_the_day_two_periods_have_passed(programme, site, lead):
    with time_machine.travel(START, tick=False):
        made = active_plan(programme, site, lead)
        QualityImprovementPlan.objects.filter(pk=made.pk).update(
            approved_at=START - datetime.timedelta(days=400))
        measurement_services.measurements_paste(measure=made.measures.get(), user=lead,
                                                text="2026-02\t19\t20")
    # A monthly measure is behind 92 days after its latest period starts (1 February).
    behind_on = datetime.date(2026, 2, 1) + datetime.timedelta(days=92)
    local = timezone.get_current_timezone()
    day_before = datetime.datetime.combine(behind_on, datetime.time(23, 59, 59), tzinfo=local
                                           ) - datetime.timedelta(days=1)
    with time_machine.travel(day_before, tick=False):
        assert summary(programme).by_reason["no_data"] == 0
    with time_machine.travel(day_before + datetime.timedelta(seconds=2), tick=False):
        behind = summary(programme)
        assert behind.by_reason["no_data"] == 1
        assert behind == summary_from_scratch(programme)
        assert counted(behind) == listed(programme)


# --- The page ---------------------------------------------------------------------------------


def page_of(client, programme) -> str:
    page = client.get(f"/programmes/{programme.pk}/dashboard/").content.decode()
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)


def test_the_page_served_from_the_cache_is_the_page_from_scratch(plan, programme, lead, core,
                                                                 as_core):
    page_of(as_core, programme)
    recent_data(plan, lead, core)
    update_asks_for_help(plan, lead, core)
    served = page_of(as_core, programme)
    cache.clear()
    assert served == page_of(as_core, programme)
    assert "plan that may need help" in served
