"""A one-way review's report beyond the visit report page: its distribution list with each
person's delivery, the redaction and visibility of its published version, and the pages that
show published versions.

Who may do what (404 for a review you cannot see, 403 for what you may not do on one you can):

- ``review_distribution``: the core team keeps the list (``review_recipient_add``,
  ``review_recipients_add_team``, ``review_recipient_remove``); the service's members and
  the review team read it, so they know who gets the report.
- ``review_publication``: the core team's page for the evidence as published
  (``review_published_evidence``), the redacted preview and its approval
  (``review_redaction_approve``), and who may read it (``review_visibility``).
- ``published_reviews``: a programme's published reports, for its participants and
  reviewers, each as visits.selectors_reviews.published_reviews_for allows.
- ``published_review``: one published (redacted) report, for whoever
  visits.selectors_reviews.may_read_published allows: anyone, signed in or not, when the
  review is public.

The full report itself is the visit report of the review's report visit
(visits.views_report).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from ilcop.concurrency import Conflict, EditConflict, differences, single_submission
from programmes.models import Programme
from programmes.selectors.participants import is_core_team, participant_programmes

from .forms_review_reports import (
    PublishedEvidenceForm,
    RecipientForm,
    RedactionApproveForm,
    VisibilityForm,
)
from .models import PeerReview, ReportRecipient, StandardFinding
from .report import draft_fingerprint
from .review_report import distribution, latest_report
from .selectors_reviews import (
    is_published,
    may_read_published,
    published_reviews_for,
    report_visit,
    review_for_user,
)
from .services import review_reports as services


def _review(request: HttpRequest, pk: int) -> tuple[PeerReview, bool]:
    """The review for those who may see it (404 for anyone else), and whether this person is
    in its programme's core team."""
    review = review_for_user(request.user, pk)
    request.programme = review.programme
    return review, is_core_team(request.user, review.programme)


def _core_review(request: HttpRequest, pk: int) -> PeerReview:
    review, is_core = _review(request, pk)
    if not is_core:
        raise PermissionDenied("Only the programme's core team changes the report's "
                               "distribution and publication")
    return review


def _errors(exc: ValidationError) -> list[str]:
    return [message for messages_ in (exc.message_dict.values() if hasattr(exc, "error_dict")
                                      else [exc.messages]) for message in messages_]


# --- the distribution list -------------------------------------------------------------------


def _distribution_page(request: HttpRequest, review: PeerReview, *, is_core: bool,
                       form: RecipientForm | None = None, status: int = 200) -> HttpResponse:
    return render(request, "visits/review_reports/distribution.html", {
        "review": review, "programme": review.programme, "is_core": is_core,
        "distribution": distribution(review), "form": form or RecipientForm(),
    }, status=status)


@login_required
@require_GET
def review_distribution(request: HttpRequest, pk: int) -> HttpResponse:
    review, is_core = _review(request, pk)
    return _distribution_page(request, review, is_core=is_core)


def _to_distribution(review: PeerReview) -> HttpResponse:
    return redirect(reverse("visits:review_distribution", args=[review.pk]) + "#list")


@login_required
@require_POST
@single_submission
def review_recipient_add(request: HttpRequest, pk: int) -> HttpResponse:
    review = _core_review(request, pk)
    form = RecipientForm(request.POST)
    if form.is_valid():
        try:
            entry = services.recipient_add(review=review, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc)
        else:
            messages.success(request, f"{entry.user} has been added to the distribution list")
            return _to_distribution(review)
    return _distribution_page(request, review, is_core=True, form=form)


@login_required
@require_POST
def review_recipients_add_team(request: HttpRequest, pk: int) -> HttpResponse:
    review = _core_review(request, pk)
    added = services.recipients_add_team(review=review, user=request.user)
    if added:
        messages.success(request, f"Added {added} {'person' if added == 1 else 'people'} from "
                                  "the service's team")
    else:
        messages.info(request, "Everyone in the service's team is on the list already")
    return _to_distribution(review)


@login_required
@require_POST
def review_recipient_remove(request: HttpRequest, pk: int, recipient_pk: int) -> HttpResponse:
    review = _core_review(request, pk)
    entry = ReportRecipient.objects.filter(pk=recipient_pk, review=review).select_related(
        "user").first()
    if entry is None:
        # Already removed (a second click, or a colleague): nothing left to do.
        messages.info(request, "That person is no longer on the list")
        return _to_distribution(review)
    entry.review = review
    services.recipient_remove(recipient=entry, user=request.user)
    messages.success(request, f"{entry.user} has been taken off the distribution list")
    return _to_distribution(review)


# --- redaction and visibility ----------------------------------------------------------------


