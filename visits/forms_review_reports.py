"""Forms for a review report's distribution list and its publication."""

from django import forms

from ilcop.concurrency import VersionedFormMixin
from ilcop.forms import PlainErrorMessagesMixin

from .models import PeerReview, ReportRecipient


class RecipientForm(PlainErrorMessagesMixin, forms.Form):
    role = forms.ChoiceField(label="Their role", choices=ReportRecipient.Role.choices,
                             widget=forms.RadioSelect,
                             error_messages={"required": "Choose the person's role"})
    full_name = forms.CharField(label="Full name", max_length=150,
                                error_messages={"required": "Enter the person's full name"})
    email = forms.EmailField(
        label="Work email address", max_length=254,
        help_text="The report is emailed here as a PDF. Someone without an account here is "
                  "not asked to make one.",
        error_messages={"required": "Enter the person's email address",
                        "invalid": "Enter an email address like name@nhs.net"})


class PublishedEvidenceForm(VersionedFormMixin, PlainErrorMessagesMixin, forms.Form):
    published_evidence = forms.CharField(
        label="Evidence, as published", max_length=10000, widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Leave out anyone's name, and anything else that could identify a patient "
                  "or a member of staff",
        error_messages={"required": "Enter the evidence as it should be published, without "
                                    "anyone's name"})


class RedactionApproveForm(PlainErrorMessagesMixin, forms.Form):
    # The preview the approver read (visits.report.draft_fingerprint).
    draft = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)


class VisibilityForm(PlainErrorMessagesMixin, forms.Form):
    visibility = forms.ChoiceField(label="Who may read the published report?",
                                   choices=PeerReview.Visibility.choices,
                                   widget=forms.RadioSelect,
                                   error_messages={"required": "Choose who may read the report"})
