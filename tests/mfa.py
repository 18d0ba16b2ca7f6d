"""A fixed authenticator app for tests: the core team must sign in in two steps (ilcop.mfa).

    from tests.mfa import give_totp, totp_code
    give_totp(user)            # the user now has an authenticator app with TEST_TOTP_SECRET
    code = totp_code()         # the six digits the app would show now

Every core-team member and staff user the shared fixtures make (tests/factories.py) already has
it, so `client.force_login` keeps working for them.

Signing in twice within 30 seconds: allauth refuses a code that has already been used (it
keeps "allauth.mfa.totp.used?user=<id>&code=<code>" in the cache for one period), so a browser
journey that signs the same person in again must clear the cache first
(`django.core.cache.cache.clear()`, or wait for the next 30-second step).
"""

from __future__ import annotations

import time

from allauth.mfa import app_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value

# Base32, 160 bits as allauth generates them. Only ever used by tests and the local demo.
TEST_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def totp_code(secret: str = TEST_TOTP_SECRET, at: float | None = None) -> str:
    """The code an authenticator app shows for `secret` now (or at the Unix time `at`)."""
    counter = int(time.time() if at is None else at) // app_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(secret, counter))


def give_totp(user, secret: str = TEST_TOTP_SECRET) -> Authenticator:
    """Turn on the authenticator app for `user` (once; a second call returns the first)."""
    existing = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if existing is not None:
        return existing
    return TOTP.activate(user, secret).instance
