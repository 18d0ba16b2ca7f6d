from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from ilcop.activity import timeline_for
from ilcop.concurrency import single_submission
from ilcop.imports import ImportFailed

from .. import funnel, selectors, services
from ..forms import BulkMoveForm, EnrolmentMoveForm, OrganisationForm, SiteForm, SiteImportForm
from ..models import Enrolment, Region
from ..services.sites import IMPORT_COLUMNS

PAGE_SIZE = 50


def _list_filters(request: HttpRequest) -> dict[str, str]:
    filters = {
        "status": request.GET.get("status", ""),
        "reached": request.GET.get("reached", ""),
        "region": request.GET.get("region", ""),
        "query": request.GET.get("q", "").replace("\x00", "").strip()[:100],
    }
    # Unknown values are ignored rather than matching nothing, so a mangled link still works.
    if filters["status"] not in Enrolment.Status.values:
        filters["status"] = ""
    if filters["reached"] not in funnel.FUNNEL_STAGES:
        filters["reached"] = ""
    if filters["region"] not in Region.values:
        filters["region"] = ""
    return filters


def _filter_caption(filters: dict[str, str]) -> str:
    parts = []
    if filters["reached"]:
        parts.append(f"reached “{Enrolment.Status(filters['reached']).label}”")
    if filters["status"]:
        parts.append(f"now “{Enrolment.Status(filters['status']).label}”")
    if filters["region"]:
        parts.append(f"in {Region(filters['region']).label}")
    if filters["query"]:
        parts.append(f"matching “{filters['query']}”")
    return ", ".join(parts)


@login_required
@require_http_methods(["GET", "POST"])
def enrolment_list(request: HttpRequest, pk: int) -> HttpResponse:
    """Every site in the programme, filtered from the funnel, with moves in bulk."""
    programme = selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    filters = _list_filters(request)
    query_string = urlencode({("q" if k == "query" else k): v for k, v in filters.items() if v})

    move_form = BulkMoveForm(request.POST or None, programme=programme)
    if request.method == "POST" and move_form.is_valid():
        data = move_form.cleaned_data
        try:
            moved = services.enrolments_move(
                enrolments=list(data["enrolments"]), target=data["target"], user=request.user,
                approved_by=data["approved_by"], approved_on=data["approved_on"],
                reason=data["reason"],
            )
        except ValidationError as exc:
            move_form.add_error(None, exc)
        else:
            label = Enrolment.Status(data["target"]).label
            messages.success(request, f"Moved {len(moved)} site(s) to “{label}”")
            url = reverse("programmes:enrolment_list", args=[programme.pk])
            return redirect(f"{url}?{query_string}" if query_string else url)

    enrolments = selectors.enrolments_for_list(programme, **filters)
    page = Paginator(enrolments, PAGE_SIZE).get_page(request.GET.get("page"))
    selected = set(request.POST.getlist("enrolments")) if request.method == "POST" else set()
    return render(request, "programmes/enrolment_list.html", {
        "programme": programme,
        "page": page,
        "filters": filters,
        "caption": _filter_caption(filters),
        "query_string": query_string,
        "move_form": move_form,
        "selected": selected,
        "statuses": Enrolment.Status.choices,
        "stages": [(s, Enrolment.Status(s).label) for s in funnel.FUNNEL_STAGES],
        "regions": Region.choices,
    })


