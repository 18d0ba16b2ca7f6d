"""Build the demonstration programme (see programmes.demo, visits.demo and qips.demo for what
is in it), and with ``--scale national`` four more programmes at national scale
(qips.demo_national).

The command lives in the app highest in the dependency chain (qips → visits → programmes),
because it builds every app's part of the demo; move it up if a higher app adds its own.
"""

import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings

from ilcop.celery import app as celery_app
from ilcop.models import User
from programmes import demo
from programmes.demo_community import build_demo_community
from programmes.demo_resources import build_demo_resources
from programmes.models import DirectoryListing
from programmes.services.team_activity import site_team_activity_rebuild
from qips import demo as qips_demo
from qips import demo_national, demo_one_way
from qips.models import QualityImprovementPlan
from visits import demo as visits_demo
from visits.demo_event_responses import build_demo_event_responses
from visits.demo_events import build_demo_events

DUMMY_EMAIL = "django.core.mail.backends.dummy.EmailBackend"


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
            "--scale", choices=("demo", "national"), default="demo",
            help="national: also build four more programmes in other specialties, to about "
                 "600 sites, 6,000 people, 3,000 plans, 250,000 measurement points and a year "
                 "of activity (qips.demo_national). Builds the demo first if it is missing.",
        )
        parser.add_argument(
            "--allow-production", action="store_true",
            help="Run even though ILCOP_ENVIRONMENT=production (the demo accounts share a "
                 "published password).",
        )

    def handle(self, *args, reset: bool, logins: bool, allow_production: bool,
               scale: str = "demo", **options):
        if logins:
            self.stdout.write(demo.logins_table())
            return
        if settings.PRODUCTION and not allow_production:
            raise CommandError(
                "This is a production environment. The demo accounts share a published "
                "password; use --allow-production if you really want them here."
            )

        started = time.monotonic()
        # The demo's people have fictional addresses: build it without sending them email,
        # whatever the configured backend, and without queueing anything for a worker.
        eager = celery_app.conf.task_always_eager
        celery_app.conf.task_always_eager = True
        # The hundreds of in-process task runs would drown the sign-ins printed below.
        quiet = [logging.getLogger(name) for name in ("celery", "ilcop.mail", "kombu")]
        levels = [logger.level for logger in quiet]
        for logger in quiet:
            logger.setLevel(logging.WARNING if logger.name != "kombu" else logging.ERROR)
        try:
            with override_settings(EMAIL_BACKEND=DUMMY_EMAIL), transaction.atomic():
                # The national programmes stand on the demo's trusts: they go first.
                removed_national = ({k: n for k, n in demo_national.delete().items() if n}
                                    if reset or not demo.demo_exists() else {})
                result = demo.seed(reset=reset)
                if result.created:
                    programme = demo.demo_programmes().get()
                    actor = User.objects.get(email=demo.CORE_LEAD_EMAIL)
                    visit_counts = visits_demo.build(programme, actor)
                    plan_counts = qips_demo.build(programme, actor)
                    visit_counts["reports"] = visits_demo.reports_build(programme, actor)
                    learning = _learning_together(programme, actor)
                    one_way = demo_one_way.build(actor)
                national_created = scale == "national" and not demo_national.exists()
                national_started = time.monotonic()
                if national_created:
                    demo_national.build()
                # The builders write the activity log in bulk and move the entries the services
                # wrote back to the story's dates, bypassing what log_action keeps up to date.
                site_team_activity_rebuild()
                # The core team must sign in in two steps (ilcop.mfa): give every demo core-team
                # account the published demo authenticator app.
                demo.demo_authenticators_create(users=User.objects.filter(
                    core_memberships__programme__in=[
                        *demo.demo_programmes(), *demo_national.national_programmes()],
                ).distinct())
                national_elapsed = time.monotonic() - national_started
        finally:
            celery_app.conf.task_always_eager = eager
            for logger, level in zip(quiet, levels, strict=True):
                logger.setLevel(level)
        elapsed = time.monotonic() - started - national_elapsed
        counts = result.counts
        if removed_national:
            removed = ", ".join(f"{what}: {n}" for what, n in removed_national.items())
            self.stdout.write(f"Removed the previous national-scale data: {removed}.")

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
        if result.created:
            self.stdout.write("Visits: " + ", ".join(
                f"{n} {status.replace('_', ' ')}" for status, n in visit_counts.items() if n)
                + ".")
            labels = dict(QualityImprovementPlan.Status.choices)
            self.stdout.write(
                f"Quality improvement plans: {sum(plan_counts.values())} ("
                + ", ".join(f"{n} {labels[status].lower()}"
                            for status, n in plan_counts.items() if n) + ").")
            self.stdout.write(
                f"Learning together: {learning['events']} workshops and conferences, "
                f"{learning['resources']} library resources, {learning['listed']} people "
                "listed in the directory.")
            if one_way:
                self.stdout.write(
                    f"One-way review programme “{demo_one_way.PROGRAMME_NAME}”: "
                    f"{one_way['services']} services ({one_way['submitted']} self-reported), "
                    f"{one_way['flagged']} flagged with a decision each, {one_way['reviews']} "
                    "peer reviews (one reported, with its action plan under way).")
        if scale == "national":
            self._national(national_created, national_elapsed)
        self.stdout.write("")
        self.stdout.write(demo.logins_table())

    def _national(self, created: bool, elapsed: float) -> None:
        if created:
            self.stdout.write(self.style.SUCCESS(
                f"Built the national-scale data in {elapsed:.1f}s."))
        else:
            self.stdout.write("The national-scale data already exists; nothing changed. "
                              "Use --reset to rebuild it.")
        got, want = demo_national.counts(), demo_national.TARGETS
        self.stdout.write("Demo and national programmes together (target in brackets):")
        for key, label in (("programmes", "programmes"), ("sites", "sites (MDTs)"),
                           ("people", "people"), ("plans", "improvement plans"),
                           ("measurements", "measurement points")):
            self.stdout.write(f"  {label}: {got[key]:,} ({want[key]:,})")
        self.stdout.write(f"  activity log: {got['activity log entries']:,} entries over "
                          f"{got['activity days']} days ({want['activity days']} days)")
        for programme, email in demo_national.national_logins():
            self.stdout.write(f"{programme}: sign in as {email} (its clinical lead).")


def _learning_together(programme, actor: User) -> dict[str, int]:
    """Issue 11's part of the demo: events with replies, attendance and slides, the resource
    library, and the directory with a role-group email."""
    events = build_demo_events(programme, actor)
    build_demo_event_responses(programme, actor)
    resources = build_demo_resources(programme, actor)
    build_demo_community(programme)
    return {"events": len(events), "resources": len(resources),
            "listed": DirectoryListing.objects.filter(
                listed=True, user__site_memberships__site__enrolments__programme=programme,
            ).distinct().count()}
