"""Writes shared by every app."""

from django.db import models


def model_update(*, instance: models.Model, data: dict) -> list[str]:
    """Set the fields in ``data`` that differ, validate, and save only those.

    Returns the names of the fields that changed (empty when nothing did), so the caller can
    log exactly what was edited.
    """
    changed = [name for name, value in data.items() if getattr(instance, name) != value]
    if not changed:
        return []
    for name in changed:
        setattr(instance, name, data[name])
    instance.full_clean()
    instance.save(update_fields=changed)
    return changed


def changed_summary(model: type[models.Model], changed: list[str]) -> str:
    labels = ", ".join(str(model._meta.get_field(name).verbose_name) for name in changed)
    return f"Changed {labels}"
