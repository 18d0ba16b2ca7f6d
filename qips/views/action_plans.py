"""A one-way review's action plan (started from the review, followed up by the core team) and
the programme's shared learning from its reviews (qips.learning)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ilcop.concurrency import single_submission
from programmes.selectors import programme_for_core_team
from programmes.selectors.participants import is_core_team, programme_for_participant
from visits.models import PeerReview, StandardFinding
from visits.selectors_reviews import is_service_member, review_for_user, visible_reviews

from .. import learning
from ..forms_action_plans import LibraryShareForm
from ..services import action_plans as services


def _review_page(review: PeerReview) -> str:
    """The review's own page, once the reviews area has one; the service's plans until then."""
    try:
        return reverse("visits:review_detail", args=[review.pk])
    except NoReverseMatch:
        return reverse("qips:site_plans", args=[review.site_id])


@login_required
@require_POST
def action_plan_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Start the review's action plan, or open it if it has been started (one per review,
    so a second click is harmless: no form token needed)."""
    review = review_for_user(request.user, pk)
    request.programme = review.programme
    if not (is_core_team(request.user, review.programme)
            or is_service_member(request.user, review)):
        raise PermissionDenied("The service and the core team write the action plan")
    try:
        plan, created = services.action_plan_from_review(review=review, user=request.user)
    except services.ActionPlanRefused as exc:
        messages.error(request, str(exc))
        return redirect(_review_page(review))
    if created:
        messages.success(request, "The action plan has been started, with an action for each "
                                  "standard not fully met. Name its owner and check each "
                                  "action's date.")
    return redirect("qips:plan_detail", plan.pk)


@login_required
@require_GET
def action_plans(request: HttpRequest, pk: int) -> HttpResponse:
    """The core team's follow-up of every action plan in a one-way programme."""
    programme = programme_for_core_team(request.user, pk)
    if not programme.is_one_way:
        raise Http404
    request.programme = programme
    filters = {name: request.GET.get(name) == "1" for name in learning.FILTERS}
    rows = learning.action_plan_rows(programme, filters=filters)
    return render(request, "qips/action_plans/list.html", {
        "programme": programme, "rows": rows, "filters": filters,
        "filtered": any(filters.values())})


def _finding_for_core_team(request: HttpRequest, pk: int) -> StandardFinding:
    """The finding, for the core team; 403 for others who may see its review, 404 for the
    rest."""
    finding = get_object_or_404(
        StandardFinding.objects.select_related("review__programme", "standard",
                                               "library_resource")
        .filter(review__in=visible_reviews(request.user)), pk=pk)
    request.programme = finding.review.programme
    if not is_core_team(request.user, finding.review.programme):
        raise PermissionDenied("Only the core team shares good practice in the library")
    return finding


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def finding_to_library(request: HttpRequest, pk: int) -> HttpResponse:
    finding = _finding_for_core_team(request, pk)
    programme = finding.review.programme
    if finding.library_resource_id:
        messages.info(request, "This good practice is already in the library")
        return redirect("qips:resources", programme.pk)
    form = LibraryShareForm(request.POST or None, initial={
        "title": f"{finding.standard.code} {finding.standard.title}"[:200],
        "body": finding.good_practice})
    if request.method == "POST" and form.is_valid():
        try:
            services.finding_to_library(finding=finding, user=request.user,
                                        **form.cleaned_data)
        except services.ActionPlanRefused as exc:
            form.add_error("body", str(exc))
        else:
            messages.success(request, "The good practice is in the library")
            return redirect("qips:resources", programme.pk)
    return render(request, "qips/action_plans/library_confirm.html", {
        "programme": programme, "finding": finding, "form": form})


@login_required
@require_GET
def review_themes(request: HttpRequest, pk: int) -> HttpResponse:
    """What the programme's reviews found, standard by standard."""
    programme = programme_for_participant(request.user, pk)
    if not programme.is_one_way:
        raise Http404
    request.programme = programme
    named = is_core_team(request.user, programme)
    return render(request, "qips/action_plans/themes.html", {
        "programme": programme, "named": named,
        "themes": learning.review_themes(programme, named=named)})
