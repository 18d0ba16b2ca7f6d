"""Every write in the programmes app: typed, atomic and logged (see ilcop.activity)."""

from .enrolment import enrolment_move, enrolments_move
from .invitations import (
    InvitationError,
    invitation_accept,
    invitation_create,
    invitation_from_token,
    invitation_revoke,
    invitation_send,
    invitation_token,
)
from .programmes import programme_create, programme_update
from .sites import organisation_create, site_create, site_update, sites_import
from .teams import site_membership_end

__all__ = [
    "InvitationError",
    "enrolment_move",
    "enrolments_move",
    "invitation_accept",
    "invitation_create",
    "invitation_from_token",
    "invitation_revoke",
    "invitation_send",
    "invitation_token",
    "organisation_create",
    "programme_create",
    "programme_update",
    "site_create",
    "site_membership_end",
    "site_update",
    "sites_import",
]
