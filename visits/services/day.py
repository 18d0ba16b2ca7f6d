"""The visit day: the agenda, the facilitator's live mode (session timers and quick capture),
each team's feedback, the focus areas agreed at the summary, attendance and the facilitator's
private notes.

Every write is atomic and logged. Live-mode writes are idempotent so that a double click, a
retried request or the browser's offline queue replaying a note changes nothing twice: starting
a running session does nothing, "next" names the session it moves on from, and a note carries
a client_id made in the browser, stored once per visit.
"""

import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.concurrency import lock_for_edit, unchanged, version_bump
from ilcop.models import User
from programmes.models import Programme, SiteMembership

from .. import agenda_default
from ..calendar import SITE_ROLES, TEAM_LABELS
from ..models import (
    AgendaTemplate,
    AgendaTemplateItem,
    Contribution,
    FacilitatorNote,
    FocusArea,
    TeamFeedback,
    Visit,
    VisitAgendaItem,
    VisitAttendee,
    role_label,
)
from ..models.day import SessionKind
from .common import log_visit, visiting_team

MAX_SESSION_MINUTES = 480
# Short names for the "who raised it" choice; everything else uses the role's own label.
SHORT_ROLE_LABELS = {"cns": "CNS", "mdt_coordinator": "MDT coordinator",
                     "facilitator": "Facilitator"}
TEAM_ORDER = (VisitAttendee.Team.HOST, VisitAttendee.Team.VISITING,
              VisitAttendee.Team.FACILITATOR)
ROLE_ORDER = (*SITE_ROLES, "facilitator")


# --- the agenda ------------------------------------------------------------------------------


@transaction.atomic
def agenda_template_default(*, programme: Programme, user: User | None = None) -> AgendaTemplate:
    """The programme's default agenda, created the first time it is needed: Box 1 for a
    reciprocal programme, the one-day review for a one-way one (agenda_default.agenda_for)."""
    Programme.objects.select_for_update().filter(pk=programme.pk).first()
    template = programme.agenda_templates.filter(is_default=True).order_by("pk").first()
    if template is not None:
        return template
    name, sessions = agenda_default.agenda_for(programme.kind)
    template = AgendaTemplate.objects.create(programme=programme, is_default=True, name=name)
    AgendaTemplateItem.objects.bulk_create(
        AgendaTemplateItem(template=template, order=n, kind=s.kind, title=s.title,
                           minutes=s.minutes, guidance=s.guidance)
        for n, s in enumerate(sessions, start=1))
    log_action(template, "agenda_template.created", actor=user,
               summary="Created the default visit-day agenda", scopes=[programme])
    return template


def visit_agenda_preview(visit: Visit) -> list[VisitAgendaItem]:
    """The agenda a site member sees: the visit's own if it has one, else (unsaved) what the
    programme's template would give it. Reading a page writes nothing."""
    items = list(visit.agenda.all())
    if items:
        return items
    template = visit.programme.agenda_templates.filter(is_default=True).first()
    sessions = ([(t.kind, t.title, t.minutes, t.guidance) for t in template.items.all()]
                if template else
                [(s.kind, s.title, s.minutes, s.guidance)
                 for s in agenda_default.agenda_for(visit.programme.kind)[1]])
    return [VisitAgendaItem(visit=visit, order=n, kind=kind, title=title,
                            planned_minutes=minutes, guidance=guidance)
            for n, (kind, title, minutes, guidance) in enumerate(sessions, start=1)]


@transaction.atomic
def visit_agenda_ensure(*, visit: Visit, user: User | None = None) -> list[VisitAgendaItem]:
    """The visit's own agenda, copied from the programme's template if it has none yet."""
    items = list(visit.agenda.all())
    if items:
        return items
    Visit.objects.select_for_update().filter(pk=visit.pk).first()
    items = list(visit.agenda.all())  # another request may have copied it while we waited
    if items:
        return items
    template = agenda_template_default(programme=visit.programme, user=user)
    VisitAgendaItem.objects.bulk_create(
        VisitAgendaItem(visit=visit, order=n, kind=t.kind, title=t.title,
                        planned_minutes=t.minutes, guidance=t.guidance)
        for n, t in enumerate(template.items.all(), start=1))
    log_visit(visit, "visit.agenda_created", "Agenda set up from the programme's template",
              user=user, data={"template": template.pk})
    return list(visit.agenda.all())


