"""Print the code a person's authenticator app shows now: for the demo and local testing.

Only with DEBUG on: in production a code printed from the database would bypass the second
step entirely. Staff help a person who lost their phone by removing the authenticator in the
admin instead (docs/security.md).
"""

from allauth.mfa import app_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


class Command(BaseCommand):
    help = "Print the current authenticator app code for an account (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email: str, **options):
        if not settings.DEBUG:
            raise CommandError("totp_code only runs with DEBUG on (local and demo use).")
        authenticator = Authenticator.objects.filter(
            user__email__iexact=email, type=Authenticator.Type.TOTP).first()
        if authenticator is None:
            raise CommandError(f"{email} has no authenticator app set up.")
        now = int(timezone.now().timestamp())
        period = app_settings.TOTP_PERIOD
        secret = decrypt(authenticator.data["secret"])
        code = format_hotp_value(hotp_value(secret, now // period))
        self.stdout.write(f"{code} (valid for {period - now % period} more seconds)")
