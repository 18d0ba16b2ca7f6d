from django import forms

from ilcop.forms import PlainErrorMessagesMixin

from . import funnel
from .models import (
    CoreTeamMembership,
    Enrolment,
    Organisation,
    Programme,
    Site,
    SiteMembership,
)

DATE_WIDGET = forms.DateInput(attrs={"type": "date"})


class ProgrammeForm(PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = Programme
        fields = ["name", "specialty", "kind", "description", "start_date", "end_date", "status"]
        widgets = {
            "kind": forms.RadioSelect,
            "start_date": DATE_WIDGET,
            "end_date": DATE_WIDGET,
            "description": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "kind": "Reciprocal pairs is the ILCOP model. One-way review is the NHS England "
                    "quality surveillance model.",
        }

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", "The end date must be the same as or after the start date")
        return cleaned


class NewProgrammeForm(ProgrammeForm):
    creator_role = forms.ChoiceField(
        label="Your role in the core team", choices=CoreTeamMembership.Role.choices,
        widget=forms.RadioSelect,
    )

    class Meta(ProgrammeForm.Meta):
        fields = [f for f in ProgrammeForm.Meta.fields if f != "status"]


class OrganisationForm(PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = Organisation
        fields = ["name", "code", "region", "network", "latitude", "longitude"]
        labels = {"code": "Organisation code", "network": "Cancer alliance or network"}
        error_messages = {
            "code": {"unique": "An organisation with this code is already recorded. Choose it "
                               "from the list when you add the site."}
        }
        help_texts = {
            "code": "The ODS code, for example RXX",
            "latitude": "Of the main hospital, for travel distances. For example 51.50735",
            "longitude": "For example -0.12776",
        }

    def clean_code(self):
        return self.cleaned_data["code"].strip().upper()

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("latitude") is None) != (cleaned.get("longitude") is None):
            self.add_error("longitude", "Enter both latitude and longitude, or neither")
        return cleaned


class SiteForm(PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = Site
        fields = ["organisation", "name", "code", "specialty", "mdt_day", "mdt_time",
                  "annual_new_patients"]
        labels = {"code": "Site code", "name": "MDT name"}
        help_texts = {
            "code": "A short code unique to this MDT, for example RXX-LUNG",
            "mdt_day": "Visits are held on this day, so the visitors can observe the meeting",
            "mdt_time": "24-hour clock, for example 13:30",
        }
        widgets = {"mdt_time": forms.TimeInput(attrs={"type": "time"})}
        error_messages = {
            "code": {"unique": "Another site already has this code. Give each MDT its own code."}
        }

    def clean_code(self):
        return self.cleaned_data["code"].strip().upper()


class SiteImportForm(PlainErrorMessagesMixin, forms.Form):
    file = forms.FileField(
        label="Upload a CSV file",
        help_text="Save your spreadsheet as CSV UTF-8. The first row must be the column names.",
    )

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        if uploaded.size > 5 * 1024 * 1024:
            raise forms.ValidationError("The file must be smaller than 5MB")
        return uploaded


class EnrolmentMoveForm(PlainErrorMessagesMixin, forms.Form):
    """Move one enrolment or many. Which targets are offered depends on where they are now."""

    target = forms.ChoiceField(label="Move to", widget=forms.RadioSelect)
    approved_by = forms.CharField(
        label="Approved by", required=False, max_length=200,
        help_text="Name and job title of the chief executive or delegate who approved",
    )
    approved_on = forms.DateField(label="Date of approval", required=False, widget=DATE_WIDGET)
    reason = forms.CharField(
        label="Reason", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Needed when a site is ineligible or withdraws",
    )

    def __init__(self, *args, targets: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [(t, Enrolment.Status(t).label) for t in targets]

    # The rules for each move (approval details, reasons) live in services.enrolments_move,
    # whose ValidationError the view attaches to this form's fields.


class EnrolmentChoiceField(forms.ModelMultipleChoiceField):
    def _check_values(self, value):
        # Anything but a plausible id is refused before it reaches the database, where an
        # over-long number raises OverflowError (SQLite) or DataError (PostgreSQL).
        for pk in value:
            if not str(pk).isdigit() or len(str(pk)) > 18:
                raise forms.ValidationError("Select the sites again", code="invalid_pk_value")
        return super()._check_values(value)


class BulkMoveForm(EnrolmentMoveForm):
    enrolments = EnrolmentChoiceField(
        queryset=Enrolment.objects.none(), widget=forms.MultipleHiddenInput,
        error_messages={"required": "Select at least one site to move"},
    )

    def __init__(self, *args, programme: Programme, **kwargs):
        # Approval is recorded one site at a time: each trust's executive is a different person.
        targets = [s for s in Enrolment.Status.values if s not in (funnel.INVITED,
                                                                   funnel.APPROVED)]
        super().__init__(*args, targets=targets, **kwargs)
        self.fields["enrolments"].queryset = Enrolment.objects.filter(programme=programme)


class InvitationForm(PlainErrorMessagesMixin, forms.Form):
    full_name = forms.CharField(label="Full name", max_length=150)
    email = forms.EmailField(label="Email address", help_text="Their NHS email address")
    role = forms.ChoiceField(widget=forms.RadioSelect)
    clinical_specialty = forms.CharField(
        label="Clinical specialty", required=False, max_length=100,
        help_text="For other clinicians: for example surgeon, oncologist, radiologist",
    )

    def __init__(self, *args, for_site: bool, **kwargs):
        super().__init__(*args, **kwargs)
        roles = SiteMembership.Role if for_site else CoreTeamMembership.Role
        self.fields["role"].choices = roles.choices
        self.fields["role"].label = "Role in the team" if for_site else "Role in the core team"
        if not for_site:
            del self.fields["clinical_specialty"]
        self.name_required_errors()

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("role") == SiteMembership.Role.OTHER_CLINICIAN
                and not cleaned.get("clinical_specialty")):
            self.add_error("clinical_specialty", "Enter the clinician's specialty")
        return cleaned


class AcceptInvitationForm(PlainErrorMessagesMixin, forms.Form):
    full_name = forms.CharField(label="Full name", max_length=150)
    password1 = forms.CharField(
        label="Create a password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 12 characters. A few unrelated words make a strong password.",
    )
    password2 = forms.CharField(
        label="Confirm your password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        from django.contrib.auth import password_validation

        from ilcop.models import User

        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The passwords do not match")
        elif password1:
            candidate = User(email=self.email, full_name=cleaned.get("full_name", ""))
            try:
                password_validation.validate_password(password1, candidate)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned
