from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from .. import selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Where people land after signing in.

    Someone with exactly one place in the product (one site team, or one programme's core
    team) goes straight to it; anyone else chooses from a list.
    """
    context = selectors.home_context(request.user)
    core, sites = context["core_memberships"], context["site_memberships"]
    # A regional hub's member chooses from the list, where their hubs are.
    hubs = context["hub_memberships"]
    # So is a reviewer, whose reviews are on their own page.
    reviewing = context["reviewer_roles"]
    if len(core) == 1 and not sites and not hubs and not reviewing:
        return redirect("qips:dashboard", core[0].programme_id)
    if len(sites) == 1 and not core and not hubs and not reviewing:
        return redirect("programmes:site_detail", sites[0].site_id)
    context["can_create_programme"] = selectors.can_create_programme(request.user)
    return render(request, "programmes/home.html", context)
