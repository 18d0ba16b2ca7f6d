"""Setting up a one-way peer review (visits.models.review): creating it from a surveillance
decision, its reviewer team, the pre-visit checklist, lines of enquiry, documents and the
contact with a service reviewed before.

Why the set-up looks as it does (seed 003, the evaluation of NHS England's quality
surveillance peer reviews): services found "pre-visit processes unclear" and preparation
"heavy" (they gathered far more evidence than the reviewers read), so the checklist is short
and says who does what, and documents are only what the reviewers need; the visit gave
"little help on how to improve", so a few key lines of enquiry are agreed with the service
beforehand; one service "sought out a service reviewed earlier" to learn what to expect, so
the core team may put them in touch, with that service's agreement.
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.concurrency import lock_for_edit, version_bump
from ilcop.models import User
from ilcop.uploads import display_name, validate_upload
from programmes import review_team
from programmes.models import Reviewer, Site, SiteMembership, Standard, SurveillanceDecision

from ..models import (
    LineOfEnquiry,
    PeerReview,
    ReportRecipient,
    ReviewChecklistItem,
    ReviewDocument,
    ReviewTeamMember,
    Visit,
    VisitAttendee,
)

# The default pre-visit checklist. Seed 003 heard that pre-visit processes were unclear and
# that preparing for a review was heavy, so the list is short, each step names who does it,
# and documents are limited to what the reviewers need.
PRE_VISIT_CHECKLIST = (
    "The service and the lead reviewer agree a few key lines of enquiry",
    "The service shares the key documents the reviewers need, and only those",
    "The service confirms who from the team will attend on the day",
    "The core team books the rooms, or sends the online meeting link",
    "The service team reads the guidance on what happens before, on and after the visit",
)

REVIEWER_ROLES = ("lead_reviewer", "clinical_peer", "patient_reviewer")


def _log(review: PeerReview, verb: str, summary: str, *, user: User,
         data: dict | None = None) -> None:
    log_action(review, verb, actor=user, summary=summary, data=data,
               scopes=[review.programme, review.site])


@transaction.atomic
def review_create(*, decision: SurveillanceDecision, user: User,
                  format: str = PeerReview.Format.ONE_DAY) -> PeerReview:
    """The peer review a surveillance decision chose, with its default checklist and the
    service's current team as the report's first distribution list. One per decision: asked
    again, it returns the review already made."""
    decision = (SurveillanceDecision.objects.select_for_update(of=("self",))
                .select_related("report__cycle__programme", "report__site__organisation")
                .get(pk=decision.pk))
    existing = PeerReview.objects.filter(decision=decision).first()
    if existing is not None:
        return existing
    if not decision.peer_review:
        raise ValidationError("This decision did not choose a peer review. Change the decision "
                              "to include a peer review first, then set the review up.")
    if format not in PeerReview.Format.values:
        raise ValidationError("Select the review's format: a one-day review or a deep dive")
    report = decision.report
    review = PeerReview.objects.create(programme=report.cycle.programme, site=report.site,
                                       decision=decision, format=format, created_by=user)
    ReviewChecklistItem.objects.bulk_create(
        ReviewChecklistItem(review=review, text=text, order=order)
        for order, text in enumerate(PRE_VISIT_CHECKLIST, start=1))
    team = (SiteMembership.objects.current().filter(site=report.site)
            .values_list("user_id", flat=True).distinct())
    ReportRecipient.objects.bulk_create(
        ReportRecipient(review=review, role=ReportRecipient.Role.SERVICE_TEAM, user_id=user_id,
                        added_by=user)
        for user_id in team)
    _log(review, "review.created", "Set up a peer review of the service", user=user,
         data={"decision": decision.pk, "format": format})
    return review


# --- the team ------------------------------------------------------------------------------


def candidate_of(reviewer: Reviewer) -> review_team.Candidate:
    organisation = reviewer.organisation
    return review_team.Candidate(
        reviewer_id=reviewer.pk, name=reviewer.user.full_name or str(reviewer.user),
        is_patient_reviewer=reviewer.is_patient_reviewer,
        organisation_id=reviewer.organisation_id,
        organisation_name=organisation.name if organisation else "",
        network=organisation.network if organisation else "",
        trained=reviewer.training_completed_on is not None, active=reviewer.active,
        conflicts={c.organisation_id: c.description for c in reviewer.conflicts.all()})


def service_of(review: PeerReview) -> review_team.Service:
    organisation = review.site.organisation
    return review_team.Service(organisation_id=organisation.pk,
                               organisation_name=organisation.name,
                               network=organisation.network)


@transaction.atomic
def review_team_set(*, review: PeerReview, reviewer_ids: Iterable[int], lead_id: int | None,
                    user: User, mix_reason: str = "") -> list[ReviewTeamMember]:
    """Replace the review's team. Any conflict of interest refuses the whole team, with every
    reason (programmes.review_team); a team short of the programme's mix is saved only with a
    reason, kept on the review. The reviewers are kept in step as the "visiting" attendees of
    every visit of the review that is not cancelled."""
    review = (PeerReview.objects.select_for_update(of=("self",))
              .select_related("programme", "site__organisation").get(pk=review.pk))
    ids = list(dict.fromkeys(int(i) for i in reviewer_ids))
    reviewers = list(Reviewer.objects.filter(programme=review.programme, pk__in=ids)
                     .select_related("user", "organisation").prefetch_related("conflicts"))
    if len(reviewers) != len(ids):
        raise ValidationError("A reviewer you chose is no longer in the programme's pool. "
                              "Reload the page and choose again.")
    if not reviewers:
        raise ValidationError("Choose at least one reviewer")
    if lead_id is None or int(lead_id) not in ids:
        raise ValidationError("Choose the lead reviewer from the reviewers you ticked")
    lead_id = int(lead_id)
    programme = review.programme
    check = review_team.check_team(service_of(review), map(candidate_of, reviewers),
                                   min_clinical=programme.review_team_min_clinical,
                                   min_patient=programme.review_team_min_patient)
    if check.refused:
        raise ValidationError([message for reviewer in reviewers
                               for message in check.refused.get(reviewer.pk, [])])
    mix_reason = (mix_reason or "").strip()
    if check.mix and not mix_reason:
        raise ValidationError([*check.mix, "Add more reviewers, or say why this team should "
                                           "go ahead as it is."])

    review.team.exclude(reviewer_id__in=ids).delete()
    review.team.exclude(reviewer_id=lead_id).filter(is_lead=True).update(is_lead=False)
    kept = {m.reviewer_id: m for m in review.team.all()}
    for reviewer in reviewers:
        member = kept.get(reviewer.pk)
        if member is None:
            ReviewTeamMember.objects.create(review=review, reviewer=reviewer,
                                            is_lead=reviewer.pk == lead_id)
        elif member.is_lead != (reviewer.pk == lead_id):
            member.is_lead = reviewer.pk == lead_id
            member.save(update_fields=["is_lead"])
    review.team_mix_reason = mix_reason if check.mix else ""
    review.save(update_fields=["team_mix_reason"])
    team = list(review.team.select_related("reviewer__user"))
    _attendees_in_step(review, team)
    _log(review, "review.team_set", "Chose the review team", user=user,
         data={"reviewers": ids, "lead": lead_id, "short_of_mix": bool(check.mix)})
    return team


def _attendees_in_step(review: PeerReview, team: list[ReviewTeamMember]) -> None:
    roles = {m.reviewer.user_id: m.role for m in team}
    for visit in review.visits.exclude(status=Visit.Status.CANCELLED):
        attendees = {a.user_id: a for a in visit.attendees.all()}
        for attendee in attendees.values():
            if (attendee.team == VisitAttendee.Team.VISITING
                    and attendee.role in REVIEWER_ROLES and attendee.user_id not in roles):
                attendee.delete()
        for user_id, role in roles.items():
            attendee = attendees.get(user_id)
            if attendee is None:
                VisitAttendee.objects.create(visit=visit, user_id=user_id, role=role,
                                             team=VisitAttendee.Team.VISITING)
            elif attendee.team == VisitAttendee.Team.VISITING and attendee.role != role:
                attendee.role = role
                attendee.save(update_fields=["role"])


# --- checklist, lines of enquiry, documents, previous contact -------------------------------


@transaction.atomic
def checklist_item_set(*, item: ReviewChecklistItem, done: bool,
                       user: User) -> ReviewChecklistItem:
    """Tick or untick a step, as sent: the same request twice changes nothing."""
    item = ReviewChecklistItem.objects.select_for_update().select_related(
        "review__programme", "review__site").get(pk=item.pk)
    if (item.done_at is not None) == done:
        return item
    item.done_at, item.done_by = (timezone.now(), user) if done else (None, None)
    item.save(update_fields=["done_at", "done_by"])
    _log(item.review, "review.checklist_ticked" if done else "review.checklist_unticked",
         ("Ticked" if done else "Unticked") + " a step of the pre-visit checklist", user=user,
         data={"item": item.pk})
    return item


def _clear_agreement(review: PeerReview) -> bool:
    """A change to the lines after they were agreed undoes the agreement: what was agreed is
    no longer what is written."""
    if review.lines_agreed_at is None:
        return False
    PeerReview.objects.filter(pk=review.pk).update(lines_agreed_at=None, lines_agreed_by=None)
    review.lines_agreed_at, review.lines_agreed_by = None, None
    return True


def _standard(review: PeerReview, standard: Standard | None) -> Standard | None:
    if standard is not None and standard.programme_id != review.programme_id:
        raise ValidationError("Choose one of this programme's standards")
    return standard


def _text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError("Enter the line of enquiry")
    return text


@transaction.atomic
def line_add(*, review: PeerReview, user: User, text: str,
             standard: Standard | None = None) -> LineOfEnquiry:
    text, standard = _text(text), _standard(review, standard)
    last = review.lines_of_enquiry.order_by("-order").values_list("order", flat=True).first()
    line = LineOfEnquiry.objects.create(review=review, standard=standard, text=text,
                                        proposed_by=user, order=(last or 0) + 1)
    cleared = _clear_agreement(review)
    _log(review, "review.line_added", "Added a line of enquiry", user=user,
         data={"line": line.pk, "agreement_cleared": cleared})
    return line


@transaction.atomic
def line_update(*, line: LineOfEnquiry, user: User, text: str,
                standard: Standard | None = None) -> LineOfEnquiry:
    line = LineOfEnquiry.objects.select_for_update().select_related(
        "review__programme", "review__site").get(pk=line.pk)
    text, standard = _text(text), _standard(line.review, standard)
    if line.text == text and line.standard_id == (standard.pk if standard else None):
        return line
    line.text, line.standard = text, standard
    line.save(update_fields=["text", "standard"])
    cleared = _clear_agreement(line.review)
    _log(line.review, "review.line_changed", "Changed a line of enquiry", user=user,
         data={"line": line.pk, "agreement_cleared": cleared})
    return line


@transaction.atomic
def line_remove(*, line: LineOfEnquiry, user: User) -> None:
    review = line.review
    pk = line.pk
    line.delete()
    cleared = _clear_agreement(review)
    _log(review, "review.line_removed", "Removed a line of enquiry", user=user,
         data={"line": pk, "agreement_cleared": cleared})


@transaction.atomic
def lines_agree(*, review: PeerReview, user: User) -> PeerReview:
    """Record that the lines of enquiry as they stand are agreed. Agreeing again changes
    nothing."""
    review = PeerReview.objects.select_for_update(of=("self",)).select_related(
        "programme", "site").get(pk=review.pk)
    if review.lines_agreed_at is not None:
        return review
    if not review.lines_of_enquiry.exists():
        raise ValidationError("Add at least one line of enquiry before agreeing them")
    review.lines_agreed_at, review.lines_agreed_by = timezone.now(), user
    review.save(update_fields=["lines_agreed_at", "lines_agreed_by"])
    _log(review, "review.lines_agreed", "Agreed the lines of enquiry", user=user)
    return review


@transaction.atomic
def document_add(*, review: PeerReview, user: User, title: str,
                 upload: UploadedFile) -> ReviewDocument:
    title = (title or "").strip()
    if not title:
        raise ValidationError("Enter the document's title")
    validate_upload(upload)
    document = ReviewDocument(review=review, title=title, uploaded_by=user,
                              filename=display_name(upload.name), size=upload.size)
    document.full_clean(exclude=["file"])
    # Everything is checked before the file is stored, so a refused upload stores nothing.
    document.file.save(upload.name, upload, save=False)
    document.save()
    _log(review, "review.document_added", "Shared a document with the reviewers", user=user,
         data={"document": document.pk, "size": document.size})
    return document


@transaction.atomic
def previous_contact_set(*, review: PeerReview, user: User, site: Site | None, details: str,
                         version: int | None = None) -> PeerReview:
    """Put the service in touch with one reviewed before (with that service's agreement).
    ``version`` is the one the form was opened from: ``EditConflict`` if someone else has
    saved since and this would overwrite it."""
    details = (details or "").strip()
    if site is not None:
        if site.pk == review.site_id:
            raise ValidationError("Choose another service: this is the one under review")
        if not PeerReview.objects.filter(
                programme=review.programme_id, site=site,
                visits__status__in=(Visit.Status.HAPPENED, Visit.Status.REPORT_SENT)).exists():
            raise ValidationError("Choose a service in this programme whose review visit has "
                                  "happened")
    if site is None and details:
        raise ValidationError("Choose the service these contact details are for")
    current = lock_for_edit(
        PeerReview.objects.select_related("programme", "site", "previous_contact_site"),
        pk=review.pk, version=version,
        changes={"previous_contact_site": site, "previous_contact_details": details})
    if (current.previous_contact_site_id == (site.pk if site else None)
            and current.previous_contact_details == details):
        return current
    version_bump(current)
    current.previous_contact_site, current.previous_contact_details = site, details
    current.save(update_fields=["previous_contact_site", "previous_contact_details"])
    _log(current, "review.previous_contact_set",
         "Put the service in touch with a service reviewed before" if site
         else "Removed the contact with a service reviewed before", user=user,
         data={"site": site.pk if site else None})
    return current
