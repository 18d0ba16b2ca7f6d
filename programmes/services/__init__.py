"""Every write in the programmes app: typed, atomic and logged (see ilcop.activity)."""

from .allocation import (
    PairingConstraints,
    pair_break,
    pair_make,
    pair_set_locked,
    pairing_confirm,
    pairing_conflict_add,
    pairing_conflict_remove,
    pairing_propose,
    pairing_reopen,
    pairs_swap,
    randomisation_confirm,
    randomisation_run,
)
from .audit import audit_import, eligibility_run, indicator_create, indicator_update
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
    "PairingConstraints",
    "audit_import",
    "eligibility_run",
    "indicator_create",
    "indicator_update",
    "pair_break",
    "pair_make",
    "pair_set_locked",
    "pairing_confirm",
    "pairing_conflict_add",
    "pairing_conflict_remove",
    "pairing_propose",
    "pairing_reopen",
    "pairs_swap",
    "randomisation_confirm",
    "randomisation_run",
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