def _clean_session(title: str, planned_minutes: int) -> tuple[str, int]:
    title = (title or "").strip()
    errors = {}
    if not title:
        errors["title"] = "Enter the session's title"
    elif len(title) > 200:
        errors["title"] = "The title must be 200 characters or fewer"
    if not isinstance(planned_minutes, int) or not 1 <= planned_minutes <= MAX_SESSION_MINUTES:
        errors["planned_minutes"] = (
            f"Planned minutes must be a whole number from 1 to {MAX_SESSION_MINUTES}")
    if errors:
        raise ValidationError(errors)
    return title, planned_minutes


def _renumber(items: list[VisitAgendaItem]) -> None:
    for n, item in enumerate(items, start=1):
        item.order = n
    VisitAgendaItem.objects.bulk_update(items, ["order"])


def _locked_agenda(visit_id: int) -> list[VisitAgendaItem]:
    Visit.objects.select_for_update().filter(pk=visit_id).first()
    return list(VisitAgendaItem.objects.filter(visit_id=visit_id).order_by("order", "pk"))


@transaction.atomic
def agenda_item_update(*, item: VisitAgendaItem, user: User, title: str,
                       planned_minutes: int) -> VisitAgendaItem:
    """Change one session of this visit's agenda; the programme's template is untouched."""
    title, planned_minutes = _clean_session(title, planned_minutes)
    # of=("self",): PostgreSQL cannot lock the nullable side of the visitor's outer join (a
    # one-way review's visit has none).
    item = VisitAgendaItem.objects.select_for_update(of=("self",)).select_related(
        "visit__programme", "visit__host", "visit__visitor").get(pk=item.pk)
    changed = [name for name, value in (("title", title), ("planned_minutes", planned_minutes))
               if getattr(item, name) != value]
    if not changed:
        return item
    item.title, item.planned_minutes = title, planned_minutes
    item.save(update_fields=changed)
    log_visit(item.visit, "visit.agenda_item_updated", f"Changed session {item.order} of the "
              "agenda", user=user, data={"item": item.pk, "fields": changed})
    return item


@transaction.atomic
def agenda_item_move(*, item: VisitAgendaItem, user: User, direction: str) -> VisitAgendaItem:
    """Move a session one place up or down this visit's agenda."""
    if direction not in ("up", "down"):
        raise ValidationError("Move a session up or down.")
    items = _locked_agenda(item.visit_id)
    index = next((i for i, it in enumerate(items) if it.pk == item.pk), None)
    if index is None:
        raise ValidationError("That session is no longer on the agenda.")
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(items):
        return items[index]
    items[index], items[other] = items[other], items[index]
    _renumber(items)
    moved = items[other]
    log_visit(item.visit, "visit.agenda_item_moved", f"Moved a session {direction} the agenda",
              user=user, data={"item": item.pk, "order": moved.order})
    return moved


@transaction.atomic
def agenda_item_add(*, visit: Visit, user: User, title: str, planned_minutes: int,
                    after: VisitAgendaItem | None = None) -> VisitAgendaItem:
    """Add a session (kind "other") to this visit's agenda, after `after` or at the end."""
    title, planned_minutes = _clean_session(title, planned_minutes)
    items = _locked_agenda(visit.pk)
    if after is not None and after.visit_id != visit.pk:
        raise ValidationError("Choose a session of this visit.")
    position = len(items)
    if after is not None:
        found = next((i for i, it in enumerate(items) if it.pk == after.pk), None)
        if found is None:
            raise ValidationError("That session is no longer on the agenda.")
        position = found + 1
    item = VisitAgendaItem.objects.create(visit=visit, order=position + 1,
                                          kind=SessionKind.OTHER, title=title,
                                          planned_minutes=planned_minutes)
    items.insert(position, item)
    _renumber(items)
    log_visit(visit, "visit.agenda_item_added", f"Added a session to the agenda at "
              f"place {item.order}", user=user, data={"item": item.pk})
    return item


