import datetime

from django import forms
from django.utils import timezone

from ilcop.forms import PlainErrorMessagesMixin
from ilcop.models import User
from programmes.models import CoreTeamMembership

from .models import Visit

DATE = forms.DateInput(attrs={"type": "date"})
TIME = forms.TimeInput(attrs={"type": "time"})


class PollOpenForm(PlainErrorMessagesMixin, forms.Form):
    window_start = forms.DateField(label="First date to offer", widget=DATE)
    window_end = forms.DateField(label="Last date to offer", widget=DATE)
    deadline_date = forms.DateField(label="Answers needed by", widget=DATE,
                                    help_text="The poll closes at 5pm on this day")

    def deadline(self) -> datetime.datetime:
        return timezone.make_aware(datetime.datetime.combine(
            self.cleaned_data["deadline_date"], datetime.time(17, 0)))


class ConfirmForm(PlainErrorMessagesMixin, forms.Form):
    start_time = forms.TimeField(label="Start time", widget=TIME, initial="09:00")
    end_time = forms.TimeField(label="End time", widget=TIME, initial="16:00")
    venue = forms.CharField(label="Venue", max_length=300,
                            help_text="The room and hospital, or 'Online'")
    directions = forms.CharField(
        label="Directions or joining details", required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Parking, the nearest station, or the video call link",
    )
    override_reason = forms.CharField(
        label="Reason for going ahead without the minimum attendance", required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, virtual: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if virtual:
            online_wording(self)


def online_wording(form: forms.BaseForm) -> None:
    """A visit held online has joining details, not a room and directions."""
    form.fields["venue"].label = "Where it is held"
    form.fields["venue"].help_text = "The video call service, for example Microsoft Teams"
    form.fields["directions"].label = "Joining details"
    form.fields["directions"].help_text = "The video call link, and a number to ring if it fails"


class VisitDetailsForm(PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = Visit
        fields = ["facilitator", "date", "start_time", "end_time", "venue", "directions"]
        widgets = {"date": DATE, "start_time": TIME, "end_time": TIME,
                   "directions": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        visit = self.instance
        self.fields["facilitator"].queryset = User.objects.filter(
            core_memberships__programme=visit.programme,
            core_memberships__role=CoreTeamMembership.Role.QI_FACILITATOR)
        if visit.status != Visit.Status.CONFIRMED:
            for name in ("date", "start_time", "end_time"):
                del self.fields[name]
        if visit.virtual:
            online_wording(self)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_time"), cleaned.get("end_time")
        if start and end and end <= start:
            self.add_error("end_time", "The visit must end after it starts")
        date = cleaned.get("date")
        if date and date < timezone.localdate():
            self.add_error("date", "Choose a date in the future")
        return cleaned


class ReasonForm(PlainErrorMessagesMixin, forms.Form):
    reason = forms.CharField(label="Reason", widget=forms.Textarea(attrs={"rows": 3}))


class RotationForm(forms.Form):
    pair = forms.ModelChoiceField(queryset=None, label="Join this pair")
    site = forms.ModelChoiceField(queryset=None, label="The site left over")

    def __init__(self, *args, pairs, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pair"].queryset = pairs
        self.fields["site"].queryset = sites
