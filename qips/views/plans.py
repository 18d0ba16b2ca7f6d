"""A plan's pages: start one, read it, edit it, move it through review."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ilcop.activity import timeline_for
from ilcop.concurrency import (
    VERSION_FIELD,
    Conflict,
    EditConflict,
    conflict_logged,
    differences,
    single_submission,
)
from ilcop.listing import page_of, search_text, sort_rows, sorting_from
from ilcop.models import User
from ilcop.pdf import pdf_response
from programmes import selectors as programme_selectors
from visits import selectors as visit_selectors
from visits.models import FocusArea, TeamFeedback

from .. import selectors
from ..forms import (
    CommentResponseForm,
    NewPlanForm,
    PlanForm,
    ReviewCommentForm,
    SupportForm,
    TransitionForm,
)
from ..models import PdsaCycle, QualityImprovementPlan, ReviewComment
from ..plan_page import plan_parts, similar_plans
from ..services import parts as part_services
from ..services import plans as services
from .charts import charts_for


def load(request: HttpRequest, pk: int, *, edit: bool = False, core: bool = False):
    """(plan, access) for a person who may see the plan; 403 if they may see but not do."""
    plan, who = selectors.plan_with_access(request.user, pk)
    request.programme = plan.programme
    if who.core:
        # The header links its core team to the programme's dashboard: checked already.
        request.core_team_programme = plan.programme
    if (edit and not who.team) or (core and not who.core):
        raise PermissionDenied
    return plan, who


@login_required
@require_GET
def site_plans(request: HttpRequest, pk: int) -> HttpResponse:
    site = programme_selectors.site_for_user(request.user, pk)
    programme = programme_selectors.current_programme_for_site(request.user, site)
    if programme is None:
        raise Http404
    request.programme = programme
    is_member = programme_selectors.is_site_member(request.user, site)
    return render(request, "qips/site_plans.html", {
        "site": site, "programme": programme,
        "plans": selectors.site_plans(site).filter(
            pk__in=selectors.visible_plans(request.user).values("pk")),
        "can_start": is_member, "form": NewPlanForm() if is_member else None})


@login_required
@require_POST
@single_submission
def plan_create(request: HttpRequest, pk: int) -> HttpResponse:
    site = programme_selectors.site_for_user(request.user, pk)
    if not programme_selectors.is_site_member(request.user, site):
        raise PermissionDenied
    programme = programme_selectors.current_programme_for_site(request.user, site)
    form = NewPlanForm(request.POST)
    if programme is None or not form.is_valid():
        messages.error(request, "Enter the title of the plan")
        return redirect("qips:site_plans", site.pk)
    plan = services.plan_create(programme=programme, site=site, user=request.user,
                                title=form.cleaned_data["title"])
    return redirect("qips:plan_edit", plan.pk)


@login_required
@require_POST
def plan_from_focus_area(request: HttpRequest, pk: int) -> HttpResponse:
    """One step from an agreed focus area to a draft plan, for the host team."""
    # Whoever can see the visit sees its focus areas, so they get a 403 rather than a 404;
    # only the host team turns one into its plan.
    area = get_object_or_404(FocusArea.objects.select_related("visit__programme", "visit__host")
                             .filter(visit__in=visit_selectors.visible_visits(request.user)),
                             pk=pk)
    if not programme_selectors.is_site_member(request.user, area.visit.host):
        raise PermissionDenied("Only the host team starts a plan from its focus area")
    plan, created = services.plan_from_focus_area(focus_area=area, user=request.user)
    if created:
        messages.success(request, "A draft plan has been started from the focus area")
    return redirect("qips:plan_edit" if created else "qips:plan_detail", plan.pk)


def _plan_body(plan: QualityImprovementPlan) -> tuple[dict, list]:
    """What the PDF write-up shows (the page reads the same through qips.plan_page), and the
    plan's measures."""
    measures = selectors.measures_with_data(plan)
    # One read of the cycles for the list and the charts' annotations alike.
    prefetch_related_objects([plan], Prefetch(
        "pdsa_cycles", queryset=PdsaCycle.objects.select_related("change_idea", "follows")))
    return {
        "plan": plan, "tree": selectors.driver_tree(plan),
        "charts": charts_for(measures, plan) if measures else [],
        "achievements": selectors.planned_vs_achieved(plan, measures),
        "roles": list(plan.roles.all()), "milestones": plan.milestones.all(),
        "cycles": plan.pdsa_cycles.all(),
    }, measures


