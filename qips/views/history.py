"""An object's history, for the programme's core team (qips.history)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ilcop.listing import page_of
from programmes import selectors as programme_selectors

from .. import history


@login_required
@require_GET
def object_history(request: HttpRequest, pk: int, kind: str, object_pk: int) -> HttpResponse:
    programme = programme_selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    found = history.object_history(programme, kind, object_pk)
    page = page_of(found.entries, request.GET)
    rows = [(entry, history.details(entry)) for entry in page.object_list]
    return render(request, "qips/history.html", {
        "programme": programme, "history": found, "page": page, "rows": rows})
