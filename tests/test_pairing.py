"""Pairing sites for reciprocal peer review (programmes.pairing), tested directly.

Worked examples by hand first, then the matching checked against exhaustive search on random
small instances: the exhaustive search tries every matching, so agreeing with it is the proof
that the blossom matching, the integer scaling and the weight shift lose nothing.
"""

import itertools
import math
import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from programmes import pairing as p

HIGHER = {"x": True}


# --- standardisation --------------------------------------------------------------------------


def test_standardise_by_hand():
    # mean 0.7; population SD sqrt(((-0.1)² + 0² + 0.1²) / 3) = sqrt(2/300); z = ±0.1/SD.
    z = p.standardise({"a": {"x": 0.6}, "b": {"x": 0.7}, "c": {"x": 0.8}}, HIGHER)
    sd = math.sqrt(2 / 300)
    assert z["a"]["x"] == pytest.approx(-0.1 / sd)
    assert z["b"]["x"] == pytest.approx(0.0, abs=1e-12)
    assert z["c"]["x"] == pytest.approx(0.1 / sd)
    assert z["c"]["x"] == pytest.approx(math.sqrt(1.5))


def test_lower_is_better_flips_the_sign():
    profiles = {"a": {"wait": 10}, "b": {"wait": 20}, "c": {"wait": 30}}
    z = p.standardise(profiles, {"wait": False})
    assert z["a"]["wait"] == pytest.approx(math.sqrt(1.5))  # shortest wait is the strength
    assert z["c"]["wait"] == pytest.approx(-math.sqrt(1.5))


def test_zero_spread_contributes_nothing():
    # 0.7 three times has a float mean of 0.7000000000000001; the SD must still be exactly 0.
    z = p.standardise({"a": {"x": 0.7}, "b": {"x": 0.7}, "c": {"x": 0.7}}, HIGHER)
    assert z == {"a": {"x": 0.0}, "b": {"x": 0.0}, "c": {"x": 0.0}}


def test_a_single_value_has_no_spread():
    z = p.standardise({"a": {"x": 0.9}, "b": {}, "c": {"x": None}}, HIGHER)
    assert z == {"a": {"x": 0.0}, "b": {"x": 0.0}, "c": {"x": 0.0}}


def test_a_missing_value_is_the_mean_and_is_left_out_of_mean_and_sd():
    # Over a and b only: mean 2, population SD 1. c has no value: z = 0, neither strong nor weak.
    for missing in ({}, {"x": None}, {"x": float("nan")}):
        z = p.standardise({"a": {"x": 1}, "b": {"x": 3}, "c": missing}, HIGHER)
        assert z == {"a": {"x": -1.0}, "b": {"x": 1.0}, "c": {"x": 0.0}}


def test_decimals_from_the_database_are_numbers():
    z = p.standardise({"a": {"x": Decimal("0.6")}, "b": {"x": Decimal("0.8")}}, HIGHER)
    assert z["a"]["x"] == pytest.approx(-1.0)


def test_an_indicator_without_a_direction_is_an_error():
    with pytest.raises(ValueError, match="no direction"):
        p.standardise({"a": {"x": 1, "y": 2}}, HIGHER)


def test_infinite_and_non_numeric_values_are_errors():
    with pytest.raises(ValueError, match="infinite"):
        p.standardise({"a": {"x": float("inf")}}, HIGHER)
    with pytest.raises(ValueError, match="not a number"):
        p.standardise({"a": {"x": "high"}}, HIGHER)


# --- complementarity --------------------------------------------------------------------------


def test_complementarity_by_hand():
    # a ahead by 1.0 on the first; b ahead by 1.0 and 0.5 on the others: min(1.0, 1.5) = 1.0.
    assert p.complementarity([1.0, -0.5, 0.2], [0.0, 0.5, 0.7]) == pytest.approx(1.0)
    assert p.complementarity([0.0, 0.5, 0.7], [1.0, -0.5, 0.2]) == pytest.approx(1.0)


def test_complementarity_of_mappings_treats_a_missing_indicator_as_the_mean():
    assert p.complementarity({"x": 1.0, "y": -2.0}, {"x": -1.0}) == pytest.approx(2.0)


def test_a_dominating_site_has_no_complementarity_however_far_ahead():
    assert p.complementarity([3.0, 2.0, 0.0], [-3.0, -2.0, 0.0]) == 0.0
    assert p.complementarity([3.0, 2.0], [3.0, 2.0]) == 0.0


def test_complementarity_wants_like_with_like():
    with pytest.raises(ValueError):
        p.complementarity([1.0, 2.0], [1.0])
    with pytest.raises(TypeError):
        p.complementarity({"x": 1.0}, [1.0])


# --- pairing: worked examples -----------------------------------------------------------------

