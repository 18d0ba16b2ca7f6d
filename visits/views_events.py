"""National workshops and online conferences: the programme's list, an event's page, setting
one up, its agenda, invitations and cancellation. See visits.services.events.

Who sees what (visits.selectors_events): the programme's participants see its announced and
cancelled events; a draft is the core team's alone, so it is a 404 for anyone else. A
participant on a page only the core team may use gets a 403; anyone outside the programme a
404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from ilcop.concurrency import single_submission
from programmes.selectors.participants import (
    is_core_team,
    participant_sites,
    programme_for_participant,
)

from . import selectors_events
from .forms_events import AudienceForm, CancelForm, EventForm, EventKindForm, SessionForm
from .models import Event, EventInvitation, EventSession
from .selectors_events import event_for_core_team, event_for_participant
from .services import events as services


def _event_for(user, pk: int) -> tuple[Event, bool]:
    """The event and whether the person is in its programme's core team."""
    event = event_for_participant(user, pk)
    return event, is_core_team(user, event.programme)


def _programme_for_core(user, pk: int):
    programme = programme_for_participant(user, pk)
    if not is_core_team(user, programme):
        raise PermissionDenied
    return programme


def _short_notice_message(event: Event) -> str:
    weeks = event.programme.event_notice_weeks
    return (f"This is less than {weeks} weeks' notice: people may not be able to move clinics "
            "or find cover to come.")


@login_required
def programme_events(request: HttpRequest, pk: int) -> HttpResponse:
    programme = programme_for_participant(request.user, pk)
    request.programme = programme
    is_core = is_core_team(request.user, programme)
    events = programme.events.all()
    if not is_core:
        events = selectors_events.announced_events(events)
    today = timezone.localdate()
    events = list(events)
    upcoming = [e for e in events if e.date is None or e.date >= today]
    past = sorted((e for e in events if e.date is not None and e.date < today),
                  key=lambda e: (e.date, e.start_time), reverse=True)
    return render(request, "visits/events/programme_events.html", {
        "programme": programme, "is_core": is_core, "upcoming": upcoming, "past": past})


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def event_create(request: HttpRequest, pk: int) -> HttpResponse:
    programme = _programme_for_core(request.user, pk)
    request.programme = programme
    kind_form = EventKindForm(request.GET if "kind" in request.GET else None)
    if not kind_form.is_valid():
        return render(request, "visits/events/event_kind.html", {
            "programme": programme, "form": kind_form})
    kind = kind_form.cleaned_data["kind"]
    form = EventForm(request.POST or None, kind=kind)
    if request.method == "POST" and form.is_valid():
        try:
            event = services.event_create(programme=programme, user=request.user, kind=kind,
                                          **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "The event is saved as a draft. Add its agenda, then "
                                      "invite people.")
            if services.announcing_at_short_notice(event):
                messages.warning(request, _short_notice_message(event))
            return redirect("visits:event_detail", event.pk)
    return render(request, "visits/events/event_form.html", {
        "programme": programme, "form": form, "kind": Event.Kind(kind), "event": None})


def _poll_url(event: Event) -> str:
    return reverse("visits:event_poll_open", args=[event.pk])


@login_required
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event, is_core = _event_for(request.user, pk)
    request.programme = event.programme
    invitation = EventInvitation.objects.filter(event=event, user=request.user).first()
    agenda = services.agenda_for(event, invitation.role if invitation else None)
    return render(request, "visits/events/event_detail.html", {
        "event": event, "is_core": is_core, "invitation": invitation,
        "agenda": agenda, "slots": _slots(agenda),
        "invited": event.invitations.count() if is_core else None,
        "short_notice": is_core and services.announcing_at_short_notice(event),
        "notice_message": _short_notice_message(event),
        "problems": services.ready_to_invite(event) if is_core else [],
        "poll_url": _poll_url(event) if is_core and event.date is None else None,
    })


def _slots(agenda: list[EventSession]) -> list[tuple[tuple, list[EventSession]]]:
    """Sessions grouped by their times, so breakouts that run together are shown together."""
    slots: dict[tuple, list[EventSession]] = {}
    for session in agenda:
        slots.setdefault((session.start_time, session.end_time), []).append(session)
    return list(slots.items())