@transaction.atomic
def agenda_item_remove(*, item: VisitAgendaItem, user: User) -> None:
    """Take a session off this visit's agenda, as long as it has not started."""
    items = _locked_agenda(item.visit_id)
    current = next((it for it in items if it.pk == item.pk), None)
    if current is None:
        return
    if current.started_at is not None:
        raise ValidationError("A session that has started cannot be removed.")
    pk = current.pk
    current.delete()
    _renumber([it for it in items if it.pk != pk and it is not current])
    log_visit(item.visit, "visit.agenda_item_removed", "Removed a session from the agenda",
              user=user, data={"item": item.pk})


# --- live mode: the session timers -----------------------------------------------------------


def _lock_item(item: VisitAgendaItem) -> VisitAgendaItem:
    """Lock the visit (so one session runs at a time) and re-read the item."""
    Visit.objects.select_for_update().filter(pk=item.visit_id).first()
    return VisitAgendaItem.objects.select_related(
        "visit__programme", "visit__host", "visit__visitor").get(pk=item.pk)


def _stop(item: VisitAgendaItem, now) -> None:
    """End a running session, folding any pause in progress into paused_seconds."""
    if item.paused_at is not None:
        item.paused_seconds += max(0, int((now - item.paused_at).total_seconds()))
        item.paused_at = None
    item.ended_at = now
    item.save(update_fields=["paused_seconds", "paused_at", "ended_at"])


def _running(visit_id: int, exclude: int | None = None) -> list[VisitAgendaItem]:
    return list(VisitAgendaItem.objects.filter(
        visit_id=visit_id, started_at__isnull=False, ended_at__isnull=True).exclude(pk=exclude))


def _start(item: VisitAgendaItem, now) -> bool:
    """Start (or reopen) a session; False if it was already running."""
    if item.started_at is not None and item.ended_at is None:
        if item.paused_at is None:
            return False
        item.paused_seconds += max(0, int((now - item.paused_at).total_seconds()))
        item.paused_at = None
    elif item.started_at is None:
        item.started_at = now
    else:
        # Reopening an ended session: the time it stood ended does not count.
        item.paused_seconds += max(0, int((now - item.ended_at).total_seconds()))
        item.ended_at = None
    item.save(update_fields=["started_at", "ended_at", "paused_seconds", "paused_at"])
    return True


def require_visit_day(visit: Visit) -> None:
    """The day is run only for a visit that is confirmed (or, to finish capturing, has just
    happened): not for one still being arranged, cancelled or already reported on."""
    if visit.status not in (Visit.Status.CONFIRMED, Visit.Status.HAPPENED):
        raise ValidationError("The visit day can be run only once the visit is confirmed.")


@transaction.atomic
def session_start(*, item: VisitAgendaItem, user: User) -> VisitAgendaItem:
    """Start a session, ending any other that is running. Starting a running session (a double
    click) does nothing; a paused one resumes; an ended one reopens."""
    item = _lock_item(item)
    require_visit_day(item.visit)
    now = timezone.now()
    for other in _running(item.visit_id, exclude=item.pk):
        _stop(other, now)
    if _start(item, now):
        log_visit(item.visit, "visit.session_started", f"Started session {item.order}",
                  user=user, data={"item": item.pk}, on_site_timelines=False)
    return item


@transaction.atomic
def session_pause(*, item: VisitAgendaItem, user: User) -> VisitAgendaItem:
    item = _lock_item(item)
    if item.started_at is None or item.ended_at is not None or item.paused_at is not None:
        return item
    item.paused_at = timezone.now()
    item.save(update_fields=["paused_at"])
    log_visit(item.visit, "visit.session_paused", f"Paused session {item.order}", user=user,
              data={"item": item.pk}, on_site_timelines=False)
    return item


