"""The recruitment funnel rules (programmes.funnel), tested directly."""

import pytest

from programmes import funnel as f


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (f.INVITED, f.INTERESTED, True),
        (f.INVITED, f.APPROVED, False),  # approval comes after interest
        (f.INTERESTED, f.APPROVED, True),
        (f.APPROVED, f.ELIGIBLE, True),
        (f.APPROVED, f.INELIGIBLE, True),
        (f.APPROVED, f.INTERVENTION, False),  # only eligible sites are allocated
        (f.INELIGIBLE, f.ELIGIBLE, True),  # re-assessed when data arrives
        (f.INELIGIBLE, f.CONTROL, False),
        (f.ELIGIBLE, f.INTERVENTION, False),  # only a confirmed randomisation allocates
        (f.ELIGIBLE, f.CONTROL, False),
        (f.INTERVENTION, f.CONTROL, False),  # allocation is not changed by hand
        (f.CONTROL, f.WITHDRAWN, True),
        (f.WITHDRAWN, f.INVITED, False),  # withdrawal is final
    ],
)
def test_moves(current, target, allowed):
    assert (target in f.allowed_moves(current)) is allowed
    if not allowed:
        with pytest.raises(f.TransitionNotAllowed):
            f.check_move(current, target)


def test_only_randomisation_moves_sites_into_the_arms():
    assert f.allowed_moves(f.ELIGIBLE, by_randomisation=True) == (f.INTERVENTION, f.CONTROL)
    assert f.allowed_moves(f.CONTROL, by_randomisation=True) == (f.INTERVENTION, f.CONTROL)
    assert f.allowed_moves(f.APPROVED, by_randomisation=True) == ()


def test_every_active_status_can_withdraw():
    for status in f.ACTIVE_STATUSES:
        assert f.WITHDRAWN in f.allowed_moves(status)


def test_a_withdrawn_site_keeps_the_stages_it_reached():
    assert f.stages_reached(f.WITHDRAWN, f.ELIGIBLE) == {
        f.INVITED, f.INTERESTED, f.APPROVED, f.ELIGIBLE
    }
    assert f.stages_reached(f.INELIGIBLE) == {f.INVITED, f.INTERESTED, f.APPROVED}


def test_statuses_reaching_eligible_excludes_ineligible():
    assert f.statuses_reaching(f.ELIGIBLE) == {f.ELIGIBLE, f.INTERVENTION, f.CONTROL}


def test_ilcop_recruitment_worked_example():
    """ILCOP (Aveling et al. 2012): 80 eligible trusts, 30 intervention and 50 control.

    Add 10 invited, 6 interested, 4 approved awaiting the check, 8 ineligible and 2 that
    withdrew after approval: 110 enrolments in all.
    """
    counts = f.count_funnel([
        (f.INVITED, "", 10),
        (f.INTERESTED, "", 6),
        (f.APPROVED, "", 4),
        (f.INELIGIBLE, "", 8),
        (f.INTERVENTION, "", 30),
        (f.CONTROL, "", 50),
        (f.WITHDRAWN, f.APPROVED, 2),
    ])
    assert counts.total == 110
    assert counts.reached == {
        f.INVITED: 110,
        f.INTERESTED: 100,
        f.APPROVED: 94,
        f.ELIGIBLE: 80,
        f.INTERVENTION: 30,
        f.CONTROL: 50,
    }
    assert counts.current[f.WITHDRAWN] == 2
    assert counts.current[f.ELIGIBLE] == 0


def test_every_status_has_a_next_step_for_the_site():
    assert set(f.NEXT_STEPS) == set(f.TRANSITIONS)