@login_required
@require_http_methods(["GET", "POST"])
def enrolment_move(request: HttpRequest, pk: int, enrolment_pk: int) -> HttpResponse:
    programme = selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    enrolment = get_object_or_404(
        Enrolment.objects.select_related("site__organisation"), pk=enrolment_pk,
        programme=programme,
    )
    form = EnrolmentMoveForm(request.POST or None, targets=funnel.allowed_moves(enrolment.status))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.enrolment_move(
                enrolment=enrolment, target=data["target"], user=request.user,
                approved_by=data["approved_by"], approved_on=data["approved_on"],
                reason=data["reason"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                f"{enrolment.site} moved to “{Enrolment.Status(data['target']).label}”",
            )
            return redirect("programmes:site_detail", enrolment.site_id)
    return render(request, "programmes/enrolment_move.html",
                  {"programme": programme, "enrolment": enrolment, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def site_add(request: HttpRequest, pk: int) -> HttpResponse:
    programme = selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    initial = {"specialty": programme.specialty, "organisation": request.GET.get("organisation")}
    form = SiteForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            site = services.site_create(user=request.user, programme=programme,
                                        **form.cleaned_data)
        except IntegrityError:
            # Someone added the same code a moment ago, after the form's own check.
            form.add_error("code", SiteForm.Meta.error_messages["code"]["unique"])
        else:
            messages.success(request, f"{site} has been added and invited to the programme")
            return redirect("programmes:site_detail", site.pk)
    return render(request, "programmes/site_form.html", {"form": form, "programme": programme})


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def organisation_add(request: HttpRequest, pk: int) -> HttpResponse:
    programme = selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organisation = services.organisation_create(
            user=request.user, programme=programme, **form.cleaned_data
        )
        messages.success(request, f"{organisation} has been added. Now add its MDT.")
        url = reverse("programmes:site_add", args=[programme.pk])
        return redirect(f"{url}?organisation={organisation.pk}")
    return render(request, "programmes/organisation_form.html",
                  {"form": form, "programme": programme})


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def site_import(request: HttpRequest, pk: int) -> HttpResponse:
    programme = selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    form = SiteImportForm(request.POST or None, request.FILES or None)
    import_errors = []
    if request.method == "POST" and form.is_valid():
        uploaded = form.cleaned_data["file"]
        try:
            sites = services.sites_import(
                programme=programme, user=request.user, uploaded=uploaded
            )
        except ImportFailed as exc:
            import_errors = exc.errors
        else:
            messages.success(request, f"Imported {len(sites)} sites. Each has been invited.")
            return redirect("programmes:enrolment_list", programme.pk)
    return render(request, "programmes/site_import.html", {
        "form": form, "programme": programme, "import_errors": import_errors,
        "columns": IMPORT_COLUMNS,
    })


@login_required
@require_GET
def site_import_template(request: HttpRequest, pk: int) -> HttpResponse:
    """A CSV with the right header row and one example, to fill in."""
    selectors.programme_for_core_team(request.user, pk)
    example = {
        "organisation_code": "RZZ", "organisation_name": "Example Hospitals NHS Trust",
        "region": "London", "network": "North London Cancer Alliance", "latitude": "51.55000",
        "longitude": "-0.10000", "site_code": "RZZ-LUNG", "site_name": "Lung cancer MDT",
        "mdt_day": "Monday", "mdt_time": "13:30", "specialty": "Lung cancer",
        "annual_new_patients": "320",
    }
    body = ",".join(IMPORT_COLUMNS) + "\r\n" + ",".join(
        f'"{example[c]}"' for c in IMPORT_COLUMNS
    ) + "\r\n"
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="sites-template.csv"'
    return response


def _partner(site, enrolment) -> dict | None:
    """The site's confirmed partner, with each team's strengths in plain words."""
    if enrolment.status != Enrolment.Status.INTERVENTION:
        return None
    pair = selectors.confirmed_pair_for(site, enrolment.programme)
    if pair is None:
        return None
    names = dict(enrolment.programme.indicators.values_list("code", "name"))
    ours, theirs = pair.strengths_of(site)

    def words(codes: list[str]) -> str:
        named = [names.get(code, code).lower() for code in codes]
        if not named:
            return ""
        return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]

    return {"site": pair.partner_of(site), "ours": words(ours), "theirs": words(theirs)}


@login_required
def site_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A site's home: its programmes and where it is in each, what happens next, its team."""
    site = selectors.site_for_user(request.user, pk)
    is_member = selectors.is_site_member(request.user, site)
    enrolments = selectors.site_enrolments_for(request.user, site)
    core_ids = set(selectors.core_programmes(request.user).values_list("pk", flat=True))
    for enrolment in enrolments:
        enrolment.next_step = funnel.NEXT_STEPS[enrolment.status]
        enrolment.can_move = enrolment.programme_id in core_ids
        enrolment.partner = _partner(site, enrolment)
        if enrolment.partner:
            enrolment.next_step = funnel.NEXT_STEP_PAIRED
        if enrolment.programme.is_one_way and not enrolment.is_withdrawn:
            enrolment.next_step = funnel.NEXT_STEP_ONE_WAY
    current = [e for e in enrolments if not e.is_withdrawn] or enrolments
    request.programme = current[0].programme if current else None
    is_core = any(e.can_move for e in enrolments)
    if is_member:
        timeline = timeline_for(site)
    else:
        timeline = timeline_for(site, within=[e.programme for e in enrolments])
    can_manage = is_core or selectors.can_manage_site_team(request.user, site)
    return render(request, "programmes/site_detail.html", {
        "site": site,
        "enrolments": enrolments,
        "team": selectors.site_team(site),
        "can_manage_team": can_manage,
        "is_core_team": is_core,
        # Audit data, the patient survey, visits and plans belong to reciprocal programmes; a
        # service reviewed only one way has its self-report and reviews on its cards instead.
        "reciprocal": not enrolments or any(not e.programme.is_one_way for e in enrolments),
        "invitations": selectors.pending_invitations(site=site) if can_manage else [],
        "timeline": timeline[:20],
    })


@login_required
@require_http_methods(["GET", "POST"])
def site_edit(request: HttpRequest, pk: int) -> HttpResponse:
    site = selectors.site_for_user(request.user, pk)
    if not selectors.is_core_team_for_site(request.user, site):
        # Members may see their site, but the core team keeps its details.
        raise PermissionDenied
    form = SiteForm(request.POST or None, instance=site)
    if request.method == "POST" and form.is_valid():
        site.refresh_from_db()
        services.site_update(site=site, user=request.user, **form.cleaned_data)
        messages.success(request, "The site's details have been saved")
        return redirect("programmes:site_detail", site.pk)
    return render(request, "programmes/site_form.html", {"form": form, "site": site})
