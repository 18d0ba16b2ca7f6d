"""The core team's dashboard, and the filtered, sorted lists its numbers lead to."""

import datetime
import html
import re
from io import StringIO

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.models import User
from programmes.demo import CORE_LEAD_EMAIL
from programmes.models import CoreTeamMembership
from qips.models import Barrier, ProgressUpdate, QualityImprovementPlan
from visits.models import LogisticsTask, Visit, VisitReport

from .factories import CoreTeamMembershipFactory, EnrolmentFactory
from .test_visit_query_budgets import add_pairs

NOW = datetime.datetime(2026, 3, 2, 9, tzinfo=datetime.UTC)
LINK = re.compile(r'<a\b[^>]*href="([^"]+)"[^>]*>(.*?)</a>', re.S)
STATUS = re.compile(r'role="status"[^>]*>(.*?)</', re.S)


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def numbered_links(page: str) -> list[tuple[str, int, str]]:
    """(url, number, words) for every link on the page whose text is a count."""
    links = []
    for href, inner in LINK.findall(page):
        words = text_of(inner)
        if match := re.match(r"(\d+)\b", words):
            links.append((html.unescape(href), int(match[1]), words))
    return links


def listed(client, url: str) -> int:
    """How many rows the list at url says it has, from its live-region count."""
    response = client.get(url)
    assert response.status_code == 200, url
    found = STATUS.search(response.content.decode())
    assert found, f"{url} has no count"
    return int(re.match(r"(\d+)", text_of(found[1]))[1])


def test_every_number_on_the_demo_dashboard_leads_to_a_list_of_that_many(client_for, db):
    """Acceptance 1: the running demo's dashboard says what needs attention this week, and
    each number opens the list behind it, filtered to exactly those rows."""
    call_command("seed_demo", stdout=StringIO())
    lead = User.objects.get(email=CORE_LEAD_EMAIL)
    programme = lead.core_memberships.get(programme__kind="reciprocal").programme
    # Something overdue in each list the demo leaves empty: a task, a report stuck sending.
    task = LogisticsTask.objects.filter(visit__programme=programme, visit__status="confirmed",
                                        done_at__isnull=True).first()
    LogisticsTask.objects.filter(pk=task.pk).update(
        days_before=(task.visit.date - timezone.localdate()).days + 3)
    report = VisitReport.objects.filter(visit__programme=programme).first()
    VisitReport.objects.filter(pk=report.pk).update(
        sent_at=None, send_failed_at=timezone.now(), send_failure="SMTP refused")
    client = client_for(lead)

    page = client.get(f"/programmes/{programme.pk}/dashboard/").content.decode()

    attention = page[page.index("Needs your attention"):page.index("Sections of the dashboard")]
    said = text_of(attention)
    for words in ("visit reports waiting for approval", "checklist task overdue",
                  "approved report that failed", "plans submitted for review",
                  "plans that may need help"):
        assert words in said, words
    links = numbered_links(page)
    assert len(links) > 40
    checked = 0
    for url, number, words in links:
        if "/pairing/" in url:
            continue  # the pairs, checked below
        assert listed(client, url) == number, f"“{words}” → {url}"
        checked += 1
    assert checked > 40
    pairing_page = client.get(f"/programmes/{programme.pk}/pairing/").content.decode()
    assert "15 pairs confirmed" in text_of(page)
    assert "Confirmed pairs (15)" in text_of(pairing_page)


def test_the_attention_list_is_empty_when_nothing_waits(as_core, programme):
    page = as_core.get(f"/programmes/{programme.pk}/dashboard/").content.decode()
    assert "Nothing is overdue or waiting for the core team." in page


@pytest.fixture
def frozen(programme):
    # Polls need a facilitator on the visit: the programme's QI facilitator is assigned.
    CoreTeamMembershipFactory(programme=programme, role=CoreTeamMembership.Role.QI_FACILITATOR)
    with time_machine.travel(NOW, tick=False):
        yield


