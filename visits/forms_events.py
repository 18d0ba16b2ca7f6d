"""Forms for national workshops and online conferences."""

from django import forms
from django.utils import timezone

from ilcop.forms import PlainErrorMessagesMixin
from programmes.models import SiteMembership

from .models import Event, EventSession
from .services.events import KIND_FIELDS

DATE = forms.DateInput(attrs={"type": "date"})
TIME = forms.TimeInput(attrs={"type": "time"})
ROWS = forms.Textarea(attrs={"rows": 3})


class EventKindForm(PlainErrorMessagesMixin, forms.Form):
    """Asked first, so the event's form shows only the fields of its kind."""

    kind = forms.ChoiceField(label="What kind of event is it?", choices=Event.Kind.choices,
                             widget=forms.RadioSelect)


class EventForm(PlainErrorMessagesMixin, forms.ModelForm):
    # People paste "teams.microsoft.com/..." without the scheme; meeting links are https.
    joining_link = forms.URLField(assume_scheme="https", required=False, max_length=500,
                                  help_text="The link to the online meeting")

    class Meta:
        model = Event
        fields = ["title", "description", "date", "start_time", "end_time", "venue",
                  "travel_notes", "joining_link", "joining_guide", "connection_test_note"]
        widgets = {"date": DATE, "start_time": TIME, "end_time": TIME, "description": ROWS,
                   "travel_notes": ROWS, "joining_guide": ROWS, "connection_test_note": ROWS}
        help_texts = {
            "date": "Leave empty to find a date with an availability poll",
            "venue": "The building, room and address",
            "travel_notes": "Parking, the nearest station, where to claim travel expenses",
            "joining_guide": "How to join step by step, and who to call if it does not work",
            "connection_test_note": "For example, a test call open the week before",
        }

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        for other, names in KIND_FIELDS.items():
            if other != kind:
                for name in names:
                    del self.fields[name]

    def clean(self):
        cleaned = super().clean()
        date, start, end = (cleaned.get(n) for n in ("date", "start_time", "end_time"))
        if date and not (start and end) and not self.has_error("start_time") \
                and not self.has_error("end_time"):
            self.add_error("start_time", "Enter the start and end times")
        if start and end and end <= start:
            self.add_error("end_time", "The event must end after it starts")
        if date and date < timezone.localdate() and date != self.instance.date:
            self.add_error("date", "Choose a date in the future")
        return cleaned


class SessionForm(PlainErrorMessagesMixin, forms.ModelForm):
    roles = forms.MultipleChoiceField(
        label="A breakout for", required=False, choices=SiteMembership.Role.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked for a session for everyone")

    class Meta:
        model = EventSession
        fields = ["title", "description", "start_time", "end_time", "roles", "optional",
                  "location"]
        widgets = {"start_time": TIME, "end_time": TIME, "description": ROWS}
        labels = {"optional": "Optional: people may choose to skip it"}

    def __init__(self, *args, event: Event, **kwargs):
        super().__init__(*args, **kwargs)
        self.event = event

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_time"), cleaned.get("end_time")
        if start and end and end <= start:
            self.add_error("end_time", "The session must end after it starts")
        elif start and end and self.event.start_time and self.event.end_time and (
                start < self.event.start_time or end > self.event.end_time):
            self.add_error(None, "Sessions must fit inside the event's times, "
                                 f"{self.event.start_time:%H:%M} to "
                                 f"{self.event.end_time:%H:%M}")
        return cleaned

    def _post_clean(self):
        # The service validates and saves. Left to the ModelForm, the values would be copied
        # into the session first, and the service would find nothing changed.
        pass


EVERYONE, CHOSEN = "everyone", "chosen"


class AudienceForm(PlainErrorMessagesMixin, forms.Form):
    audience = forms.ChoiceField(
        label="Who should be invited?", widget=forms.RadioSelect, initial=EVERYONE,
        choices=[(EVERYONE, "Everyone in the programme"),
                 (CHOSEN, "People in these roles, at these sites")])
    roles = forms.MultipleChoiceField(
        label="People in these roles", required=False, choices=SiteMembership.Role.choices,
        widget=forms.CheckboxSelectMultiple, help_text="Leave all unticked for every role")
    sites = forms.TypedMultipleChoiceField(
        label="Everyone at these sites", required=False, coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked for every site. With roles ticked too, only people in "
                  "those roles at these sites are invited.")
    include_core_team = forms.BooleanField(label="Include the core team", required=False)
    short_notice_reason = forms.CharField(
        label="Why is it announced at short notice?", required=False, widget=ROWS,
        max_length=2000)

    def __init__(self, *args, sites, short_notice: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sites"].choices = [(s.pk, f"{s.name}, {s.organisation.name}")
                                        for s in sites]
        if short_notice:
            # Asked for when sending, not when counting who it reaches.
            self.fields["short_notice_reason"].required = self.data.get("confirmed") == "yes"
            self.fields["short_notice_reason"].error_messages["required"] = (
                "Say why the event is announced at short notice")
        else:
            del self.fields["short_notice_reason"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("audience") == CHOSEN and not (cleaned.get("roles")
                                                       or cleaned.get("sites")):
            self.add_error("roles", "Tick at least one role or one site")
        if cleaned.get("audience") == EVERYONE:
            cleaned["roles"], cleaned["sites"] = [], []
        return cleaned


class CancelForm(PlainErrorMessagesMixin, forms.Form):
    reason = forms.CharField(label="Why is the event cancelled?", widget=ROWS,
                             max_length=2000,
                             help_text="Everyone invited is told this")
