"""Proposing visit dates (visits.scheduler), tested directly.

Worked examples by hand first, then check_schedule against hand-made bad schedules (it is the
referee for everything else), then random small instances with hypothesis: every schedule keeps
every hard constraint, never places fewer visits than first come, first served, never finishes
before the lower bound, is the same on every run, and on tiny instances agrees with exhaustive
search on all four levels of the objective.
"""

import datetime
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visits import scheduler as s
from visits.scheduler import IF_NEED_BE, YES, Rules, VisitRequest

MONDAY = datetime.date(2026, 1, 5)  # ISO week 2 of 2026
LIMIT = 2.0  # seconds per solve; every instance here is proved optimal well within it
RULES = Rules()  # 2 a week per facilitator, 14 days between two visits of a site


def day(week: int, weekday: int = 1) -> datetime.date:
    """The weekday (0 = Monday) of the week'th week after MONDAY; Tuesday by default."""
    return MONDAY + datetime.timedelta(weeks=week, days=weekday)


def visit(name, host, visitor, options, *, facilitator="F", after=None) -> VisitRequest:
    """A request; options is a dict of date -> answer, or a list of dates all answered yes."""
    if not isinstance(options, dict):
        options = dict.fromkeys(options, YES)
    return VisitRequest(name, host, visitor, facilitator, options, after)


def propose(requests, rules=RULES):
    return s.propose_schedule(requests, rules, time_limit_seconds=LIMIT)


# --- worked examples --------------------------------------------------------------------------


def test_a_pair_visits_first_then_returns_at_least_the_gap_later():
    # A hosts B on a Tuesday; B hosts A on a Thursday, after, and 14 days apart (both sites).
    first = visit("1a", "A", "B", [day(0), day(1), day(2)])
    back = visit("1b", "B", "A", [day(w, 3) for w in range(4)], after="1a")
    result = propose([first, back])
    # Tue 6 Jan, then the first Thursday at least 14 days later: 22 January (not 8 or 15).
    assert result.dates == {"1a": datetime.date(2026, 1, 6), "1b": datetime.date(2026, 1, 22)}
    assert result.finish == datetime.date(2026, 1, 22)
    assert result.unscheduled == {}
    assert result.yes_count == 2
    assert result.optimal
    assert [stage.name for stage in result.stages] == ["visits", "finish", "yes", "days"]
    assert all(stage.optimal and stage.gap == 0 for stage in result.stages)


def test_a_return_visit_with_no_date_after_its_first_is_left_out_with_the_reason():
    first = visit("1a", "A", "B", [day(3)])
    back = visit("1b", "B", "A", [day(0, 3), day(1, 3)], after="1a")
    result = propose([first, back])
    assert result.dates == {"1a": day(3)}
    assert result.unscheduled == {"1b": s.NOT_AFTER_FIRST}


def test_a_return_visit_waits_for_its_first_visit():
    first = visit("1a", "A", "B", {})  # nobody can make any date
    back = visit("1b", "B", "A", [day(0)], after="1a")
    result = propose([first, back])
    assert result.dates == {}
    assert result.unscheduled == {"1a": s.NO_CANDIDATE_DATE, "1b": s.FIRST_NOT_SCHEDULED}
    assert result.finish is None
    assert result.optimal


def test_a_first_visit_that_is_not_open_has_already_happened():
    # "1a" is not among the requests: it took place already, so "1b" may go at once.
    result = propose([visit("1b", "B", "A", [day(0), day(1)], after="1a")])
    assert result.dates == {"1b": day(0)}


def test_a_cycle_of_after_can_never_be_scheduled():
    a = visit("a", "A", "B", [day(0), day(5)], after="b")
    b = visit("b", "B", "A", [day(0), day(5)], after="a")
    result = propose([a, b])
    assert result.dates == {}
    assert result.unscheduled == {"a": s.FIRST_NOT_SCHEDULED, "b": s.FIRST_NOT_SCHEDULED}
    assert s.lower_bound_finish([a, b], Rules()) is None


def test_a_facilitator_runs_one_visit_a_day_and_more_visits_beat_an_earlier_finish():
    # One facilitator, two unrelated pairs. Both can only be placed if "x" takes week 5.
    x = visit("x", "A", "B", [day(0), day(5)])
    y = visit("y", "C", "D", [day(0)])
    result = propose([x, y])
    assert result.dates == {"x": day(5), "y": day(0)}
    # First come, first served gives x the earliest date and then has nothing left for y.
    assert s.first_come_first_served([x, y], Rules()) == {"x": day(0)}


