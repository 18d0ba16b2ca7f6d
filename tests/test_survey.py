"""The patient survey: answering it without an account, paper entry and import, results,
and comment review."""

import datetime
import io
import re
import uuid

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from ilcop.models import ActivityLog
from programmes.models import SurveyAnswer, SurveyResponse
from programmes.services import survey as services
from programmes.views.survey import SUBMISSIONS_PER_CLIENT

from .pdf import pdf_text

# The rate limits' counts start at zero.
pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture
def survey(programme, core):
    return services.survey_create(programme=programme, user=core)


@pytest.fixture
def collection(survey, site):
    return services.collection_for(survey=survey, site=site)


def q(survey, code):
    return survey.questions.get(code=code)


def form_data(client: Client, url: str, **answers) -> dict:
    page = client.get(url).content.decode()
    key = re.search(r'name="submission_key" value="([^"]+)"', page).group(1)
    return {"submission_key": key, **answers}


def answer_online(survey, collection, n, choice="agree", client=None):
    for _ in range(n):
        services.response_submit(collection=collection, answers={
            q(survey, "DIAGNOSIS").pk: choice}, submission_key=uuid.uuid4(), mode="online")


# --- Answering online ----------------------------------------------------------------------


def test_a_patient_answers_without_an_account_and_is_counted(survey, collection):
    client = Client()
    url = f"/survey/{collection.code}/"
    page = client.get(url)
    assert page.status_code == 200
    assert survey.questions.first().text in page.content.decode()
    assert "Sign in" not in page.content.decode()
    data = form_data(client, url, **{f"q{q(survey, 'NURSE').pk}": "yes",
                                     f"q{q(survey, 'GOOD').pk}": "Kind staff"})
    response = client.post(url, data)
    assert response.status_code == 302
    assert response["Location"] == f"/survey/{collection.code}/thanks/"
    stored = SurveyResponse.objects.get()
    assert stored.mode == "online" and stored.entered_by is None
    assert stored.received_on == timezone.localdate()
    assert {a.question.code: a.choice or a.text for a in stored.answers.all()} == {
        "NURSE": "yes", "GOOD": "Kind staff"}
    assert "Thank you" in client.get(response["Location"]).content.decode()


def test_the_only_cookie_is_the_csrf_token_and_no_session_is_made(survey, collection):
    client = Client()
    url = f"/survey/{collection.code}/"
    page = client.get(url)
    assert set(page.cookies) == {"csrftoken"}
    response = client.post(url, form_data(client, url, **{f"q{q(survey, 'NURSE').pk}": "no"}))
    assert "sessionid" not in response.cookies
    assert "messages" not in response.cookies
    assert "Cache-Control" in page and "no-cache" in page["Cache-Control"]


def test_the_public_form_is_protected_from_cross_site_posts(survey, collection):
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"/survey/{collection.code}/", {
        "submission_key": str(uuid.uuid4()), f"q{q(survey, 'NURSE').pk}": "yes"})
    assert response.status_code == 403
    assert not SurveyResponse.objects.exists()


def test_a_double_submitted_form_is_counted_once(survey, collection):
    client = Client()
    url = f"/survey/{collection.code}/"
    data = form_data(client, url, **{f"q{q(survey, 'NURSE').pk}": "yes"})
    first = client.post(url, data)
    second = client.post(url, data)
    assert first.status_code == second.status_code == 302
    assert SurveyResponse.objects.count() == 1
    assert SurveyAnswer.objects.count() == 1


def test_an_empty_form_is_refused_with_a_message(survey, collection):
    client = Client()
    url = f"/survey/{collection.code}/"
    response = client.post(url, form_data(client, url))
    assert response.status_code == 200
    assert "Answer at least one question before sending" in response.content.decode()
    assert not SurveyResponse.objects.exists()


def test_an_answer_not_on_the_scale_is_refused(survey, collection):
    client = Client()
    url = f"/survey/{collection.code}/"
    response = client.post(url, form_data(client, url, **{f"q{q(survey, 'NURSE').pk}": "ok"}))
    assert response.status_code == 200
    assert "Error:" in response.content.decode()
    assert not SurveyResponse.objects.exists()


def test_a_filled_honeypot_looks_like_success_but_stores_nothing(survey, collection):
    client = Client()
    url = f"/survey/{collection.code}/"
    data = form_data(client, url, website="http://spam.example",
                     **{f"q{q(survey, 'NURSE').pk}": "yes"})
    response = client.post(url, data)
    assert response.status_code == 302
    assert not SurveyResponse.objects.exists()


