"""Forms for the programme directory and the role groups."""

import re

from django import forms

from ilcop.forms import PlainErrorMessagesMixin

from .models import DirectoryListing, SiteMembership

PHONE_CHARACTERS = re.compile(r"^[0-9 +()]+$")
# Loose on purpose: UK numbers have 10 or 11 digits, but switchboard extensions and
# international numbers go either side, so anything from 7 to 20 digits is let through.
PHONE_DIGITS = (7, 20)


class DirectoryListingForm(PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = DirectoryListing
        fields = ["listed", "job_title", "show_email", "phone", "show_phone", "interests"]
        labels = {"listed": "List me in the programme directory"}
        widgets = {"interests": forms.Textarea(attrs={"rows": 4}),
                   "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
                   "job_title": forms.TextInput(attrs={"autocomplete": "organization-title"})}
        help_texts = {
            "job_title": "For example, Lung cancer CNS or Lead MDT coordinator",
            "phone": "For example, 0161 234 5678 or +44 (0)161 234 5678",
            "show_email": "The email address you sign in with",
        }

    def clean_phone(self) -> str:
        text = " ".join(self.cleaned_data.get("phone", "").split())
        if not text:
            return ""
        digits = sum(c.isdigit() for c in text)
        if not PHONE_CHARACTERS.match(text) or not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]:
            raise forms.ValidationError(
                "Enter a phone number using digits, spaces, + and brackets only, with between "
                "7 and 20 digits, like 0161 234 5678")
        return text

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("show_phone") and not cleaned.get("phone") and "phone" not in self.errors:
            self.add_error("phone", "Enter your work phone number, or untick "
                                    "“Show my work phone number”")
        return cleaned


class GroupMessageForm(PlainErrorMessagesMixin, forms.Form):
    roles = forms.MultipleChoiceField(
        label="Who should get it", choices=SiteMembership.Role.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Everyone in these roles at the programme's participating sites",
        error_messages={"required": "Select at least one role group"})
    subject = forms.CharField(label="Subject", max_length=150)
    body = forms.CharField(
        label="Message", widget=forms.Textarea(attrs={"rows": 10}),
        help_text="Plain text. Leave a blank line between paragraphs; web addresses become "
                  "links.",
        error_messages={"required": "Enter the message"})
    essential = forms.BooleanField(
        required=False, label="Essential: send to everyone, even those who have opted out",
        help_text="Only for what everyone in the group must read whatever they chose, such as "
                  "a change to the programme's dates or a safety notice. An essential email "
                  "has no unsubscribe link.")

    def clean_subject(self) -> str:
        # One line: an email subject is a header.
        subject = " ".join(self.cleaned_data["subject"].split())
        if not subject:
            raise forms.ValidationError("Enter the subject")
        return subject
