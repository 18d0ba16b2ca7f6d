"""Two people editing the same thing at once: the second save sees a conflict with both
versions, nothing is written, nothing either person wrote is lost, and saving again wins.
(ilcop.concurrency; the QIP form, its parts, the facilitator's notes and each team's
feedback.)"""

import datetime
from html import escape, unescape
from html.parser import HTMLParser

import pytest
from django.db import connection

from ilcop.concurrency import EditConflict
from ilcop.models import ActivityLog
from qips.models import Barrier, Driver, PdsaCycle, QualityImprovementPlan
from qips.services import parts as part_services
from qips.services import plans as plan_services
from visits.models import FacilitatorNote, FocusArea, TeamFeedback, Visit
from visits.services import day as day_services

from .concurrency import twice_at_once
from .factories import CoreTeamMembershipFactory, SiteMembershipFactory

CONFLICT = "Someone else changed this while you were editing"


class _Forms(HTMLParser):
    """Each <form>'s action and the values a browser would send from it unchanged."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, dict]] = []
        self._textarea = self._select = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append((a.get("action") or "", {}))
        elif not self.forms:
            return
        data = self.forms[-1][1] if self.forms else {}
        if tag == "input" and a.get("name") and a.get("type") != "submit":
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    data.setdefault(a["name"], []).append(a.get("value", "on"))
            else:
                data[a["name"]] = a.get("value") or ""
        elif tag == "textarea":
            self._textarea = a["name"]
            data[a["name"]] = ""
        elif tag == "select":
            self._select = a["name"]
            data.setdefault(a["name"], "")
        elif tag == "option" and self._select and "selected" in a:
            data[self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, text):
        if self._textarea:
            data = self.forms[-1][1]
            # Django puts a newline after <textarea> that the browser drops.
            data[self._textarea] += unescape(text).removeprefix("\n") if not data[
                self._textarea] else unescape(text)


def form_data(response, action_contains: str = "") -> dict:
    """The fields of the form posting to a URL containing ``action_contains``, or by default
    of the form that posts back to the page itself."""
    parser = _Forms()
    parser.feed(response.content.decode())
    for action, data in parser.forms:
        found = action_contains in action if action_contains else action == ""
        if found and "csrfmiddlewaretoken" in data:
            data.pop("csrfmiddlewaretoken")
            return data
    raise AssertionError(f"No form posting to {action_contains!r}")


def assert_conflict(response, *, theirs: str, yours: str, who: str):
    assert response.status_code == 200
    page = response.content.decode()
    assert CONFLICT in page
    assert f"Their version (saved by {escape(who)}" in page
    assert "Your version (not saved yet)" in page
    assert escape(theirs) in page
    # Theirs is shown once beside the form; the person's own text is in the panel and still
    # in the form field, so nothing they wrote is lost.
    assert page.count(escape(yours)) >= 2
    assert "Keep their version and discard your changes" in page


# --- the QIP form ----------------------------------------------------------------------------


@pytest.fixture
def plan(programme, site, other_site, lead):
    visit = Visit.objects.create(programme=programme, host=site, visitor=other_site,
                                 status=Visit.Status.HAPPENED, date=datetime.date(2026, 9, 2))
    area = FocusArea.objects.create(visit=visit, title="CNS at diagnosis", owner=lead,
                                    created_by=lead)
    plan, _ = plan_services.plan_from_focus_area(focus_area=area, user=lead)
    return plan


@pytest.fixture
def colleague(site):
    return SiteMembershipFactory(site=site, role="cns", user__full_name="Dr Xavier Nurse").user


def test_the_second_save_of_a_plan_sees_both_versions_and_writes_nothing(
        plan, lead, colleague, client_for):
    a, b = client_for(colleague), client_for(lead)
    url = f"/qips/{plan.pk}/edit/"
    form_a, form_b = form_data(a.get(url)), form_data(b.get(url))
    assert form_a["version"] == form_b["version"] == "0"

    form_a["problem_statement"] = "Only 55% of patients see a CNS (A's words)."
    assert a.post(url, form_a).status_code == 302
    logged = ActivityLog.objects.filter(verb="qip.updated").count()

    form_b["problem_statement"] = "Patients are told alone (B's words)."
    response = b.post(url, form_b)
    assert_conflict(response, theirs="Only 55% of patients see a CNS (A's words).",
                    yours="Patients are told alone (B's words).", who="Dr Xavier Nurse")
    plan.refresh_from_db()
    assert plan.problem_statement == "Only 55% of patients see a CNS (A's words)."
    assert plan.version == 1
    assert ActivityLog.objects.filter(verb="qip.updated").count() == logged
    # Only what differs is compared: the title both left alone is not in the panel.
    assert 'href="#conflict-problem_statement"' in response.content.decode()
    assert 'href="#conflict-title"' not in response.content.decode()

    # The re-rendered form carries B's text and the new version: saving again wins.
    again = form_data(response)
    assert again["problem_statement"] == "Patients are told alone (B's words)."
    assert again["version"] == "1"
    assert b.post(url, again).status_code == 302
    plan.refresh_from_db()
    assert plan.problem_statement == "Patients are told alone (B's words)."
    assert plan.version == 2
    assert ActivityLog.objects.filter(verb="qip.updated").count() == logged + 1


def test_a_stale_save_that_changes_nothing_new_is_not_a_conflict(plan, lead, colleague,
                                                                  client_for):
    """B opened the form before A's save but only changes what A did not touch to what it
    already is, so nothing of A's would be lost: no conflict, nothing written."""
    a, b = client_for(colleague), client_for(lead)
    url = f"/qips/{plan.pk}/edit/"
    form_a, form_b = form_data(a.get(url)), form_data(b.get(url))
    form_a["evidence_notes"] = "Clinic log"
    a.post(url, form_a)
    form_b["evidence_notes"] = "Clinic log"
    assert b.post(url, form_b).status_code == 302
    plan.refresh_from_db()
    assert plan.version == 1


