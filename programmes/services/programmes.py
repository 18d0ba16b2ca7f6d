from django.db import transaction

from ilcop.activity import log_action
from ilcop.models import User

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
    changed = {
        name: value for name, value in fields.items() if getattr(programme, name) != value
    }
    if not changed:
        return programme
    for name, value in changed.items():
        setattr(programme, name, value)
    programme.full_clean()
    programme.save(update_fields=list(changed))
    labels = ", ".join(Programme._meta.get_field(n).verbose_name for n in changed)
    log_action(
        programme, "programme.updated", actor=user, summary=f"Changed {labels}",
        data={"fields": sorted(changed)},
    )
    return programme
