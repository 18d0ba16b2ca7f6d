"""A visit's data pack: the host's MDT profile, audit figures and patient survey, as a page
and as a PDF drawn from the same template."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ilcop.pdf import pdf_response

from . import selectors


def _pack(request: HttpRequest, pk: int):
    visit = selectors.visit_for_user(request.user, pk)
    request.programme = visit.programme
    is_core = selectors.is_core_for_visit(request.user, visit)
    if not selectors.may_read_data_pack(request.user, visit, is_core=is_core):
        return visit, None
    return visit, selectors.data_pack(visit)


@login_required
@require_GET
def data_pack(request: HttpRequest, pk: int) -> HttpResponse:
    visit, pack = _pack(request, pk)
    if pack is None:
        return render(request, "visits/data_pack_not_ready.html", {"visit": visit})
    return render(request, "visits/data_pack.html", {"visit": visit, "pack": pack,
                                                     "programme": visit.programme})


@login_required
@require_GET
def data_pack_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    visit, pack = _pack(request, pk)
    if pack is None:
        return render(request, "visits/data_pack_not_ready.html", {"visit": visit}, status=409)
    return pdf_response("visits/data_pack_pdf.html",
                        {"visit": visit, "pack": pack, "programme": visit.programme},
                        filename=f"data pack {visit.host.code} {visit.date or ''}")
