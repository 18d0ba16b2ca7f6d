"""Timelines (ilcop.activity.timeline_for) read from the scopes' copy of created_at.

The copy must always equal the entry's, and a timeline must list exactly the entries, in
exactly the order (newest first, then the highest id), of a query that reads the entries
themselves. The fixture dates entries out of id order on purpose, with ties, as the demo
seeds do when they date what a service logged at the moment it happened in the story.
"""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import F

from ilcop.activity import log_action, timeline_for
from ilcop.models import ActivityLog, ActivityScope

from .factories import EnrolmentFactory, ProgrammeFactory

DAY = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def expected(scope, within=None) -> list[ActivityLog]:
    """The timeline as it was read before the copy: filtered and sorted on the entries."""
    def filed_under(objects):
        objects = list(objects)
        return ActivityScope.objects.filter(
            content_type=ContentType.objects.get_for_model(objects[0]),
            object_id__in=[obj.pk for obj in objects]).values("entry_id")

    entries = ActivityLog.objects.filter(pk__in=filed_under([scope]))
    if within is not None:
        entries = entries.filter(pk__in=filed_under(within))
    return list(entries.order_by("-created_at", "-id"))


def copies_differ() -> list[tuple[int, int]]:
    """Scopes whose created_at is not their entry's, as (scope, entry) keys."""
    return list(ActivityScope.objects.exclude(created_at=F("entry__created_at"))
                .values_list("pk", "entry_id"))


@pytest.fixture
def world(programme, site, other_site, core):
    """Two programmes sharing a site, and entries whose dates run against their ids."""
    second = ProgrammeFactory(name="Second programme")
    EnrolmentFactory(programme=second, site=site)
    # Hours after DAY, in the order the entries are written: later ids are often older, and
    # some share a moment, so only the id can order them.
    hours = [5, 1, 9, 1, 7, 3, 3, 0, 8, 3, 2, 6, 4]
    plan = [(site, [programme]), (site, [second]), (other_site, [programme]),
            (site, [programme]), (programme, []), (site, [second]), (site, [programme]),
            (other_site, [programme]), (site, [programme]), (site, [second]), (programme, []),
            (site, [programme]), (site, [programme, second])]
    for n, ((obj, scopes), hour) in enumerate(zip(plan, hours, strict=True)):
        entry = log_action(obj, "test.logged", actor=core, summary=f"Entry {n}", scopes=scopes)
        ActivityLog.objects.filter(pk=entry.pk).update(
            created_at=DAY + datetime.timedelta(hours=hour))
    return {"programme": programme, "second": second, "site": site, "other_site": other_site}


def test_log_action_copies_the_moment_onto_every_scope(programme, site, core):
    entry = log_action(site, "test.logged", actor=core, summary="Logged", scopes=[programme])
    assert set(entry.scopes.values_list("created_at", flat=True)) == {entry.created_at}
    assert entry.scopes.count() == 2


def test_moving_entries_moves_their_copies(world):
    assert copies_differ() == []
    moved = ActivityLog.objects.filter(summary__in=["Entry 0", "Entry 4"])
    ActivityLog.objects.filter(pk__in=moved.values("pk")).update(
        created_at=DAY - datetime.timedelta(days=30))
    assert copies_differ() == []
    # A filter on created_at itself: the scopes are moved while it still selects the same rows.
    ActivityLog.objects.filter(created_at__lt=DAY).update(created_at=DAY)
    assert copies_differ() == []
    assert ActivityScope.objects.filter(created_at__lt=DAY).count() == 0


def test_an_expression_cannot_move_entries(world):
    with pytest.raises(TypeError):
        ActivityLog.objects.update(created_at=F("created_at") + datetime.timedelta(days=1))
    assert copies_differ() == []


def test_other_updates_leave_the_copies_alone(world):
    ActivityLog.objects.filter(summary="Entry 1").update(summary="Renamed")
    assert copies_differ() == []


@pytest.mark.parametrize("scope, within", [
    ("site", None), ("programme", None), ("second", None), ("other_site", None),
    ("site", ["programme"]), ("site", ["second"]), ("site", ["programme", "second"]),
    ("other_site", ["programme"]),
    # Nothing: the other site never joined the second programme.
    ("other_site", ["second"]),
])
def test_a_timeline_lists_the_entries_newest_first_then_by_id(world, scope, within):
    scope = world[scope]
    within = None if within is None else [world[name] for name in within]
    wanted = expected(scope, within)
    timeline = timeline_for(scope, within=within)
    assert list(timeline) == wanted
    # Pages, as the journey and the activity list read them.
    for start in range(0, len(wanted) + 2, 2):
        assert list(timeline[start:start + 3]) == wanted[start:start + 3]
    assert timeline.count() == len(wanted)
    # The last entry, filed under both programmes, is listed once.
    assert len({entry.pk for entry in timeline}) == len(wanted)


def test_within_nothing_is_nothing(world):
    assert list(timeline_for(world["site"], within=[])) == []


def test_callers_can_narrow_a_timeline(world, core):
    timeline = timeline_for(world["site"], within=[world["programme"]])
    wanted = expected(world["site"], [world["programme"]])
    assert list(timeline.exclude(summary="Entry 3")) == [
        e for e in wanted if e.summary != "Entry 3"]
    assert timeline.filter(summary__in=["Entry 3", "Entry 6"]).first() == next(
        e for e in wanted if e.summary in ("Entry 3", "Entry 6"))
    assert timeline.first().actor == core


def test_a_range_of_moments_on_filed_at_is_the_range_on_created_at(world):
    start, end = DAY + datetime.timedelta(hours=1), DAY + datetime.timedelta(hours=7)
    timeline = timeline_for(world["programme"])
    on_copy = list(timeline.filter(filed_at__gte=start).filter(filed_at__lt=end))
    on_entry = [e for e in expected(world["programme"]) if start <= e.created_at < end]
    assert on_copy == on_entry
    assert len(on_entry) >= 3


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_scopes_their_entrys_moment():
    before, after = ("ilcop", "0004_outbox_task"), ("ilcop", "0005_activity_scope_created_at")
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    try:
        old = executor.loader.project_state([before]).apps
        log, scope = old.get_model("ilcop", "ActivityLog"), old.get_model("ilcop", "ActivityScope")
        content_type = old.get_model("contenttypes", "ContentType").objects.first()
        for n, hour in enumerate([4, 1, 3]):
            entry = log.objects.create(
                created_at=DAY + datetime.timedelta(hours=hour), verb="test.logged",
                content_type=content_type, object_id=n, object_repr="x", summary="x")
            for object_id in (n, 99):
                scope.objects.create(entry=entry, content_type=content_type,
                                     object_id=object_id)
        executor = MigrationExecutor(connection)
        executor.migrate([after])
        new = executor.loader.project_state([after]).apps
        scopes = new.get_model("ilcop", "ActivityScope").objects.all()
        assert scopes.count() == 6
        assert not scopes.exclude(created_at=F("entry__created_at")).exists()
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
