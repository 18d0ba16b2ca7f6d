"""Visit dates and minimum attendance (visits.calendar), tested directly.

Bank holidays are checked against GOV.UK "UK bank holidays" (https://www.gov.uk/bank-holidays,
England and Wales) for 2026: New Year's Day Thu 1 Jan, Good Friday 3 Apr, Easter Monday 6 Apr,
early May 4 May, spring 25 May, summer 31 Aug, Christmas Day Fri 25 Dec, Boxing Day substitute
Mon 28 Dec.
"""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visits import calendar as c

MON, TUE, FRI = 0, 1, 4
MIN = c.DEFAULT_MINIMUM_ROLES
FULL = [(team, role) for team in ("host", "visiting") for role in MIN] + [
    ("facilitator", "facilitator")
]


# --- bank holidays and candidate dates --------------------------------------------------------


def test_bank_holidays_2026_match_gov_uk():
    assert c.bank_holidays(date(2026, 1, 1), date(2026, 12, 31)) >= {
        date(2026, 1, 1),
        date(2026, 4, 3),
        date(2026, 4, 6),
        date(2026, 5, 4),
        date(2026, 5, 25),
        date(2026, 8, 31),
        date(2026, 12, 25),
        date(2026, 12, 28),  # substitute for Boxing Day, Saturday 26 December
    }
    weekdays = {d for d in c.bank_holidays(date(2026, 1, 1), date(2026, 12, 31)) if d.weekday() < 5}
    assert len(weekdays) == 8  # GOV.UK lists 8 for England and Wales in 2026


def test_bank_holidays_are_inclusive_at_both_ends():
    assert c.bank_holidays(date(2026, 4, 3), date(2026, 4, 6)) == {
        date(2026, 4, 3),
        date(2026, 4, 6),
    }
    assert c.bank_holidays(date(2026, 4, 4), date(2026, 4, 5)) == set()
    assert c.bank_holidays(date(2026, 4, 6), date(2026, 4, 3)) == set()


def test_bank_holidays_span_a_new_year():
    # 2027: Christmas Day Saturday and Boxing Day Sunday, so Mon 27 and Tue 28 Dec are substitutes.
    days = c.bank_holidays(date(2027, 12, 20), date(2028, 1, 7))
    assert {date(2027, 12, 27), date(2027, 12, 28), date(2028, 1, 3)} <= days


def test_wales_has_englands_bank_holidays():
    # Not Scotland's: 2 January and St Andrew's Day are Scottish only.
    days = c.bank_holidays(date(2026, 1, 1), date(2026, 12, 31))
    assert date(2026, 1, 2) not in days
    assert date(2026, 11, 30) not in days


def test_tuesdays_in_april_2026_unaffected_by_easter():
    # Good Friday 3 April and Easter Monday 6 April miss every Tuesday.
    assert c.candidate_dates(TUE, date(2026, 4, 1), date(2026, 4, 30)) == [
        date(2026, 4, 7),
        date(2026, 4, 14),
        date(2026, 4, 21),
        date(2026, 4, 28),
    ]


def test_mondays_in_april_2026_skip_easter_monday():
    assert c.candidate_dates(MON, date(2026, 4, 1), date(2026, 4, 30)) == [
        date(2026, 4, 13),
        date(2026, 4, 20),
        date(2026, 4, 27),
    ]


def test_fridays_in_april_2026_skip_good_friday():
    assert c.candidate_dates(FRI, date(2026, 4, 1), date(2026, 4, 30)) == [
        date(2026, 4, 10),
        date(2026, 4, 17),
        date(2026, 4, 24),
    ]


def test_christmas_2026_substitute_monday():
    assert c.candidate_dates(MON, date(2026, 12, 1), date(2026, 12, 31)) == [
        date(2026, 12, 7),
        date(2026, 12, 14),
        date(2026, 12, 21),
    ]  # Monday 28 December is the substitute for Boxing Day


def test_candidate_dates_respect_exclude_and_inclusive_ends():
    got = c.candidate_dates(
        TUE, date(2026, 4, 7), date(2026, 4, 28), exclude=[date(2026, 4, 14), date(2026, 4, 15)]
    )
    assert got == [date(2026, 4, 7), date(2026, 4, 21), date(2026, 4, 28)]


