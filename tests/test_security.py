"""Account security: two-step sign-in, sign-in throttling, session timeouts and headers.

See docs/security.md. Sign-ins here go through the real forms (not force_login) wherever the
behaviour under test is the sign-in itself.
"""

import datetime
import re
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client, RequestFactory, TestCase
from django.utils import timezone

from ilcop.mfa import MFA_SETUP_REQUIRED, MfaAdapter, MfaSetupRequiredMiddleware
from ilcop.security import LAST_SEEN
from programmes import demo
from programmes.models import CoreTeamMembership, SurveyCollection
from qips.models import QualityImprovementPlan
from visits.models import Visit

from .factories import CoreTeamMembershipFactory, UserFactory
from .mfa import TEST_TOTP_SECRET, give_totp, totp_code

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _real_idle_timeout(settings):
    # tests/conftest.py turns the idle timeout off for everyone else.
    settings.SESSION_IDLE_TIMEOUT = 60 * 60


@pytest.fixture(autouse=True)
def _clean_cache():
    # Rate-limit counts and used codes live in the cache, which outlives a test.
    cache.clear()
    yield
    cache.clear()


def sign_in(client: Client, email: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


def enter_code(client: Client, code: str):
    return client.post("/accounts/2fa/authenticate/", {"code": code})


def confirm_password(client: Client, password: str = PASSWORD) -> None:
    """allauth asks for the password again before any change to how someone signs in."""
    response = client.post("/accounts/reauthenticate/", {"password": password})
    assert response.status_code == 302, response.content.decode()


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# --- tests/mfa.py, which other tests rely on -------------------------------------------------


def test_the_test_authenticator_gives_the_code_allauth_accepts(db):
    from allauth.mfa.totp.internal.auth import validate_totp_code

    assert validate_totp_code(TEST_TOTP_SECRET, totp_code())
    assert not validate_totp_code(TEST_TOTP_SECRET, totp_code(at=0))
    user = UserFactory()
    first = give_totp(user)
    assert give_totp(user) == first
    assert Authenticator.objects.filter(user=user).count() == 1


def test_the_shared_fixtures_give_the_core_team_and_staff_an_authenticator(core, lead, db):
    staff = UserFactory(is_staff=True)
    with_app = set(Authenticator.objects.values_list("user_id", flat=True))
    assert {core.pk, staff.pk} <= with_app
    assert lead.pk not in with_app


# --- Two-step sign-in ----------------------------------------------------------------------


def test_core_team_signs_in_with_password_then_code(core, programme):
    client = Client()
    response = sign_in(client, core.email)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert not signed_in(client)
    page = client.get("/accounts/2fa/authenticate/")
    assert "Enter the code from your authenticator app" in page.content.decode()

    response = enter_code(client, "000000" if totp_code() != "000000" else "111111")
    assert response.status_code == 200
    assert "The code is not right" in response.content.decode()
    assert not signed_in(client)

    response = enter_code(client, totp_code())
    assert response.status_code == 302
    assert signed_in(client)
    assert client.get(f"/programmes/{programme.pk}/").status_code == 200


def test_a_code_cannot_be_used_twice(core):
    code = totp_code()
    first, second = Client(), Client()
    sign_in(first, core.email)
    enter_code(first, code)
    assert signed_in(first)
    sign_in(second, core.email)
    enter_code(second, code)
    assert not signed_in(second)


def test_guessing_codes_is_throttled(core):
    client = Client()
    sign_in(client, core.email)
    wrong = "000000" if totp_code() != "000000" else "111111"
    for _ in range(5):
        enter_code(client, wrong)
    response = enter_code(client, totp_code())
    assert "Too many failed login attempts" in response.content.decode()
    assert not signed_in(client)


def test_a_recovery_code_signs_in_without_the_phone(core):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    codes = RecoveryCodes.activate(core).generate_codes()
    client = Client()
    sign_in(client, core.email)
    enter_code(client, codes[0])
    assert signed_in(client)


def test_site_members_sign_in_with_a_password_alone(lead, site):
    client = Client()
    response = sign_in(client, lead.email)
    assert response.status_code == 302
    assert signed_in(client)
    assert client.get(f"/sites/{site.pk}/").status_code == 200


# --- The core team must set it up ----------------------------------------------------------


@pytest.fixture
def core_without_app(programme):
    return CoreTeamMembershipFactory(programme=programme, authenticator_app=False).user


def test_core_team_without_an_authenticator_is_held_on_the_setup_page(core_without_app,
                                                                      programme, site):
    client = Client()
    response = sign_in(client, core_without_app.email)
    assert signed_in(client)
    for url in (f"/programmes/{programme.pk}/", f"/sites/{site.pk}/", "/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == "/accounts/2fa/totp/activate/"
    # htmx and fetch get the same redirect, so live.js keeps any note it could not send.
    response = client.post(f"/programmes/{programme.pk}/", HTTP_HX_REQUEST="true")
    assert response["Location"] == "/accounts/2fa/totp/activate/"

    response = client.get("/accounts/2fa/totp/activate/")
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert "Confirm it is you" in client.get(response["Location"]).content.decode()
    confirm_password(client)
    page = client.get("/accounts/2fa/totp/activate/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Your role lets you see every site's data" in text
    assert "<svg" in text  # the QR code, drawn by segno
    # Their own account pages stay open: signing out, above all.
    assert client.get("/accounts/logout/").status_code == 200
    assert client.get("/accounts/password/change/").status_code == 200

    secret = client.session["mfa.totp.secret"]
    response = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/recovery-codes/"
    assert Authenticator.objects.filter(user=core_without_app, type="totp").exists()
    assert client.get(f"/programmes/{programme.pk}/").status_code == 200
    assert MFA_SETUP_REQUIRED not in client.session


def test_sign_out_works_while_held(core_without_app):
    client = Client()
    sign_in(client, core_without_app.email)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert not signed_in(client)


def test_staff_without_an_authenticator_are_held_too(db):
    staff = UserFactory(is_staff=True)
    Authenticator.objects.filter(user=staff).delete()
    client = Client()
    sign_in(client, staff.email)
    assert client.get("/admin/")["Location"] == "/accounts/2fa/totp/activate/"


def test_the_admin_sign_in_form_cannot_skip_the_second_step(db):
    """Django's admin has its own sign-in form that checks the password alone; it sends
    everyone to allauth's instead."""
    staff = UserFactory(is_staff=True, is_superuser=True, password=PASSWORD)
    client = Client()
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    client.post("/admin/login/?next=/admin/", {"username": staff.email, "password": PASSWORD})
    assert not signed_in(client)
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_the_data_download_is_held_too(core_without_app):
    """Everything under /accounts/ is about the person, but their data download holds
    programme records, so it waits for the second step like any programme page."""
    client = Client()
    sign_in(client, core_without_app.email)
    response = client.get("/accounts/your-data.json")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/"


def test_joining_a_core_team_while_signed_in_is_held_within_minutes(lead, programme, site):
    client = Client()
    with time_machine.travel(datetime.datetime(2026, 11, 24, 9, 0, tzinfo=datetime.UTC),
                             tick=False) as clock:
        sign_in(client, lead.email)
        assert client.get(f"/sites/{site.pk}/").status_code == 200
        CoreTeamMembershipFactory(programme=programme, user=lead)
        Authenticator.objects.filter(user=lead).delete()
        clock.shift(datetime.timedelta(seconds=settings.SESSION_ACTIVITY_RESOLUTION + 1))
        response = client.get(f"/programmes/{programme.pk}/")
        assert response.status_code == 302
        assert response["Location"] == "/accounts/2fa/totp/activate/"


def test_static_files_and_account_pages_stay_open_while_held(db):
    def view(request):
        from django.http import HttpResponse
        return HttpResponse("ok")

    middleware = MfaSetupRequiredMiddleware(view)
    for path, status in ((f"/{settings.STATIC_URL.lstrip('/')}css/ilcop.css", 200),
                         ("/accounts/2fa/", 200), ("/accounts/logout/", 200),
                         ("/programmes/1/", 302), ("/media/x.pdf", 302)):
        request = RequestFactory().get(path)
        request.session = {MFA_SETUP_REQUIRED: True}
        assert middleware(request).status_code == status, path


def test_the_page_explains_nothing_to_someone_choosing_it(lead):
    client = Client()
    sign_in(client, lead.email)
    confirm_password(client)
    text = client.get("/accounts/2fa/totp/activate/").content.decode()
    assert "Set up two-step sign-in" in text
    assert "Your role lets you see" not in text


def test_the_demo_code_command_prints_the_current_code(core, settings):
    settings.DEBUG = True
    out = StringIO()
    call_command("totp_code", core.email, stdout=out)
    assert out.getvalue().startswith(totp_code())
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("totp_code", core.email)


def test_core_team_cannot_turn_it_off_but_others_can(core, lead):
    assert not MfaAdapter().can_delete_authenticator(give_totp(core))
    assert MfaAdapter().can_delete_authenticator(give_totp(lead))


def test_anyone_can_turn_it_on_from_account_security(lead):
    client = Client()
    sign_in(client, lead.email)
    preferences = client.get("/accounts/reminders/").content.decode()
    assert 'href="/accounts/2fa/"' in preferences
    page = client.get("/accounts/2fa/")
    assert page.status_code == 200
    assert "Set up two-step sign-in" in page.content.decode()
    confirm_password(client)
    client.get("/accounts/2fa/totp/activate/")
    secret = client.session["mfa.totp.secret"]
    client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert Authenticator.objects.filter(user=lead, type="totp").exists()
    # From now on their sign-in asks for the code too.
    other = Client()
    assert sign_in(other, lead.email)["Location"] == "/accounts/2fa/authenticate/"


def test_account_security_needs_signing_in(db):
    response = Client().get("/accounts/2fa/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- Sign-in throttling --------------------------------------------------------------------


def test_sixth_wrong_password_is_refused_and_then_the_right_one_too(lead):
    client = Client()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(5):
            response = sign_in(client, lead.email, "wrong password, five times over")
            assert "email address and/or password you specified are not correct" in \
                response.content.decode()
        response = sign_in(client, lead.email, "wrong password, five times over")
        assert "Too many failed login attempts" in response.content.decode()
        response = sign_in(client, lead.email)
        assert "Too many failed login attempts" in response.content.decode()
        assert not signed_in(client)
        clock.shift(datetime.timedelta(minutes=5, seconds=1))
        sign_in(client, lead.email)
        assert signed_in(client)


def test_throttling_is_per_account(lead, cns):
    client = Client()
    for _ in range(6):
        sign_in(client, lead.email, "wrong password, six times over")
    sign_in(client, cns.email)
    assert signed_in(client)


# --- Session timeouts ----------------------------------------------------------------------


def test_a_session_ends_after_an_hour_without_a_request(lead, site):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = Client()
        sign_in(client, lead.email)
        for _ in range(3):  # active for 2 hours, a request every 50 minutes
            clock.shift(datetime.timedelta(minutes=50))
            assert client.get(f"/sites/{site.pk}/").status_code == 200
        clock.shift(datetime.timedelta(minutes=61))
        response = client.get(f"/sites/{site.pk}/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
        assert not signed_in(client)
        page = client.get(response["Location"]).content.decode()
        assert "You were signed out because you had not used the service for 60 minutes" \
            in page


def test_a_session_ends_eight_hours_after_signing_in_however_busy(lead, site):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = Client()
        sign_in(client, lead.email)
        for _ in range(15):  # 7.5 hours, a request every half hour
            clock.shift(datetime.timedelta(minutes=30))
            assert client.get(f"/sites/{site.pk}/").status_code == 200
        clock.shift(datetime.timedelta(minutes=31))
        assert client.get(f"/sites/{site.pk}/").status_code == 302
        assert not signed_in(client)


def test_the_last_seen_time_is_written_every_few_minutes_not_every_page(
        lead, site, django_assert_max_num_queries):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = Client()
        sign_in(client, lead.email)
        client.get(f"/sites/{site.pk}/")
        with django_assert_max_num_queries(100) as quiet:
            client.get(f"/sites/{site.pk}/")
        seen = client.session[LAST_SEEN]
        clock.shift(datetime.timedelta(minutes=4))
        client.get(f"/sites/{site.pk}/")
        assert client.session[LAST_SEEN] == seen
        clock.shift(datetime.timedelta(minutes=2))
        with django_assert_max_num_queries(100) as refreshed:
            client.get(f"/sites/{site.pk}/")
        assert client.session[LAST_SEEN] == seen + 6 * 60
        assert len(refreshed) > len(quiet)
        assert not any("django_session" in q["sql"] and q["sql"].startswith("UPDATE")
                       for q in quiet.captured_queries)


# --- Headers -------------------------------------------------------------------------------


def test_every_response_has_the_security_headers(db):
    response = Client().get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self';" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "default-src 'self'" in csp and "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp and "base-uri 'self'" in csp
    assert "form-action 'self'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert "http" not in csp  # nothing from another origin


def test_the_stylesheets_load_nothing_from_another_origin(db):
    """NHS.UK frontend's own stylesheet fetches Frutiger from assets.nhs.uk; the page links
    the copy static-build.js makes without those rules."""
    from django.contrib.staticfiles import finders

    page = Client().get("/accounts/login/").content.decode()
    sheets = re.findall(r'<link rel="stylesheet" href="/static/([^"]+)"', page)
    assert "nhsuk-local/nhsuk-frontend.min.css" in sheets
    for sheet in sheets:
        css = Path(finders.find(sheet)).read_text()
        assert "@font-face" not in css, sheet
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", css), sheet


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>",
                           re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


class PagesObeyTheContentSecurityPolicy(TestCase):
    """Real pages of the seeded demo: no inline script and no on* handler, which the policy
    would block (so a page relying on one would silently break)."""

    @classmethod
    def setUpTestData(cls):
        call_command("seed_demo", stdout=StringIO())
        cls.programme = demo.demo_programmes().get()
        cls.core = CoreTeamMembership.objects.filter(programme=cls.programme).first().user
        cls.plan = QualityImprovementPlan.objects.filter(
            programme=cls.programme, measures__measurements__isnull=False).distinct().first()
        cls.visits = list(Visit.objects.filter(programme=cls.programme).order_by("-pk"))
        cls.collection = SurveyCollection.objects.first()

    def assert_obeys_policy(self, client: Client, url: str) -> str:
        response = client.get(url)
        self.assertEqual(response.status_code, 200, url)
        self.assertIn("script-src 'self'", response["Content-Security-Policy"])
        html = response.content.decode()
        self.assertIsNone(INLINE_SCRIPT.search(html), url)
        self.assertIsNone(EVENT_HANDLER.search(html), url)
        self.assertNotIn("javascript:", html, url)
        return html

    def test_pages(self):
        client = Client()
        client.force_login(self.core)
        self.assert_obeys_policy(client, f"/programmes/{self.programme.pk}/dashboard/")
        plan_page = self.assert_obeys_policy(client, f"/qips/{self.plan.pk}/")
        self.assertIn("<svg", plan_page)  # the charts this policy has to let through
        self.assert_obeys_policy(client, f"/programmes/{self.programme.pk}/indicators/")
        live = [v for v in self.visits
                if client.get(f"/visits/{v.pk}/live/").status_code == 200]
        self.assertTrue(live)
        self.assert_obeys_policy(client, f"/visits/{live[0].pk}/live/")
        self.assert_obeys_policy(client, "/accounts/2fa/")
        if self.collection is not None:
            self.assert_obeys_policy(Client(), f"/survey/{self.collection.code}/")
        self.assert_obeys_policy(Client(), "/accounts/login/")

    def test_the_demo_core_team_has_the_published_authenticator(self):
        from allauth.mfa.totp.internal.auth import TOTP

        authenticator = Authenticator.objects.get(user=self.core, type="totp")
        self.assertEqual(TOTP(authenticator).instance.data["secret"], demo.DEMO_TOTP_SECRET)
        self.assertIn(demo.DEMO_TOTP_SECRET, demo.logins_table())
