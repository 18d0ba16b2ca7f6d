"""Pairing sites for reciprocal peer review, so that each partner has something to teach.

Pure calculation: no Django, no ORM. The caller passes plain dictionaries and gets plain
values back, so the rules are tested directly (tests/test_pairing.py) and benchmarked
(scripts/bench_pairing.py).

Why complementarity. In ILCOP, multidisciplinary teams were paired on their national audit
results so that each team was strong where its partner was weak; reciprocity was the point
(Aveling et al. 2012, "Reciprocal peer review for quality improvement: an ethnographic case
study of the Improving Lung Cancer Outcomes Project", BMJ Qual Saf 21:1034-41). A "good" team
paired with a "bad" one turns the visit into one-way inspection. So the score of a pair is how
far *each* site is ahead of the other, and it is the smaller of the two that counts:

    z_sk    = (value - mean) / population SD over the sites, sign flipped if lower is better
    c(a, b) = min( sum_k max(0, z_ak - z_bk), sum_k max(0, z_bk - z_ak) )

c is zero when one site is at least as good as the other on every indicator, however far apart
they are, and high only when both are clearly ahead on something.

Why a matching. Choosing the pairs is a maximum-weight matching on a general graph (sites are
nodes, allowed pairs are edges weighted c - penalty), solved exactly by Edmonds' blossom
algorithm (Edmonds 1965, "Paths, trees, and flowers", Canad. J. Math. 17:449-67; the primal-dual
form in Galil 1986, ACM Computing Surveys 18:23-38). We first pair as many sites as the
constraints allow, then take the highest total among those pairings: a site left out of peer
review costs more than a slightly weaker pair.
"""

import math
import statistics
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import rustworkx as rx

Site = Hashable
Indicator = Hashable
Pair = frozenset  # frozenset({site_a, site_b}): a pair has no direction

# Weights are scaled to integers before matching. The blossom algorithm compares sums of dual
# variables for equality; with floats, rounding can make it return a slightly suboptimal
# matching (networkx's max_weight_matching documentation, Notes: "If floating point weights are
# used, the algorithm could return a slightly suboptimal matching due to numeric precision
# errors"), and rustworkx only accepts integer weights. Micro-units keep six decimal places of
# a z-score, far finer than any difference that matters. Each weight moves by at most 0.5e-6,
# so the matching found is within 1e-6 per pair of the true float optimum.
SCALE = 10**6

# Integers above 2**53 are no longer exact in float64, so scaling would be meaningless.
_MAX_ABS_WEIGHT = 2**53 / SCALE

# A difference in z smaller than this is rounding noise, not a strength worth naming.
_NEGLIGIBLE_Z = 1e-9

# More than three strengths makes a sentence nobody reads; the rest are counted.
_MAX_NAMED_STRENGTHS = 3

# The exhaustive search enumerates every matching: 9,496 for 10 sites, 2.4 million for 14.
_EXHAUSTIVE_LIMIT = 14

NO_OTHER_SITE = "no other site to pair with"
NO_ALLOWED_PARTNER = "no allowed partner: every possible partner is excluded by the constraints"
ODD_COUNT = "left over because the number of sites is odd"
ODD_PAIRABLE_COUNT = (
    "left over because, leaving aside the sites that have no allowed partner, the number of "
    "sites is odd"
)
CONSTRAINED = (
    "left over because the constraints leave no way to pair every site, and each of its "
    "allowed partners is paired with another site"
)


@dataclass(frozen=True)
class PairingResult:
    """The chosen pairs and why.

    ``pairs`` holds each pair in stable order (see ``stable_order``) and is itself sorted;
    ``total`` is the sum of c(a, b) - penalty(a, b) over the pairs, in the original units.
    """

    pairs: list[tuple[Site, Site]]
    unpaired: list[Site]
    total: float
    reasons: dict[Pair, str]
    unpaired_reasons: dict[Site, str]
    scores: dict[Pair, float]  # c(a, b) of each chosen pair
    weights: dict[Pair, float]  # c(a, b) - penalty(a, b) of each chosen pair
    z: dict[Site, dict[Indicator, float]]  # the standardised profiles the pairs were chosen on


