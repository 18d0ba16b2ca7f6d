import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from ilcop.activity import timeline_for
from ilcop.concurrency import single_submission
from ilcop.listing import iso_date, page_of, search_text

from .. import funnel, selectors, services
from ..forms import NewProgrammeForm, ProgrammeForm
from ..models import Enrolment

TIMELINE_LENGTH = 20


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def programme_create(request: HttpRequest) -> HttpResponse:
    if not selectors.can_create_programme(request.user):
        raise Http404
    form = NewProgrammeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "creator_role"}
        programme = services.programme_create(
            user=request.user, creator_role=form.cleaned_data["creator_role"], **fields
        )
        messages.success(request, f"{programme.name} has been created")
        return redirect("programmes:programme_detail", programme.pk)
    return render(request, "programmes/programme_form.html", {"form": form})


@login_required
def programme_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The core team's view of a programme: the recruitment funnel at a glance."""
    programme = selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    counts = selectors.funnel_counts(programme)
    stages = [
        {"key": stage, "label": Enrolment.Status(stage).label, "count": counts.reached[stage]}
        for stage in funnel.FUNNEL_STAGES
    ]
    statuses = [
        {"key": status, "label": Enrolment.Status(status).label, "count": counts.current[status]}
        for status in Enrolment.Status.values
    ]
    return render(request, "programmes/programme_detail.html", {
        "programme": programme,
        "stages": stages,
        "statuses": statuses,
        "total": counts.total,
        "core_team": selectors.programme_core_team(programme),
        "invitations": selectors.pending_invitations(programme=programme),
        "timeline": timeline_for(programme)[:TIMELINE_LENGTH],
    })


@login_required
@require_http_methods(["GET", "POST"])
def programme_edit(request: HttpRequest, pk: int) -> HttpResponse:
    programme = selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    form = ProgrammeForm(request.POST or None, instance=programme)
    if request.method == "POST" and form.is_valid():
        # The form has written its values onto the instance; hand the service a fresh copy.
        programme.refresh_from_db()
        services.programme_update(programme=programme, user=request.user, **form.cleaned_data)
        messages.success(request, "The programme's details have been saved")
        return redirect("programmes:programme_detail", programme.pk)
    return render(request, "programmes/programme_form.html",
                  {"form": form, "programme": programme})


@login_required
@require_GET
def programme_activity(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything that happened in the programme, newest first, a page at a time."""
    programme = selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    query = search_text(request.GET)
    start = iso_date(request.GET.get("from", ""))
    end = iso_date(request.GET.get("to", ""))
    entries = timeline_for(programme)
    if query:
        entries = entries.filter(Q(summary__icontains=query) | Q(object_repr__icontains=query))
    # A range of moments, not a __date lookup, on the timeline's own index (timeline_for).
    if start:
        entries = entries.filter(filed_at__gte=_day_start(start))
    if end:
        entries = entries.filter(filed_at__lt=_day_start(end + datetime.timedelta(days=1)))
    return render(request, "programmes/programme_activity.html", {
        "programme": programme, "page": page_of(entries, request.GET),
        "query": query, "start": start, "end": end, "filtered": bool(query or start or end)})



def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