def test_a_facilitator_runs_at_most_the_weekly_number():
    # Three unrelated pairs, one facilitator, Monday, Wednesday and Friday of week 0 or the
    # Monday after. Two a week: one must wait for the next week.
    dates = [day(0, 0), day(0, 2), day(0, 4), day(1, 0)]
    requests = [visit(n, f"{n}-host", f"{n}-visitor", dates) for n in "xyz"]
    result = propose(requests, Rules(facilitator_max_per_week=2))
    assert result.finish == day(1, 0)
    assert sorted(result.dates.values()) == [day(0, 0), day(0, 2), day(1, 0)]
    result = propose(requests, Rules(facilitator_max_per_week=3))
    assert sorted(result.dates.values()) == [day(0, 0), day(0, 2), day(0, 4)]


def test_different_facilitators_may_run_visits_on_the_same_day():
    x = visit("x", "A", "B", [day(0)], facilitator="F1")
    y = visit("y", "C", "D", [day(0)], facilitator="F2")
    assert propose([x, y]).dates == {"x": day(0), "y": day(0)}


@pytest.mark.parametrize(("gap", "expected"), [(14, day(2, 2)), (7, day(1, 2)), (1, day(0, 2))])
def test_a_site_in_two_visits_needs_the_gap_between_them(gap, expected):
    # Site A hosts B on Tuesday of week 0, and visits C on a Wednesday: 1, 8 or 15 days later.
    # Different facilitators, so only A's gap is at stake.
    hosted = visit("hosted", "A", "B", [day(0)], facilitator="F1")
    away = visit("away", "C", "A", [day(0, 2), day(1, 2), day(2, 2)], facilitator="F2")
    result = propose([hosted, away], Rules(site_min_gap_days=gap))
    assert result.dates == {"hosted": day(0), "away": expected}


def test_a_site_is_never_in_two_visits_on_one_day():
    hosted = visit("hosted", "A", "B", [day(0)], facilitator="F1")
    away = visit("away", "C", "A", [day(0)], facilitator="F2")
    result = propose([hosted, away], Rules(site_min_gap_days=1))
    assert len(result.dates) == 1
    assert list(result.unscheduled.values()) == [s.NO_FIT]


def test_a_bank_holiday_left_out_by_the_caller_is_never_used():
    # The host meets on Mondays; the caller has left out Easter Monday, 6 April 2026. The
    # facilitator is busy on 30 March, so the visit goes on 13 April, not the bank holiday.
    busy = visit("busy", "C", "D", [datetime.date(2026, 3, 30)])
    mondays = [datetime.date(2026, 3, 30), datetime.date(2026, 4, 13)]
    result = propose([busy, visit("v", "A", "B", mondays)])
    assert result.dates == {"busy": datetime.date(2026, 3, 30), "v": datetime.date(2026, 4, 13)}
    bad = {"busy": datetime.date(2026, 3, 30), "v": datetime.date(2026, 4, 6)}
    assert s.check_schedule([busy, visit("v", "A", "B", mondays)], Rules(), bad) == [
        "visit v on 2026-04-06 is not one of its candidate dates"
    ]


def test_finishing_earlier_beats_more_yes_dates():
    result = propose([visit("v", "A", "B", {day(0): IF_NEED_BE, day(1): YES})])
    assert result.dates == {"v": day(0)}
    assert result.yes_count == 0


def test_among_equal_finish_dates_more_yes_dates_win():
    # One facilitator, one visit a week: weeks 0 and 1 either way, so the finish is the same;
    # only one way round has both quorums met by "yes" answers alone.
    x = visit("x", "A", "B", {day(0): IF_NEED_BE, day(1): YES})
    y = visit("y", "C", "D", {day(0): YES, day(1): IF_NEED_BE})
    result = propose([x, y], Rules(facilitator_max_per_week=1))
    assert result.dates == {"x": day(1), "y": day(0)}
    assert result.yes_count == 2
    assert result.finish == day(1)


