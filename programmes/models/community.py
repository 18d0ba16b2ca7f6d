"""Learning together (PRODUCT.md, 6): the programme directory, role groups and the resource
library.

Who counts as a participant of a programme is decided once, in
`programmes.selectors.participants`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from ilcop.uploads import resource_path

from .core import Programme, SiteMembership


class DirectoryListing(models.Model):
    """What a person chooses to show in the directories of the programmes they take part in.

    Nobody is listed until they say so (UK GDPR Article 25, data protection by default), and
    each contact detail is shown only if they ticked it.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="directory_listing")
    listed = models.BooleanField("list me in the directory", default=False)
    job_title = models.CharField(max_length=150, blank=True)
    show_email = models.BooleanField("show my email address", default=False)
    phone = models.CharField("work phone number", max_length=40, blank=True)
    show_phone = models.BooleanField("show my work phone number", default=False)
    interests = models.TextField(
        "what you are happy to talk to peers about", blank=True,
        help_text="For example, how we set up our CNS-led follow-up clinic")
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Directory listing for {self.user}"


class GroupMessage(models.Model):
    """An email from the core team to one or more role groups of a programme (all its CNSs,
    all its MDT coordinators...). Each person is sent it once, through the notifications
    ledger, which is also the record of who it reached."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE,
                                  related_name="group_messages")
    roles = models.JSONField(default=list)  # SiteMembership.Role values
    subject = models.CharField(max_length=150)
    body = models.TextField()
    # False for what everyone in the group must read whatever they chose (a change to the
    # programme, a safety notice); such a message carries no unsubscribe link.
    can_unsubscribe = models.BooleanField(default=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                related_name="+")
    sent_at = models.DateTimeField(default=timezone.now)
    recipient_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return self.subject


class RoleGroupOptOut(models.Model):
    """Someone who asked not to get a programme's optional emails to one of their role
    groups. Essential messages still reach them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="role_group_opt_outs")
    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=20, choices=SiteMembership.Role.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "programme", "role"],
                                    name="one_opt_out_per_role_group"),
        ]

    def __str__(self) -> str:
        return f"{self.user} left {self.get_role_display()} emails"


class ResourceTopic(models.Model):
    programme = models.ForeignKey(Programme, on_delete=models.CASCADE,
                                  related_name="resource_topics")
    name = models.CharField(max_length=80)

    class Meta:
        ordering = [Lower("name")]
        constraints = [
            models.UniqueConstraint(Lower("name"), "programme",
                                    name="one_topic_name_per_programme"),
        ]

    def __str__(self) -> str:
        return self.name


class Resource(models.Model):
    """A QI guide, template or sustainability resource in a programme's library: a file the
    core team uploaded, a link to one published elsewhere, or (good practice from a one-way
    review) text."""

    class Kind(models.TextChoices):
        GUIDE = "guide", "Guide"
        TEMPLATE = "template", "Template"
        TOOL = "tool", "Tool or worksheet"
        EXAMPLE = "example", "Example from a team"
        READING = "reading", "Further reading"

    # The three stages of a team's year that the library prompts at (issue 11): getting ready
    # for the visit, turning it into plans, and keeping the change going.
    class Stage(models.TextChoices):
        BEFORE_VISIT = "before_visit", "Before the visit"
        AFTER_VISIT = "after_visit", "After the visit"
        SUSTAINING = "sustaining", "Sustaining the change"

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="resources")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.GUIDE)
    # Booleans, not a list, so "resources for this stage" is an indexed filter everywhere.
    before_visit = models.BooleanField("before the visit", default=False)
    after_visit = models.BooleanField("after the visit", default=False)
    sustaining = models.BooleanField("sustaining the change", default=False)
    topics = models.ManyToManyField(ResourceTopic, blank=True, related_name="resources")
    file = models.FileField(upload_to=resource_path, blank=True, max_length=200)
    filename = models.CharField(max_length=200, blank=True)
    size = models.PositiveIntegerField(default=0)
    link = models.URLField(max_length=500, blank=True)
    # Good practice found in a one-way review (issue 12) is shared as text: what the service
    # does, written without identifying anyone (visits.StandardFinding.library_resource).
    body = models.TextField("what the good practice is", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(condition=~Q(file="") | ~Q(link="") | ~Q(body=""),
                                   name="resource_has_file_link_or_text"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def stages(self) -> list[str]:
        return [stage.label for stage in self.Stage if getattr(self, stage.value)]
