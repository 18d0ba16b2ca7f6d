"""Organising visits: the programme's visit list, a visit's page, polls, confirmation,
logistics and the programme-wide scheduler."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from ilcop.concurrency import single_submission
from ilcop.listing import sorting_from
from ilcop.views import act_then_redirect
from programmes import selectors as programme_selectors
from programmes.models import Enrolment, Pairing, Site, SiteMembership

from . import selectors, services
from .calendar import REVIEW_VISITING_ROLES, ROLE_LABELS
from .forms import ConfirmForm, PollOpenForm, ReasonForm, RotationForm, VisitDetailsForm
from .models import (
    AvailabilityPoll,
    LogisticsTask,
    PollAnswer,
    ReviewTeamMember,
    Visit,
    VisitAttendee,
)
from .services.polls import poll_subject


def _done(request: HttpRequest, action, success: str, url: str) -> HttpResponse:
    return act_then_redirect(request, action, success=success, to=url)


def _facilitator_choices(programme) -> list[tuple[str, str]]:
    """The core team and anyone else facilitating one of the programme's visits, so a
    dashboard link to any facilitator's visits shows that person chosen in the filter."""
    people = {m.user_id: m.user.full_name
              for m in programme_selectors.programme_core_team(programme)}
    people.update(programme.visits.filter(facilitator__isnull=False).values_list(
        "facilitator_id", "facilitator__full_name").distinct().order_by())
    return sorted(((str(pk), name) for pk, name in people.items()), key=lambda p: p[1])


@login_required
def programme_visits(request: HttpRequest, pk: int) -> HttpResponse:
    programme = programme_selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    filters = selectors.visit_filters(request.GET)
    sorting = sorting_from(request.GET, list(selectors.VISIT_SORTS), "date")
    visits = list(selectors.filtered_visits(programme, filters, sort=sorting.key,
                                            descending=sorting.descending))
    pairing = programme.pairings.filter(status=Pairing.Status.CONFIRMED).first()
    rotation_form = None
    if pairing and pairing.unpaired:
        rotation_form = RotationForm(
            pairs=pairing.pairs.select_related("site_a__organisation", "site_b__organisation"),
            sites=Site.objects.filter(pk__in=[int(k) for k in pairing.unpaired]).select_related(
                "organisation"))
    return render(request, "visits/programme_visits.html", {
        "programme": programme, "visits": visits, "pairing": pairing,
        "filters": filters, "sorting": sorting,
        "statuses": Visit.Status.choices, "people": _facilitator_choices(programme),
        "nobody": selectors.NOBODY, "live": selectors.LIVE,
        "rotation_form": rotation_form,
        "tasks_outstanding": len(selectors.outstanding_tasks(programme)),
    })


@login_required
@require_POST
@single_submission
def visits_create(request: HttpRequest, pk: int) -> HttpResponse:
    programme = programme_selectors.programme_for_core_team(request.user, pk)
    url = f"/programmes/{programme.pk}/visits/"
    try:
        created = services.visits_create_for_pairing(programme=programme, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{len(created)} visits proposed" if created
                         else "Every confirmed pair already has its visits")
    return redirect(url)


@login_required
@require_POST
@single_submission
def rotation_create(request: HttpRequest, pk: int) -> HttpResponse:
    programme = programme_selectors.programme_for_core_team(request.user, pk)
    pairing = get_object_or_404(Pairing, programme=programme, status=Pairing.Status.CONFIRMED)
    form = RotationForm(request.POST, pairs=pairing.pairs.all(), sites=Site.objects.filter(
        pk__in=[int(k) for k in pairing.unpaired]))
    url = f"/programmes/{programme.pk}/visits/"
    if not form.is_valid():
        messages.error(request, "Choose a pair and the site to join it")
        return redirect(url)
    return _done(request, lambda: services.visits_create_rotation(
        user=request.user, **form.cleaned_data), "Three-site rotation created", url)


@login_required
def site_visits(request: HttpRequest, pk: int) -> HttpResponse:
    """A site's visits, hosted and made, for its team and the core team."""
    site = programme_selectors.site_for_user(request.user, pk)
    visits = selectors.visible_visits(request.user).filter(
        Q(host=site) | Q(visitor=site)).select_related(
        "host__organisation", "visitor__organisation", "facilitator", "programme").order_by(
        "date", "pk")
    request.programme = programme_selectors.current_programme_for_site(request.user, site)
    return render(request, "visits/site_visits.html", {"site": site, "visits": visits})


