"""Build the demonstration programme (see programmes.demo for what is in it)."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from programmes import demo


class Command(BaseCommand):
    help = (
        "Create a demonstration lung cancer peer review programme with fictional trusts, MDTs "
        "and people, and print the demo sign-ins. Running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true",
            help="Delete the demo programme, organisations and accounts first, then rebuild.",
        )
        parser.add_argument(
            "--logins", action="store_true",
            help="Only print the demo sign-ins; do not touch the database.",
        )
        parser.add_argument(
            "--allow-production", action="store_true",
            help="Run even though ILCOP_ENVIRONMENT=production (the demo accounts share a "
                 "published password).",
        )

    def handle(self, *args, reset: bool, logins: bool, allow_production: bool, **options):
        if logins:
            self.stdout.write(demo.logins_table())
            return
        if settings.PRODUCTION and not allow_production:
            raise CommandError(
                "This is a production environment. The demo accounts share a published "
                "password; use --allow-production if you really want them here."
            )

        started = time.monotonic()
        result = demo.seed(reset=reset)
        elapsed = time.monotonic() - started
        counts = result.counts

        if result.removed:
            removed = ", ".join(f"{what}: {n}" for what, n in result.removed.items())
            self.stdout.write(f"Removed the previous demo data: {removed}.")
        if result.created:
            self.stdout.write(self.style.SUCCESS(
                f"Created the demo programme “{demo.PROGRAMME_NAME}” in {elapsed:.1f}s."
            ))
        else:
            self.stdout.write(
                f"The demo programme “{demo.PROGRAMME_NAME}” already exists; nothing changed. "
                "Use --reset to rebuild it."
            )
        if "enrolments" in counts:
            stages = ", ".join(
                f"{counts[f'enrolments {status}']} {status}" for status in demo.ENROLMENT_COUNTS
            )
            self.stdout.write(
                f"{counts['organisations']} organisations in {counts['regions']} regions, "
                f"{counts['sites']} MDTs, {counts['accounts']} accounts, "
                f"{counts['pending invitations']} pending invitations.\n"
                f"Enrolments: {counts['enrolments']} ({stages})."
            )
        self.stdout.write("")
        self.stdout.write(demo.logins_table())
