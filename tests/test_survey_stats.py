"""The survey's statistics: Wilson intervals, and the small-numbers thresholds."""

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from programmes.survey import (
    DEFAULT_QUESTIONS,
    LOW_NUMBERS,
    SCALES,
    SHOWN,
    SUPPRESSED,
    summarise,
    wilson_interval,
)


# Newcombe RG. Two-sided confidence intervals for the single proportion: comparison of seven
# methods. Statistics in Medicine 1998;17:857-872, Table I, method 3 (Wilson score interval
# without continuity correction), given there to four decimal places.
@pytest.mark.parametrize(("successes", "n", "low", "high"), [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
    (29, 29, 0.8830, 1.0),
])
def test_wilson_interval_matches_newcombe_1998(successes, n, low, high):
    got_low, got_high = wilson_interval(successes, n)
    assert round(got_low, 4) == low
    assert round(got_high, 4) == high


def test_wilson_interval_is_exactly_zero_or_one_at_the_extremes():
    assert wilson_interval(0, 7)[0] == 0.0
    assert wilson_interval(7, 7)[1] == 1.0


@given(st.integers(min_value=1, max_value=5000).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))))
def test_wilson_interval_contains_the_proportion_and_stays_in_range(pair):
    successes, n = pair
    low, high = wilson_interval(successes, n)
    assert 0.0 <= low <= successes / n <= high <= 1.0


@pytest.mark.parametrize(("successes", "n"), [(1, 0), (-1, 5), (6, 5)])
def test_wilson_interval_refuses_impossible_counts(successes, n):
    with pytest.raises(ValueError):
        wilson_interval(successes, n)


def agree(**counts):
    return Counter(counts)


def test_summary_counts_positive_answers_and_leaves_not_applicable_out_of_n():
    summary = summarise(SCALES["agree5"],
                        agree(strongly_agree=6, agree=3, disagree=1, not_applicable=4),
                        warn_below=10, suppress_below=5)
    assert summary.n == 10
    assert summary.answered == 14
    assert summary.positive == 9
    assert summary.proportion == 0.9
    assert summary.status == SHOWN
    assert summary.interval == wilson_interval(9, 10)
    assert ("not_applicable", "Does not apply to me", 4) in summary.distribution


@pytest.mark.parametrize(("n", "status"), [
    (4, SUPPRESSED), (5, LOW_NUMBERS), (9, LOW_NUMBERS), (10, SHOWN),
])
def test_thresholds_apply_below_their_number(n, status):
    summary = summarise(SCALES["yes_no"], Counter(yes=n), warn_below=10, suppress_below=5)
    assert summary.status == status


def test_a_suppressed_result_gives_nothing_but_n():
    summary = summarise(SCALES["yes_no"], Counter(yes=3, no=1), warn_below=10,
                        suppress_below=5)
    assert summary.suppressed
    assert summary.n == 4
    assert summary.distribution == ()
    assert summary.proportion is None and summary.interval is None
    assert summary.positive == 0


def test_does_not_apply_answers_do_not_lift_a_question_over_the_threshold():
    summary = summarise(SCALES["yes_no"], Counter(yes=3, not_applicable=10), warn_below=10,
                        suppress_below=5)
    assert summary.suppressed


@pytest.mark.parametrize(("given_text", "code"), [
    ("Strongly agree", "strongly_agree"), ("strongly_agree", "strongly_agree"),
    ("  STRONGLY   agree ", "strongly_agree"), ("strongly agree", "strongly_agree"),
    ("Does not apply to me", "not_applicable"), ("maybe", None),
])
def test_scale_reads_answers_by_code_or_label(given_text, code):
    assert SCALES["agree5"].code_for(given_text) == code


def test_default_questions_cover_the_lung_cancer_themes_with_unique_codes():
    codes = [q.code for q in DEFAULT_QUESTIONS]
    assert len(codes) == len(set(codes))
    assert {"DIAGNOSIS", "INFORMATION", "NURSE", "DECISIONS", "WAITING", "RESPECT",
            "OVERALL"} <= set(codes)
    assert all(q.scale in SCALES for q in DEFAULT_QUESTIONS if q.kind == "rating")
    assert any(q.kind == "free_text" for q in DEFAULT_QUESTIONS)
