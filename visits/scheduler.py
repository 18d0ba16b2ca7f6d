"""Proposing dates for all of a programme's open visits at once.

Pure calculation: no Django, no ORM. The caller passes one VisitRequest per open visit, with
candidate dates already filtered (the host's MDT weekday, no bank holiday, minimum roles
available: visits/calendar.py), and gets a Schedule back. Tested directly in
tests/test_scheduler.py and benchmarked in scripts/bench_scheduler.py.

The problem. Each visit needs one of its candidate dates. A facilitator from the small core
team runs every visit, so facilitators are the bottleneck: one visit a day and at most
``facilitator_max_per_week`` in an ISO week. A site should not be in two visits (hosting or
visiting) within ``site_min_gap_days`` of each other, and a pair's return visit comes strictly
after its first. Among the schedules that keep every one of those rules, we want, in this order
(lexicographically): 1) as many visits as possible; 2) the last one as early as possible, so
the programme's review phase ends sooner; 3) as many dates as possible on which the quorum is
met by "yes" answers alone, not "if need be"; 4) as a tie-break, earlier dates overall.

Why CP-SAT (OR-Tools' constraint solver: Perron, Didier and Gay, "The CP-SAT-LP Solver",
CP 2023, LIPIcs 280, 3:1-3:2). Choosing one date per visit under per-day, per-week and
per-window capacities is an assignment problem with side constraints, NP-hard in general, so
there is no simple exact algorithm to write by hand. CP-SAT is exact when it proves optimality
and says when it has not; it states "scheduled only if, and strictly after, its first visit"
natively with enforcement literals; the site-gap windows are plain at-most-one constraints,
which its SAT core propagates and learns from cheaply, while its simplex gives the bounds a
MILP would. It is open source (Apache 2.0), developed and used in production by Google's
Operations Research team, released several times a year, and has won gold medals at the
MiniZinc Challenge every year since 2013 (https://developers.google.com/optimization). It is
already a dependency (pyproject.toml). The alternatives are worse here:
- a greedy (first_come_first_served below) is fast but myopic: an early visit takes the
  facilitator's only free week that a later visit needed, and it cannot say how far it is from
  the best; scripts/bench_scheduler.py measures that: weeks later and fewer "yes" dates;
- a MILP solver (CBC, HiGHS) would need the precedence as big-M rows (weak relaxations) and
  has no clause learning for the many small at-most-one windows, and it would be a second
  solver dependency for no gain.

Why "max_lp". With two workers CP-SAT's full-problem worker is by default "default_lp", whose
LP leaves out at-most-one constraints, and presolve turns a weekly cap of 1 and every site
window into one. Its bound on "how many visits" is then the trivial one, and proving that, say,
10 weeks hold at most 10 visits falls to clause learning, which needs exponentially long
proofs for such pigeonhole arguments (Haken, "The intractability of resolution", Theoretical
Computer Science 39, 1985). A 16-visit instance stopped at its time limit that way. The
"max_lp" worker puts every constraint in the LP (linearization level 2): that instance is then
proved in milliseconds, and on scripts/bench_scheduler.py the 250-pair finish, which
"default_lp" left 37 days from its bound at the time limit, is proved in 1 to 3 seconds.

Why a lexicographic series of solves rather than one weighted objective. Weights large enough
to be lexicographic would be products of the ranges below each level (500 visits x 183 days x
500 "yes" x 91,500 summed days, about 10^12): exact in 64-bit integers, but the solver would
have to close every level at once to prove anything, and the huge coefficients blur the LP
bound of the levels that matter most. Solving level by level, each stage has a small
objective, starts from the previous stage's solution as a hint, and fixes its value with a
constraint before the next one (lexicographic optimisation: Ehrgott, Multicriteria
Optimization, 2nd ed., Springer 2005, ch. 5). A stage stopped by the time limit fixes the value
it found (">= found", not "= optimum"), which the solution in hand satisfies, so the schedule
is always valid; ``optimal`` says whether every stage was proved, and ``stages`` the gaps.

Determinism. Two workers (this machine has two cores), a fixed seed and ``interleave_search``,
the mode in which CP-SAT's parallel search "is deterministic (independently of num_workers!)"
(ortools/sat/sat_parameters.proto). Without it, two workers returned a different one of several
equally good schedules in 8 of 400 random small instances run twice; with it, none did. The
hints are deterministic too (the greedy, then each stage's result). A run cut short by the
wall-clock time limit still depends on the machine's speed and load: only runs that prove
every stage optimal are reproducible.
"""

