"""A one-way peer review's set-up: creating it from a surveillance decision, the core team's
list, the review's page, its team, guidance for the service, the pre-visit checklist, lines
of enquiry, documents and the contact with a service reviewed before. See
visits.services.reviews.

Who gets what (visits.selectors_reviews): the programme's core team, the service's current
members and the review team see a review; anyone else gets a 404. The service and the core
team prepare for it (checklist, lines of enquiry, documents); the core team alone chooses
the team and the previous contact. A person who sees the review but may not do a thing gets
a 403.
"""

import datetime
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ilcop.concurrency import Conflict, Difference, EditConflict, single_submission
from ilcop.uploads import file_response
from programmes.models import Reviewer, Site, SiteMembership, SurveillanceDecision
from programmes.review_team import conflicts as team_conflicts
from programmes.selectors.participants import is_core_team, programme_for_participant

from .forms_reviews import (
    LineOfEnquiryForm,
    PreviousContactForm,
    ReviewCreateForm,
    ReviewDocumentForm,
    ReviewTeamForm,
)
from .models import LineOfEnquiry, PeerReview, ReviewChecklistItem, ReviewDocument, Visit
from .review_report import report_slot
from .selectors_reviews import visible_reviews
from .services import reviews as services

# --- who may do what -------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    review: PeerReview
    is_core: bool
    is_service: bool

    @property
    def prepares(self) -> bool:
        """Ticks the checklist, writes and agrees the lines of enquiry, shares documents."""
        return self.is_core or self.is_service


def _access(request: HttpRequest, pk: int) -> Access:
    review = get_object_or_404(visible_reviews(request.user).select_related(
        "programme", "site__organisation", "decision__report__cycle", "lines_agreed_by",
        "previous_contact_site__organisation"), pk=pk)
    request.programme = review.programme
    is_core = is_core_team(request.user, review.programme)
    is_service = not is_core and SiteMembership.objects.current().filter(
        site_id=review.site_id, user=request.user).exists()
    return Access(review, is_core, is_service)


def _for_preparers(request: HttpRequest, pk: int) -> Access:
    access = _access(request, pk)
    if not access.prepares:
        raise PermissionDenied
    return access


def _for_core(request: HttpRequest, pk: int) -> Access:
    access = _access(request, pk)
    if not access.is_core:
        raise PermissionDenied
    return access


def _detail(review: PeerReview, anchor: str = "") -> HttpResponse:
    return redirect(reverse("visits:review_detail", args=[review.pk]) + anchor)


# --- creating a review -----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def review_create(request: HttpRequest, pk: int) -> HttpResponse:
    """One review per decision, so a second POST (or a GET once it exists) goes to it."""
    decision = get_object_or_404(SurveillanceDecision.objects.select_related(
        "report__cycle__programme", "report__site__organisation"), pk=pk)
    programme, site = decision.report.cycle.programme, decision.report.site
    if not is_core_team(request.user, programme):
        if SiteMembership.objects.current().filter(site=site, user=request.user).exists():
            raise PermissionDenied
        raise Http404("Not this person's decision")
    request.programme = programme
    existing = PeerReview.objects.filter(decision=decision).first()
    if existing is not None:
        if request.method == "POST":
            messages.info(request, "This decision's peer review is already set up")
        return _detail(existing)
    form = ReviewCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            review = services.review_create(decision=decision, user=request.user,
                                            format=form.cleaned_data["format"]
                                            or PeerReview.Format.ONE_DAY)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "The peer review is set up. Choose its team next.")
            return _detail(review)
    return render(request, "visits/reviews/review_create.html", {
        "decision": decision, "programme": programme, "site": site, "form": form})


# --- the core team's list --------------------------------------------------------------------

STATUSES = {
    "not_dated": "Not yet dated",
    "dated": "Dated",
    "happened": "Visit happened",
    "report_sent": "Report sent",
}


def status_of(visits: list[Visit]) -> str:
    """A review's progress from its visits (cancelled ones left out), as a STATUSES key. A
    deep dive is dated only when every one of its visits is."""
    live = [v for v in visits if v.status != Visit.Status.CANCELLED]
    if any(v.status == Visit.Status.REPORT_SENT for v in live):
        return "report_sent"
    if live and all(v.status == Visit.Status.HAPPENED for v in live):
        return "happened"
    if live and all(v.date is not None for v in live):
        return "dated"
    return "not_dated"


def next_visit_on(visits: list[Visit], today: datetime.date) -> datetime.date | None:
    dates = [v.date for v in visits if v.status != Visit.Status.CANCELLED
             and v.date is not None and v.date >= today]
    return min(dates, default=None)


