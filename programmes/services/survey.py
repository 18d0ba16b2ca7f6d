"""Setting up the patient survey, taking responses (online, on paper, or from a CSV of paper
forms) and reviewing comments before the teams see them."""

import datetime
import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.imports import FILE, ImportFailed, RowError, normalise_column, read_table
from ilcop.models import User
from ilcop.services import changed_summary, model_update

from .. import survey as stats
from ..models import (
    Programme,
    Site,
    Survey,
    SurveyAnswer,
    SurveyCollection,
    SurveyQuestion,
    SurveyResponse,
)

# Free text longer than this is cut: a comment box, not a place for documents.
MAX_COMMENT_LENGTH = 4000
RECEIVED_COLUMN = "date_completed"


class SurveyLocked(Exception):
    """The questions cannot change once patients have answered them."""


@transaction.atomic
def survey_create(*, programme: Programme, user: User) -> Survey:
    """The programme's survey with the default questions, ready to adapt."""
    survey = Survey.objects.create(
        programme=programme,
        introduction=(
            "Your lung cancer team is taking part in a quality improvement programme with "
            "another hospital's team. Please tell us about your care so far. The survey is "
            "anonymous: we do not ask for your name, and we do not record who you are."
        ),
    )
    SurveyQuestion.objects.bulk_create(
        SurveyQuestion(survey=survey, code=q.code, text=q.text, hint=q.hint, kind=q.kind,
                       scale=q.scale, order=number)
        for number, q in enumerate(stats.DEFAULT_QUESTIONS, start=1)
    )
    log_action(survey, "survey.created", actor=user, scopes=[programme],
               summary="Set up the patient experience survey")
    return survey


@transaction.atomic
def survey_update(*, survey: Survey, user: User, **fields) -> Survey:
    changed = model_update(instance=survey, data=fields)
    if changed:
        log_action(survey, "survey.updated", actor=user, scopes=[survey.programme],
                   summary=changed_summary(Survey, changed), data={"fields": changed})
    return survey


def survey_has_responses(survey: Survey) -> bool:
    return SurveyResponse.objects.filter(collection__survey=survey).exists()


@transaction.atomic
def question_save(*, survey: Survey, user: User, question: SurveyQuestion | None = None,
                  **fields) -> SurveyQuestion:
    # Changing a question that patients have answered would mix answers to two questions.
    Survey.objects.select_for_update().get(pk=survey.pk)
    if survey_has_responses(survey):
        raise SurveyLocked("Patients have already answered this survey, so its questions "
                           "cannot change.")
    if fields.get("kind") == stats.FREE_TEXT:
        fields["scale"] = ""
    if question is None:
        question = SurveyQuestion(survey=survey, **fields)
        question.full_clean()
        question.save()
        log_action(question, "survey.question_added", actor=user, scopes=[survey.programme],
                   summary=f"Added the question {question.code}")
        return question
    changed = model_update(instance=question, data=fields)
    if changed:
        log_action(question, "survey.question_changed", actor=user,
                   scopes=[survey.programme], summary=f"Changed the question {question.code}",
                   data={"fields": changed})
    return question


def collection_for(*, survey: Survey, site: Site) -> SurveyCollection:
    """The site's collection, made the first time anyone asks for it. Not logged: it is a
    link being given out, not a decision."""
    collection, _ = SurveyCollection.objects.get_or_create(survey=survey, site=site)
    return collection


def _answers(questions: list[SurveyQuestion], given: dict[int, str]) -> list[SurveyAnswer]:
    answers = []
    for question in questions:
        value = (given.get(question.pk) or "").strip()
        if not value:
            continue
        if question.is_rating:
            if question.scale_definition.code_for(value) != value:
                raise ValueError(f"{value!r} is not an answer to question {question.code}")
            answers.append(SurveyAnswer(question=question, choice=value))
        else:
            answers.append(SurveyAnswer(question=question, text=value[:MAX_COMMENT_LENGTH],
                                        review=SurveyAnswer.Review.PENDING))
    return answers


def response_submit(*, collection: SurveyCollection, answers: dict[int, str],
                    submission_key: uuid.UUID, mode: str, entered_by: User | None = None,
                    received_on: datetime.date | None = None) -> tuple[SurveyResponse, bool]:
    """Store one completed survey; (response, created).

    ``answers`` maps question id to the option code or the comment. Sending the same
    submission key again returns the response already stored, so a form submitted twice is
    counted once.
    """
    questions = list(collection.survey.questions.all())
    built = _answers(questions, answers)
    if not built:
        raise ValueError("A response needs at least one answer")
    try:
        with transaction.atomic():
            response = SurveyResponse.objects.create(
                collection=collection, mode=mode, submission_key=submission_key,
                entered_by=entered_by, received_on=received_on or timezone.localdate())
            for answer in built:
                answer.response = response
            SurveyAnswer.objects.bulk_create(built)
    except IntegrityError:
        existing = SurveyResponse.objects.filter(
            collection=collection, submission_key=submission_key).first()
        if existing is None:
            raise
        return existing, False
    return response, True


