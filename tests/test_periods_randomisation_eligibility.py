"""Pure rules behind audit data and allocation: periods, eligibility and randomisation."""

import datetime
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from programmes import eligibility, randomisation
from programmes.periods import PeriodNotRecognised, age_in_months, parse_period

D = datetime.date


@pytest.mark.parametrize(
    ("text", "label", "start", "end"),
    [
        ("2025", "2025", D(2025, 1, 1), D(2025, 12, 31)),
        (" 2025/26 ", "2025/26", D(2025, 4, 1), D(2026, 3, 31)),  # NHS financial year
        ("FY2025-2026", "2025/26", D(2025, 4, 1), D(2026, 3, 31)),
        ("2025 Q1", "2025 Q1", D(2025, 1, 1), D(2025, 3, 31)),
        ("2024-q4", "2024 Q4", D(2024, 10, 1), D(2024, 12, 31)),
        ("2024-02", "2024-02", D(2024, 2, 1), D(2024, 2, 29)),  # leap year
    ],
)
def test_periods_people_write(text, label, start, end):
    period = parse_period(text)
    assert (period.label, period.start, period.end) == (label, start, end)


@pytest.mark.parametrize("text", ["", "last year", "2025/27", "2025-13", "2025 Q5", "25"])
def test_periods_that_make_no_sense_are_refused(text):
    with pytest.raises(PeriodNotRecognised):
        parse_period(text)


def test_age_in_months():
    assert age_in_months(D(2025, 12, 31), D(2026, 11, 23)) == 10
    assert age_in_months(D(2025, 12, 31), D(2026, 12, 31)) == 12
    assert age_in_months(D(2026, 3, 31), D(2026, 3, 1)) == 0


HEADLINE = {"HIST": "Histological confirmation", "ACT": "Active treatment"}


def test_a_site_with_every_headline_indicator_above_the_minimum_is_eligible():
    assert eligibility.assess({"HIST": 30, "ACT": 200}, HEADLINE, period="2025",
                              min_denominator=30) == []


def test_ineligibility_names_each_missing_or_small_indicator():
    assert eligibility.assess({"HIST": 12}, HEADLINE, period="2025", min_denominator=30) == [
        "Histological confirmation: 12 patients in 2025, fewer than the minimum of 30",
        "No 2025 data for Active treatment",
    ]


def test_size_bands():
    edges = (200, 400)
    assert [randomisation.size_band(n, edges) for n in (0, 199, 200, 399, 400, None)] == [
        "<200", "<200", "200–399", "200–399", "400+", "unknown size",
    ]


def ilcop_strata():
    """80 eligible sites in 7 regions of uneven size, like ILCOP's 80 eligible trusts."""
    sizes = [18, 14, 12, 11, 10, 8, 7]
    strata, site = {}, 0
    for region, size in enumerate(sizes):
        for _ in range(size):
            strata[site] = f"region {region}"
            site += 1
    return strata


def test_ilcop_allocation_30_of_80_stratified():
    allocation = randomisation.allocate(ilcop_strata(), 30, seed=2012)
    assert Counter(allocation.values()) == {"intervention": 30, "control": 50}
    # Each region's share is within one of its proportional share (30/80 of its sites).
    by_region = Counter(ilcop_strata()[s] for s, arm in allocation.items()
                        if arm == "intervention")
    for region, size in Counter(ilcop_strata().values()).items():
        assert abs(by_region[region] - size * 30 / 80) < 1


def test_the_same_seed_gives_the_same_allocation_and_another_seed_another():
    first = randomisation.allocate(ilcop_strata(), 30, seed=2012)
    assert randomisation.allocate(ilcop_strata(), 30, seed=2012) == first
    assert randomisation.allocate(ilcop_strata(), 30, seed=2013) != first


def test_input_order_does_not_change_the_allocation():
    strata = ilcop_strata()
    reversed_strata = dict(reversed(list(strata.items())))
    assert randomisation.allocate(reversed_strata, 30, 7) == randomisation.allocate(strata, 30, 7)


def test_cannot_allocate_more_than_there_are():
    with pytest.raises(ValueError):
        randomisation.allocate({1: "a"}, 2, seed=1)


@given(st.dictionaries(st.integers(0, 500), st.sampled_from("ABCD"), min_size=1, max_size=60),
       st.integers(0, 2**32), st.data())
def test_allocation_always_fills_exactly_the_intervention_places(strata, seed, data):
    count = data.draw(st.integers(0, len(strata)))
    allocation = randomisation.allocate(strata, count, seed)
    assert set(allocation) == set(strata)
    assert sum(arm == "intervention" for arm in allocation.values()) == count