def test_the_plan_service_refuses_a_stale_version(plan, lead):
    plan_services.plan_update(plan=plan, user=lead, title="New title", version=0)
    with pytest.raises(EditConflict) as refused:
        plan_services.plan_update(plan=plan, user=lead, title="Older idea", version=0)
    assert refused.value.current.title == "New title"
    assert QualityImprovementPlan.objects.get(pk=plan.pk).title == "New title"


def test_the_conflict_page_is_only_for_the_plan_team(plan, lead, client_for, outsider,
                                                     other_lead, django_assert_max_num_queries):
    url = f"/qips/{plan.pk}/edit/"
    client = client_for(lead)
    stale = form_data(client.get(url))
    plan_services.plan_update(plan=plan, user=lead, title="Changed meanwhile")
    stale["title"] = "Mine"
    with django_assert_max_num_queries(40):
        assert CONFLICT in client.post(url, stale).content.decode()
    for person in (outsider, other_lead):
        assert client_for(person).post(url, stale).status_code == 404
    assert QualityImprovementPlan.objects.get(pk=plan.pk).title == "Changed meanwhile"


@pytest.mark.django_db(transaction=True)
def test_two_saves_of_one_version_at_once_write_once_on_postgresql(plan, lead):
    def save(title):
        def call():
            try:
                plan_services.plan_update(plan=QualityImprovementPlan.objects.get(pk=plan.pk),
                                          user=lead, title=title, version=0)
                return "saved"
            except EditConflict:
                return "conflict"
        return call

    titles = iter(["First", "Second"])
    results = twice_at_once(lambda: save(next(titles))())
    assert sorted(results) == ["conflict", "saved"]
    assert QualityImprovementPlan.objects.get(pk=plan.pk).version == 1
    connection.close()


# --- a plan's parts (PDSA cycles, barriers, measures...) -------------------------------------


@pytest.fixture
def cycle(plan, lead):
    primary = Driver.objects.create(plan=plan, kind="primary", text="Support at diagnosis")
    secondary = Driver.objects.create(plan=plan, kind="secondary", text="CNS in clinic",
                                      parent=primary)
    idea = Driver.objects.create(plan=plan, kind="change_idea", text="CNS joins the clinic",
                                 parent=secondary)
    return part_services.part_save(plan=plan, user=lead, model=PdsaCycle, change_idea=idea,
                                   title="CNS in Tuesday clinic", question="Will it work?",
                                   prediction="8 of the next 10 patients")


