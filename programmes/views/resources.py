"""The core team's pages for the resource library, and the download every participant uses.
The library itself (resources with event materials) is a page in qips, which may read visits."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from ilcop.concurrency import single_submission
from ilcop.uploads import file_response

from ..forms_resources import ResourceForm
from ..models import Programme, Resource
from ..selectors.participants import is_core_team, programme_for_participant
from ..services import resources as services


def _programme_for_core_team(request: HttpRequest, pk: int) -> Programme:
    """The programme for its core team; a participant may read the library but not change
    it (403); anyone else learns nothing (404)."""
    programme = programme_for_participant(request.user, pk)
    request.programme = programme
    if not is_core_team(request.user, programme):
        raise PermissionDenied
    return programme


def _save(request: HttpRequest, form: ResourceForm, programme: Programme,
          resource: Resource | None) -> Resource | None:
    data = form.cleaned_data
    fields = {"title": data["title"], "description": data["description"],
              "kind": data["kind"], "stages": data["stages"], "topics": data["topics"],
              "link": data["link"], "upload": data["file"]}
    try:
        if resource is None:
            return services.resource_create(programme=programme, user=request.user, **fields)
        return services.resource_update(resource=resource, user=request.user,
                                        remove_file=bool(data.get("remove_file")), **fields)
    except ValidationError as exc:
        form.add_error(None, exc)
        return None


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def resource_edit(request: HttpRequest, pk: int, resource_pk: int | None = None
                  ) -> HttpResponse:
    programme = _programme_for_core_team(request, pk)
    resource = (get_object_or_404(Resource.objects.prefetch_related("topics"),
                                  pk=resource_pk, programme=programme)
                if resource_pk else None)
    form = ResourceForm(request.POST or None, request.FILES or None, programme=programme,
                        resource=resource)
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, programme, resource)
        if saved is not None:
            messages.success(request, f"“{saved.title}” has been saved to the library")
            return redirect("qips:resources", programme.pk)
    return render(request, "programmes/resources/form.html",
                  {"programme": programme, "form": form, "resource": resource})


@login_required
@require_http_methods(["GET", "POST"])
def resource_remove(request: HttpRequest, pk: int, resource_pk: int) -> HttpResponse:
    programme = _programme_for_core_team(request, pk)
    resource = get_object_or_404(Resource, pk=resource_pk, programme=programme)
    if request.method == "POST":
        services.resource_remove(resource=resource, user=request.user)
        messages.success(request, f"“{resource.title}” has been removed from the library")
        return redirect("qips:resources", programme.pk)
    return render(request, "programmes/resources/remove.html",
                  {"programme": programme, "resource": resource})


@login_required
@require_GET
def resource_download(request: HttpRequest, pk: int, resource_pk: int) -> HttpResponse:
    programme = programme_for_participant(request.user, pk)
    resource = get_object_or_404(Resource, pk=resource_pk, programme=programme)
    if not resource.file:
        raise Http404("A link, not a file")
    return file_response(resource.file, filename=resource.filename or resource.file.name)
