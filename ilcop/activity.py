"""The activity log: every state change is recorded here through one call.

Modelled on pretix's ``log_action``: services call it inside their transaction, so an entry
exists if and only if the change it describes was committed.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.dispatch import Signal

from .models import ActivityLog, ActivityScope, User

# Sent by log_action once the entry and its scopes are written, inside the writer's
# transaction, with ``entry`` and ``scopes`` (the logged object and every scope). It lets an
# app keep a summary of the log exact without ilcop importing that app: programmes records
# when a site's own team last did anything there (Site.team_last_active_at).
activity_logged = Signal()


def log_action(
    obj: models.Model,
    verb: str,
    *,
    actor: User | None,
    summary: str,
    data: dict[str, Any] | None = None,
    scopes: Iterable[models.Model] = (),
) -> ActivityLog:
    """Record that ``actor`` did ``verb`` to ``obj``, filed under obj and each of ``scopes``.

    ``data`` is stored as JSON for the audit trail: the parameters of a decision and the
    reason given for it (why a site withdrew, why an allocation was overridden) belong here.
    Keep email addresses, patients' words and other personal details out: the timeline is
    shown to site teams, and people can ask to be forgotten.
    """
    entry = ActivityLog.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        verb=verb,
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        object_repr=str(obj)[:200],
        summary=summary[:300],
        data=data or {},
    )
    scopes = (obj, *scopes)
    scope_keys = {(ContentType.objects.get_for_model(s).pk, s.pk) for s in scopes}
    ActivityScope.objects.bulk_create(
        ActivityScope(entry=entry, content_type_id=ct, object_id=pk, created_at=entry.created_at)
        for ct, pk in scope_keys
    )
    activity_logged.send(sender=ActivityLog, entry=entry, scopes=scopes)
    return entry


def timeline_for(
    scope: models.Model, *, within: Iterable[models.Model] | None = None
) -> QuerySet[ActivityLog]:
    """Every entry filed under ``scope``, newest first.

    With ``within``, only the entries also filed under one of those objects: a site's
    timeline as seen by one programme's core team shows that programme's part of it.

    To keep a range of moments, filter on ``filed_at`` (the scope's copy of created_at, the
    same value) rather than ``created_at``: the range is then read from the timeline's index.
    """
    # Ordered by the scope's copy of created_at (then the entry's id, which the join makes
    # the scope's entry_id): PostgreSQL reads the scope's index newest first and stops after
    # a page, however long the timeline. Sorting by the entry's own created_at made it join
    # and sort every entry of the scope (a site's 700 within a programme's 31,000).
    entries = ActivityLog.objects.filter(
        scopes__content_type=ContentType.objects.get_for_model(scope),
        scopes__object_id=scope.pk,
    ).alias(filed_at=F("scopes__created_at")).order_by("-filed_at", "-id")
    if within is not None:
        within = list(within)
        if not within:
            return entries.none()
        # A probe of the unique (entry, content_type, object_id) index for each entry the walk
        # above reads, so it still stops after a page. Written as a scalar subquery rather
        # than EXISTS on purpose: PostgreSQL turns EXISTS into a semi-join, cannot know that
        # a site's entries are nearly all its programme's, and then joins and sorts them all
        # again (7 ms for a national site instead of 0.3).
        probe = ActivityScope.objects.filter(
            entry=OuterRef("pk"),
            content_type=ContentType.objects.get_for_model(within[0]),
            object_id__in=[obj.pk for obj in within],
        ).values("pk")[:1]
        entries = entries.alias(within_scope=Subquery(probe)).filter(within_scope__isnull=False)
    return entries.select_related("actor")
