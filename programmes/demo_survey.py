"""The demo's patient survey: responses at every intervention site, from a fixed seed.

Most sites have healthy numbers. Two show what small numbers look like: one with N=4 (shown
with a low-numbers warning) and one with N=2 (hidden). So that N=4 can be shown at all, the
demo hides results below 3 answers rather than the default 5; the survey settings page says
so, and the thresholds are the core team's to choose.
"""

import datetime
import random
import uuid

from django.utils import timezone

from ilcop.models import User

from . import survey as stats
from .models import Programme, Site, SurveyAnswer, SurveyResponse
from .services import survey as services

SEED = 2024
LOW_N, SUPPRESSED_N = 4, 2

# Fictional comments in patients' words. Those with a name or a date in them show why the
# core team reviews comments before the teams see them.
GOOD = [
    "The nurse specialist rang me back the same day every time.",
    "Everyone explained things in a way I could follow.",
    "My consultant took time to talk to my wife as well as me.",
    "Sister Okafor on the ward was wonderful on the 14th when I was really frightened.",
    "Quick from the scan to seeing someone, which I did not expect.",
    "Being able to phone the team with questions made a huge difference.",
]
IMPROVE = [
    "I waited almost three weeks for my biopsy result and nobody called.",
    "Parking at the hospital is impossible on clinic days.",
    "I was told the diagnosis in a corridor by Dr Hale which was not the right place.",
    "More information about side effects before treatment started.",
    "Appointments kept being moved and letters arrived after the date.",
    "It would help to have one number to ring rather than being passed around.",
]


def _answer(rng: random.Random, scale: stats.Scale, spread: float) -> str:
    codes = [code for code, _ in scale.options if code not in scale.excluded]
    if scale.excluded and rng.random() < 0.06:
        return next(iter(scale.excluded))
    # Each option is ``spread`` times as likely as the more positive one before it, so a
    # smaller spread is a better site.
    weights = [spread ** i for i in range(len(codes))]
    return rng.choices(codes, weights=weights)[0]


def build(programme: Programme, actor: User, *, low_site: Site | None = None,
          suppressed_site: Site | None = None) -> int:
    """Set up the survey and fill it; returns the number of responses."""
    rng = random.Random(SEED)
    today = timezone.localdate()
    survey = services.survey_create(programme=programme, user=actor)
    services.survey_update(survey=survey, user=actor, suppress_below=3,
                           closes_on=today + datetime.timedelta(weeks=12))
    questions = list(survey.questions.all())
    sites = [e.site for e in programme.enrolments.filter(status="intervention")
             .select_related("site").order_by("site__code")]
    responses = answers = 0
    for site in sites:
        collection = services.collection_for(survey=survey, site=site)
        if site == low_site:
            count = LOW_N
        elif site == suppressed_site:
            count = SUPPRESSED_N
        else:
            count = rng.randint(18, 45)
        spread = rng.uniform(0.3, 0.85)
        built_responses, built_answers = [], []
        for _ in range(count):
            response = SurveyResponse(
                collection=collection, submission_key=uuid.uuid4(),
                mode=rng.choices(["online", "paper"], weights=[3, 1])[0],
                received_on=today - datetime.timedelta(days=rng.randint(3, 150)))
            built_responses.append(response)
            for question in questions:
                if question.is_rating:
                    if rng.random() < 0.95:
                        built_answers.append((response, SurveyAnswer(
                            question=question,
                            choice=_answer(rng, question.scale_definition, spread))))
                elif rng.random() < 0.3:
                    text = rng.choice(GOOD if question.code == "GOOD" else IMPROVE)
                    built_answers.append((response, SurveyAnswer(
                        question=question, text=text, review=SurveyAnswer.Review.PENDING)))
        SurveyResponse.objects.bulk_create(built_responses)
        for response, answer in built_answers:
            answer.response = response
        SurveyAnswer.objects.bulk_create(a for _, a in built_answers)
        responses += len(built_responses)
        answers += len(built_answers)
    # Review most comments as the core team would: names and dates taken out.
    now = timezone.now()
    for answer in SurveyAnswer.objects.filter(response__collection__survey=survey,
                                              review=SurveyAnswer.Review.PENDING):
        if rng.random() < 0.75:
            answer.review = SurveyAnswer.Review.SHARED
            answer.shared_text = (answer.text.replace("Sister Okafor", "[removed]")
                                  .replace("Dr Hale", "[removed]")
                                  .replace(" on the 14th", ""))
            answer.reviewed_by, answer.reviewed_at = actor, now
            answer.save(update_fields=["review", "shared_text", "reviewed_by",
                                       "reviewed_at"])
    return responses

