"""Every form is safe against double submission (ilcop.concurrency).

In the browser, NHS.UK frontend's button ignores a second click within a second
(data-prevent-double-click). On the server, a create form carries a one-time token and its
view saves once per token; everything else is idempotent by nature, and the table below
says why, so a new POST form must be classified before this test passes."""

import datetime
import re
import uuid
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client

from ilcop.concurrency import ALREADY_SAVED
from ilcop.models import ActivityLog, FormToken
from qips.models import Measure, QualityImprovementPlan, ReviewComment
from qips.services import plans as plan_services
from visits.models import FocusArea, Visit

from .concurrency import twice_at_once

TEMPLATES = Path(settings.BASE_DIR) / "templates"

# Forms whose POST makes something new: each carries {% form_token %} and its view is
# wrapped in @single_submission. Keyed by template and the URL name it posts to ("self":
# the page's own URL).
CREATES = {
    ("includes/pending_invitations.html", "programmes:invitation_resend"),
    ("programmes/audit_import.html", "self"),
    ("programmes/directory/group_message_confirm.html", "self"),
    ("programmes/directory/group_message_form.html", "self"),
    ("programmes/indicator_form.html", "self"),
    ("programmes/invitation_form.html", "self"),
    ("programmes/organisation_form.html", "self"),
    ("programmes/pairing.html", "programmes:pair_make"),
    ("programmes/pairing.html", "programmes:pairing_conflict_add"),
    ("programmes/programme_form.html", "self"),
    ("programmes/randomisation.html", "self"),
    ("programmes/resources/form.html", "self"),
    ("programmes/reviewers/add.html", "self"),
    ("programmes/reviewers/conflict_form.html", "self"),
    ("programmes/reviewers/edit.html", "programmes:reviewer_conflict_add"),
    ("programmes/reviewers/my_reviewing.html", "programmes:my_conflict_add"),
    ("programmes/site_form.html", "self"),
    ("programmes/site_import.html", "self"),
    ("programmes/surveillance/cycle_form.html", "self"),
    ("programmes/surveillance/evidence_form.html", "self"),
    ("programmes/surveillance/hub_form.html", "self"),
    ("programmes/surveillance/import.html", "self"),
    ("programmes/surveillance/indicator_form.html", "self"),
    ("programmes/surveillance/standard_form.html", "self"),
    ("programmes/survey/import.html", "self"),
    ("programmes/survey/manage.html", "programmes:survey_create"),
    ("programmes/survey/question_form.html", "self"),
    ("qips/action_plans/library_confirm.html", "self"),
    ("qips/measure_data.html", "self"),
    ("qips/part_form.html", "self"),
    ("qips/plan_detail.html", "qips:review_comment_add"),
    ("qips/plan_detail.html", "qips:support_add"),
    ("qips/progress_form.html", "self"),
    ("qips/site_plans.html", "qips:plan_create"),
    ("visits/day/agenda_item_form.html", "self"),
    ("visits/day/summary.html", "visits:focus_area_add"),
    ("visits/poll_open.html", "self"),
    ("visits/events/poll_open.html", "self"),
    ("visits/events/material_form.html", "self"),
    ("visits/events/event_form.html", "self"),
    ("visits/events/session_form.html", "self"),
    ("visits/review_visits/visit_add.html", "self"),
    ("visits/reviews/_visits.html", "visits:review_visit_add"),
    ("visits/reviews/document_form.html", "self"),
    # Adding a line carries a token; changing one (the same page) is an edit, sent as is.
    ("visits/reviews/line_form.html", "self"),
    ("visits/programme_visits.html", "visits:rotation_create"),
    ("visits/programme_visits.html", "visits:visits_create"),
    ("visits/review_reports/distribution.html", "visits:review_recipient_add"),
    ("visits/visit_detail.html", "visits:attendee_add"),
}

