"""Who may see each page. Out of scope gives 404, so nobody learns that a record exists.

Every page is walked with the programme's core team, the site's clinical lead and CNS, the
lead of another site in the same programme, the core team of another programme, an outsider
and an anonymous visitor.
"""

import uuid

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from ilcop.models import User
from programmes.models import Enrolment, Indicator, Invitation, Randomisation, SiteMembership
from programmes.services import survey as survey_services
from qips.models import Measure, ReviewComment
from qips.services import plans as plan_services
from visits.models import FocusArea, Visit, VisitReport

from .factories import SiteMembershipFactory

PEOPLE = ["core", "lead", "cns", "other_lead", "other_core", "outsider"]


def programme_only(**overrides):
    expected = dict.fromkeys(PEOPLE, 404)
    expected["core"] = 200
    expected.update(overrides)
    return expected


# (name, url template, expected status for each person)
PAGES = [
    # Everyone's own: it shows and changes only the signed-in person's preference.
    ("email preferences", "/accounts/reminders/", dict.fromkeys(PEOPLE, 200)),
    ("programme", "/programmes/{programme}/", programme_only()),
    ("programme edit", "/programmes/{programme}/edit/", programme_only()),
    ("dashboard", "/programmes/{programme}/dashboard/", programme_only()),
    ("programme activity", "/programmes/{programme}/activity/?q=x&from=2026-01-01",
     programme_only()),
    ("programme visits filtered", "/programmes/{programme}/visits/?status=live&facilitator=none"
     "&report=problem&sort=-date", programme_only()),
    ("logistics filtered", "/programmes/{programme}/logistics/?overdue=1&owner=none",
     programme_only()),
    ("programme plans filtered", "/programmes/{programme}/qips/?reason=any&q=x&sort=-update",
     programme_only()),
    ("site list", "/programmes/{programme}/sites/", programme_only()),
    ("site list filtered", "/programmes/{programme}/sites/?reached=eligible&region=london",
     programme_only()),
    ("site add", "/programmes/{programme}/sites/add/", programme_only()),
    ("organisation add", "/programmes/{programme}/organisations/add/", programme_only()),
    ("site import", "/programmes/{programme}/sites/import/", programme_only()),
    ("import template", "/programmes/{programme}/sites/import/template.csv", programme_only()),
    ("enrolment move", "/programmes/{programme}/enrolments/{enrolment}/move/", programme_only()),
    ("core team invite", "/programmes/{programme}/core-team/invite/", programme_only()),
    ("audit data", "/programmes/{programme}/indicators/", programme_only()),
    ("indicator add", "/programmes/{programme}/indicators/add/", programme_only()),
    ("indicator edit", "/programmes/{programme}/indicators/{indicator}/edit/", programme_only()),
    ("audit import", "/programmes/{programme}/indicators/import/", programme_only()),
    ("randomisation", "/programmes/{programme}/randomisation/", programme_only()),
    ("pairing", "/programmes/{programme}/pairing/", programme_only()),
    ("eligibility", "/programmes/{programme}/eligibility/", programme_only()),
    ("evaluation", "/programmes/{programme}/evaluation/", programme_only()),
    ("evaluation with periods",
     "/programmes/{programme}/evaluation/?baseline=2025&follow_up=2026+Q3", programme_only()),
    ("visit", "/visits/{visit}/", programme_only(lead=200, cns=200, other_lead=200)),
    ("visit edit", "/visits/{visit}/edit/", programme_only()),
    ("visit poll", "/visits/{visit}/poll/new/", programme_only()),
    ("visit confirm", "/visits/{visit}/confirm/", programme_only()),
    ("visit cancel", "/visits/{visit}/cancel/", programme_only()),
    ("observation form", "/visits/{visit}/observation/",
     programme_only(core=403, lead=403, cns=403, other_lead=200)),
    ("observations", "/visits/{visit}/observations/",
     programme_only(lead=200, cns=200, other_lead=200)),
    ("visit agenda", "/visits/{visit}/agenda/", programme_only(lead=200, cns=200, other_lead=200)),
    ("visit summary", "/visits/{visit}/summary/",
     programme_only(lead=200, cns=200, other_lead=200)),
    ("visit live mode", "/visits/{visit}/live/", programme_only()),
    ("visit attendance", "/visits/{visit}/attendance/", programme_only()),
    ("facilitator notes", "/visits/{visit}/notes/", programme_only()),
    # The teams read the approved versions, never the draft. The visit has not happened yet,
    # so even the core team's draft PDF is refused with a 409.
    ("visit report", "/visits/{visit}/report/", programme_only(lead=200, cns=200,
                                                               other_lead=200)),
    ("visit report draft pdf", "/visits/{visit}/report/draft.pdf",
     programme_only(core=409, lead=403, cns=403, other_lead=403)),
    ("visit report pdf", "/visits/{visit}/report/v{report_version}.pdf",
     programme_only(lead=200, cns=200, other_lead=200)),
    ("site", "/sites/{site}/", programme_only(lead=200, cns=200)),
    ("site data", "/sites/{site}/data/", programme_only(lead=200, cns=200)),
    ("site visits", "/sites/{site}/visits/", programme_only(lead=200, cns=200)),
    ("programme visits", "/programmes/{programme}/visits/", programme_only()),
    ("visit schedule", "/programmes/{programme}/visits/schedule/", programme_only()),
    ("logistics", "/programmes/{programme}/logistics/", programme_only()),
    ("site edit", "/sites/{site}/edit/", programme_only(lead=403, cns=403)),
    ("survey", "/programmes/{programme}/survey/", programme_only()),
    ("survey settings", "/programmes/{programme}/survey/edit/", programme_only()),
    # A patient has answered (see world), so the core team is sent back: questions are locked.
    ("survey question add", "/programmes/{programme}/survey/questions/add/",
     programme_only(core=302)),
    ("survey question edit", "/programmes/{programme}/survey/questions/{question}/edit/",
     programme_only(core=302)),
    ("site survey", "/sites/{site}/survey/", programme_only(lead=200, cns=200)),
    ("survey poster", "/sites/{site}/survey/poster.pdf", programme_only(lead=200, cns=200)),
    ("survey paper form", "/sites/{site}/survey/paper-form.pdf",
     programme_only(lead=200, cns=200)),
    ("survey paper entry", "/sites/{site}/survey/enter/", programme_only(lead=200, cns=200)),
    ("survey import", "/sites/{site}/survey/import/", programme_only(lead=200, cns=200)),
    ("survey import template", "/sites/{site}/survey/import/template.csv",
     programme_only(lead=200, cns=200)),
    # The patient's own words are the core team's alone.
    ("survey comment review", "/sites/{site}/survey/comments/{comment}/",
     programme_only(lead=403, cns=403)),
    # The visiting team (other_lead) reads the pack only once it is marked ready.
    ("data pack", "/visits/{visit}/data-pack/", programme_only(lead=200, cns=200,
                                                               other_lead=200)),
    ("data pack pdf", "/visits/{visit}/data-pack.pdf", programme_only(lead=200, cns=200,
                                                                      other_lead=409)),
    # Quality improvement plans: the site team writes; the core team reads and reviews.
    ("site plans", "/sites/{site}/qips/", programme_only(lead=200, cns=200)),
    ("plan", "/qips/{plan}/", programme_only(lead=200, cns=200)),
    ("plan edit", "/qips/{plan}/edit/", programme_only(core=403, lead=200, cns=200)),
    ("plan pdf", "/qips/{plan}/report.pdf", programme_only(lead=200, cns=200)),
    ("plan measure data", "/qips/{plan}/measures/{measure}/data/",
     programme_only(lead=200, cns=200)),
    ("plan driver add", "/qips/{plan}/drivers/add/", programme_only(core=403, lead=200,
                                                                   cns=200)),
    ("plan measure edit", "/qips/{plan}/measures/{measure}/edit/",
     programme_only(core=403, lead=200, cns=200)),
    # The plan is a draft: monthly updates start at approval, so the team is sent back.
    ("plan progress update", "/qips/{plan}/progress/", programme_only(core=403, lead=302,
                                                                     cns=302)),
    ("plan comment answer", "/qips/{plan}/comments/{review_comment}/answer/",
     programme_only(core=403, lead=200, cns=200)),
    ("programme plans", "/programmes/{programme}/qips/", programme_only()),
    # The core team's page about one site; the site's own team gets a 404 like everyone else.
    ("site journey", "/programmes/{programme}/sites/{site}/journey/", programme_only()),
    ("plan library", "/programmes/{programme}/library/",
     programme_only(lead=200, cns=200, other_lead=200)),
    # Every enrolled site's members export their own site's rows (tests/test_exports.py).
    ("exports", "/programmes/{programme}/exports/",
     programme_only(lead=200, cns=200, other_lead=200)),
    ("export csv", "/programmes/{programme}/exports/visits.csv",
     programme_only(lead=200, cns=200, other_lead=200)),
    ("export xlsx", "/programmes/{programme}/exports/plans.xlsx",
     programme_only(lead=200, cns=200, other_lead=200)),
    ("site team invite", "/sites/{site}/team/invite/", programme_only(lead=200, cns=403)),
    ("site member remove", "/sites/{site}/team/{membership}/remove/",
     programme_only(lead=200, cns=403)),
]

