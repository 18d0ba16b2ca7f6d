from django import forms

from ilcop.forms import PlainErrorMessagesMixin

from . import funnel
from .models import (
    MAX_ANNUAL_NEW_PATIENTS,
    CoreTeamMembership,
    Enrolment,
    Indicator,
    Organisation,
    Pair,
    Programme,
    Site,
    SiteMembership,
)
from .periods import PeriodNotRecognised, parse_period

# <input type="date"> only accepts an ISO date as its value; any other format shows blank and
# is lost on the next save.
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ProgrammeForm(PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = Programme
        fields = ["name", "specialty", "kind", "description", "start_date", "end_date", "status",
                  "baseline_period", "min_denominator", "qip_due_weeks", "event_notice_weeks"]
        widgets = {
            "kind": forms.RadioSelect,
            "start_date": DATE_WIDGET,
            "end_date": DATE_WIDGET,
            "description": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "kind": "Reciprocal pairs is the ILCOP model. One-way review is the NHS England "
                    "quality surveillance model.",
            "baseline_period": "The audit period that decides eligibility and pairing, for "
                               "example 2025 or 2025/26",
        }

    def clean_baseline_period(self):
        text = self.cleaned_data["baseline_period"].strip()
        if not text:
            return ""
        try:
            return parse_period(text).label
        except PeriodNotRecognised as exc:
            raise forms.ValidationError(str(exc)) from None

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
        fields = [f for f in ProgrammeForm.Meta.fields
                  if f not in ("status", "baseline_period", "min_denominator",
                               "qip_due_weeks", "event_notice_weeks")]


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
        # Approval is recorded one site at a time (each trust's executive is a different
        # person), and only randomisation allocates arms.
        reachable = {t for moves in funnel.TRANSITIONS.values() for t in moves}
        targets = [s for s in Enrolment.Status.values
                   if s in reachable and s != funnel.APPROVED]
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


class IndicatorForm(PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = Indicator
        fields = ["code", "name", "description", "source", "higher_is_better", "is_headline",
                  "order"]
        labels = {"higher_is_better": "A higher value is better",
                  "is_headline": "Headline indicator (used for eligibility and pairing)"}
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, programme: Programme, **kwargs):
        super().__init__(*args, **kwargs)
        self.programme = programme

    def clean_code(self):
        code = self.cleaned_data["code"].strip().upper()
        clash = Indicator.objects.filter(programme=self.programme, code=code)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("This programme already has an indicator with this code")
        return code


class AuditImportForm(SiteImportForm):
    file = forms.FileField(
        label="Upload a CSV file or Excel workbook",
        help_text="Each sheet with the columns below is imported; other sheets are skipped.",
    )


class RandomisationForm(PlainErrorMessagesMixin, forms.Form):
    intervention_count = forms.IntegerField(
        label="How many sites go to the intervention arm", min_value=1,
        help_text="The rest of the eligible sites go to the control arm",
    )
    stratify_by_region = forms.BooleanField(label="Balance the arms within each region",
                                            required=False)
    stratify_by_size = forms.BooleanField(label="Balance the arms within each size band",
                                          required=False)
    size_band_edges = forms.CharField(
        label="Size bands", required=False, initial="200, 400",
        help_text="New patients a year at which each band starts, for example 200, 400",
    )
    seed = forms.IntegerField(
        label="Random seed (optional)", required=False, min_value=0, max_value=2**31 - 1,
        help_text="Leave blank for a new random draw. The seed is recorded, so the same seed "
                  "always gives the same allocation.",
    )
    override_reason = forms.CharField(
        label="Reason for overriding the confirmed allocation", required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_size_band_edges(self):
        text = self.cleaned_data["size_band_edges"]
        try:
            edges = sorted({int(part) for part in text.replace(";", ",").split(",")
                            if part.strip()})
        except ValueError:
            raise forms.ValidationError("Enter whole numbers separated by commas") from None
        if any(edge <= 0 or edge > MAX_ANNUAL_NEW_PATIENTS for edge in edges):
            raise forms.ValidationError("Each band must start above 0")
        return edges


class PairingConstraintsForm(forms.Form):
    not_same_region = forms.BooleanField(label="Never pair sites in the same region",
                                         required=False)
    not_same_network = forms.BooleanField(label="Never pair sites in the same network",
                                          required=False)
    not_previous_partners = forms.BooleanField(
        label="Never pair sites that were partners in an earlier programme", required=False,
        initial=True,
    )
    max_distance_km = forms.IntegerField(
        label="Furthest apart partners may be, in km (optional)", required=False,
        min_value=1, max_value=2000,
    )


class MakePairForm(forms.Form):
    site_a = forms.ModelChoiceField(queryset=Site.objects.none(), label="First site")
    site_b = forms.ModelChoiceField(queryset=Site.objects.none(), label="Second site")

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site_a"].queryset = sites
        self.fields["site_b"].queryset = sites


class ConflictForm(PlainErrorMessagesMixin, MakePairForm):
    reason = forms.CharField(label="Why they must not be paired", max_length=300,
                             help_text="For example, a consultant works at both")


class SwapPairsForm(forms.Form):
    first = forms.ModelChoiceField(queryset=Pair.objects.none(), label="First pair")
    second = forms.ModelChoiceField(queryset=Pair.objects.none(), label="Second pair")

    def __init__(self, *args, pairs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first"].queryset = pairs
        self.fields["second"].queryset = pairs


class ReasonForm(PlainErrorMessagesMixin, forms.Form):
    reason = forms.CharField(label="Reason", widget=forms.Textarea(attrs={"rows": 2}))