import datetime
import time
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

# The answers, as in visits/calendar.py (kept as plain strings so this module imports nothing
# of the app): "yes" means quorum is met by "yes" answers alone.
YES = "yes"
IF_NEED_BE = "if_need_be"
ANSWERS = (YES, IF_NEED_BE)

NO_CANDIDATE_DATE = "no candidate date has the minimum roles available"
NO_FIT = "no date fits the facilitator's and sites' other visits"
FIRST_NOT_SCHEDULED = "its first visit could not be scheduled"
NOT_AFTER_FIRST = "no candidate date falls after its first visit"

# Fixed so that runs are reproducible (see Determinism above); the value itself is arbitrary.
RANDOM_SEED = 20260105
NUM_WORKERS = 2
# How the time limit is shared among the stages (visits, finish, yes, days): each stage gets
# its share of what is left, so time a quick stage does not use passes on. The finish is what
# the programme waits on, and the hardest to prove at scale (scripts/bench_scheduler.py), so
# it gets most; the tie-break gets least.
_STAGE_SHARES = (2, 4, 2, 1)

Visit = Hashable
Week = tuple[int, int]  # (ISO year, ISO week number)


@dataclass(frozen=True)
class VisitRequest:
    """One open visit: who hosts, who visits, who facilitates, and the candidate dates.

    ``after`` is the id of a visit that must happen strictly before this one (a pair's return
    visit comes after its first). If that visit is not in the requests at all it is taken to
    have happened already, so the constraint holds; if it is in the requests, this visit is
    scheduled only if that one is, and strictly later.
    """

    visit: Visit
    host: Hashable
    visitor: Hashable
    facilitator: Hashable
    options: Mapping[datetime.date, str]  # candidate date -> "yes" or "if_need_be"
    after: Visit | None = None
    # A visit that already has its date (one option): the schedule must keep it, so new
    # visits fit around it rather than displacing it.
    fixed: bool = False


@dataclass(frozen=True)
class Rules:
    facilitator_max_per_week: int = 2  # ISO weeks, Monday to Sunday
    # Two visits involving the same site (as host or visitor) must be at least this many days
    # apart; so a site is never in two visits on one day.
    site_min_gap_days: int = 14


@dataclass(frozen=True)
class Stage:
    """One solve of the lexicographic series."""

    name: str  # "visits", "finish", "yes" or "days" (the sum of day offsets, the tie-break)
    # How far the value found may be from the best possible, in the stage's unit (visits, days,
    # "yes" dates, summed days): 0 when proved optimal.
    gap: int
    optimal: bool
    seconds: float


@dataclass(frozen=True)
class Schedule:
    dates: dict[Visit, datetime.date]  # visit -> proposed date
    unscheduled: dict[Visit, str]  # visit -> plain-English reason
    finish: datetime.date | None  # the latest proposed date; None if nothing is scheduled
    yes_count: int  # proposed dates whose quorum is met by "yes" answers alone
    optimal: bool  # CP-SAT proved optimality at every stage
    solve_seconds: float  # wall-clock time for the whole call, model building included
    stages: tuple[Stage, ...] = ()  # how each solve went, in order


# --- checking ---------------------------------------------------------------------------------


def _week(day: datetime.date) -> Week:
    iso = day.isocalendar()
    return iso.year, iso.week


def _validate(requests: Sequence[VisitRequest], rules: Rules) -> None:
    """Fail loudly on input the rules cannot mean anything for."""
    if rules.facilitator_max_per_week < 1:
        raise ValueError("facilitator_max_per_week must be at least 1")
    if rules.site_min_gap_days < 1:
        raise ValueError("site_min_gap_days must be at least 1 (never two visits on one day)")
    seen: set[Visit] = set()
    for request in requests:
        if request.visit in seen:
            raise ValueError(f"visit {request.visit!r} is requested twice")
        seen.add(request.visit)
        if request.host == request.visitor:
            raise ValueError(f"visit {request.visit!r} has the same host and visitor")
        wrong = {answer for answer in request.options.values() if answer not in ANSWERS}
        if wrong:
            raise ValueError(f"visit {request.visit!r} has answers other than {ANSWERS}: {wrong}")


