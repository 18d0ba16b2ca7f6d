"""A one-way review's action plan: made from the findings, owned, followed up and reminded."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.db import reset_queries
from django.urls import reverse
from django.utils import timezone

from ilcop.models import ActivityLog, Notification
from qips import reminders
from qips.models import Milestone, ProgressUpdate, QualityImprovementPlan
from qips.services import action_plans as services
from qips.services import plans as plan_services
from qips.services.parts import milestone_in_step

from .test_oneway_action_plans_world import build

Status = Milestone.Status


# --- pure rules, worked examples --------------------------------------------------------------


@pytest.mark.parametrize(("day", "months", "expected"), [
    (datetime.date(2026, 1, 15), 3, datetime.date(2026, 4, 15)),
    (datetime.date(2026, 11, 30), 3, datetime.date(2027, 2, 28)),  # February is shorter
    (datetime.date(2027, 11, 30), 3, datetime.date(2028, 2, 29)),  # a leap year
    (datetime.date(2026, 10, 31), 3, datetime.date(2027, 1, 31)),
    (datetime.date(2026, 5, 31), 1, datetime.date(2026, 6, 30)),
])
def test_add_months(day, months, expected):
    assert services.add_months(day, months) == expected


def test_shorten_cuts_at_a_word_and_keeps_the_first_line():
    assert services.shorten("Add a triage list\nso that...", 200) == "Add a triage list"
    assert services.shorten("one two three four", 12) == "one two…"
    assert len(services.shorten("word " * 100, 200)) <= 200
    assert services.shorten("x" * 50, 10) == "x" * 9 + "…"
    assert services.shorten("   ", 10) == ""


def test_plan_title_names_the_standards_not_fully_met():
    assert services.plan_title(["S1", "S3"]) == "Action plan: S1, S3"
    assert services.plan_title([]) == "Action plan after the peer review"


@pytest.mark.parametrize(("fields", "expected"), [
    ({"status": Status.DONE, "done_on": None}, {"status": Status.DONE,
                                                "done_on": datetime.date(2026, 5, 1)}),
    ({"status": Status.IN_PROGRESS, "done_on": datetime.date(2026, 4, 2)},
     {"status": Status.DONE, "done_on": datetime.date(2026, 4, 2)}),
    ({"status": Status.BLOCKED, "done_on": None}, {"status": Status.BLOCKED, "done_on": None}),
    ({"done_on": None}, {"done_on": None, "status": Status.IN_PROGRESS}),
    ({"title": "x"}, {"title": "x"}),
])
def test_a_milestone_is_done_exactly_when_it_has_a_date(fields, expected):
    assert milestone_in_step(fields, datetime.date(2026, 5, 1)) == expected


# --- starting the plan ------------------------------------------------------------------------


@pytest.fixture
def w(db):
    return build()


def test_the_plan_has_an_action_per_standard_not_fully_met(w):
    plan, created = services.action_plan_from_review(review=w.review, user=w.member,
                                                     today=datetime.date(2026, 5, 10))
    assert created
    assert plan.title == "Action plan: S1, S3"
    assert (plan.site, plan.programme, plan.review, plan.reporting_owner) == (
        w.service, w.programme, w.review, w.member)
    actions = list(plan.milestones.select_related("finding__standard"))
    assert [(a.title, a.due_on, a.status, a.finding.standard.code) for a in actions] == [
        ("Add a pre-MDT triage list so that every new patient is listed",
         datetime.date(2026, 8, 10), Status.NOT_STARTED, "S1"),
        ("Meet S3: The MDT audits its survival", datetime.date(2026, 8, 10),
         Status.NOT_STARTED, "S3"),
    ]
    entry = ActivityLog.objects.get(verb="qip.action_plan_created")
    assert entry.data == {"review": w.review.pk, "actions": 2}
    again, created = services.action_plan_from_review(review=w.review, user=w.core)
    assert (again, created) == (plan, False)
    assert QualityImprovementPlan.objects.count() == 1


def test_the_core_team_starts_it_without_an_owner(w):
    plan, _ = services.action_plan_from_review(review=w.review, user=w.core)
    assert plan.reporting_owner is None


def test_refused_before_any_finding(db):
    w = build(findings=False)
    with pytest.raises(services.ActionPlanRefused, match="not recorded any findings"):
        services.action_plan_from_review(review=w.review, user=w.member)
    assert not QualityImprovementPlan.objects.exists()


def test_who_may_start_it(w, client_for):
    url = reverse("qips:action_plan_create", args=[w.review.pk])
    assert client_for(w.reviewer).post(url).status_code == 403
    assert client_for(w.other_member).post(url).status_code == 404
    assert client_for(w.outsider).post(url).status_code == 404
    assert client_for(w.member).get(url).status_code == 405
    response = client_for(w.member).post(url)
    plan = QualityImprovementPlan.objects.get()
    assert response["Location"] == reverse("qips:plan_detail", args=[plan.pk])
    # The core team's second click opens the same plan.
    response = client_for(w.core).post(url)
    assert response["Location"] == reverse("qips:plan_detail", args=[plan.pk])
    assert QualityImprovementPlan.objects.count() == 1


def test_starting_before_findings_says_why(db, client_for):
    w = build(findings=False)
    response = client_for(w.member).post(
        reverse("qips:action_plan_create", args=[w.review.pk]), follow=True)
    assert "has not recorded any findings yet" in response.content.decode()
    assert not QualityImprovementPlan.objects.exists()


# --- owner, next review, submit and approve ---------------------------------------------------


def test_submit_needs_an_owner_and_approval_a_next_review_date(w):
    plan, _ = services.action_plan_from_review(review=w.review, user=w.core)
    with pytest.raises(plan_services.TransitionRefused, match="Name the plan's owner"):
        plan_services.plan_transition(plan=plan, action="submit", user=w.member, as_core=False)
    plan.reporting_owner = w.member
    plan.save()
    # An action plan has no aim or measures to write: its actions are the plan.
    plan_services.plan_transition(plan=plan, action="submit", user=w.member, as_core=False)
    with pytest.raises(plan_services.TransitionRefused, match="Set the next review date"):
        plan_services.plan_transition(plan=plan, action="approve", user=w.core, as_core=True)
    plan.next_review_on = datetime.date(2027, 5, 1)
    plan.save()
    plan_services.plan_transition(plan=plan, action="approve", user=w.core, as_core=True)
    plan.refresh_from_db()
    assert plan.status == QualityImprovementPlan.Status.APPROVED


def test_the_plan_page_shows_owner_actions_support_and_next_review(
        w, client_for, django_assert_max_num_queries):
    plan, _ = services.action_plan_from_review(review=w.review, user=w.member)
    plan.support_requested = "A visit to a service that triages well"
    plan.save()
    first = plan.milestones.first()
    first.due_on = timezone.localdate() - datetime.timedelta(days=3)
    first.owner = "MDT coordinator"
    first.save()
    url = reverse("qips:plan_detail", args=[plan.pk])
    reset_queries()  # the log is a bounded deque: a full one counts nothing
    with django_assert_max_num_queries(60) as counted:
        page = client_for(w.member).get(url).content.decode()
    before = len(counted)
    assert "Dr Sam Service" in page
    assert "A visit to a service that triages well" in page
    assert "Not set yet" in page  # the next review date
    assert "MDT coordinator" in page and "Overdue" in page
    assert "Add an action" in page
    for n in range(5):
        Milestone.objects.create(plan=plan, title=f"More {n}", due_on=timezone.localdate())
    reset_queries()
    with django_assert_max_num_queries(before):
        client_for(w.member).get(url)
    assert client_for(w.core).get(url).status_code == 200
    assert client_for(w.reviewer).get(url).status_code == 404
    assert client_for(w.other_member).get(url).status_code == 404


def test_the_plan_form_asks_action_plans_for_support_and_next_review(w, client_for):
    plan, _ = services.action_plan_from_review(review=w.review, user=w.member)
    page = client_for(w.member).get(reverse("qips:plan_edit", args=[plan.pk])).content.decode()
    assert "support the service asks for" in page.lower() and "next review date" in page.lower()
    response = client_for(w.member).post(reverse("qips:plan_edit", args=[plan.pk]), {
        "version": plan.version, "title": plan.title, "reporting_owner": w.member.pk,
        "support_requested": "Time in the job plan", "next_review_on_0": "1",
        "next_review_on_1": "5", "next_review_on_2": "2027", "next_review_on": "2027-05-01"})
    assert response.status_code == 302, response.content.decode()[:2000]
    plan.refresh_from_db()
    assert plan.support_requested == "Time in the job plan"
    assert plan.next_review_on == datetime.date(2027, 5, 1)
    ordinary = QualityImprovementPlan.objects.create(programme=w.programme, site=w.service,
                                                     title="Another plan")
    page = client_for(w.member).get(reverse("qips:plan_edit", args=[ordinary.pk])).content
    assert b"support the service asks for" not in page.lower()


def test_an_action_marked_done_is_dated_and_a_date_needs_done(w, client_for):
    plan, _ = services.action_plan_from_review(review=w.review, user=w.member)
    action = plan.milestones.first()
    url = reverse("qips:part_edit", args=[plan.pk, "milestones", action.pk])
    data = {"title": action.title, "owner": "MDT coordinator", "due_on": "2026-08-10",
            "status": "in_progress", "done_on": "2026-07-01"}
    response = client_for(w.member).post(url, data)
    assert response.status_code == 200
    assert "Clear the date it was done, or set the status to Done" in response.content.decode()
    data.update(status="done", done_on="")
    assert client_for(w.member).post(url, data).status_code == 302
    action.refresh_from_db()
    assert (action.status, action.done_on, action.owner) == (
        Status.DONE, timezone.localdate(), "MDT coordinator")


# --- the core team's follow-up list -----------------------------------------------------------


def _approved_plan(w, **fields) -> QualityImprovementPlan:
    plan, _ = services.action_plan_from_review(review=w.review, user=w.member)
    QualityImprovementPlan.objects.filter(pk=plan.pk).update(
        status=QualityImprovementPlan.Status.APPROVED, approved_at=timezone.now(), **fields)
    plan.refresh_from_db()
    return plan


def test_the_follow_up_list(w, client_for, django_assert_max_num_queries):
    plan = _approved_plan(w, support_requested="Help with the audit",
                          next_review_on=timezone.localdate() + datetime.timedelta(days=10))
    first = plan.milestones.first()
    first.due_on = timezone.localdate() - datetime.timedelta(days=1)
    first.save()
    ProgressUpdate.objects.create(plan=plan, month=timezone.localdate().replace(day=1),
                                  done="Started", rag="green", submitted_by=w.member)
    url = reverse("qips:action_plans", args=[w.programme.pk])
    reset_queries()
    with django_assert_max_num_queries(25) as counted:
        page = client_for(w.core).get(url).content.decode()
    before = len(counted)
    assert "Specialised lung service" in page and "Dr Sam Service" in page
    assert "0 of 2" in page and "1 overdue" in page
    assert "Help with the audit" in page and "Due soon" in page
    for query in ("overdue=1", "support=1", "review_due=1", "overdue=1&support=1&review_due=1"):
        assert plan.title in client_for(w.core).get(f"{url}?{query}").content.decode()
    first.done_on = timezone.localdate()
    first.save()
    assert "No action plans match" in client_for(w.core).get(url + "?overdue=1").content.decode()
    # More plans, same number of queries.
    other = build()
    for extra in range(3):
        QualityImprovementPlan.objects.create(programme=w.programme, site=other.service,
                                              review=None, title=f"Not an action plan {extra}")
    other.review.programme = w.programme
    other.review.save()
    services.action_plan_from_review(review=other.review, user=other.member)
    reset_queries()
    with django_assert_max_num_queries(before):
        page = client_for(w.core).get(url).content.decode()
    assert "Not an action plan" not in page
    for person in (w.member, w.reviewer, w.other_member, w.outsider):
        assert client_for(person).get(url).status_code == 404


def test_the_follow_up_list_is_only_for_one_way_programmes(w, client_for, programme, core):
    assert client_for(core).get(reverse("qips:action_plans", args=[programme.pk])
                                ).status_code == 404


# --- reminders --------------------------------------------------------------------------------


def _at(day: datetime.date):
    return time_machine.travel(datetime.datetime.combine(day, datetime.time(8, 35),
                                                         tzinfo=datetime.UTC), tick=False)


def test_an_action_due_in_a_week_then_overdue_reminds_the_owner_once_each(w):
    plan = _approved_plan(w)
    action = plan.milestones.first()
    due = action.due_on
    with _at(due - datetime.timedelta(days=8)):
        assert reminders.action_reminders_send().sent == 0
    with _at(due - datetime.timedelta(days=7)):
        assert reminders.action_reminders_send().sent == 2  # both actions fall due together
        assert reminders.action_reminders_send().sent == 0
    message = next(m for m in mail.outbox if "pre-MDT triage" in m.subject)
    assert message.to == [w.member.email]
    assert message.subject.startswith('Due in 7 days: the action "Add a pre-MDT triage list')
    assert message.subject.endswith('…"')
    body = message.body
    assert "Dear Dr" in body
    assert "is due on " + f"{due:%A} {due.day} {due:%B %Y}" in body
    assert "From the peer review's finding on S1" in body
    assert f"/qips/{plan.pk}/milestones/{action.pk}/edit/" in body
    assert "Specialised Lung Services Review" in body
    assert "email preferences" in body
    mail.outbox.clear()
    with _at(due + datetime.timedelta(days=1)):
        assert reminders.action_reminders_send().sent == 2
        assert reminders.action_reminders_send().sent == 0
    overdue = next(m for m in mail.outbox if "pre-MDT triage" in m.subject)
    assert overdue.subject.startswith('Overdue: the action "Add a pre-MDT')
    assert "is not marked as done yet" in overdue.body
    # Done: no more reminders, and a held one is dropped from the digest.
    action.done_on = due
    action.save()
    mail.outbox.clear()
    with _at(due + datetime.timedelta(days=2)):
        reminders.action_reminders_send()
        note = Notification.objects.filter(kind="action_overdue", object_id=action.pk).first()
        assert not reminders._action_still_due(note)
    assert all("pre-MDT triage" not in m.subject for m in mail.outbox)
    # Long overdue actions are the core team's to chase, not a flood of stale reminders.
    with _at(due + reminders.ACTION_OVERDUE_FOR + datetime.timedelta(days=1)):
        assert reminders.action_reminders_send().sent == 0


def test_a_draft_action_plan_is_not_reminded(w):
    plan, _ = services.action_plan_from_review(review=w.review, user=w.member)
    due = plan.milestones.first().due_on
    with _at(due - datetime.timedelta(days=3)):
        assert reminders.action_reminders_send().sent == 0


def test_the_next_review_reminds_the_core_team_30_days_ahead(w):
    review_on = timezone.localdate() + datetime.timedelta(days=60)
    plan = _approved_plan(w, next_review_on=review_on)
    with _at(review_on - datetime.timedelta(days=31)):
        assert reminders.action_plan_review_reminders_send().sent == 0
    with _at(review_on - datetime.timedelta(days=30)):
        assert reminders.action_plan_review_reminders_send().sent == 1
        assert reminders.action_plan_review_reminders_send().sent == 0
    message = mail.outbox[-1]
    assert message.to == [w.core.email]
    assert message.subject == (f"Action plan review due {review_on.day} {review_on:%B}: "
                               f"{w.service}")
    assert "is due for review on" in message.body and "in 30 days" in message.body
    assert f"/qips/{plan.pk}/" in message.body
    assert f"/programmes/{w.programme.pk}/action-plans/" in message.body
    # Must send: the core team's preference for a digest does not hold it.
    w.core.reminder_emails = "weekly"
    w.core.save()
    later = review_on + datetime.timedelta(days=100)
    QualityImprovementPlan.objects.filter(pk=plan.pk).update(next_review_on=later)
    with _at(later - datetime.timedelta(days=5)):
        assert reminders.action_plan_review_reminders_send().sent == 1


def test_the_beat_task_runs_both(w):
    from qips.tasks import send_action_plan_reminders

    assert send_action_plan_reminders() == {"sent": 0, "held": 0, "already": 0, "failed": 0,
                                            "refused": 0}
