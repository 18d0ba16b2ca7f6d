"""The observation form: its definition and answer rules, drafts, submission, versions, who
sees what, and the side-by-side view."""

import copy
import datetime
import re

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ilcop.models import ActivityLog
from programmes.models import SiteMembership
from visits import observation_form as rules
from visits.models import ObservationForm, ObservationResponse, Visit
from visits.services import observation as service

from .factories import EnrolmentFactory, SiteMembershipFactory

NOW = datetime.datetime(2026, 3, 31, 10, 42, tzinfo=datetime.UTC)  # 11:42 in London (BST)
DEFINITION = rules.DEFAULT_DEFINITION


def full_answers(definition=DEFINITION, rating="4") -> dict[str, str]:
    """A valid string for every question, as a browser would post them."""
    raw = {}
    for question in rules.questions(definition):
        raw[question["key"]] = {"rating": rating, "yes_no_partly": "partly",
                                "number": str(question.get("min", 0) + 1),
                                "text": f"Notes on {question['key']}"}[question["type"]]
    return raw


# --- The definition and its rules (pure) -----------------------------------------------------


def test_the_default_definition_is_valid_and_covers_the_meeting():
    assert rules.validate_definition(DEFINITION) == []
    titles = " ".join(s["title"] for s in DEFINITION).lower()
    for subject in ("attended", "chairing", "preparation", "scans", "technology", "decisions",
                    "patient", "data"):
        assert subject in titles
    kinds = {q["type"] for q in rules.questions(DEFINITION)}
    assert kinds == set(rules.QUESTION_TYPES)
    keys = [q["key"] for q in rules.questions(DEFINITION)]
    assert len(keys) == len(set(keys))


def test_validate_definition_names_every_problem():
    broken = copy.deepcopy(DEFINITION[:2])
    broken[1]["questions"][0]["key"] = broken[0]["questions"][0]["key"]
    broken[1]["questions"][1]["type"] = "slider"
    broken[0]["questions"][1] = {"key": "n", "type": "number", "text": "How many?",
                                 "min": 5, "max": 1}
    broken[0]["questions"][2]["key"] = "Bad Key"
    broken[0]["questions"][3]["text"] = ""
    broken[0]["questions"][4]["key"] = "action"
    problems = rules.validate_definition(broken)
    assert any("used more than once" in p for p in problems)
    assert any("unknown type 'slider'" in p for p in problems)
    assert any("min is more than max" in p for p in problems)
    assert any("lower-case letters" in p for p in problems)
    assert any("needs its wording" in p for p in problems)
    assert any("'action' is reserved" in p for p in problems)
    assert rules.validate_definition([]) == ["The form needs at least one section"]
    assert rules.validate_definition("nope") == ["The form needs at least one section"]
    assert rules.validate_definition([{"key": "s", "title": "S", "questions": []}]) == [
        "Section 1 needs at least one question"]
    labels = [{"key": "s", "title": "S", "questions": [
        {"key": "r", "type": "rating", "text": "Rate", "labels": ["a", "b"]}]}]
    assert rules.validate_definition(labels) == ["Section 1, question 1 needs five rating labels"]


def test_clean_answers_types_each_answer_and_explains_mistakes():
    answers, errors = rules.clean_answers(DEFINITION, {
        "att_surgeons": " 3 ", "att_cns": "31", "att_radiologists": "two",
        "chair_rating": "5", "prep_rating": "6", "chair_clear": "yes", "dec_stated": "maybe",
        "att_notes": "Room was full\r\nand warm", "chair_notes": "   ",
        "csrfmiddlewaretoken": "x", "not_a_question": "ignored",
    })
    assert answers == {"att_surgeons": 3, "chair_rating": 5, "chair_clear": "yes",
                       "att_notes": "Room was full\nand warm"}
    assert errors == {
        "att_cns": "Enter a whole number between 0 and 30",
        "att_radiologists": "Enter a whole number between 0 and 30",
        "prep_rating": "Choose a rating from 1 to 5",
        "dec_stated": "Choose yes, partly or no",
    }
    # Long text is refused with its limit.
    _, errors = rules.clean_answers(DEFINITION, {"att_notes": "x" * 4001})
    assert errors == {"att_notes": "Keep this answer to 4,000 characters or fewer"}
    # A NUL, which PostgreSQL cannot store, is refused rather than a server error (found by
    # the fuzzer on PostgreSQL).
    _, errors = rules.clean_answers(DEFINITION, {"att_notes": "a\x00b"})
    assert errors == {"att_notes": "This answer contains a hidden character that cannot be "
                                   "saved. Retype it"}


