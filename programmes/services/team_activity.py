"""When a site's own team last did anything there (Site.team_last_active_at).

A sign of life is an entry on the site's timeline (ilcop.activity: every state change, every
progress update and every measurement entry is filed there) whose actor was in the site's
team when it was made (a membership not yet ended). Entries by anyone else (the core team
entering data on the team's behalf, a facilitator) say nothing about whether the team is
still going.

``site_team_activity_record`` keeps the field as each entry is written;
``site_team_activity_rebuild`` works it out from the whole log, for the data migration and
the demo seeds (which write the log in bulk, bypassing log_action). Both use the same
definition of "a member at the time", so the two agree (unless a membership's end date is
later rewritten).
"""

from collections.abc import Iterable

from django.apps import apps as django_apps
from django.db.models import F, OuterRef, Q, Subquery


def _member_at(prefix: str, when) -> Q:
    """A membership not yet ended at ``when``. Not bounded by joined_at: a membership has
    always begun by the time its member writes an entry, so only a joined_at set later than
    the entries (seeded or backdated data) could tell the two apart."""
    return Q(**{f"{prefix}ended_at__isnull": True}) | Q(**{f"{prefix}ended_at__gt": when})


def site_team_activity_record(*, entry, scopes: Iterable) -> int:
    """Move each scoped site's team_last_active_at on to ``entry`` if its actor is in the
    site's team. One UPDATE, and no query at all for an entry filed under no site."""
    site_model = django_apps.get_model("programmes", "Site")
    site_ids = [scope.pk for scope in scopes if isinstance(scope, site_model)]
    if not site_ids or entry.actor_id is None:
        return 0
    at = entry.created_at
    # All the membership conditions in one filter() so they apply to the same membership.
    return site_model.objects.filter(
        Q(pk__in=site_ids, memberships__user_id=entry.actor_id) & _member_at("memberships__", at),
    ).filter(Q(team_last_active_at__isnull=True) | Q(team_last_active_at__lt=at)).update(
        team_last_active_at=at)


def site_team_activity_rebuild(*, apps=django_apps, site_ids: Iterable[int] | None = None
                               ) -> None:
    """Work out team_last_active_at from the whole activity log, in one UPDATE.

    ``apps`` is the migration's app registry when a migration calls it."""
    site_model = apps.get_model("programmes", "Site")
    log_model = apps.get_model("ilcop", "ActivityLog")
    content_type = apps.get_model("contenttypes", "ContentType").objects.filter(
        app_label="programmes", model="site").first()
    sites = site_model.objects.all()
    if site_ids is not None:
        sites = sites.filter(pk__in=list(site_ids))
    if content_type is None:  # a new database: no site has been logged yet
        sites.update(team_last_active_at=None)
        return
    latest = log_model.objects.filter(
        Q(scopes__content_type_id=content_type.pk, scopes__object_id=OuterRef("pk"),
          actor__site_memberships__site_id=OuterRef("pk"))
        & _member_at("actor__site_memberships__", F("created_at")),
    ).order_by("-created_at").values("created_at")[:1]
    sites.update(team_last_active_at=Subquery(latest))