STATE = "a state change: the second POST finds the state already changed"
EDIT = "an edit: sending the same values again changes nothing"
IDEMPOTENT = {
    ("account/email_preferences.html", "self"): EDIT,
    ("account/password_reset_from_key.html", "account_logout"): "signing out twice is "
                                                                 "signing out",
    ("account/privacy/person_anonymise.html", "self"): STATE,
    # Signing in and the second step: a code is accepted once (allauth records used codes), a
    # second POST of the same code is refused and the person is already where they meant to be.
    ("account/_reauthenticate_form.html", '<form method="post" action="{{ action }}" '
                                          'novalidate'): "confirms the password or the code "
                                                         "again",
    ("mfa/authenticate.html", "mfa_authenticate"): "a code is accepted once",
    ("mfa/authenticate.html", "account_logout"): "signing out twice is signing out",
    ("mfa/totp/activate_form.html", "mfa_activate_totp"): "a second activation finds the app "
                                                           "already set up",
    ("mfa/totp/deactivate_form.html", "mfa_deactivate_totp"): STATE,
    ("mfa/recovery_codes/generate.html", "mfa_generate_recovery_codes"): "replaces the codes: "
                                                                          "the last set shown "
                                                                          "is the one kept",
    ("base.html", "account_logout"): "signing out twice is signing out",
    ("includes/pending_invitations.html", "programmes:invitation_revoke"): STATE,
    ("programmes/eligibility_result.html", "self"): "recomputes the check from the data",
    ("programmes/directory/listing.html", "self"): EDIT,
    ("programmes/directory/listing.html", "programmes:role_group_resubscribe"): STATE,
    ("programmes/directory/unsubscribe.html", "self"): "an opt-out is kept once per person "
                                                       "and group",
    ("programmes/enrolment_list.html", "programmes:enrolment_list"): STATE,
    ("programmes/enrolment_move.html", "self"): STATE,
    ("programmes/invitation_accept.html", "self"): "an invitation is accepted once: its "
                                                    "link dies when it is used",
    ("programmes/pairing.html", "programmes:pair_lock"): STATE,
    ("programmes/pairing.html", "programmes:pair_break"): STATE,
    ("programmes/pairing.html", "programmes:pairs_swap"): STATE,
    ("programmes/pairing.html", "programmes:pairing_confirm"): STATE,
    ("programmes/pairing.html", "programmes:pairing_reopen"): STATE,
    ("programmes/pairing.html", "programmes:pairing_conflict_remove"): STATE,
    ("programmes/pairing.html", "self"): "proposes pairs again from the same data",
    ("programmes/randomisation.html", "programmes:randomisation_confirm"): STATE,
    ("programmes/resources/remove.html", "self"): STATE,
    ("programmes/site_member_remove.html", "self"): STATE,
    ("programmes/survey/comment_review.html", "self"): EDIT,
    ("programmes/survey/paper_entry.html", "self"): "carries its own submission_key",
    ("programmes/survey/public_form.html", "self"): "carries its own submission_key",
    ("programmes/survey/settings_form.html", "self"): EDIT,
    ("qips/comment_respond.html", "self"): EDIT,
    ("qips/part_form.html", "qips:part_delete"): STATE,
    ("qips/plan_detail.html", "qips:plan_transition"): STATE,
    ("qips/plan_parts/pdsa.html", "qips:pdsa_complete"): STATE,
    ("qips/plan_form.html", "self"): EDIT + ", and carries the version it was opened from",
    ("visits/day/_capture_form.html", "visits:contribution_add"): "each note carries a "
                                                                  "client_id made in the "
                                                                  "browser",
    ("visits/day/_session_panel.html", "visits:session_action"): STATE,
    ("visits/day/_session_panel.html", "visits:session_next"): STATE,
    ("visits/day/agenda.html", "visits:agenda_item_move"): "moves one place per click, "
                                                            "and the button is guarded",
    ("visits/day/agenda.html", "visits:agenda_item_remove"): STATE,
    ("visits/day/attendance.html", "self"): EDIT,
    ("visits/day/notes.html", "self"): EDIT + ", and carries the version it was opened from",
    ("visits/day/summary.html", "visits:feedback_save"): EDIT + ", and carries the version "
                                                                "it was opened from",
    ("visits/day/summary.html", "qips:plan_from_focus_area"): "one plan per focus area, "
                                                               "under a lock",
    ("visits/day/summary.html", "visits:focus_area_remove"): STATE,
    ("visits/logistics.html", "visits:task_toggle"): "sets done or not done, as sent",
    ("visits/observation/form.html", "visits:observation_form"): "one answer sheet per "
                                                                  "person, saved over",
    ("visits/poll_answer.html", "self"): "one answer per person and date, saved over",
    ("visits/poll_results.html", "visits:visit_choose_date"): STATE,
    ("visits/events/poll_results.html", "visits:event_choose_date"): "sets the date chosen, "
                                                                       "as sent",
    ("visits/events/_reply.html", "visits:event_reply"): "sets the reply, as sent; the same "
                                                         "reply again changes nothing",
    ("visits/events/attendance.html", "self"): EDIT,
    ("visits/events/event_invite.html", "self"): "inviting again adds only people not yet "
                                                 "invited, and the ledger emails each once",
    ("visits/events/event_cancel.html", "self"): STATE,
    ("visits/events/event_detail.html", "visits:event_session_remove"): STATE + " (the "
                                                                        "session is gone: 404)",
    ("visits/events/material_remove.html", "self"): STATE + " (the document is gone: 404)",
    ("visits/report/report.html", "visits:visit_report_retry"): "the notification ledger "
                                                                 "sends each email once",
    ("visits/report/report.html", "visits:visit_report_approve"): STATE + " (the draft's "
                                                                   "fingerprint)",
    ("visits/schedule.html", "self"): "schedules again from the same data",
    ("visits/visit_cancel.html", "self"): STATE,
    ("visits/visit_confirm.html", "self"): STATE,
    ("visits/visit_detail.html", "visits:visit_happened"): STATE,
    ("visits/visit_detail.html", "visits:attendee_remove"): STATE,
    ("visits/visit_detail.html", "visits:task_toggle"): "sets done or not done, as sent",
    ("visits/visit_form.html", "self"): EDIT,
    # --- one-way reviews (issue 12): each area below its own line ---
    # self-report
    ("programmes/surveillance/indicator_form.html", "programmes:quality_indicator_flag"): STATE,
    ("programmes/surveillance/indicator_form.html",
     "programmes:quality_indicator_revise"): "revising to the version it already has is "
                                              "refused",
    ("programmes/surveillance/site_self_report.html", "self"): EDIT + " (SelfReport.version)",
    ("programmes/surveillance/site_self_report.html", "programmes:self_report_submit"): STATE,
    ("programmes/surveillance/site_self_report.html", "programmes:self_report_reopen"): STATE,
    # decisions and reviewers
    ("programmes/reviewers/decision.html", "self"): EDIT + ", and carries the version it "
                                                          "was opened from",
    ("programmes/reviewers/decision.html", '<form method="post" action="{{ review_url }}" '
                                           'novalidate'): "one peer review per decision",
    ("programmes/reviewers/edit.html", "self"): EDIT,
    ("programmes/reviewers/edit.html", "programmes:reviewer_conflict_remove"): STATE,
    # reviews
    ("visits/reviews/review_create.html", "self"): "one peer review per decision: a second "
                                                   "POST is sent to it",
    ("visits/reviews/review_detail.html", "visits:review_checklist_toggle"): "sets done or not "
                                                                             "done, as sent",
    ("visits/reviews/review_detail.html", "visits:review_line_remove"): STATE + " (the line "
                                                                        "is gone: 404)",
    ("visits/reviews/review_detail.html", "visits:review_lines_agree"): STATE,
    ("visits/reviews/team.html", "self"): "replaces the team with the one sent",
    ("visits/reviews/previous_contact.html", "self"): EDIT + ", and carries the version it "
                                                             "was opened from",
    # review visits and findings
    ("visits/review_visits/finding_form.html", "self"): EDIT + ", and carries the version it "
                                                                "was opened from",
    # review reports
    ("visits/review_reports/distribution.html",
     "visits:review_recipients_add_team"): "adds only those not on the list yet",
    ("visits/review_reports/distribution.html", "visits:review_recipient_remove"): STATE + (
        " (a second POST finds them gone)"),
    ("visits/review_reports/publication.html", "visits:review_published_evidence"): EDIT + (
        ", and carries the version it was opened from"),
    ("visits/review_reports/publication.html", "visits:review_redaction_approve"): STATE + (
        " (the preview's fingerprint)"),
    ("visits/review_reports/publication.html", "visits:review_visibility"): EDIT,
    # action plans and shared learning
    ("visits/reviews/_action_plan.html", "qips:action_plan_create"): "one plan per review: "
                                                                      "a second POST opens it",
}


