"""Benchmark for visits.scheduler: CP-SAT against first come, first served, and the lower bound.

    python scripts/bench_scheduler.py                  # 15, 75 and 250 pairs
    python scripts/bench_scheduler.py --time-limit 30  # a longer budget per instance

Synthetic availability, seeded so runs are comparable:
- every pair of sites has two visits, each site hosting one; the return visit must come after
  the first (VisitRequest.after);
- each site has a random MDT weekday, Monday to Friday; candidate dates are that weekday in a
  26-week window from Monday 5 January 2026, less bank holidays in England and Wales
  (visits.calendar.candidate_dates, as the app does);
- per visit, each candidate date is independently available with probability 0.5 and, if
  available, needs "if need be" answers with probability 0.3;
- one facilitator per pair, pairs dealt round-robin: 1 facilitator for 15 pairs (as in ILCOP,
  where one facilitator ran the visits), 4 for 75 and 12 for 250: 15 to 21 pairs each;
- the default rules: at most 2 visits per facilitator per ISO week, 14 days between two visits
  of one site.

Prints one table and exits non-zero if either schedule breaks a hard constraint
(visits.scheduler.check_schedule). "bound" is visits.scheduler.lower_bound_finish for as many
visits as CP-SAT placed, and "+days" how many days a schedule finishes after it: for CP-SAT, an
upper limit on how much any schedule could improve on it (the bound relaxes which visit takes
which day, so a proved optimum can still finish after it). The last column says which CP-SAT
stages were proved optimal and, for the others, the gap to CP-SAT's own bound.

About 12 s on two cores, most of it the 250-pair instance.
"""

import argparse
import datetime
import random
import sys
from pathlib import Path

# Plain script: make the repository importable without installing it or starting Django
# (visits/scheduler.py and visits/calendar.py import no Django, and visits/__init__.py is empty).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from visits import scheduler  # noqa: E402
from visits.calendar import candidate_dates  # noqa: E402

START = datetime.date(2026, 1, 5)  # a Monday
END = START + datetime.timedelta(weeks=26, days=-1)
SCALES = ((15, 1), (75, 4), (250, 12))  # (pairs, facilitators)
AVAILABLE = 0.5
IF_NEED_BE = 0.3
SEED = 20260105
STAGES = ("visits", "finish", "yes", "days")


def instance(pairs: int, facilitators: int, seed: int) -> list[scheduler.VisitRequest]:
    rng = random.Random(seed)
    weekday = {site: rng.randrange(5) for site in range(2 * pairs)}
    candidates = {day: candidate_dates(day, START, END) for day in range(5)}
    requests = []
    for pair in range(pairs):
        first, second = 2 * pair, 2 * pair + 1
        facilitator = f"F{pair % facilitators}"
        for host, visitor, after in ((first, second, None), (second, first, f"V{pair}a")):
            options = {
                day: scheduler.IF_NEED_BE if rng.random() < IF_NEED_BE else scheduler.YES
                for day in candidates[weekday[host]]
                if rng.random() < AVAILABLE
            }
            visit = f"V{pair}a" if after is None else f"V{pair}b"
            requests.append(
                scheduler.VisitRequest(
                    visit=visit,
                    host=f"S{host}",
                    visitor=f"S{visitor}",
                    facilitator=facilitator,
                    options=options,
                    after=after,
                )
            )
    return requests


def stage_summary(result: scheduler.Schedule) -> str:
    """E.g. "visits/finish/yes proved, days gap 21": what was proved, and the gap of the rest."""
    proved = [stage.name for stage in result.stages if stage.optimal]
    parts = [f"{'/'.join(proved)} proved"] if proved else []
    parts += [f"{s.name} gap {s.gap}" for s in result.stages if not s.optimal]
    parts += [f"{name} not reached" for name in STAGES[len(result.stages) :]]
    return ", ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per instance")
    args = parser.parse_args()
    rules = scheduler.Rules()
    header = (
        f"{'visits':>6} {'facil.':>6} | {'bound':>10} | {'CP-SAT':>10} {'+days':>5} {'sched.':>6} "
        f"{'yes':>4} {'seconds':>7} | {'FCFS':>10} {'+days':>5} {'sched.':>6} {'yes':>4} | "
        "CP-SAT stages"
    )
    print(f"{rules}; time limit {args.time_limit:g} s; seed {SEED}")
    print(header)
    print("-" * len(header))
    failures = []
    for pairs, facilitators in SCALES:
        requests = instance(pairs, facilitators, SEED + pairs)
        result = scheduler.propose_schedule(requests, rules, time_limit_seconds=args.time_limit)
        greedy = scheduler.first_come_first_served(requests, rules)
        # The bound for as many visits as CP-SAT placed: valid for the optimum too, which
        # places at least as many, and tighter than the default (the greedy's count).
        bound = scheduler.lower_bound_finish(requests, rules, visits=len(result.dates))
        for name, dates in (("CP-SAT", result.dates), ("first come, first served", greedy)):
            failures += [
                f"{len(requests)} visits, {name}: {p}"
                for p in scheduler.check_schedule(requests, rules, dates)
            ]
        by_id = {request.visit: request for request in requests}
        greedy_finish = max(greedy.values(), default=None)
        greedy_yes = sum(by_id[v].options[d] == scheduler.YES for v, d in greedy.items())
        print(
            f"{len(requests):>6} {facilitators:>6} | {bound!s:>10} | "
            f"{result.finish!s:>10} {after(result.finish, bound):>5} {len(result.dates):>6} "
            f"{result.yes_count:>4} {result.solve_seconds:>7.2f} | "
            f"{greedy_finish!s:>10} {after(greedy_finish, bound):>5} {len(greedy):>6} "
            f"{greedy_yes:>4} | {stage_summary(result)}"
        )
    print(
        "bound: lower_bound_finish for as many visits as CP-SAT placed; +days: days after it; "
        "FCFS: first come, first served."
    )
    for failure in failures:
        print(f"INVALID: {failure}", file=sys.stderr)
    return 1 if failures else 0


def after(day: datetime.date | None, bound: datetime.date | None) -> str:
    return str((day - bound).days) if day and bound else "-"


if __name__ == "__main__":
    sys.exit(main())