def check_schedule(
    requests: Iterable[VisitRequest], rules: Rules, dates: Mapping[Visit, datetime.date]
) -> list[str]:
    """Every hard-constraint violation in ``dates``, in words; an empty list means valid.

    Independent of the solver (plain loops over the scheduled visits), so it can check the
    solver, the greedy baseline and anything the app is about to save.
    """
    requests = list(requests)
    by_id = {request.visit: request for request in requests}
    problems = [f"visit {visit} is not an open visit" for visit in dates if visit not in by_id]
    problems += [f"visit {r.visit} already has its date and must keep it"
                 for r in requests if r.fixed and r.options and r.visit not in dates]
    placed = [(by_id[visit], day) for visit, day in dates.items() if visit in by_id]
    for request, day in placed:
        if day not in request.options:
            problems.append(f"visit {request.visit} on {day} is not one of its candidate dates")

    by_facilitator_day: defaultdict[tuple[Hashable, datetime.date], list[Visit]]
    by_facilitator_day = defaultdict(list)
    by_facilitator_week: defaultdict[tuple[Hashable, Week], list[Visit]] = defaultdict(list)
    by_site: defaultdict[Hashable, list[tuple[datetime.date, Visit]]] = defaultdict(list)
    for request, day in placed:
        by_facilitator_day[request.facilitator, day].append(request.visit)
        by_facilitator_week[request.facilitator, _week(day)].append(request.visit)
        by_site[request.host].append((day, request.visit))
        by_site[request.visitor].append((day, request.visit))

    for (facilitator, day), visits in by_facilitator_day.items():
        if len(visits) > 1:
            names = ", ".join(str(visit) for visit in visits)
            problems.append(f"facilitator {facilitator} has {len(visits)} visits on {day}: {names}")
    for (facilitator, (year, week)), visits in by_facilitator_week.items():
        if len(visits) > rules.facilitator_max_per_week:
            names = ", ".join(str(visit) for visit in visits)
            problems.append(
                f"facilitator {facilitator} has {len(visits)} visits in ISO week "
                f"{year}-W{week:02d} (at most {rules.facilitator_max_per_week}): {names}"
            )
    gap = rules.site_min_gap_days
    for site, visits in by_site.items():
        visits.sort(key=lambda item: item[0])
        for i, (first_day, first) in enumerate(visits):
            for second_day, second in visits[i + 1 :]:
                apart = (second_day - first_day).days
                if apart >= gap:
                    break
                problems.append(
                    f"site {site} has visits {first} ({first_day}) and {second} ({second_day}) "
                    f"{apart} days apart (at least {gap} needed)"
                )

    for request, day in placed:
        if request.after is None or request.after not in by_id:
            continue  # no predecessor, or it has already happened (not an open visit)
        before = dates.get(request.after)
        if before is None:
            problems.append(
                f"visit {request.visit} is scheduled but its first visit {request.after} is not"
            )
        elif before >= day:
            problems.append(
                f"visit {request.visit} ({day}) is not after its first visit "
                f"{request.after} ({before})"
            )
    return problems


# --- the greedy baseline ----------------------------------------------------------------------


