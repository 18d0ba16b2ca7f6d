"""Response headers and session lifetimes that Django does not set for us.

- SecurityHeadersMiddleware: the Content Security Policy and Permissions-Policy. Django's own
  SecurityMiddleware already sends HSTS (production), X-Content-Type-Options,
  Referrer-Policy and Cross-Origin-Opener-Policy; XFrameOptionsMiddleware sends
  X-Frame-Options: DENY.
- SessionTimeoutMiddleware: signs a person out after SESSION_IDLE_TIMEOUT seconds without a
  request, and SESSION_COOKIE_AGE seconds after they signed in whatever they did.

Both are written here rather than taken from a package (django-csp, django-session-timeout)
because each is a few lines and a package would be one more thing to keep up to date.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

# Scripts only from our own origin: no inline <script>, no on* attributes, no eval. The
# templates keep every script in static/js/ and htmx is told not to inject its indicator
# <style> (templates/base.html). Nothing is loaded from another origin, so 'self' is enough.
#
# Styles: 'unsafe-inline' is allowed for styles only. The charts are matplotlib SVGs inlined
# in the page and in the PDFs (programmes/charts.py, qips/charts.py): matplotlib writes each
# line's colour, width and dash as a style="" attribute and each chart has a one-rule <style>
# element, so without it every chart would lose its colours. The same SVG feeds WeasyPrint, so
# it must stay self-contained. What an injected style could do is limited: markup injection
# is already stopped by template autoescaping, and with img-src and connect-src kept to 'self'
# and font-src kept to 'self' a stylesheet cannot send anything on the page (a CSRF
# token, say) to anyone else.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    # data: for the authenticator app QR code and the NHS.UK frontend's inline icons.
    "img-src 'self' data:",
    # Nothing from another origin, fonts included: the NHS.UK stylesheet is served without
    # its remote Frutiger @font-face rules (static-build.js), so pages fall back to Arial.
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

# Features the service never uses, switched off so that injected content cannot ask for them.
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "autoplay", "camera", "display-capture", "geolocation", "gyroscope",
    "magnetometer", "microphone", "midi", "payment", "usb", "interest-cohort",
))


class SecurityHeadersMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


# Session keys: when this session signed in, and when it last made a request (Unix seconds).
SIGNED_IN_AT = "ilcop.signed_in_at"
LAST_SEEN = "ilcop.last_seen"


@receiver(user_logged_in, dispatch_uid="ilcop.security.start_session_clock")
def _start_session_clock(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[SIGNED_IN_AT] = now
        request.session[LAST_SEEN] = now


class SessionTimeoutMiddleware:
    """Signs out a session idle for SESSION_IDLE_TIMEOUT or older than SESSION_COOKIE_AGE.

    The last request's time is written back only when it is SESSION_ACTIVITY_RESOLUTION old,
    not on every request (SESSION_SAVE_EVERY_REQUEST would add a database write to every
    page), so a session ends between SESSION_IDLE_TIMEOUT minus that resolution and
    SESSION_IDLE_TIMEOUT after its last request.

    Signing out here leaves the request to go on as anonymous: pages that need a signed-in
    person redirect to the sign-in page as they always do, which live.js recognises, so notes
    waiting in the browser stay there until the person signs in again.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        # No cookie, no session to read: anonymous pages (the patient survey) cost no query.
        if session.session_key is not None and auth.SESSION_KEY in session:
            self._check(request)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> None:
        session = request.session
        now = int(time.time())
        signed_in_at = session.get(SIGNED_IN_AT)
        last_seen = session.get(LAST_SEEN)
        if signed_in_at is None or last_seen is None:
            # Signed in before these keys existed: start the clocks now.
            session[SIGNED_IN_AT] = signed_in_at or now
            session[LAST_SEEN] = now
            return
        idle = now - last_seen > settings.SESSION_IDLE_TIMEOUT
        too_old = now - signed_in_at > settings.SESSION_COOKIE_AGE
        if idle or too_old:
            auth.logout(request)
            messages.info(request, (
                f"You were signed out because you had not used the service for "
                f"{settings.SESSION_IDLE_TIMEOUT // 60} minutes. Sign in again to carry on."
                if idle else
                f"You were signed out because you signed in more than "
                f"{settings.SESSION_COOKIE_AGE // 3600} hours ago. Sign in again to carry on."))
            return
        if now - last_seen >= settings.SESSION_ACTIVITY_RESOLUTION:
            session[LAST_SEEN] = now
