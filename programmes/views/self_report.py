"""Pages for a one-way review programme's standards, quality indicators, annual self-report
and regional hubs.

Who sees what: the programme's core team everything (a reciprocal programme has none of this:
404); a service's current members their own self-report and its evidence; a regional hub's
members the results of the hub's services and their evidence; anyone else a 404.
"""

import csv
from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ilcop.activity import timeline_for
from ilcop.concurrency import (
    Conflict,
    Difference,
    EditConflict,
    conflict_logged,
    single_submission,
)
from ilcop.imports import ImportFailed
from ilcop.models import User
from ilcop.uploads import file_response

from .. import selectors
from ..forms_self_report import (
    MET,
    NOT_MET,
    CycleForm,
    EvidenceForm,
    FlagForm,
    HubForm,
    QualityIndicatorForm,
    ReviseForm,
    SelfReportForm,
    SelfReportImportForm,
    StandardForm,
)
from ..models import (
    EvidenceDocument,
    Programme,
    QualityIndicator,
    RegionalHub,
    SelfReport,
    SelfReportCycle,
    Site,
    Standard,
)
from ..selectors.participants import ONE_WAY_PARTICIPATING_STATUSES, participant_sites
from ..selectors.surveillance import (
    current_cycle,
    cycle_results,
    next_cycle,
    programme_indicators,
    report_assessment,
)
from ..services import self_report as services

# --- who may see what ------------------------------------------------------------------------


def _one_way_for_core_team(request: HttpRequest, pk: int) -> Programme:
    programme = selectors.programme_for_core_team(request.user, pk)
    if not programme.is_one_way:
        raise Http404("Not a one-way review programme")
    request.programme = programme
    return programme


def _service(request: HttpRequest, pk: int) -> tuple[Site, Programme, bool]:
    """(the service, the one-way programme it takes part in, whether the viewer is that
    programme's core team). The newest such programme the viewer may see; 404 if none."""
    site = selectors.site_for_user(request.user, pk)
    enrolments = [e for e in selectors.site_enrolments_for(request.user, site)
                  if e.programme.is_one_way and e.status in ONE_WAY_PARTICIPATING_STATUSES]
    if not enrolments:
        raise Http404("Not in a one-way review programme")
    programme = enrolments[0].programme
    request.programme = programme
    return site, programme, programme.core_team.filter(user=request.user).exists()


def _hub_for_user(user: User, pk: int) -> RegionalHub:
    """A hub for its members and its programme's core team; 404 for anyone else."""
    if not user.is_authenticated:
        raise Http404
    hubs = RegionalHub.objects.filter(memberships__user=user) | RegionalHub.objects.filter(
        programme__core_team__user=user)
    return get_object_or_404(hubs.distinct().select_related("programme"), pk=pk)


def may_read_evidence(user: User, evidence: EvidenceDocument) -> bool:
    """The programme's core team, the service's current members and the members of a
    regional hub of the programme that analyses the service."""
    report = evidence.report
    programme_id = report.cycle.programme_id
    return (Programme.objects.filter(pk=programme_id, core_team__user=user).exists()
            or selectors.is_site_member(user, report.site)
            or RegionalHub.objects.filter(programme_id=programme_id, sites=report.site_id,
                                          memberships__user=user).exists())


# --- standards and quality indicators (core team) --------------------------------------------