def first_come_first_served(
    requests: Iterable[VisitRequest], rules: Rules
) -> dict[Visit, datetime.date]:
    """The naive baseline: visits in input order, each on its earliest candidate date that
    breaks no hard constraint given the visits already placed.

    A visit whose first visit is open but not yet placed is skipped: the greedy never looks
    ahead, and placing it could leave it without a predecessor.
    """
    requests = list(requests)
    _validate(requests, rules)
    open_visits = {request.visit for request in requests}
    placed: dict[Visit, datetime.date] = {}
    facilitator_days: defaultdict[Hashable, set[datetime.date]] = defaultdict(set)
    facilitator_weeks: Counter[tuple[Hashable, Week]] = Counter()
    site_days: defaultdict[Hashable, list[datetime.date]] = defaultdict(list)
    gap = rules.site_min_gap_days

    def fits(request: VisitRequest, day: datetime.date) -> bool:
        if request.after in open_visits and not placed[request.after] < day:
            return False
        if day in facilitator_days[request.facilitator]:
            return False
        if facilitator_weeks[request.facilitator, _week(day)] >= rules.facilitator_max_per_week:
            return False
        return all(
            abs((day - other).days) >= gap
            for site in (request.host, request.visitor)
            for other in site_days[site]
        )

    for request in requests:
        if request.after in open_visits and request.after not in placed:
            continue
        day = next((day for day in sorted(request.options) if fits(request, day)), None)
        if day is None:
            continue
        placed[request.visit] = day
        facilitator_days[request.facilitator].add(day)
        facilitator_weeks[request.facilitator, _week(day)] += 1
        site_days[request.host].append(day)
        site_days[request.visitor].append(day)
    return placed


# --- the lower bound --------------------------------------------------------------------------


def _step_after(request: VisitRequest, first: VisitRequest, rules: Rules) -> int:
    """Fewest days from a first visit to its return: strictly later, and at least the site gap
    when they share a site (a pair's return visit shares both)."""
    shared = {request.host, request.visitor} & {first.host, first.visitor}
    return rules.site_min_gap_days if shared else 1


def _earliest_feasible(
    requests: Sequence[VisitRequest], rules: Rules
) -> list[datetime.date | None]:
    """For each visit, a date no schedule can put it before; None if it can never be scheduled.

    A visit with no open predecessor: its earliest option. Otherwise: its earliest option at
    least ``_step_after`` days after its predecessor's earliest feasible date. Visits on a cycle
    of ``after`` (or depending on one) can never be scheduled.
    """
    index = {request.visit: i for i, request in enumerate(requests)}
    earliest: dict[int, datetime.date | None] = {}

    def predecessor(i: int) -> int | None:
        return index.get(requests[i].after) if requests[i].after is not None else None

    for start in range(len(requests)):
        path: list[int] = []
        on_path: set[int] = set()
        current: int | None = start
        while current is not None and current not in earliest and current not in on_path:
            path.append(current)
            on_path.add(current)
            current = predecessor(current)
        if current is not None and current in on_path:  # a cycle: none of the path can happen
            earliest.update(dict.fromkeys(path))
            continue
        for i in reversed(path):  # predecessors first
            request, before = requests[i], predecessor(i)
            if before is None:
                earliest[i] = min(request.options, default=None)
                continue
            first_day = earliest[before]
            if first_day is None:
                earliest[i] = None
                continue
            bound = first_day + datetime.timedelta(
                days=_step_after(request, requests[before], rules)
            )
            earliest[i] = min((day for day in request.options if day >= bound), default=None)
    return [earliest[i] for i in range(len(requests))]


def _kth_day_weekly(days: Iterable[datetime.date], k: int, per_week: int) -> datetime.date | None:
    """The earliest the last of k distinct days can be, at most per_week in an ISO week.

    Greedy, earliest day first, is optimal: swapping a chosen day for an earlier allowed one
    never blocks a later choice (the weekly caps form a partition matroid).
    """
    weeks: Counter[Week] = Counter()
    taken = 0
    for day in sorted(set(days)):
        if weeks[_week(day)] < per_week:
            weeks[_week(day)] += 1
            taken += 1
            if taken == k:
                return day
    return None


def _kth_day_spaced(days: Iterable[datetime.date], k: int, gap: int) -> datetime.date | None:
    """The earliest the last of k days can be, each at least gap days after the one before.

    Greedy, earliest day first, is optimal by the same exchange argument (as in interval
    scheduling: Kleinberg and Tardos, Algorithm Design, 2006, section 4.1).
    """
    last: datetime.date | None = None
    taken = 0
    for day in sorted(set(days)):
        if last is None or (day - last).days >= gap:
            last = day
            taken += 1
            if taken == k:
                return day
    return None