@dataclass(frozen=True)
class AllowedEdges:
    """Every allowed pair with its scores, as arrays (one entry per edge, ``first < second``).

    Node ``i`` is ``sites[i]``; column ``k`` of ``z`` is ``codes[k]``. Edges are in row-major
    upper-triangle order, so ``first * n + second`` is strictly increasing.
    """

    sites: list[Site]
    codes: list[Indicator]
    z: np.ndarray
    first: np.ndarray
    second: np.ndarray
    complementarity: np.ndarray
    weight: np.ndarray

    def scaled_weights(self) -> np.ndarray:
        """Integer weights for the matcher: micro-units, shifted so the smallest is 1.

        We only ever ask for a maximum-cardinality matching, and all of those have the same
        number of pairs k, so adding a constant to every edge adds k times it to every candidate
        and cannot change which is best. Shifting to positive weights means we do not depend
        on how the library treats zero or negative weights: rustworkx's documentation does not
        say, and although a probe of rustworkx and networkx against exhaustive search on 3,000
        random small graphs with weights from -5 to 5 found no error, nothing promises it.
        """
        if self.weight.size == 0:
            return np.zeros(0, dtype=np.int64)
        if float(np.abs(self.weight).max()) > _MAX_ABS_WEIGHT:
            raise ValueError(
                f"pair weights must be smaller than {_MAX_ABS_WEIGHT:.0f} in absolute value; "
                "check the units of the penalties"
            )
        scaled = np.rint(self.weight * SCALE).astype(np.int64)
        return scaled - scaled.min() + 1

    def positions(self, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
        """The positions in the arrays of the edges (a, b), given as node indices with a < b."""
        n = len(self.sites)
        keys = self.first * n + self.second  # strictly increasing, so binary search works
        wanted = np.array([a * n + b for a, b in pairs], dtype=np.int64)
        pos = np.searchsorted(keys, wanted)
        if wanted.size and (pos.max() >= keys.size or not np.array_equal(keys[pos], wanted)):
            raise KeyError("a pair that is not an allowed edge")
        return pos


def stable_order(items: Iterable[Hashable]) -> list[Hashable]:
    """Items sorted naturally if they compare (ints as numbers), else by type name and repr.

    Site ids may be ints or strings, or a mixture, and the output must not depend on dictionary
    order or hash seeds.
    """
    items = list(items)
    try:
        return sorted(items)  # type: ignore[type-var]
    except TypeError:
        return sorted(items, key=lambda item: (type(item).__name__, repr(item)))


def _value(site: Site, code: Indicator, raw: object) -> float | None:
    """A profile value as a float, or None when missing (absent, None or NaN)."""
    if raw is None:
        return None
    try:
        value = float(raw)  # type: ignore[arg-type]  # Decimal from the ORM, int, str digits
    except (TypeError, ValueError) as error:
        raise ValueError(f"site {site!r}: {code!r} is not a number: {raw!r}") from error
    if math.isnan(value):
        return None
    if math.isinf(value):
        raise ValueError(f"site {site!r}: {code!r} is infinite")
    return value


def standardise(
    profiles: Mapping[Site, Mapping[Indicator, object]],
    higher_is_better: Mapping[Indicator, bool],
) -> dict[Site, dict[Indicator, float]]:
    """z-scores per indicator across the given sites, oriented so that higher is better.

    z = (value - mean) / population SD (ddof=0: the sites given are the whole population being
    paired, not a sample of one). The sign is flipped where lower is better, so a positive z is
    always a strength.

    An indicator on which every site has the same value (or only one site has a value) has no
    spread: it says nothing about who can teach whom, so every z is 0.

    Missing values (key absent, None or NaN): the mean and SD are taken over the sites that
    have the value, and the missing site's z is 0, the mean. A gap in the audit data is then
    neither a strength nor a weakness, so it cannot create a pairing reason on its own.

    Every site gets a z for every indicator in ``higher_is_better``. A profile naming an
    indicator that is not in ``higher_is_better`` is an error: without a direction it cannot be
    scored, and dropping it silently would hide the mistake.
    """
    codes = stable_order(higher_is_better)
    known = set(codes)
    for site, profile in profiles.items():
        unknown = [code for code in profile if code not in known]
        if unknown:
            raise ValueError(
                f"site {site!r} has indicators with no direction in higher_is_better: "
                f"{stable_order(unknown)!r}"
            )
    z: dict[Site, dict[Indicator, float]] = {site: {} for site in profiles}
    for code in codes:
        present: dict[Site, float] = {}
        for site, profile in profiles.items():
            value = _value(site, code, profile.get(code))
            if value is not None:
                present[site] = value
        values = list(present.values())
        # statistics.pstdev works in exact fractions, so identical values give exactly 0
        # rather than a rounding residue that would blow tiny noise up into z-scores of 1.
        sd = statistics.pstdev(values) if len(values) >= 2 else 0.0
        mean = statistics.fmean(values) if values else 0.0
        sign = 1.0 if higher_is_better[code] else -1.0
        for site in profiles:
            if sd == 0.0 or site not in present:
                z[site][code] = 0.0
            else:
                z[site][code] = sign * (present[site] - mean) / sd
    return z


def complementarity(
    z_a: Mapping[Indicator, float] | Sequence[float],
    z_b: Mapping[Indicator, float] | Sequence[float],
) -> float:
    """c(a, b) = min(how far a is ahead of b, how far b is ahead of a), summed over indicators.

    Takes two z vectors, either as mappings from indicator to z (an indicator missing from one
    counts as 0, the mean) or as equal-length sequences in the same indicator order.
    A site ahead on everything has c = 0 with the site it dominates: good is never paired with
    bad for its own sake.
    """
    if isinstance(z_a, Mapping) and isinstance(z_b, Mapping):
        pairs = [(z_a.get(code, 0.0), z_b.get(code, 0.0)) for code in {*z_a, *z_b}]
    elif isinstance(z_a, Mapping) or isinstance(z_b, Mapping):
        raise TypeError("pass both z vectors as mappings or both as sequences")
    else:
        pairs = list(zip(z_a, z_b, strict=True))
    a_ahead = math.fsum(max(0.0, a - b) for a, b in pairs)
    b_ahead = math.fsum(max(0.0, b - a) for a, b in pairs)
    return min(a_ahead, b_ahead)


def allowed_edges(
    profiles: Mapping[Site, Mapping[Indicator, object]],
    higher_is_better: Mapping[Indicator, bool],
    forbidden: Collection[Pair] = frozenset(),
    penalties: Mapping[Pair, float] | None = None,
) -> AllowedEdges:
    """Standardise, then score every allowed pair at once with numpy (no loop over pairs).

    Forbidden pairs get no edge. Forbidden pairs and penalties naming a site that is not in
    ``profiles`` are ignored, so the caller may pass constraints for a wider set of sites.
    """
    z_by_site = standardise(profiles, higher_is_better)
    sites = stable_order(profiles)
    codes = stable_order(higher_is_better)
    n = len(sites)
    position = {site: i for i, site in enumerate(sites)}
    z = np.array([[z_by_site[site][code] for code in codes] for site in sites], dtype=float)
    z = z.reshape(n, len(codes))

    allowed = ~np.eye(n, dtype=bool)
    for pair in forbidden:
        ends = _ends(pair, position)
        if ends is not None:
            allowed[ends] = allowed[ends[::-1]] = False
    penalty = np.zeros((n, n))
    for pair, amount in (penalties or {}).items():
        ends = _ends(pair, position)
        if ends is None:
            continue
        amount = float(amount)
        if not math.isfinite(amount):
            raise ValueError(f"penalty for {stable_order(pair)!r} is not a finite number")
        penalty[ends] = penalty[ends[::-1]] = amount

    first, second = np.triu_indices(n, k=1)
    keep = allowed[first, second]
    first, second = first[keep], second[keep]
    diff = z[first] - z[second]  # (edges, indicators)
    first_ahead = np.maximum(diff, 0.0).sum(axis=1)
    second_ahead = np.maximum(-diff, 0.0).sum(axis=1)
    c = np.minimum(first_ahead, second_ahead)
    return AllowedEdges(
        sites=sites,
        codes=codes,
        z=z,
        first=first,
        second=second,
        complementarity=c,
        weight=c - penalty[first, second],
    )


def _ends(pair: Iterable[Site], position: Mapping[Site, int]) -> tuple[int, int] | None:
    ends = [position[site] for site in set(pair) if site in position]
    if len(ends) != 2:
        return None
    return ends[0], ends[1]


def match(edges: AllowedEdges) -> list[tuple[int, int]]:
    """The exact maximum-weight maximum-cardinality matching, as sorted (i, j) node pairs.

    Why rustworkx: it runs the same blossom algorithm as networkx (both port Van Rantwijk's
    mwmatching.py) but in Rust. Measured on this machine with scripts/bench_pairing.py --full,
    on the same integer weights (four indicators, a few forbidden pairs), best of 3:
    156 sites, 12,075 edges: rustworkx 0.018 s, networkx 1.6 s (88 times slower);
    500 sites, 124,700 edges: rustworkx 0.66 s, networkx 54 s (one run; 83 times slower).
    pair_sites in full (weights, matching, reasons) took 0.021 s for 156 sites and 0.72 s for
    500, within the 0.1 s and 1 s goals; 1,000 sites took 12 s, as the O(n^3) bound predicts.
    rustworkx is already a runtime dependency; networkx is only in the test extra.
    """
    graph = rx.PyGraph(multigraph=False)
    graph.add_nodes_from(range(len(edges.sites)))
    scaled = edges.scaled_weights()
    ends_and_weights = zip(
        edges.first.tolist(), edges.second.tolist(), scaled.tolist(), strict=True
    )
    graph.add_edges_from(list(ends_and_weights))
    matching = rx.max_weight_matching(
        graph, max_cardinality=True, weight_fn=int, verify_optimum=False
    )
    return sorted((min(a, b), max(a, b)) for a, b in matching)


def pair_sites(
    profiles: Mapping[Site, Mapping[Indicator, object]],
    higher_is_better: Mapping[Indicator, bool],
    forbidden: Collection[Pair] = frozenset(),
    penalties: Mapping[Pair, float] | None = None,
    *,
    names: Mapping[Site, str] | None = None,
    labels: Mapping[Indicator, str] | None = None,
) -> PairingResult:
    """Pair the sites: as many pairs as the constraints allow, then the highest total weight.

    ``profiles``: {site: {indicator: value}}; ``higher_is_better``: {indicator: bool};
    ``forbidden``: pairs that must not be made (same organisation, an existing partnership...);
    ``penalties``: soft costs subtracted from a pair's complementarity (travel, say), in the
    same units as c (z-score sums). ``names`` and ``labels`` are used in the reasons.
    """
    edges = allowed_edges(profiles, higher_is_better, forbidden, penalties)
    return _result(edges, match(edges), names, labels)


def greedy_pairs(
    profiles: Mapping[Site, Mapping[Indicator, object]],
    higher_is_better: Mapping[Indicator, bool],
    forbidden: Collection[Pair] = frozenset(),
    penalties: Mapping[Pair, float] | None = None,
    *,
    names: Mapping[Site, str] | None = None,
    labels: Mapping[Indicator, str] | None = None,
) -> PairingResult:
    """Baseline for the benchmark: repeatedly take the heaviest allowed pair of unpaired sites.

    Not used to pair real programmes: it can leave sites unpaired that the matching would pair,
    and a greedy first choice can block two better pairs.
    """
    edges = allowed_edges(profiles, higher_is_better, forbidden, penalties)
    # Stable sort on -weight: ties go to the earlier edge, so the result is deterministic.
    order = np.argsort(-edges.weight, kind="stable")
    taken = np.zeros(len(edges.sites), dtype=bool)
    chosen = []
    for a, b in zip(edges.first[order].tolist(), edges.second[order].tolist(), strict=True):
        if not taken[a] and not taken[b]:
            taken[a] = taken[b] = True
            chosen.append((a, b))
    return _result(edges, sorted(chosen), names, labels)


def exhaustive_pairs(
    profiles: Mapping[Site, Mapping[Indicator, object]],
    higher_is_better: Mapping[Indicator, bool],
    forbidden: Collection[Pair] = frozenset(),
    penalties: Mapping[Pair, float] | None = None,
    *,
    names: Mapping[Site, str] | None = None,
    labels: Mapping[Indicator, str] | None = None,
) -> PairingResult:
    """For testing and benchmarks only: exponential. Tries every matching.

    The reference pair_sites is checked against: most pairs first, then the highest total of
    the float weights (no integer scaling). Refuses more than 14 sites.
    """
    edges = allowed_edges(profiles, higher_is_better, forbidden, penalties)
    n = len(edges.sites)
    if n > _EXHAUSTIVE_LIMIT:
        raise ValueError(f"exhaustive search is limited to {_EXHAUSTIVE_LIMIT} sites, not {n}")
    partners: dict[int, dict[int, float]] = {i: {} for i in range(n)}
    for a, b, w in zip(
        edges.first.tolist(), edges.second.tolist(), edges.weight.tolist(), strict=True
    ):
        partners[a][b] = partners[b][a] = w

    best: tuple[int, float] = (-1, -math.inf)
    best_pairs: list[tuple[int, int]] = []

    def extend(free: frozenset[int], chosen: list[tuple[int, int]], total: float) -> None:
        nonlocal best, best_pairs
        if not free:
            if (len(chosen), total) > best:
                best, best_pairs = (len(chosen), total), list(chosen)
            return
        site = min(free)
        rest = free - {site}
        extend(rest, chosen, total)  # this site stays unpaired
        for partner, weight in partners[site].items():
            if partner in rest:
                chosen.append((site, partner))
                extend(rest - {partner}, chosen, total + weight)
                chosen.pop()

    extend(frozenset(range(n)), [], 0.0)
    return _result(edges, sorted(best_pairs), names, labels)


def _result(
    edges: AllowedEdges,
    chosen: list[tuple[int, int]],
    names: Mapping[Site, str] | None,
    labels: Mapping[Indicator, str] | None,
) -> PairingResult:
    """Turn chosen (i, j) node pairs into site pairs, scores, reasons and leftovers."""
    sites = edges.sites
    name = _namer(names)
    indicator_labels = [_namer(labels)(code) for code in edges.codes]
    positions = edges.positions(chosen).tolist()
    pairs: list[tuple[Site, Site]] = []
    reasons: dict[Pair, str] = {}
    scores: dict[Pair, float] = {}
    weights: dict[Pair, float] = {}
    for (a, b), pos in zip(chosen, positions, strict=True):
        key = frozenset({sites[a], sites[b]})
        pairs.append((sites[a], sites[b]))
        scores[key] = float(edges.complementarity[pos])
        weights[key] = float(edges.weight[pos])
        a_minus_b = (edges.z[a] - edges.z[b]).tolist()
        reasons[key] = explain(
            name(sites[a]), name(sites[b]), list(zip(indicator_labels, a_minus_b, strict=True))
        )

    paired = {i for pair in chosen for i in pair}
    left = [i for i in range(len(sites)) if i not in paired]
    return PairingResult(
        pairs=pairs,
        unpaired=[sites[i] for i in left],
        # fsum is exact, so the total does not depend on the order of the pairs.
        total=math.fsum(weights.values()),
        reasons=reasons,
        unpaired_reasons=_unpaired_reasons(edges, left),
        scores=scores,
        weights=weights,
        z={
            site: dict(zip(edges.codes, row, strict=True))
            for site, row in zip(sites, edges.z.tolist(), strict=True)
        },
    )


def _unpaired_reasons(edges: AllowedEdges, left: list[int]) -> dict[Site, str]:
    """Why each leftover site is left over, told apart by what the constraints allow.

    In a maximum-cardinality matching every allowed partner of a leftover site is paired
    (otherwise the two could be paired too), so a site with partners is only left over because
    of an odd count or because the constraints make pairing everyone impossible.
    """
    n = len(edges.sites)
    degree = np.bincount(edges.first, minlength=n) + np.bincount(edges.second, minlength=n)
    isolated = {i for i in range(n) if degree[i] == 0}
    pairable = n - len(isolated)
    pairable_left = [i for i in left if i not in isolated]
    reasons: dict[Site, str] = {}
    for i in left:
        if n == 1:
            reason = NO_OTHER_SITE
        elif i in isolated:
            reason = NO_ALLOWED_PARTNER
        elif len(pairable_left) == 1 and pairable % 2 == 1:
            reason = ODD_COUNT if not isolated else ODD_PAIRABLE_COUNT
        else:
            reason = CONSTRAINED
        reasons[edges.sites[i]] = reason
    return reasons


def _namer(display: Mapping[Hashable, str] | None) -> Callable[[Hashable], str]:
    display = display or {}
    return lambda key: display.get(key, str(key))


def explain(name_a: str, name_b: str, a_minus_b: Sequence[tuple[str, float]]) -> str:
    """The plain-words reason for a pair, e.g. "A is stronger on X and Y; B on Z".

    ``a_minus_b`` holds (indicator label, z_a - z_b) for each indicator. Each site's strengths
    are the indicators where its z is higher, largest difference first (ties in label order),
    at most three named and the rest counted.
    """
    ordered = sorted(a_minus_b, key=lambda item: (-abs(item[1]), item[0]))
    a_strengths = [label for label, d in ordered if d > _NEGLIGIBLE_Z]
    b_strengths = [label for label, d in ordered if d < -_NEGLIGIBLE_Z]
    if a_strengths and b_strengths:
        return (
            f"{name_a} is stronger on {_listing(a_strengths)}; {name_b} on {_listing(b_strengths)}"
        )
    if a_strengths:
        return (
            f"{name_a} is stronger on {_listing(a_strengths)}; "
            f"{name_b} is not stronger on any indicator"
        )
    if b_strengths:
        return (
            f"{name_b} is stronger on {_listing(b_strengths)}; "
            f"{name_a} is not stronger on any indicator"
        )
    return f"{name_a} and {name_b} are level on every indicator"


def _listing(labels: list[str]) -> str:
    named = labels[:_MAX_NAMED_STRENGTHS]
    extra = len(labels) - len(named)
    if extra:
        others = "other indicator" if extra == 1 else "other indicators"
        return f"{', '.join(named)} and {extra} {others}"
    if len(named) == 1:
        return named[0]
    return f"{', '.join(named[:-1])} and {named[-1]}"
