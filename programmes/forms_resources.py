from django import forms
from django.core.exceptions import ValidationError

from ilcop.forms import PlainErrorMessagesMixin
from ilcop.uploads import ACCEPT_ATTRIBUTE, ACCEPTED_DESCRIPTION, MAX_UPLOAD_BYTES, validate_upload

from .models import Programme, Resource, ResourceTopic
from .services.resources import topic_names


class ResourceForm(PlainErrorMessagesMixin, forms.Form):
    """Adding or changing a library resource. Topics are typed, not picked, so the core team
    can tag with a new topic without a separate page; existing ones are matched whatever
    their case."""

    title = forms.CharField(label="Title", max_length=200)
    description = forms.CharField(
        required=False, label="Description", widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What it is for and when a team would use it")
    kind = forms.ChoiceField(label="Kind of resource", choices=Resource.Kind.choices,
                             widget=forms.RadioSelect)
    stages = forms.MultipleChoiceField(
        label="When does it help?", choices=Resource.Stage.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Select all that apply. Plan and visit pages suggest resources for the "
                  "stage a team is at.",
        error_messages={"required": "Select at least one stage the resource helps with"})
    topics = forms.CharField(
        required=False, max_length=500, label="Topics",
        help_text="Separate topics with commas, for example: Driver diagrams, Measures")
    file = forms.FileField(
        required=False, label="Upload a file",
        widget=forms.FileInput(attrs={"accept": ACCEPT_ATTRIBUTE}),
        help_text=f"{ACCEPTED_DESCRIPTION}, up to {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    link = forms.URLField(
        required=False, max_length=500, label="Or a link to a page on another website",
        assume_scheme="https",
        help_text="For example, https://www.england.nhs.uk/sustainableimprovement/")

    def __init__(self, *args, programme: Programme, resource: Resource | None = None,
                 **kwargs):
        if resource is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "title": resource.title, "description": resource.description,
                "kind": resource.kind, "link": resource.link,
                "stages": [s.value for s in Resource.Stage if getattr(resource, s.value)],
                "topics": ", ".join(t.name for t in resource.topics.all()),
            }
        super().__init__(*args, **kwargs)
        self.resource = resource
        existing = list(ResourceTopic.objects.filter(programme=programme)
                        .values_list("name", flat=True)[:30])
        if existing:
            self.fields["topics"].help_text = (
                "Separate topics with commas. Topics already in use: " + ", ".join(existing))
        if resource is not None and resource.file:
            self.fields["file"].label = "Replace the file"
            self.fields["file"].help_text = (
                f"Now: {resource.filename}. A new file replaces it. "
                + self.fields["file"].help_text)
            self.fields["remove_file"] = forms.BooleanField(
                required=False, label="Remove the file (keep the link only)")
        if "kind" not in self.initial:
            self.fields["kind"].initial = Resource.Kind.GUIDE

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload:
            validate_upload(upload)
        return upload or None

    def clean_topics(self):
        names = topic_names(self.cleaned_data.get("topics", ""))
        if len(names) > 10:
            raise ValidationError("Give no more than 10 topics")
        return ", ".join(names)

    def clean(self):
        cleaned = super().clean()
        upload, link = cleaned.get("file"), cleaned.get("link")
        keeps_file = (self.resource is not None and bool(self.resource.file)
                      and not cleaned.get("remove_file"))
        if not upload and not link and not keeps_file and "file" not in self.errors \
                and "link" not in self.errors:
            self.add_error("file", "Upload a file or give a link: a resource needs at least "
                                   "one")
        return cleaned
