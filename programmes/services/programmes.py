from django.db import transaction

from ilcop.activity import log_action
from ilcop.models import User
from ilcop.services import changed_summary, model_update

from ..models import CoreTeamMembership, Programme


@transaction.atomic
def programme_create(*, user: User, creator_role: str, **fields) -> Programme:
    """Create a programme and put its creator in the core team."""
    programme = Programme.objects.create(**fields)
    CoreTeamMembership.objects.create(programme=programme, user=user, role=creator_role)
    log_action(programme, "programme.created", actor=user, summary="Created the programme")
    return programme


@transaction.atomic
def programme_update(*, programme: Programme, user: User, **fields) -> Programme:
    changed = model_update(instance=programme, data=fields)
    if changed:
        log_action(programme, "programme.updated", actor=user,
                   summary=changed_summary(Programme, changed), data={"fields": changed})
    return programme