def lower_bound_finish(
    requests: Iterable[VisitRequest], rules: Rules, *, visits: int | None = None
) -> datetime.date | None:
    """A date no schedule of at least ``visits`` visits can finish before.

    By default ``visits`` is k, the number first_come_first_served places: the greedy's
    schedule is feasible, so the optimum places at least k and the default bounds the optimal
    finish. Passing a schedule's own count gives a tighter bound for that schedule (and, as the
    optimum places at least as many, for the optimum too). None if ``visits`` is 0 or more
    visits than could ever be scheduled.

    Of the m visits that could ever be scheduled, a schedule of at least k leaves out at most
    m - k. The bound is the latest of:

    1. every scheduled visit is on or after its earliest feasible date (``_earliest_feasible``:
       its earliest option, and for a return visit the earliest option at least the site gap
       after its first visit's earliest feasible date); so the finish is at least the k-th
       smallest of those dates;
    2. a facilitator with m_f schedulable visits runs at least k - (m - m_f) of them, on
       distinct days, at most ``facilitator_max_per_week`` a week, each on one of the
       visits' options no earlier than its earliest feasible date: the finish is at least the
       earliest that many such days can end (greedy, earliest first);
    3. likewise a site in m_s schedulable visits is in at least k - (m - m_s), each at least
       ``site_min_gap_days`` after the previous one.

    The bound relaxes which visit takes which day, so it can be below the optimum; it shows how
    much a schedule could possibly improve (scripts/bench_scheduler.py), and propose_schedule
    gives it to CP-SAT as a redundant constraint, which its LP relaxation does not find alone.
    """
    requests = list(requests)
    _validate(requests, rules)
    k = len(first_come_first_served(requests, rules)) if visits is None else visits
    return _finish_bound(requests, rules, k)


def _finish_bound(requests: Sequence[VisitRequest], rules: Rules, k: int) -> datetime.date | None:
    if k <= 0:
        return None
    earliest = _earliest_feasible(requests, rules)
    possible = [(r, day) for r, day in zip(requests, earliest, strict=True) if day is not None]
    m = len(possible)
    if k > m:
        return None
    bound = sorted(day for _, day in possible)[k - 1]

    def days_of(group: list[tuple[VisitRequest, datetime.date]]) -> list[datetime.date]:
        return [day for r, first in group for day in r.options if day >= first]

    by_facilitator: defaultdict[Hashable, list[tuple[VisitRequest, datetime.date]]]
    by_facilitator = defaultdict(list)
    by_site: defaultdict[Hashable, list[tuple[VisitRequest, datetime.date]]] = defaultdict(list)
    for request, day in possible:
        by_facilitator[request.facilitator].append((request, day))
        by_site[request.host].append((request, day))
        by_site[request.visitor].append((request, day))
    for group in by_facilitator.values():
        needed = k - (m - len(group))
        if needed > 0:
            day = _kth_day_weekly(days_of(group), needed, rules.facilitator_max_per_week)
            # None: no schedule of k visits exists at all, so any date is a bound.
            bound = max(bound, day or bound)
    for group in by_site.values():
        needed = k - (m - len(group))
        if needed > 0:
            day = _kth_day_spaced(days_of(group), needed, rules.site_min_gap_days)
            bound = max(bound, day or bound)
    return bound


# --- the solver -------------------------------------------------------------------------------


def _solve(model: cp_model.CpModel, seconds: float) -> tuple[bool, bool, cp_model.CpSolver]:
    """(found a solution?, proved it optimal?, the solver holding it)."""
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = NUM_WORKERS
    solver.parameters.random_seed = RANDOM_SEED
    # The deterministic parallel mode (see Determinism above).
    solver.parameters.interleave_search = True
    # The full-problem worker puts every constraint, at-most-ones included, in the LP (see
    # Why "max_lp" above); linearization_level does the same for the other worker's
    # neighbourhood searches.
    solver.parameters.subsolvers.append("max_lp")
    solver.parameters.linearization_level = 2
    status = solver.solve(model)
    return status in (cp_model.OPTIMAL, cp_model.FEASIBLE), status == cp_model.OPTIMAL, solver


