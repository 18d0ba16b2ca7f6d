"""Who may see each page. Out of scope gives 404, so nobody learns that a record exists.

Every page is walked with the programme's core team, the site's clinical lead and CNS, the
lead of another site in the same programme, the core team of another programme, an outsider
and an anonymous visitor.
"""

import pytest
from django.test import Client

from programmes.models import Enrolment, Invitation, SiteMembership

from .factories import SiteMembershipFactory

PEOPLE = ["core", "lead", "cns", "other_lead", "other_core", "outsider"]


def programme_only(**overrides):
    expected = dict.fromkeys(PEOPLE, 404)
    expected["core"] = 200
    expected.update(overrides)
    return expected


# (name, url template, expected status for each person)
PAGES = [
    ("programme", "/programmes/{programme}/", programme_only()),
    ("programme edit", "/programmes/{programme}/edit/", programme_only()),
    ("site list", "/programmes/{programme}/sites/", programme_only()),
    ("site list filtered", "/programmes/{programme}/sites/?reached=eligible&region=london",
     programme_only()),
    ("site add", "/programmes/{programme}/sites/add/", programme_only()),
    ("organisation add", "/programmes/{programme}/organisations/add/", programme_only()),
    ("site import", "/programmes/{programme}/sites/import/", programme_only()),
    ("import template", "/programmes/{programme}/sites/import/template.csv", programme_only()),
    ("enrolment move", "/programmes/{programme}/enrolments/{enrolment}/move/", programme_only()),
    ("core team invite", "/programmes/{programme}/core-team/invite/", programme_only()),
    ("site", "/sites/{site}/", programme_only(lead=200, cns=200)),
    ("site edit", "/sites/{site}/edit/", programme_only(lead=403, cns=403)),
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
    return {
        "ids": {
            "programme": programme.pk, "site": site.pk, "enrolment": enrolment.pk,
            "membership": member.pk, "site_invitation": site_invitation.pk,
            "core_invitation": core_invitation.pk,
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
    response = Client().get("/accounts/signup/")
    assert "Sign up closed" in response.content.decode() or response.status_code in (403, 404)
