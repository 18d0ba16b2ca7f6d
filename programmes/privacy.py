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
    EvidenceDocument,
    GroupMessage,
    Invitation,
    Programme,
    QualityIndicator,
    RegionalHubMembership,
    Reviewer,
    RoleGroupOptOut,
    SelfReport,
    Site,
    SiteMembership,
    SurveillanceDecision,
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


def _reviewing(user: User) -> list[dict]:
    """Their places in reviewer pools, with what they declared, and their regional hubs."""
    pools = [{**row, "conflicts": [
        {"organisation": c.organisation.name, "description": c.description,
         "declared_on": c.declared_on.isoformat()}
        for c in reviewer.conflicts.select_related("organisation")]}
        for reviewer, row in zip(
            Reviewer.objects.filter(user=user).order_by("pk"),
            privacy.rows(Reviewer.objects.filter(user=user).order_by("pk"), "programme__name",
                         "is_patient_reviewer", "profession", "expertise", "region",
                         "organisation__name", "training_completed_on", "active",
                         "added_at"), strict=True)]
    hubs = privacy.rows(RegionalHubMembership.objects.filter(user=user).order_by("pk"),
                        "hub__programme__name", "hub__name", "joined_at")
    return ([{"what": "reviewer pool", **row} for row in pools]
            + [{"what": "regional hub", **row} for row in hubs])


def _surveillance_work(user: User) -> list[dict]:
    """What they did in a one-way programme's self-report and surveillance decisions."""
    submitted = privacy.rows(SelfReport.objects.filter(submitted_by=user).order_by("pk"),
                             "cycle__programme__name", "cycle__name", "site__code",
                             "submitted_at")
    evidence = privacy.rows(EvidenceDocument.objects.filter(uploaded_by=user).order_by("pk"),
                            "report__site__code", "title", "filename", "uploaded_at")
    decided = privacy.rows(SurveillanceDecision.objects.filter(decided_by=user).order_by("pk"),
                           "report__site__code", "report__cycle__name", "risk_level",
                           "decided_at")
    flagged = privacy.rows(QualityIndicator.objects.filter(flagged_out_of_date_by=user)
                           .order_by("pk"), "programme__name", "code", "out_of_date_reason",
                           "flagged_out_of_date_at")
    return ([{"action": "submitted a self-report", **row} for row in submitted]
            + [{"action": "uploaded evidence", **row} for row in evidence]
            + [{"action": "recorded a surveillance decision", **row} for row in decided]
            + [{"action": "flagged an indicator as out of date", **row} for row in flagged])


def register() -> None:
    privacy.register_section("Core team places", _core_team)
    privacy.register_section("Site team places", _site_teams)
    privacy.register_section("Invitations", _invitations)
    privacy.register_section("Patient survey work", _survey_work)
    privacy.register_section("Enrolment steps you recorded", _enrolment_moves)
    privacy.register_section("Directory listing", _directory)
    privacy.register_section("Role-group emails you left", _opt_outs)
    privacy.register_section("Emails you sent to role groups", _group_messages)
    privacy.register_section("Reviewer pools and regional hubs", _reviewing)
    privacy.register_section("Self-reports and surveillance decisions", _surveillance_work)
    privacy.register_anonymiser(anonymise)
