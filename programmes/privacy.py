"""This app's part of a person's data (ilcop.privacy): memberships, invitations and the
survey work they did. Registered from ProgrammesConfig.ready."""

from collections.abc import Iterable

from django.db import models
from django.db.models import Q
from django.utils import timezone

from ilcop import privacy
from ilcop.models import User

from .models import (
    CoreTeamMembership,
    DirectoryListing,
    Enrolment,
    GroupMessage,
    Invitation,
    Programme,
    RoleGroupOptOut,
    Site,
    SiteMembership,
    SurveyAnswer,
    SurveyResponse,
)


def _invitations_of(user: User, email: str) -> models.QuerySet[Invitation]:
    return Invitation.objects.filter(Q(accepted_by=user) | Q(email__iexact=email))


def _core_team(user: User) -> list[dict]:
    return privacy.rows(CoreTeamMembership.objects.filter(user=user).order_by("joined_at"),
                        "programme__name", "role", "joined_at")


def _site_teams(user: User) -> list[dict]:
    return privacy.rows(SiteMembership.objects.filter(user=user).order_by("joined_at"),
                        "site__code", "site__name", "role", "clinical_specialty", "joined_at",
                        "ended_at")


def _invitations(user: User) -> list[dict]:
    return privacy.rows(_invitations_of(user, user.email).order_by("created_at"),
                        "programme__name", "site__code", "email", "full_name", "core_role",
                        "site_role", "clinical_specialty", "status", "created_at", "sent_at",
                        "accepted_at")


def _survey_work(user: User) -> list[dict]:
    # What they did with patients' answers, not the answers: those are the patients' words.
    entered = privacy.rows(SurveyResponse.objects.filter(entered_by=user).order_by("pk"),
                           "collection__site__code", "mode", "received_on")
    reviewed = privacy.rows(SurveyAnswer.objects.filter(reviewed_by=user).order_by("pk"),
                            "response__collection__site__code", "review", "shared_text",
                            "reviewed_at")
    return ([{"action": "entered a paper response", **row} for row in entered]
            + [{"action": "reviewed a comment", **row} for row in reviewed])


def _enrolment_moves(user: User) -> list[dict]:
    return privacy.rows(Enrolment.objects.filter(status_changed_by=user).order_by("pk"),
                        "programme__name", "site__code", "status", "status_changed_at")


def _directory(user: User) -> list[dict]:
    return privacy.rows(DirectoryListing.objects.filter(user=user), "listed", "job_title",
                        "show_email", "phone", "show_phone", "interests", "updated_at")


def _opt_outs(user: User) -> list[dict]:
    return privacy.rows(RoleGroupOptOut.objects.filter(user=user).order_by("pk"),
                        "programme__name", "role", "created_at")


def _group_messages(user: User) -> list[dict]:
    return privacy.rows(GroupMessage.objects.filter(sent_by=user).order_by("pk"),
                        "programme__name", "roles", "subject", "sent_at", "recipient_count")


def anonymise(user: User, *, old_name: str, old_email: str, placeholder: str,
              email: str) -> Iterable[models.Model]:
    """Their invitations carry their name and address; their site memberships end (kept, as
    every ended membership is, for the record); core team places are removed, because a core
    team membership has no end and would go on granting a programme's data."""
    programmes = set(Programme.objects.filter(
        Q(core_team__user=user) | Q(invitations__accepted_by=user)
        | Q(invitations__email__iexact=old_email)
        | Q(enrolments__site__memberships__user=user)))
    sites = set(Site.objects.filter(memberships__user=user))
    _invitations_of(user, old_email).update(full_name=placeholder, email=email)
    Invitation.objects.filter(accepted_by=user).update(full_name=placeholder, email=email)
    Invitation.objects.filter(status=Invitation.Status.PENDING, accepted_by=user).update(
        status=Invitation.Status.REVOKED)
    Invitation.objects.filter(status=Invitation.Status.PENDING, email=email).update(
        status=Invitation.Status.REVOKED)
    SiteMembership.objects.current().filter(user=user).update(ended_at=timezone.now())
    CoreTeamMembership.objects.filter(user=user).delete()
    # Their listing is only about them (phone, job title, what they like to talk about).
    DirectoryListing.objects.filter(user=user).delete()
    return [*programmes, *sites]


def register() -> None:
    privacy.register_section("Core team places", _core_team)
    privacy.register_section("Site team places", _site_teams)
    privacy.register_section("Invitations", _invitations)
    privacy.register_section("Patient survey work", _survey_work)
    privacy.register_section("Enrolment steps you recorded", _enrolment_moves)
    privacy.register_section("Directory listing", _directory)
    privacy.register_section("Role-group emails you left", _opt_outs)
    privacy.register_section("Emails you sent to role groups", _group_messages)
    privacy.register_anonymiser(anonymise)