def _tag_end(text: str, start: int) -> int:
    """Where an HTML tag ends, skipping template tags and variables inside it."""
    i = start
    while i < len(text):
        if text.startswith(("{%", "{{"), i):
            i = text.index("%}" if text[i + 1] == "%" else "}}", i) + 2
        elif text[i] == ">":
            return i
        else:
            i += 1
    raise ValueError(start)


def post_forms():
    """(template, URL name posted to, the form's tag and inner source, the whole template)
    for every POST form."""
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for match in re.finditer(r'<form\b[^>]*method="post"', text, re.IGNORECASE):
            start = _tag_end(text, match.start())
            tag, body = text[match.start():start], text[start:text.index("</form>", start)]
            if "attrs.method" in tag:  # allauth's form element: its buttons are checked below
                continue
            action = re.search(r"action=\"\{% url '([^']+)'", tag)
            key = action.group(1) if action else "self" if "action=" not in tag else tag
            yield str(path.relative_to(TEMPLATES)), key, tag, body, text


def test_every_post_form_is_classified_and_its_buttons_ignore_a_second_click():
    seen = set()
    for template, key, tag, body, text in post_forms():
        seen.add((template, key))
        assert (template, key) in CREATES or (template, key) in IDEMPOTENT, (
            f"{template} posts to {key}: add {{% form_token %}} and @single_submission if it "
            f"makes something new, or say in IDEMPOTENT why a second POST is harmless")
        has_token = "{% form_token %}" in body
        assert has_token == ((template, key) in CREATES), (template, key)
        buttons = [body[m.start():_tag_end(body, m.start())]
                   for m in re.finditer(r"<button\b", body)]
        buttons += re.findall(r"\{% element button[^%]*%\}", body)
        if not buttons:  # a button elsewhere on the page submits it through form="<id>"
            form_id = re.search(r'id="([^"]+)"', tag).group(1)
            buttons = re.findall(r'\{% element button[^%]*form="' + form_id + r'"[^%]*%\}',
                                 text)
        assert buttons, (template, key)
        for button in buttons:
            if 'type="button"' in button or button.startswith("{% element"):
                continue  # allauth's button element adds the attribute itself (checked below)
            assert 'data-prevent-double-click="true"' in button, (template, key, button)
            assert 'data-module="nhsuk-button"' in button, (template, key, button)
    assert 'data-prevent-double-click="true"' in (
        TEMPLATES / "allauth/elements/button.html").read_text()
    # Nothing classified that no longer exists.
    assert seen == CREATES | set(IDEMPOTENT)


