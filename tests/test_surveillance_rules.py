"""The pure surveillance rule (programmes.surveillance), worked through by hand.

Seed 003, section 1.1.1 (NHS England's Quality & Nursing Team framework): "Additional
surveillance actions are expected where services score less than 100 per cent of their
service's previously agreed quality indicators or fail their good practice compliance
threshold."
"""

from programmes.surveillance import AGREED, GOOD_PRACTICE, Answer, assess


def _answers(agreed_met: int, agreed_total: int, good_met: int, good_total: int) -> list:
    return ([Answer(AGREED, i < agreed_met) for i in range(agreed_total)]
            + [Answer(GOOD_PRACTICE, i < good_met) for i in range(good_total)])


def test_all_agreed_met_but_good_practice_below_threshold_is_flagged():
    # 10/10 agreed; 7/10 good practice = 70% < 75%.
    result = assess(_answers(10, 10, 7, 10), threshold=75)
    assert (result.agreed_met, result.agreed_total) == (10, 10)
    assert result.good_practice_percent == 70
    assert not result.below_agreed and result.below_threshold and result.flagged
    assert result.reasons == ["Meets 7 of 10 good practice indicators (70%), below the 75% "
                              "threshold"]


def test_exactly_at_the_threshold_is_not_flagged():
    # 3/4 = 75%: "fail" the threshold means below it, and integer arithmetic keeps it exact.
    result = assess(_answers(2, 2, 3, 4), threshold=75)
    assert result.good_practice_percent == 75
    assert not result.below_threshold and not result.flagged and result.reasons == []


def test_just_below_a_threshold_that_does_not_divide_evenly_is_flagged():
    # 2/3 = 66.67% against 67%: 200 < 201.
    assert assess(_answers(1, 1, 2, 3), threshold=67).flagged
    assert not assess(_answers(1, 1, 2, 3), threshold=66).flagged


def test_one_agreed_indicator_missed_is_flagged_whatever_the_good_practice():
    result = assess(_answers(9, 10, 10, 10), threshold=75)
    assert result.agreed_percent == 90 and result.flagged
    assert result.reasons == ["Meets 9 of 10 agreed quality indicators (all must be met)"]


def test_both_reasons_are_given_when_both_fail():
    result = assess(_answers(1, 2, 0, 2), threshold=75)
    assert len(result.reasons) == 2


def test_an_unanswered_agreed_indicator_counts_as_not_met():
    answers = [Answer(AGREED, True), Answer(AGREED, None), Answer(GOOD_PRACTICE, True)]
    result = assess(answers, threshold=75)
    assert (result.agreed_met, result.agreed_total, result.unanswered) == (1, 2, 1)
    assert result.flagged


def test_an_out_of_date_indicator_is_left_out_of_the_score():
    # The missed agreed indicator is flagged as out of date: not scored, so not flagged.
    answers = [Answer(AGREED, True), Answer(AGREED, False, scored=False),
               Answer(GOOD_PRACTICE, True), Answer(GOOD_PRACTICE, False, scored=False)]
    result = assess(answers, threshold=75)
    assert (result.agreed_met, result.agreed_total) == (1, 1)
    assert (result.good_practice_met, result.good_practice_total) == (1, 1)
    assert result.not_scored == 2 and not result.flagged


def test_no_good_practice_indicators_never_fails_the_threshold():
    result = assess(_answers(3, 3, 0, 0), threshold=75)
    assert result.good_practice_percent is None and not result.flagged


def test_no_indicators_at_all_is_not_flagged():
    result = assess([], threshold=75)
    assert result.agreed_percent is None and not result.flagged
