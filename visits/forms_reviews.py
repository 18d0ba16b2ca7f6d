"""Forms for setting up a one-way peer review (visits.views_reviews)."""

from django import forms

from ilcop.concurrency import VersionedFormMixin
from ilcop.forms import PlainErrorMessagesMixin
from ilcop.uploads import ACCEPT_ATTRIBUTE, ACCEPTED_DESCRIPTION, MAX_UPLOAD_BYTES
from programmes.models import Reviewer, Site

from .models import LineOfEnquiry, PeerReview


class ReviewCreateForm(PlainErrorMessagesMixin, forms.Form):
    # Not required: the decision's page posts a bare "Set up the peer review" button, which
    # sets up a one-day review (the format can be chosen on this page instead).
    format = forms.ChoiceField(
        label="What kind of review is it?", choices=PeerReview.Format.choices,
        initial=PeerReview.Format.ONE_DAY, widget=forms.RadioSelect, required=False,
        help_text="A deep dive spreads the review over several shorter visits")


class ReviewerChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, reviewer: Reviewer) -> str:
        return str(reviewer.user)


class ReviewTeamForm(PlainErrorMessagesMixin, forms.Form):
    """The page draws the reviewers as a table of checkboxes with their details; the fields
    here are what it posts."""

    reviewers = ReviewerChoiceField(label="Reviewers", queryset=Reviewer.objects.none(),
                                    widget=forms.CheckboxSelectMultiple,
                                    error_messages={"required": "Choose at least one reviewer"})
    lead = forms.ModelChoiceField(label="Lead reviewer", queryset=Reviewer.objects.none(),
                                  widget=forms.RadioSelect,
                                  error_messages={"required": "Choose the lead reviewer"})
    mix_reason = forms.CharField(
        label="If the team is short of clinical peers or patient reviewers, say why it should "
              "go ahead", required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, reviewers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewers"].queryset = reviewers
        self.fields["lead"].queryset = reviewers


class LineOfEnquiryForm(PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = LineOfEnquiry
        fields = ["text", "standard"]
        widgets = {"text": forms.Textarea(attrs={"rows": 3})}
        labels = {"text": "Line of enquiry", "standard": "Standard it relates to (optional)"}
        help_texts = {"text": "A question the reviewers will explore with you, for example "
                              "\u201cHow are late referrals discussed?\u201d"}

    def __init__(self, *args, standards, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["text"].max_length = 2000
        self.fields["text"].widget.attrs["maxlength"] = 2000
        self.fields["standard"].queryset = standards
        self.fields["standard"].empty_label = "No particular standard"


class ReviewDocumentForm(PlainErrorMessagesMixin, forms.Form):
    title = forms.CharField(label="Title", max_length=200,
                            help_text="What the reviewers will see, for example "
                                      "\u201cMDT operational policy\u201d")
    file = forms.FileField(
        label="File", max_length=200,
        help_text=f"{ACCEPTED_DESCRIPTION}, smaller than {MAX_UPLOAD_BYTES // (1024 * 1024)} "
                  "MB",
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT_ATTRIBUTE}),
        error_messages={"required": "Choose the file to upload"})


class SiteChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, site: Site) -> str:
        return str(site)


class PreviousContactForm(VersionedFormMixin, PlainErrorMessagesMixin, forms.Form):
    site = SiteChoiceField(label="A service reviewed before who has agreed to talk",
                           queryset=Site.objects.none(), required=False,
                           empty_label="Nobody yet")
    details = forms.CharField(
        label="How to contact them", required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only with their agreement: a name, a role and a work email or phone")

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites

