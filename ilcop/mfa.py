"""Two-step sign-in: who must use it, and how they are held on the setup page until they do.

allauth.mfa does the work (authenticator app codes, recovery codes, the sign-in step). What we
add is a rule: the core team of a programme sees every site's data, and staff can change
anything, so a stolen password alone must not be enough for them (NHS England's
multi-factor authentication policy asks for a second factor on systems reachable from the
internet). Everyone else may turn it on from their account security page.

The decision is taken once, when someone signs in (the user_logged_in signal, sent by every
sign-in path, including the invitation link and the test client's force_login), and kept as
a flag in their session. MfaSetupRequiredMiddleware reads that flag: the session is already
loaded to find who is signed in, so pages cost no extra query. While the flag is set, each
page that is not one of the setup pages checks whether the app has been added since, and
drops the flag if so. An unflagged session is looked at again every few minutes, for someone
who joins a core team while signed in.
"""

from __future__ import annotations

import time

from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.base.forms import AuthenticateForm, ReauthenticateForm
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.forms import ActivateTOTPForm
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

# Session key for "this person must set up an authenticator app before going further".
MFA_SETUP_REQUIRED = "ilcop.mfa_setup_required"
# When the session was last checked for that (Unix seconds).
MFA_CHECKED_AT = "ilcop.mfa_checked_at"


def mfa_required_for(user) -> bool:
    """Whether this person must sign in in two steps: staff and anyone in a core team.

    ilcop imports no app (docs/architecture.md), so the core team is reached through the
    reverse relation programmes.CoreTeamMembership declares (related_name="core_memberships").
    """
    return bool(user.is_staff or user.core_memberships.exists())


def mfa_setup_missing(user) -> bool:
    return mfa_required_for(user) and not Authenticator.objects.filter(
        user=user, type=Authenticator.Type.TOTP).exists()


@receiver(user_logged_in, dispatch_uid="ilcop.mfa.flag_missing_setup")
def _flag_missing_setup(sender, request, user, **kwargs) -> None:
    if request is None or not hasattr(request, "session"):
        return
    request.session[MFA_CHECKED_AT] = int(time.time())
    if mfa_setup_missing(user):
        request.session[MFA_SETUP_REQUIRED] = True
    else:
        request.session.pop(MFA_SETUP_REQUIRED, None)


class MfaSetupRequiredMiddleware:
    """Sends a flagged person to the authenticator app setup page from every other page.

    Only what the person needs to set it up (or to leave) stays open: signing in and out, the
    setup pages, confirming their password, changing it, and static files. Not the rest of
    /accounts/: their data download holds programme records (notes, feedback, comments).

    Someone can join a core team while signed in (an invitation accepted with an existing
    account, a membership added by staff). So a session that was not flagged at sign-in is
    looked at again every SESSION_ACTIVITY_RESOLUTION seconds: two queries every few minutes,
    not on every page.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.open_prefixes = (
            "/accounts/login/", "/accounts/logout/", "/accounts/2fa/",
            "/accounts/reauthenticate/", "/accounts/password/",
            f"/{settings.STATIC_URL.lstrip('/')}",
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.session.get(MFA_SETUP_REQUIRED):
            self._look_again(request)
        if request.session.get(MFA_SETUP_REQUIRED) and not self._set_up_since(request):
            # The setup page explains why (templates/mfa/totp/activate_form.html).
            request.mfa_setup_required = True
            if not request.path.startswith(self.open_prefixes):
                # A plain redirect, for htmx and fetch too: live.js keeps a note it could not
                # send when the answer was redirected, rather than counting it as sent.
                return HttpResponseRedirect(reverse("mfa_activate_totp"))
        return self.get_response(request)

    def _look_again(self, request: HttpRequest) -> None:
        session = request.session
        if session.session_key is None or SESSION_KEY not in session:
            return  # nobody signed in: no query for anonymous pages such as the survey
        now = int(time.time())
        if now - session.get(MFA_CHECKED_AT, 0) < settings.SESSION_ACTIVITY_RESOLUTION:
            return
        session[MFA_CHECKED_AT] = now
        if request.user.is_authenticated and mfa_setup_missing(request.user):
            session[MFA_SETUP_REQUIRED] = True

    def _set_up_since(self, request: HttpRequest) -> bool:
        """Whether the authenticator app has been added since the flag was set.

        Only a flagged session pays this query, and only until it finds the app. (allauth's
        authenticator_added signal is sent after the commit, too late for the session.)
        """
        if request.path.startswith(self.open_prefixes):
            return False
        if Authenticator.objects.filter(
                user_id=request.session.get(SESSION_KEY), type=Authenticator.Type.TOTP).exists():
            request.session.pop(MFA_SETUP_REQUIRED, None)
            return True
        return False


class MfaAdapter(DefaultMFAAdapter):
    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "incorrect_code": "The code is not right. Enter the 6 numbers your authenticator app "
                          "shows now, or an unused recovery code.",
        "cannot_delete_authenticator": "You cannot turn off the authenticator app: your role "
                                       "needs it. Ask for help if you have a new phone.",
    }

    def build_totp_svg(self, url: str) -> str:
        """The QR code for an authenticator app, drawn with segno instead of qrcode.

        segno already draws the survey poster's code, so allauth's optional qrcode dependency
        is not needed. Error correction L (7%) is enough on a screen and keeps the modules
        large for a phone camera.
        """
        import segno  # imported here: only the setup page needs it

        return segno.make(url, error="l").svg_inline(
            scale=5, dark="#212b32", light="#ffffff", omitsize=False)

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        # Those who must use two steps cannot switch it off; a lost phone is handled with a
        # recovery code or by staff removing the authenticator in admin (docs/security.md).
        return not mfa_required_for(authenticator.user)


def _code_field(form, *, label: str, hint: str) -> None:
    field = form.fields["code"]
    field.label = label
    field.help_text = hint
    # A numeric keyboard on phones; the field stays text because recovery codes are allowed.
    field.widget.attrs.update({"inputmode": "numeric", "autocomplete": "one-time-code",
                               "spellcheck": "false"})


class ActivateTotpForm(ActivateTOTPForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _code_field(self, label="Code from your authenticator app",
                    hint="The 6 numbers the app shows for Peer Review Programmes.")


class SignInCodeForm(AuthenticateForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _code_field(self, label="Code from your authenticator app",
                    hint="The 6 numbers the app shows now. If you do not have your phone, "
                         "enter one of your recovery codes instead.")


class ConfirmCodeForm(ReauthenticateForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _code_field(self, label="Code from your authenticator app",
                    hint="The 6 numbers the app shows now, or one of your recovery codes.")