# Three proportions, higher is better. "best" is ahead of "worst" on everything; A is strong on
# CNS contact, B on survival. By hand (population SDs over the four sites):
#   cns      .80 .75 .95 .70  mean .80, SD sqrt(.035/4)      z = 0, -.5345, 1.6036, -1.0690
#   surgery  .20 .12 .18 .12  mean .155, SD sqrt(.00510/4)    z = 1.2603, -.9802, .7001, -.9802
#   survival .45 .33 .33 .42  mean .3825, SD sqrt(.012075/4)  z = 1.2603, -.9802, -.9802, .7001
# The three pairings total: best-worst + A-B = 0 + 1.6803; best-A + worst-B = 1.6036 + .5345 =
# 2.1381; best-B + worst-A = 0 + 0. So best goes with A and worst with B, never best with worst.
LUNG = {"surgery": True, "survival": True, "cns": True}
FOUR = {
    "best": {"surgery": 0.20, "survival": 0.45, "cns": 0.80},
    "worst": {"surgery": 0.12, "survival": 0.33, "cns": 0.75},
    "A": {"surgery": 0.18, "survival": 0.33, "cns": 0.95},
    "B": {"surgery": 0.12, "survival": 0.42, "cns": 0.70},
}


def test_four_sites_are_paired_for_complementarity_never_best_with_worst():
    z = p.standardise(FOUR, LUNG)
    assert p.complementarity(z["best"], z["worst"]) == 0.0
    assert p.complementarity(z["A"], z["B"]) == pytest.approx(1.6803, abs=1e-4)

    result = p.pair_sites(FOUR, LUNG)

    assert result.pairs == [("A", "best"), ("B", "worst")]
    assert result.unpaired == []
    assert result.scores[frozenset({"A", "best"})] == pytest.approx(1.6036, abs=1e-4)
    assert result.scores[frozenset({"B", "worst"})] == pytest.approx(0.5345, abs=1e-4)
    assert result.total == pytest.approx(2.1381, abs=1e-4)


def test_reasons_in_plain_words_with_names_and_labels():
    result = p.pair_sites(
        FOUR,
        LUNG,
        names={"A": "Airedale", "B": "Bradford", "best": "Leeds", "worst": "York"},
        labels={"surgery": "resection rate", "survival": "1-year survival", "cns": "CNS contact"},
    )
    # Largest difference first: Leeds is 2.24 SD ahead on survival and 0.56 on surgery.
    assert result.reasons[frozenset({"A", "best"})] == (
        "Airedale is stronger on CNS contact; Leeds on 1-year survival and resection rate"
    )
    assert result.reasons[frozenset({"B", "worst"})] == (
        "Bradford is stronger on 1-year survival; York on CNS contact"
    )


def test_reasons_without_names_use_ids_and_codes():
    result = p.pair_sites(FOUR, LUNG)
    assert result.reasons[frozenset({"B", "worst"})] == "B is stronger on survival; worst on cns"


def test_a_reason_names_three_strengths_at_most_and_says_plainly_when_there_are_none():
    assert p.explain("A", "B", [("w", 0.1), ("x", 2.0), ("y", 1.0), ("z", 0.5)]) == (
        "A is stronger on x, y, z and 1 other indicator; B is not stronger on any indicator"
    )
    assert p.explain("A", "B", [("x", -1.0), ("y", 0.0)]) == (
        "B is stronger on x; A is not stronger on any indicator"
    )
    assert p.explain("A", "B", [("x", 0.0), ("y", 1e-15)]) == "A and B are level on every indicator"
    assert p.explain("A", "B", [("x", 1.0), ("y", -0.2), ("z", -0.4)]) == (
        "A is stronger on x; B on z and y"
    )


def test_an_odd_count_leaves_exactly_one_site_over():
    profiles = {site: {"x": value} for site, value in zip("abcde", [1, 2, 3, 4, 5], strict=True)}
    result = p.pair_sites(profiles, HIGHER)
    assert len(result.pairs) == 2
    assert len(result.unpaired) == 1
    assert result.unpaired_reasons == {result.unpaired[0]: p.ODD_COUNT}


def test_a_site_every_partner_is_forbidden_with_is_left_over_with_the_reason():
    profiles = {site: {"x": value} for site, value in zip("abcde", [1, 2, 3, 4, 5], strict=True)}
    forbidden = {frozenset({"c", other}) for other in "abde"}
    result = p.pair_sites(profiles, HIGHER, forbidden)
    assert result.unpaired == ["c"]
    assert result.unpaired_reasons == {"c": p.NO_ALLOWED_PARTNER}
    assert p.NO_ALLOWED_PARTNER == (
        "no allowed partner: every possible partner is excluded by the constraints"
    )
    assert len(result.pairs) == 2