@login_required
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_for_user(request.user, pk)
    request.programme = visit.programme
    is_core = selectors.is_core_for_visit(request.user, visit)
    attendees = list(visit.attendees.select_related("user"))
    attending = {a.user_id for a in attendees}
    addable, addable_reviewers = [], []
    if is_core and visit.is_open:
        addable = [m for m in SiteMembership.objects.current().filter(
            site__in=[visit.host_id, visit.visitor_id]).select_related("user", "site")
            if m.user_id not in attending]
        if visit.review_id is not None:
            addable_reviewers = [m for m in ReviewTeamMember.objects.filter(
                review_id=visit.review_id).select_related("reviewer__user")
                if m.reviewer.user_id not in attending]
    return render(request, "visits/visit_detail.html", {
        "addable": addable, "addable_reviewers": addable_reviewers,
        # The observation form is the reciprocal visit's (of the host's MDT meeting).
        "is_observer": not visit.is_review and SiteMembership.objects.current().filter(
            site_id=visit.visitor_id, user=request.user).exists(),
        "visit": visit, "is_core": is_core,
        "teams": [(label, [a for a in attendees if a.team == key])
                  for key, label in VisitAttendee.Team.choices],
        "missing": services.visit_missing_roles(visit) if attendees else [],
        "tasks": visit.tasks.select_related("owner", "done_by") if is_core else [],
        "poll": getattr(visit, "poll", None),
    })