@transaction.atomic
def session_resume(*, item: VisitAgendaItem, user: User) -> VisitAgendaItem:
    item = _lock_item(item)
    if item.paused_at is None or item.ended_at is not None:
        return item
    _start(item, timezone.now())
    log_visit(item.visit, "visit.session_resumed", f"Resumed session {item.order}", user=user,
              data={"item": item.pk}, on_site_timelines=False)
    return item


@transaction.atomic
def session_end(*, item: VisitAgendaItem, user: User) -> VisitAgendaItem:
    item = _lock_item(item)
    if item.started_at is None or item.ended_at is not None:
        return item
    _stop(item, timezone.now())
    log_visit(item.visit, "visit.session_ended", f"Ended session {item.order}", user=user,
              data={"item": item.pk, "elapsed_seconds": item.elapsed_seconds()},
              on_site_timelines=False)
    return item


@transaction.atomic
def session_next(*, visit: Visit, user: User,
                 current: VisitAgendaItem | None = None) -> VisitAgendaItem | None:
    """End the running session and start the next one that has not ended.

    `current` is the session the facilitator was looking at: if it is no longer running (the
    first of two clicks already moved on), nothing happens, so a double click never skips a
    session. Returns the session now running, or None when the agenda is finished."""
    Visit.objects.select_for_update().filter(pk=visit.pk).first()
    items = list(VisitAgendaItem.objects.filter(visit=visit).order_by("order", "pk"))
    running = [it for it in items if it.started_at and not it.ended_at]
    if current is not None and current.pk not in {it.pk for it in running}:
        return running[0] if running else None
    now = timezone.now()
    position = -1
    for it in running:
        _stop(it, now)
        position = max(position, items.index(it))
    upcoming = [it for it in items[position + 1:] if it.ended_at is None]
    if position == -1:
        upcoming = [it for it in items if it.ended_at is None]
    if not upcoming:
        if running:
            log_visit(visit, "visit.session_ended", "Ended the last session", user=user,
                      data={"item": running[-1].pk}, on_site_timelines=False)
        return None
    following = upcoming[0]
    _start(following, now)
    log_visit(visit, "visit.session_started", f"Moved on to session {following.order}",
              user=user, data={"item": following.pk}, on_site_timelines=False)
    return following


def current_session(items: list[VisitAgendaItem]) -> VisitAgendaItem | None:
    """The running (or paused) session; else the next not started; else None."""
    running = [it for it in items if it.started_at and not it.ended_at]
    if running:
        return running[0]
    return next((it for it in items if it.started_at is None), None)


# --- live mode: quick capture ----------------------------------------------------------------


@transaction.atomic
def contribution_add(*, visit: Visit, user: User, kind: str, team: str, role: str, text: str,
                     client_id: uuid.UUID | str,
                     session: VisitAgendaItem | None = None) -> tuple[Contribution, bool]:
    """Capture something said. Stored once per (visit, client_id): a note sent again (a retry,
    or the browser's offline queue replaying it) returns the one already stored."""
    require_visit_day(visit)
    try:
        client_id = uuid.UUID(str(client_id))
    except ValueError:
        raise ValidationError({"client_id": "The note's identifier is not valid."}) from None
    existing = Contribution.objects.filter(visit=visit, client_id=client_id).first()
    if existing is not None:
        return existing, False
    text = (text or "").strip()
    errors = {}
    if kind not in Contribution.Kind.values:
        errors["kind"] = "Select what kind of point this is"
    if team not in VisitAttendee.Team.values or not (role or "").strip():
        errors["who"] = "Select who raised it"
    if not text:
        errors["text"] = "Enter what was said"
    if session is not None and session.visit_id != visit.pk:
        errors["session"] = "Choose a session of this visit"
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            contribution = Contribution.objects.create(
                visit=visit, session=session, kind=kind, team=team, role=role.strip(),
                text=text, client_id=client_id, created_by=user)
    except IntegrityError:
        # The same note arrived twice at once; the other request stored it.
        return Contribution.objects.get(visit=visit, client_id=client_id), False
    log_visit(visit, "visit.contribution_added",
              f"Captured {contribution.get_kind_display().lower()} "
              f"({TEAM_LABELS.get(team, team)}, {role_label(role)})", user=user,
              data={"contribution": contribution.pk, "session": session.pk if session else None},
              on_site_timelines=False)
    return contribution, True


