"""Reads of the patient survey: a site's results beside the programme's, and its comments.

Who may see them: the site's own team and the programme's core team (the selectors in
core.py decide). The visiting team sees them through the visit's data pack.
"""

import hashlib
import textwrap
from collections import Counter
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from .. import survey as stats
from ..charts import survey_chart_svg
from ..models import Site, Survey, SurveyAnswer, SurveyQuestion, SurveyResponse
from .audit import CHART_CACHE_SECONDS


def programme_survey(programme) -> Survey | None:
    return Survey.objects.filter(programme=programme).first()


@dataclass
class QuestionResult:
    number: int
    question: SurveyQuestion
    site: stats.QuestionSummary
    programme: stats.QuestionSummary


@dataclass
class SurveyResults:
    survey: Survey
    responses: int
    online: int
    paper: int
    first_received: object  # date or None
    last_received: object
    questions: list[QuestionResult]
    chart: str

    @property
    def suppressed(self) -> list[QuestionResult]:
        return [q for q in self.questions if q.site.suppressed]

    @property
    def latest_age_days(self) -> int | None:
        if self.last_received is None:
            return None
        return (timezone.localdate() - self.last_received).days

    @property
    def comments_hidden(self) -> bool:
        """With fewer responses than the suppression threshold, a comment (with its month)
        could point to the patient who wrote it, so teams do not see them."""
        return self.responses < self.survey.suppress_below


def _counts(answers) -> dict[int, Counter]:
    grouped: dict[int, Counter] = {}
    for question_id, choice, n in answers.values_list("question_id", "choice").annotate(
            n=Count("id")).order_by():
        grouped.setdefault(question_id, Counter())[choice] = n
    return grouped


def _summary(survey: Survey, question: SurveyQuestion, counts: Counter) -> stats.QuestionSummary:
    return stats.summarise(question.scale_definition, counts,
                           warn_below=survey.low_numbers_below,
                           suppress_below=survey.suppress_below)


def survey_results(survey: Survey, site: Site) -> SurveyResults:
    """Every rating question's site result (N, distribution, percentage positive and its 95%
    interval) beside the programme-wide figure, with a chart of both."""
    questions = [q for q in survey.questions.all() if q.is_rating]
    rating = SurveyAnswer.objects.filter(response__collection__survey=survey,
                                         question__kind=stats.RATING)
    site_counts = _counts(rating.filter(response__collection__site=site))
    programme_counts = _counts(rating)
    totals = SurveyResponse.objects.filter(collection__survey=survey,
                                           collection__site=site).aggregate(
        responses=Count("id"),
        online=Count("id", filter=Q(mode=SurveyResponse.Mode.ONLINE)),
        paper=Count("id", filter=Q(mode=SurveyResponse.Mode.PAPER)),
        first=Min("received_on"), last=Max("received_on"))
    results = [
        QuestionResult(number, question,
                       _summary(survey, question, site_counts.get(question.pk, Counter())),
                       _summary(survey, question, programme_counts.get(question.pk, Counter())))
        for number, question in enumerate(questions, start=1)
    ]
    return SurveyResults(
        survey=survey, responses=totals["responses"], online=totals["online"],
        paper=totals["paper"], first_received=totals["first"], last_received=totals["last"],
        questions=results, chart=_chart(survey, site, results))


def _chart(survey: Survey, site: Site, results: list[QuestionResult]) -> str:
    # A low-numbers result carries its N on the chart too, not only in the table.
    rows = [
        (f"Q{r.number}. " + textwrap.shorten(r.question.text, 56, placeholder="…")
         + (f" (low numbers, N={r.site.n})" if r.site.low_numbers else ""),
         r.site.proportion, r.site.interval, r.programme.proportion)
        for r in results if r.site.proportion is not None
    ]
    if not rows:
        return ""
    options = {"title": f"Patient survey: {site.name}, {site.organisation.name}",
               "chart_id": f"survey-{site.pk}"}
    # Cached by everything drawn, as funnel plots are (selectors.audit.funnel_chart).
    key = "survey-svg-" + hashlib.sha256(repr((rows, sorted(options.items()))).encode()
                                         ).hexdigest()
    svg = cache.get(key)
    if svg is None:
        svg = survey_chart_svg(rows, **options)
        cache.set(key, svg, CHART_CACHE_SECONDS)
    return svg


@dataclass
class Comment:
    answer: SurveyAnswer
    question_number: int

    @property
    def shown_text(self) -> str:
        return self.answer.shared_text


def survey_comments(survey: Survey, site: Site, *, include_unreviewed: bool) -> list[Comment]:
    """The site's free-text comments. Teams get only those the core team has shared, in the
    words it shared; the core team (``include_unreviewed``) gets all of them."""
    numbers = {q.pk: n for n, q in enumerate(
        (q for q in survey.questions.all() if not q.is_rating), start=1)}
    answers = SurveyAnswer.objects.filter(
        response__collection__survey=survey, response__collection__site=site,
        question__kind=stats.FREE_TEXT,
    ).select_related("question", "response", "reviewed_by").order_by(
        "question__order", "question_id", "response__received_on", "pk")
    if not include_unreviewed:
        answers = answers.filter(review=SurveyAnswer.Review.SHARED)
    return [Comment(answer, numbers.get(answer.question_id, 0)) for answer in answers]


def comments_awaiting_review(survey: Survey) -> dict[int, int]:
    """Site id -> comments not yet reviewed, for the core team's survey page."""
    return dict(SurveyAnswer.objects.filter(
        response__collection__survey=survey, review=SurveyAnswer.Review.PENDING,
    ).values_list("response__collection__site_id").annotate(n=Count("id")).order_by())


def collection_counts(survey: Survey) -> dict[int, int]:
    """Site id -> responses received."""
    return dict(SurveyResponse.objects.filter(collection__survey=survey).values_list(
        "collection__site_id").annotate(n=Count("id")).order_by())
