"""Forms for the patient survey: setting it up, answering it, and reviewing comments."""

import datetime
import re
import uuid

from django import forms

from ilcop.forms import PlainErrorMessagesMixin

from .forms import DATE_WIDGET, SiteImportForm
from .models import Survey, SurveyQuestion
from .services.survey import MAX_COMMENT_LENGTH


class SurveySettingsForm(PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = Survey
        fields = ["title", "introduction", "closes_on", "low_numbers_below", "suppress_below"]
        widgets = {"closes_on": DATE_WIDGET,
                   "introduction": forms.Textarea(attrs={"rows": 4})}

    def clean(self):
        cleaned = super().clean()
        warn, suppress = cleaned.get("low_numbers_below"), cleaned.get("suppress_below")
        if warn is not None and suppress is not None and suppress > warn:
            self.add_error("suppress_below", "The number to hide results below must be the "
                           "same as or smaller than the number to warn below")
        return cleaned


class SurveyQuestionForm(PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = SurveyQuestion
        fields = ["code", "text", "hint", "kind", "scale", "order"]
        widgets = {"kind": forms.RadioSelect, "text": forms.Textarea(attrs={"rows": 2})}
        labels = {"code": "Short code", "text": "Question", "scale": "Answers offered",
                  "order": "Position in the survey"}
        help_texts = {
            "code": "Capital letters, digits and underscores, such as NURSE. It is the "
                    "question's column in a paper-results spreadsheet",
            "hint": "Optional guidance shown under the question",
            "scale": "For rating questions only",
        }

    def __init__(self, *args, survey: Survey, **kwargs):
        super().__init__(*args, **kwargs)
        self.survey = survey
        self.fields["scale"].required = False

    def clean_code(self):
        code = self.cleaned_data["code"].strip().upper()
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", code):
            raise forms.ValidationError("The short code must start with a letter and use "
                                        "only capital letters, digits and underscores")
        taken = self.survey.questions.filter(code=code).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(f"Another question already uses the code {code}")
        return code

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == SurveyQuestion.Kind.RATING and not cleaned.get("scale"):
            self.add_error("scale", "Select the answers a rating question offers")
        return cleaned


class SurveyResponseForm(forms.Form):
    """One patient's answers. Every question is optional, as on the paper form; a form with
    no answers at all is refused."""

    submission_key = forms.CharField(widget=forms.HiddenInput, required=False)
    # A honeypot: hidden from people (and from screen readers), filled in by form-filling bots.
    website = forms.CharField(required=False, label="Leave this empty")

    def __init__(self, *args, questions: list[SurveyQuestion], **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("submission_key", uuid.uuid4())
        self.questions = questions
        self.fields["website"].widget.attrs.update(
            {"autocomplete": "off", "tabindex": "-1"})
        for number, question in enumerate(questions, start=1):
            label = f"{number}. {question.text}"
            if question.is_rating:
                field = forms.ChoiceField(label=label, required=False,
                                          choices=question.scale_definition.options,
                                          widget=forms.RadioSelect, help_text=question.hint)
            else:
                field = forms.CharField(label=label, required=False,
                                        max_length=MAX_COMMENT_LENGTH, help_text=question.hint,
                                        widget=forms.Textarea(attrs={"rows": 4}))
                field.error_messages["max_length"] = (
                    f"The answer to question {number} must be {MAX_COMMENT_LENGTH:,} "
                    "characters or fewer")
            self.fields[self.field_name(question)] = field

    def clean_submission_key(self) -> uuid.UUID:
        """The key sent with the form; a missing or damaged one (an old cached page, a
        tampered form) gets a fresh key rather than an error a patient cannot fix."""
        try:
            return uuid.UUID(self.cleaned_data.get("submission_key") or "")
        except ValueError:
            return uuid.uuid4()

    @staticmethod
    def field_name(question: SurveyQuestion) -> str:
        return f"q{question.pk}"

    def question_fields(self):
        return [self[self.field_name(q)] for q in self.questions]

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))

    def answers(self) -> dict[int, str]:
        return {q.pk: self.cleaned_data.get(self.field_name(q)) or "" for q in self.questions}

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not any(v.strip() for v in self.answers().values()):
            raise forms.ValidationError("Answer at least one question before sending")
        return cleaned


class PaperResponseForm(PlainErrorMessagesMixin, SurveyResponseForm):
    received_on = forms.DateField(label="Date the form was completed", required=False,
                                  widget=DATE_WIDGET,
                                  help_text="If the form is dated. Leave empty for today")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["website"]

    @property
    def is_bot(self) -> bool:
        return False

    def clean_received_on(self):
        day = self.cleaned_data["received_on"]
        if day and day > datetime.date.today():  # noqa: DTZ011 - a calendar date
            raise forms.ValidationError("The date the form was completed cannot be in the "
                                        "future")
        if day and day.year < 2000:
            raise forms.ValidationError("Check the year the form was completed")
        return day


class SurveyImportForm(SiteImportForm):
    file = forms.FileField(
        label="Upload a CSV file or Excel workbook",
        help_text="One row for each completed paper form. The first row must be the column "
                  "names.",
    )


class CommentReviewForm(PlainErrorMessagesMixin, forms.Form):
    decision = forms.ChoiceField(
        label="What should the teams see?", widget=forms.RadioSelect,
        choices=[("share", "Share the comment as written below"),
                 ("withhold", "Withhold it: the teams will not see it")],
        error_messages={"required": "Choose whether to share the comment or withhold it"})
    shared_text = forms.CharField(
        label="The comment as the teams will see it", required=False,
        widget=forms.Textarea(attrs={"rows": 5}), max_length=MAX_COMMENT_LENGTH,
        help_text="Take out names, dates, places and anything else that could identify a "
                  "patient, their family or a member of staff. Write [removed] where you "
                  "take something out.")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == "share" and not cleaned.get("shared_text", "").strip():
            self.add_error("shared_text", "Enter the comment as the teams will see it")
        return cleaned
