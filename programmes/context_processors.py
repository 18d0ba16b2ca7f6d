def current_programme(request):
    """The programme the header names: the one the current page belongs to, if any.

    Views that work inside a programme set ``request.programme``; elsewhere a person in
    exactly one programme sees that one.
    """
    return {"current_programme": getattr(request, "programme", None)}