@login_required
@require_GET
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan, who = load(request, pk)
    sections = [("problem", "Problem and evidence"), ("aim", "Aim"),
                ("drivers", "Driver diagram"), ("measures", "Measures"),
                ("pdsa", "PDSA cycles"), ("roles", "Roles"), ("timeline", "Timeline"),
                ("sustainability", "Sustainability")]
    if not who.reader_only:
        # Library and partner readers get the strategy and results, not the working notes.
        sections += [("barriers", "Barriers"), ("progress", "Monthly progress"),
                     ("review", "Review")]
    return render(request, "qips/plan_detail.html", {
        "plan": plan, "who": who, "sections": sections,
        # The parts that show only the plan's own data, cached (qips.plan_page).
        "parts": plan_parts(request, plan, who),
        "comments": plan.review_comments.select_related("author", "responded_by"),
        "updates": plan.progress_updates.select_related("submitted_by")[:6],
        "support": plan.support.select_related("given_by") if who.core else [],
        "submit_problems": services.submit_problems(plan) if who.team else [],
        "actions": _actions(plan, who),
        "comment_form": ReviewCommentForm() if who.core else None,
        "support_form": SupportForm() if who.core else None,
        "similar": similar_plans(plan) if not who.reader_only else [],
        "evidence": {"indicators": plan.indicators.all(),
                     "questions": plan.survey_questions.all()},
        "timeline": timeline_for(plan)[:15] if not who.reader_only else [],
    })


def _actions(plan: QualityImprovementPlan, who: selectors.Access) -> list[tuple[str, str]]:
    labels = {"submit": "Submit for review" if plan.status == plan.Status.DRAFT else
              "Resubmit for review", "request_changes": "Ask for changes",
              "approve": "Approve the plan", "start": "Start work", "hold": "Put on hold",
              "resume": "Resume", "complete": "Mark as completed", "stop": "Stop the plan"}
    actions = []
    for action, moves in services.TRANSITIONS.items():
        move = moves.get(plan.status)
        if move and ((move[1] == "core" and who.core and not who.team)
                     or (move[1] == "team" and who.team)):
            actions.append((action, labels[action]))
    return actions


def _people(plan: QualityImprovementPlan):
    return User.objects.filter(site_memberships__site=plan.site,
                               site_memberships__ended_at__isnull=True).distinct()


@login_required
@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    plan, who = load(request, pk, edit=True)
    if not plan.is_editable:
        messages.info(request, "A completed or stopped plan cannot be changed")
        return redirect("qips:plan_detail", plan.pk)
    form = PlanForm(request.POST or None, instance=QualityImprovementPlan.objects.get(
        pk=plan.pk), plan=plan, people=_people(plan), initial={"version": plan.version})
    conflict = None
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            services.plan_update(plan=plan, user=request.user,
                                 indicators=data.pop("indicators"),
                                 survey_questions=data.pop("survey_questions"),
                                 version=data.pop(VERSION_FIELD), **data)
        except EditConflict as exc:
            conflict = _plan_conflict(form, exc.current)
        except services.TransitionRefused as exc:
            messages.error(request, str(exc))
            return redirect("qips:plan_detail", plan.pk)
        else:
            messages.success(request, "The plan has been saved")
            return redirect("qips:plan_detail", plan.pk)
    return render(request, "qips/plan_form.html", {
        "plan": plan, "form": form, "focus_area": plan.focus_area,
        "feedback": _visit_feedback(plan), "conflict": conflict})


def _plan_conflict(form: PlanForm, current: QualityImprovementPlan) -> Conflict:
    """Both versions of each field the other person's save and this form disagree on; the
    form now carries the version saved, so saving again keeps this person's text."""
    form.move_to_version(current.version)
    saved = timeline_for(current).filter(verb__in=("qip.updated", "qip.aim_changed")).first()
    return conflict_logged(saved, changed_at=current.updated_at,
                           differences=differences(form, current, PlanForm.Meta.fields),
                           discard_url=reverse("qips:plan_edit", args=[current.pk]))


def _visit_feedback(plan: QualityImprovementPlan):
    """What the visiting team said to the host, beside the problem statement."""
    if plan.focus_area is None:
        return None
    return plan.focus_area.visit.feedback.filter(team=TeamFeedback.Team.VISITING).first()


@login_required
@require_POST
def plan_transition(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    plan, who = load(request, pk)
    if who.reader_only:
        raise Http404
    move = services.TRANSITIONS.get(action, {}).get(plan.status)
    side = move[1] if move else None
    if side == "core" and not who.core or side == "team" and not who.team:
        messages.error(request, "Only the " + ("core team" if side == "core" else
                                               "site's team") + " can do that")
        return redirect("qips:plan_detail", plan.pk)
    if side == "core" and who.team:
        messages.error(request, "You are in this site's team, so another member of the core "
                                "team must review the plan")
        return redirect("qips:plan_detail", plan.pk)
    form = TransitionForm(request.POST)
    form.is_valid()
    try:
        services.plan_transition(plan=plan, action=action, user=request.user,
                                 as_core=side == "core",
                                 note=form.cleaned_data.get("note", ""))
    except services.TransitionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, services.SUMMARIES.get(action, "Done"))
    return redirect("qips:plan_detail", plan.pk)


