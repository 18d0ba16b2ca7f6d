"""Receivers of other apps' signals: thin adapters onto this app's services."""

from django.db.models.signals import post_delete
from django.dispatch import receiver

from ilcop.activity import activity_logged

from .models import QualityImprovementPlan
from .services.versions import plan_versions_replace, programme_plans_version_replace


@receiver(activity_logged)
def replace_plan_versions(sender, *, entry, scopes, **kwargs) -> None:
    plan_versions_replace(scope for scope in scopes
                          if isinstance(scope, QualityImprovementPlan))


@receiver(post_delete, sender=QualityImprovementPlan)
def replace_plans_version_on_delete(sender, *, instance, **kwargs) -> None:
    # Also when a site (or programme) deleted takes the plan with it: Django's collector
    # sends post_delete for every row it cascades to.
    programme_plans_version_replace(instance.programme_id)