def test_the_second_save_of_a_pdsa_cycle_sees_both_versions_and_writes_nothing(
        plan, cycle, lead, colleague, client_for):
    a, b = client_for(colleague), client_for(lead)
    url = f"/qips/{plan.pk}/pdsa/{cycle.pk}/edit/"
    form_a, form_b = form_data(a.get(url)), form_data(b.get(url))
    assert form_a["version"] == form_b["version"] == "0"

    form_a["what"] = "The CNS sits in on Tuesday's clinic (A's words)."
    assert a.post(url, form_a).status_code == 302
    logged = ActivityLog.objects.filter(verb="qip.part_changed").count()
    assert logged == 1

    form_b["what"] = "Clinic letters name the CNS (B's words)."
    response = b.post(url, form_b)
    assert_conflict(response, theirs="The CNS sits in on Tuesday's clinic (A's words).",
                    yours="Clinic letters name the CNS (B's words).", who="Dr Xavier Nurse")
    cycle.refresh_from_db()
    assert cycle.what == "The CNS sits in on Tuesday's clinic (A's words)."
    assert cycle.version == 1
    assert ActivityLog.objects.filter(verb="qip.part_changed").count() == logged
    # Only what differs is compared: the title both left alone is not in the panel.
    assert 'href="#conflict-what"' in response.content.decode()
    assert 'href="#conflict-title"' not in response.content.decode()
    assert f'href="{url}"' in response.content.decode()  # keep theirs: open the form afresh

    # The re-rendered form carries B's text and the new version: saving again wins.
    again = form_data(response)
    assert again["what"] == "Clinic letters name the CNS (B's words)."
    assert again["version"] == "1"
    assert b.post(url, again).status_code == 302
    cycle.refresh_from_db()
    assert cycle.what == "Clinic letters name the CNS (B's words)."
    assert cycle.version == 2
    assert ActivityLog.objects.filter(verb="qip.part_changed").count() == logged + 1


def test_a_stale_part_form_that_changes_nothing_new_is_not_a_conflict(
        plan, cycle, lead, colleague, client_for):
    a, b = client_for(colleague), client_for(lead)
    url = f"/qips/{plan.pk}/pdsa/{cycle.pk}/edit/"
    form_a, form_b = form_data(a.get(url)), form_data(b.get(url))
    form_a["where"] = "Tuesday clinic"
    assert a.post(url, form_a).status_code == 302
    form_b["where"] = "Tuesday clinic"
    response = b.post(url, form_b)
    assert response.status_code == 302
    cycle.refresh_from_db()
    assert cycle.where == "Tuesday clinic"
    assert cycle.version == 1
    assert ActivityLog.objects.filter(verb="qip.part_changed").count() == 1


def test_a_single_edit_of_a_part_saves_logs_and_moves_the_plan_on(plan, cycle, lead,
                                                                   client_for):
    client = client_for(lead)
    url = f"/qips/{plan.pk}/pdsa/{cycle.pk}/edit/"
    form = form_data(client.get(url))
    form["results"] = "9 of 10 saw the CNS"
    content_version = QualityImprovementPlan.objects.get(pk=plan.pk).content_version
    response = client.post(url, form)
    assert response.status_code == 302 and response["Location"] == f"/qips/{plan.pk}/#pdsa"
    cycle.refresh_from_db()
    assert cycle.results == "9 of 10 saw the CNS" and cycle.version == 1
    entry = ActivityLog.objects.get(verb="qip.part_changed")
    assert entry.actor == lead
    assert entry.summary == "Changed a PDSA cycle: CNS in Tuesday clinic"
    assert entry.data == {"part": "PDSA cycle", "part_id": cycle.pk, "version": 1,
                          "fields": ["results"]}
    # The plan page's cached parts and the journey's cards are keyed on this.
    assert QualityImprovementPlan.objects.get(pk=plan.pk).content_version != content_version


def test_the_part_service_refuses_a_stale_version(plan, lead, colleague):
    barrier = part_services.part_save(plan=plan, user=lead, model=Barrier, kind="staffing",
                                      description="No CNS cover on Tuesdays")
    part_services.part_save(plan=plan, user=colleague, model=Barrier, instance=barrier,
                            version=0, description="CNS cover agreed for Tuesdays")
    assert barrier.version == 1  # the caller's copy follows the database
    with pytest.raises(EditConflict) as refused:
        part_services.part_save(plan=plan, user=lead, model=Barrier,
                                instance=Barrier.objects.get(pk=barrier.pk), version=0,
                                description="Still no cover")
    assert refused.value.current.description == "CNS cover agreed for Tuesdays"
    saved = Barrier.objects.get(pk=barrier.pk)
    assert saved.description == "CNS cover agreed for Tuesdays" and saved.version == 1
    # Made knowing the version now saved, the same change is written.
    part_services.part_save(plan=plan, user=lead, model=Barrier, instance=saved, version=1,
                            description="Still no cover")
    assert Barrier.objects.get(pk=barrier.pk).description == "Still no cover"


