"""A site's journey, for the programme's core team: how the team is doing and what the
programme has done for it, on one page."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from programmes import selectors as programme_selectors

from .. import journey

# Far beyond any real site's log; it only keeps an absurd page number from reaching the
# database as an absurd OFFSET.
MAX_ACTIVITY_PAGE = 1000


def _activity_page(value: str | None) -> int:
    try:
        page = int(value or 1)
    except ValueError:
        return 1
    return min(max(page, 1), MAX_ACTIVITY_PAGE)


@login_required
@require_GET
def site_journey(request: HttpRequest, pk: int, site_pk: int) -> HttpResponse:
    programme = programme_selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    enrolment = journey.enrolment_for_journey(programme, site_pk)
    return render(request, "dashboard/site_journey.html", {
        "programme": programme, "site": enrolment.site,
        "journey": journey.site_journey(
            programme, enrolment.site, enrolment=enrolment,
            activity_page=_activity_page(request.GET.get("activity_page"))),
    })