@login_required
@require_GET
def programme_reviews(request: HttpRequest, pk: int) -> HttpResponse:
    programme = programme_for_participant(request.user, pk)
    request.programme = programme
    if not is_core_team(request.user, programme):
        raise PermissionDenied
    status = request.GET.get("status", "")
    status = status if status in STATUSES else ""
    format_ = request.GET.get("format", "")
    format_ = format_ if format_ in PeerReview.Format.values else ""
    reviews = (PeerReview.objects.filter(programme=programme)
               .select_related("site__organisation")
               .annotate(team_size=Count("team", distinct=True))
               .prefetch_related(Prefetch("visits", queryset=Visit.objects.order_by("date", "pk")))
               .order_by("site__organisation__name", "site__name", "-created_at"))
    if format_:
        reviews = reviews.filter(format=format_)
    today = timezone.localdate()
    rows = []
    for review in reviews:
        visits = list(review.visits.all())
        key = status_of(visits)
        if status and key != status:
            continue
        rows.append({"review": review, "status": key, "status_label": STATUSES[key],
                     "next_visit": next_visit_on(visits, today)})
    return render(request, "visits/reviews/programme_reviews.html", {
        "programme": programme, "rows": rows, "statuses": STATUSES, "status": status,
        "formats": PeerReview.Format.choices, "format": format_,
        "filtered": bool(status or format_)})


# --- the review's page and guidance ----------------------------------------------------------


@login_required
@require_GET
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access = _access(request, pk)
    review = access.review
    return render(request, "visits/reviews/review_detail.html", {
        "review": review, "access": access, "is_core": access.is_core,
        "team": list(review.team.select_related("reviewer__user", "reviewer__organisation")),
        "checklist": list(review.checklist.select_related("done_by")),
        "lines": list(review.lines_of_enquiry.select_related("standard")),
        "documents": list(review.documents.all()),
        # For the include slots other areas fill (visits/reviews/_report.html and
        # _action_plan.html): reviewers see the report's slot but not the action plan.
        "report_slot": report_slot(review),
        "action_plan_allowed": access.prepares,
    })


@login_required
@require_GET
def review_guidance(request: HttpRequest, pk: int) -> HttpResponse:
    # What the page says follows seed 003: pre-visit processes were unclear to services;
    # preparation was heavy (services gathered evidence the reviewers never read); the visit
    # gave little help on how to improve unless its lines of enquiry were agreed first; the
    # informal time on the day was valued; and action plans stalled without a named owner,
    # support to ask for and a date for the next review.
    access = _access(request, pk)
    return render(request, "visits/reviews/guidance.html", {
        "review": access.review, "access": access,
        "checklist": list(access.review.checklist.all()),
    })


# --- the team --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolRow:
    reviewer: Reviewer
    problems: list[str]


def _pool(review: PeerReview):
    return (Reviewer.objects.filter(programme=review.programme)
            .filter(Q(active=True) | Q(assignments__review=review)).distinct()
            .select_related("user", "organisation").prefetch_related("conflicts")
            .order_by("user__full_name", "pk"))