@login_required
@require_http_methods(["GET", "POST"])
def event_edit(request: HttpRequest, pk: int) -> HttpResponse:
    event = event_for_core_team(request.user, pk)
    request.programme = event.programme
    form = EventForm(request.POST or None, instance=event, kind=event.kind)
    if request.method == "POST" and form.is_valid():
        was_announced = event.status == Event.Status.ANNOUNCED
        sequence = event.sequence
        try:
            event = services.event_update(event=event, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "The event's details are saved" + (
                ". Everyone invited who has not declined has been sent an updated calendar "
                "invitation." if was_announced and event.sequence != sequence else ""))
            if services.announcing_at_short_notice(event):
                messages.warning(request, _short_notice_message(event))
            return redirect("visits:event_detail", event.pk)
    return render(request, "visits/events/event_form.html", {
        "programme": event.programme, "form": form, "kind": Event.Kind(event.kind),
        "event": event})


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def event_session_add(request: HttpRequest, pk: int) -> HttpResponse:
    event = event_for_core_team(request.user, pk)
    request.programme = event.programme
    form = SessionForm(request.POST or None, event=event, initial={
        "start_time": event.start_time, "end_time": event.end_time})
    if request.method == "POST" and form.is_valid():
        try:
            services.session_add(event=event, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{form.cleaned_data['title']} added to the agenda")
            return redirect("visits:event_detail", event.pk)
    return render(request, "visits/events/session_form.html", {
        "event": event, "form": form, "session": None})


@login_required
@require_http_methods(["GET", "POST"])
def event_session_edit(request: HttpRequest, pk: int, session_pk: int) -> HttpResponse:
    event = event_for_core_team(request.user, pk)
    request.programme = event.programme
    session = get_object_or_404(EventSession, pk=session_pk, event=event)
    form = SessionForm(request.POST or None, event=event, instance=session)
    if request.method == "POST" and form.is_valid():
        try:
            services.session_update(session=session, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{session.title} is saved")
            return redirect("visits:event_detail", event.pk)
    return render(request, "visits/events/session_form.html", {
        "event": event, "form": form, "session": session})


@login_required
@require_POST
def event_session_remove(request: HttpRequest, pk: int, session_pk: int) -> HttpResponse:
    event = event_for_core_team(request.user, pk)
    session = get_object_or_404(EventSession, pk=session_pk, event=event)
    try:
        services.session_remove(session=session, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{session.title} removed from the agenda")
    return redirect("visits:event_detail", event.pk)


@login_required
@require_http_methods(["GET", "POST"])
def event_invite(request: HttpRequest, pk: int) -> HttpResponse:
    """Choose the audience, see how many it reaches, then send. For a draft this announces
    the event; at short notice the core team must say why."""
    event = event_for_core_team(request.user, pk)
    request.programme = event.programme
    short_notice = services.announcing_at_short_notice(event)
    sites = participant_sites(event.programme).select_related("organisation").order_by(
        "organisation__name", "name")
    form = AudienceForm(request.POST or None, sites=sites, short_notice=short_notice)
    problems = services.ready_to_invite(event)
    preview = None
    if request.method == "POST" and not problems and form.is_valid():
        data = form.cleaned_data
        audience = services.Audience(roles=tuple(data["roles"]), site_ids=tuple(data["sites"]),
                                     include_core_team=data["include_core_team"])
        if request.POST.get("confirmed") == "yes":
            try:
                invited = services.event_invite(
                    event=event, user=request.user, audience=audience,
                    short_notice_reason=data.get("short_notice_reason", ""))
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"{len(invited)} people have been sent an "
                                          "invitation with a calendar file.")
                return redirect("visits:event_detail", event.pk)
        else:
            reach, already = services.audience_count(event, audience)
            preview = {"reach": reach, "already": already, "new": reach - already}
    return render(request, "visits/events/event_invite.html", {
        "event": event, "form": form, "preview": preview, "problems": problems,
        "short_notice": short_notice, "notice_message": _short_notice_message(event),
        "announcing": event.status == Event.Status.DRAFT,
    })


@login_required
@require_http_methods(["GET", "POST"])
def event_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    event = event_for_core_team(request.user, pk)
    request.programme = event.programme
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.event_cancel(event=event, user=request.user,
                                  reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "The event is cancelled. Everyone invited has been sent "
                                      "a cancellation for their calendar.")
            return redirect("visits:event_detail", event.pk)
    return render(request, "visits/events/event_cancel.html", {"event": event, "form": form})


@login_required
def event_calendar(request: HttpRequest, pk: int) -> HttpResponse:
    """The event for the person's own calendar: for those invited, and the core team."""
    event, is_core = _event_for(request.user, pk)
    if not is_core and not event.invitations.filter(user=request.user).exists():
        raise PermissionDenied
    if event.date is None or event.start_time is None or event.end_time is None:
        raise Http404
    method = "CANCEL" if event.status == Event.Status.CANCELLED else "REQUEST"
    filename, content, content_type = services.calendar_attachment(event, request.user, method)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