# --- behaviour -------------------------------------------------------------------------------


def test_the_same_new_plan_form_sent_twice_makes_one_plan(site, lead, client_for):
    client = client_for(lead)
    token = str(uuid.uuid4())
    first = client.post(f"/sites/{site.pk}/qips/new/", {"title": "CNS at diagnosis",
                                                       "form_token": token})
    plan = QualityImprovementPlan.objects.get()
    assert first.status_code == 302 and first["Location"] == f"/qips/{plan.pk}/edit/"
    second = client.post(f"/sites/{site.pk}/qips/new/", {"title": "CNS at diagnosis",
                                                        "form_token": token}, follow=True)
    assert QualityImprovementPlan.objects.count() == 1
    assert ActivityLog.objects.filter(verb="qip.created").count() == 1
    assert second.redirect_chain[0] == (f"/qips/{plan.pk}/edit/", 302)
    assert ALREADY_SAVED in second.content.decode()

    # A new form (a new token) is a new plan: the token stops duplicates, not plans.
    client.post(f"/sites/{site.pk}/qips/new/", {"title": "Another",
                                               "form_token": str(uuid.uuid4())})
    assert QualityImprovementPlan.objects.count() == 2


def test_the_rendered_form_carries_a_fresh_token_each_time(site, lead, client_for):
    client = client_for(lead)
    tokens = [re.search(r'name="form_token" value="([0-9a-f-]{36})"',
                        client.get(f"/sites/{site.pk}/qips/").content.decode()).group(1)
              for _ in range(2)]
    assert tokens[0] != tokens[1]


@pytest.fixture
def plan(site, lead):
    return plan_services.plan_create(programme=site.enrolments.first().programme, site=site,
                                     user=lead, title="CNS at diagnosis")


def test_a_review_comment_and_a_measure_sent_twice_are_saved_once(plan, core, lead,
                                                                   client_for):
    comment = {"field": "general", "text": "Say how you will count",
               "form_token": str(uuid.uuid4())}
    for _ in range(2):
        client_for(core).post(f"/qips/{plan.pk}/comments/", comment)
    assert ReviewComment.objects.filter(plan=plan).count() == 1

    measure = {"kind": "outcome", "name": "CNS present", "numerator": "Told with a CNS",
               "denominator": "Patients told", "frequency": "monthly",
               "data_source": "Clinic log", "direction": "increase", "chart": "run",
               "baseline_points": 12, "form_token": str(uuid.uuid4())}
    client = client_for(lead)
    responses = [client.post(f"/qips/{plan.pk}/measures/add/", measure) for _ in range(2)]
    assert [r.status_code for r in responses] == [302, 302]
    assert responses[1]["Location"] == responses[0]["Location"]
    assert Measure.objects.filter(plan=plan).count() == 1


