"""Forms for surveillance decisions and the reviewer pool (one-way review programmes)."""

from django import forms
from django.core.exceptions import ValidationError

from ilcop.concurrency import VersionedFormMixin
from ilcop.forms import PlainErrorMessagesMixin

from .models import (
    ConflictOfInterest,
    Organisation,
    Region,
    Reviewer,
    RiskLevel,
    SurveillanceDecision,
)

ACTIONS = (("routine", "Routine surveillance"),
           ("enhanced", "Enhanced surveillance"),
           ("peer_review", "Peer review"))


class DecisionForm(PlainErrorMessagesMixin, VersionedFormMixin, forms.Form):
    actions = forms.MultipleChoiceField(
        label="What happens next", choices=ACTIONS, widget=forms.CheckboxSelectMultiple,
        help_text="Select all that apply",
        error_messages={"required": "Choose at least one action: routine surveillance, "
                                    "enhanced surveillance or peer review"})
    enhanced_by = forms.ChoiceField(
        label="Who carries out the enhanced surveillance?", required=False,
        choices=SurveillanceDecision.EnhancedBy.choices, widget=forms.RadioSelect,
        help_text="Only for enhanced surveillance")
    enhanced_action = forms.CharField(
        label="What the enhanced surveillance involves", required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example, monthly data on time to MDT discussion sent to the commissioner")
    risk_level = forms.ChoiceField(label="Risk level", choices=RiskLevel.choices,
                                   widget=forms.RadioSelect,
                                   error_messages={"required": "Choose the risk level: low, "
                                                               "medium or high"})
    agreed_with_provider = forms.BooleanField(label="Risk level agreed with the provider",
                                              required=False)
    agreed_with_commissioner = forms.BooleanField(
        label="Risk level agreed with the commissioner", required=False)
    rationale = forms.CharField(label="Reasons for the decision", max_length=5000,
                                widget=forms.Textarea(attrs={"rows": 5}),
                                error_messages={"required": "Give the reasons for the decision"})

    @classmethod
    def initial_for(cls, decision: SurveillanceDecision | None) -> dict:
        if decision is None:
            return {"version": 0}
        return {"actions": [name for name, _ in ACTIONS if getattr(decision, name)],
                "enhanced_by": decision.enhanced_by,
                "enhanced_action": decision.enhanced_action,
                "risk_level": decision.risk_level,
                "agreed_with_provider": decision.agreed_with_provider,
                "agreed_with_commissioner": decision.agreed_with_commissioner,
                "rationale": decision.rationale, "version": decision.version}

    def clean(self):
        cleaned = super().clean()
        if "enhanced" in cleaned.get("actions", []):
            if not cleaned.get("enhanced_by"):
                self.add_error("enhanced_by", "Say who carries out the enhanced surveillance: "
                                              "the provider, the commissioner or both")
            if not (cleaned.get("enhanced_action") or "").strip():
                self.add_error("enhanced_action", "Say what the enhanced surveillance involves")
        return cleaned

    def service_arguments(self) -> dict:
        """The form as decision_record's keyword arguments."""
        data = self.cleaned_data
        chosen = set(data["actions"])
        return {"routine": "routine" in chosen, "enhanced": "enhanced" in chosen,
                "peer_review": "peer_review" in chosen,
                "enhanced_by": data.get("enhanced_by") or "",
                "enhanced_action": data.get("enhanced_action") or "",
                "risk_level": data["risk_level"],
                "agreed_with_provider": data["agreed_with_provider"],
                "agreed_with_commissioner": data["agreed_with_commissioner"],
                "rationale": data["rationale"], "version": self.edited_version()}


class ReviewerForm(PlainErrorMessagesMixin, forms.Form):
    """A reviewer's details in the pool."""

    is_patient_reviewer = forms.TypedChoiceField(
        label="Kind of reviewer", choices=(("no", "Clinical peer"), ("yes", "Patient reviewer")),
        coerce=lambda value: value == "yes", widget=forms.RadioSelect, initial="no")
    profession = forms.ChoiceField(
        label="Profession", required=False,
        choices=[("", "Choose a profession")] + list(Reviewer.Profession.choices),
        help_text="Required for a clinical peer; leave it for a patient reviewer")
    expertise = forms.CharField(label="Expertise", required=False, max_length=300,
                                help_text="For example, thoracic surgery, MDT coordination")
    region = forms.ChoiceField(label="Region", choices=[("", "Choose a region")]
                               + list(Region.choices))
    organisation = forms.ModelChoiceField(
        label="Organisation they work for", required=False,
        queryset=Organisation.objects.order_by("name"), empty_label="None (or not known)",
        help_text="A reviewer never reviews their own organisation or one in its network. "
                  "Patient reviewers usually have none.")
    training_completed_on = forms.DateField(
        label="Reviewer training completed on", required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave blank until they have completed it: untrained reviewers cannot join "
                  "a review team")
    active = forms.BooleanField(label="Active in the pool", required=False, initial=True)

    @classmethod
    def initial_for(cls, reviewer: Reviewer) -> dict:
        return {"is_patient_reviewer": "yes" if reviewer.is_patient_reviewer else "no",
                "profession": reviewer.profession, "expertise": reviewer.expertise,
                "region": reviewer.region, "organisation": reviewer.organisation_id,
                "training_completed_on": reviewer.training_completed_on,
                "active": reviewer.active}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("is_patient_reviewer") is False and not cleaned.get("profession"):
            self.add_error("profession", "Choose the reviewer's profession, or say they are a "
                                         "patient reviewer")
        return cleaned

    def details(self) -> dict:
        data = self.cleaned_data
        return {name: data[name] for name in ("is_patient_reviewer", "profession", "expertise",
                                              "region", "organisation",
                                              "training_completed_on", "active")}


class ReviewerAddForm(ReviewerForm):
    full_name = forms.CharField(label="Full name", max_length=150)
    email = forms.EmailField(label="Work email address", max_length=254,
                             help_text="If they already have an account, it is used")
    field_order = ["full_name", "email"]

    def clean_full_name(self):
        name = self.cleaned_data["full_name"].strip()
        if not name:
            raise ValidationError("Enter the reviewer's full name")
        return name


class ConflictForm(PlainErrorMessagesMixin, forms.Form):
    organisation = forms.ModelChoiceField(
        label="Organisation", queryset=Organisation.objects.order_by("name"),
        empty_label="Choose an organisation",
        error_messages={"required": "Choose the organisation the conflict is with"})
    description = forms.CharField(
        label="What the conflict is", max_length=300,
        help_text="For example, worked there until 2024, or a family member works in the "
                  "service",
        error_messages={"required": "Say what the conflict of interest is"})

    def __init__(self, *args, reviewer: Reviewer | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.reviewer = reviewer

    def clean(self):
        cleaned = super().clean()
        organisation = cleaned.get("organisation")
        if (self.reviewer is not None and organisation is not None
                and ConflictOfInterest.objects.filter(reviewer=self.reviewer,
                                                      organisation=organisation).exists()):
            self.add_error("organisation", f"A conflict with {organisation} is already "
                                           "declared")
        return cleaned


class MyConflictForm(ConflictForm):
    """A reviewer declaring a conflict themselves: which pool, when they are in more than
    one."""

    reviewer = forms.ModelChoiceField(label="Reviewer pool", queryset=Reviewer.objects.none(),
                                      empty_label=None)
    field_order = ["reviewer", "organisation", "description"]

    def __init__(self, *args, reviewers, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["reviewer"]
        field.queryset = reviewers.select_related("programme")
        field.label_from_instance = lambda reviewer: reviewer.programme.name
        rows = list(field.queryset)
        if len(rows) == 1:
            field.widget = forms.HiddenInput()
            field.initial = rows[0].pk

    def clean(self):
        self.reviewer = self.cleaned_data.get("reviewer")
        return super().clean()