def _reasons(
    requests: Sequence[VisitRequest], dates: Mapping[Visit, datetime.date]
) -> dict[Visit, str]:
    open_visits = {request.visit for request in requests}
    reasons: dict[Visit, str] = {}
    for request in requests:
        if request.visit in dates:
            continue
        if not request.options:
            reasons[request.visit] = NO_CANDIDATE_DATE
        elif request.after in open_visits and request.after not in dates:
            reasons[request.visit] = FIRST_NOT_SCHEDULED
        elif request.after in open_visits and all(
            day <= dates[request.after] for day in request.options
        ):
            reasons[request.visit] = NOT_AFTER_FIRST
        else:
            reasons[request.visit] = NO_FIT
    return reasons


def _schedule(
    requests: Sequence[VisitRequest],
    dates: dict[Visit, datetime.date],
    optimal: bool,
    stages: tuple[Stage, ...],
    started: float,
) -> Schedule:
    by_id = {request.visit: request for request in requests}
    ordered = {r.visit: dates[r.visit] for r in requests if r.visit in dates}  # input order
    return Schedule(
        dates=ordered,
        unscheduled=_reasons(requests, ordered),
        finish=max(ordered.values(), default=None),
        yes_count=sum(by_id[visit].options[day] == YES for visit, day in ordered.items()),
        optimal=optimal,
        solve_seconds=time.perf_counter() - started,
        stages=stages,
    )