@login_required
@require_http_methods(["GET", "POST"])
def visit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_for_core_team(request.user, pk)
    request.programme = visit.programme
    form = VisitDetailsForm(request.POST or None, instance=visit)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        visit.refresh_from_db()
        try:
            services.visit_update(visit=visit, user=request.user, **data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "The visit's details have been saved" + (
                ". The attendees have been sent an updated invitation."
                if visit.status == Visit.Status.CONFIRMED else ""))
            return redirect("visits:visit_detail", visit.pk)
    return render(request, "visits/visit_form.html", {"visit": visit, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def poll_open(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_for_core_team(request.user, pk)
    request.programme = visit.programme
    today = timezone.localdate()
    form = PollOpenForm(request.POST or None, initial={
        "window_start": today + datetime.timedelta(weeks=4),
        "window_end": today + datetime.timedelta(weeks=12),
        "deadline_date": today + datetime.timedelta(weeks=2),
    })
    if request.method == "POST" and form.is_valid():
        try:
            services.poll_open(visit=visit, user=request.user,
                               window_start=form.cleaned_data["window_start"],
                               window_end=form.cleaned_data["window_end"],
                               deadline=form.deadline())
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                # The service names its deadline argument; the form asks for a date.
                exc = ValidationError({("deadline_date" if field == "deadline" else field): e
                                       for field, e in exc.error_dict.items()})
            form.add_error(None, exc)
        else:
            messages.success(request, "The poll is open. Everyone has been emailed a link.")
            return redirect("visits:poll_results", visit.pk)
    return render(request, "visits/poll_open.html", {"visit": visit, "form": form})


@login_required
def poll_results(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_for_core_team(request.user, pk)
    request.programme = visit.programme
    poll = get_object_or_404(AvailabilityPoll, visit=visit)
    return render(request, "visits/poll_results.html", {
        "visit": visit, "grid": selectors.poll_grid(poll),
        "can_choose": visit.status in (Visit.Status.PROPOSED, Visit.Status.POLLING),
        "minimum": [ROLE_LABELS.get(r, r) for r in visit.programme.minimum_roles],
        # A review's visiting team is its reviewers, who need only their lead (the check in
        # selectors.poll_grid uses the same roles).
        "visiting_minimum": [ROLE_LABELS[r] for r in REVIEW_VISITING_ROLES]
        if visit.review_id is not None else None,
    })


@login_required
@require_POST
def visit_choose_date(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_for_core_team(request.user, pk)
    try:
        date = datetime.date.fromisoformat(request.POST.get("date", ""))
    except ValueError:
        messages.error(request, "Choose one of the dates")
        return redirect("visits:poll_results", visit.pk)
    try:
        services.visit_choose_date(visit=visit, date=date, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("visits:visit_detail", visit.pk)
    messages.success(request, f"Date agreed: {date:%A} {date.day} {date:%B %Y}. "
                              "Now confirm the visit's details.")
    return redirect("visits:visit_confirm", visit.pk)


@login_required
@require_http_methods(["GET", "POST"])
def visit_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_for_core_team(request.user, pk)
    request.programme = visit.programme
    form = ConfirmForm(request.POST or None, virtual=visit.virtual, initial={
        "venue": visit.venue or ("Online" if visit.virtual else visit.host.organisation.name)})
    missing = services.visit_missing_roles(visit)
    if request.method == "POST" and form.is_valid():
        try:
            services.visit_confirm(visit=visit, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "The visit is confirmed. Every attendee has been sent "
                                      "a calendar invitation.")
            return redirect("visits:visit_detail", visit.pk)
    return render(request, "visits/visit_confirm.html", {
        "visit": visit, "form": form, "missing": missing,
        "attendees": visit.attendees.select_related("user"),
    })


@login_required
@require_http_methods(["GET", "POST"])
def visit_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_for_core_team(request.user, pk)
    request.programme = visit.programme
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.visit_cancel(visit=visit, user=request.user,
                                  reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "The visit is cancelled. Anyone who had an invitation "
                                      "has been sent a cancellation.")
            return redirect("visits:visit_detail", visit.pk)
    return render(request, "visits/visit_cancel.html", {"visit": visit, "form": form})


@login_required
@require_POST
def visit_happened(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_for_core_team(request.user, pk)
    return _done(request, lambda: services.visit_mark_happened(visit=visit, user=request.user),
                 "Marked as happened", f"/visits/{visit.pk}/")


@login_required
@require_POST
def attendee_remove(request: HttpRequest, pk: int, attendee_pk: int) -> HttpResponse:
    visit = selectors.visit_for_core_team(request.user, pk)
    attendee = get_object_or_404(VisitAttendee, pk=attendee_pk, visit=visit)
    return _done(request, lambda: services.attendee_remove(attendee=attendee, user=request.user),
                 f"{attendee.user} removed from the attendance list", f"/visits/{visit.pk}/")


@login_required
@require_POST
@single_submission
def attendee_add(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_for_core_team(request.user, pk)
    if visit.review_id is not None and "team_member" in request.POST:
        return _review_team_member_add(request, visit)
    try:
        membership_id = int(request.POST.get("membership", ""))
    except ValueError:
        membership_id = 0
    membership = SiteMembership.objects.current().filter(
        pk=membership_id, site__in=[visit.host_id, visit.visitor_id]).select_related(
        "user").first()
    if membership is None:
        messages.error(request, "Choose a member of either team")
        return redirect("visits:visit_detail", visit.pk)
    team = (VisitAttendee.Team.HOST if membership.site_id == visit.host_id
            else VisitAttendee.Team.VISITING)
    return _done(request, lambda: services.attendee_add(
        visit=visit, person=membership.user, team=team, role=membership.role,
        user=request.user), f"{membership.user} added to the attendance list",
        f"/visits/{visit.pk}/")


def _review_team_member_add(request: HttpRequest, visit: Visit) -> HttpResponse:
    """A reviewer on the review's team joins the visit's visiting team, in their review role."""
    value = request.POST.get("team_member", "")
    member = (ReviewTeamMember.objects.filter(pk=int(value), review_id=visit.review_id)
              .select_related("reviewer__user").first()
              if value.isascii() and value.isdigit() and len(value) <= 18 else None)
    if member is None:
        messages.error(request, "Choose a reviewer on the review team")
        return redirect("visits:visit_detail", visit.pk)
    person = member.reviewer.user
    return _done(request, lambda: services.attendee_add(
        visit=visit, person=person, team=VisitAttendee.Team.VISITING, role=member.role,
        user=request.user), f"{person} added to the attendance list", f"/visits/{visit.pk}/")


@login_required
@require_POST
def task_toggle(request: HttpRequest, pk: int, task_pk: int) -> HttpResponse:
    visit = selectors.visit_for_core_team(request.user, pk)
    task = get_object_or_404(LogisticsTask, pk=task_pk, visit=visit)
    done = request.POST.get("done") == "1"
    services.task_complete(task=task, user=request.user, done=done)
    messages.success(request, f"{task.get_kind_display()}: {'done' if done else 'reopened'}")
    if request.POST.get("next") == "logistics":
        # Back to the same filtered, sorted list; re-encoded, so only a query string survives.
        kept = QueryDict(request.POST.get("list_query", "")[:500]).urlencode()
        url = reverse("visits:logistics", args=[visit.programme_id])
        return redirect(f"{url}?{kept}" if kept else url)
    return redirect("visits:visit_detail", visit.pk)


@login_required
def logistics(request: HttpRequest, pk: int) -> HttpResponse:
    """Every confirmed visit's outstanding tasks, so nothing depends on someone's inbox."""
    programme = programme_selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    filters = selectors.task_filters(request.GET)
    sorting = sorting_from(request.GET, list(selectors.TASK_SORTS), "due")
    everything = selectors.outstanding_tasks(programme)
    tasks = sorted(selectors.filtered_tasks(everything, filters),
                   key=selectors.TASK_SORTS[sorting.key], reverse=sorting.descending)
    return render(request, "visits/logistics.html", {
        "programme": programme, "tasks": tasks, "total": len(everything),
        "filters": filters, "sorting": sorting,
        "people": selectors.task_owners(everything), "nobody": selectors.NOBODY})


@login_required
@require_http_methods(["GET", "POST"])
def schedule(request: HttpRequest, pk: int) -> HttpResponse:
    """The scheduler's proposal for every open visit, to accept in whole or in part."""
    programme = programme_selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    if request.method == "POST":
        dates = {}
        for key, value in request.POST.items():
            visit_id = key.removeprefix("visit-")
            if (key.startswith("visit-") and visit_id.isdigit() and len(visit_id) <= 18
                    and request.POST.get(f"accept-{visit_id}")):
                try:
                    dates[int(visit_id)] = datetime.date.fromisoformat(value)
                except ValueError:
                    continue
        if not dates:
            messages.error(request, "Select at least one proposed date to accept")
        else:
            try:
                agreed = services.schedule_accept(programme=programme, dates=dates,
                                                  user=request.user)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, f"{agreed} date(s) agreed. Confirm each visit to "
                                          "send the invitations.")
            return redirect("visits:programme_visits", programme.pk)
    proposal = services.schedule_propose(programme)
    visits = {v.pk: v for v in selectors.programme_visits(programme).filter(
        status__in=[Visit.Status.PROPOSED, Visit.Status.POLLING])}
    proposed = sorted(((visits[v], d) for v, d in proposal.dates.items() if v in visits),
                      key=lambda item: (item[1], item[0].pk))
    unscheduled = [(visits[v], why) for v, why in proposal.unscheduled.items() if v in visits]
    return render(request, "visits/schedule.html", {
        "programme": programme, "proposal": proposal, "proposed": proposed,
        "unscheduled": unscheduled,
        "intervention": Enrolment.objects.filter(programme=programme,
                                                 status=Enrolment.Status.INTERVENTION).count(),
    })


@require_http_methods(["GET", "POST"])
def poll_answer(request: HttpRequest, token: str) -> HttpResponse:
    """Answering a poll from the emailed link, without signing in.

    Each answer is posted as it is chosen (htmx), so leaving the page loses nothing; the
    submit button sends them all for browsers without JavaScript."""
    try:
        invitee = services.invitee_from_token(token)
    except services.PollLinkError as exc:
        return render(request, "visits/poll_link_invalid.html", {"problem": str(exc)},
                      status=410)
    poll = invitee.poll
    dates = list(poll.dates.all())
    error = ""
    if request.method == "POST":
        answers = {}
        for poll_date in dates:
            answer = request.POST.get(f"date-{poll_date.date.isoformat()}")
            if answer:
                answers[poll_date.date] = answer
        try:
            services.poll_answer(invitee=invitee, answers=answers)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            if request.headers.get("HX-Request"):
                return render(request, "visits/_poll_saved.html", {"count": len(answers)})
            messages.success(request, "Thank you. Your answers are saved; you can change them "
                                      "until the poll closes.")
            return redirect(request.path)
    given = dict(invitee.answers.values_list("poll_date__date", "answer"))
    return render(request, "visits/poll_answer.html", {
        "invitee": invitee, "poll": poll, "visit": poll.visit, "event": poll.event,
        "programme": poll_subject(poll).programme, "error": error,
        "rows": [(d.date, given.get(d.date, "")) for d in dates],
        "choices": PollAnswer.Answer.choices,
    })