def test_the_tie_break_is_earlier_dates_overall():
    # y fixes the finish at week 3 whatever x does; x could go in week 0 or week 3.
    x = visit("x", "A", "B", [day(0), day(3)], facilitator="F1")
    y = visit("y", "C", "D", [day(3)], facilitator="F2")
    assert propose([x, y]).dates == {"x": day(0), "y": day(3)}


def test_nothing_to_schedule():
    result = propose([])
    assert result == s.Schedule({}, {}, None, 0, True, result.solve_seconds, ())
    assert s.lower_bound_finish([], Rules()) is None
    assert s.first_come_first_served([], Rules()) == {}


def test_with_no_time_at_all_the_greedy_schedule_comes_back():
    x = visit("x", "A", "B", [day(0), day(5)])
    y = visit("y", "C", "D", [day(0)])
    result = s.propose_schedule([x, y], Rules(), time_limit_seconds=0)
    assert result.dates == {"x": day(0)}
    assert result.unscheduled == {"y": s.NO_FIT}
    assert not result.optimal
    assert result.stages == ()


@pytest.mark.parametrize(
    ("requests", "rules", "message"),
    [
        ([visit("x", "A", "B", [day(0)]), visit("x", "C", "D", [day(1)])], Rules(), "twice"),
        ([visit("x", "A", "A", [day(0)])], Rules(), "same host and visitor"),
        ([visit("x", "A", "B", {day(0): "no"})], Rules(), "answers other than"),
        ([], Rules(facilitator_max_per_week=0), "facilitator_max_per_week"),
        ([], Rules(site_min_gap_days=0), "site_min_gap_days"),
    ],
)
def test_input_the_rules_cannot_mean_anything_for_is_refused(requests, rules, message):
    for function in (s.propose_schedule, s.first_come_first_served, s.lower_bound_finish):
        with pytest.raises(ValueError, match=message):
            function(requests, rules)


# --- first come, first served -----------------------------------------------------------------


def test_first_come_first_served_takes_visits_in_input_order():
    first = visit("1a", "A", "B", [day(0), day(1), day(2)])
    back = visit("1b", "B", "A", [day(w, 3) for w in range(4)], after="1a")
    assert s.first_come_first_served([first, back], Rules()) == {"1a": day(0), "1b": day(2, 3)}
    # A return visit listed before its first is skipped: the greedy does not look ahead.
    assert s.first_come_first_served([back, first], Rules()) == {"1a": day(0)}


# --- the lower bound --------------------------------------------------------------------------


def test_lower_bound_counts_a_facilitators_weeks():
    # Five unrelated pairs, one facilitator, every Tuesday and Thursday for ten weeks, two a
    # week: the fifth visit cannot be before the third week's Tuesday.
    dates = [day(w, wd) for w in range(10) for wd in (1, 3)]
    requests = [visit(n, f"{n}-host", f"{n}-visitor", dates) for n in "vwxyz"]
    assert s.lower_bound_finish(requests, Rules()) == day(2, 1)
    assert propose(requests).finish == day(2, 1)
    # With only Tuesdays, one a day means one a week: the fifth Tuesday.
    tuesdays = [visit(r.visit, r.host, r.visitor, [day(w) for w in range(10)]) for r in requests]
    assert s.lower_bound_finish(tuesdays, Rules()) == day(4)


def test_lower_bound_counts_a_return_visits_gap():
    first = visit("1a", "A", "B", [day(0), day(1), day(2)])
    back = visit("1b", "B", "A", [day(w, 3) for w in range(4)], after="1a")
    assert s.lower_bound_finish([first, back], Rules()) == datetime.date(2026, 1, 22)


def test_lower_bound_counts_a_sites_gaps():
    # Site A in three visits with three partners and three facilitators: 14 days apart.
    requests = [
        visit(n, "A", f"{n}-partner", [day(w) for w in range(10)], facilitator=n) for n in "xyz"
    ]
    assert s.lower_bound_finish(requests, Rules()) == day(4)
    assert propose(requests).finish == day(4)


def test_lower_bound_for_a_given_number_of_visits():
    # Two unrelated pairs, one facilitator, one a week: the bound for both is week 1 and for
    # one is week 0; for more visits than can ever be scheduled there is no bound.
    requests = [visit(n, f"{n}-host", f"{n}-visitor", [day(0), day(1)]) for n in "xy"]
    rules = Rules(facilitator_max_per_week=1)
    assert s.lower_bound_finish(requests, rules) == day(1)
    assert s.lower_bound_finish(requests, rules, visits=1) == day(0)
    assert s.lower_bound_finish(requests, rules, visits=3) is None
    assert s.lower_bound_finish(requests, rules, visits=0) is None