def test_candidate_dates_exclude_can_be_a_generator():
    got = c.candidate_dates(
        TUE, date(2026, 4, 1), date(2026, 4, 30), exclude=iter([date(2026, 4, 7)])
    )
    assert got[0] == date(2026, 4, 14)


def test_candidate_dates_empty_and_bad_weekday():
    assert c.candidate_dates(TUE, date(2026, 4, 30), date(2026, 4, 1)) == []
    assert c.candidate_dates(TUE, date(2026, 4, 8), date(2026, 4, 13)) == []  # no Tuesday
    with pytest.raises(ValueError, match="weekday"):
        c.candidate_dates(7, date(2026, 4, 1), date(2026, 4, 30))
    with pytest.raises(ValueError, match="weekday"):
        c.candidate_dates(-1, date(2026, 4, 1), date(2026, 4, 30))


@settings(deadline=None, max_examples=200)
@given(
    weekday=st.integers(0, 6),
    start=st.dates(date(2020, 1, 1), date(2035, 12, 31)),
    length=st.integers(0, 800),
    exclude=st.sets(st.dates(date(2020, 1, 1), date(2038, 12, 31)), max_size=10),
)
def test_candidate_dates_property(weekday, start, length, exclude):
    end = start + timedelta(days=length)
    got = c.candidate_dates(weekday, start, end, exclude=exclude)
    holidays = c.bank_holidays(start, end)
    assert got == sorted(set(got))
    for day in got:
        assert day.weekday() == weekday
        assert start <= day <= end
        assert day not in holidays
        assert day not in exclude
    # ...and nothing was dropped that should have stayed.
    every = [start + timedelta(days=n) for n in range(length + 1)]
    assert got == [
        d for d in every if d.weekday() == weekday and d not in holidays and d not in exclude
    ]


# --- missing roles --------------------------------------------------------------------------


def test_full_minimum_is_met():
    assert c.missing_roles(FULL, MIN) == []


def test_nobody_at_all_lists_everything_in_order():
    assert c.missing_roles([], MIN) == [
        "host team: clinical lead",
        "host team: clinical nurse specialist",
        "host team: MDT coordinator",
        "visiting team: clinical lead",
        "visiting team: clinical nurse specialist",
        "visiting team: MDT coordinator",
        "a facilitator",
    ]


def test_one_team_missing_a_cns():
    attendees = [a for a in FULL if a != ("visiting", "cns")]
    assert c.missing_roles(attendees, MIN) == ["visiting team: clinical nurse specialist"]


def test_order_follows_required_not_attendees():
    attendees = [("host", "clinical_lead"), ("facilitator", "facilitator")]
    assert c.missing_roles(attendees, ("mdt_coordinator", "cns")) == [
        "host team: MDT coordinator",
        "host team: clinical nurse specialist",
        "visiting team: MDT coordinator",
        "visiting team: clinical nurse specialist",
    ]


def test_two_of_the_same_role_do_not_double_count():
    attendees = [a for a in FULL if a != ("visiting", "cns")] + [("host", "cns"), ("host", "cns")]
    assert c.missing_roles(attendees, MIN) == ["visiting team: clinical nurse specialist"]


def test_other_roles_do_not_stand_in():
    attendees = [a for a in FULL if a != ("host", "mdt_coordinator")] + [
        ("host", "manager"),
        ("host", "other_clinician"),
        ("visiting", "mdt_coordinator"),
    ]
    assert c.missing_roles(attendees, MIN) == ["host team: MDT coordinator"]


def test_facilitator_counts_whatever_their_role_and_is_needed():
    without = [a for a in FULL if a[0] != "facilitator"]
    assert c.missing_roles(without, MIN) == ["a facilitator"]
    assert c.missing_roles([*without, ("facilitator", "qi_facilitator")], MIN) == []
    assert c.missing_roles([*without, *[("facilitator", "facilitator")] * 2], MIN) == []


def test_empty_required_needs_only_a_facilitator():
    assert c.missing_roles([], ()) == ["a facilitator"]
    assert c.missing_roles([("facilitator", "facilitator")], ()) == []


def test_repeated_required_role_reported_once():
    assert c.missing_roles([("facilitator", "facilitator")], ("cns", "cns")) == [
        "host team: clinical nurse specialist",
        "visiting team: clinical nurse specialist",
    ]