POSTS = [
    ("invitation resend", "/invitations/{site_invitation}/resend/", programme_only(lead=302,
                                                                                    cns=404)),
    ("invitation withdraw", "/invitations/{site_invitation}/withdraw/",
     programme_only(lead=302, cns=404)),
    ("core invitation withdraw", "/invitations/{core_invitation}/withdraw/", programme_only()),
    ("eligibility check", "/programmes/{programme}/eligibility/", programme_only()),
    ("survey create", "/programmes/{programme}/survey/create/", programme_only()),
    ("plan start", "/sites/{site}/qips/new/", programme_only(core=403, lead=200, cns=200)),
    ("plan from focus area", "/focus-areas/{focus_area}/qip/",
     programme_only(core=403, lead=200, cns=200, other_lead=403)),
    ("plan submit", "/qips/{plan}/move/submit/", programme_only(lead=200, cns=200)),
    ("plan review comment", "/qips/{plan}/comments/", programme_only(lead=403, cns=403)),
    ("plan support", "/qips/{plan}/support/", programme_only(lead=403, cns=403)),
    ("plan measure remove", "/qips/{plan}/measures/{measure}/remove/",
     programme_only(core=403, lead=200, cns=200)),
    ("visit report approve", "/visits/{visit}/report/approve/",
     programme_only(lead=403, cns=403, other_lead=403)),
    ("visit report retry", "/visits/{visit}/report/v{report_version}/retry/",
     programme_only(lead=403, cns=403, other_lead=403)),
    ("randomisation confirm", "/programmes/{programme}/randomisation/{randomisation}/confirm/",
     programme_only()),
]


