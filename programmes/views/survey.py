"""The patient experience survey: the core team's set-up, a site's results and collection,
and the public form patients answer without an account."""

import csv

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ilcop.concurrency import single_submission
from ilcop.imports import ImportFailed
from ilcop.pdf import pdf_response
from ilcop.ratelimit import client_address, over_limit

from .. import selectors
from ..forms_survey import (
    CommentReviewForm,
    PaperResponseForm,
    SurveyImportForm,
    SurveyQuestionForm,
    SurveyResponseForm,
    SurveySettingsForm,
)
from ..models import Site, Survey, SurveyAnswer, SurveyCollection, SurveyResponse
from ..selectors.survey import (
    collection_counts,
    comments_awaiting_review,
    programme_survey,
    survey_comments,
    survey_results,
)
from ..services import survey as services
from ..survey import SCALES

# --- The core team's set-up ----------------------------------------------------------------


@login_required
@require_GET
def survey_manage(request: HttpRequest, pk: int) -> HttpResponse:
    programme = selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    survey = programme_survey(programme)
    sites = []
    if survey:
        counts, pending = collection_counts(survey), comments_awaiting_review(survey)
        sites = [
            {"site": e.site, "arm": e.get_status_display(), "responses": counts.get(e.site_id, 0),
             "pending": pending.get(e.site_id, 0)}
            for e in programme.enrolments.filter(status__in=["intervention", "control"])
            .select_related("site__organisation")
        ]
    return render(request, "programmes/survey/manage.html", {
        "programme": programme, "survey": survey, "sites": sites,
        "questions": survey.questions.all() if survey else [],
        "locked": survey is not None and services.survey_has_responses(survey),
        "scales": SCALES,
    })


@login_required
@require_POST
@single_submission
def survey_create(request: HttpRequest, pk: int) -> HttpResponse:
    programme = selectors.programme_for_core_team(request.user, pk)
    if programme_survey(programme) is None:
        services.survey_create(programme=programme, user=request.user)
        messages.success(request, "The survey is set up with the default questions")
    return redirect("programmes:survey_manage", programme.pk)


