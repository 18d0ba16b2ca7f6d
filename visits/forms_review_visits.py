"""Forms for a review's visits and its findings (visits.views_review_visits)."""

from django import forms

from ilcop.concurrency import VersionedFormMixin
from ilcop.forms import PlainErrorMessagesMixin
from ilcop.models import User
from programmes.models import CoreTeamMembership, Programme

from .models import StandardFinding
from .services.review_visits import finding_problems

TEXT_LIMIT = 5000


class ReviewVisitAddForm(PlainErrorMessagesMixin, forms.Form):
    virtual = forms.BooleanField(label="Held online", required=False,
                                 help_text="The reviewers join by video call")
    facilitator = forms.ModelChoiceField(
        label="Facilitator (optional)", queryset=User.objects.none(), required=False,
        empty_label="Choose later",
        help_text="Needed before you ask people which dates they can make")

    def __init__(self, *args, programme: Programme, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facilitator"].queryset = User.objects.filter(
            core_memberships__programme=programme,
            core_memberships__role=CoreTeamMembership.Role.QI_FACILITATOR).order_by(
            "full_name", "pk")


def _text(label: str, *, required: bool, help_text: str = "", rows: int = 4) -> forms.CharField:
    return forms.CharField(label=label, required=required, max_length=TEXT_LIMIT,
                           help_text=help_text,
                           widget=forms.Textarea(attrs={"rows": rows,
                                                        "maxlength": TEXT_LIMIT}))


class FindingForm(VersionedFormMixin, PlainErrorMessagesMixin, forms.Form):
    rating = forms.ChoiceField(
        label="Is the standard met?", choices=StandardFinding.Rating.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose whether the standard is met, partly met or not "
                                    "met"})
    evidence = _text("Evidence seen", required=True,
                     help_text="What the review team saw, heard or read that shows it. Leave "
                               "out patients' names and anything that identifies them")
    recommendation = _text("How the service could improve", required=False,
                           help_text="Needed when the standard is partly met or not met: "
                                     "what to do next, not just what is missing")
    good_practice = _text("Good practice others could learn from (optional)", required=False,
                          rows=3)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["evidence"].error_messages["required"] = \
            "Enter the evidence the review team saw"

    def clean(self):
        cleaned = super().clean()
        problems = finding_problems(rating=cleaned.get("rating", ""),
                                    evidence=cleaned.get("evidence") or "",
                                    recommendation=cleaned.get("recommendation") or "")
        for name, message in problems.items():
            if name not in self.errors:  # one message a field, the field's own first
                self.add_error(name, message)
        return cleaned