def who_label(team: str, role: str) -> str:
    """ "CNS, visiting team"; the facilitator is just "Facilitator"."""
    if team == VisitAttendee.Team.FACILITATOR:
        return "Facilitator"
    return f"{SHORT_ROLE_LABELS.get(role, role_label(role))}, {TEAM_LABELS.get(team, team)}"


def _sort_key(team: str, role: str) -> tuple[int, int, str]:
    team_rank = TEAM_ORDER.index(team) if team in TEAM_ORDER else len(TEAM_ORDER)
    role_rank = ROLE_ORDER.index(role) if role in ROLE_ORDER else len(ROLE_ORDER)
    return team_rank, role_rank, role


def who_choices(visit: Visit) -> list[tuple[str, str]]:
    """The "who raised it" options: each team and role on the attendance list (or, with no
    list yet, in both teams), as ("team:role", "CNS, visiting team")."""
    pairs = set(visit.attendees.exclude(present=False).values_list("team", "role"))
    if not pairs:
        for site_id, role in SiteMembership.objects.current().filter(
                site__in=[visit.host_id, visit.visitor_id]).values_list("site_id", "role"):
            team = (VisitAttendee.Team.HOST if site_id == visit.host_id
                    else VisitAttendee.Team.VISITING)
            pairs.add((team, role))
        if visit.review_id is not None:
            pairs |= {(VisitAttendee.Team.VISITING, role) for _p, role in visiting_team(visit)}
        pairs.add((VisitAttendee.Team.FACILITATOR, "facilitator"))
    return [(f"{team}:{role}", who_label(team, role))
            for team, role in sorted(pairs, key=lambda p: _sort_key(*p))]


@dataclass(frozen=True)
class RoleCount:
    team: str
    role: str
    label: str
    count: int
    people: int  # how many on the attendance list in this team and role


def role_counts(visit: Visit) -> list[RoleCount]:
    """Contributions by team and role, with a zero row for every site-team role on the
    attendance list that has not been heard yet (those marked absent are left out)."""
    counts = {(t, r): n for t, r, n in visit.contributions.order_by().values(
        "team", "role").annotate(n=Count("pk")).values_list("team", "role", "n")}
    people: dict[tuple[str, str], int] = {}
    for team, role in visit.attendees.exclude(present=False).exclude(
            team=VisitAttendee.Team.FACILITATOR).values_list("team", "role"):
        people[(team, role)] = people.get((team, role), 0) + 1
    keys = set(counts) | set(people)
    return [RoleCount(team, role, who_label(team, role), counts.get((team, role), 0),
                      people.get((team, role), 0))
            for team, role in sorted(keys, key=lambda k: _sort_key(*k))]


# --- after the sessions: feedback, focus areas, attendance, notes ----------------------------


@transaction.atomic
def feedback_save(*, visit: Visit, team: str, user: User, strengths: str,
                  opportunities: str, version: int | None = None) -> TeamFeedback:
    """The visiting team's feedback (strengths first) or the host team's reflections.
    ``version`` is the one the form was opened from (0 before anything was written): if
    someone else has saved since, ``EditConflict`` is raised and nothing is written."""
    if team not in TeamFeedback.Team.values:
        raise ValidationError("Choose the visiting team's feedback or the host's reflections.")
    strengths, opportunities = (strengths or "").strip(), (opportunities or "").strip()
    if not strengths and not opportunities:
        raise ValidationError({"strengths": "Enter at least one strength or opportunity"})
    created_row, _ = TeamFeedback.objects.get_or_create(visit=visit, team=team)
    changes = {"strengths": strengths, "opportunities": opportunities}
    feedback = lock_for_edit(TeamFeedback.objects.select_related("updated_by"),
                             pk=created_row.pk, version=version, changes=changes)
    if unchanged(feedback, changes):
        return feedback
    version_bump(feedback)
    feedback.strengths, feedback.opportunities = strengths, opportunities
    feedback.updated_by, feedback.updated_at = user, timezone.now()
    feedback.save(update_fields=["strengths", "opportunities", "updated_by", "updated_at"])
    label = feedback.get_team_display()
    log_visit(visit, "visit.feedback_saved", f"Saved the {label[0].lower()}{label[1:]}",
              user=user, data={"team": team})
    return feedback