def test_missing_answers_requires_everything_but_free_text():
    answers, errors = rules.clean_answers(DEFINITION, full_answers())
    assert errors == {}
    assert rules.missing_answers(DEFINITION, answers) == []
    for question in rules.questions(DEFINITION):
        if question["type"] == "text":
            del answers[question["key"]]
    assert rules.missing_answers(DEFINITION, answers) == []
    del answers["chair_rating"], answers["att_surgeons"]
    assert rules.missing_answers(DEFINITION, answers) == ["att_surgeons", "chair_rating"]
    # A question can say otherwise.
    custom = [{"key": "s", "title": "S", "questions": [
        {"key": "why", "type": "text", "text": "Why?", "required": True},
        {"key": "n", "type": "number", "text": "N", "min": 0, "max": 3, "required": False}]}]
    assert rules.missing_answers(custom, {}) == ["why"]


def test_answers_read_as_people_say_them_and_summaries_across_observers():
    rating = {"type": "rating", "labels": rules.RATING_LABELS}
    assert rules.display_answer(rating, 4) == "4 – Very good"
    assert rules.display_answer({"type": "yes_no_partly"}, "partly") == "Partly"
    assert rules.display_answer({"type": "number"}, 0) == "0"
    assert rules.display_answer({"type": "text"}, None) == ""
    assert rules.summarise(rating, [4, 5, None, 3]) == "Average 4.0 (3 rated)"
    assert rules.summarise(rating, [2, 3]) == "Average 2.5 (2 rated)"
    assert rules.summarise({"type": "yes_no_partly"}, ["yes", "no", "yes"]) == "2 yes, 1 no"
    assert rules.summarise({"type": "number"}, [4, 6, 4]) == "4 to 6"
    assert rules.summarise({"type": "number"}, [4, 4]) == "4"
    assert rules.summarise({"type": "text"}, ["a"]) == ""
    assert rules.summarise(rating, []) == ""
    assert rules.rating_average([1, 2, None]) == 1.5


# --- Fixtures --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def visit(programme, site, other_site, core):
    """other_site visits site (the host)."""
    return Visit.objects.create(programme=programme, host=site, visitor=other_site,
                                status=Visit.Status.CONFIRMED, date=datetime.date(2026, 3, 31))


@pytest.fixture
def visiting_cns(other_site):
    return SiteMembershipFactory(site=other_site, role=SiteMembership.Role.CNS,
                                 user__full_name="Vera Visiting").user


@pytest.fixture
def unrelated_lead(programme):
    third = EnrolmentFactory(programme=programme, status="intervention").site
    return SiteMembershipFactory(site=third, role=SiteMembership.Role.CLINICAL_LEAD).user


def form_url(visit):
    return f"/visits/{visit.pk}/observation/"


def combined_url(visit):
    return f"/visits/{visit.pk}/observations/"


# --- Drafts ----------------------------------------------------------------------------------


