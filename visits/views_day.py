"""The visit day: the agenda, the facilitator's live mode, the summary with each team's
feedback and the agreed focus areas, attendance and the facilitator's private notes.

Who may do what: both teams (the current members of the host and visiting sites) and the
programme's core team see the agenda and the summary; only the core team edits the agenda,
runs live mode, marks attendance and sees the facilitator's notes (anyone else gets a 404,
as for every page they cannot see). On the summary the visiting team writes its feedback and
the host team its reflections; a member of one team trying to change the other's gets a 403.

Live mode works without JavaScript (each button is a form that posts and redirects back); with
it, htmx swaps the session panel and the list of captured points in place, and static/js/live.js
ticks the clock, keeps the capture box's draft and queues notes that could not be sent.
"""

import datetime
import re
import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from ilcop.concurrency import (
    Conflict,
    EditConflict,
    VersionedFormMixin,
    differences,
    single_submission,
)
from ilcop.forms import PlainErrorMessagesMixin
from ilcop.models import User
from programmes.models import SiteMembership

from . import selectors
from .models import (
    Contribution,
    FacilitatorNote,
    FocusArea,
    TeamFeedback,
    Visit,
    VisitAgendaItem,
    VisitAttendee,
)
from .services import day as services

TEXTAREA = forms.Textarea(attrs={"rows": 4})


# --- forms -----------------------------------------------------------------------------------


class AgendaItemForm(PlainErrorMessagesMixin, forms.Form):
    title = forms.CharField(label="Title", max_length=200)
    planned_minutes = forms.IntegerField(
        label="Planned minutes", min_value=1, max_value=services.MAX_SESSION_MINUTES,
        widget=forms.NumberInput(attrs={"class": "nhsuk-input--width-4"}))


class AgendaItemAddForm(AgendaItemForm):
    after = forms.ModelChoiceField(queryset=VisitAgendaItem.objects.none(), required=False,
                                   label="Place it after", empty_label="At the end")

    def __init__(self, *args, visit: Visit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["after"].queryset = visit.agenda.all()


class CaptureForm(PlainErrorMessagesMixin, forms.Form):
    kind = forms.ChoiceField(label="What kind of point is it?", choices=Contribution.Kind.choices,
                             widget=forms.RadioSelect(attrs={"class": "nhsuk-radios--inline"}),
                             initial=Contribution.Kind.STRENGTH)
    who = forms.ChoiceField(label="Who raised it?")
    text = forms.CharField(label="What was said", widget=forms.Textarea(attrs={"rows": 3}))
    client_id = forms.UUIDField(widget=forms.HiddenInput)
    session = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, who: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["who"].choices = [("", "Choose who")] + who
        self.fields["text"].error_messages["required"] = "Enter what was said"
        self.fields["who"].error_messages["required"] = "Select who raised it"
        self.fields["kind"].error_messages["required"] = "Select what kind of point it is"


class FeedbackForm(VersionedFormMixin, PlainErrorMessagesMixin, forms.Form):
    strengths = forms.CharField(label="Strengths", widget=TEXTAREA, required=False)
    opportunities = forms.CharField(label="Opportunities for improvement", widget=TEXTAREA,
                                    required=False)

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("strengths") or "").strip() and not (
                cleaned.get("opportunities") or "").strip():
            self.add_error("strengths", "Enter at least one strength or opportunity")
        return cleaned