@login_required
@require_POST
@single_submission
def review_comment_add(request: HttpRequest, pk: int) -> HttpResponse:
    plan, _who = load(request, pk, core=True)
    form = ReviewCommentForm(request.POST)
    if form.is_valid():
        services.review_comment_add(plan=plan, user=request.user, **form.cleaned_data)
        messages.success(request, "Your comment has been added")
    else:
        messages.error(request, "Choose what the comment is about and write the comment")
    return redirect(f"/qips/{plan.pk}/#review")


@login_required
@require_http_methods(["GET", "POST"])
def review_comment_respond(request: HttpRequest, pk: int, comment_pk: int) -> HttpResponse:
    plan, _who = load(request, pk, edit=True)
    comment = get_object_or_404(ReviewComment, pk=comment_pk, plan=plan)
    if not plan.is_editable:
        messages.info(request, "A completed or stopped plan cannot be changed")
        return redirect(f"/qips/{plan.pk}/#review")
    form = CommentResponseForm(request.POST or None, initial={"response": comment.response})
    if request.method == "POST" and form.is_valid():
        services.review_comment_respond(comment=comment, user=request.user,
                                        response=form.cleaned_data["response"])
        messages.success(request, "Your answer has been saved")
        return redirect(f"/qips/{plan.pk}/#review")
    return render(request, "qips/comment_respond.html",
                  {"plan": plan, "comment": comment, "form": form})


@login_required
@require_POST
@single_submission
def support_add(request: HttpRequest, pk: int) -> HttpResponse:
    plan, _who = load(request, pk, core=True)
    form = SupportForm(request.POST)
    if form.is_valid():
        part_services.support_record(plan=plan, user=request.user, **form.cleaned_data)
        messages.success(request, "The support has been recorded")
    else:
        messages.error(request, "Choose the kind of support and describe it")
    return redirect(f"/qips/{plan.pk}/#support")


@login_required
@require_GET
def plan_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    plan, _who = load(request, pk)
    body, _measures = _plan_body(plan)
    return pdf_response("qips/plan_pdf.html", body,
                        filename=f"QIP {plan.site.code} {plan.title}")


@login_required
@require_GET
def programme_plans(request: HttpRequest, pk: int) -> HttpResponse:
    """Every plan in the programme, narrowed from the dashboard: by status, by why it may
    need help, or by site. The filters and the sorting live in the URL."""
    programme = programme_selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    status = request.GET.get("status", "")
    if status not in QualityImprovementPlan.Status.values:
        status = ""
    reason = request.GET.get("reason", "")
    if request.GET.get("needs_help") and not reason:
        reason = "any"
    if reason not in (*selectors.REASONS, "any"):
        reason = ""
    query = search_text(request.GET)
    rows = selectors.programme_plans(programme, status=status)
    if reason:
        rows = [r for r in rows if (r.codes if reason == "any" else reason in r.codes)]
    if query:
        needle = query.casefold()
        rows = [r for r in rows if needle in r.plan.title.casefold()
                or needle in r.plan.site.organisation.name.casefold()
                or needle == r.plan.site.code.casefold()]
    sorting = sorting_from(request.GET, list(selectors.PLAN_SORTS), "site")
    rows = sort_rows(rows, sorting, selectors.PLAN_SORTS)
    return render(request, "qips/programme_plans.html", {
        "programme": programme, "page": page_of(rows, request.GET), "count": len(rows),
        "status": status, "reason": reason, "query": query, "sorting": sorting,
        "filtered": bool(status or reason or query),
        "statuses": QualityImprovementPlan.Status.choices,
        "reasons": list(selectors.REASONS.items())})


@login_required
@require_GET
def library(request: HttpRequest, pk: int) -> HttpResponse:
    """Plans teams chose to share with the whole programme."""
    programme = get_object_or_404(selectors.library_programmes(request.user), pk=pk)
    request.programme = programme
    filters = {key: request.GET.get(key, "")[:100] for key in
               ("query", "indicator", "status", "category")}
    return render(request, "qips/library.html", {
        "programme": programme,
        "plans": selectors.library(programme, **filters).defer(*selectors.LIBRARY_CARD_DEFERRED),
        "filters": filters, "indicators": programme.indicators.all(),
        "statuses": [(s, QualityImprovementPlan.Status(s).label)
                     for s in selectors.LIBRARY_STATUSES],
        "categories": QualityImprovementPlan.Category.choices})