def test_drafts_save_as_you_go_and_come_back_on_the_page(visit, other_lead, client_for):
    client = client_for(other_lead)
    page = client.get(form_url(visit)).content.decode()
    assert 'inputmode="numeric"' in page and 'data-prevent-double-click="true"' in page
    assert "Submit my observations" in page and "js/observation.js" in page
    assert "<script>" not in page and " onclick=" not in page

    response = client.post(form_url(visit), {"att_surgeons": "2", "chair_rating": "4"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    status = response.content.decode()
    assert "Saved at 11:42" in status and 'data-complete="true"' in status
    # The whole form is posted each time: a blank clears, a wrong answer keeps the old one.
    response = client.post(form_url(visit), {
        "att_surgeons": "lots", "chair_rating": "", "att_notes": "Crowded room",
        "dec_stated": "yes"}, HTTP_HX_REQUEST="true")
    status = response.content.decode()
    assert "One answer was not saved" in status and 'data-complete="false"' in status
    assert "Enter a whole number between 0 and 30" in status
    saved = ObservationResponse.objects.get(visit=visit, observer=other_lead)
    assert saved.answers == {"att_surgeons": 2, "att_notes": "Crowded room", "dec_stated": "yes"}
    assert saved.submitted_at is None
    assert saved.form.version == 1

    page = client.get(form_url(visit)).content.decode()
    assert re.search(r'id="q-att_surgeons"[^>]*value="2"', page)
    assert re.search(r'id="q-dec_stated-yes"[^>]*checked', page)
    assert "Crowded room</textarea>" in page
    assert "Last saved 31 March at 11:42" in page
    assert 'data-storage-key="observation:' in page
    # Only the first save is logged, not every keystroke.
    assert list(ActivityLog.objects.filter(verb__startswith="observation.").values_list(
        "verb", flat=True)) == ["observation.started"]


def test_saving_without_javascript(visit, other_lead, client_for):
    client = client_for(other_lead)
    response = client.post(form_url(visit), {"att_surgeons": "2", "action": "save"})
    assert response.status_code == 302
    response = client.post(form_url(visit), {"att_surgeons": "200", "action": "save"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page and "<title>Error: " in page
    assert '<a href="#q-att_surgeons">Enter a whole number between 0 and 30</a>' in page
    assert re.search(r'id="q-att_surgeons"[^>]*value="200"', page)  # what they typed
    assert ObservationResponse.objects.get().answers == {"att_surgeons": 2}


# --- Submission ------------------------------------------------------------------------------


def test_submit_refuses_missing_answers_then_locks(visit, other_lead, client_for):
    client = client_for(other_lead)
    raw = full_answers()
    del raw["chair_rating"], raw["att_total"]
    response = client.post(form_url(visit), {**raw, "action": "submit"})
    assert response.status_code == 200
    page = response.content.decode()
    assert '<a href="#q-att_total">Answer “How many people attended altogether?”</a>' in page
    assert '<a href="#q-chair_rating-1">Answer “How well was the meeting chaired?”</a>' in page
    assert not ObservationResponse.objects.get().submitted_at
    with pytest.raises(ValidationError) as refused:
        service.observation_submit(visit=visit, observer=other_lead)
    assert set(refused.value.message_dict) == {"chair_rating", "att_total"}

    response = client.post(form_url(visit), {**full_answers(), "action": "submit"})
    assert response.status_code == 302
    saved = ObservationResponse.objects.get()
    assert saved.submitted_at == NOW
    page = client.get(form_url(visit)).content.decode()
    assert "You submitted these observations" in page and "data-observation-submitted" in page
    assert "4 – Very good" in page and "<textarea" not in page

    # No more changes once submitted.
    response = client.post(form_url(visit), {"att_surgeons": "9"}, HTTP_HX_REQUEST="true")
    assert "Not saved: Your observations have been submitted" in response.content.decode()
    with pytest.raises(ValidationError):
        service.observation_draft_save(visit=visit, observer=other_lead, raw={"att_cns": "1"})
    with pytest.raises(ValidationError, match="already been submitted"):
        service.observation_submit(visit=visit, observer=other_lead)
    assert ObservationResponse.objects.get().answers["att_surgeons"] == 1
    assert sorted(ActivityLog.objects.filter(verb__startswith="observation.").values_list(
        "verb", flat=True)) == ["observation.started", "observation.submitted"]


def test_only_the_visiting_team_observes_and_not_on_a_cancelled_visit(visit, lead, core,
                                                                        other_lead):
    for person in (lead, core):
        with pytest.raises(ValidationError, match="Only members of the visiting team"):
            service.observation_draft_save(visit=visit, observer=person, raw={})
    SiteMembership.objects.filter(user=other_lead).update(ended_at=NOW)
    with pytest.raises(ValidationError):
        service.observation_draft_save(visit=visit, observer=other_lead, raw={})
    SiteMembership.objects.filter(user=other_lead).update(ended_at=None)
    visit.status = Visit.Status.CANCELLED
    visit.save()
    with pytest.raises(ValidationError, match="once the visit is confirmed"):
        service.observation_draft_save(visit=visit, observer=other_lead, raw={})
    visit.status = Visit.Status.CONFIRMED
    visit.save()
    with pytest.raises(ValidationError, match="Answer the questions"):
        service.observation_submit(visit=visit, observer=other_lead)


# --- Versions --------------------------------------------------------------------------------


def test_a_new_version_leaves_old_answers_with_their_questions(
    visit, programme, core, other_lead, visiting_cns, client_for
):
    first = service.observation_form_current(programme)
    assert (first.version, first.title) == (1, rules.DEFAULT_TITLE)
    assert service.observation_form_current(programme) == first
    service.observation_draft_save(visit=visit, observer=other_lead, raw=full_answers())
    service.observation_submit(visit=visit, observer=other_lead)

    changed = copy.deepcopy(DEFINITION)
    changed[1]["questions"] = [q for q in changed[1]["questions"]
                               if q["key"] != "chair_rating"]
    changed[1]["questions"].append(rules._rating(
        "chair_fairness", "How fairly did the chair share out the time?"))
    with pytest.raises(ValidationError):
        service.observation_form_new_version(programme=programme, definition=[], user=core)
    second = service.observation_form_new_version(programme=programme, definition=changed,
                                                  user=core)
    assert second.version == 2 and second.title == first.title
    assert service.observation_form_current(programme) == second
    assert ActivityLog.objects.filter(verb="observation_form.versioned").count() == 1

    # The first observer keeps version 1; someone starting now gets version 2.
    assert ObservationResponse.objects.get(observer=other_lead).form == first
    service.observation_draft_save(visit=visit, observer=visiting_cns,
                                   raw=full_answers(changed, rating="2"))
    assert ObservationResponse.objects.get(observer=visiting_cns).form == second
    service.observation_submit(visit=visit, observer=visiting_cns)

    page = client_for(other_lead).get(form_url(visit)).content.decode()
    assert "How well was the meeting chaired?" in page
    assert "How fairly did the chair" not in page
    combined = client_for(core).get(combined_url(visit)).content.decode()
    assert "Answers to version 2 of the form" in combined
    assert "Answers to version 1 of the form" in combined
    v2, v1 = combined.split("Answers to version 1 of the form")
    assert "How fairly did the chair" in v2 and "Vera Visiting" in v2
    assert "How well was the meeting chaired?" in v1 and "How fairly" not in v1
    assert str(other_lead) in v1 and "Vera Visiting" not in v1


# --- Who may see what ------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "form_status", "combined_status"), [
    ("core", 403, 200),
    ("lead", 403, 200),  # the host team
    ("other_lead", 200, 200),  # the visiting team
    ("unrelated_lead", 404, 404),
    ("other_core", 404, 404),
    ("outsider", 404, 404),
])
def test_permissions(request, visit, client_for, who, form_status, combined_status):
    client = client_for(request.getfixturevalue(who))
    response = client.get(form_url(visit))
    assert response.status_code == form_status
    if form_status == 403:
        assert "Only the visiting team fills in the observation form" in response.content.decode()
    saved = client.post(form_url(visit), {"att_cns": "1"}, HTTP_HX_REQUEST="true")
    assert saved.status_code == form_status
    assert client.get(combined_url(visit)).status_code == combined_status
    assert not ObservationResponse.objects.exclude(observer__site_memberships__site=visit.visitor
                                                   ).exists()


def test_anonymous_people_are_sent_to_sign_in(visit, client):
    for url in (form_url(visit), combined_url(visit)):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post(form_url(visit), {"att_cns": "1"}).status_code == 302
    assert not ObservationResponse.objects.exists()


# --- Side by side ----------------------------------------------------------------------------


def add_observer(visit, name, rating, submit=True):
    person = SiteMembershipFactory(site=visit.visitor, role=SiteMembership.Role.MDT_COORDINATOR,
                                   user__full_name=name).user
    service.observation_draft_save(visit=visit, observer=person,
                                   raw=full_answers(rating=rating))
    if submit:
        service.observation_submit(visit=visit, observer=person)
    return person


def test_the_combined_view_shows_submitted_answers_side_by_side(visit, lead, client_for):
    add_observer(visit, "Ada Observer", "5")
    add_observer(visit, "Ben Observer", "2")
    add_observer(visit, "Cal Drafting", "1", submit=False)
    page = client_for(lead).get(combined_url(visit)).content.decode()
    assert "2 observers submitted; 1 still has a draft that is not submitted" in page
    assert "Cal Drafting" not in page
    section = page.split('id="v1-chairing"')[1].split("</table>")[0]
    assert section.index("Ada Observer") < section.index("Ben Observer")
    assert "MDT coordinator" in section
    row = section.split("How well was the meeting chaired?")[1].split("</tr>")[0]
    cells = re.findall(r'<td class="nhsuk-table__cell">(.*?)</td>', row)
    assert cells == ["5 – Excellent", "2 – Fair", "Average 3.5 (2 rated)"]
    row = section.split("Did the meeting start on time?")[1].split("</tr>")[0]
    assert "2 partly" in row
    assert 'class="nhsuk-table-container" tabindex="0" role="region"' in page
    # Nothing submitted yet.
    ObservationResponse.objects.update(submitted_at=None)
    page = client_for(lead).get(combined_url(visit)).content.decode()
    assert "Nobody has submitted their observations yet; 3 still have a draft" in page


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def test_query_counts_do_not_grow_with_the_observers(visit, core, other_lead, client_for):
    service.observation_draft_save(visit=visit, observer=other_lead, raw=full_answers())
    as_core, as_observer = client_for(core), client_for(other_lead)
    counts = []
    for more in (2, 10):
        for n in range(more - ObservationResponse.objects.filter(
                visit=visit, submitted_at__isnull=False).count()):
            add_observer(visit, f"Observer {more}-{n}", str(1 + n % 5))
        add_observer(visit, f"Drafting {more}", "3", submit=False)
        counts.append((count_queries(as_core, combined_url(visit)),
                       count_queries(as_observer, form_url(visit))))
    assert ObservationResponse.objects.filter(submitted_at__isnull=False).count() == 10
    assert counts[0] == counts[1], counts
    combined, form = counts[0]
    assert combined <= 7 and form <= 6, counts


def test_the_form_is_created_once_per_programme(programme):
    assert ObservationForm.objects.count() == 0
    service.observation_form_current(programme)
    service.observation_form_current(programme)
    assert ObservationForm.objects.filter(programme=programme).count() == 1
