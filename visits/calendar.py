"""Choosing a visit date: which days are possible, and who must be there for a visit to go ahead.

Pure calculation: no Django, no ORM. The caller passes dates and (team, role[, answer]) tuples
and gets plain values back, so the rules are tested directly (tests/test_visit_calendar.py).

Why the host's weekday. The visitors come to observe the host team's weekly MDT meeting, so a
visit can only be held on the day that meeting happens: candidates are that weekday, every week,
between two dates, less bank holidays (no MDT meets) and less days the host has ruled out.

Why a minimum attendance. A visit is a conversation between opposite numbers, so each team
needs the people who run its MDT: by default (ILCOP's minimum, as set for this product) the
clinical lead, the clinical nurse specialist and the MDT coordinator from *both* teams, plus a
facilitator from the core team. Reciprocity, each team learning from its peers, was the point
of ILCOP's visits (Aveling et al. 2012, "Reciprocal peer review for
quality improvement: an ethnographic case study of the Improving Lung Cancer Outcomes Project",
BMJ Qual Saf 21:1034-41). A programme may require other roles, so `required` is a parameter.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import holidays

# Site-team roles; the keys match programmes.models.SiteMembership.Role (kept as plain strings
# here so this module needs no Django).
SITE_ROLES = (
    "clinical_lead",
    "cns",
    "mdt_coordinator",
    "other_clinician",
    "manager",
    "executive_sponsor",
)
FACILITATOR_ROLE = "facilitator"
ROLE_LABELS = {
    "clinical_lead": "clinical lead",
    "cns": "clinical nurse specialist",
    "mdt_coordinator": "MDT coordinator",
    "other_clinician": "other clinician",
    "manager": "manager",
    "executive_sponsor": "executive sponsor",
    FACILITATOR_ROLE: "facilitator",
    # A one-way review's team (visits.models.review), attending as the visiting team.
    "lead_reviewer": "lead reviewer",
    "clinical_peer": "clinical peer reviewer",
    "patient_reviewer": "patient reviewer",
}
DEFAULT_MINIMUM_ROLES = ("clinical_lead", "cns", "mdt_coordinator")
# A review's visit needs its lead reviewer, whatever the programme asks of a host team; the
# rest of the review team's mix is checked when the team is chosen (programmes.review_team).
REVIEW_VISITING_ROLES = ("lead_reviewer",)

HOST, VISITING, FACILITATOR = "host", "visiting", "facilitator"
TEAMS = (HOST, VISITING, FACILITATOR)  # also the order in which gaps are reported
SITE_TEAMS = (HOST, VISITING)
TEAM_LABELS = {HOST: "host team", VISITING: "visiting team", FACILITATOR: "facilitator"}

YES, IF_NEED_BE, NO = "yes", "if_need_be", "no"
ANSWERS = (YES, IF_NEED_BE, NO)


# --- dates -----------------------------------------------------------------------------------


def bank_holidays(start: date, end: date) -> set[date]:
    """Bank holidays in England and Wales from start to end inclusive, substitute days included.

    England and Wales share one list of bank holidays: GOV.UK "UK bank holidays"
    (https://www.gov.uk/bank-holidays) publishes "England and Wales" as a single list, separate
    from Scotland and Northern Ireland, as does the Banking and Financial Dealings Act 1971,
    Schedule 1. The `holidays` package agrees: its "ENG" and "WLS" subdivisions give the same
    dates and names for every year 1950-2099 (checked with holidays 0.109), so "ENG" stands
    for both.

    observed=True (the package default, stated here because it matters) adds the substitute
    weekday when a holiday falls at a weekend, e.g. Monday 28 December 2026 for Boxing Day on
    Saturday 26 December. The package also keeps the weekend date itself (Saturday 26 December
    2026), which GOV.UK does not list; harmless here, as no MDT meets on it. One-off holidays
    (a coronation, a state funeral) are only known once a release of the package includes them.
    """
    if start > end:
        return set()
    calendar = holidays.country_holidays(
        "GB", subdiv="ENG", years=range(start.year, end.year + 1), observed=True
    )
    return {day for day in calendar if start <= day <= end}


def candidate_dates(
    weekday: int, start: date, end: date, *, exclude: Iterable[date] = ()
) -> list[date]:
    """Every date from start to end inclusive that falls on weekday (0 = Monday, as
    date.weekday()), less bank holidays in England and Wales and less the dates in exclude.
    Sorted, earliest first; empty if start is after end."""
    if not 0 <= weekday <= 6:
        raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {weekday!r}")
    if start > end:
        return []
    ruled_out = bank_holidays(start, end) | set(exclude)
    first = start + timedelta(days=(weekday - start.weekday()) % 7)
    weeks = (end - first).days // 7 + 1 if first <= end else 0
    days = (first + timedelta(weeks=n) for n in range(weeks))
    return [day for day in days if day not in ruled_out]


# --- who must be there -----------------------------------------------------------------------


def _check_required(required: Sequence[str]) -> list[str]:
    """required without repeats, in its own order; a typo must fail loudly, not pass a quorum."""
    unknown = [role for role in required if role not in SITE_ROLES]
    if unknown:
        raise ValueError(f"unknown site role(s) in required: {unknown}")
    return list(dict.fromkeys(required))


def _check_visiting(visiting: Sequence[str]) -> list[str]:
    unknown = [role for role in visiting if role not in ROLE_LABELS]
    if unknown:
        raise ValueError(f"unknown role(s) in visiting: {unknown}")
    return list(dict.fromkeys(visiting))


def missing_roles(attendees: Iterable[tuple[str, str]], required: Sequence[str], *,
                  visiting: Sequence[str] | None = None) -> list[str]:
    """What the minimum attendance lacks, in plain English; empty when the minimum is met.

    visiting, when given, is what the visiting team needs instead of required: a one-way
    review's visiting team is its reviewers (REVIEW_VISITING_ROLES), not a site's MDT.

    attendees are (team, role) for each person attending: team is "host", "visiting" or
    "facilitator"; a facilitator counts whatever their role (usually "facilitator"). Each site
    team needs one person in every role in required, and one facilitator is needed overall.
    A role is filled by a person of that role in that team only: two host CNSs do not stand in
    for the visiting CNS, nor a manager for an MDT coordinator.

    Order is stable so a message reads the same every time: host, visiting, facilitator; roles
    in required order. E.g. ["host team: MDT coordinator", "a facilitator"].
    """
    roles = _check_required(required)
    needed = {HOST: roles, VISITING: roles if visiting is None else _check_visiting(visiting)}
    present: set[tuple[str, str]] = set()
    facilitator = False
    for team, role in attendees:
        if team == FACILITATOR:
            facilitator = True
        elif team in SITE_TEAMS:
            # Any role is accepted (the models keep role as free text); one that is not in
            # required simply fills nothing.
            present.add((team, role))
        else:
            raise ValueError(f"unknown team {team!r}; expected one of {TEAMS}")
    missing = [
        f"{TEAM_LABELS[team]}: {ROLE_LABELS[role]}"
        for team in SITE_TEAMS
        for role in needed[team]
        if (team, role) not in present
    ]
    if not facilitator:
        missing.append("a facilitator")
    return missing


@dataclass(frozen=True)
class Quorum:
    """Whether one candidate date can go ahead.

    met: the minimum is met counting "yes" and "if need be" answers.
    with_yes_only: the minimum is met by "yes" answers alone (a date nobody has to stretch for).
    missing: missing_roles over the "yes" and "if need be" people; empty when met.
    yes, if_need_be: how many people gave each answer (everyone, not only the required roles).
    """

    met: bool
    with_yes_only: bool
    missing: list[str]
    yes: int
    if_need_be: int


def date_quorum(answers: Iterable[tuple[str, str, str | None]], required: Sequence[str], *,
                visiting: Sequence[str] | None = None) -> Quorum:
    """The quorum for ONE date from each person's (team, role, answer).

    answer is "yes", "if_need_be" or "no"; None or "" (not answered) counts as "no", since a
    visit cannot rest on someone who has not replied.
    """
    can_come: list[tuple[str, str]] = []
    yes_only: list[tuple[str, str]] = []
    for team, role, answer in answers:
        if answer in (None, "", NO):
            continue
        if answer not in ANSWERS:
            raise ValueError(f"unknown answer {answer!r}; expected one of {ANSWERS}")
        can_come.append((team, role))
        if answer == YES:
            yes_only.append((team, role))
    missing = missing_roles(can_come, required, visiting=visiting)
    return Quorum(
        met=not missing,
        with_yes_only=not missing_roles(yes_only, required, visiting=visiting),
        missing=missing,
        yes=len(yes_only),
        if_need_be=len(can_come) - len(yes_only),
    )
