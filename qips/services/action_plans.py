"""A one-way review's action plan, and sharing a review's good practice in the library.

An action plan is a ``QualityImprovementPlan`` with ``review`` set: one action (a
``Milestone``) per standard the review found partly met or not met, so the monthly updates,
reminders, the review workflow and the core team's lists serve it as they serve any plan.
What differs is what must be in it before review: a named owner, at least one action, and
(before approval) the date of the next review (seed 003: nobody owned the action plan, and
there was no follow-up or next review date).
"""

import calendar
import datetime

from django.db import transaction
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.models import User
from programmes.models import Resource, ResourceTopic
from visits.models import PeerReview, StandardFinding

from ..models import Milestone, QualityImprovementPlan

Rating = StandardFinding.Rating

# Three months gives a service time to act on a finding and still falls before the first
# quarterly follow-up; the service changes each date to suit.
ACTION_DUE_MONTHS = 3
ACTION_TITLE_LENGTH = Milestone._meta.get_field("title").max_length
PLAN_TITLE_LENGTH = QualityImprovementPlan._meta.get_field("title").max_length
LIBRARY_TOPIC = "Good practice from reviews"


class ActionPlanRefused(Exception):
    pass


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day ``months`` later, or the month's last day when it is shorter (31 January
    plus one month is 28 or 29 February)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month,
                       day=min(day.day, calendar.monthrange(year, month)[1]))


def shorten(text: str, limit: int) -> str:
    """The first line of ``text``, cut at a word before ``limit`` characters with an
    ellipsis, so a long recommendation still reads as a title."""
    line = " ".join(text.strip().splitlines()[0].split()) if text.strip() else ""
    if len(line) <= limit:
        return line
    cut = line[:limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:.")
    return (cut or line[:limit - 1]) + "…"


def action_title(finding: StandardFinding) -> str:
    if finding.recommendation.strip():
        return shorten(finding.recommendation, ACTION_TITLE_LENGTH)
    return shorten(f"Meet {finding.standard.code}: {finding.standard.title}",
                   ACTION_TITLE_LENGTH)


def plan_title(codes: list[str]) -> str:
    if not codes:
        return "Action plan after the peer review"
    return shorten("Action plan: " + ", ".join(codes), PLAN_TITLE_LENGTH)


def _log(plan: QualityImprovementPlan, verb: str, user: User, summary: str, **data) -> None:
    log_action(plan, verb, actor=user, summary=summary, data=data,
               scopes=[plan.programme, plan.site])


def action_plan_from_review(*, review: PeerReview, user: User,
                            today: datetime.date | None = None
                            ) -> tuple[QualityImprovementPlan, bool]:
    """The review's action plan, made once: a second request (or a double-submitted form)
    finds the plan already made. Refused until the review team has recorded a finding."""
    today = today or timezone.localdate()
    with transaction.atomic():
        PeerReview.objects.select_for_update().get(pk=review.pk)
        existing = QualityImprovementPlan.objects.filter(review=review).first()
        if existing:
            return existing, False
        findings = list(review.findings.select_related("standard"))
        if not findings:
            raise ActionPlanRefused(
                "The review team has not recorded any findings yet. The action plan is made "
                "from the findings, so start it once they are recorded.")
        to_act = [f for f in findings if f.rating != Rating.MET]
        is_member = review.site.memberships.filter(user=user, ended_at__isnull=True).exists()
        plan = QualityImprovementPlan.objects.create(
            programme=review.programme, site=review.site, review=review,
            title=plan_title([f.standard.code for f in to_act]), created_by=user,
            # The core team may start the plan, but the owner is the service's to name.
            reporting_owner=user if is_member else None,
            problem_statement="\n".join(
                f"{f.standard.code} {f.standard.title}: {f.get_rating_display().lower()}"
                for f in to_act))
        due_on = add_months(today, ACTION_DUE_MONTHS)
        Milestone.objects.bulk_create([
            Milestone(plan=plan, title=action_title(f), due_on=due_on, finding=f,
                      status=Milestone.Status.NOT_STARTED) for f in to_act])
        _log(plan, "qip.action_plan_created", user, "Started the action plan after the peer "
             "review", review=review.pk, actions=len(to_act))
    return plan, True


def submit_problems(plan: QualityImprovementPlan) -> list[str]:
    """What an action plan needs before the core team can review it."""
    problems = []
    if plan.reporting_owner_id is None:
        problems.append("Name the plan's owner (Edit the plan): the person who answers for "
                        "it and sends the monthly update.")
    if not plan.milestones.exists():
        problems.append("Add at least one action.")
    return problems


def approval_problems(plan: QualityImprovementPlan) -> list[str]:
    """What an action plan needs before the core team can approve it."""
    problems = submit_problems(plan)
    if plan.next_review_on is None:
        problems.append("Set the next review date (Edit the plan): when the core team and "
                        "the service will next look at progress together.")
    return problems


# --- Shared learning --------------------------------------------------------------------------


@transaction.atomic
def finding_to_library(*, finding: StandardFinding, user: User, title: str,
                       body: str) -> Resource:
    """Share a finding's good practice in the programme's library, as text the core team has
    checked names nobody. Once shared, a second request returns the same resource."""
    finding = StandardFinding.objects.select_for_update().select_related(
        "review__programme", "standard").get(pk=finding.pk)
    if finding.library_resource_id:
        return finding.library_resource
    if not body.strip():
        raise ActionPlanRefused("Write the good practice to share.")
    programme = finding.review.programme
    resource = Resource.objects.create(
        programme=programme, title=title.strip()[:200], body=body.strip(),
        kind=Resource.Kind.EXAMPLE, after_visit=True, created_by=user)
    topic = (ResourceTopic.objects.filter(programme=programme, name__iexact=LIBRARY_TOPIC)
             .first() or ResourceTopic.objects.create(programme=programme, name=LIBRARY_TOPIC))
    resource.topics.add(topic)
    finding.library_resource = resource
    finding.save(update_fields=["library_resource"])
    log_action(resource, "resource.from_review", actor=user,
               summary="Shared good practice from a peer review in the library",
               data={"finding": finding.pk, "review": finding.review_id},
               scopes=[programme])
    return resource
