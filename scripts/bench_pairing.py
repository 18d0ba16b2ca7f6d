"""Benchmark for programmes.pairing: speed, the greedy gap, exhaustive agreement, library choice.

    python scripts/bench_pairing.py          # about 25 s
    python scripts/bench_pairing.py --full   # about 100 s: adds networkx at 500 sites (about
                                             # 55 s on its own) and best of 3 at 1,000 sites

Prints three tables and exits non-zero if the matching ever disagrees with exhaustive search or
with networkx. Random instances are seeded, so runs are comparable; times are best of 3 with
time.perf_counter unless the table says otherwise.
"""

import argparse
import itertools
import math
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Plain script: make the repository importable without installing it or starting Django
# (programmes/pairing.py imports no Django, and programmes/__init__.py is empty).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import networkx as nx  # noqa: E402
import rustworkx as rx  # noqa: E402

from programmes import pairing  # noqa: E402

# Four indicators in the shape of the National Lung Cancer Audit: three proportions where
# higher is better and a waiting time in days where lower is better.
HIGHER_IS_BETTER = {"resection": True, "survival": True, "cns": True, "wait_days": False}
SIZES = (30, 156, 500, 1000)
LIBRARY_SIZES = (156, 500)
SMALL_INSTANCES = 20


def random_instance(n: int, seed: int, *, penalties: bool = False):
    rng = random.Random(seed)
    profiles = {
        site: {
            "resection": rng.uniform(0.08, 0.25),
            "survival": rng.uniform(0.30, 0.50),
            "cns": rng.uniform(0.60, 0.98),
            "wait_days": rng.uniform(20, 60),
        }
        for site in range(n)
    }
    # A few forbidden pairs, as sites in the same trust would be.
    forbidden = {frozenset(rng.sample(range(n), 2)) for _ in range(max(1, n // 10))}
    costs = None
    if penalties:
        costs = {
            frozenset(pair): rng.uniform(0.0, 1.5)
            for pair in itertools.combinations(range(n), 2)
            if rng.random() < 0.5
        }
    return profiles, forbidden, costs


def best_time(run: Callable[[], object], repeats: int) -> tuple[float, object]:
    best, result = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def rustworkx_match(edges: pairing.AllowedEdges) -> list[tuple[int, int]]:
    return pairing.match(edges)


def networkx_match(edges: pairing.AllowedEdges) -> list[tuple[int, int]]:
    graph = nx.Graph()
    graph.add_nodes_from(range(len(edges.sites)))
    scaled = edges.scaled_weights().tolist()
    graph.add_weighted_edges_from(
        zip(edges.first.tolist(), edges.second.tolist(), scaled, strict=True)
    )
    matching = nx.max_weight_matching(graph, maxcardinality=True)
    return sorted((min(a, b), max(a, b)) for a, b in matching)


def total_of(edges: pairing.AllowedEdges, chosen: list[tuple[int, int]]) -> float:
    return math.fsum(edges.weight[edges.positions(chosen)].tolist())


def speed_and_greedy(full: bool) -> None:
    print("1. pair_sites (exact) against the greedy baseline; four indicators, n/10 forbidden")
    header = (
        f"{'sites':>6} {'runs':>4} {'weights s':>10} {'pair_sites s':>13} {'pairs':>6} "
        f"{'total':>10} {'greedy':>10} {'g. pairs':>8} {'gap %':>6}"
    )
    print(header)
    print("-" * len(header))
    for n in SIZES:
        profiles, forbidden, _ = random_instance(n, seed=n)
        repeats = 3 if n <= 500 or full else 1
        weights_time, _ = best_time(
            lambda p=profiles, f=forbidden: pairing.allowed_edges(p, HIGHER_IS_BETTER, f),
            repeats,
        )
        exact_time, exact = best_time(
            lambda p=profiles, f=forbidden: pairing.pair_sites(p, HIGHER_IS_BETTER, f), repeats
        )
        greedy = pairing.greedy_pairs(profiles, HIGHER_IS_BETTER, forbidden)
        gap = 100 * (exact.total - greedy.total) / exact.total if exact.total else 0.0
        print(
            f"{n:>6} {repeats:>4} {weights_time:>10.3f} {exact_time:>13.3f} {len(exact.pairs):>6} "
            f"{exact.total:>10.2f} {greedy.total:>10.2f} {len(greedy.pairs):>8} {gap:>6.1f}"
        )
    if not full:
        print("(1,000 sites: one run, about 10 s; --full for best of 3)")
    print()


def libraries(full: bool) -> list[str]:
    print("2. the blossom matching on the same integer weights: rustworkx against networkx")
    header = (
        f"{'sites':>6} {'edges':>7} {'rustworkx s':>12} {'networkx s':>11} {'speed-up':>9} "
        f"{'same total':>10}"
    )
    print(header)
    print("-" * len(header))
    problems = []
    for n in LIBRARY_SIZES:
        profiles, forbidden, _ = random_instance(n, seed=n)
        edges = pairing.allowed_edges(profiles, HIGHER_IS_BETTER, forbidden)
        rx_time, rx_pairs = best_time(lambda e=edges: rustworkx_match(e), 3)
        if n > 200 and not full:
            print(f"{n:>6} {edges.first.size:>7} {rx_time:>12.3f} {'skipped':>11}")
            continue
        nx_time, nx_pairs = best_time(lambda e=edges: networkx_match(e), 3 if n <= 200 else 1)
        same = len(rx_pairs) == len(nx_pairs) and close(
            total_of(edges, rx_pairs), total_of(edges, nx_pairs), len(rx_pairs)
        )
        if not same:
            problems.append(f"rustworkx and networkx disagree at {n} sites")
        print(
            f"{n:>6} {edges.first.size:>7} {rx_time:>12.3f} {nx_time:>11.3f} "
            f"{nx_time / rx_time:>8.0f}x {'yes' if same else 'NO':>10}"
        )
    if not full:
        print("(networkx at 500 sites takes about a minute here: run with --full)")
    print(f"(rustworkx {rx.__version__}, networkx {nx.__version__})")
    print()
    return problems


def close(a: float, b: float, pairs: int) -> bool:
    """Equal up to the integer scaling, which can cost at most 1e-6 per pair."""
    return abs(a - b) <= 1e-5 * max(1, pairs)


def against_exhaustive() -> list[str]:
    print(f"3. pair_sites against exhaustive search on {SMALL_INSTANCES} small random instances")
    rng = random.Random(2026)
    mismatches = []
    for index in range(SMALL_INSTANCES):
        n = rng.randint(2, 10)
        profiles, forbidden, penalties = random_instance(
            n, seed=rng.randrange(2**32), penalties=index % 2 == 1
        )
        # More constraints than in the big runs, so that some sites cannot be paired.
        forbidden |= {
            frozenset(pair) for pair in itertools.combinations(range(n), 2) if rng.random() < 0.3
        }
        exact = pairing.pair_sites(profiles, HIGHER_IS_BETTER, forbidden, penalties)
        brute = pairing.exhaustive_pairs(profiles, HIGHER_IS_BETTER, forbidden, penalties)
        if len(exact.pairs) != len(brute.pairs) or not close(
            exact.total, brute.total, len(brute.pairs)
        ):
            mismatches.append(
                f"instance {index} ({n} sites): pair_sites {len(exact.pairs)} pairs, total "
                f"{exact.total:.6f}; exhaustive {len(brute.pairs)} pairs, total {brute.total:.6f}"
            )
    print("all equal" if not mismatches else "\n".join(mismatches))
    print()
    return mismatches


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--full", action="store_true", help="networkx at 500 sites, best of 3 at 1,000 sites"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    speed_and_greedy(args.full)
    problems = libraries(args.full)
    problems += against_exhaustive()
    print(f"benchmark took {time.perf_counter() - started:.0f} s")
    if problems:
        print("FAILED: " + "; ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