@login_required
@require_http_methods(["GET", "POST"])
def review_team(request: HttpRequest, pk: int) -> HttpResponse:
    access = _for_core(request, pk)
    review = access.review
    pool = _pool(review)
    team = list(review.team.all())
    lead = next((m.reviewer_id for m in team if m.is_lead), None)
    form = ReviewTeamForm(request.POST or None, reviewers=pool, initial={
        "reviewers": [m.reviewer_id for m in team], "lead": lead,
        "mix_reason": review.team_mix_reason})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.review_team_set(review=review, user=request.user,
                                     reviewer_ids=[r.pk for r in data["reviewers"]],
                                     lead_id=data["lead"].pk, mix_reason=data["mix_reason"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "The review team is saved")
            return _detail(review, "#team")
    service = services.service_of(review)
    rows = [PoolRow(r, team_conflicts(service, services.candidate_of(r))) for r in pool]
    chosen = {str(v) for v in (form["reviewers"].value() or [])}
    chosen_lead = str(form["lead"].value() or "")
    return render(request, "visits/reviews/team.html", {
        "review": review, "form": form, "rows": rows, "chosen": chosen,
        "chosen_lead": chosen_lead, "programme": review.programme})


# --- the pre-visit checklist -----------------------------------------------------------------


@login_required
@require_POST
def review_checklist_toggle(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    access = _for_preparers(request, pk)
    item = get_object_or_404(ReviewChecklistItem, pk=item_pk, review=access.review)
    services.checklist_item_set(item=item, done=request.POST.get("done") == "1",
                                user=request.user)
    return _detail(access.review, "#checklist")


# --- lines of enquiry ------------------------------------------------------------------------


def _standards(review: PeerReview):
    return review.programme.standards.all()


def _after_line_change(request: HttpRequest, review: PeerReview, was_agreed: bool,
                       message: str) -> None:
    messages.success(request, message)
    if was_agreed:
        messages.warning(request, "The lines of enquiry had been agreed. Because they have "
                                  "changed, they need agreeing again.")


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def review_line_add(request: HttpRequest, pk: int) -> HttpResponse:
    access = _for_preparers(request, pk)
    review = access.review
    form = LineOfEnquiryForm(request.POST or None, standards=_standards(review))
    if request.method == "POST" and form.is_valid():
        was_agreed = review.lines_agreed_at is not None
        try:
            services.line_add(review=review, user=request.user, text=form.cleaned_data["text"],
                              standard=form.cleaned_data["standard"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            _after_line_change(request, review, was_agreed, "The line of enquiry is added")
            return _detail(review, "#lines")
    return render(request, "visits/reviews/line_form.html", {
        "review": review, "form": form, "line": None})


@login_required
@require_http_methods(["GET", "POST"])
def review_line_edit(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    access = _for_preparers(request, pk)
    review = access.review
    line = get_object_or_404(LineOfEnquiry, pk=line_pk, review=review)
    form = LineOfEnquiryForm(request.POST or None, instance=line,
                             standards=_standards(review))
    if request.method == "POST" and form.is_valid():
        was_agreed = review.lines_agreed_at is not None
        try:
            saved = services.line_update(line=LineOfEnquiry.objects.get(pk=line.pk),
                                         user=request.user, text=form.cleaned_data["text"],
                                         standard=form.cleaned_data["standard"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            saved.review.refresh_from_db(fields=["lines_agreed_at"])
            cleared = was_agreed and saved.review.lines_agreed_at is None
            _after_line_change(request, review, cleared, "The line of enquiry is saved")
            return _detail(review, "#lines")
    return render(request, "visits/reviews/line_form.html", {
        "review": review, "form": form, "line": line})


@login_required
@require_POST
def review_line_remove(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    access = _for_preparers(request, pk)
    review = access.review
    line = get_object_or_404(LineOfEnquiry, pk=line_pk, review=review)
    was_agreed = review.lines_agreed_at is not None
    services.line_remove(line=line, user=request.user)
    _after_line_change(request, review, was_agreed, "The line of enquiry is removed")
    return _detail(review, "#lines")


@login_required
@require_POST
def review_lines_agree(request: HttpRequest, pk: int) -> HttpResponse:
    access = _for_preparers(request, pk)
    try:
        services.lines_agree(review=access.review, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "The lines of enquiry are recorded as agreed")
    return _detail(access.review, "#lines")


# --- documents -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def review_document_add(request: HttpRequest, pk: int) -> HttpResponse:
    access = _for_preparers(request, pk)
    review = access.review
    form = ReviewDocumentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            document = services.document_add(review=review, user=request.user,
                                              title=form.cleaned_data["title"],
                                              upload=form.cleaned_data["file"])
        except ValidationError as exc:
            form.add_error(None if hasattr(exc, "error_dict") else "file", exc)
        else:
            messages.success(request, f"\u201c{document.title}\u201d is shared with the "
                                      "reviewers")
            return _detail(review, "#documents")
    return render(request, "visits/reviews/document_form.html", {"review": review,
                                                                 "form": form})


@login_required
@require_GET
def review_document_download(request: HttpRequest, pk: int, document_pk: int) -> HttpResponse:
    access = _access(request, pk)
    document = get_object_or_404(ReviewDocument, pk=document_pk, review=access.review)
    return file_response(document.file, filename=document.filename or document.file.name)


# --- previous contact ------------------------------------------------------------------------


def reviewed_services(review: PeerReview):
    """The programme's other services whose own review visit has happened: the ones who can
    tell this service what to expect."""
    return (Site.objects.filter(
        peer_reviews__programme=review.programme,
        peer_reviews__visits__status__in=(Visit.Status.HAPPENED, Visit.Status.REPORT_SENT))
        .exclude(pk=review.site_id).distinct().select_related("organisation")
        .order_by("organisation__name", "name"))


@login_required
@require_http_methods(["GET", "POST"])
def review_previous_contact(request: HttpRequest, pk: int) -> HttpResponse:
    access = _for_core(request, pk)
    review = access.review
    form = PreviousContactForm(request.POST or None, sites=reviewed_services(review), initial={
        "site": review.previous_contact_site_id, "details": review.previous_contact_details,
        "version": review.version})
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            services.previous_contact_set(review=review, user=request.user,
                                          site=form.cleaned_data["site"],
                                          details=form.cleaned_data["details"],
                                          version=form.edited_version())
        except EditConflict as exc:
            conflict = _conflict(form, exc.current, review)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "The contact is saved")
            return _detail(review, "#previous-contact")
    return render(request, "visits/reviews/previous_contact.html", {
        "review": review, "form": form, "conflict": conflict})


def _conflict(form: forms.Form, current: PeerReview, review: PeerReview) -> Conflict:
    """Both versions of what someone else saved and this form disagree on; the form now
    carries the version saved, so saving again keeps this person's."""
    form.move_to_version(current.version)
    rows = [Difference(name=name, label=label, theirs=str(theirs or "(empty)"),
                       yours=str(yours or "(empty)"))
            for name, label, theirs, yours in (
                ("site", "The service", current.previous_contact_site,
                 form.cleaned_data.get("site")),
                ("details", "How to contact them", current.previous_contact_details,
                 form.cleaned_data.get("details")))
            if (theirs or "") != (yours or "")]
    return Conflict(changed_by="Someone else", changed_at=None, differences=rows,
                    discard_url=reverse("visits:review_previous_contact", args=[review.pk]))