@pytest.fixture
def world(request, programme, site, other_site, core, lead, cns, other_lead, other_core,
          outsider):
    enrolment = Enrolment.objects.get(site=site)
    member = SiteMembershipFactory(site=site, role=SiteMembership.Role.MANAGER)
    site_invitation = Invitation.objects.create(
        programme=programme, site=site, email="new@trust.example", full_name="New",
        site_role="cns", invited_by=lead,
    )
    core_invitation = Invitation.objects.create(
        programme=programme, email="new@core.example", full_name="New", core_role="administrator",
        invited_by=core,
    )
    indicator = Indicator.objects.create(programme=programme, code="HISTO", name="Histology",
                                         source="NLCA", is_headline=True)
    visit = Visit.objects.create(programme=programme, host=site, visitor=other_site)
    randomisation = Randomisation.objects.create(programme=programme, seed=1,
                                                 intervention_count=0, allocation={})
    survey = survey_services.survey_create(programme=programme, user=core)
    comment_question = survey.questions.get(code="IMPROVE")
    response, _ = survey_services.response_submit(
        collection=survey_services.collection_for(survey=survey, site=site),
        answers={comment_question.pk: "More parking"}, submission_key=uuid.uuid4(),
        mode="online")
    focus_area = FocusArea.objects.create(visit=visit, title="Faster diagnosis")
    report = VisitReport.objects.create(visit=visit, version=1, html="<p>Report</p>",
                                        pdf=b"%PDF-1.7", generated_at=visit.created_at)
    plan = plan_services.plan_create(programme=programme, site=site, user=lead, title="Plan")
    measure = Measure.objects.create(plan=plan, kind="outcome", name="M", numerator="n",
                                     data_source="log", direction="increase")
    review_comment = ReviewComment.objects.create(plan=plan, field="aim", text="Sharper",
                                                  author=core)
    return {
        "ids": {
            "focus_area": focus_area.pk, "plan": plan.pk, "measure": measure.pk,
            "report_version": report.version,
            "review_comment": review_comment.pk,
            "indicator": indicator.pk, "randomisation": randomisation.pk, "visit": visit.pk,
            "programme": programme.pk, "site": site.pk, "enrolment": enrolment.pk,
            "membership": member.pk, "site_invitation": site_invitation.pk,
            "core_invitation": core_invitation.pk,
            "question": comment_question.pk, "comment": response.answers.get().pk,
        },
        "people": {
            "core": core, "lead": lead, "cns": cns, "other_lead": other_lead,
            "other_core": other_core, "outsider": outsider,
        },
    }


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize(("name", "url", "expected"), PAGES, ids=[p[0] for p in PAGES])
def test_page_access(world, client_for, person, name, url, expected):
    client = client_for(world["people"][person])
    response = client.get(url.format(**world["ids"]))
    assert response.status_code == expected[person], f"{person} on {name}"


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize(("name", "url", "expected"), POSTS, ids=[p[0] for p in POSTS])
def test_action_access(world, client_for, person, name, url, expected):
    client = client_for(world["people"][person])
    response = client.post(url.format(**world["ids"]))
    allowed = 302 if expected[person] == 200 else expected[person]
    assert response.status_code == allowed, f"{person} on {name}"


