"""An event's replies and live counts, attendance on the day, and its slides and documents.

The invitee's reply box, the core team's compact count and the materials list are partials
of the event's page (templates/visits/events/_reply.html, _response_summary.html,
_materials.html); the pages here are the core team's, plus the download every participant
may use.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ilcop.concurrency import single_submission
from ilcop.uploads import ACCEPTED_DESCRIPTION, file_response
from programmes.selectors.participants import is_core_team

from . import selectors_events as selectors
from .forms_event_responses import EventAttendanceForm, EventMaterialForm, EventReplyForm
from .models import Event, EventMaterial
from .services import event_responses as services


def _event_url(event: Event) -> str:
    return reverse("visits:event_detail", args=[event.pk])


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _replies_context(event: Event) -> dict:
    counts = selectors.reply_counts(event)
    return {
        "event": event, "counts": counts,
        "tables": [("By role", "Role", counts.by_role), ("By site", "Site", counts.by_site)],
        "low_turnout": selectors.low_turnout(
            invited=counts.total.invited, coming=counts.total.coming, event_date=event.date,
            today=timezone.localdate()),
        "turnout_window_days": selectors.LOW_TURNOUT_WINDOW_DAYS,
    }


@login_required
@require_POST
def event_reply(request: HttpRequest, pk: int) -> HttpResponse:
    event = selectors.event_for_participant(request.user, pk)
    invitation = selectors.own_invitation(request.user, event)
    if invitation is None:
        raise PermissionDenied("You are not invited to this event")
    form = EventReplyForm(request.POST)
    error = ""
    if not form.is_valid():
        error = "Choose whether you are coming"
    else:
        try:
            invitation = services.event_reply(invitation=invitation, user=request.user,
                                              response=form.cleaned_data["response"])
        except ValidationError as exc:
            error = " ".join(exc.messages)
    if _is_htmx(request):
        return render(request, "visits/events/_reply.html", {
            "event": event, "invitation": invitation, "is_core": False,
            "reply_error": error, "reply_saved": not error})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Your reply is saved: {invitation.get_response_display()}")
    return redirect(_event_url(event) + "#reply")


@login_required
@require_GET
def event_replies(request: HttpRequest, pk: int) -> HttpResponse:
    event = selectors.event_for_core_team(request.user, pk)
    request.programme = event.programme
    return render(request, "visits/events/replies.html", {
        **_replies_context(event),
        "invitations": selectors.event_invitations(event),
        "attendance_refusal": services.attendance_refusal(event),
    })


@login_required
@require_GET
def event_reply_counts(request: HttpRequest, pk: int) -> HttpResponse:
    """The counts alone, for the replies page to refresh itself (and for the event page's
    compact count when its view did not work them out)."""
    event = selectors.event_for_core_team(request.user, pk)
    template = ("visits/events/_response_summary.html" if request.GET.get("compact")
                else "visits/events/_reply_counts.html")
    return render(request, template, {**_replies_context(event), "is_core": True,
                                      "reply_counts": selectors.reply_counts(event),
                                      "oob": True})


@login_required
@require_http_methods(["GET", "POST"])
def event_attendance(request: HttpRequest, pk: int) -> HttpResponse:
    event = selectors.event_for_core_team(request.user, pk)
    request.programme = event.programme
    refusal = services.attendance_refusal(event)
    if request.method == "POST" and refusal:
        messages.error(request, refusal)
        return redirect("visits:event_attendance", event.pk)
    invitations = list(selectors.event_invitations(event))
    posted = request.method == "POST"
    form = EventAttendanceForm(request.POST if posted else None, invitations=invitations)
    if request.method == "POST" and form.is_valid():
        try:
            came, absent = services.event_attendance_record(
                event=event, user=request.user, came=form.came(), shown=form.shown_ids())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Attendance saved: {came} came, {absent} did not")
            return redirect("visits:event_replies", event.pk)
    return render(request, "visits/events/attendance.html", {
        "event": event, "form": form, "refusal": refusal,
        "came_fields": [form[f"came-{i.pk}"] for i in invitations],
    })


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def event_material_add(request: HttpRequest, pk: int) -> HttpResponse:
    event = selectors.event_for_core_team(request.user, pk)
    request.programme = event.programme
    posted = request.method == "POST"
    form = EventMaterialForm(request.POST if posted else None,
                             request.FILES if posted else None)
    if request.method == "POST" and form.is_valid():
        try:
            material = services.event_material_add(
                event=event, user=request.user, title=form.cleaned_data["title"],
                file=form.cleaned_data["file"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"“{material.title}” added")
            return redirect(_event_url(event) + "#materials")
    return render(request, "visits/events/material_form.html", {
        "event": event, "form": form, "accepted": ACCEPTED_DESCRIPTION,
    })


def _material(event: Event, material_pk: int) -> EventMaterial:
    return get_object_or_404(EventMaterial, pk=material_pk, event=event)


@login_required
@require_GET
def event_material_download(request: HttpRequest, pk: int, material_pk: int) -> HttpResponse:
    event = selectors.event_for_participant(request.user, pk)
    if event.status != Event.Status.ANNOUNCED and not is_core_team(request.user,
                                                                   event.programme):
        raise Http404("No such document")
    material = _material(event, material_pk)
    return file_response(material.file, filename=material.filename)


@login_required
@require_http_methods(["GET", "POST"])
def event_material_remove(request: HttpRequest, pk: int, material_pk: int) -> HttpResponse:
    event = selectors.event_for_core_team(request.user, pk)
    request.programme = event.programme
    material = _material(event, material_pk)
    if request.method == "POST":
        services.event_material_remove(material=material, user=request.user)
        messages.success(request, f"“{material.title}” removed")
        return redirect(_event_url(event) + "#materials")
    return render(request, "visits/events/material_remove.html",
                  {"event": event, "material": material})
