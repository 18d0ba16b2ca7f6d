"""The visit report: the core team's draft and approval, and every approved version's PDF.

Who may do what (404 for a visit you cannot see, 403 for what you may not do on one you can):

- ``visit_report`` (/visits/<pk>/report/): the core team reviews the draft (live from the
  visit day, drawn from the same template as the PDF), approves it as a version, and sees
  each version's progress and any failure with a "Try again" button. Both teams' current
  members see the approved versions, never the draft.
- ``visit_report_draft_pdf``: the draft as a PDF, for the core team.
- ``visit_report_pdf``: an approved version's stored PDF, for the core team and both teams;
  409 while it is being made.
- ``visit_report_approve`` and ``visit_report_retry`` (POST): the core team only.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ilcop.forms import PlainErrorMessagesMixin
from ilcop.pdf import html_to_pdf

from . import selectors
from .models import Visit, VisitReport
from .report import draft_fingerprint, draft_html, report_content, report_html, report_versions
from .services import report as services


class ApproveForm(PlainErrorMessagesMixin, forms.Form):
    # The latest version the approver had seen: a second click, or a colleague approving
    # meanwhile, is then noticed instead of making two versions.
    based_on_version = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    # The draft the approver read (visits.report.draft_fingerprint).
    draft = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)
    correction_note = forms.CharField(
        label="What does this version correct?", required=False,
        widget=forms.Textarea(attrs={"rows": 4}), max_length=2000,
        help_text="Everyone is sent the new version with this note. The earlier version "
                  "stays on this page as it was.")

    def __init__(self, *args, correcting: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if correcting:
            self.fields["correction_note"].required = True
            self.fields["correction_note"].error_messages["required"] = (
                "Say what this version corrects")
        else:
            del self.fields["correction_note"]


def _page(request: HttpRequest, visit: Visit, *, form: ApproveForm | None = None,
          status: int = 200) -> HttpResponse:
    request.programme = visit.programme
    is_core = selectors.is_core_for_visit(request.user, visit)
    reports = report_versions(visit)
    latest = reports[0].version if reports else 0
    reportable = visit.status in services.REPORTABLE
    context = {"visit": visit, "programme": visit.programme, "is_core": is_core,
               "reports": reports, "reportable": reportable, "next_version": latest + 1}
    recipients = services.report_recipients(visit) if is_core else []
    if is_core and reports:
        for older in reports[1:]:
            older.superseded = True  # a correction replaced it: never sent again
        latest_report = reports[0]
        if latest_report.is_failed or latest_report.is_stuck:
            # Names are for the core team's eyes only: never in a log or the stored failure.
            context["attention"] = latest_report
            context["missing"] = services.report_missing(latest_report, recipients)
    if is_core and reportable:
        content = report_content(visit)
        # Rendered here, not included by the template, so its fingerprint is of what is shown.
        content_html = draft_html(visit, content)
        context.update({
            "content": content, "content_html": content_html, "report": None,
            "recipient_count": len(recipients),
            "form": form or ApproveForm(initial={"based_on_version": latest,
                                                 "draft": draft_fingerprint(content_html)},
                                        correcting=bool(latest)),
        })
    return render(request, "visits/report/report.html", context, status=status)


@login_required
@require_GET
@never_cache
def visit_report(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, selectors.visit_for_user(request.user, pk))


def _core_visit(request: HttpRequest, pk: int) -> Visit:
    """The visit, for its core team; a 403 for the teams, who can see it; a 404 for others."""
    visit = selectors.visit_for_user(request.user, pk)
    if not selectors.is_core_for_visit(request.user, visit):
        raise PermissionDenied("Only the core team approves and sends the visit report")
    return visit


@login_required
@require_GET
def visit_report_draft_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _core_visit(request, pk)
    if visit.status not in services.REPORTABLE:
        request.programme = visit.programme
        return render(request, "visits/report/not_yet.html", {"visit": visit}, status=409)
    return _pdf(html_to_pdf(report_html(visit, report=None)),
                f"visit report {visit.host.code} {visit.date or ''} draft.pdf")


@login_required
@require_GET
def visit_report_pdf(request: HttpRequest, pk: int, version: int) -> HttpResponse:
    visit = selectors.visit_for_user(request.user, pk)
    report = get_object_or_404(VisitReport.objects.defer("html"), visit=visit, version=version)
    if report.pdf is None:
        request.programme = visit.programme
        return render(request, "visits/report/being_prepared.html",
                      {"visit": visit, "report": report}, status=409)
    report.visit = visit
    return _pdf(bytes(report.pdf), report.filename)


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    stem = slugify(filename.removesuffix(".pdf")) or "visit-report"
    response["Content-Disposition"] = f'inline; filename="{stem}.pdf"'
    # Confidential to two teams: not kept by a shared NHS computer's browser or a proxy.
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def visit_report_approve(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _core_visit(request, pk)
    if visit.status not in services.REPORTABLE:
        messages.error(request, "The report can be written after the visit has happened.")
        return redirect("visits:visit_report", visit.pk)
    latest = services.latest_version(visit)
    form = ApproveForm(request.POST, correcting=latest > 0)
    valid = form.is_valid()
    based_on = form.cleaned_data.get("based_on_version")
    if based_on is None:
        messages.error(request, "Something went wrong with the form. Read the draft again "
                                "and approve it from here.")
        return redirect("visits:visit_report", visit.pk)
    # A second click (or a colleague) first: say so, whatever else the form holds. The
    # service checks again under the visit's lock.
    if based_on != latest:
        messages.error(request, f"Version {latest} has been approved since you opened this "
                                "page. Read the latest draft before approving another version.")
        return redirect("visits:visit_report", visit.pk)
    if not valid:
        return _page(request, visit, form=form)
    try:
        report = services.report_approve(
            visit=visit, user=request.user,
            based_on_version=form.cleaned_data["based_on_version"],
            draft=form.cleaned_data.get("draft") or None,
            correction_note=form.cleaned_data.get("correction_note", ""))
    except services.StaleApproval as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("visits:visit_report", visit.pk)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return _page(request, visit, form=form)
        messages.error(request, " ".join(exc.messages))
        return redirect("visits:visit_report", visit.pk)
    # Without a worker (make run) the PDF was made and emailed as the approval committed.
    sent = VisitReport.objects.filter(pk=report.pk, sent_at__isnull=False).values_list(
        "recipient_count", flat=True).first()
    if sent is not None:
        messages.success(request, f"Version {report.version} is approved and has been emailed "
                                  f"to {sent} {'person' if sent == 1 else 'people'}.")
    else:
        messages.success(request, f"Version {report.version} is approved. Its PDF is being "
                                  "made and will be emailed to both teams and the core team.")
    return redirect(reverse("visits:visit_report", args=[visit.pk]) + "#versions")


@login_required
@require_POST
def visit_report_retry(request: HttpRequest, pk: int, version: int) -> HttpResponse:
    visit = _core_visit(request, pk)
    report = get_object_or_404(VisitReport.objects.defer("html", "pdf"), visit=visit,
                               version=version)
    try:
        services.report_retry(report=report, user=request.user)
    except ValidationError as exc:
        messages.info(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Trying version {report.version} again")
    return redirect(reverse("visits:visit_report", args=[visit.pk]) + "#versions")
