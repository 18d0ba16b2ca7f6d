"""The permission matrix: every URL pattern of the project, with every kind of person.

Each pattern of the URLconf (ours, allauth's and the Django admin's) has one row in MATRIX,
keyed by ``namespace:name`` (or by its route when it has no name). A row says how to fill in
the URL from the world (tests/matrix_world.py), which method to use, and what each person
should get. ``test_every_url_pattern_is_in_the_matrix`` fails when a pattern has no row (or
a row no pattern), so a new URL cannot be added without saying who may use it.

The expected results are what the product should do (docs/architecture.md, "Rules every
change follows"): the core team of a programme sees all of it; a site's current members see
their site; anyone else gets a 404, so nobody learns that a record exists; a person who may
see something but not do it gets a 403; an anonymous visitor is sent to sign in. Where the
code does otherwise, the row says what it should do and is marked xfail(strict=True) with the
reason, so the fix turns it green (and strict makes the row fail until it is un-marked).

The whole world is built once for the module, inside a transaction rolled back at the end,
and each request runs inside a savepoint that is rolled back after it, so a POST that
deletes, approves or confirms something leaves the world as it was for the next person.
"""

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.contrib import admin
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, include, path, reverse

from .matrix_world import (
    PEOPLE,
    World,
    build_world,
    put_event_material_file,
    put_resource_file,
    reopen_pairing,
)
from .matrix_world_one_way import put_review_files

# What a person gets. Integers are status codes; these are the redirects, told apart by where
# they go.
OK = 200
LOGIN = "sent to sign in"  # 302 to settings.LOGIN_URL
ADMIN_LOGIN = "sent to the admin sign-in"  # 302 to /admin/login/: Django admin is staff-only
REDIRECT = "sent elsewhere"  # 302 anywhere else: allowed, and sent on (or back, with a message)
SIGNED_IN = [p for p in PEOPLE if p != "anonymous"]


def expect(default: object, *, anonymous: object = LOGIN, **overrides: object) -> dict:
    """Every signed-in person gets `default` unless named; anonymous visitors sign in."""
    unknown = set(overrides) - set(PEOPLE)
    assert not unknown, f"not a kind of person: {unknown}"
    return {**dict.fromkeys(SIGNED_IN, default), "anonymous": anonymous, **overrides}


def core_only(**overrides: object) -> dict:
    """The programme's core team, of which the facilitator is a member; 404 for the rest."""
    return expect(404, **{"core": OK, "facilitator": OK, **overrides})


def site_team(**overrides: object) -> dict:
    """The core team and the host site's own team."""
    return core_only(**{"site_member": OK, **overrides})


def both_teams(**overrides: object) -> dict:
    """The core team and both teams of the visit: the host site and its visiting partner."""
    return site_team(**{"partner_member": OK, **overrides})


def team_writes(**overrides: object) -> dict:
    """A plan's own team writes it; the core team may read it, so it gets a 403."""
    return site_team(**{"core": 403, "facilitator": 403, **overrides})


def public(**overrides: object) -> dict:
    """A page anyone may open, signed in or not (its link or token is the credential)."""
    return expect(OK, anonymous=OK, **overrides)


SAME = "same as GET"
PARTICIPANT_SITES = ("site_member", "partner_member", "unrelated_member")


@dataclass(frozen=True)
class Row:
    """One URL pattern: how to fill it in, and what each person gets.

    ``kwargs`` values name entries of World.ids, or are Fixed(...) values. ``post`` is
    either None (GET only), SAME (POST too, same expectations) or its own expectations. A
    POST-only view has ``method="POST"``. For a POST, OK means "allowed": a 200 (a form
    shown again with its errors) or a redirect that is not to a sign-in page (the usual
    outcome of an accepted form). The POSTs send no data: a permission decision comes
    before the form is read, and nothing valid gets written.
    """

    expected: dict
    kwargs: dict = field(default_factory=dict)
    method: str = "GET"
    post: object = None
    path: str = ""  # for patterns without a name: the URL, formatted with World.ids
    query: str = ""
    bug: str = ""  # the code does not do what `expected` says yet: xfail(strict=True)
    # Puts the world in the state the page needs, inside the test's own transaction.
    prepare: Callable[[World], None] | None = None


@dataclass(frozen=True)
class Fixed:
    value: str


def kw(**names: object) -> dict:
    return names


PK = kw(pk="programme")
SITE = kw(pk="site")
VISIT = kw(pk="visit")
PLAN = kw(pk="plan")

