from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.models import User

from ..models import SiteMembership


@transaction.atomic
def site_membership_end(*, membership: SiteMembership, user: User) -> SiteMembership:
    """Take someone off a site's team. The membership is kept, ended, for the record."""
    membership = (
        SiteMembership.objects.select_for_update().select_related("site", "user")
        .get(pk=membership.pk)
    )
    if membership.ended_at is not None:
        return membership
    if membership.role == SiteMembership.Role.CLINICAL_LEAD:
        other_leads = SiteMembership.objects.current().filter(
            site=membership.site, role=SiteMembership.Role.CLINICAL_LEAD
        ).exclude(pk=membership.pk)
        if not other_leads.exists():
            raise ValidationError(
                "A site must keep a clinical lead. Invite the new clinical lead first, then "
                "remove this one."
            )
    membership.ended_at = timezone.now()
    membership.save(update_fields=["ended_at"])
    log_action(
        membership, "membership.ended", actor=user,
        summary=f"Removed {membership.user} ({membership.role_label}) from the team",
        scopes=[membership.site, *[e.programme for e in membership.site.enrolments.all()]],
    )
    return membership