@login_required
@require_http_methods(["GET", "POST"])
def survey_edit(request: HttpRequest, pk: int) -> HttpResponse:
    programme = selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    survey = get_object_or_404(Survey, programme=programme)
    form = SurveySettingsForm(request.POST or None, instance=Survey.objects.get(pk=survey.pk))
    if request.method == "POST" and form.is_valid():
        services.survey_update(survey=survey, user=request.user, **form.cleaned_data)
        messages.success(request, "The survey's settings have been saved")
        return redirect("programmes:survey_manage", programme.pk)
    return render(request, "programmes/survey/settings_form.html",
                  {"programme": programme, "survey": survey, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def survey_question_edit(request: HttpRequest, pk: int,
                         question_pk: int | None = None) -> HttpResponse:
    programme = selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    survey = get_object_or_404(Survey, programme=programme)
    question = (get_object_or_404(survey.questions, pk=question_pk) if question_pk else None)
    if services.survey_has_responses(survey):
        messages.info(request, "Patients have already answered this survey, so its questions "
                               "cannot change")
        return redirect("programmes:survey_manage", programme.pk)
    form = SurveyQuestionForm(request.POST or None, survey=survey,
                              instance=question or None,
                              initial={} if question else
                              {"order": survey.questions.count() + 1})
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            services.question_save(survey=survey, user=request.user, question=question,
                                   **fields)
        except services.SurveyLocked as exc:
            messages.info(request, str(exc))
        else:
            messages.success(request, "The question has been saved")
        return redirect("programmes:survey_manage", programme.pk)
    return render(request, "programmes/survey/question_form.html",
                  {"programme": programme, "survey": survey, "form": form,
                   "question": question})


# --- A site's results and collection -------------------------------------------------------


def _site_survey(request: HttpRequest, pk: int):
    """(site, programme, survey or None, whether the viewer is the programme's core team)."""
    site = selectors.site_for_user(request.user, pk)
    programme = selectors.current_programme_for_site(request.user, site)
    if programme is None:
        raise Http404
    request.programme = programme
    is_core = programme.core_team.filter(user=request.user).exists()
    return site, programme, programme_survey(programme), is_core


def public_link(collection: SurveyCollection) -> str:
    return settings.SITE_URL + reverse("programmes:survey_answer", args=[collection.code])


@login_required
@require_GET
def site_survey(request: HttpRequest, pk: int) -> HttpResponse:
    site, programme, survey, is_core = _site_survey(request, pk)
    context = {"site": site, "programme": programme, "survey": survey, "is_core": is_core}
    if survey:
        collection = services.collection_for(survey=survey, site=site)
        context.update(
            collection=collection, link=public_link(collection),
            results=survey_results(survey, site),
            comments=survey_comments(survey, site, include_unreviewed=is_core),
            is_open=survey.is_open_on(timezone.localdate()),
        )
    return render(request, "programmes/survey/site_results.html", context)


def _collection(request: HttpRequest, pk: int) -> tuple[Site, SurveyCollection]:
    site, _programme, survey, _is_core = _site_survey(request, pk)
    if survey is None:
        raise Http404
    return site, services.collection_for(survey=survey, site=site)


@login_required
@require_GET
def site_survey_poster(request: HttpRequest, pk: int) -> HttpResponse:
    import segno  # imported here: only the poster needs it

    site, collection = _collection(request, pk)
    link = public_link(collection)
    # Error correction M survives a crumpled or smudged poster (ISO/IEC 18004, 15% of the
    # code recoverable) and keeps the code small enough to scan from a metre away.
    qr = segno.make(link, error="m").svg_inline(scale=6, dark="#212b32", omitsize=True)
    return pdf_response("programmes/survey/poster_pdf.html",
                        {"site": site, "survey": collection.survey, "link": link, "qr": qr},
                        filename=f"survey poster {site.code}")


@login_required
@require_GET
def site_survey_paper(request: HttpRequest, pk: int) -> HttpResponse:
    site, collection = _collection(request, pk)
    questions = list(collection.survey.questions.all())
    return pdf_response("programmes/survey/paper_pdf.html",
                        {"site": site, "survey": collection.survey, "questions": questions,
                         "link": public_link(collection)},
                        filename=f"survey paper form {site.code}")


@login_required
@require_http_methods(["GET", "POST"])
def site_survey_enter(request: HttpRequest, pk: int) -> HttpResponse:
    site, collection = _collection(request, pk)
    questions = list(collection.survey.questions.all())
    form = PaperResponseForm(request.POST or None, questions=questions)
    if request.method == "POST" and form.is_valid():
        _, created = services.paper_response_enter(
            collection=collection, user=request.user, answers=form.answers(),
            submission_key=form.cleaned_data["submission_key"],
            received_on=form.cleaned_data["received_on"])
        messages.success(request, "The paper response has been saved" if created else
                         "That paper response was already saved, so it was not added again")
        if "another" in request.POST:
            return redirect("programmes:site_survey_enter", site.pk)
        return redirect("programmes:site_survey", site.pk)
    return render(request, "programmes/survey/paper_entry.html",
                  {"site": site, "survey": collection.survey, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def site_survey_import(request: HttpRequest, pk: int) -> HttpResponse:
    site, collection = _collection(request, pk)
    form = SurveyImportForm(request.POST or None, request.FILES or None)
    import_errors = []
    if request.method == "POST" and form.is_valid():
        try:
            count = services.survey_import(collection=collection, user=request.user,
                                           uploaded=form.cleaned_data["file"])
        except ImportFailed as exc:
            import_errors = exc.errors
        else:
            messages.success(request, f"Imported {count} paper response"
                                      f"{'' if count == 1 else 's'}")
            return redirect("programmes:site_survey", site.pk)
    return render(request, "programmes/survey/import.html", {
        "site": site, "survey": collection.survey, "form": form,
        "import_errors": import_errors,
        "questions": collection.survey.questions.all(), "scales": SCALES,
    })


@login_required
@require_GET
def site_survey_template(request: HttpRequest, pk: int) -> HttpResponse:
    _site, collection = _collection(request, pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="paper-survey-responses.csv"'
    writer = csv.writer(response)
    writer.writerow([services.RECEIVED_COLUMN]
                    + [q.code for q in collection.survey.questions.all()])
    return response


@login_required
@require_http_methods(["GET", "POST"])
def survey_comment_review(request: HttpRequest, pk: int, answer_pk: int) -> HttpResponse:
    site, _programme, survey, is_core = _site_survey(request, pk)
    if survey is None:
        raise Http404
    if not is_core:
        raise PermissionDenied
    answer = get_object_or_404(
        SurveyAnswer.objects.select_related("question", "response"),
        pk=answer_pk, response__collection__survey=survey, response__collection__site=site,
        question__kind="free_text")
    # Nothing is chosen for a comment not yet reviewed: sharing must be a decision, taken
    # after reading, never the default.
    decision = {SurveyAnswer.Review.SHARED: "share",
                SurveyAnswer.Review.WITHHELD: "withhold"}.get(answer.review)
    form = CommentReviewForm(request.POST or None, initial={
        "decision": decision, "shared_text": answer.shared_text or answer.text})
    if request.method == "POST" and form.is_valid():
        share = form.cleaned_data["decision"] == "share"
        services.comment_review(answer=answer, user=request.user, share=share,
                                shared_text=form.cleaned_data["shared_text"])
        messages.success(request, "The comment is shared with the teams" if share else
                         "The comment is withheld from the teams")
        return redirect(reverse("programmes:site_survey", args=[site.pk]) + "#comments")
    return render(request, "programmes/survey/comment_review.html",
                  {"site": site, "answer": answer, "form": form})


# --- The public form -----------------------------------------------------------------------

# Enough for a clinic's shared tablet on a busy morning; far too few for a script.
SUBMISSIONS_PER_CLIENT = (20, 60 * 60)
SUBMISSIONS_PER_SITE = (300, 60 * 60)


def _public_collection(code: str) -> SurveyCollection:
    return get_object_or_404(
        SurveyCollection.objects.select_related("survey__programme", "site__organisation"),
        code=code.upper())


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def survey_answer(request: HttpRequest, code: str) -> HttpResponse:
    """The form a patient answers, from the poster's link or QR code. No account, no
    session; the only cookie is the CSRF token the form needs."""
    collection = _public_collection(code)
    survey = collection.survey
    context = {"collection": collection, "survey": survey, "site": collection.site}
    if not survey.is_open_on(timezone.localdate()):
        return render(request, "programmes/survey/public_closed.html", context, status=410)
    questions = list(survey.questions.all())
    form = SurveyResponseForm(request.POST or None, questions=questions)
    if request.method == "POST":
        if over_limit("survey", collection.code, client_address(request),
                      limit=SUBMISSIONS_PER_CLIENT[0], window_seconds=SUBMISSIONS_PER_CLIENT[1]):
            return render(request, "programmes/survey/public_busy.html", context, status=429)
        if form.is_valid():
            # Only answers that would be stored count towards the site's limit, so junk
            # posts cannot lock real patients out.
            if not form.is_bot and over_limit("survey-site", collection.code,
                                              limit=SUBMISSIONS_PER_SITE[0],
                                              window_seconds=SUBMISSIONS_PER_SITE[1]):
                return render(request, "programmes/survey/public_busy.html", context,
                              status=429)
            if not form.is_bot:
                services.response_submit(
                    collection=collection, answers=form.answers(),
                    submission_key=form.cleaned_data["submission_key"],
                    mode=SurveyResponse.Mode.ONLINE)
            return redirect("programmes:survey_thanks", collection.code)
    context["form"] = form
    return render(request, "programmes/survey/public_form.html", context)


@require_GET
def survey_privacy(request: HttpRequest, code: str) -> HttpResponse:
    collection = _public_collection(code)
    return render(request, "programmes/survey/public_privacy.html",
                  {"collection": collection, "survey": collection.survey,
                   "site": collection.site, "contact": settings.SURVEY_PRIVACY_CONTACT})


@require_GET
def survey_thanks(request: HttpRequest, code: str) -> HttpResponse:
    collection = _public_collection(code)
    return render(request, "programmes/survey/public_thanks.html",
                  {"collection": collection, "survey": collection.survey,
                   "site": collection.site})