@pytest.mark.parametrize(("name", "url", "expected"), PAGES + POSTS,
                         ids=[p[0] for p in PAGES + POSTS])
def test_anonymous_visitors_are_sent_to_sign_in(world, name, url, expected):
    path = url.format(**world["ids"])
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_home_requires_sign_in(db):
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_a_member_of_another_site_cannot_move_or_edit_by_post(world, client_for, site):
    other_lead = client_for(world["people"]["other_lead"])
    enrolment = world["ids"]["enrolment"]
    response = other_lead.post(
        f"/programmes/{world['ids']['programme']}/enrolments/{enrolment}/move/",
        {"target": "withdrawn", "reason": "x"},
    )
    assert response.status_code == 404
    assert Enrolment.objects.get(pk=enrolment).status == "intervention"


def test_signup_is_closed(db):
    response = Client().post("/accounts/signup/", {
        "email": "me@example.org", "password1": "a long passphrase",
        "password2": "a long passphrase",
    })
    assert "You cannot create an account yourself" in response.content.decode()
    assert not User.objects.exists()


def test_nobody_adds_a_second_email_address_to_their_account(client_for, lead):
    response = client_for(lead).post("/accounts/email/", {"action_add": "", "email": "x@y.org"})
    assert response.status_code in (200, 302)
    assert EmailAddress.objects.filter(user=lead).count() == 1


def test_site_members_see_the_programme_named_but_not_linked(client_for, lead, site, programme):
    content = client_for(lead).get(f"/sites/{site.pk}/").content.decode()
    header = content[content.index("<header"):content.index("</header>")]
    assert programme.name in header
    assert f'href="/programmes/{programme.pk}/"' not in header


@pytest.mark.parametrize("url", [
    "/sites/99999999999999999999999/", "/programmes/123456789012345678901234567890/sites/",
])
def test_absurd_ids_are_not_found(as_core, url):
    assert as_core.get(url).status_code == 404


def test_absurd_ids_in_a_bulk_move_get_a_message(as_core, programme):
    response = as_core.post(f"/programmes/{programme.pk}/sites/",
                            {"enrolments": ["99999999999999999999999", "x"],
                             "target": "interested"})
    assert response.status_code == 200
    assert "Select the sites again" in response.content.decode()


def test_a_nul_in_the_search_box_is_harmless(as_core, programme):
    assert as_core.get(f"/programmes/{programme.pk}/sites/?q=a%00b").status_code == 200


def test_only_staff_set_up_programmes(client_for, core):
    assert client_for(core).get("/programmes/new/").status_code == 404


def test_a_second_programme_sharing_a_site_sees_only_its_own_part(
    client_for, programme, site, core, other_core, lead
):
    """A staff member may enrol one MDT in two programmes. Each core team then sees the team
    (it runs that site's participation) but not the other programme's enrolment or log."""
    from ilcop.activity import log_action
    from programmes import services

    second = other_core.core_memberships.get().programme
    second_enrolment = Enrolment.objects.create(programme=second, site=site)
    first_enrolment = Enrolment.objects.get(programme=programme, site=site)
    services.enrolment_move(enrolment=first_enrolment, target="withdrawn", user=core,
                            reason="Confidential reason in the first programme")
    log_action(second_enrolment, "enrolment.created", actor=other_core,
               summary="Invited to the second programme", scopes=[second, site])

    page = client_for(other_core).get(f"/sites/{site.pk}/").content.decode()
    assert "Invited to the second programme" in page
    assert programme.name not in page
    assert "Confidential reason" not in page
    assert "Dr Lena Lead" in page

    own_team_view = client_for(lead).get(f"/sites/{site.pk}/").content.decode()
    assert "Confidential reason" in own_team_view and second.name in own_team_view