MATRIX: dict[str, Row] = {
    # --- people's own pages ------------------------------------------------------------------
    # Anyone with one place in the product is sent straight to it (programmes.views.home);
    # the core team runs the one-way programme too, and two of the site leads also belong to
    # one of its services (tests/matrix_world_one_way.py), so they choose from a list.
    # The partner's lead is also a reviewer, so they choose too (their reviews are listed).
    "programmes:home": Row(expect(REDIRECT, core=OK, facilitator=OK, site_member=OK,
                                  partner_member=OK, unrelated_member=OK)),
    "email_preferences": Row(expect(OK)),
    # A person's data on request (ilcop.views_privacy): everyone downloads their own; only
    # staff (the data protection officer's route) export or anonymise someone else.
    "your_data": Row(expect(OK)),
    "person_data": Row(expect(404), kw(pk="person")),
    "person_anonymise": Row(expect(404), kw(pk="person"), post=SAME),
    # --- programmes: the core team's pages ---------------------------------------------------
    # Only staff set up programmes, so even a core team gets a 404.
    "programmes:programme_create": Row(expect(404), post=SAME),
    "programmes:programme_detail": Row(core_only(), PK),
    "programmes:programme_edit": Row(core_only(), PK, post=SAME),
    "programmes:programme_activity": Row(core_only(), PK, query="q=x&from=2026-01-01"),
    "programmes:enrolment_list": Row(core_only(), PK, post=SAME),
    "programmes:site_add": Row(core_only(), PK, post=SAME),
    "programmes:site_import": Row(core_only(), PK, post=SAME),
    "programmes:site_import_template": Row(core_only(), PK),
    "programmes:organisation_add": Row(core_only(), PK, post=SAME),
    "programmes:enrolment_move": Row(core_only(), kw(pk="programme", enrolment_pk="enrolment"),
                                     post=SAME),
    "programmes:core_team_invite": Row(core_only(), PK, post=SAME),
    "programmes:indicator_list": Row(core_only(), PK),
    "programmes:indicator_add": Row(core_only(), PK, post=SAME),
    "programmes:indicator_edit": Row(core_only(), kw(pk="programme", indicator_pk="indicator"),
                                     post=SAME),
    "programmes:audit_import": Row(core_only(), PK, post=SAME),
    "programmes:eligibility_check": Row(core_only(), PK, post=SAME),
    "programmes:evaluation": Row(core_only(), PK, query="baseline=2025&follow_up=2026+Q3"),
    "programmes:randomisation": Row(core_only(), PK, post=SAME),
    "programmes:randomisation_confirm": Row(
        core_only(), kw(pk="programme", run_pk="randomisation"), method="POST"),
    "programmes:pairing": Row(core_only(), PK, post=SAME),
    "programmes:pair_lock": Row(core_only(), kw(pk="programme", pair_pk="pair"),
                                method="POST", prepare=reopen_pairing),
    "programmes:pair_break": Row(core_only(), kw(pk="programme", pair_pk="pair"),
                                 method="POST", prepare=reopen_pairing),
    "programmes:pair_make": Row(core_only(), PK, method="POST", prepare=reopen_pairing),
    "programmes:pairs_swap": Row(core_only(), PK, method="POST", prepare=reopen_pairing),
    "programmes:pairing_conflict_add": Row(core_only(), PK, method="POST"),
    "programmes:pairing_conflict_remove": Row(
        core_only(), kw(pk="programme", conflict_pk="conflict"), method="POST"),
    "programmes:pairing_confirm": Row(core_only(), PK, method="POST", prepare=reopen_pairing),
    "programmes:pairing_reopen": Row(core_only(), PK, method="POST"),
    # Every enrolled site's members export their own site's rows (tests/test_exports.py).
    "programmes:exports": Row(expect(OK, other_core=404), PK),
    "programmes:export_download": Row(expect(OK, other_core=404),
                                      kw(pk="programme", slug=Fixed("visits"), fmt=Fixed("csv"))),
    "programmes:survey_manage": Row(core_only(), PK),
    "programmes:survey_create": Row(core_only(), PK, method="POST"),
    "programmes:survey_edit": Row(core_only(), PK, post=SAME),
    # A patient has answered, so the questions are locked: the core team is sent back.
    "programmes:survey_question_add": Row(core_only(core=REDIRECT, facilitator=REDIRECT), PK,
                                          post=SAME),
    "programmes:survey_question_edit": Row(
        core_only(core=REDIRECT, facilitator=REDIRECT),
        kw(pk="programme", question_pk="question"), post=SAME),
    # --- the resource library: every participant reads and downloads (all three sites are in
    # the intervention arm); only the core team changes it, so participants get a 403.
    "programmes:resource_add": Row(core_only(**dict.fromkeys(PARTICIPANT_SITES, 403)), PK,
                                   post=SAME),
    "programmes:resource_edit": Row(core_only(**dict.fromkeys(PARTICIPANT_SITES, 403)),
                                    kw(pk="programme", resource_pk="resource"), post=SAME),
    "programmes:resource_remove": Row(core_only(**dict.fromkeys(PARTICIPANT_SITES, 403)),
                                      kw(pk="programme", resource_pk="resource"), post=SAME),
    "programmes:resource_download": Row(expect(OK, other_core=404),
                                        kw(pk="programme", resource_pk="resource"),
                                        prepare=put_resource_file),
    # --- the directory and role groups: every participant reads the directory, everyone
    # signed in keeps their own listing, and only the core team emails the role groups.
    "programmes:directory": Row(expect(OK, other_core=404), PK, query="role=cns&q=x&sort=-name"),
    "programmes:directory_listing": Row(expect(OK), post=SAME),
    "programmes:role_groups": Row(core_only(**dict.fromkeys(PARTICIPANT_SITES, 403)), PK),
    "programmes:group_message_new": Row(core_only(**dict.fromkeys(PARTICIPANT_SITES, 403)), PK,
                                        post=SAME),
    "programmes:group_message_detail": Row(
        core_only(**dict.fromkeys(PARTICIPANT_SITES, 403)),
        kw(pk="programme", message_pk="role_group_message")),
    # The unsubscribe link is its own credential (RFC 8058 one-click: no sign-in, no CSRF).
    "programmes:role_group_unsubscribe": Row(public(), kw(token="role_group_unsubscribe_token"),
                                             post=SAME),
    # Only the person who opted out may opt back in.
    "programmes:role_group_resubscribe": Row(expect(404, site_member=OK),
                                             kw(opt_out_pk="role_group_opt_out"), method="POST"),
    # --- a site's pages: its own team and the core team --------------------------------------
    "programmes:site_detail": Row(site_team(), SITE),
    "programmes:site_data": Row(site_team(), SITE),
    # Members may see their site, but the core team keeps its details.
    "programmes:site_edit": Row(site_team(site_member=403), SITE, post=SAME),
    "programmes:site_team_invite": Row(site_team(), SITE, post=SAME),
    "programmes:site_member_remove": Row(site_team(), kw(pk="site", membership_pk="membership"),
                                         post=SAME),
    "programmes:invitation_resend": Row(site_team(), kw(invitation_pk="site_invitation"),
                                        method="POST"),
    "programmes:invitation_revoke": Row(site_team(), kw(invitation_pk="site_invitation"),
                                        method="POST"),
    "programmes:site_survey": Row(site_team(), SITE),
    "programmes:site_survey_poster": Row(site_team(), SITE),
    "programmes:site_survey_paper": Row(site_team(), SITE),
    "programmes:site_survey_enter": Row(site_team(), SITE, post=SAME),
    "programmes:site_survey_import": Row(site_team(), SITE, post=SAME),
    "programmes:site_survey_template": Row(site_team(), SITE),
    # A patient's own words are for the core team alone.
    "programmes:survey_comment_review": Row(site_team(site_member=403),
                                            kw(pk="site", answer_pk="answer"), post=SAME),
    # --- public pages: the link is the credential --------------------------------------------
    "programmes:survey_answer": Row(public(), kw(code="survey_code"), post=SAME),
    "programmes:survey_thanks": Row(public(), kw(code="survey_code")),
    "programmes:survey_privacy": Row(public(), kw(code="survey_code")),
    # A newcomer's invitation: the form to join, whoever happens to be signed in.
    "programmes:invitation_accept": Row(public(), kw(token="invitation_token"), post=SAME),
    "visits:poll_answer": Row(public(), kw(token="poll_token"), post=SAME),
    # --- visits ------------------------------------------------------------------------------
    "visits:programme_visits": Row(core_only(), PK),
    "visits:visits_create": Row(core_only(), PK, method="POST"),
    "visits:rotation_create": Row(core_only(), PK, method="POST"),
    "visits:schedule": Row(core_only(), PK, post=SAME),
    "visits:logistics": Row(core_only(), PK),
    "visits:site_visits": Row(site_team(), SITE),
    "visits:visit_detail": Row(both_teams(), VISIT),
    "visits:visit_edit": Row(core_only(), VISIT, post=SAME),
    "visits:poll_open": Row(core_only(), VISIT, post=SAME),
    "visits:poll_results": Row(core_only(), VISIT),
    "visits:visit_choose_date": Row(core_only(), VISIT, method="POST"),
    "visits:visit_confirm": Row(core_only(), VISIT, post=SAME),
    "visits:visit_cancel": Row(core_only(), VISIT, post=SAME),
    "visits:visit_happened": Row(core_only(), VISIT, method="POST"),
    "visits:attendee_add": Row(core_only(), VISIT, method="POST"),
    "visits:attendee_remove": Row(core_only(), kw(pk="visit", attendee_pk="attendee"),
                                  method="POST"),
    "visits:task_toggle": Row(core_only(), kw(pk="visit", task_pk="task"), method="POST"),
    # The visiting team reads the pack once the core team has marked it ready (it is).
    "visits:data_pack": Row(both_teams(), VISIT),
    "visits:data_pack_pdf": Row(both_teams(), VISIT),
    # The visit day (visits.views_day): both teams read the agenda and the summary; only the
    # core team edits the agenda, runs live mode, marks attendance and keeps notes.
    "visits:visit_agenda": Row(both_teams(), VISIT),
    "visits:agenda_item_add": Row(core_only(), VISIT, post=SAME),
    "visits:agenda_item_edit": Row(core_only(), kw(pk="visit", item_pk="agenda_item"),
                                   post=SAME),
    "visits:agenda_item_move": Row(core_only(), kw(pk="visit", item_pk="agenda_item"),
                                   method="POST"),
    "visits:agenda_item_remove": Row(core_only(), kw(pk="visit", item_pk="agenda_item"),
                                     method="POST"),
    "visits:visit_live": Row(core_only(), VISIT),
    "visits:session_next": Row(core_only(), VISIT, method="POST"),
    "visits:contribution_add": Row(core_only(), VISIT, method="POST"),
    "visits:session_action": Row(core_only(), kw(pk="visit", item_pk="agenda_item",
                                                 action=Fixed("start")), method="POST"),
    "visits:visit_summary": Row(both_teams(), VISIT),
    # The host team writes its reflections; the visiting team can see them but not change
    # them.
    "visits:feedback_save": Row(both_teams(partner_member=403),
                                kw(pk="visit", team=Fixed("host")), method="POST"),
    "visits:focus_area_add": Row(both_teams(partner_member=403), VISIT, method="POST"),
    "visits:focus_area_remove": Row(core_only(), kw(pk="visit", area_pk="focus_area"),
                                    method="POST"),
    "visits:attendance_mark": Row(core_only(), VISIT, post=SAME),
    "visits:facilitator_notes": Row(core_only(), VISIT, post=SAME),
    # The visiting team fills in the observation form; the others who can see the visit get
    # a 403 that points them to the combined view.
    "visits:observation_form": Row(
        both_teams(core=403, facilitator=403, site_member=403), VISIT, post=SAME),
    "visits:observations": Row(both_teams(), VISIT),
    # The report: both teams read approved versions; only the core team sees the draft,
    # approves and retries.
    "visits:visit_report": Row(both_teams(), VISIT),
    "visits:visit_report_draft_pdf": Row(both_teams(site_member=403, partner_member=403),
                                         VISIT),
    "visits:visit_report_pdf": Row(both_teams(), kw(pk="visit", version="report_version")),
    "visits:visit_report_approve": Row(both_teams(site_member=403, partner_member=403),
                                       VISIT, method="POST"),
    "visits:visit_report_retry": Row(both_teams(site_member=403, partner_member=403),
                                     kw(pk="visit", version="report_version"), method="POST"),
    # Event polls: the core team's; every member of the three (intervention) sites is a
    # participant of the programme, who may not run a poll (403).
    "visits:event_poll_open": Row(
        core_only(site_member=403, partner_member=403, unrelated_member=403),
        kw(pk="event_poll_undated"), post=SAME),
    "visits:event_poll_results": Row(
        core_only(site_member=403, partner_member=403, unrelated_member=403),
        kw(pk="event_poll_event")),
    "visits:event_choose_date": Row(
        core_only(site_member=403, partner_member=403, unrelated_member=403),
        kw(pk="event_poll_event"), method="POST"),
    # Event replies (visits.views_event_responses): the core team, the site's lead and the
    # partner's lead are invited and reply; a participant not invited gets a 403. The replies,
    # attendance and materials pages are the core team's; every participant downloads.
    "visits:event_reply": Row(
        expect(403, core=OK, site_member=OK, partner_member=OK, other_core=404),
        kw(pk="reply_event"), method="POST"),
    "visits:event_replies": Row(expect(403, core=OK, facilitator=OK, other_core=404),
                                kw(pk="reply_event")),
    "visits:event_reply_counts": Row(expect(403, core=OK, facilitator=OK, other_core=404),
                                     kw(pk="reply_event")),
    "visits:event_attendance": Row(expect(403, core=OK, facilitator=OK, other_core=404),
                                   kw(pk="reply_event"), post=SAME),
    "visits:event_material_add": Row(expect(403, core=OK, facilitator=OK, other_core=404),
                                     kw(pk="reply_event"), post=SAME),
    "visits:event_material_download": Row(
        expect(OK, other_core=404), kw(pk="reply_event", material_pk="event_material"),
        prepare=put_event_material_file),
    "visits:event_material_remove": Row(
        expect(403, core=OK, facilitator=OK, other_core=404),
        kw(pk="reply_event", material_pk="event_material"), post=SAME),
    # Events (visits.views_events): every participant sees the list and an announced event;
    # setting one up is the core team's (403 for participants). The calendar file is for
    # those invited (the core team and both visit sites' leads): 403 for the rest.
    "visits:programme_events": Row(expect(OK, other_core=404), PK),
    "visits:event_create": Row(core_only(**dict.fromkeys(PARTICIPANT_SITES, 403)), PK,
                               post=SAME),
    "visits:event_detail": Row(expect(OK, other_core=404), kw(pk="reply_event")),
    "visits:event_edit": Row(core_only(**dict.fromkeys(PARTICIPANT_SITES, 403)),
                             kw(pk="reply_event"), post=SAME),
    "visits:event_session_add": Row(core_only(**dict.fromkeys(PARTICIPANT_SITES, 403)),
                                    kw(pk="reply_event"), post=SAME),
    "visits:event_session_edit": Row(core_only(**dict.fromkeys(PARTICIPANT_SITES, 403)),
                                     kw(pk="reply_event", session_pk="event_session"),
                                     post=SAME),
    "visits:event_session_remove": Row(core_only(**dict.fromkeys(PARTICIPANT_SITES, 403)),
                                       kw(pk="reply_event", session_pk="event_session"),
                                       method="POST"),
    "visits:event_invite": Row(core_only(**dict.fromkeys(PARTICIPANT_SITES, 403)),
                               kw(pk="reply_event"), post=SAME),
    "visits:event_cancel": Row(core_only(**dict.fromkeys(PARTICIPANT_SITES, 403)),
                               kw(pk="reply_event"), post=SAME),
    "visits:event_calendar": Row(expect(403, core=OK, facilitator=OK, site_member=OK,
                                        partner_member=OK,
                                        other_core=404), kw(pk="reply_event")),
    # --- quality improvement plans -----------------------------------------------------------
    "qips:dashboard": Row(core_only(), PK),
    "qips:programme_plans": Row(core_only(), PK, query="reason=any&q=x&sort=-update"),
    # Every intervention site reads the library; another programme's core team does not.
    "qips:library": Row(expect(OK, other_core=404), PK),
    "qips:resources": Row(expect(OK, other_core=404), PK,
                          query="stage=sustaining&kind=guide&query=x"),
    # The core team's page about one site; the site's own team gets a 404 like everyone else.
    "qips:site_journey": Row(core_only(), kw(pk="programme", site_pk="site")),
    # Who did what, when, to one object: the core team only (qips.history).
    "qips:object_history": Row(core_only(), kw(pk="programme", kind=Fixed("plan"),
                                               object_pk="plan")),
    "qips:site_plans": Row(site_team(), SITE),
    "qips:plan_create": Row(team_writes(), SITE, method="POST"),
    # The host team starts a plan from a focus area agreed at its visit. The core team and
    # the visiting team can read the focus area on the summary, so they should get a 403.
    "qips:plan_from_focus_area": Row(
        expect(404, core=403, facilitator=403, site_member=OK, partner_member=403),
        kw(pk="focus_area"), method="POST"),
    # The plan is a draft shared with nobody: its partner does not see it.
    "qips:plan_detail": Row(site_team(), PLAN),
    "qips:plan_pdf": Row(site_team(), PLAN),
    "qips:plan_edit": Row(team_writes(), PLAN, post=SAME),
    # A draft is submitted by its team; the core team is sent back with a message.
    "qips:plan_transition": Row(site_team(core=REDIRECT, facilitator=REDIRECT),
                                kw(pk="plan", action=Fixed("submit")), method="POST"),
    "qips:review_comment_add": Row(site_team(site_member=403), PLAN, method="POST"),
    "qips:review_comment_respond": Row(team_writes(),
                                       kw(pk="plan", comment_pk="review_comment"), post=SAME),
    "qips:support_add": Row(site_team(site_member=403), PLAN, method="POST"),
    # Monthly updates start at approval: the team is sent back from a draft's.
    "qips:progress_update": Row(team_writes(site_member=REDIRECT), PLAN, post=SAME),
    "qips:measure_data": Row(site_team(), kw(pk="plan", measure_pk="measure"),
                             post=team_writes()),
    "qips:pdsa_complete": Row(team_writes(), kw(pk="plan", cycle_pk="cycle"), method="POST"),
    "qips:part_add": Row(team_writes(), kw(pk="plan", part=Fixed("drivers")), post=SAME),
    "qips:part_edit": Row(team_writes(), kw(pk="plan", part=Fixed("drivers"),
                                            part_pk="driver"), post=SAME),
    "qips:part_delete": Row(team_writes(), kw(pk="plan", part=Fixed("drivers"),
                                              part_pk="driver"), method="POST"),
    # --- one-way reviews: self-report (issue 12) ---
    # The core team's pages (programmes.views.self_report): everyone else gets a 404, even
    # the programme's own services.
    "programmes:standards": Row(core_only(), kw(pk="one_way")),
    "programmes:standard_add": Row(core_only(), kw(pk="one_way"), post=SAME),
    "programmes:standard_edit": Row(core_only(), kw(pk="one_way", standard_pk="standard"),
                                    post=SAME),
    "programmes:quality_indicators": Row(core_only(), kw(pk="one_way")),
    "programmes:quality_indicator_add": Row(core_only(), kw(pk="one_way"), post=SAME),
    "programmes:quality_indicator_edit": Row(
        core_only(), kw(pk="one_way", indicator_pk="quality_indicator"), post=SAME),
    "programmes:quality_indicator_flag": Row(
        core_only(), kw(pk="one_way", indicator_pk="quality_indicator"), method="POST"),
    "programmes:quality_indicator_revise": Row(
        core_only(), kw(pk="one_way", indicator_pk="quality_indicator"), method="POST"),
    "programmes:self_report_cycles": Row(core_only(), kw(pk="one_way")),
    "programmes:self_report_cycle_add": Row(core_only(), kw(pk="one_way"), post=SAME),
    "programmes:self_report_cycle_edit": Row(
        core_only(), kw(pk="one_way", cycle_pk="self_report_cycle"), post=SAME),
    "programmes:self_report_results": Row(
        core_only(), kw(pk="one_way", cycle_pk="self_report_cycle"), query="show=flagged"),
    "programmes:self_report_import": Row(
        core_only(), kw(pk="one_way", cycle_pk="self_report_cycle"), post=SAME),
    "programmes:self_report_import_template": Row(
        core_only(), kw(pk="one_way", cycle_pk="self_report_cycle")),
    "programmes:hubs": Row(core_only(), kw(pk="one_way")),
    "programmes:hub_add": Row(core_only(), kw(pk="one_way"), post=SAME),
    "programmes:hub_edit": Row(core_only(), kw(pk="one_way", hub_pk="hub"), post=SAME),
    # A hub's members and the core team; nobody in this world is in the hub.
    "programmes:hub_results": Row(core_only(), kw(pk="hub")),
    # A service's own self-report: its members and the core team. It is submitted already,
    # so saving and submitting send the service back with a message.
    "programmes:site_self_report": Row(site_team(), kw(pk="service"), post=SAME),
    "programmes:self_report_evidence_add": Row(site_team(), kw(pk="service"), post=SAME),
    "programmes:self_report_evidence_download": Row(
        site_team(), kw(pk="service", evidence_pk="evidence"), prepare=put_review_files),
    "programmes:self_report_submit": Row(site_team(), kw(pk="service"), method="POST"),
    # The service may see its report but only the core team reopens it.
    "programmes:self_report_reopen": Row(site_team(site_member=403), kw(pk="self_report"),
                                         method="POST"),
    # --- one-way reviews: decisions and reviewers (issue 12) ---
    # The core team records the decision; the service's own team reads it, agreed with them,
    # and may not post it (403). The reviewer pool is the core team's.
    "programmes:surveillance_decision": Row(site_team(), kw(pk="self_report"),
                                            post=site_team(site_member=403)),
    "programmes:surveillance_decisions": Row(core_only(), kw(pk="one_way"),
                                             query="risk=medium&action=peer_review"),
    "programmes:reviewers": Row(core_only(), kw(pk="one_way"),
                                query="kind=clinical&region=london&profession=doctor&trained=yes"),
    "programmes:reviewer_add": Row(core_only(), kw(pk="one_way"), post=SAME),
    "programmes:reviewer_edit": Row(core_only(), kw(pk="one_way", reviewer_pk="patient_reviewer"),
                                    post=SAME),
    "programmes:reviewer_conflict_add": Row(core_only(), kw(pk="one_way", reviewer_pk="reviewer"),
                                            post=SAME),
    "programmes:reviewer_conflict_remove": Row(
        core_only(), kw(pk="one_way", reviewer_pk="reviewer", conflict_pk="reviewer_conflict"),
        method="POST"),
    # A person's own reviewing page; only someone in a pool has a pool to declare against.
    "programmes:my_reviewing": Row(expect(OK)),
    "programmes:my_conflict_add": Row(expect(404, partner_member=OK), post=SAME),
    # --- one-way reviews: reviews (issue 12) ---
    # A review is seen by the core team, the service's own team and the review team (the
    # partner's lead is its lead reviewer); another service gets a 404. The service and the
    # core team prepare for it; the lead reviewer sees it but may not change it (403). The
    # team and the previous contact are the core team's. The decision already has its review,
    # so setting one up sends the core team to it; the service may see its decision (403).
    "visits:review_create": Row(core_only(core=REDIRECT, facilitator=REDIRECT, site_member=403),
                                kw(pk="decision"), post=core_only(site_member=403)),
    "visits:programme_reviews": Row(core_only(site_member=403, unrelated_member=403),
                                    kw(pk="one_way"), query="status=happened&format=one_day"),
    "visits:review_detail": Row(both_teams(), kw(pk="review")),
    "visits:review_guidance": Row(both_teams(), kw(pk="review")),
    "visits:review_team": Row(both_teams(site_member=403, partner_member=403), kw(pk="review"),
                              post=SAME),
    "visits:review_checklist_toggle": Row(both_teams(partner_member=403),
                                          kw(pk="review", item_pk="checklist_item"),
                                          method="POST"),
    "visits:review_line_add": Row(both_teams(partner_member=403), kw(pk="review"), post=SAME),
    "visits:review_line_edit": Row(both_teams(partner_member=403),
                                   kw(pk="review", line_pk="line_of_enquiry"), post=SAME),
    "visits:review_line_remove": Row(both_teams(partner_member=403),
                                     kw(pk="review", line_pk="line_of_enquiry"), method="POST"),
    "visits:review_lines_agree": Row(both_teams(partner_member=403), kw(pk="review"),
                                     method="POST"),
    "visits:review_document_add": Row(both_teams(partner_member=403), kw(pk="review"),
                                      post=SAME),
    "visits:review_document_download": Row(both_teams(),
                                           kw(pk="review", document_pk="review_document"),
                                           prepare=put_review_files),
    "visits:review_previous_contact": Row(both_teams(site_member=403, partner_member=403),
                                          kw(pk="review"), post=SAME),
    # --- one-way reviews: review visits and findings (issue 12) ---
    # The core team adds a review's visits; the service and the lead reviewer see the review
    # but may not (403). Everyone who sees the review reads its findings; the review team
    # and the core team write them, the service's members may not (403).
    "visits:review_visit_add": Row(core_only(site_member=403, partner_member=403),
                                   kw(pk="review"), post=SAME),
    "visits:review_findings": Row(core_only(site_member=OK, partner_member=OK),
                                  kw(pk="review")),
    "visits:review_finding_edit": Row(core_only(site_member=403, partner_member=OK),
                                      kw(pk="review", standard_pk="standard"), post=SAME),
    # --- one-way reviews: review reports (issue 12) ---
    # The core team keeps the distribution list and publishes; the service and its reviewers
    # read the list (403 on its changes and on the publication page). Not yet published
    # (visibility organisation, no approved redaction), so the published page is a 404 for
    # everyone, signed in or not; the programme's list of them is for participants and
    # reviewers (the other service and the lead reviewer included).
    "visits:review_distribution": Row(both_teams(), kw(pk="review")),
    "visits:review_recipient_add": Row(both_teams(site_member=403, partner_member=403),
                                       kw(pk="review"), method="POST"),
    "visits:review_recipients_add_team": Row(both_teams(site_member=403, partner_member=403),
                                             kw(pk="review"), method="POST"),
    "visits:review_recipient_remove": Row(both_teams(site_member=403, partner_member=403),
                                          kw(pk="review", recipient_pk="recipient"),
                                          method="POST"),
    "visits:review_publication": Row(both_teams(site_member=403, partner_member=403),
                                     kw(pk="review")),
    "visits:review_published_evidence": Row(both_teams(site_member=403, partner_member=403),
                                            kw(pk="review", finding_pk="finding"),
                                            method="POST"),
    "visits:review_redaction_approve": Row(both_teams(site_member=403, partner_member=403),
                                           kw(pk="review"), method="POST"),
    "visits:review_visibility": Row(both_teams(site_member=403, partner_member=403),
                                    kw(pk="review"), method="POST"),
    "visits:published_reviews": Row(expect(OK, other_core=404), kw(pk="one_way")),
    "visits:published_review": Row(expect(404, anonymous=404), kw(pk="review")),
    # --- one-way reviews: action plans and shared learning (issue 12) ---
    # The service and the core team start the review's action plan (here it exists, so they
    # are sent to it); the lead reviewer sees the review but not its plan: 403.
    "qips:action_plan_create": Row(site_team(partner_member=403), kw(pk="review"),
                                   method="POST"),
    "qips:action_plans": Row(core_only(), kw(pk="one_way"), query="overdue=1&support=1"),
    # Participants of the one-way programme (both services) read the themes without names;
    # the lead reviewer takes no part in the programme as a service.
    "qips:review_themes": Row(core_only(site_member=OK, unrelated_member=OK),
                              kw(pk="one_way")),
    # Only the core team shares good practice; those who see the review get a 403.
    "qips:finding_to_library": Row(core_only(site_member=403, partner_member=403),
                                   kw(pk="finding"), post=SAME),
}


