"""A one-way review's report beyond the visit report itself: its distribution list, the
redacted version published beyond the service's organisation, and how widely it is published.

The report is a visit report version on the review's report visit
(visits.selectors_reviews.report_visit), approved and sent by visits.services.report, which
sends it to exactly the distribution list kept here. Nothing is published beyond the
organisation until the core team has approved a redacted version (PeerReview.published_html,
frozen at approval); the database's check constraint backs that up.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.concurrency import lock_for_edit, version_bump
from ilcop.models import User
from programmes.models import SiteMembership

from ..models import PeerReview, ReportRecipient, StandardFinding, Visit, VisitReport
from ..report import DRAFT_TEMPLATE, draft_fingerprint, report_content
from ..review_report import latest_report
from ..selectors_reviews import report_visit

Visibility = PeerReview.Visibility


def _log(review: PeerReview, verb: str, summary: str, *, user: User | None,
         data: dict | None = None) -> None:
    log_action(review, verb, actor=user, summary=summary, data=data,
               scopes=[review.programme, review.site])


# --- the distribution list -------------------------------------------------------------------


def _person(*, email: str, full_name: str) -> User:
    """The account with this address, or a new one without a password: they are emailed the
    PDF and need never sign in."""
    email = User.objects.normalize_email(email.strip()).lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=None,
                                        full_name=full_name.strip())
    return user


@transaction.atomic
def recipient_add(*, review: PeerReview, user: User, role: str, full_name: str,
                  email: str) -> ReportRecipient:
    if role not in ReportRecipient.Role.values:
        raise ValidationError({"role": "Choose the person's role"})
    if not full_name.strip():
        raise ValidationError({"full_name": "Enter the person's full name"})
    person = _person(email=email, full_name=full_name)
    if not person.is_active:
        raise ValidationError({"email": "This person's account has been closed, so they "
                                        "cannot be sent the report"})
    if review.distribution.filter(user=person).exists():
        raise ValidationError({"email": f"{person} is already on the distribution list"})
    entry = ReportRecipient.objects.create(review=review, role=role, user=person, added_by=user)
    _log(review, "review.recipient_added",
         f"Added a person to the report's distribution list ({entry.get_role_display()})",
         user=user, data={"recipient": entry.pk, "user": person.pk, "role": role})
    return entry


@transaction.atomic
def recipients_add_team(*, review: PeerReview, user: User) -> int:
    """Put the service's current team on the list (as "the service team"), leaving out those
    already on it. Returns how many were added."""
    on_list = set(review.distribution.values_list("user_id", flat=True))
    members = (SiteMembership.objects.current().filter(site_id=review.site_id,
                                                       user__is_active=True)
               .exclude(user_id__in=on_list).order_by("user_id"))
    added = []
    for user_id in dict.fromkeys(members.values_list("user_id", flat=True)):
        added.append(ReportRecipient(review=review, role=ReportRecipient.Role.SERVICE_TEAM,
                                     user_id=user_id, added_by=user))
    ReportRecipient.objects.bulk_create(added)
    if added:
        _log(review, "review.recipients_added",
             f"Added the service's team to the report's distribution list ({len(added)})",
             user=user, data={"users": [entry.user_id for entry in added]})
    return len(added)


@transaction.atomic
def recipient_remove(*, recipient: ReportRecipient, user: User) -> None:
    """Take someone off the list. What they were sent already is theirs: only later versions
    do not go to them."""
    review = recipient.review
    _log(review, "review.recipient_removed",
         f"Removed a person from the report's distribution list "
         f"({recipient.get_role_display()})", user=user,
         data={"recipient": recipient.pk, "user": recipient.user_id, "role": recipient.role})
    recipient.delete()


# --- redaction and publication ---------------------------------------------------------------


def redacted_html(visit: Visit, report: VisitReport | None) -> str:
    """The report as published beyond the organisation: the same template as the report,
    read with ``redacted`` (visits.review_report), naming nobody."""
    return render_to_string(DRAFT_TEMPLATE, {
        "visit": visit, "programme": visit.programme, "report": report, "pdf": False,
        "redacted": True, "content": report_content(visit, redacted=True),
    })


def _withdraw(review: PeerReview, user: User, *, reason: str) -> None:
    """Back to the organisation only, with no approved redaction (one UPDATE, so the check
    constraint holds throughout)."""
    PeerReview.objects.filter(pk=review.pk).update(
        visibility=Visibility.ORGANISATION, redaction_approved_at=None,
        redaction_approved_by=None, published_html="")
    review.visibility, review.redaction_approved_at = Visibility.ORGANISATION, None
    review.redaction_approved_by, review.published_html = None, ""
    _log(review, "review.redaction_withdrawn",
         f"The redaction's approval was withdrawn: {reason}", user=user)


@transaction.atomic
def published_evidence_save(*, finding: StandardFinding, user: User, text: str,
                            version: int | None) -> StandardFinding:
    """Save a finding's evidence as published. Once a redaction has been approved, a change
    withdraws that approval and sets the visibility back to the organisation: what is
    published is only ever what was approved."""
    text = text.strip()
    if not text:
        raise ValidationError({"published_evidence": "Enter the evidence as it should be "
                                                     "published, without anyone's name"})
    finding = lock_for_edit(StandardFinding.objects.select_related("review__programme",
                                                                   "review__site", "standard"),
                            pk=finding.pk, version=version,
                            changes={"published_evidence": text})
    if finding.published_evidence == text:
        return finding
    version_bump(finding)
    finding.published_evidence = text
    finding.save(update_fields=["published_evidence"])
    review = finding.review
    _log(review, "review.published_evidence_saved",
         f"Edited the published evidence for standard {finding.standard.code}", user=user,
         data={"finding": finding.pk})
    if review.redaction_approved_at is not None:
        _withdraw(review, user, reason="the published evidence was edited")
    return finding


@transaction.atomic
def redaction_approve(*, review: PeerReview, user: User, draft: str | None = None
                      ) -> PeerReview:
    """Freeze the redacted report as it stands (``published_html``). ``draft`` is the
    fingerprint of the preview the approver read; a preview changed since is not approved.
    Refused until a version of the report has been approved, and while a finding has no
    evidence as published."""
    review = PeerReview.objects.select_for_update(of=("self",)).select_related(
        "programme", "site__organisation").get(pk=review.pk)
    visit = report_visit(review)
    latest = latest_report(visit)
    if latest is None:
        raise ValidationError("Approve the report first: the published version is made from "
                              "an approved report.")
    missing = [f.standard.code for f in review.findings.select_related("standard")
               if not f.published_evidence.strip()]
    if missing:
        raise ValidationError("Write the evidence as published for standard "
                              f"{', '.join(missing)} first, then approve the redaction.")
    html = redacted_html(visit, latest)
    if draft is not None and draft != draft_fingerprint(html):
        raise ValidationError("The redacted report has changed since you opened this page. "
                              "Read the preview again, then approve it.")
    review.published_html = html
    review.redaction_approved_at, review.redaction_approved_by = timezone.now(), user
    review.save(update_fields=["published_html", "redaction_approved_at",
                               "redaction_approved_by"])
    _log(review, "review.redaction_approved",
         f"Approved the redacted report (from version {latest.version})", user=user,
         data={"version": latest.version})
    return review


@transaction.atomic
def visibility_set(*, review: PeerReview, user: User, visibility: str) -> PeerReview:
    if visibility not in Visibility.values:
        raise ValidationError({"visibility": "Choose who may read the report"})
    review = PeerReview.objects.select_for_update(of=("self",)).select_related(
        "programme", "site").get(pk=review.pk)
    if visibility != Visibility.ORGANISATION and review.redaction_approved_at is None:
        raise ValidationError({"visibility": "Approve the redacted report before publishing "
                                             "it beyond the service's organisation"})
    if review.visibility == visibility:
        return review
    before = review.visibility
    review.visibility = visibility
    review.save(update_fields=["visibility"])
    _log(review, "review.visibility_set",
         f"Set who may read the report to: {review.get_visibility_display()}", user=user,
         data={"from": before, "to": visibility})
    return review