def _publication_page(request: HttpRequest, review: PeerReview, *,
                      evidence_forms: dict[int, PublishedEvidenceForm] | None = None,
                      visibility_form: VisibilityForm | None = None,
                      conflict: Conflict | None = None, errors: list[str] | None = None,
                      status: int = 200) -> HttpResponse:
    findings = list(review.findings.select_related("standard"))
    evidence_forms = evidence_forms or {}
    rows = [(finding, evidence_forms.get(finding.pk) or PublishedEvidenceForm(
        prefix=f"finding-{finding.pk}",
        initial={"published_evidence": finding.published_evidence or finding.evidence,
                 "version": finding.version})) for finding in findings]
    visit = report_visit(review)
    latest = latest_report(visit)
    preview = services.redacted_html(visit, latest) if visit is not None else ""
    return render(request, "visits/review_reports/publication.html", {
        "review": review, "programme": review.programme, "rows": rows, "visit": visit,
        "latest": latest, "preview": preview, "published": is_published(review),
        "approve_form": RedactionApproveForm(initial={"draft": draft_fingerprint(preview)}),
        "visibility_form": visibility_form or VisibilityForm(
            initial={"visibility": review.visibility}),
        "unwritten": [f.standard.code for f in findings if not f.published_evidence.strip()],
        "conflict": conflict, "errors": errors or [],
    }, status=status)


@login_required
@require_GET
def review_publication(request: HttpRequest, pk: int) -> HttpResponse:
    return _publication_page(request, _core_review(request, pk))


def _to_publication(review: PeerReview, anchor: str = "") -> HttpResponse:
    return redirect(reverse("visits:review_publication", args=[review.pk]) + anchor)


@login_required
@require_POST
def review_published_evidence(request: HttpRequest, pk: int, finding_pk: int) -> HttpResponse:
    review = _core_review(request, pk)
    finding = get_object_or_404(StandardFinding.objects.select_related("standard"),
                                pk=finding_pk, review=review)
    form = PublishedEvidenceForm(request.POST, prefix=f"finding-{finding.pk}")
    conflict = None
    if form.is_valid():
        was_published = review.redaction_approved_at is not None
        try:
            services.published_evidence_save(
                finding=finding, user=request.user,
                text=form.cleaned_data["published_evidence"], version=form.edited_version())
        except ValidationError as exc:
            form.add_error("published_evidence", _errors(exc))
        except EditConflict as exc:
            form.move_to_version(exc.current.version)
            conflict = Conflict(changed_by="Someone else", changed_at=None,
                                differences=differences(form, exc.current,
                                                        ["published_evidence"]),
                                discard_url=reverse("visits:review_publication",
                                                    args=[review.pk]))
        else:
            if was_published:
                messages.warning(request, "Saved. The redacted report has changed, so its "
                                          "approval was withdrawn and only the service's "
                                          "organisation may read it. Approve it again to "
                                          "publish it.")
            else:
                messages.success(request, f"The published evidence for standard "
                                          f"{finding.standard.code} has been saved")
            return _to_publication(review, f"#finding-{finding.pk}")
    return _publication_page(request, review, evidence_forms={finding.pk: form},
                             conflict=conflict)


@login_required
@require_POST
def review_redaction_approve(request: HttpRequest, pk: int) -> HttpResponse:
    review = _core_review(request, pk)
    form = RedactionApproveForm(request.POST)
    draft = form.cleaned_data.get("draft") if form.is_valid() else None
    try:
        services.redaction_approve(review=review, user=request.user, draft=draft or None)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _to_publication(review, "#redaction")
    messages.success(request, "The redacted report is approved. Choose below who may read it.")
    return _to_publication(review, "#visibility")


@login_required
@require_POST
def review_visibility(request: HttpRequest, pk: int) -> HttpResponse:
    review = _core_review(request, pk)
    form = VisibilityForm(request.POST)
    if form.is_valid():
        try:
            review = services.visibility_set(review=review, user=request.user,
                                             visibility=form.cleaned_data["visibility"])
        except ValidationError as exc:
            form.add_error("visibility", _errors(exc))
        else:
            messages.success(request, f"Who may read the report: "
                                      f"{review.get_visibility_display()}")
            return _to_publication(review, "#visibility")
    return _publication_page(request, review, visibility_form=form)


# --- published reports -----------------------------------------------------------------------


def _programme_for_reader(request: HttpRequest, pk: int) -> Programme:
    """The programme for its participants and its reviewers; a 404 for anyone else."""
    user = request.user
    programme = (participant_programmes(user).filter(pk=pk).first()
                 or Programme.objects.filter(pk=pk, reviewers__user=user).first())
    if programme is None:
        raise Http404
    request.programme = programme
    return programme


@login_required
@require_GET
def published_reviews(request: HttpRequest, pk: int) -> HttpResponse:
    programme = _programme_for_reader(request, pk)
    reviews = (published_reviews_for(request.user, programme)
               .select_related("site__organisation").order_by("-redaction_approved_at", "-pk"))
    return render(request, "visits/review_reports/published_list.html", {
        "programme": programme, "reviews": reviews,
    })


@require_GET
def published_review(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(PeerReview.objects.select_related(
        "programme", "site__organisation"), pk=pk)
    if not may_read_published(request.user, review):
        raise Http404
    if request.user.is_authenticated:
        request.programme = review.programme
    return render(request, "visits/review_reports/published.html", {
        "review": review, "programme": review.programme,
        "public": review.visibility == PeerReview.Visibility.PUBLIC,
    })