def test_a_form_shown_again_with_errors_does_not_use_up_its_token(plan, lead, client_for):
    client = client_for(lead)
    token = str(uuid.uuid4())
    measure = {"kind": "outcome", "name": "", "numerator": "Told with a CNS",
               "denominator": "Patients told", "frequency": "monthly",
               "data_source": "Clinic log", "direction": "increase", "chart": "run",
               "baseline_points": 12, "form_token": token}
    shown_again = client.post(f"/qips/{plan.pk}/measures/add/", measure)
    assert shown_again.status_code == 200
    assert not FormToken.objects.filter(token=token).exists()
    client.post(f"/qips/{plan.pk}/measures/add/", {**measure, "name": "CNS present"})
    assert Measure.objects.filter(plan=plan, name="CNS present").count() == 1


def test_a_focus_area_sent_twice_is_added_once(programme, site, other_site, lead, core,
                                               client_for):
    visit = Visit.objects.create(programme=programme, host=site, visitor=other_site,
                                 status=Visit.Status.HAPPENED, date=datetime.date(2026, 3, 31))
    data = {"title": "CNS at diagnosis", "description": "", "owner": lead.pk,
            "form_token": str(uuid.uuid4())}
    for _ in range(2):
        response = client_for(core).post(f"/visits/{visit.pk}/summary/focus-areas/", data)
        assert response.status_code == 302
    assert FocusArea.objects.filter(visit=visit).count() == 1


def test_a_form_sent_back_with_an_error_message_does_not_use_up_its_token(site, lead,
                                                                         client_for):
    """Some create forms answer a mistake with a redirect and an error message rather than
    the form again: that saved nothing, so the same form, put right, must still save."""
    client = client_for(lead)
    token = str(uuid.uuid4())
    blank = client.post(f"/sites/{site.pk}/qips/new/", {"title": " ", "form_token": token},
                        follow=True)
    assert "Enter the title of the plan" in blank.content.decode()
    assert not FormToken.objects.filter(token=token).exists()
    client.post(f"/sites/{site.pk}/qips/new/", {"title": "Real", "form_token": token})
    assert QualityImprovementPlan.objects.get().title == "Real"


def test_someone_elses_token_says_already_saved_but_not_where(site, lead, cns, client_for):
    token = str(uuid.uuid4())
    client_for(lead).post(f"/sites/{site.pk}/qips/new/", {"title": "Mine",
                                                         "form_token": token})
    response = client_for(cns).post(f"/sites/{site.pk}/qips/new/", {"title": "Mine",
                                                                   "form_token": token})
    assert response["Location"] == "/"
    assert QualityImprovementPlan.objects.count() == 1


def test_tokens_older_than_a_day_are_purged(site, lead, client_for):
    client = client_for(lead)
    with time_machine.travel(datetime.datetime(2026, 5, 1, 9, tzinfo=datetime.UTC)):
        client.post(f"/sites/{site.pk}/qips/new/", {"title": "Old",
                                                   "form_token": str(uuid.uuid4())})
    with time_machine.travel(datetime.datetime(2026, 5, 2, 10, tzinfo=datetime.UTC)):
        client.force_login(lead)
        client.post(f"/sites/{site.pk}/qips/new/", {"title": "New",
                                                   "form_token": str(uuid.uuid4())})
    assert FormToken.objects.count() == 1


def test_a_state_change_sent_twice_says_so_once(plan, lead, client_for):
    plan_services.plan_update(plan=plan, user=lead, problem_statement="Too few see a CNS",
                              aim_what="More patients told with a CNS")
    Measure.objects.create(plan=plan, kind="outcome", name="CNS present",
                           numerator="n", denominator="d", frequency="monthly",
                           data_source="log", direction="increase", chart="run")
    client = client_for(lead)
    first = client.post(f"/qips/{plan.pk}/move/submit/", follow=True)
    second = client.post(f"/qips/{plan.pk}/move/submit/", follow=True)
    assert first.status_code == second.status_code == 200
    assert "cannot be moved that way" in second.content.decode()
    assert ActivityLog.objects.filter(verb="qip.submit").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_form_sent_twice_at_once_makes_one_plan_on_postgresql(site, lead):
    token = str(uuid.uuid4())

    def post():
        client = Client()
        client.force_login(lead)
        return client.post(f"/sites/{site.pk}/qips/new/",
                           {"title": "At once", "form_token": token}).status_code

    assert twice_at_once(post) == [302, 302]
    assert QualityImprovementPlan.objects.filter(title="At once").count() == 1
    connection.close()
