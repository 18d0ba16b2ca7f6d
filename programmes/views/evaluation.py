"""The programme evaluation: the controlled before–after comparison of the arms."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import selectors
from ..selectors.evaluation import FEW_SITES


@login_required
@require_GET
def evaluation(request: HttpRequest, pk: int) -> HttpResponse:
    """Each headline indicator: both arms' change from baseline to follow-up, the difference
    in differences with its 95% confidence interval, and the arms over time.

    The periods come from a GET form; the selector only looks them up among the periods with
    data, so anything else typed into the address falls back to the default with a notice.
    """
    programme = selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    result = selectors.programme_evaluation(
        programme, baseline=request.GET.get("baseline", "").strip() or None,
        follow_up=request.GET.get("follow_up", "").strip() or None,
    )
    return render(request, "programmes/evaluation.html", {
        "programme": programme, "evaluation": result, "few_sites": FEW_SITES,
    })
