"""Adding and changing a plan's parts, PDSA cycles, data and monthly updates."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from ilcop.activity import timeline_for
from ilcop.concurrency import (
    Conflict,
    EditConflict,
    conflict_logged,
    differences,
    single_submission,
)
from ilcop.imports import ImportFailed

from .. import selectors
from ..forms import (
    BarrierForm,
    DriverForm,
    MeasureForm,
    MeasurementImportForm,
    MeasurementPasteForm,
    MilestoneForm,
    PdsaForm,
    ProgressUpdateForm,
    RebaseForm,
    RoleForm,
)
from ..models import (
    Barrier,
    Driver,
    Measure,
    MeasureRebase,
    Milestone,
    PdsaCycle,
    PlanRole,
    QualityImprovementPlan,
)
from ..services import measurements as measurement_services
from ..services import parts as services
from .charts import charts_for
from .plans import load

# url slug: (model, form, heading for adding, section of the plan page to return to)
PARTS = {
    "drivers": (Driver, DriverForm, "Add to the driver diagram", "drivers"),
    "roles": (PlanRole, RoleForm, "Add a role", "roles"),
    "milestones": (Milestone, MilestoneForm, "Add a milestone", "timeline"),
    "barriers": (Barrier, BarrierForm, "Log a barrier", "barriers"),
    "measures": (Measure, MeasureForm, "Add a measure", "measures"),
    "pdsa": (PdsaCycle, PdsaForm, "Plan a PDSA cycle", "pdsa"),
}
TAKES_PLAN = (DriverForm, PdsaForm)


def _part(part: str):
    if part not in PARTS:
        raise Http404
    return PARTS[part]


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def part_edit(request: HttpRequest, pk: int, part: str,
              part_pk: int | None = None) -> HttpResponse:
    plan, _who = load(request, pk, edit=True)
    model, form_class, heading, anchor = _part(part)
    instance = get_object_or_404(model, pk=part_pk, plan=plan) if part_pk else None
    back = f"/qips/{plan.pk}/#{anchor}"
    if not plan.is_editable:
        messages.info(request, "A completed or stopped plan cannot be changed")
        return redirect(back)
    extra = {"plan": plan} if form_class in TAKES_PLAN else {}
    initial = {"version": instance.version} if instance else {}
    if part == "pdsa" and instance is None and request.GET.get("follows", "").isdigit():
        previous = plan.pdsa_cycles.filter(pk=request.GET["follows"]).first()
        if previous:
            initial = {"follows": previous, "change_idea": previous.change_idea}
    if part == "pdsa" and instance is not None and instance.is_complete:
        messages.info(request, "A completed cycle is the record of what was learnt, so it "
                               "cannot be changed. Plan the next cycle instead.")
        return redirect(back)
    # The form gets its own copy: validating a bound ModelForm writes the new values onto
    # its instance, and the heading (and a conflict's discard link) name the part as saved.
    copy = model.objects.get(pk=instance.pk) if instance else None
    form = form_class(request.POST or None, instance=copy, initial=initial, **extra)
    conflict = None
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            services.part_save(plan=plan, user=request.user, model=model, instance=instance,
                               version=form.edited_version(), **fields)
        except EditConflict as exc:
            conflict = _part_conflict(form, exc.current, plan, part)
        except services.PartRefused as exc:
            messages.error(request, str(exc))
            return redirect(back)
        else:
            messages.success(request, "Saved")
            return redirect(back)
    return render(request, "qips/part_form.html", {
        "plan": plan, "form": form, "part": part, "instance": instance, "back": back,
        "heading": f"Change: {instance}" if instance else heading, "conflict": conflict})


def _part_conflict(form: forms.ModelForm, current: models.Model, plan: QualityImprovementPlan,
                   part: str) -> Conflict:
    """Both versions of each field the other person's save and this form disagree on; the
    form now carries the version saved, so saving again keeps this person's text."""
    form.move_to_version(current.version)
    saved = timeline_for(plan).filter(
        verb="qip.part_changed", data__part=services.PARTS[type(current)],
        data__part_id=current.pk, data__version=current.version).first()
    return conflict_logged(
        saved, differences=differences(form, current, form.Meta.fields),
        discard_url=reverse("qips:part_edit", args=[plan.pk, part, current.pk]))


