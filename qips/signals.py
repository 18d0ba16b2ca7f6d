"""Receivers of other apps' signals: thin adapters onto this app's services."""

from django.dispatch import receiver

from ilcop.activity import activity_logged

from .models import QualityImprovementPlan
from .services.versions import plan_versions_replace


@receiver(activity_logged)
def replace_plan_versions(sender, *, entry, scopes, **kwargs) -> None:
    plan_versions_replace(scope for scope in scopes
                          if isinstance(scope, QualityImprovementPlan))
