"""The patient experience survey: a programme's questions, each site's collection, and the
answers patients give online or on paper.

Nothing here identifies a patient: a response stores the day it arrived (not the time), how
it arrived, and the answers. No IP address, no cookie, no account.
"""

import secrets
import uuid

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from ..survey import FREE_TEXT, RATING, SCALE_CHOICES, SCALES
from .core import Programme, Site

# Letters and digits that cannot be mistaken for one another when typed from a poster.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_collection_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


class Survey(models.Model):
    """A programme's patient experience survey: one instrument, used at every site."""

    programme = models.OneToOneField(Programme, on_delete=models.CASCADE, related_name="survey")
    title = models.CharField(max_length=200, default="Your experience of lung cancer care")
    introduction = models.TextField(
        blank=True,
        help_text="Shown to patients above the questions: who is asking, why, and that the "
                  "survey is anonymous",
    )
    closes_on = models.DateField(
        "closing date", null=True, blank=True,
        help_text="The last day patients can answer online. Leave empty to keep it open",
    )
    low_numbers_below = models.PositiveSmallIntegerField(
        "warn below this many answers", default=10, validators=[MinValueValidator(1)],
        help_text="A question answered by fewer patients is shown with a low-numbers warning",
    )
    suppress_below = models.PositiveSmallIntegerField(
        "hide results below this many answers", default=5,
        # Below 3, one patient's answer could be worked out from a result and their own.
        validators=[MinValueValidator(3)],
        help_text="A question answered by fewer patients shows only how many answered, so "
                  "that no patient can be recognised",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(suppress_below__lte=F("low_numbers_below")),
                                   name="survey_suppression_below_warning"),
        ]

    def __str__(self) -> str:
        return self.title

    def is_open_on(self, day) -> bool:
        return self.closes_on is None or day <= self.closes_on


class SurveyQuestion(models.Model):
    class Kind(models.TextChoices):
        RATING = RATING, "Rating (choose one answer)"
        FREE_TEXT = FREE_TEXT, "Free text (a comment)"

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    # The column name in a paper-results CSV, so it is short and stable.
    code = models.CharField(max_length=30)
    text = models.CharField(max_length=300)
    hint = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    scale = models.CharField(max_length=20, choices=SCALE_CHOICES, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "code"], name="survey_question_code_unique"),
            models.CheckConstraint(
                condition=(Q(kind=RATING, scale__in=list(SCALES))
                           | Q(kind=FREE_TEXT, scale="")),
                name="rating_questions_have_a_scale",
            ),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def is_rating(self) -> bool:
        return self.kind == RATING

    @property
    def scale_definition(self):
        return SCALES.get(self.scale)


class SurveyCollection(models.Model):
    """One site's collection of responses. Its code makes the public link on the poster."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="collections")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="survey_collections")
    code = models.CharField(max_length=12, unique=True, default=new_collection_code)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["survey", "site"], name="one_collection_per_site"),
        ]

    def __str__(self) -> str:
        return f"{self.survey} at {self.site}"


class SurveyResponse(models.Model):
    class Mode(models.TextChoices):
        ONLINE = "online", "Online"
        PAPER = "paper", "Paper"

    collection = models.ForeignKey(SurveyCollection, on_delete=models.CASCADE,
                                   related_name="responses")
    mode = models.CharField(max_length=10, choices=Mode.choices)
    # The day only: a time of day could single out a patient seen in a particular clinic.
    received_on = models.DateField(default=timezone.localdate)
    # Drawn when the form is shown and sent back with it, so a double-submitted form (a
    # double tap, a resubmission after a dropped connection) is stored once.
    submission_key = models.UUIDField(default=uuid.uuid4)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["received_on", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "submission_key"],
                                    name="survey_response_submitted_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} response of {self.received_on:%d %b %Y}"


class SurveyAnswer(models.Model):
    """One answer: a scale option for a rating question, text for a free-text one.

    A comment's own words are seen by the core team only. The teams see ``shared_text``:
    what the core team released after taking out anything that could identify someone.
    """

    class Review(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        SHARED = "shared", "Shared with the teams"
        WITHHELD = "withheld", "Withheld"

    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE,
                                 related_name="answers")
    # Questions with answers cannot be deleted (services.survey); the cascade is for deleting
    # a whole programme.
    question = models.ForeignKey(SurveyQuestion, on_delete=models.CASCADE,
                                 related_name="answers")
    choice = models.CharField(max_length=30, blank=True)
    text = models.TextField(blank=True)
    review = models.CharField(max_length=10, choices=Review.choices, blank=True)
    shared_text = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "question"],
                                    name="one_answer_per_question"),
        ]

    def __str__(self) -> str:
        return f"Answer to {self.question.code}"