@login_required
@require_GET
def standards(request: HttpRequest, pk: int) -> HttpResponse:
    programme = _one_way_for_core_team(request, pk)
    return render(request, "programmes/surveillance/standards.html", {
        "programme": programme, "standards": Standard.objects.filter(programme=programme)})


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def standard_edit(request: HttpRequest, pk: int, standard_pk: int | None = None
                  ) -> HttpResponse:
    programme = _one_way_for_core_team(request, pk)
    standard = (get_object_or_404(Standard, pk=standard_pk, programme=programme)
                if standard_pk else None)
    form = StandardForm(request.POST or None, instance=standard)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.standard_save(programme=programme, user=request.user,
                                           standard=standard, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Standard {saved.code} saved")
            return redirect("programmes:standards", programme.pk)
    return render(request, "programmes/surveillance/standard_form.html",
                  {"programme": programme, "form": form, "standard": standard})


def _indicators_by_standard(indicators: list[QualityIndicator]) -> list:
    """[(standard or None, [indicators])], in the standards' order; indicators without a
    standard last."""
    def key(indicator):
        standard = indicator.standard
        return (standard is None, standard.order if standard else 0,
                standard.code if standard else "")
    ordered = sorted(indicators, key=key)
    return [(group[0].standard, group) for _, items in groupby(ordered, key=key)
            for group in [list(items)]]


@login_required
@require_GET
def quality_indicators(request: HttpRequest, pk: int) -> HttpResponse:
    programme = _one_way_for_core_team(request, pk)
    indicators = programme_indicators(programme)
    return render(request, "programmes/surveillance/indicators.html", {
        "programme": programme, "groups": _indicators_by_standard(indicators),
        "flagged": sum(1 for i in indicators if i.flagged_out_of_date_at)})


def _indicator_page(request, programme, indicator, form, flag_form=None, revise_form=None,
                    status=200):
    return render(request, "programmes/surveillance/indicator_form.html", {
        "programme": programme, "indicator": indicator, "form": form,
        "flag_form": flag_form or FlagForm(prefix="flag"),
        "revise_form": revise_form or ReviseForm(prefix="revise"),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def quality_indicator_edit(request: HttpRequest, pk: int, indicator_pk: int | None = None
                           ) -> HttpResponse:
    programme = _one_way_for_core_team(request, pk)
    indicator = (get_object_or_404(QualityIndicator, pk=indicator_pk, programme=programme)
                 if indicator_pk else None)
    form = QualityIndicatorForm(request.POST or None, instance=indicator, programme=programme)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.indicator_save(programme=programme, user=request.user,
                                            indicator=indicator, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Quality indicator {saved.code} saved")
            return redirect("programmes:quality_indicators", programme.pk)
    return _indicator_page(request, programme, indicator, form)


@login_required
@require_POST
def quality_indicator_flag(request: HttpRequest, pk: int, indicator_pk: int) -> HttpResponse:
    programme = _one_way_for_core_team(request, pk)
    indicator = get_object_or_404(QualityIndicator, pk=indicator_pk, programme=programme)
    flag_form = FlagForm(request.POST, prefix="flag")
    if flag_form.is_valid():
        services.indicator_flag(indicator=indicator, user=request.user,
                                reason=flag_form.cleaned_data["reason"])
        messages.success(request, f"{indicator.code} is flagged as out of date. It is not "
                                  "scored until it is revised.")
        return redirect("programmes:quality_indicators", programme.pk)
    form = QualityIndicatorForm(instance=indicator, programme=programme)
    return _indicator_page(request, programme, indicator, form, flag_form=flag_form)


@login_required
@require_POST
def quality_indicator_revise(request: HttpRequest, pk: int, indicator_pk: int) -> HttpResponse:
    programme = _one_way_for_core_team(request, pk)
    indicator = get_object_or_404(QualityIndicator, pk=indicator_pk, programme=programme)
    revise_form = ReviseForm(request.POST, prefix="revise")
    if revise_form.is_valid():
        try:
            services.indicator_revise(indicator=indicator, user=request.user,
                                      **revise_form.cleaned_data)
        except ValidationError as exc:
            revise_form.add_error(None, exc)
        else:
            messages.success(request, f"{indicator.code} revised to version "
                                      f"{revise_form.cleaned_data['version']}")
            return redirect("programmes:quality_indicators", programme.pk)
    form = QualityIndicatorForm(instance=indicator, programme=programme)
    return _indicator_page(request, programme, indicator, form, revise_form=revise_form)


# --- self-report cycles and results (core team) ----------------------------------------------


@login_required
@require_GET
def self_report_cycles(request: HttpRequest, pk: int) -> HttpResponse:
    programme = _one_way_for_core_team(request, pk)
    return render(request, "programmes/surveillance/cycles.html", {
        "programme": programme,
        "cycles": SelfReportCycle.objects.filter(programme=programme),
        "current": current_cycle(programme)})


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def self_report_cycle_add(request: HttpRequest, pk: int) -> HttpResponse:
    programme = _one_way_for_core_team(request, pk)
    form = CycleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            cycle = services.cycle_create(programme=programme, user=request.user,
                                          **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Self-report {cycle.name} added")
            return redirect("programmes:self_report_cycles", programme.pk)
    return render(request, "programmes/surveillance/cycle_form.html",
                  {"programme": programme, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def self_report_cycle_edit(request: HttpRequest, pk: int, cycle_pk: int) -> HttpResponse:
    """Rename a cycle or move its dates: moving the closing date on reopens it."""
    programme = _one_way_for_core_team(request, pk)
    cycle = get_object_or_404(SelfReportCycle, pk=cycle_pk, programme=programme)
    saved_name = cycle.name  # validating the form writes the posted name onto the instance
    form = CycleForm(request.POST or None, instance=cycle)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.cycle_update(cycle=cycle, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Self-report {saved.name} saved")
            return redirect("programmes:self_report_cycles", programme.pk)
    return render(request, "programmes/surveillance/cycle_form.html",
                  {"programme": programme, "form": form, "cycle": cycle,
                   "cycle_name": saved_name})


FILTERS = {"flagged": "Flagged services", "needs_decision": "Flagged, no decision yet"}


def _shown(results: list, show: str) -> list:
    if show == "flagged":
        return [r for r in results if r.submitted and r.assessment.flagged]
    if show == "needs_decision":
        return [r for r in results if r.needs_decision]
    return results


def _summary(results: list) -> dict:
    return {"services": len(results),
            "submitted": sum(1 for r in results if r.submitted),
            "flagged": sum(1 for r in results if r.submitted and r.assessment.flagged),
            "needs_decision": sum(1 for r in results if r.needs_decision)}


@login_required
@require_GET
def self_report_results(request: HttpRequest, pk: int, cycle_pk: int) -> HttpResponse:
    programme = _one_way_for_core_team(request, pk)
    cycle = get_object_or_404(SelfReportCycle, pk=cycle_pk, programme=programme)
    cycle.programme = programme
    results = cycle_results(cycle)
    # A filter that makes no sense is dropped (docs/architecture.md): the whole list shows.
    show = request.GET.get("show", "")
    show = show if show in FILTERS else ""
    return render(request, "programmes/surveillance/results.html", {
        "programme": programme, "cycle": cycle,
        "rows": [(result, []) for result in _shown(results, show)],
        "summary": _summary(results), "show": show, "filters": FILTERS})


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def self_report_import(request: HttpRequest, pk: int, cycle_pk: int) -> HttpResponse:
    programme = _one_way_for_core_team(request, pk)
    cycle = get_object_or_404(SelfReportCycle, pk=cycle_pk, programme=programme)
    form = SelfReportImportForm(request.POST or None, request.FILES or None)
    import_errors = []
    if request.method == "POST" and form.is_valid():
        try:
            count = services.self_report_import(cycle=cycle, user=request.user,
                                                uploaded=form.cleaned_data["file"])
        except ImportFailed as exc:
            import_errors = exc.errors
        else:
            messages.success(request, f"Imported and submitted {count} self-report"
                                      f"{'' if count == 1 else 's'}")
            return redirect("programmes:self_report_results", programme.pk, cycle.pk)
    return render(request, "programmes/surveillance/import.html", {
        "programme": programme, "cycle": cycle, "form": form, "import_errors": import_errors})


@login_required
@require_GET
def self_report_import_template(request: HttpRequest, pk: int, cycle_pk: int) -> HttpResponse:
    programme = _one_way_for_core_team(request, pk)
    cycle = get_object_or_404(SelfReportCycle, pk=cycle_pk, programme=programme)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="self-report-answers.csv"'
    writer = csv.writer(response)
    writer.writerow(services.IMPORT_COLUMNS)
    indicators = programme_indicators(programme)
    for site in participant_sites(cycle.programme).order_by("organisation__name", "name"):
        for indicator in indicators:
            writer.writerow([site.code, indicator.code, "", ""])
    return response


# --- a service's self-report -----------------------------------------------------------------


def _answers(report: SelfReport | None) -> dict[int, tuple[bool | None, str]]:
    if report is None:
        return {}
    return {r.indicator_id: (r.met, r.comment) for r in report.responses.all()}


def _met_label(met: bool | None) -> str:
    return {True: "Met", False: "Not met"}.get(met, "Not answered")


def _conflict(form: SelfReportForm, current: SelfReport, site: Site) -> Conflict:
    """Each indicator where the answer saved since differs from this person's; the form now
    carries the version saved, so saving again keeps this person's answers."""
    form.move_to_version(current.version)
    theirs, yours = _answers(current), form.answers()
    rows = []
    for indicator in form.indicators:
        saved, mine = theirs.get(indicator.pk, (None, "")), yours[indicator.pk]
        if saved != mine:
            rows.append(Difference(
                name=form.add_prefix(f"met_{indicator.pk}"),
                label=f"{indicator.code} {indicator.title}",
                theirs=f"{_met_label(saved[0])}. {saved[1] or '(no comment)'}",
                yours=f"{_met_label(mine[0])}. {mine[1] or '(no comment)'}"))
    saved_entry = timeline_for(current).filter(verb="self_report.saved").select_related(
        "actor").first()
    return conflict_logged(
        saved_entry, differences=rows,
        discard_url=reverse("programmes:site_self_report", args=[site.pk]))


def _closed_reason(cycle: SelfReportCycle, report: SelfReport | None) -> str:
    """Why the service cannot change its self-report today because of the dates; "" when it
    can, or when it is submitted (the page says that instead)."""
    if report is not None and report.status == SelfReport.Status.SUBMITTED:
        return ""
    return services.self_report_closed_reason(cycle=cycle, report=report)


@login_required
@require_http_methods(["GET", "POST"])
def site_self_report(request: HttpRequest, pk: int) -> HttpResponse:
    site, programme, is_core = _service(request, pk)
    cycle = current_cycle(programme)
    context = {"site": site, "programme": programme, "cycle": cycle, "is_core": is_core}
    if cycle is None:
        if request.method == "POST":
            raise Http404("No self-report is open")
        context["next_cycle"] = next_cycle(programme)
        return render(request, "programmes/surveillance/site_self_report.html", context)
    cycle.programme = programme
    report = (SelfReport.objects.filter(cycle=cycle, site=site)
              .prefetch_related("responses").first())
    submitted = report is not None and report.status == SelfReport.Status.SUBMITTED
    closed = _closed_reason(cycle, report)
    indicators = programme_indicators(programme)
    form = SelfReportForm(request.POST or None, indicators=indicators,
                          answers=_answers(report),
                          initial={"version": report.version if report else 0})
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            services.self_report_save(cycle=cycle, site=site, user=request.user,
                                      answers=form.answers(), version=form.edited_version())
        except EditConflict as exc:
            conflict = _conflict(form, exc.current, site)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
            return redirect("programmes:site_self_report", site.pk)
        else:
            messages.success(request, "Your answers have been saved")
            return redirect("programmes:site_self_report", site.pk)
    elif request.method == "POST" and closed:
        # The form is not shown once closed, so say why rather than list its errors.
        messages.error(request, closed)
        return redirect("programmes:site_self_report", site.pk)
    answers = _answers(report)
    context.update(
        report=report, form=form, conflict=conflict, submitted=submitted, closed=closed,
        next_cycle=next_cycle(programme) if cycle.window == "closed" else None,
        groups=[(standard, [(i, form[f"met_{i.pk}"], form[f"comment_{i.pk}"],
                             answers.get(i.pk, (None, "")))
                            for i in items])
                for standard, items in _indicators_by_standard(indicators)],
        unanswered=sum(1 for i in indicators if answers.get(i.pk, (None, ""))[0] is None),
        assessment=report_assessment(report, indicators) if submitted else None,
        evidence=(report.evidence.select_related("indicator") if report else []),
        met_values=(MET, NOT_MET),
    )
    return render(request, "programmes/surveillance/site_self_report.html", context)


def _open_cycle(request: HttpRequest, pk: int) -> tuple[Site, Programme, SelfReportCycle]:
    site, programme, _is_core = _service(request, pk)
    cycle = current_cycle(programme)
    if cycle is None:
        raise Http404("No self-report is open")
    cycle.programme = programme
    return site, programme, cycle


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def self_report_evidence_add(request: HttpRequest, pk: int) -> HttpResponse:
    site, programme, cycle = _open_cycle(request, pk)
    closed = _closed_reason(cycle, SelfReport.objects.filter(cycle=cycle, site=site).first())
    if closed:
        # Before the file is read: it could not be kept. The service refuses it too.
        messages.error(request, closed)
        return redirect("programmes:site_self_report", site.pk)
    form = EvidenceForm(request.POST or None, request.FILES or None, programme=programme)
    if request.method == "POST" and form.is_valid():
        try:
            services.evidence_add(cycle=cycle, site=site, user=request.user,
                                  title=form.cleaned_data["title"],
                                  indicator=form.cleaned_data["indicator"],
                                  upload=form.cleaned_data["file"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Evidence added")
            return redirect(reverse("programmes:site_self_report", args=[site.pk])
                            + "#evidence")
    return render(request, "programmes/surveillance/evidence_form.html",
                  {"site": site, "programme": programme, "cycle": cycle, "form": form})


@login_required
@require_GET
def self_report_evidence_download(request: HttpRequest, pk: int, evidence_pk: int
                                  ) -> HttpResponse:
    evidence = get_object_or_404(
        EvidenceDocument.objects.select_related("report__cycle", "report__site"),
        pk=evidence_pk, report__site_id=pk)
    if not may_read_evidence(request.user, evidence):
        raise Http404
    return file_response(evidence.file, filename=evidence.filename or evidence.file.name)


@login_required
@require_POST
def self_report_submit(request: HttpRequest, pk: int) -> HttpResponse:
    site, _programme, cycle = _open_cycle(request, pk)
    try:
        services.self_report_submit(cycle=cycle, site=site, user=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, f"Your self-report for {cycle.name} has been submitted")
    return redirect("programmes:site_self_report", site.pk)


@login_required
@require_POST
def self_report_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(SelfReport.objects.select_related("cycle__programme", "site"),
                               pk=pk)
    programme = report.cycle.programme
    if not programme.core_team.filter(user=request.user).exists():
        if selectors.is_site_member(request.user, report.site):
            raise PermissionDenied("Only the core team reopens a submitted self-report")
        raise Http404
    try:
        services.self_report_reopen(report=report, user=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, f"The self-report of {report.site} is open for changes again")
    return redirect("programmes:site_self_report", report.site_id)


# --- regional hubs ---------------------------------------------------------------------------


@login_required
@require_GET
def hubs(request: HttpRequest, pk: int) -> HttpResponse:
    programme = _one_way_for_core_team(request, pk)
    return render(request, "programmes/surveillance/hubs.html", {
        "programme": programme,
        "hubs": RegionalHub.objects.filter(programme=programme)
        .prefetch_related("sites__organisation", "memberships__user")})


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def hub_edit(request: HttpRequest, pk: int, hub_pk: int | None = None) -> HttpResponse:
    programme = _one_way_for_core_team(request, pk)
    hub = get_object_or_404(RegionalHub, pk=hub_pk, programme=programme) if hub_pk else None
    initial = {}
    if hub is not None:
        initial = {"name": hub.name, "region": hub.region, "sites": list(hub.sites.all()),
                   "members": "\n".join(hub.memberships.order_by("user__email")
                                        .values_list("user__email", flat=True))}
    sites = participant_sites(programme).select_related("organisation").order_by(
        "organisation__name", "name")
    form = HubForm(request.POST or None, initial=initial, sites=sites)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.hub_save(programme=programme, user=request.user, hub=hub,
                                      name=data["name"], region=data["region"],
                                      sites=list(data["sites"]),
                                      member_emails=data["members"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{saved.name} saved")
            return redirect("programmes:hubs", programme.pk)
    return render(request, "programmes/surveillance/hub_form.html",
                  {"programme": programme, "hub": hub, "form": form})


@login_required
@require_GET
def hub_results(request: HttpRequest, pk: int) -> HttpResponse:
    hub = _hub_for_user(request.user, pk)
    programme = hub.programme
    cycles = list(SelfReportCycle.objects.filter(programme=programme))
    chosen = request.GET.get("cycle", "")
    cycle = next((c for c in cycles if str(c.pk) == chosen), None) or current_cycle(programme)
    results, evidence = [], {}
    if cycle is not None:
        cycle.programme = programme
        results = cycle_results(cycle, sites=hub.sites.all())
        for document in EvidenceDocument.objects.filter(
                report__cycle=cycle, report__site__in=hub.sites.all()).select_related(
                "report").order_by("title", "pk"):
            evidence.setdefault(document.report.site_id, []).append(document)
    return render(request, "programmes/surveillance/hub_results.html", {
        "hub": hub, "programme": programme, "cycle": cycle, "cycles": cycles,
        "rows": [(result, evidence.get(result.site.pk, [])) for result in results],
        "summary": _summary(results)})