# --- coverage --------------------------------------------------------------------------------


def url_patterns(patterns: Iterable | None = None, prefix: str = "",
                 namespace: str = "") -> dict[str, str]:
    """Every pattern of the URLconf as {key: full route}: ``namespace:name`` where it has a
    name, else its route."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    found: dict[str, str] = {}
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or ""
            if namespace and inner:
                inner = f"{namespace}:{inner}"
            found.update(url_patterns(pattern.url_patterns, route, inner or namespace))
        elif isinstance(pattern, URLPattern):
            if pattern.name:
                key = f"{namespace}:{pattern.name}" if namespace else pattern.name
            else:
                key = route
            assert key not in found, f"two patterns share the key {key!r}"
            found[key] = route
    return found


def coverage(matrix: Iterable[str], patterns: dict[str, str]) -> tuple[list[str], list[str]]:
    """(patterns without a row, rows without a pattern)."""
    keys = set(matrix)
    return sorted(set(patterns) - keys), sorted(keys - set(patterns))


def coverage_report(missing: list[str], stale: list[str], patterns: dict[str, str]) -> str:
    lines = []
    if missing:
        lines.append("URL patterns with no row in the permission matrix (add one to MATRIX, "
                     "saying who may use it):")
        lines += [f"  {key!r}: {patterns[key]}" for key in missing]
    if stale:
        lines.append("Rows in the permission matrix for patterns that no longer exist "
                     "(remove them, or install what adds them):")
        lines += [f"  {key!r}" for key in stale]
    return "\n".join(lines)


# --- the rows for allauth ----------------------------------------------------------------------

# allauth's account pages (allauth/account/urls.py). Signing in, resetting a password and
# the like are for anonymous visitors; a signed-in person is sent on from those.
ACCOUNT_ROWS: dict[str, Row] = {
    "account_login": Row(expect(REDIRECT, anonymous=OK)),
    "account_logout": Row(expect(OK, anonymous=REDIRECT)),
    "account_inactive": Row(public()),
    # Sign-up is closed (ilcop.adapters): anyone may read that it is.
    "account_signup": Row(expect(REDIRECT, anonymous=OK)),
    "account_reauthenticate": Row(expect(OK)),
    "account_email": Row(expect(OK)),
    "account_email_verification_sent": Row(public()),
    "account_change_password": Row(expect(OK)),
    # Everyone here has a password, so "set" sends them to "change".
    "account_set_password": Row(expect(REDIRECT)),
    "account_reset_password": Row(public()),
    # Only in the middle of signing in with a code, which is not offered: sent to sign in.
    "account_confirm_login_code": Row(expect(REDIRECT)),
    "account_confirm_email": Row(public(), kw(key=Fixed("not-a-real-key"))),
    "account_reset_password_from_key_done": Row(public()),
    "account_reset_password_from_key": Row(public(), kw(uidb36=Fixed("1"),
                                                         key=Fixed("not-a-real-key"))),
    "account_reset_password_done": Row(public()),
}

# allauth.mfa (allauth/mfa/urls.py with MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]).
# The core team has an authenticator app (tests/factories.py); site members have none.
HAS_AUTHENTICATOR = ("core", "other_core", "facilitator")
NO_AUTHENTICATOR = ("site_member", "partner_member", "unrelated_member")
MFA_ROWS: dict[str, Row] = {
    "mfa_index": Row(expect(OK)),
    # Only in the middle of signing in (allauth's login stage): anyone else is sent on.
    "mfa_authenticate": Row(expect(REDIRECT)),
    # Confirming who you are with your app: without one, allauth asks for the password.
    "mfa_reauthenticate": Row(expect(OK, **dict.fromkeys(NO_AUTHENTICATOR, REDIRECT))),
    # Setting up an app asks for the password again first (allauth's reauthentication);
    # someone who already has one is sent on.
    "mfa_activate_totp": Row(expect(REDIRECT)),
    "mfa_deactivate_totp": Row(expect(REDIRECT, **dict.fromkeys(NO_AUTHENTICATOR, 404))),
    # Nobody here has generated recovery codes (tests/mfa.py gives only the app).
    "mfa_view_recovery_codes": Row(expect(404)),
    "mfa_generate_recovery_codes": Row(expect(REDIRECT)),
    "mfa_download_recovery_codes": Row(expect(404)),
}
MATRIX.update(ACCOUNT_ROWS)
MATRIX.update(MFA_ROWS)


# --- the rows for the Django admin -------------------------------------------------------------

# Staff only. Django's admin_view sends everyone else to the admin's own sign-in page
# (django/contrib/admin/sites.py, AdminSite.admin_view). That page is wrapped in allauth's
# secure_admin_login (ilcop/urls.py), so nobody signs in there with a password alone: a
# visitor is sent to the service's sign-in (two steps for staff), and a signed-in person who
# is not staff is refused. Signing out of the admin sends non-staff to the admin's index.
ADMIN_SITE_ROWS: dict[str, Row] = {
    "admin:index": Row(expect(ADMIN_LOGIN, anonymous=ADMIN_LOGIN)),
    "admin:login": Row(expect(403)),
    "admin:logout": Row(expect(REDIRECT, anonymous=REDIRECT), method="POST"),
    "admin:password_change": Row(expect(ADMIN_LOGIN, anonymous=ADMIN_LOGIN)),
    "admin:password_change_done": Row(expect(ADMIN_LOGIN, anonymous=ADMIN_LOGIN)),
    "admin:autocomplete": Row(expect(ADMIN_LOGIN, anonymous=ADMIN_LOGIN)),
    "admin:jsi18n": Row(expect(ADMIN_LOGIN, anonymous=ADMIN_LOGIN)),
    "admin:view_on_site": Row(expect(ADMIN_LOGIN, anonymous=ADMIN_LOGIN),
                              kw(content_type_id=Fixed("1"), object_id="staff")),
    "admin:app_list": Row(expect(ADMIN_LOGIN, anonymous=ADMIN_LOGIN),
                          kw(app_label=Fixed("programmes"))),
    # Anything else under /admin/: nobody but staff learns what is there.
    "admin/(?P<url>.*)$": Row(expect(ADMIN_LOGIN, anonymous=ADMIN_LOGIN),
                              path="/admin/programmes/nothing-here/"),
}


def admin_rows() -> dict[str, Row]:
    """A row for every URL of every registered model's admin, from admin.site._registry,
    so a newly registered model is covered without a hand-written row."""
    rows = dict(ADMIN_SITE_ROWS)
    staff_only = expect(ADMIN_LOGIN, anonymous=ADMIN_LOGIN)
    for model, model_admin in admin.site._registry.items():
        prefix = f"admin/{model._meta.app_label}/{model._meta.model_name}/"
        for pattern in model_admin.urls:
            route = prefix + str(pattern.pattern)
            kwargs = dict.fromkeys(pattern.pattern.converters, "staff")
            if pattern.name:
                rows[f"admin:{pattern.name}"] = Row(staff_only, kwargs)
            else:
                # The old change URL, admin/<app>/<model>/<id>/, redirecting to .../change/.
                rows[route] = Row(staff_only, path=f"/{prefix}{{staff}}/")
    return rows


MATRIX.update(admin_rows())


# --- the world and the requests ------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterable[World]:
    """Built once for the module, in a transaction rolled back at the end; each test's own
    transaction (the `db` fixture) is a savepoint inside it."""
    fast_hasher = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast_hasher, transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def clients(world, django_db_blocker) -> dict[str, Client]:
    """One signed-in client per person for the module (their sessions live in the module's
    transaction); request_as puts each client's cookies back after every request."""
    made = {}
    with django_db_blocker.unblock():
        for person in PEOPLE:
            client = Client()
            if world.people[person] is not None:
                client.force_login(world.people[person])
            made[person] = client
    return made


