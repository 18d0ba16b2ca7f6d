"""A one-way review's visits and its findings against the standards.

Who gets what (visits.selectors_reviews: the core team, the service's current members and
the review team see a review; anyone else gets a 404):

- ``review_visit_add`` (/reviews/<pk>/visits/add/): the core team proposes a visit (online or
  not); the service and the reviewers get a 403. Everything after that is the shared visit
  pages (visits.views, views_day), which know a review's visit by ``Visit.review``.
- ``review_findings`` (/reviews/<pk>/findings/): everyone who sees the review reads the
  findings, one per standard, with the counts met, partly met and not met.
- ``review_finding_edit`` (/reviews/<pk>/findings/<standard_pk>/): the review team and the
  core team record or change the finding against one standard; the service's members read
  the findings but may not write them (403).
"""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from ilcop.concurrency import Conflict, EditConflict, differences, single_submission
from programmes.models import Standard
from programmes.selectors.participants import is_core_team

from .forms_review_visits import FindingForm, ReviewVisitAddForm
from .models import PeerReview, StandardFinding
from .selectors_reviews import is_reviewer, review_for_user
from .services import review_visits as services

FINDING_FIELDS = ["rating", "evidence", "recommendation", "good_practice"]


@dataclass(frozen=True)
class Access:
    review: PeerReview
    is_core: bool
    is_reviewer: bool

    @property
    def writes_findings(self) -> bool:
        return self.is_core or self.is_reviewer


def _access(request: HttpRequest, pk: int) -> Access:
    review = review_for_user(request.user, pk)
    request.programme = review.programme
    is_core = is_core_team(request.user, review.programme)
    return Access(review, is_core, not is_core and is_reviewer(request.user, review))


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def review_visit_add(request: HttpRequest, pk: int) -> HttpResponse:
    access = _access(request, pk)
    if not access.is_core:
        raise PermissionDenied("Only the programme's core team arranges a review's visits")
    review = access.review
    # An empty POST (only "held online" unticked) is still a submission.
    form = ReviewVisitAddForm(request.POST if request.method == "POST" else None,
                              programme=review.programme)
    if request.method == "POST" and form.is_valid():
        try:
            visit = services.review_visit_add(review=review, user=request.user,
                                              **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Visit proposed. Ask for availability, or agree a date, "
                                      "from the visit's page.")
            return redirect("visits:visit_detail", visit.pk)
    return render(request, "visits/review_visits/visit_add.html", {
        "review": review, "form": form,
        "visits": list(review.visits.order_by("date", "pk")),
    })


@login_required
@require_GET
def review_findings(request: HttpRequest, pk: int) -> HttpResponse:
    access = _access(request, pk)
    review = access.review
    standards = list(review.programme.standards.all())
    findings = {f.standard_id: f for f in review.findings.select_related("recorded_by")}
    return render(request, "visits/review_visits/findings.html", {
        "review": review, "access": access,
        "rows": [(standard, findings.get(standard.pk)) for standard in standards],
        "summary": services.finding_summary([f.rating for f in findings.values()],
                                            len(standards)),
        "open": services.findings_open(review),
    })


@login_required
@require_http_methods(["GET", "POST"])
def review_finding_edit(request: HttpRequest, pk: int, standard_pk: int) -> HttpResponse:
    access = _access(request, pk)
    if not access.writes_findings:
        raise PermissionDenied("The review team records the findings; the service reads them")
    review = access.review
    standard = get_object_or_404(Standard, pk=standard_pk, programme_id=review.programme_id)
    finding = StandardFinding.objects.filter(review=review, standard=standard).first()
    initial = ({name: getattr(finding, name) for name in FINDING_FIELDS}
               | {"version": finding.version}) if finding else {}
    form = FindingForm(request.POST or None, initial=initial)
    conflict = None
    findings_url = reverse("visits:review_findings", args=[review.pk])
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in FINDING_FIELDS}
        try:
            services.finding_record(review=review, standard=standard, user=request.user,
                                    version=form.edited_version(), **data)
        except EditConflict as exc:
            form.move_to_version(exc.current.version)
            conflict = Conflict(changed_by=str(exc.current.recorded_by or "Someone else"),
                                changed_at=exc.current.recorded_at,
                                differences=differences(form, exc.current, FINDING_FIELDS),
                                discard_url=request.path)
            finding = exc.current
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"The finding for {standard.code} is saved")
            return redirect(f"{findings_url}#standard-{standard.pk}")
    return render(request, "visits/review_visits/finding_form.html", {
        "review": review, "standard": standard, "finding": finding, "form": form,
        "conflict": conflict, "open": services.findings_open(review),
        "findings_url": findings_url,
    })
