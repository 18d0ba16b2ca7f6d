"""The programme directory, and each person's own listing and role-group email choices."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ilcop.listing import page_of, query_without, sorting_from

from ..forms_community import DirectoryListingForm
from ..models import DirectoryListing, RoleGroupOptOut, SiteMembership
from ..selectors import community as selectors
from ..selectors.participants import (
    CORE_TEAM_ROLE,
    participant_programmes,
    programme_for_participant,
)
from ..services import directory as services


@login_required
def directory(request: HttpRequest, pk: int) -> HttpResponse:
    programme = programme_for_participant(request.user, pk)
    request.programme = programme
    sites = list(selectors.directory_sites(programme))
    filters = selectors.directory_filters(request.GET, {s.pk for s in sites})
    sorting = sorting_from(request.GET, list(selectors.DIRECTORY_SORTS), "site")
    page = page_of(selectors.directory_members(programme, filters, sorting.key,
                                               sorting.descending), request.GET)
    # The core team belongs to no site: listed above the sites, on the first page only.
    core_team = list(selectors.directory_core_team(programme, filters))
    return render(request, "programmes/directory/directory.html", {
        "programme": programme, "page": page, "sites": sites,
        "core_team": core_team if page.number == 1 else [],
        "filters": filters, "sorting": sorting,
        "listed_count": page.paginator.count + len(core_team),
        "roles": [*SiteMembership.Role.choices, (CORE_TEAM_ROLE, "Core team")],
        "query_string": query_without(request.GET),
        "not_listed": selectors.participants_not_listed(programme),
        "own_listing": DirectoryListing.objects.filter(user=request.user).first(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def directory_listing(request: HttpRequest) -> HttpResponse:
    """What a person shows in the directories of the programmes they take part in."""
    listing = DirectoryListing.objects.filter(user=request.user).first()
    if listing is None:
        listing = DirectoryListing(user=request.user, job_title=request.user.job_title)
    form = DirectoryListingForm(request.POST or None, instance=listing)
    if request.method == "POST" and form.is_valid():
        services.directory_listing_save(user=request.user, **form.cleaned_data)
        messages.success(request, "You are listed in the directory" if form.cleaned_data[
            "listed"] else "You are not listed in the directory")
        return redirect("programmes:directory_listing")
    return render(request, "programmes/directory/listing.html", {
        "form": form,
        "programmes": list(participant_programmes(request.user).order_by("name")),
        "opt_outs": list(RoleGroupOptOut.objects.filter(user=request.user)
                         .select_related("programme").order_by("programme__name", "role")),
        "group_names": selectors.GROUP_NAMES,
    })


@login_required
@require_POST
def role_group_resubscribe(request: HttpRequest, opt_out_pk: int) -> HttpResponse:
    opt_out = get_object_or_404(RoleGroupOptOut.objects.select_related("programme"),
                                pk=opt_out_pk, user=request.user)
    services.role_group_opt_out_remove(opt_out=opt_out, user=request.user)
    messages.success(request, f"You will get emails to {selectors.GROUP_NAMES[opt_out.role]} "
                              f"in {opt_out.programme.name} again")
    return redirect("programmes:directory_listing")