def test_the_honeypot_is_hidden_from_people_and_screen_readers(survey, collection):
    page = Client().get(f"/survey/{collection.code}/").content.decode()
    honeypot = page[page.index('class="app-honeypot"') - 5:]
    assert honeypot.startswith('<div class="app-honeypot" aria-hidden="true">')
    assert 'tabindex="-1"' in honeypot[:400]


def test_a_closed_survey_takes_no_answers(survey, collection, core):
    services.survey_update(survey=survey, user=core,
                           closes_on=timezone.localdate() - datetime.timedelta(days=1))
    client = Client()
    page = client.get(f"/survey/{collection.code}/")
    assert page.status_code == 410
    assert "This survey has closed" in page.content.decode()
    response = client.post(f"/survey/{collection.code}/", {
        "submission_key": str(uuid.uuid4()), f"q{q(survey, 'NURSE').pk}": "yes"})
    assert response.status_code == 410
    assert not SurveyResponse.objects.exists()


def test_the_survey_is_open_on_its_closing_day(survey, collection, core):
    services.survey_update(survey=survey, user=core, closes_on=timezone.localdate())
    assert Client().get(f"/survey/{collection.code}/").status_code == 200


def test_submissions_are_rate_limited_per_client(survey, collection):
    client = Client()
    url = f"/survey/{collection.code}/"
    limit = SUBMISSIONS_PER_CLIENT[0]
    for _ in range(limit):
        data = form_data(client, url, **{f"q{q(survey, 'NURSE').pk}": "yes"})
        assert client.post(url, data).status_code == 302
    data = form_data(client, url, **{f"q{q(survey, 'NURSE').pk}": "yes"})
    response = client.post(url, data)
    assert response.status_code == 429
    assert "Please try again later" in response.content.decode()
    assert SurveyResponse.objects.count() == limit
    # Another device is not held back by this one.
    other = Client(REMOTE_ADDR="192.0.2.77")
    assert other.post(url, form_data(other, url, **{f"q{q(survey, 'NURSE').pk}": "no"})
                      ).status_code == 302


def test_the_rate_limit_cache_holds_no_ip_address(survey, collection):
    client = Client(REMOTE_ADDR="198.51.100.23")
    url = f"/survey/{collection.code}/"
    client.post(url, form_data(client, url, **{f"q{q(survey, 'NURSE').pk}": "yes"}))
    keys = list(cache._cache.keys())
    assert keys and not any("198.51.100.23" in key for key in keys)


def test_an_unknown_survey_code_is_not_found(db):
    assert Client().get("/survey/NOSUCHCODE/").status_code == 404


# --- Results -------------------------------------------------------------------------------


def test_a_response_appears_in_the_sites_results(survey, collection, client_for, lead, site):
    answer_online(survey, collection, 12, choice="strongly_agree")
    page = client_for(lead).get(f"/sites/{site.pk}/survey/").content.decode()
    assert "12 (12 online, 0 on paper)" in page
    assert "100%" in page
    assert "(76% to 100%)" in page  # Wilson 95% interval for 12 of 12: 0.7575 to 1


def test_low_numbers_are_flagged_and_very_low_numbers_hidden(survey, collection, client_for,
                                                             lead, site):
    answer_online(survey, collection, 6)
    services.response_submit(collection=collection, answers={q(survey, "NURSE").pk: "yes"},
                             submission_key=uuid.uuid4(), mode="online")
    page = client_for(lead).get(f"/sites/{site.pk}/survey/").content.decode()
    assert "Low numbers: N=6" in page
    assert "Fewer than 5 answers, so the results are not shown" in page
    assert "(low numbers, N=6)" in page  # on the chart as well as in the table


def test_results_compare_with_the_whole_programme(survey, collection, other_site, client_for,
                                                  lead, site):
    answer_online(survey, collection, 10, choice="agree")
    elsewhere = services.collection_for(survey=survey, site=other_site)
    answer_online(survey, elsewhere, 10, choice="disagree")
    page = client_for(lead).get(f"/sites/{site.pk}/survey/").content.decode()
    assert "N=20" in page and "50%" in page


def test_results_page_draws_the_chart_as_svg(survey, collection, client_for, lead, site):
    answer_online(survey, collection, 10)
    page = client_for(lead).get(f"/sites/{site.pk}/survey/").content.decode()
    assert '<svg' in page and 'id="survey-' in page
    assert "95% confidence interval" in page