# --- check_schedule ---------------------------------------------------------------------------


def test_check_schedule_accepts_a_valid_schedule():
    first = visit("1a", "A", "B", [day(0)])
    back = visit("1b", "B", "A", [day(2, 3)], after="1a")
    assert s.check_schedule([first, back], Rules(), {"1a": day(0), "1b": day(2, 3)}) == []
    assert s.check_schedule([first, back], Rules(), {}) == []


def test_check_schedule_catches_an_unknown_visit_and_a_date_not_offered():
    requests = [visit("x", "A", "B", [day(0)])]
    assert s.check_schedule(requests, Rules(), {"x": day(1), "ghost": day(0)}) == [
        "visit ghost is not an open visit",
        f"visit x on {day(1)} is not one of its candidate dates",
    ]


def test_check_schedule_catches_a_facilitator_twice_in_a_day():
    requests = [visit("x", "A", "B", [day(0)]), visit("y", "C", "D", [day(0)])]
    assert s.check_schedule(requests, Rules(), {"x": day(0), "y": day(0)}) == [
        f"facilitator F has 2 visits on {day(0)}: x, y"
    ]


def test_check_schedule_catches_a_facilitator_over_the_weekly_number():
    dates = [day(0, 0), day(0, 2), day(0, 4)]
    requests = [visit(n, f"{n}-host", f"{n}-visitor", dates) for n in "xyz"]
    placed = {"x": day(0, 0), "y": day(0, 2), "z": day(0, 4)}
    assert s.check_schedule(requests, Rules(facilitator_max_per_week=3), placed) == []
    assert s.check_schedule(requests, Rules(facilitator_max_per_week=2), placed) == [
        "facilitator F has 3 visits in ISO week 2026-W02 (at most 2): x, y, z"
    ]


def test_check_schedule_catches_a_site_with_visits_too_close():
    hosted = visit("hosted", "A", "B", [day(0)], facilitator="F1")
    away = visit("away", "C", "A", [day(0), day(1, 2), day(2)], facilitator="F2")
    requests = [hosted, away]
    assert s.check_schedule(requests, Rules(), {"hosted": day(0), "away": day(2)}) == []
    assert s.check_schedule(requests, Rules(), {"hosted": day(0), "away": day(1, 2)}) == [
        f"site A has visits hosted ({day(0)}) and away ({day(1, 2)}) 8 days apart "
        "(at least 14 needed)"
    ]
    assert s.check_schedule(requests, Rules(), {"hosted": day(0), "away": day(0)}) == [
        f"site A has visits hosted ({day(0)}) and away ({day(0)}) 0 days apart (at least 14 needed)"
    ]


def test_check_schedule_catches_a_return_visit_without_or_before_its_first():
    first = visit("1a", "A", "B", [day(0), day(4)], facilitator="F1")
    back = visit("1b", "B", "A", [day(0), day(2)], facilitator="F2", after="1a")
    rules = Rules(site_min_gap_days=1)
    assert s.check_schedule([first, back], rules, {"1b": day(2)}) == [
        "visit 1b is scheduled but its first visit 1a is not"
    ]
    assert s.check_schedule([first, back], rules, {"1a": day(4), "1b": day(2)}) == [
        f"visit 1b ({day(2)}) is not after its first visit 1a ({day(4)})"
    ]
    # The same day also puts both sites in two visits at once.
    assert len(s.check_schedule([first, back], rules, {"1a": day(0), "1b": day(0)})) == 3
    # A first visit that is not open has happened already.
    assert s.check_schedule([back], rules, {"1b": day(0)}) == []


# --- random instances -------------------------------------------------------------------------

ANSWER = st.sampled_from([None, None, YES, IF_NEED_BE])  # about half the dates available