class FocusAreaForm(PlainErrorMessagesMixin, forms.Form):
    title = forms.CharField(label="Focus area", max_length=200,
                            help_text="For example, 'Get every patient seen by a CNS'")
    description = forms.CharField(label="Why, and what good would look like", widget=TEXTAREA,
                                  required=False)
    owner = forms.ModelChoiceField(queryset=User.objects.none(), label="Owner",
                                   help_text="Who in the host team leads it",
                                   empty_label="Choose the owner")

    def __init__(self, *args, visit: Visit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(
            site_memberships__in=SiteMembership.objects.current().filter(site_id=visit.host_id)
        ).distinct().order_by("full_name", "pk")


class NoteForm(VersionedFormMixin, forms.Form):
    text = forms.CharField(label="Your notes", required=False,
                           widget=forms.Textarea(attrs={"rows": 12}),
                           help_text="Only the core team can see these notes.")


PRESENCE = [("present", "Present"), ("absent", "Absent")]


class AttendanceForm(forms.Form):
    def __init__(self, *args, attendees: list[VisitAttendee], **kwargs):
        super().__init__(*args, **kwargs)
        self.attendees = attendees
        for attendee in attendees:
            initial = {True: "present", False: "absent"}.get(attendee.present)
            self.fields[f"attendee-{attendee.pk}"] = forms.ChoiceField(
                label=f"{attendee.user} ({attendee.get_team_display().lower()}, "
                      f"{attendee.role_label.lower()})",
                choices=PRESENCE, required=False, initial=initial,
                widget=forms.RadioSelect(attrs={"class": "nhsuk-radios--inline"}))

    def presence(self) -> dict[int, bool | None]:
        return {a.pk: {"present": True, "absent": False}.get(
            self.cleaned_data.get(f"attendee-{a.pk}") or "") for a in self.attendees}


# --- helpers ---------------------------------------------------------------------------------


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _teams_for(user: User, visit: Visit) -> set[str]:
    """The visit teams ("host", "visiting") the user is a current member of."""
    sites = set(SiteMembership.objects.current().filter(
        user=user, site__in=[visit.host_id, visit.visitor_id]).values_list("site_id", flat=True))
    # A review's visiting team is its reviewers (visits.models.review), not a site.
    visiting = (visit.visitor_id in sites if visit.review_id is None
                else visit.review.team.filter(reviewer__user=user).exists())
    return ({TeamFeedback.Team.HOST} if visit.host_id in sites else set()) | (
        {TeamFeedback.Team.VISITING} if visiting else set())


def _item(visit: Visit, item_pk: int) -> VisitAgendaItem:
    return get_object_or_404(VisitAgendaItem, pk=item_pk, visit=visit)


def clock(seconds: int) -> str:
    """12:05, or 1:02:03 past the hour."""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


# --- the agenda ------------------------------------------------------------------------------


@login_required
def visit_agenda(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_for_user(request.user, pk)
    request.programme = visit.programme
    is_core = selectors.is_core_for_visit(request.user, visit)
    # The core team's first look copies the template onto the visit; a site member's look
    # only previews it, so reading a page writes nothing.
    items = (services.visit_agenda_ensure(visit=visit, user=request.user) if is_core
             else services.visit_agenda_preview(visit))
    at = (datetime.datetime.combine(visit.date or timezone.localdate(), visit.start_time)
          if visit.start_time else None)
    for item in items:
        item.planned_start = at.time() if at else None
        if at:
            at += datetime.timedelta(minutes=item.planned_minutes)
        item.elapsed_minutes = item.elapsed_seconds() // 60
    return render(request, "visits/day/agenda.html", {
        "visit": visit, "is_core": is_core, "items": items,
        "total_minutes": sum(i.planned_minutes for i in items),
        "planned_end": at.time() if at else None,
    })


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def agenda_item_add(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_for_core_team(request.user, pk)
    request.programme = visit.programme
    services.visit_agenda_ensure(visit=visit, user=request.user)
    form = AgendaItemAddForm(request.POST or None, visit=visit)
    if request.method == "POST" and form.is_valid():
        try:
            services.agenda_item_add(visit=visit, user=request.user,
                                     title=form.cleaned_data["title"],
                                     planned_minutes=form.cleaned_data["planned_minutes"],
                                     after=form.cleaned_data["after"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Session added to this visit's agenda")
            return redirect("visits:visit_agenda", visit.pk)
    return render(request, "visits/day/agenda_item_form.html", {
        "visit": visit, "form": form, "item": None})


@login_required
@require_http_methods(["GET", "POST"])
def agenda_item_edit(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    visit = selectors.visit_for_core_team(request.user, pk)
    request.programme = visit.programme
    item = _item(visit, item_pk)
    form = AgendaItemForm(request.POST or None, initial={
        "title": item.title, "planned_minutes": item.planned_minutes})
    if request.method == "POST" and form.is_valid():
        try:
            services.agenda_item_update(item=item, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Session {item.order} changed for this visit")
            return redirect("visits:visit_agenda", visit.pk)
    return render(request, "visits/day/agenda_item_form.html", {
        "visit": visit, "form": form, "item": item})


@login_required
@require_POST
def agenda_item_move(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    visit = selectors.visit_for_core_team(request.user, pk)
    item = _item(visit, item_pk)
    try:
        services.agenda_item_move(item=item, user=request.user,
                                  direction=request.POST.get("direction", ""))
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    return redirect(reverse("visits:visit_agenda", args=[visit.pk]) + f"#session-{item.pk}")


@login_required
@require_POST
def agenda_item_remove(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    visit = selectors.visit_for_core_team(request.user, pk)
    item = _item(visit, item_pk)
    try:
        services.agenda_item_remove(item=item, user=request.user)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, f"“{item.title}” removed from this visit's agenda")
    return redirect("visits:visit_agenda", visit.pk)


# --- live mode -------------------------------------------------------------------------------


def _panel_context(visit: Visit, items: list[VisitAgendaItem]) -> dict:
    now = timezone.now()
    current = services.current_session(items)
    running = current if current and current.started_at and not current.ended_at else None
    elapsed = current.elapsed_seconds(now) if current else 0
    planned = current.planned_minutes * 60 if current else 0
    later = [i for i in items if current and i.order > current.order and i.ended_at is None]
    return {
        "visit": visit, "items": items, "current": current, "running": running,
        "elapsed": elapsed, "planned": planned,
        "overrun": bool(running and elapsed > planned),
        "overrun_minutes": max(0, elapsed - planned) // 60,
        "elapsed_display": clock(elapsed),
        "has_later": bool(later),
        "finished": bool(items) and all(i.ended_at for i in items),
        "now": now,
    }


def _captures_context(visit: Visit, items: list[VisitAgendaItem]) -> dict:
    titles = {i.pk: i.title for i in items}
    captures = list(visit.contributions.order_by("-created_at", "-pk"))
    for capture in captures:
        capture.who = services.who_label(capture.team, capture.role)
        capture.session_title = titles.get(capture.session_id, "")
    return {"visit": visit, "captures": captures, "counts": services.role_counts(visit)}


def _live_context(visit: Visit, user: User, form: CaptureForm | None = None) -> dict:
    items = services.visit_agenda_ensure(visit=visit, user=user)
    context = _panel_context(visit, items)
    context.update(_captures_context(visit, items))
    if form is None:
        running = context["running"]
        form = CaptureForm(who=services.who_choices(visit), initial={
            "client_id": uuid.uuid4(), "session": running.pk if running else None})
    context["form"] = form
    return context


@login_required
def visit_live(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_for_core_team(request.user, pk)
    request.programme = visit.programme
    return render(request, "visits/day/live.html", _live_context(visit, request.user))


def _panel_response(request: HttpRequest, visit: Visit) -> HttpResponse:
    if not _is_htmx(request):
        return redirect("visits:visit_live", visit.pk)
    items = list(visit.agenda.all())
    return render(request, "visits/day/_session_panel.html",
                  {**_panel_context(visit, items), "oob": True})


SESSION_ACTIONS = {
    "start": services.session_start,
    "pause": services.session_pause,
    "resume": services.session_resume,
    "end": services.session_end,
}


@login_required
@require_POST
def session_action(request: HttpRequest, pk: int, item_pk: int, action: str) -> HttpResponse:
    visit = selectors.visit_for_core_team(request.user, pk)
    if action not in SESSION_ACTIONS:
        raise Http404("No such action")
    SESSION_ACTIONS[action](item=_item(visit, item_pk), user=request.user)
    return _panel_response(request, visit)


@login_required
@require_POST
def session_next(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_for_core_team(request.user, pk)
    current = None
    if re.fullmatch(r"[0-9]{1,18}", request.POST.get("current", "")):
        current = VisitAgendaItem.objects.filter(visit=visit,
                                                 pk=int(request.POST["current"])).first()
    following = services.session_next(visit=visit, user=request.user, current=current)
    if following is None and not _is_htmx(request):
        messages.success(request, "That was the last session. Agree the focus areas and "
                                  "feedback on the summary.")
    return _panel_response(request, visit)


@login_required
@require_POST
def contribution_add(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_for_core_team(request.user, pk)
    request.programme = visit.programme
    form = CaptureForm(request.POST, who=services.who_choices(visit))
    try:
        replayed = Contribution.objects.filter(
            visit=visit, client_id=uuid.UUID(request.POST.get("client_id", ""))).exists()
    except ValueError:
        replayed = False
    if replayed:
        # Already stored (a retry, or the offline queue replaying it): answer as for the first
        # time, even if the form would no longer accept it (say, the person left the list).
        if _is_htmx(request):
            return render(request, "visits/day/_captures.html",
                          {**_captures_context(visit, list(visit.agenda.all())), "oob": True})
        return redirect(reverse("visits:visit_live", args=[visit.pk]) + "#capture")
    if form.is_valid():
        data = form.cleaned_data
        team, _, role = data["who"].partition(":")
        session = (VisitAgendaItem.objects.filter(visit=visit, pk=data["session"]).first()
                   if data["session"] else None)
        try:
            _, created = services.contribution_add(
                visit=visit, user=request.user, kind=data["kind"], team=team, role=role,
                text=data["text"], client_id=data["client_id"], session=session)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if _is_htmx(request):
                items = list(visit.agenda.all())
                return render(request, "visits/day/_captures.html",
                              {**_captures_context(visit, items), "oob": True})
            if created:
                messages.success(request, "Captured")
            return redirect(reverse("visits:visit_live", args=[visit.pk]) + "#capture")
    if _is_htmx(request):
        # live.js swaps the form back in, errors and all, in place of the one sent.
        response = render(request, "visits/day/_capture_form.html",
                          {"visit": visit, "form": form})
        response.status_code = 422
        response["HX-Retarget"] = "#capture-form"
        response["HX-Reswap"] = "outerHTML"
        return response
    return render(request, "visits/day/live.html", _live_context(visit, request.user, form))


# --- the summary -----------------------------------------------------------------------------


SUMMARY_KINDS = (Contribution.Kind.STRENGTH, Contribution.Kind.OPPORTUNITY)
LATER_KINDS = (Contribution.Kind.IDEA, Contribution.Kind.ACTION)


def _render_summary(request: HttpRequest, visit: Visit, *, feedback_forms=None,
                    focus_form=None, conflict: Conflict | None = None,
                    status=200) -> HttpResponse:
    request.programme = visit.programme
    is_core = selectors.is_core_for_visit(request.user, visit)
    teams = _teams_for(request.user, visit)
    items = list(visit.agenda.all())
    captures = list(visit.contributions.all())
    by_session: dict[int | None, dict[str, list]] = {}
    for capture in captures:
        capture.who = services.who_label(capture.team, capture.role)
        if capture.kind in SUMMARY_KINDS:
            group = by_session.setdefault(capture.session_id, {k: [] for k in SUMMARY_KINDS})
            group[capture.kind].append(capture)
    sessions = [(item.title, by_session[item.pk]) for item in items if item.pk in by_session]
    if None in by_session:
        sessions.append(("Not tied to a session", by_session[None]))
    titles = {i.pk: i.title for i in items}
    later = []
    for kind in LATER_KINDS:
        points = [c for c in captures if c.kind == kind]
        for point in points:
            point.session_title = titles.get(point.session_id, "")
        later.append((Contribution.Kind(kind).label, kind, points))
    feedback = {f.team: f for f in visit.feedback.select_related("updated_by")}
    can_edit = {team: is_core or team in teams for team in TeamFeedback.Team.values}
    feedback_forms = feedback_forms or {}
    blocks = []
    for team, label in ((TeamFeedback.Team.VISITING, "The visiting team's feedback"),
                        (TeamFeedback.Team.HOST, "The host team's reflections")):
        saved = feedback.get(team)
        form = feedback_forms.get(team)
        if form is None and can_edit[team]:
            form = FeedbackForm(prefix=team, initial={
                "strengths": saved.strengths if saved else "",
                "opportunities": saved.opportunities if saved else "",
                "version": saved.version if saved else 0})
        blocks.append({"team": team, "label": label, "saved": saved,
                       "form": form if can_edit[team] else None})
    can_add_focus = is_core or TeamFeedback.Team.HOST in teams
    if focus_form is None and can_add_focus:
        focus_form = FocusAreaForm(visit=visit)
    error_form = next((f for f in [*feedback_forms.values(), focus_form]
                       if f is not None and f.is_bound and f.errors), None)
    return render(request, "visits/day/summary.html", {
        "visit": visit, "is_core": is_core, "sessions": sessions, "later": later,
        "feedback_blocks": blocks,
        # "qips": the plans started from each area (the qips app's reverse relation).
        "focus_areas": visit.focus_areas.select_related("owner").prefetch_related("qips"),
        "can_start_plan": TeamFeedback.Team.HOST in teams,
        "focus_form": focus_form if can_add_focus else None,
        "can_remove_focus": is_core,
        "form": error_form, "conflict": conflict,
    }, status=status)


@login_required
def visit_summary(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_for_user(request.user, pk)
    return _render_summary(request, visit)


@login_required
@require_POST
def feedback_save(request: HttpRequest, pk: int, team: str) -> HttpResponse:
    visit = selectors.visit_for_user(request.user, pk)
    if team not in TeamFeedback.Team.values:
        raise Http404("No such team")
    if not (selectors.is_core_for_visit(request.user, visit)
            or team in _teams_for(request.user, visit)):
        raise PermissionDenied("Only that team and the core team can change this feedback")
    form = FeedbackForm(request.POST, prefix=team)
    conflict = None
    if form.is_valid():
        try:
            services.feedback_save(visit=visit, team=team, user=request.user,
                                   **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        except EditConflict as exc:
            conflict = _conflict(form, exc.current, ["strengths", "opportunities"],
                                 reverse("visits:visit_summary", args=[visit.pk]) + "#feedback")
        else:
            messages.success(request, f"{TeamFeedback.Team(team).label} saved")
            return redirect(reverse("visits:visit_summary", args=[visit.pk]) + "#feedback")
    return _render_summary(request, visit, feedback_forms={team: form}, conflict=conflict)


def _conflict(form: forms.Form, current: TeamFeedback | FacilitatorNote, names: list[str],
              discard_url: str) -> Conflict:
    """Both versions of what the other person's save and this form disagree on; the form now
    carries the version saved, so saving again keeps this person's text."""
    form.move_to_version(current.version)
    return Conflict(changed_by=str(current.updated_by or "Someone else"),
                    changed_at=current.updated_at,
                    differences=differences(form, current, names), discard_url=discard_url)


@login_required
@require_POST
@single_submission
def focus_area_add(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_for_user(request.user, pk)
    if not (selectors.is_core_for_visit(request.user, visit)
            or TeamFeedback.Team.HOST in _teams_for(request.user, visit)):
        raise PermissionDenied("Only the host team and the core team agree focus areas")
    form = FocusAreaForm(request.POST, visit=visit)
    if form.is_valid():
        try:
            services.focus_area_add(visit=visit, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Focus area added")
            return redirect(reverse("visits:visit_summary", args=[visit.pk]) + "#focus-areas")
    return _render_summary(request, visit, focus_form=form)


@login_required
@require_POST
def focus_area_remove(request: HttpRequest, pk: int, area_pk: int) -> HttpResponse:
    visit = selectors.visit_for_core_team(request.user, pk)
    area = get_object_or_404(FocusArea, pk=area_pk, visit=visit)
    services.focus_area_remove(focus_area=area, user=request.user)
    messages.success(request, f"“{area.title}” removed")
    return redirect(reverse("visits:visit_summary", args=[visit.pk]) + "#focus-areas")


# --- after the visit -------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def attendance_mark(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_for_core_team(request.user, pk)
    request.programme = visit.programme
    attendees = list(visit.attendees.select_related("user"))
    form = AttendanceForm(request.POST or None, attendees=attendees)
    if request.method == "POST" and form.is_valid():
        try:
            services.attendance_mark(visit=visit, user=request.user, present=form.presence())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Attendance saved")
            return redirect("visits:attendance_mark", visit.pk)
    groups = [(label, [form[f"attendee-{a.pk}"] for a in attendees if a.team == key])
              for key, label in VisitAttendee.Team.choices]
    return render(request, "visits/day/attendance.html", {
        "visit": visit, "form": form, "groups": [g for g in groups if g[1]],
        "present": sum(1 for a in attendees if a.present),
        "absent": sum(1 for a in attendees if a.present is False),
        "total": len(attendees),
    })


@login_required
@require_http_methods(["GET", "POST"])
def facilitator_notes(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_for_core_team(request.user, pk)
    request.programme = visit.programme
    note = FacilitatorNote.objects.filter(visit=visit).select_related("updated_by").first()
    form = NoteForm(request.POST or None, initial={"text": note.text if note else "",
                                                   "version": note.version if note else 0})
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            services.facilitator_note_save(visit=visit, user=request.user,
                                           text=form.cleaned_data["text"],
                                           version=form.edited_version())
        except EditConflict as exc:
            conflict = _conflict(form, exc.current, ["text"],
                                 reverse("visits:facilitator_notes", args=[visit.pk]))
            note = exc.current
        else:
            messages.success(request, "Your notes are saved")
            return redirect("visits:facilitator_notes", visit.pk)
    return render(request, "visits/day/notes.html", {"visit": visit, "form": form, "note": note,
                                                     "conflict": conflict})
