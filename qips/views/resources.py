"""The library's resources page: the core team's guides, templates and sustainability
resources, and the slides and documents from the programme's workshops and conferences.
Read by everyone taking part (qips.selectors.library_programmes), from their first day."""

from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from programmes.models import Programme, Resource, ResourceTopic
from programmes.selectors.participants import is_core_team
from visits.selectors_events import programme_event_materials

from .. import selectors

# The "kind" filter's extra choice: only what was shown at events.
EVENTS = "events"


def _filters(request: HttpRequest, topics: list[ResourceTopic]) -> dict[str, str]:
    """The filters in the query string. A value that makes no sense is dropped rather than
    refused (docs/architecture.md), so a mistyped link shows more, never an error."""
    filters = {key: request.GET.get(key, "").strip()[:100]
               for key in ("stage", "topic", "kind", "query")}
    if filters["stage"] not in Resource.Stage.values:
        filters["stage"] = ""
    if filters["topic"] not in {str(topic.pk) for topic in topics}:
        filters["topic"] = ""
    if filters["kind"] not in (*Resource.Kind.values, EVENTS):
        filters["kind"] = ""
    return filters


def _resources(programme: Programme, filters: dict[str, str]) -> QuerySet[Resource]:
    resources = Resource.objects.filter(programme=programme).prefetch_related("topics")
    if filters["stage"]:
        resources = resources.filter(**{filters["stage"]: True})
    if filters["topic"]:
        resources = resources.filter(topics__pk=filters["topic"])
    if filters["kind"]:
        resources = resources.filter(kind=filters["kind"])
    if filters["query"]:
        resources = resources.filter(Q(title__icontains=filters["query"])
                                     | Q(description__icontains=filters["query"]))
    return resources.order_by("title", "pk")


@login_required
@require_GET
def resources(request: HttpRequest, pk: int) -> HttpResponse:
    programme = get_object_or_404(selectors.library_programmes(request.user), pk=pk)
    request.programme = programme
    topics = list(ResourceTopic.objects.filter(programme=programme))
    filters = _filters(request, topics)
    # Event materials have no stage or topic: a filter on either leaves them out.
    wants_materials = not (filters["stage"] or filters["topic"]) and filters["kind"] in (
        "", EVENTS)
    materials = []
    if wants_materials:
        materials = programme_event_materials(programme)
        if filters["query"]:
            materials = materials.filter(Q(title__icontains=filters["query"])
                                         | Q(event__title__icontains=filters["query"]))
    items = [] if filters["kind"] == EVENTS else list(_resources(programme, filters))
    return render(request, "qips/resources.html", {
        "programme": programme, "resources": items, "materials": list(materials),
        "filters": filters, "filtered": any(filters.values()), "topics": topics,
        "stages": Resource.Stage.choices, "kinds": Resource.Kind.choices,
        "is_core": is_core_team(request.user, programme),
    })