@st.composite
def instances(draw, *, max_pairs: int = 8, weeks: int = 10):
    """1 to max_pairs pairs among a few sites (so a site can be in several pairs), 1 or 2
    facilitators, candidate dates on each host's weekday over ``weeks`` weeks with random
    answers, and random rules. Sometimes a pair's first visit has already happened."""
    pairs = draw(st.integers(1, max_pairs))
    sites = draw(st.integers(2, 2 * pairs))
    facilitators = draw(st.integers(1, 2))
    weekday = draw(st.lists(st.integers(0, 4), min_size=sites, max_size=sites))
    requests = []
    for pair in range(pairs):
        a = draw(st.integers(0, sites - 1))
        b = (a + draw(st.integers(1, sites - 1))) % sites
        facilitator = draw(st.integers(0, facilitators - 1))
        first_done = draw(st.booleans()) and draw(st.booleans())
        for host, visitor, name, after in ((a, b, "a", None), (b, a, "b", f"{pair}a")):
            if name == "a" and first_done:
                continue
            answers = draw(st.lists(ANSWER, min_size=weeks, max_size=weeks))
            options = {
                day(week, weekday[host]): answer
                for week, answer in enumerate(answers)
                if answer is not None
            }
            requests.append(
                VisitRequest(f"{pair}{name}", host, visitor, facilitator, options, after)
            )
    rules = Rules(
        facilitator_max_per_week=draw(st.integers(1, 3)),
        site_min_gap_days=draw(st.sampled_from([1, 7, 14, 21])),
    )
    return requests, rules


@settings(max_examples=60, deadline=None)
@given(instances())
def test_random_schedules_keep_every_rule_and_beat_the_greedy_and_the_bound(instance):
    requests, rules = instance
    result = propose(requests, rules)
    assert s.check_schedule(requests, rules, result.dates) == []
    by_id = {r.visit: r for r in requests}
    assert all(d in by_id[v].options for v, d in result.dates.items())
    assert set(result.dates) | set(result.unscheduled) == set(by_id)
    assert not set(result.dates) & set(result.unscheduled)
    reasons = {s.NO_CANDIDATE_DATE, s.NO_FIT, s.FIRST_NOT_SCHEDULED, s.NOT_AFTER_FIRST}
    assert set(result.unscheduled.values()) <= reasons
    assert result.finish == max(result.dates.values(), default=None)
    assert result.yes_count == sum(by_id[v].options[d] == YES for v, d in result.dates.items())
    assert result.optimal

    greedy = s.first_come_first_served(requests, rules)
    assert s.check_schedule(requests, rules, greedy) == []
    assert len(result.dates) >= len(greedy)

    bound = s.lower_bound_finish(requests, rules)
    assert (bound is None) == (result.finish is None)
    if bound is not None:
        assert bound <= result.finish
        tighter = s.lower_bound_finish(requests, rules, visits=len(result.dates))
        assert bound <= tighter <= result.finish


@settings(max_examples=30, deadline=None)
@given(instances())
def test_the_same_input_gives_the_same_schedule(instance):
    requests, rules = instance
    once, again = propose(requests, rules), propose(requests, rules)
    assert (once.dates, once.unscheduled, once.yes_count) == (
        again.dates,
        again.unscheduled,
        again.yes_count,
    )


def exhaustive_best(requests, rules) -> tuple[int, int, int, int]:
    """The lexicographic optimum by trying every assignment: (visits, -finish, yes, -days),
    dates as ordinals so that larger is better throughout."""
    best = (0, 0, 0, 0)
    choices = [[None, *r.options] for r in requests]
    for assignment in itertools.product(*choices):
        dates = {r.visit: d for r, d in zip(requests, assignment, strict=True) if d is not None}
        if not dates or s.check_schedule(requests, rules, dates):
            continue
        key = (
            len(dates),
            -max(dates.values()).toordinal(),
            sum(r.options[dates[r.visit]] == YES for r in requests if r.visit in dates),
            -sum(d.toordinal() for d in dates.values()),
        )
        best = max(best, key)
    return best


@settings(max_examples=60, deadline=None)
@given(instances(max_pairs=3, weeks=4))
def test_tiny_schedules_agree_with_exhaustive_search(instance):
    requests, rules = instance
    result = propose(requests, rules)
    found = (0, 0, 0, 0)
    if result.dates:
        found = (
            len(result.dates),
            -result.finish.toordinal(),
            result.yes_count,
            -sum(d.toordinal() for d in result.dates.values()),
        )
    assert found == exhaustive_best(requests, rules)