def host_members(visit: Visit):
    return SiteMembership.objects.current().filter(site_id=visit.host_id).select_related(
        "user").order_by("user__full_name", "pk")


@transaction.atomic
def focus_area_add(*, visit: Visit, user: User, title: str, description: str,
                   owner: User) -> FocusArea:
    """An area the host team agreed to improve, with a named owner from the host team."""
    title = (title or "").strip()
    errors = {}
    if not title:
        errors["title"] = "Enter the focus area"
    if owner is None or not host_members(visit).filter(user=owner).exists():
        errors["owner"] = "Select an owner from the host team"
    if errors:
        raise ValidationError(errors)
    area = FocusArea.objects.create(visit=visit, title=title[:200],
                                    description=(description or "").strip(), owner=owner,
                                    created_by=user)
    log_visit(visit, "visit.focus_area_added", "Agreed a focus area for improvement",
              user=user, data={"focus_area": area.pk, "owner": owner.pk})
    return area


@transaction.atomic
def focus_area_remove(*, focus_area: FocusArea, user: User) -> None:
    visit = focus_area.visit
    pk = focus_area.pk
    focus_area.delete()
    log_visit(visit, "visit.focus_area_removed", "Removed a focus area", user=user,
              data={"focus_area": pk})


@transaction.atomic
def facilitator_note_save(*, visit: Visit, user: User, text: str,
                          version: int | None = None) -> FacilitatorNote:
    """The facilitator's private notes. Logged under the visit and the programme only, so the
    site teams' timelines do not even show that they changed. ``version`` is the one the form
    was opened from (0 before anything was written): if someone else has saved since,
    ``EditConflict`` is raised and nothing is written."""
    created_row, _ = FacilitatorNote.objects.get_or_create(visit=visit)
    text = (text or "").strip()
    note = lock_for_edit(FacilitatorNote.objects.select_related("updated_by"),
                         pk=created_row.pk, version=version, changes={"text": text})
    if note.text == text:
        return note
    version_bump(note)
    note.text, note.updated_by, note.updated_at = text, user, timezone.now()
    note.save(update_fields=["text", "updated_by", "updated_at"])
    log_action(visit, "visit.facilitator_note_saved", actor=user,
               summary="Saved the facilitator's notes", scopes=[visit.programme])
    return note


@transaction.atomic
def attendance_mark(*, visit: Visit, user: User,
                    present: dict[int, bool | None]) -> list[VisitAttendee]:
    """Record who came: attendee id -> True (present), False (absent) or None (not recorded)."""
    attendees = {a.pk: a for a in visit.attendees.select_for_update()}
    unknown = set(present) - set(attendees)
    if unknown:
        raise ValidationError("Choose people on this visit's attendance list.")
    changed = []
    for pk, value in present.items():
        attendee = attendees[pk]
        if attendee.present != value:
            attendee.present = value
            changed.append(attendee)
    if changed:
        VisitAttendee.objects.bulk_update(changed, ["present"])
        marked = [a for a in attendees.values() if a.present is not None]
        log_visit(visit, "visit.attendance_marked",
                  f"Marked attendance: {sum(1 for a in marked if a.present)} present, "
                  f"{sum(1 for a in marked if a.present is False)} absent", user=user,
                  data={"changed": [a.pk for a in changed]})
    return list(attendees.values())