def plans_needing_help(programme, n):
    for i in range(n):
        site = EnrolmentFactory(programme=programme, status="intervention").site
        quiet = QualityImprovementPlan.objects.create(
            programme=programme, site=site, title=f"Quiet {i}", status="in_progress",
            approved_at=NOW - datetime.timedelta(weeks=10))
        QualityImprovementPlan.objects.filter(pk=quiet.pk).update(
            status_changed_at=NOW - datetime.timedelta(weeks=10))
        asking = QualityImprovementPlan.objects.create(
            programme=programme, site=site, title=f"Asking {i}", status="in_progress",
            approved_at=NOW - datetime.timedelta(weeks=2))
        Barrier.objects.create(plan=asking, kind="it", description="No access",
                               help_needed="An introduction to the IT lead")
        ProgressUpdate.objects.create(plan=asking, month=datetime.date(2026, 2, 1),
                                      done="Tried", rag="red")
        QualityImprovementPlan.objects.create(programme=programme, site=site,
                                              title=f"Waiting {i}", status="submitted")


def grow(programme, core, n):
    add_pairs(programme, core, n)
    plans_needing_help(programme, n)
    for i in range(n):
        log_action(programme, "programme.noted", actor=core, summary=f"Entry {i}",
                   scopes=[programme])