# --- Paper responses -----------------------------------------------------------------------


def test_a_paper_response_is_entered_once_even_if_sent_twice(survey, collection, client_for,
                                                            cns, site):
    client = client_for(cns)
    url = f"/sites/{site.pk}/survey/enter/"
    data = form_data(client, url, received_on="2026-10-01",
                     **{f"q{q(survey, 'WAITING').pk}": "disagree"})
    assert client.post(url, data).status_code == 302
    client.post(url, data)
    response = SurveyResponse.objects.get()
    assert response.mode == "paper" and response.entered_by == cns
    assert response.received_on == datetime.date(2026, 10, 1)
    assert ActivityLog.objects.filter(verb="survey.paper_entered").count() == 1


def upload(text: str, name="paper.csv"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_a_good_import_adds_every_row(survey, collection, core):
    codes = [q.code for q in survey.questions.all()]
    header = "date_completed," + ",".join(codes)
    rows = ["01/10/2026,Agree,,yes,,,,,Excellent,Kind,",
            "2026-10-02,strongly agree,Disagree,No,,,,,,,Car parking"]
    count = services.survey_import(collection=collection, user=core,
                                   uploaded=upload("\n".join([header, *rows])))
    assert count == 2
    answers = {(a.response.received_on.day, a.question.code): a.choice or a.text
               for a in SurveyAnswer.objects.select_related("response", "question")}
    assert answers[(1, "DIAGNOSIS")] == "agree"
    assert answers[(1, "OVERALL")] == "excellent"
    assert answers[(2, "IMPROVE")] == "Car parking"
    assert SurveyAnswer.objects.get(text="Kind").review == "pending"


def test_a_bad_import_imports_nothing_and_names_each_row_and_column(survey, collection,
                                                                   client_for, lead, site):
    codes = [q.code for q in survey.questions.all()]
    header = "date_completed," + ",".join(codes)
    rows = ["01/10/2026,Agree,,yes,,,,,,,",
            "31/02/2026,Maybe,,,,,,,,,",
            ",,,,,,,,,,",
            "2099-01-01,,,Yes,,,,,,,"]
    response = client_for(lead).post(f"/sites/{site.pk}/survey/import/", {
        "file": upload("\n".join([header, *rows]))})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was imported" in page
    assert "Row 3, column “date_completed”: “31/02/2026” is not a date" in page
    assert "Row 3, column “diagnosis”: “Maybe” is not one of this question" in page
    assert "Row 5, column “date_completed”: 1 January 2099 is in the future." in page
    assert not SurveyResponse.objects.exists()


def test_an_import_with_an_unknown_column_names_it(survey, collection, core):
    codes = [q.code for q in survey.questions.all()]
    text = ",".join([*codes, "comments"]) + "\n" + ",".join(["Agree"] + [""] * len(codes))
    with pytest.raises(services.ImportFailed) as failure:
        services.survey_import(collection=collection, user=core, uploaded=upload(text))
    assert "Row 1, column “comments”: is not one of the survey's question codes" in str(
        failure.value.errors[0])
    assert not SurveyResponse.objects.exists()


def test_an_import_missing_question_columns_says_which(survey, collection, core):
    with pytest.raises(services.ImportFailed) as failure:
        services.survey_import(collection=collection, user=core,
                               uploaded=upload("diagnosis\nAgree\n"))
    missing = {e.column for e in failure.value.errors}
    assert "nurse" in missing and "overall" in missing


def test_the_import_template_has_a_column_per_question(survey, collection, client_for, lead,
                                                        site):
    text = client_for(lead).get(f"/sites/{site.pk}/survey/import/template.csv").content
    assert text.decode().strip() == "date_completed," + ",".join(
        q.code for q in survey.questions.all())


# --- Comments ------------------------------------------------------------------------------


@pytest.fixture
def comment(survey, collection):
    answer_online(survey, collection, 4)  # enough responses for comments to be shown
    response, _ = services.response_submit(
        collection=collection, answers={q(survey, "IMPROVE").pk: "Dr Smith was rude to me"},
        submission_key=uuid.uuid4(), mode="online")
    return response.answers.get()


def test_teams_do_not_see_a_comment_until_the_core_team_shares_it(comment, client_for, lead,
                                                                 as_core, site):
    assert "Dr Smith" not in client_for(lead).get(f"/sites/{site.pk}/survey/").content.decode()
    assert "Dr Smith was rude" in as_core.get(f"/sites/{site.pk}/survey/").content.decode()


def test_the_core_team_redacts_a_comment_and_the_team_sees_only_the_redacted_words(
        comment, client_for, lead, as_core, site):
    url = f"/sites/{site.pk}/survey/comments/{comment.pk}/"
    assert "Dr Smith was rude to me" in as_core.get(url).content.decode()
    response = as_core.post(url, {"decision": "share",
                                  "shared_text": "[removed] was rude to me"})
    assert response.status_code == 302
    page = client_for(lead).get(f"/sites/{site.pk}/survey/").content.decode()
    assert "[removed] was rude to me" in page
    assert "Dr Smith" not in page
    comment.refresh_from_db()
    assert comment.text == "Dr Smith was rude to me"
    entry = ActivityLog.objects.get(verb="survey.comment_reviewed")
    assert "Dr Smith" not in entry.summary + str(entry.data)


def test_a_withheld_comment_stays_hidden(comment, client_for, lead, as_core, site):
    as_core.post(f"/sites/{site.pk}/survey/comments/{comment.pk}/", {"decision": "withhold"})
    comment.refresh_from_db()
    assert comment.review == "withheld"
    assert "rude" not in client_for(lead).get(f"/sites/{site.pk}/survey/").content.decode()


def test_sharing_needs_the_words_to_share(comment, as_core, site):
    response = as_core.post(f"/sites/{site.pk}/survey/comments/{comment.pk}/",
                            {"decision": "share", "shared_text": "  "})
    assert "Enter the comment as the teams will see it" in response.content.decode()
    comment.refresh_from_db()
    assert comment.review == "pending"


def test_a_comment_from_another_site_is_not_found(comment, survey, other_site, as_core):
    assert as_core.get(f"/sites/{other_site.pk}/survey/comments/{comment.pk}/"
                       ).status_code == 404


# --- Setting up ----------------------------------------------------------------------------


def test_the_core_team_sets_up_the_survey_once(as_core, programme):
    url = f"/programmes/{programme.pk}/survey/create/"
    as_core.post(url)
    as_core.post(url)
    assert programme.survey.questions.count() == 10


def test_questions_can_change_until_a_patient_answers(survey, collection, as_core, programme):
    url = f"/programmes/{programme.pk}/survey/questions/add/"
    response = as_core.post(url, {"code": "travel", "text": "Getting to hospital was easy",
                                  "kind": "rating", "scale": "agree5", "order": 11})
    assert response.status_code == 302
    assert survey.questions.filter(code="TRAVEL").exists()
    answer_online(survey, collection, 1)
    as_core.post(url, {"code": "LATE", "text": "Too late", "kind": "free_text", "order": 12})
    assert not survey.questions.filter(code="LATE").exists()


def test_a_rating_question_needs_a_scale_and_a_unique_code(survey, as_core, programme):
    response = as_core.post(f"/programmes/{programme.pk}/survey/questions/add/", {
        "code": "NURSE", "text": "x", "kind": "rating", "scale": "", "order": 1})
    page = response.content.decode()
    assert "Another question already uses the code NURSE" in page
    assert "Select the answers a rating question offers" in page


def test_suppression_cannot_be_above_the_warning(survey, as_core, programme):
    response = as_core.post(f"/programmes/{programme.pk}/survey/edit/", {
        "title": "Survey", "introduction": "", "closes_on": "", "low_numbers_below": 5,
        "suppress_below": 8})
    assert "must be the same as or smaller" in response.content.decode()
    survey.refresh_from_db()
    assert survey.suppress_below == 5


# --- Printed material ----------------------------------------------------------------------




def test_the_poster_carries_the_link_and_a_qr_code(survey, collection, client_for, lead, site):
    response = client_for(lead).get(f"/sites/{site.pk}/survey/poster.pdf")
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Tell us about your care" in text
    assert f"/survey/{collection.code}/" in text


def test_the_paper_form_lists_every_question_and_answer(survey, collection, client_for, lead,
                                                       site):
    text = " ".join(pdf_text(client_for(lead).get(
        f"/sites/{site.pk}/survey/paper-form.pdf").content).split())
    for question in survey.questions.all():
        assert question.text.split()[0] in text
    assert "Neither agree nor disagree" in text and "Very good" in text


def test_comments_are_hidden_from_teams_while_few_patients_have_answered(
        survey, collection, as_core, client_for, lead, site):
    response, _ = services.response_submit(
        collection=collection, answers={q(survey, "GOOD").pk: "Lovely ward"},
        submission_key=uuid.uuid4(), mode="online")
    services.comment_review(answer=response.answers.get(), user=None, share=True,
                            shared_text="Lovely ward")
    page = client_for(lead).get(f"/sites/{site.pk}/survey/").content.decode()
    assert "Lovely ward" not in page
    assert "Comments are not shown while fewer than 5 patients have answered" in page
    assert "Lovely ward" in as_core.get(f"/sites/{site.pk}/survey/").content.decode()


def test_sharing_a_comment_is_never_the_default(comment, as_core, site):
    page = as_core.get(f"/sites/{site.pk}/survey/comments/{comment.pk}/").content.decode()
    assert 'value="share" checked' not in page and 'value="withhold" checked' not in page
    response = as_core.post(f"/sites/{site.pk}/survey/comments/{comment.pk}/",
                            {"shared_text": comment.text})
    assert "Choose whether to share the comment or withhold it" in response.content.decode()
    comment.refresh_from_db()
    assert comment.review == "pending"


def test_the_csrf_cookie_ends_with_the_browser_session(survey, collection):
    cookie = Client().get(f"/survey/{collection.code}/").cookies["csrftoken"]
    assert not cookie["max-age"] and not cookie["expires"]


def test_behind_a_trusted_proxy_the_limit_counts_each_patient(survey, collection, settings):
    settings.TRUST_X_FORWARDED_FOR = True
    url = f"/survey/{collection.code}/"
    for patient in range(SUBMISSIONS_PER_CLIENT[0] + 3):
        client = Client(REMOTE_ADDR="10.0.0.1",
                        HTTP_X_FORWARDED_FOR=f"203.0.113.9, 198.51.100.{patient}")
        data = form_data(client, url, **{f"q{q(survey, 'NURSE').pk}": "yes"})
        assert client.post(url, data).status_code == 302
    assert SurveyResponse.objects.count() == SUBMISSIONS_PER_CLIENT[0] + 3


def test_junk_posts_do_not_use_up_the_sites_allowance(survey, collection, monkeypatch):
    monkeypatch.setattr("programmes.views.survey.SUBMISSIONS_PER_SITE", (2, 3600))
    url = f"/survey/{collection.code}/"
    for number in range(5):
        Client(REMOTE_ADDR=f"192.0.2.{number}").post(url, {"submission_key": "x"})
    client = Client(REMOTE_ADDR="192.0.2.200")
    data = form_data(client, url, **{f"q{q(survey, 'NURSE').pk}": "yes"})
    assert client.post(url, data).status_code == 302
    assert SurveyResponse.objects.count() == 1


def test_a_damaged_submission_key_still_lets_the_patient_answer(survey, collection):
    response = Client().post(f"/survey/{collection.code}/", {
        "submission_key": "not-a-key", f"q{q(survey, 'NURSE').pk}": "yes"})
    assert response.status_code == 302
    assert SurveyResponse.objects.count() == 1


def test_link_checkers_can_send_head(survey, collection):
    assert Client().head(f"/survey/{collection.code}/").status_code == 200


def test_the_privacy_notice_says_what_is_kept(survey, collection):
    page = Client().get(f"/survey/{collection.code}/privacy/").content.decode()
    assert "We do not ask for your name" in page
    assert "We do not keep your internet address" in page
    assert f"/survey/{collection.code}/privacy/" in Client().get(
        f"/survey/{collection.code}/").content.decode()


def test_excel_date_cells_import(survey, collection, core):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    codes = [question.code for question in survey.questions.all()]
    sheet.append(["date_completed", *codes])
    excel_date = datetime.datetime(2026, 1, 5)  # noqa: DTZ001 - an Excel cell has no zone
    sheet.append([excel_date, "Agree"] + [None] * (len(codes) - 1))
    buffer = io.BytesIO()
    workbook.save(buffer)
    count = services.survey_import(collection=collection, user=core, uploaded=SimpleUploadedFile(
        "paper.xlsx", buffer.getvalue()))
    assert count == 1
    assert SurveyResponse.objects.get().received_on == datetime.date(2026, 1, 5)


def test_paper_dates_must_be_plausible(survey, collection, client_for, cns, site):
    client = client_for(cns)
    url = f"/sites/{site.pk}/survey/enter/"
    response = client.post(url, form_data(client, url, received_on="1900-01-01",
                                          **{f"q{q(survey, 'NURSE').pk}": "yes"}))
    assert "Check the year the form was completed" in response.content.decode()
    assert not SurveyResponse.objects.exists()
