"""A one-way review's visits, and its findings against the programme's standards.

A review's visit is an ordinary ``Visit`` (visits.services.visits.visit_create) with the
review set and no visiting site: dates, polls, confirmation, calendar invitations,
reminders, the agenda and the visit day are the reciprocal visit's own code, which asks
``visits.services.common.visiting_team`` who the visitors are (the review team, in their
review roles). A one-day review has one visit that is not cancelled; a deep dive as many as
it needs.

Findings are the review team's, one per standard, recorded once a visit of the review has
happened or its date has come, and edited through ilcop.concurrency like any shared text.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.concurrency import lock_for_edit, version_bump
from ilcop.models import User
from programmes.models import CoreTeamMembership, Standard

from ..models import PeerReview, StandardFinding, Visit, VisitAttendee
from .common import visit_people
from .visits import visit_create

Rating = StandardFinding.Rating


@transaction.atomic
def review_visit_add(*, review: PeerReview, user: User, virtual: bool = False,
                     facilitator: User | None = None) -> Visit:
    """Propose a visit for the review: the service hosts, the review team visits. Its
    attendance list starts as the facilitator, the service's current team and the review
    team; the date is found as for any visit (a poll, or the core team's choice)."""
    # Locked, so two clicks cannot give a one-day review two visits.
    review = PeerReview.objects.select_for_update().select_related(
        "programme", "site__organisation").get(pk=review.pk)
    live = review.visits.exclude(status=Visit.Status.CANCELLED)
    if review.format == PeerReview.Format.ONE_DAY and live.exists():
        raise ValidationError(
            "A one-day review has one visit, and this review has one already. To arrange "
            "another, cancel that visit first, or make the review a deep dive.")
    if facilitator is not None and not CoreTeamMembership.objects.filter(
            programme=review.programme, user=facilitator).exists():
        raise ValidationError({"facilitator": "Choose a member of the programme's core team"})
    visit = visit_create(programme=review.programme, host=review.site, review=review,
                         facilitator=facilitator, virtual=virtual, user=user,
                         summary="Review visit proposed" + (", held online" if virtual else ""))
    VisitAttendee.objects.bulk_create(
        VisitAttendee(visit=visit, user=person, team=team, role=role)
        for person, team, role in visit_people(visit))
    return visit


def findings_open(review: PeerReview) -> bool:
    """Findings are recorded once the review team has seen the service: a visit of the
    review has happened, or its date has come."""
    return review.visits.filter(
        Q(status__in=(Visit.Status.HAPPENED, Visit.Status.REPORT_SENT))
        | Q(date__lte=timezone.localdate())).exclude(status=Visit.Status.CANCELLED).exists()


def finding_problems(*, rating: str, evidence: str, recommendation: str) -> dict[str, str]:
    """What a finding lacks, by field: a rating, the evidence seen, and how the service could
    improve whenever a standard is not fully met (seed 003: services wanted to know how, not
    only what)."""
    problems = {}
    if rating not in Rating.values:
        problems["rating"] = "Choose whether the standard is met, partly met or not met"
    if not evidence.strip():
        problems["evidence"] = "Enter the evidence the review team saw"
    if rating in (Rating.PARTLY_MET, Rating.NOT_MET) and not recommendation.strip():
        problems["recommendation"] = (
            "Enter how the service could improve: the standard is "
            f"{Rating(rating).label.lower()}, so the service needs to know what to do next")
    return problems


@transaction.atomic
def finding_record(*, review: PeerReview, standard: Standard, user: User, rating: str,
                   evidence: str, recommendation: str = "", good_practice: str = "",
                   version: int | None = None) -> StandardFinding:
    """Record the finding against ``standard``, or change it. ``version`` is the one the
    form was opened from, None when it was opened before there was a finding: a finding saved
    by someone else since is refused with ilcop.concurrency.EditConflict (unless it says the
    same), nothing written."""
    if standard.programme_id != review.programme_id:
        raise ValidationError("That standard is not one of this programme's.")
    if not findings_open(review):
        raise ValidationError("Findings are recorded once a visit of the review has happened "
                              "or its date has come.")
    problems = finding_problems(rating=rating, evidence=evidence,
                                recommendation=recommendation)
    if problems:
        raise ValidationError(problems)
    fields = {"rating": rating, "evidence": evidence.strip(),
              "recommendation": recommendation.strip(), "good_practice": good_practice.strip()}
    existing = StandardFinding.objects.filter(review=review, standard=standard).first()
    if existing is None:
        finding = StandardFinding.objects.create(review=review, standard=standard,
                                                 recorded_by=user, **fields)
        verb, summary = "finding.recorded", f"Recorded the finding for {standard.code}"
    else:
        # Opened as a new finding, and someone has recorded one since: that is a conflict too.
        finding = lock_for_edit(StandardFinding.objects.all(), pk=existing.pk,
                                version=-1 if version is None else version, changes=fields)
        if all(getattr(finding, name) == value for name, value in fields.items()):
            return finding
        version_bump(finding)
        for name, value in fields.items():
            setattr(finding, name, value)
        finding.recorded_by, finding.recorded_at = user, timezone.now()
        finding.save(update_fields=[*fields, "recorded_by", "recorded_at"])
        verb, summary = "finding.changed", f"Changed the finding for {standard.code}"
    log_action(finding, verb, actor=user, summary=f"{summary}: {finding.get_rating_display()}",
               data={"review": review.pk, "standard": standard.pk, "rating": rating},
               scopes=[review.programme, review.site])
    return finding


@dataclass(frozen=True)
class FindingSummary:
    met: int
    partly_met: int
    not_met: int
    standards: int  # the programme's standards, with a finding or not

    @property
    def recorded(self) -> int:
        return self.met + self.partly_met + self.not_met

    @property
    def outstanding(self) -> int:
        return self.standards - self.recorded


def finding_summary(ratings: list[str], standards: int) -> FindingSummary:
    """The counts a review page shows, from each finding's rating."""
    return FindingSummary(met=ratings.count(Rating.MET),
                          partly_met=ratings.count(Rating.PARTLY_MET),
                          not_met=ratings.count(Rating.NOT_MET), standards=standards)