def count(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


PAGES = {
    "dashboard": ("/programmes/{programme}/dashboard/", 15),
    "visits filtered": ("/programmes/{programme}/visits/?status=live&from=2026-03-01"
                        "&to=2026-04-30&sort=-host", 12),
    "visits with report problems": ("/programmes/{programme}/visits/?report=problem", 13),
    "tasks overdue by owner": ("/programmes/{programme}/logistics/?overdue=1&owner=none"
                               "&sort=visit", 10),
    "plans needing help": ("/programmes/{programme}/qips/?reason=any&sort=-update&q=a", 7),
    "activity": ("/programmes/{programme}/activity/?q=entry&from=2026-01-01", 8),
}


@pytest.mark.parametrize(("name", "page"), PAGES.items(), ids=list(PAGES))
def test_dashboard_and_its_lists_stay_flat(frozen, private_cache, as_core, programme, core,
                                           name, page):
    url, budget = page
    url = url.format(programme=programme.pk)
    grow(programme, core, 1)
    as_core.get(url)  # warm the per-process caches (content types), as in a running server
    # Counted with the dashboard's plan health worked out, not read from the cache.
    cache.clear()
    small = count(as_core, url)
    grow(programme, core, 5)
    cache.clear()
    large = count(as_core, url)
    assert small == large, f"{name}: {small} queries when small, {large} when large"
    assert large <= budget, f"{name}: {large} queries, budget {budget}"


def test_the_dashboard_counts_what_needs_support(frozen, as_core, programme, core):
    grow(programme, core, 2)
    page = text_of(as_core.get(f"/programmes/{programme.pk}/dashboard/").content.decode())
    assert "2 plans submitted for review" in page
    # Quiet for ten weeks; a barrier asking for help; the latest update red is not counted
    # when the same plan's barrier... each plan once per reason.
    assert "No progress update for six weeks 2 plans: no progress update" in page
    assert "A barrier asks for help 2 plans: a barrier asks for help" in page
    assert "The latest update is red 2 plans: the latest update is red" in page
    assert "4 plans that may need help" in page


# --- The lists ------------------------------------------------------------------------------


def visit_names(page: str) -> list[str]:
    return re.findall(r'href="/visits/\d+/">([^<]+)</a>', page)


def test_visits_filter_by_facilitator_dates_and_status_and_sort(frozen, as_core, programme,
                                                                 core):
    visits = add_pairs(programme, core, 3)
    other = CoreTeamMembershipFactory(programme=programme, role="qi_facilitator").user
    Visit.objects.filter(pk=visits[0].pk).update(facilitator=other)
    base = f"/programmes/{programme.pk}/visits/"

    mine = as_core.get(f"{base}?facilitator={other.pk}").content.decode()
    assert len(visit_names(mine)) == 1
    assert f'<option value="{other.pk}" selected>' in mine

    dated = as_core.get(f"{base}?status=confirmed&from=2026-03-31&to=2026-03-31").content
    assert len(visit_names(dated.decode())) == 3
    undated = as_core.get(f"{base}?undated=1").content.decode()
    assert len(visit_names(undated)) == 3

    by_host = visit_names(as_core.get(f"{base}?sort=host").content.decode())
    by_host_desc = visit_names(as_core.get(f"{base}?sort=-host").content.decode())
    hosts = [name.split(" visits ")[1] for name in by_host]
    assert hosts == sorted(hosts)
    assert [n.split(" visits ")[1] for n in by_host_desc] == sorted(hosts, reverse=True)


def test_sort_links_keep_the_filters(frozen, as_core, programme, core):
    add_pairs(programme, core, 1)
    page = as_core.get(f"/programmes/{programme.pk}/visits/?status=confirmed&sort=date"
                       ).content.decode()
    assert 'aria-sort="ascending"' in page
    assert 'href="?status=confirmed&amp;sort=-date"' in page
    assert 'href="?status=confirmed&amp;sort=visitor"' in page


@pytest.mark.parametrize("query", [
    "status=nonsense", "from=31/02/2026", "to=tomorrow", "facilitator=abc",
    "facilitator=99999999999999999999", "facilitator=%C2%B2", "sort=;drop", "q=%00",
    "report=everything",
    "undated=yes", "page=-1",
])
def test_nonsense_in_the_visit_filters_widens_the_list_and_never_fails(
        frozen, as_core, programme, core, query):
    add_pairs(programme, core, 1)
    response = as_core.get(f"/programmes/{programme.pk}/visits/?{query}")
    assert response.status_code == 200
    assert len(visit_names(response.content.decode())) == 2


def test_tasks_filter_by_owner_and_overdue_and_marking_one_done_keeps_the_filters(
        frozen, client_for, programme, core):
    add_pairs(programme, core, 2)
    task = LogisticsTask.objects.filter(done_at__isnull=True).order_by("pk").first()
    LogisticsTask.objects.filter(pk=task.pk).update(owner=core)
    base = f"/programmes/{programme.pk}/logistics/"
    with time_machine.travel(datetime.datetime(2026, 3, 30, 9, tzinfo=datetime.UTC),
                             tick=False):  # inside the frozen NOW: the later time wins
        as_core = client_for(core)  # signed in again: four weeks idle ends a session
        overdue = text_of(as_core.get(f"{base}?overdue=1").content.decode())
        owned = as_core.get(f"{base}?owner={core.pk}").content.decode()
        response = as_core.post(f"/visits/{task.visit_id}/tasks/{task.pk}/", {
            "done": "1", "next": "logistics", "list_query": f"owner={core.pk}&sort=-due"})
    assert "Overdue" in overdue and not re.search(r"\b0 tasks match", overdue)
    assert text_of(owned).count("Mark done") == 1
    assert response.status_code == 302
    assert response.url == f"{base}?owner={core.pk}&sort=-due"


def test_a_superscript_digit_as_owner_is_ignored(frozen, as_core, programme):
    response = as_core.get(f"/programmes/{programme.pk}/logistics/?owner=%C2%B2")
    assert response.status_code == 200


def test_quiet_teams_are_the_digests_quiet_teams(frozen, as_core, programme, core, site):
    from programmes.models import Enrolment
    from qips.digest import quiet_teams
    Enrolment.objects.filter(site=site).update(
        status="intervention", status_changed_at=NOW - datetime.timedelta(weeks=9))
    quiet = quiet_teams(programme, NOW)
    assert quiet
    page = text_of(as_core.get(f"/programmes/{programme.pk}/dashboard/").content.decode())
    assert f"{len(quiet)} intervention team" in page
    assert quiet[0].text in page


def test_marking_done_cannot_redirect_elsewhere(frozen, as_core, programme, core):
    add_pairs(programme, core, 1)
    task = LogisticsTask.objects.first()
    response = as_core.post(f"/visits/{task.visit_id}/tasks/{task.pk}/", {
        "done": "1", "next": "logistics", "list_query": "//evil.example/?a=1"})
    assert response.url.startswith(f"/programmes/{programme.pk}/logistics/?")


def test_plans_filter_by_reason_and_search(frozen, as_core, programme, core):
    plans_needing_help(programme, 2)
    base = f"/programmes/{programme.pk}/qips/"
    quiet = text_of(as_core.get(f"{base}?reason=quiet").content.decode())
    assert "2 plans match" in quiet and "Quiet 0" in quiet and "Asking 0" not in quiet
    help_ = text_of(as_core.get(f"{base}?reason=barrier").content.decode())
    assert "Asking 1" in help_ and "Quiet 1" not in help_
    found = text_of(as_core.get(f"{base}?q=waiting+1").content.decode())
    assert "1 plan match" in found and "Waiting 1" in found
    old = text_of(as_core.get(f"{base}?needs_help=1").content.decode())
    assert "4 plans match" in old


def test_the_plans_list_pages_and_keeps_its_filters(frozen, as_core, programme):
    site = EnrolmentFactory(programme=programme, status="intervention").site
    QualityImprovementPlan.objects.bulk_create(
        QualityImprovementPlan(programme=programme, site=site, title=f"Plan {i:03}",
                               status="draft") for i in range(60))
    page = as_core.get(f"/programmes/{programme.pk}/qips/?status=draft&sort=title"
                       ).content.decode()
    assert "60 plans match" in text_of(page)
    assert page.count('href="/qips/') == 50
    assert 'href="?status=draft&amp;sort=title&amp;page=2"' in page
    second = as_core.get(f"/programmes/{programme.pk}/qips/?status=draft&sort=title&page=2"
                         ).content.decode()
    assert second.count('href="/qips/') == 10 and "Plan 059" in second


def test_the_activity_list_filters_by_words_and_dates(frozen, as_core, programme, core):
    log_action(programme, "programme.noted", actor=core, summary="Called the Leeds team",
               scopes=[programme])
    with time_machine.travel(NOW - datetime.timedelta(days=40), tick=False):
        log_action(programme, "programme.noted", actor=core, summary="Older note",
                   scopes=[programme])
    base = f"/programmes/{programme.pk}/activity/"
    assert "Called the Leeds team" in as_core.get(f"{base}?q=leeds").content.decode()
    assert "Older note" not in as_core.get(f"{base}?q=leeds").content.decode()
    recent = as_core.get(f"{base}?from=2026-02-01").content.decode()
    assert "Called the Leeds team" in recent and "Older note" not in recent


def test_a_facilitators_workload_counts_their_visits(frozen, as_core, programme, core):
    visits = add_pairs(programme, core, 2)
    facilitator = CoreTeamMembershipFactory(
        programme=programme, role=CoreTeamMembership.Role.QI_FACILITATOR).user
    Visit.objects.filter(pk__in=[visits[0].pk, visits[2].pk]).update(
        facilitator=facilitator, date=datetime.date(2026, 3, 10))
    page = text_of(as_core.get(f"/programmes/{programme.pk}/dashboard/").content.decode())
    assert (f"{facilitator.full_name} Next four weeks 2 visits for {facilitator.full_name} "
            "in the next four weeks") in page


def test_no_data_for_two_periods_at_its_edges(frozen, programme, site):
    """A measure is two periods behind once two whole periods have ended after its latest
    one with data (or, with none yet, after the plan's approval day): 21 days for a weekly
    measure, 92 for a monthly (30.44 days) and 274 for a quarterly (91.3). A plan has no data
    when every measure is behind; the dashboard counts what the list shows."""
    from qips.models import Measure, Measurement
    from qips.selectors import plan_summary, programme_plans

    today = timezone.localdate()
    local = timezone.get_current_timezone()

    def plan(title, approved_at, *measures):
        made = QualityImprovementPlan.objects.create(
            programme=programme, site=site, title=title, status="in_progress",
            approved_at=approved_at)
        for frequency, last in measures:
            measure = Measure.objects.create(plan=made, kind="outcome", name=title,
                                             numerator="n", data_source="log",
                                             frequency=frequency)
            if last is not None:
                Measurement.objects.create(measure=measure, period=last, value=1)
        # Updated yesterday, so "quiet" stays out of it.
        ProgressUpdate.objects.create(plan=made, month=today.replace(day=1), done="x",
                                      rag="green")

    def midnight(day):
        return datetime.datetime.combine(day, datetime.time.min, tzinfo=local)

    approved = midnight(today - datetime.timedelta(days=400))
    behind = []
    for frequency, days in (("weekly", 21), ("monthly", 92), ("quarterly", 274)):
        edge = today - datetime.timedelta(days=days)
        plan(f"{frequency} behind", approved, (frequency, edge))
        plan(f"{frequency} keeping up", approved, (frequency, edge + datetime.timedelta(days=1)))
        plan(f"{frequency} none since approval", midnight(edge), (frequency, None))
        plan(f"{frequency} none, approved a day later",
             midnight(edge + datetime.timedelta(days=1)), (frequency, None))
        behind += [f"{frequency} behind", f"{frequency} none since approval"]
    plan("one measure of two behind", approved, ("weekly", today - datetime.timedelta(days=30)),
         ("monthly", today))
    plan("no measures", approved)
    plan("not approved yet, no data", None, ("weekly", None))

    rows = programme_plans(programme)
    assert sorted(r.plan.title for r in rows if "no_data" in r.codes) == sorted(behind)
    summary = plan_summary(programme)
    assert summary.by_reason["no_data"] == len(behind)
    assert summary.needing_help == sum(1 for r in rows if r.codes) == len(behind)


def test_the_dashboards_brief_reads_agree_with_the_lists_selectors(frozen, programme, core):
    """The dashboard counts overdue tasks and undelivered reports from reads of only the
    fields their rules read; the rows and the rules are the lists'."""
    from visits import selectors as visit_selectors

    visits = add_pairs(programme, core, 3)
    task = LogisticsTask.objects.filter(done_at__isnull=True, visit__status="confirmed").first()
    LogisticsTask.objects.filter(pk=task.pk).update(owner=core, days_before=400)
    hour = datetime.timedelta(hours=1)
    reports = [
        {"send_failed_at": NOW - hour},  # failed
        {"generation_failed_at": NOW - hour},  # failed
        {"approved_at": NOW - 2 * hour},  # stuck
        {"approved_at": NOW - 2 * hour, "retried_at": NOW - hour / 2},  # being retried
        {"approved_at": NOW - 2 * hour, "sent_at": NOW - hour},  # sent
    ]
    for visit, fields in zip(visits, reports, strict=False):
        VisitReport.objects.create(visit=visit, version=1, html="<p>", **fields)
    # A failed version corrected by one still sending is not a problem any more.
    VisitReport.objects.create(visit=visits[5], version=1, html="<p>",
                               send_failed_at=NOW - hour)
    VisitReport.objects.create(visit=visits[5], version=2, html="<p>", correction_note="Typo")

    listed = visit_selectors.undelivered_reports(programme)
    assert len(listed) == 3
    with CaptureQueriesContext(connection) as captured:  # no deferred field read later
        problems = visit_selectors.undelivered_report_visits(programme)
        full = visit_selectors.outstanding_tasks(programme)
        brief = visit_selectors.outstanding_tasks(programme, listed=False)
        overdue_owners = [t.owner.full_name for t in brief if t.overdue]
    assert len(captured) == 3
    assert problems == [r.visit_id for r in listed]
    assert [(t.pk, t.visit_id, t.owner_id, t.due, t.overdue) for t in brief] == [
        (t.pk, t.visit_id, t.owner_id, t.due, t.overdue) for t in full]
    assert overdue_owners == [core.full_name]


def test_the_header_links_the_core_team_to_the_dashboard_without_asking_again(
        as_core, client_for, programme, site, lead):
    header = (f'href="/programmes/{programme.pk}/dashboard/"><span class="nhsuk-u-visually-'
              f'hidden">Programme: </span>{programme.name}</a>')
    page = as_core.get(f"/programmes/{programme.pk}/dashboard/").content.decode()
    assert header in html.unescape(page)
    # A site member on a page of the same programme is not linked to a page they cannot see.
    from qips.services.plans import plan_create
    plan = plan_create(programme=programme, site=site, user=lead, title="Faster diagnosis")
    page = client_for(lead).get(f"/qips/{plan.pk}/").content.decode()
    assert programme.name in html.unescape(page)
    assert f'href="/programmes/{programme.pk}/dashboard/"' not in page
