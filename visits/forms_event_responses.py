"""Forms for replying to an event, recording who came, and adding slides or a document."""

import re

from django import forms

from ilcop.forms import PlainErrorMessagesMixin
from ilcop.uploads import (
    ACCEPT_ATTRIBUTE,
    ACCEPTED_DESCRIPTION,
    MAX_UPLOAD_BYTES,
    validate_upload,
)
from programmes.selectors.participants import audience_role_label

from .models import EventInvitation


class EventReplyForm(forms.Form):
    response = forms.ChoiceField(
        choices=[(EventInvitation.Response.ATTENDING, "Coming"),
                 (EventInvitation.Response.NOT_ATTENDING, "Not coming")],
        error_messages={"required": "Choose whether you are coming",
                        "invalid_choice": "Choose whether you are coming"})


class EventAttendanceForm(forms.Form):
    """A checkbox for each invitee. ``shown`` carries the invitations the page listed, so
    someone invited after the page was opened is not marked absent by this save."""

    shown = forms.CharField(widget=forms.HiddenInput, required=False, max_length=20_000)

    def __init__(self, *args, invitations: list[EventInvitation], **kwargs):
        super().__init__(*args, **kwargs)
        self.invitations = invitations
        self.fields["shown"].initial = " ".join(str(i.pk) for i in invitations)
        for invitation in invitations:
            where = invitation.site.name if invitation.site_id else "core team"
            self.fields[f"came-{invitation.pk}"] = forms.BooleanField(
                label=str(invitation.user), required=False,
                initial=bool(invitation.attended),
                help_text=f"{audience_role_label(invitation.role)}, {where}. "
                          f"Reply: {invitation.get_response_display()}")

    def came(self) -> list[int]:
        return [i.pk for i in self.invitations if self.cleaned_data.get(f"came-{i.pk}")]

    def shown_ids(self) -> list[int] | None:
        text = self.cleaned_data.get("shown") or ""
        ids = [int(n) for n in re.findall(r"\b[0-9]{1,18}\b", text)]
        return ids or None


class EventMaterialForm(PlainErrorMessagesMixin, forms.Form):
    title = forms.CharField(
        label="Title", max_length=200,
        help_text="What people will see in the list, such as “Lessons from CNS-led "
                  "follow-up clinics (slides)”",
        error_messages={"required": "Enter a title for the slides or document"})
    file = forms.FileField(
        label="Upload a file",
        help_text=f"{ACCEPTED_DESCRIPTION}, up to {MAX_UPLOAD_BYTES // (1024 * 1024)} MB",
        widget=forms.FileInput(attrs={"accept": ACCEPT_ATTRIBUTE}),
        error_messages={"required": "Select the file to upload",
                        "empty": "The selected file is empty. Choose the file again."})

    def clean_file(self):
        file = self.cleaned_data["file"]
        validate_upload(file)
        return file