def test_the_part_conflict_page_is_only_for_the_plan_team(
        plan, cycle, lead, client_for, outsider, other_lead, django_assert_max_num_queries):
    url = f"/qips/{plan.pk}/pdsa/{cycle.pk}/edit/"
    client = client_for(lead)
    stale = form_data(client.get(url))
    part_services.part_save(plan=plan, user=lead, model=PdsaCycle, instance=cycle, version=0,
                            title="Changed meanwhile")
    stale["title"] = "Mine"
    with django_assert_max_num_queries(45):
        assert CONFLICT in client.post(url, stale).content.decode()
    for person in (outsider, other_lead):
        assert client_for(person).post(url, stale).status_code == 404
    assert PdsaCycle.objects.get(pk=cycle.pk).title == "Changed meanwhile"


# --- the facilitator's notes -----------------------------------------------------------------


@pytest.fixture
def visit(programme, site, other_site, core):
    return Visit.objects.create(programme=programme, host=site, visitor=other_site,
                                status=Visit.Status.HAPPENED, date=datetime.date(2026, 3, 31),
                                facilitator=core)


@pytest.fixture
def second_core(programme):
    return CoreTeamMembershipFactory(programme=programme, role="qi_facilitator",
                                     user__full_name="Dr Xena Facilitator").user


def test_the_second_save_of_the_facilitators_notes_sees_both_versions(
        visit, core, second_core, client_for, lead, outsider):
    a, b = client_for(second_core), client_for(core)
    url = f"/visits/{visit.pk}/notes/"
    form_a, form_b = form_data(a.get(url)), form_data(b.get(url))
    form_a["text"] = "The leads disagree about the MDT chair."
    assert a.post(url, form_a).status_code == 302
    form_b["text"] = "Ask about the CNS vacancy."
    response = b.post(url, form_b)
    assert_conflict(response, theirs="The leads disagree about the MDT chair.",
                    yours="Ask about the CNS vacancy.", who="Dr Xena Facilitator")
    note = FacilitatorNote.objects.get(visit=visit)
    assert note.text == "The leads disagree about the MDT chair."
    assert ActivityLog.objects.filter(verb="visit.facilitator_note_saved").count() == 1

    again = form_data(response)
    assert again["text"] == "Ask about the CNS vacancy."
    assert b.post(url, again).status_code == 302
    assert FacilitatorNote.objects.get(visit=visit).text == "Ask about the CNS vacancy."
    # Site members and outsiders never reach the page, conflict or not.
    for person in (lead, outsider):
        assert client_for(person).post(url, again).status_code == 404


def test_two_facilitators_writing_the_first_notes_at_once_do_not_overwrite(visit, core,
                                                                           second_core):
    day_services.facilitator_note_save(visit=visit, user=second_core, text="First", version=0)
    with pytest.raises(EditConflict):
        day_services.facilitator_note_save(visit=visit, user=core, text="Second", version=0)
    assert FacilitatorNote.objects.get(visit=visit).text == "First"


# --- each team's feedback on the summary -----------------------------------------------------


def test_the_second_save_of_team_feedback_sees_both_versions(
        visit, core, other_site, client_for, django_assert_max_num_queries):
    visitor = SiteMembershipFactory(site=other_site, role="clinical_lead",
                                    user__full_name="Dr Vic Visitor").user
    a, b = client_for(visitor), client_for(core)
    summary = f"/visits/{visit.pk}/summary/"
    action = f"/visits/{visit.pk}/summary/feedback/visiting/"
    form_a = form_data(a.get(summary), "feedback/visiting")
    form_b = form_data(b.get(summary), "feedback/visiting")
    assert form_a["visiting-version"] == "0"
    form_a["visiting-strengths"] = "A calm, well-chaired MDT."
    assert a.post(action, form_a).status_code == 302
    form_b["visiting-strengths"] = "Every patient discussed had a CNS."
    with django_assert_max_num_queries(40):
        response = b.post(action, form_b)
    assert_conflict(response, theirs="A calm, well-chaired MDT.",
                    yours="Every patient discussed had a CNS.", who="Dr Vic Visitor")
    feedback = TeamFeedback.objects.get(visit=visit, team="visiting")
    assert feedback.strengths == "A calm, well-chaired MDT."
    assert ActivityLog.objects.filter(verb="visit.feedback_saved").count() == 1

    again = form_data(response, "feedback/visiting")
    assert again["visiting-strengths"] == "Every patient discussed had a CNS."
    assert again["visiting-version"] == "1"
    assert b.post(action, again).status_code == 302
    feedback.refresh_from_db()
    assert feedback.strengths == "Every patient discussed had a CNS."
    assert ActivityLog.objects.filter(verb="visit.feedback_saved").count() == 2