def paper_response_enter(*, collection: SurveyCollection, user: User, answers: dict[int, str],
                         submission_key: uuid.UUID,
                         received_on: datetime.date | None) -> tuple[SurveyResponse, bool]:
    response, created = response_submit(
        collection=collection, answers=answers, submission_key=submission_key,
        mode=SurveyResponse.Mode.PAPER, entered_by=user, received_on=received_on)
    if created:
        log_action(response, "survey.paper_entered", actor=user, scopes=[collection.site],
                   summary="Entered a paper survey response")
    return response, created


class _NotADate(ValueError):
    pass


def _received_on(text: str) -> datetime.date:
    # The last pattern is how a date cell of an Excel workbook reads as text.
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S"):
        try:
            day = datetime.datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a date only
        except ValueError:
            continue
        if day > timezone.localdate():
            raise _NotADate(f"{day:%-d %B %Y} is in the future.")
        if day.year < 2000:
            raise _NotADate(f"{day:%-d %B %Y} is too long ago; check the year.")
        return day
    raise _NotADate(f"“{text}” is not a date. Write it as 31/01/2026 or 2026-01-31.")


def import_columns(survey: Survey) -> list[str]:
    return [normalise_column(q.code) for q in survey.questions.all()]


@transaction.atomic
def survey_import(*, collection: SurveyCollection, user: User, uploaded) -> int:
    """Paper responses from a CSV or Excel file: one row per completed form, one column per
    question code, plus an optional date_completed. All or nothing."""
    questions = {normalise_column(q.code): q for q in collection.survey.questions.all()}
    rows = read_table(uploaded, required_columns=list(questions))
    errors: list[RowError] = []
    unknown = sorted({column for row in rows for column in row.cells}
                     - set(questions) - {RECEIVED_COLUMN})
    for column in unknown:
        errors.append(RowError(1, column, "is not one of the survey's question codes ("
                               + ", ".join(questions) + f") or {RECEIVED_COLUMN}."))
    parsed: list[tuple[dict[int, str], datetime.date | None]] = []
    for row in rows:
        answers: dict[int, str] = {}
        for column, question in questions.items():
            value = row.cells.get(column, "")
            if not value:
                continue
            if question.is_rating:
                scale = question.scale_definition
                code = scale.code_for(value)
                if code is None:
                    allowed = ", ".join(label for _, label in scale.options)
                    errors.append(RowError(row.number, column, f"“{value}” is not one of "
                                           f"this question's answers ({allowed}).",
                                           sheet=row.sheet))
                    continue
                answers[question.pk] = code
            elif len(value) > MAX_COMMENT_LENGTH:
                errors.append(RowError(row.number, column, f"is {len(value):,} characters; "
                                       f"the most a comment may be is {MAX_COMMENT_LENGTH:,}.",
                                       sheet=row.sheet))
            else:
                answers[question.pk] = value
        received = None
        if row.cells.get(RECEIVED_COLUMN):
            try:
                received = _received_on(row.cells[RECEIVED_COLUMN])
            except _NotADate as exc:
                errors.append(RowError(row.number, RECEIVED_COLUMN, str(exc), sheet=row.sheet))
        if not answers and not any(e.row == row.number for e in errors):
            errors.append(RowError(row.number, FILE, "has no answers. Remove the row, or "
                                   "fill in the answers from the paper form."))
        parsed.append((answers, received))
    if errors:
        raise ImportFailed(errors)
    for answers, received in parsed:
        response_submit(collection=collection, answers=answers, submission_key=uuid.uuid4(),
                        mode=SurveyResponse.Mode.PAPER, entered_by=user,
                        received_on=received)
    log_action(collection, "survey.imported", actor=user, scopes=[collection.site],
               summary=f"Imported {len(parsed)} paper survey response"
                       f"{'' if len(parsed) == 1 else 's'}",
               data={"responses": len(parsed)})
    return len(parsed)


@transaction.atomic
def comment_review(*, answer: SurveyAnswer, user: User, share: bool,
                   shared_text: str = "") -> SurveyAnswer:
    """Share a comment (as edited to take out names and other identifying details) or
    withhold it. The patient's own words stay as they were, for the core team only."""
    if share and not shared_text.strip():
        raise ValueError("Write the comment as the teams should see it, or withhold it")
    answer.review = SurveyAnswer.Review.SHARED if share else SurveyAnswer.Review.WITHHELD
    answer.shared_text = shared_text.strip() if share else ""
    answer.reviewed_by = user
    answer.reviewed_at = timezone.now()
    answer.save(update_fields=["review", "shared_text", "reviewed_by", "reviewed_at"])
    edited = share and answer.shared_text != answer.text.strip()
    log_action(answer, "survey.comment_reviewed", actor=user,
               scopes=[answer.response.collection.site],
               summary=("Shared a survey comment" + (" with details taken out" if edited else "")
                        if share else "Withheld a survey comment"))
    return answer