def test_the_odd_one_out_among_the_pairable_sites_is_told_apart():
    profiles = {site: {"x": value} for site, value in zip("abcd", [1, 2, 3, 4], strict=True)}
    forbidden = {frozenset({"a", other}) for other in "bcd"}
    result = p.pair_sites(profiles, HIGHER, forbidden)
    assert len(result.pairs) == 1
    assert result.unpaired_reasons["a"] == p.NO_ALLOWED_PARTNER
    (other,) = set(result.unpaired) - {"a"}
    assert result.unpaired_reasons[other] == p.ODD_PAIRABLE_COUNT


def test_a_site_crowded_out_by_the_constraints():
    # A star: a, c and f may each only go with b; d only with e. Six sites, all with an allowed
    # partner, yet two of a, c and f must be left over.
    sites = "abcdef"
    profiles = {site: {"x": value} for value, site in enumerate(sites)}
    allowed = {frozenset("ab"), frozenset("bc"), frozenset("bf"), frozenset("de")}
    forbidden = {frozenset(pair) for pair in itertools.combinations(sites, 2)} - allowed
    result = p.pair_sites(profiles, HIGHER, forbidden)
    assert len(result.pairs) == 2
    assert ("d", "e") in result.pairs
    assert len(result.unpaired) == 2
    assert set(result.unpaired) < {"a", "c", "f"}
    assert set(result.unpaired_reasons.values()) == {p.CONSTRAINED}


def test_one_site_and_no_sites():
    assert p.pair_sites({"a": {"x": 1}}, HIGHER).unpaired_reasons == {"a": p.NO_OTHER_SITE}
    empty = p.pair_sites({}, HIGHER)
    assert (empty.pairs, empty.unpaired, empty.total) == ([], [], 0.0)


def test_identical_sites_are_still_all_paired():
    # Every weight is 0 (and below 0 with travel costs): pairs with nothing to teach still beat
    # leaving sites out, so the matching must use these edges for cardinality.
    profiles = {site: {"x": 0.5} for site in "abcd"}
    assert len(p.pair_sites(profiles, HIGHER).pairs) == 2
    travel = {frozenset(pair): 1.0 for pair in itertools.combinations("abcd", 2)}
    result = p.pair_sites(profiles, HIGHER, penalties=travel)
    assert len(result.pairs) == 2
    assert result.total == pytest.approx(-2.0)
    assert all(
        reason.endswith("are level on every indicator") for reason in result.reasons.values()
    )


def test_penalties_are_subtracted_and_change_the_choice():
    far = {frozenset({"A", "best"}): 1.0}
    result = p.pair_sites(FOUR, LUNG, penalties=far)
    # best-A would now weigh 1.6036 - 1 + 0.5345 = 1.1381 < A-B 1.6803 + best-worst 0.
    assert result.pairs == [("A", "B"), ("best", "worst")]
    assert result.total == pytest.approx(1.6803, abs=1e-4)
    assert result.weights == result.scores


def test_forbidden_pairs_are_never_made_and_unknown_sites_in_constraints_are_ignored():
    forbidden = {frozenset({"A", "best"}), frozenset({"A", "nowhere"}), frozenset({"B"})}
    result = p.pair_sites(FOUR, LUNG, forbidden, penalties={frozenset({"x", "y"}): 5.0})
    assert ("A", "best") not in result.pairs
    assert result.pairs == [("A", "B"), ("best", "worst")]


def test_the_greedy_baseline_takes_the_heaviest_pair_first():
    # Identical profiles, so the weights are just the (negative) penalties: bonuses here.
    profiles = {site: {"x": 1.0} for site in "abcd"}
    bonus = {frozenset("ab"): -5.0, frozenset("ac"): -4.0, frozenset("bd"): -4.0}
    greedy = p.greedy_pairs(profiles, HIGHER, penalties=bonus)
    best = p.pair_sites(profiles, HIGHER, penalties=bonus)
    assert greedy.pairs == [("a", "b"), ("c", "d")]
    assert greedy.total == pytest.approx(5.0)
    assert best.pairs == [("a", "c"), ("b", "d")]
    assert best.total == pytest.approx(8.0)


def test_site_ids_may_be_ints_strings_or_both():
    profiles = {3: {"x": 1}, "b": {"x": 2}, 1: {"x": 3}, "a": {"x": 4}}
    result = p.pair_sites(profiles, HIGHER)
    paired = [site for pair in result.pairs for site in pair]
    assert sorted(paired, key=repr) == sorted(profiles, key=repr)
    assert p.stable_order([3, "b", 1, "a"]) == [1, 3, "a", "b"]  # ints before strs, by type name
    assert p.stable_order([10, 9]) == [9, 10]  # numbers sort as numbers, not as text


