"""The form that opens an availability poll for a workshop or conference without a date."""

import datetime

from django import forms
from django.utils import timezone

from .forms_events import AudienceForm
from .services.polls import DEFAULT_EVENT_WEEKDAYS

# A date input sends and shows ISO dates whatever the locale (HTML, "valid date string").
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# Weekends are left out: national workshops and conferences are held in working time.
WEEKDAYS = [(0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"), (4, "Friday")]


class EventPollOpenForm(AudienceForm):
    """The dates to offer, when answers are needed, and who is asked (the same choice of
    audience as the event's invitations)."""

    window_start = forms.DateField(label="First date to offer", widget=DATE)
    window_end = forms.DateField(label="Last date to offer", widget=DATE)
    weekdays = forms.TypedMultipleChoiceField(
        label="Days of the week to offer", choices=WEEKDAYS, coerce=int,
        widget=forms.CheckboxSelectMultiple, initial=list(DEFAULT_EVENT_WEEKDAYS),
        help_text="Bank holidays in England and Wales are left out")
    deadline_date = forms.DateField(label="Answers needed by", widget=DATE,
                                    help_text="The poll closes at 5pm on this day")

    field_order = ["window_start", "window_end", "weekdays", "deadline_date", "audience",
                   "roles", "sites", "include_core_team"]

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, sites=sites, short_notice=False, **kwargs)
        self.fields["audience"].label = "Who should be asked?"
        self.fields["include_core_team"].label = "Ask the core team too"
        self.fields["include_core_team"].initial = True

    def deadline(self) -> datetime.datetime:
        return timezone.make_aware(datetime.datetime.combine(
            self.cleaned_data["deadline_date"], datetime.time(17, 0)))