def test_unrecognised_attendee_role_fills_nothing():
    attendees = [a for a in FULL if a != ("host", "cns")] + [("host", "nurse")]
    assert c.missing_roles(attendees, MIN) == ["host team: clinical nurse specialist"]


def test_typos_in_team_or_required_fail_loudly():
    with pytest.raises(ValueError, match="team"):
        c.missing_roles([("hosts", "cns")], MIN)
    with pytest.raises(ValueError, match="required"):
        c.missing_roles(FULL, ("cns", "mdt_coord"))


def test_every_role_has_a_label():
    # A one-way review's team attends as the visiting team (visits.models.review).
    review_team = {"lead_reviewer", "clinical_peer", "patient_reviewer"}
    assert set(c.SITE_ROLES) | {"facilitator"} | review_team == set(c.ROLE_LABELS)
    assert c.ROLE_LABELS["cns"] == "clinical nurse specialist"
    assert c.ROLE_LABELS["mdt_coordinator"] == "MDT coordinator"


# --- quorum for one date ---------------------------------------------------------------------


def answers(answer, people=FULL):
    return [(team, role, answer) for team, role in people]


def test_everyone_yes():
    q = c.date_quorum(answers("yes"), MIN)
    assert q == c.Quorum(met=True, with_yes_only=True, missing=[], yes=7, if_need_be=0)


def test_if_need_be_only_meets_but_not_with_yes_only():
    q = c.date_quorum(answers("if_need_be"), MIN)
    assert q == c.Quorum(met=True, with_yes_only=False, missing=[], yes=0, if_need_be=7)


def test_one_if_need_be_spoils_yes_only():
    rows = [(t, r, "if_need_be" if (t, r) == ("host", "cns") else "yes") for t, r in FULL]
    q = c.date_quorum(rows, MIN)
    assert (q.met, q.with_yes_only, q.yes, q.if_need_be) == (True, False, 6, 1)


def test_one_team_missing_a_cns_by_no_or_silence():
    for refusal in ("no", None, ""):
        rows = [(t, r, refusal if (t, r) == ("visiting", "cns") else "yes") for t, r in FULL]
        q = c.date_quorum(rows, MIN)
        assert q == c.Quorum(
            met=False,
            with_yes_only=False,
            missing=["visiting team: clinical nurse specialist"],
            yes=6,
            if_need_be=0,
        )


def test_person_who_never_answered_is_simply_absent():
    rows = answers("yes", [a for a in FULL if a != ("host", "clinical_lead")])
    q = c.date_quorum(rows, MIN)
    assert q.missing == ["host team: clinical lead"]
    assert not q.met


def test_facilitator_missing():
    rows = answers("yes", [a for a in FULL if a[0] != "facilitator"])
    rows.append(("facilitator", "facilitator", "no"))
    q = c.date_quorum(rows, MIN)
    assert q == c.Quorum(
        met=False, with_yes_only=False, missing=["a facilitator"], yes=6, if_need_be=0
    )


def test_facilitator_if_need_be_only():
    rows = [(t, r, "if_need_be" if t == "facilitator" else "yes") for t, r in FULL]
    q = c.date_quorum(rows, MIN)
    assert (q.met, q.with_yes_only, q.missing) == (True, False, [])


def test_two_yes_of_same_role_do_not_double_count_in_quorum():
    rows = answers("yes", [a for a in FULL if a != ("host", "mdt_coordinator")])
    rows += [("visiting", "mdt_coordinator", "yes"), ("host", "manager", "yes")]
    q = c.date_quorum(rows, MIN)
    assert q.missing == ["host team: MDT coordinator"]
    assert (q.met, q.yes) == (False, 8)  # everyone who said yes is counted, even extras


def test_counts_include_people_beyond_the_minimum():
    rows = answers("yes") + [
        ("host", "executive_sponsor", "if_need_be"),
        ("visiting", "manager", "no"),
    ]
    q = c.date_quorum(rows, MIN)
    assert (q.met, q.with_yes_only, q.yes, q.if_need_be) == (True, True, 7, 1)


def test_unknown_answer_refused():
    with pytest.raises(ValueError, match="answer"):
        c.date_quorum([("host", "cns", "maybe")], MIN)


def test_quorum_is_frozen():
    q = c.date_quorum([], MIN)
    with pytest.raises(AttributeError):
        q.met = True  # type: ignore[misc]
