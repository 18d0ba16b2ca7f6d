"""Small helpers shared by every app's views, and the one page about a person's own email."""

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .models import User


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


class ReminderEmailsForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["reminder_emails"]
        labels = {"reminder_emails": "How would you like your reminders?"}
        widgets = {"reminder_emails": forms.RadioSelect}


@login_required
@require_http_methods(["GET", "POST"])
def email_preferences(request: HttpRequest) -> HttpResponse:
    """Each person chooses between reminders as they fall due and one email on Mondays."""
    form = ReminderEmailsForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your email preferences are saved.")
        return redirect("email_preferences")
    return render(request, "account/email_preferences.html", {"form": form},
                  status=400 if form.is_bound else 200)
