"""Indicators, audit data import, eligibility, and a site's data profile."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from ilcop.concurrency import single_submission
from ilcop.imports import ImportFailed

from .. import selectors, services
from ..forms import AuditImportForm, IndicatorForm
from ..models import Enrolment, Indicator
from ..services.audit import AUDIT_REQUIRED, audit_import, eligibility_run


@login_required
def indicator_list(request: HttpRequest, pk: int) -> HttpResponse:
    """The core team's view of the audit data: indicators and a funnel plot for each."""
    programme = selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    return render(request, "programmes/indicator_list.html", {
        "programme": programme,
        "indicators": programme.indicators.all(),
        "funnels": selectors.programme_funnels(programme),
    })


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def indicator_edit(request: HttpRequest, pk: int, indicator_pk: int | None = None) -> HttpResponse:
    programme = selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    indicator = (get_object_or_404(Indicator, pk=indicator_pk, programme=programme)
                 if indicator_pk else None)
    form = IndicatorForm(request.POST or None, instance=indicator, programme=programme)
    if request.method == "POST" and form.is_valid():
        if indicator:
            indicator.refresh_from_db()
            services.indicator_update(indicator=indicator, user=request.user,
                                      **form.cleaned_data)
        else:
            services.indicator_create(programme=programme, user=request.user,
                                      **form.cleaned_data)
        messages.success(request, "The indicator has been saved")
        return redirect("programmes:indicator_list", programme.pk)
    return render(request, "programmes/indicator_form.html",
                  {"programme": programme, "form": form, "indicator": indicator})


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def audit_import_view(request: HttpRequest, pk: int) -> HttpResponse:
    programme = selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    form = AuditImportForm(request.POST or None, request.FILES or None)
    import_errors = []
    if request.method == "POST" and form.is_valid():
        try:
            results = audit_import(programme=programme, user=request.user,
                                   uploaded=form.cleaned_data["file"])
        except ImportFailed as exc:
            import_errors = exc.errors
        else:
            for result in results:
                verb = "Replaced" if result.replaced else "Imported"
                messages.success(request, f"{verb} {result.period}: {result.values} values")
            return redirect("programmes:indicator_list", programme.pk)
    return render(request, "programmes/audit_import.html", {
        "programme": programme, "form": form, "import_errors": import_errors,
        "columns": AUDIT_REQUIRED, "indicators": programme.indicators.all(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def eligibility_check(request: HttpRequest, pk: int) -> HttpResponse:
    """Where each site stands on eligibility; posting runs the check (then redirects, so a
    refresh does not run it again)."""
    programme = selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    if request.method == "POST":
        try:
            outcome = eligibility_run(programme=programme, user=request.user)
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Checked: {len(outcome['eligible'])} eligible, "
                                      f"{len(outcome['ineligible'])} not")
        return redirect("programmes:eligibility_check", programme.pk)
    enrolments = programme.enrolments.select_related("site__organisation")
    return render(request, "programmes/eligibility_result.html", {
        "programme": programme,
        "awaiting": enrolments.filter(status=Enrolment.Status.APPROVED),
        "ineligible": enrolments.filter(status=Enrolment.Status.INELIGIBLE),
        "eligible": enrolments.filter(status=Enrolment.Status.ELIGIBLE),
    })


@login_required
@require_GET
def site_data(request: HttpRequest, pk: int) -> HttpResponse:
    """A site's audit profile: its own figures, the national figure and the target."""
    site = selectors.site_for_user(request.user, pk)
    programme = selectors.current_programme_for_site(request.user, site)
    if programme is None:
        raise Http404
    request.programme = programme
    return render(request, "programmes/site_data.html", {
        "site": site, "programme": programme,
        "figures": selectors.site_profile(site, programme),
    })