def url_for(key: str, row: Row, world: World) -> str:
    values = {name: (value.value if isinstance(value, Fixed) else world.ids[value])
              for name, value in row.kwargs.items()}
    url = row.path.format(**world.ids) if row.path else reverse(key, kwargs=values)
    return f"{url}?{row.query}" if row.query else url


def outcome(response: HttpResponse) -> object:
    if response.status_code != 302:
        return response.status_code
    location = response["Location"]
    if location.startswith(resolve_url(settings.LOGIN_URL)):
        return LOGIN
    if location.startswith(reverse("admin:login")):
        return ADMIN_LOGIN
    return REDIRECT


def matches(got: object, wanted: object, method: str) -> bool:
    if method == "POST" and wanted == OK:
        # An allowed POST either shows its form again (200) or redirects after success.
        return got in (OK, REDIRECT)
    return got == wanted


def request_as(client: Client, method: str, url: str) -> HttpResponse:
    # A savepoint per request: a POST that changes something is undone before the next one.
    # The cookies too: signing out (or in) must not change who the client is next time.
    cookies = copy.deepcopy(client.cookies)
    with transaction.atomic():
        response = client.post(url) if method == "POST" else client.get(url)
        transaction.set_rollback(True)
    client.cookies = cookies
    return response


def mismatches(clients: dict[str, Client], method: str, url: str, expected: dict) -> list[str]:
    problems = []
    for person in PEOPLE:
        got = outcome(request_as(clients[person], method, url))
        if not matches(got, expected[person], method):
            problems.append(f"{method} {url} as {person}: expected {expected[person]!r}, "
                            f"got {got!r}")
    return problems


