"""Finding a date for a workshop or conference with an availability poll: the core team opens
it, reads the results and picks the date. People answer on the visit poll's own page
(views.poll_answer), from their emailed link."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from ilcop.concurrency import single_submission
from programmes.selectors import participant_sites

from . import selectors_events
from .forms_event_polls import EventPollOpenForm
from .models import AvailabilityPoll, Event
from .services import polls as services


def _service_errors_on_form(form: EventPollOpenForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        # The service names its deadline argument; the form asks for a date.
        exc = ValidationError({("deadline_date" if field == "deadline" else field): e
                               for field, e in exc.error_dict.items()})
    form.add_error(None, exc)


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def event_poll_open(request: HttpRequest, pk: int) -> HttpResponse:
    event = selectors_events.draft_event_for_core_team(request.user, pk)
    request.programme = event.programme
    if hasattr(event, "poll"):
        return redirect("visits:event_poll_results", event.pk)
    today = timezone.localdate()
    sites = participant_sites(event.programme).select_related("organisation").order_by(
        "organisation__name", "name")
    form = EventPollOpenForm(request.POST or None, sites=sites, initial={
        "window_start": today + datetime.timedelta(weeks=8),
        "window_end": today + datetime.timedelta(weeks=12),
        "deadline_date": today + datetime.timedelta(weeks=3),
    })
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.event_poll_open(
                event=event, user=request.user, window_start=data["window_start"],
                window_end=data["window_end"], weekdays=data["weekdays"],
                deadline=form.deadline(), roles=data["roles"], site_ids=data["sites"],
                include_core_team=data["include_core_team"])
        except ValidationError as exc:
            _service_errors_on_form(form, exc)
        else:
            messages.success(request, "The poll is open. Everyone asked has been emailed a "
                                      "link.")
            return redirect("visits:event_poll_results", event.pk)
    return render(request, "visits/events/poll_open.html", {"event": event, "form": form})


@login_required
def event_poll_results(request: HttpRequest, pk: int) -> HttpResponse:
    event = selectors_events.draft_event_for_core_team(request.user, pk)
    request.programme = event.programme
    poll = get_object_or_404(AvailabilityPoll, event=event)
    return render(request, "visits/events/poll_results.html", {
        "event": event, "poll": poll, "tally": services.poll_tally(poll),
        "can_choose": event.status == Event.Status.DRAFT,
    })


@login_required
@require_POST
def event_choose_date(request: HttpRequest, pk: int) -> HttpResponse:
    event = selectors_events.draft_event_for_core_team(request.user, pk)
    try:
        date = datetime.date.fromisoformat(request.POST.get("date", ""))
    except ValueError:
        messages.error(request, "Choose one of the dates the poll offered.")
        return redirect("visits:event_poll_results", event.pk)
    try:
        services.event_choose_date(event=event, date=date, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("visits:event_poll_results", event.pk)
    messages.success(request, f"Date chosen: {date:%A} {date.day} {date:%B %Y}. Announce the "
                              "event when its details are ready.")
    return redirect("visits:event_poll_results", event.pk)