@login_required
@require_POST
def part_delete(request: HttpRequest, pk: int, part: str, part_pk: int) -> HttpResponse:
    plan, _who = load(request, pk, edit=True)
    model, _form, _heading, anchor = _part(part)
    instance = get_object_or_404(model, pk=part_pk, plan=plan)
    try:
        services.part_delete(plan=plan, user=request.user, instance=instance)
    except services.PartRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Removed")
    return redirect(f"/qips/{plan.pk}/#{anchor}")


@login_required
@require_POST
def pdsa_complete(request: HttpRequest, pk: int, cycle_pk: int) -> HttpResponse:
    plan, _who = load(request, pk, edit=True)
    cycle = get_object_or_404(PdsaCycle, pk=cycle_pk, plan=plan)
    try:
        services.pdsa_complete(cycle=cycle, user=request.user)
    except services.PartRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The cycle “{cycle.title}” is complete")
    return redirect(f"/qips/{plan.pk}/#pdsa")


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def measure_data(request: HttpRequest, pk: int, measure_pk: int) -> HttpResponse:
    """A measure's chart and data, with the three ways to add data."""
    plan, who = load(request, pk)
    measure = get_object_or_404(
        selectors.measures_for_charts(Measure.objects.prefetch_related("measurements")),
        pk=measure_pk, plan=plan)
    paste_form = MeasurementPasteForm(prefix="paste")
    import_form = MeasurementImportForm(prefix="import")
    rebase_form = RebaseForm(prefix="rebase", measure=measure)
    import_errors = []
    if request.method == "POST":
        if not who.team:
            raise Http404 if who.reader_only else PermissionDenied
        if not plan.is_editable:
            messages.info(request, "A completed or stopped plan takes no more data")
            return redirect(request.path)
        how = request.POST.get("how")
        try:
            if how == "paste":
                paste_form = MeasurementPasteForm(request.POST, prefix="paste")
                if paste_form.is_valid():
                    count = measurement_services.measurements_paste(
                        measure=measure, user=request.user, text=paste_form.cleaned_data["rows"])
                    messages.success(request, f"Saved {count} value{'s' if count != 1 else ''}")
                    return redirect(request.path)
            elif how == "import":
                import_form = MeasurementImportForm(request.POST, request.FILES, prefix="import")
                if import_form.is_valid():
                    count = measurement_services.measurements_import(
                        measure=measure, user=request.user,
                        uploaded=import_form.cleaned_data["file"])
                    messages.success(request, f"Imported {count} value"
                                              f"{'s' if count != 1 else ''}")
                    return redirect(request.path)
            elif how == "rebase":
                rebase_form = RebaseForm(request.POST, prefix="rebase", measure=measure)
                if rebase_form.is_valid():
                    services.part_save(plan=plan, user=request.user, model=MeasureRebase,
                                       measure=measure, **rebase_form.cleaned_data)
                    messages.success(request, "The chart is rebased from that period")
                    return redirect(request.path)
        except ImportFailed as exc:
            import_errors = exc.errors
        except services.PartRefused as exc:
            messages.error(request, str(exc))
            return redirect(request.path)
    return render(request, "qips/measure_data.html", {
        "plan": plan, "who": who, "measure": measure,
        "chart_context": charts_for([measure], plan)[0],
        "measurements": list(measure.measurements.all()),
        "columns": measurement_services.columns_for(measure),
        "paste_form": paste_form, "import_form": import_form, "rebase_form": rebase_form,
        "import_errors": import_errors,
        "form": next((f for f in (paste_form, import_form, rebase_form) if f.errors), None),
    })


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def progress_update(request: HttpRequest, pk: int) -> HttpResponse:
    plan, _who = load(request, pk, edit=True)
    if not (plan.is_approved and plan.is_editable):
        messages.info(request, "Monthly updates start once the plan is approved, and stop "
                               "when it is completed or stopped")
        return redirect(f"/qips/{plan.pk}/#progress")
    form = ProgressUpdateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        _update, created = services.progress_update_save(
            plan=plan, user=request.user, month=data.pop("month"), **data)
        messages.success(request, "Your update has been sent" if created else
                         "Your update for that month has been replaced")
        return redirect(f"/qips/{plan.pk}/#progress")
    return render(request, "qips/progress_form.html", {"plan": plan, "form": form})
