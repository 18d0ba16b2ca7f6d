"""Small helpers shared by every app's views."""

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


def act_then_redirect(request: HttpRequest, action: Callable[[], object], *, success: str,
                      to: str) -> HttpResponse:
    """Run a service call for a POST, report its outcome as a message, and redirect.

    A ValidationError (the service refusing, in words for the user) becomes an error message;
    nothing else is caught, so a real fault is still a fault.
    """
    try:
        action()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, success)
    return redirect(to)
