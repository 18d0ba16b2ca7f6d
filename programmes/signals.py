"""Receivers of other apps' signals: thin adapters onto this app's services."""

from django.dispatch import receiver

from ilcop.activity import activity_logged

from .services.team_activity import site_team_activity_record


@receiver(activity_logged)
def record_team_activity(sender, *, entry, scopes, **kwargs) -> None:
    site_team_activity_record(entry=entry, scopes=scopes)
