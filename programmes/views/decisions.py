"""Surveillance decisions (one-way review programmes): the core team records, for a service's
self-report, what happens next; the service's own team reads the decision agreed with it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from ilcop.concurrency import Conflict, Difference, EditConflict, differences

from ..forms_reviewers import ACTIONS, DecisionForm
from ..models import Programme, RiskLevel, SelfReport, SurveillanceDecision
from ..selectors.core import is_site_member, programme_for_core_team
from ..selectors.participants import is_core_team
from ..selectors.surveillance import current_cycle, cycle_results, report_assessment
from ..services.surveillance_decisions import FIELDS, decision_record


def _decision_conflict(form: DecisionForm, current: SurveillanceDecision,
                       discard_url: str) -> Conflict:
    form.move_to_version(current.version)
    changed = [name for name in FIELDS if name in form.fields]
    found = differences(form, current, changed)
    chosen = set(form.cleaned_data.get("actions", []))
    saved = {name for name, _ in ACTIONS if getattr(current, name)}
    if chosen != saved:
        labels = dict(ACTIONS)
        found.insert(0, Difference(
            name=form.add_prefix("actions"), label="What happens next",
            theirs=", ".join(labels[n] for n in sorted(saved)) or "(none)",
            yours=", ".join(labels[n] for n in sorted(chosen)) or "(none)"))
    return Conflict(changed_by=str(current.decided_by or "Someone else"),
                    changed_at=current.decided_at, differences=found,
                    discard_url=discard_url)


@login_required
@require_http_methods(["GET", "POST"])
def surveillance_decision(request: HttpRequest, pk: int) -> HttpResponse:
    """The core team records the decision; the service's current members read it (403 if
    they post: the decision is agreed with the provider, not made by it). Anyone else: 404."""
    report = get_object_or_404(SelfReport.objects.select_related(
        "cycle__programme", "site__organisation"), pk=pk)
    programme = report.cycle.programme
    core = is_core_team(request.user, programme)
    if not programme.is_one_way or not (core or is_site_member(request.user, report.site)):
        raise Http404("No such self-report")
    if request.method == "POST" and not core:
        raise PermissionDenied
    request.programme = programme
    decision = (SurveillanceDecision.objects.select_related("decided_by")
                .filter(report=report).first())
    submitted = report.status == SelfReport.Status.SUBMITTED
    form = conflict = None
    if core and submitted:
        form = DecisionForm(request.POST or None, initial=DecisionForm.initial_for(decision))
        if request.method == "POST" and form.is_valid():
            url = reverse("programmes:surveillance_decision", args=[report.pk])
            try:
                decision_record(report=report, user=request.user, **form.service_arguments())
            except EditConflict as exc:
                conflict = _decision_conflict(form, exc.current, url)
                decision = exc.current
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"The decision for {report.site.name} is saved")
                return redirect(url)
    review = getattr(decision, "peer_review_record", None) if decision else None
    return render(request, "programmes/reviewers/decision.html", {
        "programme": programme, "report": report, "site": report.site,
        "assessment": report_assessment(report), "decision": decision, "review": review,
        "submitted": submitted, "is_core": core, "form": form, "conflict": conflict,
    })


def one_way_for_core_team(request: HttpRequest, pk: int) -> Programme:
    programme = programme_for_core_team(request.user, pk)
    if not programme.is_one_way:
        raise Http404("Not a one-way review programme")
    request.programme = programme
    return programme


ACTION_FILTERS = dict(ACTIONS)


@login_required
@require_GET
def surveillance_decisions(request: HttpRequest, pk: int) -> HttpResponse:
    """Every decision of the current cycle, and the flagged services still waiting for one.
    Filters that make no sense are dropped, so a mistyped link shows more, not an error."""
    programme = one_way_for_core_team(request, pk)
    cycle = current_cycle(programme)
    risk = request.GET.get("risk", "")
    risk = risk if risk in RiskLevel.values else ""
    action = request.GET.get("action", "")
    action = action if action in ACTION_FILTERS else ""
    decisions, waiting = [], []
    if cycle is not None:
        rows = (SurveillanceDecision.objects.filter(report__cycle=cycle)
                .select_related("report__site__organisation", "decided_by")
                .order_by("report__site__organisation__name", "report__site__name"))
        if risk:
            rows = rows.filter(risk_level=risk)
        if action:
            rows = rows.filter(**{action: True})
        decisions = list(rows)
        waiting = [result for result in cycle_results(cycle) if result.needs_decision]
    return render(request, "programmes/reviewers/decisions.html", {
        "programme": programme, "cycle": cycle, "decisions": decisions, "waiting": waiting,
        "risk": risk, "action": action, "risk_choices": RiskLevel.choices,
        "action_choices": ACTIONS, "filtered": bool(risk or action),
    })