def _params() -> list:
    params = []
    for key, row in MATRIX.items():
        marks = [pytest.mark.xfail(strict=True, reason=row.bug)] if row.bug else []
        params.append(pytest.param(key, row, id=key, marks=marks))
    return params


# --- the tests ---------------------------------------------------------------------------------


def test_every_url_pattern_is_in_the_matrix():
    patterns = url_patterns()
    missing, stale = coverage(MATRIX, patterns)
    assert not (missing or stale), coverage_report(missing, stale, patterns)


def test_a_new_url_left_out_of_the_matrix_fails_the_coverage_test():
    """The guard itself: one more pattern, and the coverage check names it."""
    def new_page(request):  # pragma: no cover - never requested
        return HttpResponse()

    before, _ = coverage(MATRIX, url_patterns())
    patterns = url_patterns([*get_resolver().url_patterns,
                             path("reports/new/", new_page, name="new_page")])
    missing, stale = coverage(MATRIX, patterns)
    assert set(missing) - set(before) == {"new_page"}
    assert "'new_page': reports/new/" in coverage_report(missing, stale, patterns)
    # And a row whose pattern has gone is named too.
    missing, stale = coverage({**MATRIX, "programmes:gone": Row(expect(404))}, url_patterns())
    assert "programmes:gone" in stale


def test_unnamed_patterns_are_keyed_by_route_and_named_ones_by_namespace():
    inner = include(([path("c/", HttpResponse, name="page"), path("d/", HttpResponse)],
                     "inner"))
    patterns = url_patterns([path("a/", HttpResponse), path("b/", inner)])
    assert patterns == {"a/": "a/", "inner:page": "b/c/", "b/d/": "b/d/"}


@pytest.mark.parametrize(("key", "row"), _params())
def test_who_gets_what(world, clients, db, key, row):
    if key not in url_patterns():
        pytest.skip("not in the URLconf: test_every_url_pattern_is_in_the_matrix says why")
    if row.prepare:
        row.prepare(world)
    url = url_for(key, row, world)
    problems = mismatches(clients, row.method, url, row.expected)
    if row.post is not None:
        expected = row.expected if row.post == SAME else row.post
        problems += mismatches(clients, "POST", url, expected)
    assert not problems, "\n".join(problems)


def test_staff_reach_the_admin(world, db):
    client = Client()
    client.force_login(world.staff)
    assert client.get(reverse("admin:index")).status_code == 200
