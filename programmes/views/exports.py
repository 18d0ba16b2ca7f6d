import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from ilcop import exports

from .. import selectors

logger = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx")


@login_required
@require_GET
def export_list(request: HttpRequest, pk: int) -> HttpResponse:
    """Every dataset a funder or researcher may want, each with its columns and downloads."""
    scope = selectors.export_scope(request.user, pk)
    request.programme = scope.programme
    return render(request, "programmes/exports.html", {
        "programme": scope.programme,
        "whole_programme": scope.whole_programme,
        "sites": [] if scope.whole_programme else list(
            scope.sites.select_related("organisation").order_by("code")),
        "datasets": exports.datasets(),
    })


@login_required
@require_GET
def export_download(request: HttpRequest, pk: int, slug: str, fmt: str) -> HttpResponse:
    scope = selectors.export_scope(request.user, pk)
    dataset = exports.dataset(slug)
    if dataset is None or fmt not in FORMATS:
        raise Http404
    programme = scope.programme
    now = timezone.now()
    filename = f"{slugify(programme.name)}-{dataset.slug}-{timezone.localdate(now)}.{fmt}"
    if fmt == "xlsx" and (rows := exports.xlsx_too_large(dataset, programme, scope.sites)):
        messages.error(request, f"{dataset.title} has {rows:,} rows, too many for an Excel "
                                "file made while you wait. Download the CSV instead: it opens "
                                "in Excel too.")
        return redirect("programmes:exports", programme.pk)
    # Who took which data, by id: an export is a disclosure, even though it changes nothing.
    logger.info("Export %s.%s of programme %s by user %s (%s)", dataset.slug, fmt,
                programme.pk, request.user.pk,
                "whole programme" if scope.whole_programme else "own sites")
    if fmt == "csv":
        return exports.csv_response(dataset, programme, scope.sites, filename=filename)
    if scope.whole_programme:
        whose = "Everything in the programme"
    else:
        whose = "Your site's data: " + ", ".join(
            scope.sites.order_by("code").values_list("code", flat=True))
    return exports.xlsx_response(dataset, programme, scope.sites, filename=filename, about=[
        ("Programme", programme.name),
        ("Data", dataset.title),
        ("What it holds", dataset.description),
        ("Whose data", whose),
        ("Made at (UTC)", now),
        ("Dates and times", "Dates are YYYY-MM-DD. Times of day are London time, HH:MM. "
                            "Moments such as approved_at are UTC."),
    ])
