"""The reviewer pool (the core team's) and a reviewer's own page (one-way review programmes)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ilcop.concurrency import single_submission
from ilcop.listing import page_of, query_without

from ..forms_reviewers import ConflictForm, MyConflictForm, ReviewerAddForm, ReviewerForm
from ..models import ConflictOfInterest, Programme, Region, Reviewer
from ..services import reviewers as services
from .decisions import one_way_for_core_team

FILTERS = ("kind", "region", "profession", "trained")


def _filters(query: QueryDict) -> dict[str, str]:
    """The filters that make sense; anything else is dropped (a mistyped link shows more)."""
    allowed = {"kind": ("patient", "clinical"), "region": Region.values,
               "profession": Reviewer.Profession.values, "trained": ("yes", "no")}
    return {name: query.get(name, "") for name in FILTERS
            if query.get(name, "") in allowed[name]}


def reviewer_pool(programme: Programme, filters: dict[str, str]) -> QuerySet[Reviewer]:
    """The programme's reviewers, filtered, with their number of declared conflicts."""
    reviewers = (Reviewer.objects.filter(programme=programme)
                 .select_related("user", "organisation")
                 .annotate(conflict_count=Count("conflicts")).order_by("user__full_name", "pk"))
    if kind := filters.get("kind"):
        reviewers = reviewers.filter(is_patient_reviewer=kind == "patient")
    if region := filters.get("region"):
        reviewers = reviewers.filter(region=region)
    if profession := filters.get("profession"):
        reviewers = reviewers.filter(profession=profession)
    if trained := filters.get("trained"):
        reviewers = reviewers.filter(training_completed_on__isnull=trained == "no")
    return reviewers


@login_required
@require_GET
def reviewers(request: HttpRequest, pk: int) -> HttpResponse:
    programme = one_way_for_core_team(request, pk)
    filters = _filters(request.GET)
    page = page_of(reviewer_pool(programme, filters), request.GET)
    return render(request, "programmes/reviewers/pool.html", {
        "programme": programme, "page": page, "filters": filters,
        "region_choices": Region.choices, "profession_choices": Reviewer.Profession.choices,
        "query": query_without(request.GET),
    })


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def reviewer_add(request: HttpRequest, pk: int) -> HttpResponse:
    programme = one_way_for_core_team(request, pk)
    form = ReviewerAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            reviewer = services.reviewer_add(
                programme=programme, user=request.user, full_name=form.cleaned_data["full_name"],
                email=form.cleaned_data["email"], **form.details())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{reviewer.user} is in the reviewer pool. We have "
                                      "emailed them.")
            return redirect("programmes:reviewer_edit", programme.pk, reviewer.pk)
    return render(request, "programmes/reviewers/add.html",
                  {"programme": programme, "form": form})


def _reviewer(programme: Programme, reviewer_pk: int) -> Reviewer:
    return get_object_or_404(Reviewer.objects.select_related("user", "organisation"),
                             pk=reviewer_pk, programme=programme)


@login_required
@require_http_methods(["GET", "POST"])
def reviewer_edit(request: HttpRequest, pk: int, reviewer_pk: int) -> HttpResponse:
    programme = one_way_for_core_team(request, pk)
    reviewer = _reviewer(programme, reviewer_pk)
    form = ReviewerForm(request.POST or None, initial=ReviewerForm.initial_for(reviewer))
    if request.method == "POST" and form.is_valid():
        try:
            services.reviewer_update(reviewer=reviewer, user=request.user, **form.details())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{reviewer.user}'s details are saved")
            return redirect("programmes:reviewer_edit", programme.pk, reviewer.pk)
    conflicts = reviewer.conflicts.select_related("organisation")
    return render(request, "programmes/reviewers/edit.html", {
        "programme": programme, "reviewer": reviewer, "form": form, "conflicts": conflicts,
        "conflict_form": ConflictForm(reviewer=reviewer),
    })


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def reviewer_conflict_add(request: HttpRequest, pk: int, reviewer_pk: int) -> HttpResponse:
    programme = one_way_for_core_team(request, pk)
    reviewer = _reviewer(programme, reviewer_pk)
    form = ConflictForm(request.POST or None, reviewer=reviewer)
    if request.method == "POST" and form.is_valid():
        try:
            services.conflict_declare(reviewer=reviewer, user=request.user,
                                      organisation=form.cleaned_data["organisation"],
                                      description=form.cleaned_data["description"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "The conflict of interest is recorded")
            return redirect("programmes:reviewer_edit", programme.pk, reviewer.pk)
    return render(request, "programmes/reviewers/conflict_form.html",
                  {"programme": programme, "reviewer": reviewer, "form": form,
                   "back_url_name": "programmes:reviewer_edit"})


@login_required
@require_POST
def reviewer_conflict_remove(request: HttpRequest, pk: int, reviewer_pk: int,
                             conflict_pk: int) -> HttpResponse:
    programme = one_way_for_core_team(request, pk)
    reviewer = _reviewer(programme, reviewer_pk)
    conflict = get_object_or_404(ConflictOfInterest.objects.select_related("organisation"),
                                 pk=conflict_pk, reviewer=reviewer)
    services.conflict_remove(conflict=conflict, user=request.user)
    messages.success(request, f"The conflict of interest with {conflict.organisation} is "
                              "removed")
    return redirect("programmes:reviewer_edit", programme.pk, reviewer.pk)


def _my_reviewer_rows(request: HttpRequest) -> QuerySet[Reviewer]:
    return Reviewer.objects.filter(user=request.user).select_related("programme")


@login_required
@require_GET
def my_reviewing(request: HttpRequest) -> HttpResponse:
    """A reviewer's pools, the reviews they are on and the conflicts they have declared."""
    rows = list(_my_reviewer_rows(request).select_related("organisation").prefetch_related(
        Prefetch("conflicts",
                 queryset=ConflictOfInterest.objects.select_related("organisation")),
        "assignments__review__site__organisation").order_by("programme__name"))
    form = MyConflictForm(reviewers=_my_reviewer_rows(request)) if rows else None
    return render(request, "programmes/reviewers/my_reviewing.html",
                  {"reviewer_rows": rows, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def my_conflict_add(request: HttpRequest) -> HttpResponse:
    """A reviewer declares a conflict of interest themselves. Someone in no pool has nothing
    to declare it against: 404."""
    mine = _my_reviewer_rows(request)
    if not mine.exists():
        raise Http404("Not in a reviewer pool")
    form = MyConflictForm(request.POST or None, reviewers=mine)
    if request.method == "POST" and form.is_valid():
        try:
            services.conflict_declare(reviewer=form.cleaned_data["reviewer"],
                                      user=request.user,
                                      organisation=form.cleaned_data["organisation"],
                                      description=form.cleaned_data["description"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Your conflict of interest is recorded. You will not be "
                                      "asked to review that organisation's services.")
            return redirect("programmes:my_reviewing")
    return render(request, "programmes/reviewers/conflict_form.html",
                  {"form": form, "mine": True})
