"""A person's own directory listing, and their choice of which role-group emails to get."""

from django.db import transaction
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.models import User

from ..models import DirectoryListing, Programme, RoleGroupOptOut
from ..selectors.community import GROUP_NAMES

LISTING_FIELDS = ("listed", "job_title", "show_email", "phone", "show_phone", "interests")


@transaction.atomic
def directory_listing_save(*, user: User, listed: bool, job_title: str = "",
                           show_email: bool = False, phone: str = "", show_phone: bool = False,
                           interests: str = "") -> DirectoryListing:
    listing, _ = DirectoryListing.objects.select_for_update().get_or_create(user=user)
    values = {"listed": listed, "job_title": job_title, "show_email": show_email,
              "phone": phone, "show_phone": show_phone, "interests": interests}
    if all(getattr(listing, name) == value for name, value in values.items()):
        return listing
    for name, value in values.items():
        setattr(listing, name, value)
    listing.updated_at = timezone.now()
    listing.save()
    # The choices only: what people write about themselves stays out of the audit trail.
    log_action(listing, "directory_listing.changed", actor=user,
               summary="Listed in the directory" if listed else "Not listed in the directory",
               data={"listed": listed, "show_email": show_email, "show_phone": show_phone})
    return listing


@transaction.atomic
def role_group_opt_out(*, user: User, programme: Programme,
                       roles: list[str]) -> list[RoleGroupOptOut]:
    """Stop ``user`` getting the programme's optional emails to these role groups. Asking
    again changes nothing (a mail client may send the one-click POST more than once)."""
    made = []
    for role in roles:
        opt_out, created = RoleGroupOptOut.objects.get_or_create(user=user, programme=programme,
                                                                 role=role)
        made.append(opt_out)
        if created:
            log_action(opt_out, "role_group.opted_out", actor=user,
                       summary=f"Stopped optional emails to {GROUP_NAMES[role]}",
                       scopes=[programme])
    return made


@transaction.atomic
def role_group_opt_out_remove(*, opt_out: RoleGroupOptOut, user: User) -> None:
    log_action(opt_out, "role_group.opted_in", actor=user,
               summary=f"Gets emails to {GROUP_NAMES[opt_out.role]} again",
               scopes=[opt_out.programme])
    RoleGroupOptOut.objects.filter(pk=opt_out.pk).delete()