def test_weights_too_large_for_the_integer_scaling_are_refused():
    with pytest.raises(ValueError, match="penalties"):
        p.pair_sites(FOUR, LUNG, penalties={frozenset({"A", "B"}): 1e12})


def test_the_exhaustive_search_refuses_big_instances():
    profiles = {site: {"x": site} for site in range(15)}
    with pytest.raises(ValueError, match="limited"):
        p.exhaustive_pairs(profiles, HIGHER)


# --- against exhaustive search ----------------------------------------------------------------

VALUES = st.one_of(
    st.floats(min_value=0, max_value=1),
    st.sampled_from([0.0, 0.5, 1.0]),  # ties and zero spread
    st.none(),  # missing
)


@st.composite
def instances(draw):
    n = draw(st.integers(min_value=0, max_value=10))
    codes = [f"k{k}" for k in range(draw(st.integers(min_value=1, max_value=4)))]
    sites = draw(st.sampled_from([list(range(n)), [f"s{i}" for i in range(n)]]))
    profiles = {site: {code: draw(VALUES) for code in codes} for site in sites}
    higher = {code: draw(st.booleans()) for code in codes}
    pairs = [frozenset(pair) for pair in itertools.combinations(sites, 2)]
    forbid_rate = draw(st.sampled_from([0.0, 0.2, 0.6, 0.9]))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    rng = random.Random(seed)
    forbidden = {pair for pair in pairs if rng.random() < forbid_rate}
    penalties = None
    if draw(st.booleans()):
        penalties = {pair: rng.uniform(-0.5, 3.0) for pair in pairs if rng.random() < 0.5}
    return profiles, higher, forbidden, penalties


def check_is_a_valid_pairing(result, profiles, forbidden):
    paired = [site for pair in result.pairs for site in pair]
    assert len(paired) == len(set(paired)), "a site appears twice"
    assert set(paired) | set(result.unpaired) == set(profiles)
    assert len(paired) + len(result.unpaired) == len(profiles)
    assert not {frozenset(pair) for pair in result.pairs} & forbidden
    assert set(result.unpaired_reasons) == set(result.unpaired)
    assert set(result.reasons) == {frozenset(pair) for pair in result.pairs}


@settings(max_examples=200, deadline=None)
@given(instances())
def test_the_matching_is_as_good_as_trying_every_pairing(instance):
    profiles, higher, forbidden, penalties = instance
    result = p.pair_sites(profiles, higher, forbidden, penalties)
    exhaustive = p.exhaustive_pairs(profiles, higher, forbidden, penalties)

    check_is_a_valid_pairing(result, profiles, forbidden)
    assert len(result.pairs) == len(exhaustive.pairs)
    # Integer scaling rounds each weight by at most 0.5e-6, so the matching can be beaten by
    # at most 1e-6 per pair; anything more would be a real error.
    assert result.total == pytest.approx(exhaustive.total, abs=1e-5 * max(1, len(result.pairs)))

    # The total is the sum of c - penalty, recomputed here from the scalar definitions.
    z = p.standardise(profiles, higher)
    expected = math.fsum(
        p.complementarity(z[a], z[b]) - (penalties or {}).get(frozenset({a, b}), 0.0)
        for a, b in result.pairs
    )
    assert result.total == pytest.approx(expected, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(instances(), st.randoms(use_true_random=False))
def test_the_result_is_deterministic_whatever_the_order_of_the_input(instance, rng):
    profiles, higher, forbidden, penalties = instance
    first = p.pair_sites(profiles, higher, forbidden, penalties)
    again = p.pair_sites(profiles, higher, forbidden, penalties)
    sites = list(profiles)
    rng.shuffle(sites)
    shuffled = {site: profiles[site] for site in sites}
    reordered = p.pair_sites(shuffled, higher, set(forbidden), penalties)
    assert first == again == reordered
    assert first.pairs == sorted(
        first.pairs, key=lambda pair: p.stable_order(profiles).index(pair[0])
    )
    for a, b in first.pairs:
        assert p.stable_order([a, b]) == [a, b]


@settings(max_examples=100, deadline=None)
@given(instances())
def test_the_greedy_baseline_is_a_valid_pairing_and_no_better(instance):
    profiles, higher, forbidden, penalties = instance
    greedy = p.greedy_pairs(profiles, higher, forbidden, penalties)
    best = p.pair_sites(profiles, higher, forbidden, penalties)
    check_is_a_valid_pairing(greedy, profiles, forbidden)
    assert len(greedy.pairs) <= len(best.pairs)
    if len(greedy.pairs) == len(best.pairs):
        assert greedy.total <= best.total + 1e-5 * max(1, len(best.pairs))