def propose_schedule(
    requests: Iterable[VisitRequest], rules: Rules, *, time_limit_seconds: float = 10.0
) -> Schedule:
    """Dates for as many open visits as possible, finishing as early as possible, then with as
    many "yes" dates as possible, then as early as possible overall (see the module docstring).

    ``time_limit_seconds`` bounds the whole call; each stage gets its share (_STAGE_SHARES) of
    what is left. A stage stopped by the limit keeps the best schedule it found; if the limit
    runs out before CP-SAT finds any, the first_come_first_served schedule is returned. Either
    way the schedule keeps every hard constraint, and ``optimal`` is False.
    """
    started = time.perf_counter()
    requests = list(requests)
    _validate(requests, rules)
    greedy = first_come_first_served(requests, rules)
    all_days = [day for request in requests for day in request.options]
    if not all_days:
        return _schedule(requests, {}, True, (), started)
    origin = min(all_days)

    def offset(day: datetime.date) -> int:
        return (day - origin).days

    horizon = offset(max(all_days))
    model = cp_model.CpModel()
    index = {request.visit: i for i, request in enumerate(requests)}
    # x[i][day]: visit i is on day. scheduled[i]: visit i is on one of its days.
    x: list[dict[datetime.date, cp_model.IntVar]] = []
    scheduled: list[cp_model.IntVar] = []
    for request in requests:
        x.append({day: model.new_bool_var(f"x_{request.visit}_{day}") for day in request.options})
        scheduled.append(model.new_bool_var(f"scheduled_{request.visit}"))
    day_of = [
        cp_model.LinearExpr.weighted_sum(list(x[i].values()), [offset(d) for d in x[i]])
        for i in range(len(requests))
    ]

    # One of its options or none: exactly one of {its options, "not scheduled"}, which is
    # at most one option, with scheduled[i] true exactly when one is chosen.
    for i in range(len(requests)):
        model.add_exactly_one([*x[i].values(), scheduled[i].Not()])
    # Dated visits stay, unless they already break the rules among themselves (then the
    # solver may not be able to keep them all, and check_schedule reports the clash).
    fixed_dates = {r.visit: next(iter(r.options)) for r in requests if r.fixed and r.options}
    if not check_schedule([r for r in requests if r.fixed], rules, fixed_dates):
        for i, request in enumerate(requests):
            if request.fixed and request.options:
                model.add(scheduled[i] == 1)

    # Facilitators: one visit a day, at most facilitator_max_per_week per ISO week.
    facilitator_day: defaultdict[tuple[Hashable, datetime.date], list[cp_model.IntVar]]
    facilitator_day = defaultdict(list)
    facilitator_week: defaultdict[tuple[Hashable, Week], list[cp_model.IntVar]]
    facilitator_week = defaultdict(list)
    site_options: defaultdict[Hashable, list[tuple[int, cp_model.IntVar]]] = defaultdict(list)
    for i, request in enumerate(requests):
        for day, var in x[i].items():
            facilitator_day[request.facilitator, day].append(var)
            facilitator_week[request.facilitator, _week(day)].append(var)
            site_options[request.host].append((offset(day), var))
            site_options[request.visitor].append((offset(day), var))
    for group in facilitator_day.values():
        if len(group) > 1:
            model.add_at_most_one(group)
    for group in facilitator_week.values():
        if len(group) > rules.facilitator_max_per_week:
            model.add(cp_model.LinearExpr.sum(group) <= rules.facilitator_max_per_week)

    # Sites: two of a site's visits closer than the gap both fall inside some window of
    # ``gap`` consecutive days starting on one of the site's option days, and no two in such a
    # window are allowed; so "at most one per window" is exactly the pairwise rule, with one
    # constraint per window instead of one per pair. A window whose options are all in the
    # previous window adds nothing and is skipped.
    gap = rules.site_min_gap_days
    for options in site_options.values():
        options.sort(key=lambda item: item[0])
        end = previous_end = 0
        for start, (first, _) in enumerate(options):
            end = max(end, start)
            while end < len(options) and options[end][0] < first + gap:
                end += 1
            if end != previous_end and end - start > 1:
                model.add_at_most_one([var for _, var in options[start:end]])
            previous_end = end

    # Precedence: a return visit only with, and strictly after, its first visit. The site-gap
    # windows already imply the gap between two visits of one pair; stating it here as well
    # lets the solver prune with it directly.
    for i, request in enumerate(requests):
        before = index.get(request.after) if request.after is not None else None
        if before is None:
            continue  # no predecessor, or it is not open (already happened)
        model.add_implication(scheduled[i], scheduled[before])
        step = _step_after(request, requests[before], rules)
        model.add(day_of[i] >= day_of[before] + step).only_enforce_if(scheduled[i])

    finish = model.new_int_var(0, horizon, "finish")
    for i in range(len(requests)):
        model.add(finish >= day_of[i])  # day_of is 0 when unscheduled
    yes = cp_model.LinearExpr.sum(
        [var for i, r in enumerate(requests) for day, var in x[i].items() if r.options[day] == YES]
    )
    stages: list[tuple[str, cp_model.LinearExprT, bool]] = [  # (name, objective, maximise?)
        ("visits", cp_model.LinearExpr.sum(scheduled), True),
        ("finish", finish, False),
        ("yes", yes, True),
        ("days", cp_model.LinearExpr.sum(day_of), False),
    ]

    def chosen(solver: cp_model.CpSolver) -> set[tuple[int, datetime.date]]:
        return {(i, d) for i in range(len(requests)) for d, v in x[i].items() if solver.value(v)}

    best = {(index[visit], day) for visit, day in greedy.items()}  # feasible, so a good hint
    report: list[Stage] = []
    deadline = started + time_limit_seconds
    for stage, (name, objective, maximise) in enumerate(stages):
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            break
        if maximise:
            model.maximize(objective)
        else:
            model.minimize(objective)
        model.clear_hints()
        for i in range(len(requests)):
            for day, var in x[i].items():
                model.add_hint(var, (i, day) in best)
            model.add_hint(scheduled[i], any((i, day) in best for day in x[i]))
        share = _STAGE_SHARES[stage] / sum(_STAGE_SHARES[stage:])
        stage_started = time.perf_counter()
        found, proved, solver = _solve(model, remaining * share)
        if not found:
            break  # out of time before any solution: keep the previous stage's
        best = chosen(solver)
        value = round(solver.objective_value)
        report.append(
            Stage(
                name=name,
                gap=abs(value - round(solver.best_objective_bound)),
                optimal=proved,
                seconds=time.perf_counter() - stage_started,
            )
        )
        model.add(objective >= value if maximise else objective <= value)
        if stage == 0:
            # Every schedule from here on places at least `value` visits, so none can finish
            # before the combinatorial bound for that many (lower_bound_finish).
            bound = _finish_bound(requests, rules, value)
            if bound is not None:
                model.add(finish >= offset(bound))
    optimal = len(report) == len(stages) and all(stage.optimal for stage in report)
    dates = {requests[i].visit: day for i, day in best}
    return _schedule(requests, dates, optimal, tuple(report), started)
