"""Forms for standards, quality indicators, the annual self-report and regional hubs."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from ilcop.concurrency import VersionedFormMixin
from ilcop.forms import PlainErrorMessagesMixin
from ilcop.uploads import ACCEPT_ATTRIBUTE, ACCEPTED_DESCRIPTION, MAX_UPLOAD_BYTES, validate_upload

from .forms import DATE_WIDGET, SiteImportForm
from .models import QualityIndicator, Region, SelfReportCycle, Standard

MET, NOT_MET = "met", "not_met"
MET_CHOICES = [(MET, "Met"), (NOT_MET, "Not met")]
MAX_COMMENT = 2000


class StandardForm(PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = Standard
        fields = ["code", "title", "description", "order"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"order": "Standards are listed in this order, lowest first"}

    def clean_code(self):
        return self.cleaned_data["code"].strip().upper()


class QualityIndicatorForm(PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = QualityIndicator
        fields = ["standard", "code", "title", "kind", "guidance", "version", "review_date",
                  "order"]
        widgets = {"guidance": forms.Textarea(attrs={"rows": 4}), "kind": forms.RadioSelect,
                   "review_date": DATE_WIDGET}
        labels = {"kind": "Kind of indicator", "guidance": "What counts as evidence"}
        help_texts = {
            "kind": "Every agreed quality indicator must be met; good practice indicators "
                    "must reach the programme's compliance threshold",
            "review_date": "After this date the indicator is shown as out of date",
            "guidance": "Shown to services beside the indicator when they self-report",
        }

    def __init__(self, *args, programme, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["standard"].queryset = Standard.objects.filter(programme=programme)
        self.fields["standard"].empty_label = "No standard"
        self.fields["kind"].choices = QualityIndicator.Kind.choices

    def clean_code(self):
        return self.cleaned_data["code"].strip().upper()


class FlagForm(PlainErrorMessagesMixin, forms.Form):
    reason = forms.CharField(
        label="Why is it out of date?", max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example, the national guideline it follows was replaced in 2025",
        error_messages={"required": "Enter why the indicator is out of date"})


class ReviseForm(PlainErrorMessagesMixin, forms.Form):
    version = forms.CharField(label="New version", max_length=20,
                              help_text="For example, 2 or 2026.1")
    review_date = forms.DateField(label="Due for review by", widget=DATE_WIDGET)


class CycleForm(PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = SelfReportCycle
        fields = ["name", "opens_on", "closes_on"]
        widgets = {"opens_on": DATE_WIDGET, "closes_on": DATE_WIDGET}
        labels = {"opens_on": "Opens on", "closes_on": "Closes on"}

    def clean(self):
        cleaned = super().clean()
        opens, closes = cleaned.get("opens_on"), cleaned.get("closes_on")
        if opens and closes and closes < opens:
            self.add_error("closes_on", "The closing date must be on or after the opening date")
        return cleaned

    def validate_unique(self):
        # The service checks the name within the programme, which the form does not know.
        pass


class SelfReportForm(VersionedFormMixin, forms.Form):
    """One Met / Not met choice and one comment for each of the programme's indicators.
    Leaving a choice empty saves it as not answered yet."""

    def __init__(self, *args, indicators: list[QualityIndicator], answers: dict | None = None,
                 **kwargs):
        answers = answers or {}
        initial = kwargs.setdefault("initial", {})
        for indicator in indicators:
            met, comment = answers.get(indicator.pk, (None, ""))
            initial.setdefault(f"met_{indicator.pk}",
                               "" if met is None else MET if met else NOT_MET)
            initial.setdefault(f"comment_{indicator.pk}", comment)
        super().__init__(*args, **kwargs)
        self.indicators = indicators
        for indicator in indicators:
            # forms/hint_and_error.html marks help text safe: the core team's words are
            # escaped here.
            self.fields[f"met_{indicator.pk}"] = forms.ChoiceField(
                label=f"Does your service meet {indicator.code}?", choices=MET_CHOICES,
                required=False, widget=forms.RadioSelect,
                help_text=format_html("What counts as evidence: {}", indicator.guidance)
                if indicator.guidance else "")
            self.fields[f"comment_{indicator.pk}"] = forms.CharField(
                label=f"Comment on {indicator.code} (optional)", required=False,
                max_length=MAX_COMMENT, widget=forms.Textarea(attrs={"rows": 2}))

    def answers(self) -> dict[int, tuple[bool | None, str]]:
        data = self.cleaned_data
        return {i.pk: ({MET: True, NOT_MET: False}.get(data.get(f"met_{i.pk}") or ""),
                       (data.get(f"comment_{i.pk}") or "").strip())
                for i in self.indicators}

    def rows(self):
        """(indicator, its choice field, its comment field), for the template."""
        return [(i, self[f"met_{i.pk}"], self[f"comment_{i.pk}"]) for i in self.indicators]


class EvidenceForm(PlainErrorMessagesMixin, forms.Form):
    title = forms.CharField(label="Title", max_length=200,
                            help_text="For example, MDT operational policy 2026")
    indicator = forms.ModelChoiceField(
        label="Which indicator is it evidence for? (optional)", required=False,
        queryset=QualityIndicator.objects.none(), empty_label="More than one, or all of them")
    file = forms.FileField(
        label="Upload a file", widget=forms.FileInput(attrs={"accept": ACCEPT_ATTRIBUTE}),
        help_text=f"{ACCEPTED_DESCRIPTION}, up to {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")

    def __init__(self, *args, programme, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["indicator"].queryset = QualityIndicator.objects.filter(programme=programme)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        validate_upload(upload)
        return upload


class SelfReportImportForm(SiteImportForm):
    file = forms.FileField(
        label="Upload a CSV file or Excel workbook",
        help_text="One row for each service and indicator. The first row must be the column "
                  "names.")


EMAIL_SEPARATORS = re.compile(r"[\s,;]+")


class HubForm(PlainErrorMessagesMixin, forms.Form):
    name = forms.CharField(label="Name", max_length=200, help_text="For example, London hub")
    region = forms.ChoiceField(label="Region (optional)", required=False,
                               choices=[("", "Not set"), *Region.choices])
    sites = forms.ModelMultipleChoiceField(
        label="Services the hub analyses", required=False, queryset=None,
        widget=forms.CheckboxSelectMultiple)
    members = forms.CharField(
        label="People in the hub (optional)", required=False, max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The email address of each person, one on each line. They must already "
                  "have an account. They will see these services' self-report results and "
                  "nothing else.")

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sites"].queryset = sites
        self.fields["sites"].label_from_instance = lambda site: f"{site} ({site.code})"

    def clean_members(self):
        emails, seen = [], set()
        for email in EMAIL_SEPARATORS.split(self.cleaned_data.get("members", "")):
            if not email:
                continue
            try:
                forms.EmailField().clean(email)
            except ValidationError:
                raise ValidationError(f"“{email[:100]}” is not an email address. Enter "
                                      "one address on each line.") from None
            if email.lower() not in seen:
                seen.add(email.lower())
                emails.append(email)
        return emails
