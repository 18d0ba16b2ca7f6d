"""A person's data on request, and anonymising a person who leaves (ilcop.privacy).

Who may do what (docs/privacy.md): each person downloads their own data from their account;
a subject access request about someone else, and anonymising someone, are handled by the
organisation's data protection officer through a staff account. A programme's core team may
not: a person's data spans every programme they are in, and a core team sees only its own.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods

from . import privacy
from .models import User


def _json_download(user: User, filename: str) -> HttpResponse:
    response = HttpResponse(privacy.person_data_json(user=user),
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    # Personal data: never kept by a browser's or a proxy's cache.
    response["Cache-Control"] = "private, no-store"
    return response


def _person_for_staff(request: HttpRequest, pk: int) -> User:
    if not (request.user.is_authenticated and request.user.is_staff):
        raise Http404
    return get_object_or_404(User, pk=pk)


@login_required
@require_GET
def your_data(request: HttpRequest) -> HttpResponse:
    return _json_download(request.user, "your-data.json")


@login_required
@require_GET
def person_data(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person_for_staff(request, pk)
    return _json_download(person, f"person-{person.pk}-data.json")


@login_required
@require_http_methods(["GET", "POST"])
def person_anonymise(request: HttpRequest, pk: int) -> HttpResponse:
    """A confirmation page, then the anonymising: it cannot be undone."""
    person = _person_for_staff(request, pk)
    if privacy.is_anonymised(person):
        messages.info(request, f"{person} has already been anonymised.")
        return redirect("admin:ilcop_user_change", person.pk)
    if person.pk == request.user.pk:
        raise Http404
    if request.method == "POST":
        privacy.person_anonymise(user=person, by=request.user)
        messages.success(request, f"Anonymised: they are now {privacy.placeholder_name(person)}")
        return redirect("admin:ilcop_user_change", person.pk)
    return render(request, "account/privacy/person_anonymise.html", {"person": person})
