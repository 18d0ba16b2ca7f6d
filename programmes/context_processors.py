from django.urls import reverse


def current_programme(request):
    """The programme the header names: the one the current page belongs to, if any.

    Views inside a programme set ``request.programme``. The header links to the programme's
    dashboard only for its core team; for a site member that page would be a 404.
    """
    programme = getattr(request, "programme", None)

    def url() -> str:
        if programme is None or not request.user.is_authenticated:
            return ""
        # A view that let the user in as the programme's core team names the programme in
        # ``request.core_team_programme``: the same membership, already checked.
        checked = getattr(request, "core_team_programme", None)
        if (checked is None or checked.pk != programme.pk) and \
                not request.user.core_memberships.filter(programme=programme).exists():
            return ""
        return reverse("qips:dashboard", args=[programme.pk])

    # A callable, so the query runs only on pages whose template asks for it.
    return {"current_programme": programme, "current_programme_url": url}
