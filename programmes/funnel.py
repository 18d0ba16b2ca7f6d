"""The recruitment funnel: which moves an enrolment may make, and the counts at each stage.

Pure Python, no ORM, so the rules are tested directly. The stages follow the ILCOP recruitment
(Aveling et al. 2012; PRODUCT.md "Recruit"): sites are invited, express interest, get their
chief executive's approval, are checked for eligibility on baseline audit data, and eligible
sites are allocated to the intervention or control arm.
"""

from collections.abc import Iterable
from dataclasses import dataclass

INVITED = "invited"
INTERESTED = "interested"
APPROVED = "approved"
ELIGIBLE = "eligible"
INELIGIBLE = "ineligible"
INTERVENTION = "intervention"
CONTROL = "control"
WITHDRAWN = "withdrawn"

ACTIVE_STATUSES = (INVITED, INTERESTED, APPROVED, ELIGIBLE, INELIGIBLE, INTERVENTION, CONTROL)

# Forward moves, plus ineligible ↔ eligible so a site can be re-assessed when its data arrives.
# Withdrawal is possible from every active status and is final. Nobody moves a site into an
# arm by hand: only a confirmed randomisation does (ALLOCATION_MOVES), or the evaluation's
# comparison of the arms would mean nothing.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    INVITED: (INTERESTED, WITHDRAWN),
    INTERESTED: (APPROVED, WITHDRAWN),
    APPROVED: (ELIGIBLE, INELIGIBLE, WITHDRAWN),
    ELIGIBLE: (INELIGIBLE, WITHDRAWN),
    INELIGIBLE: (ELIGIBLE, WITHDRAWN),
    INTERVENTION: (WITHDRAWN,),
    CONTROL: (WITHDRAWN,),
    WITHDRAWN: (),
}

# What a confirmed randomisation may do: allocate eligible sites, and (on an override that
# re-randomises) move allocated sites between the arms.
ALLOCATION_MOVES: dict[str, tuple[str, ...]] = {
    ELIGIBLE: (INTERVENTION, CONTROL),
    INTERVENTION: (INTERVENTION, CONTROL),
    CONTROL: (INTERVENTION, CONTROL),
}

# The cumulative funnel: a site counts at a stage if it ever got that far.
FUNNEL_STAGES = (INVITED, INTERESTED, APPROVED, ELIGIBLE, INTERVENTION, CONTROL)

_REACHED: dict[str, frozenset[str]] = {
    INVITED: frozenset({INVITED}),
    INTERESTED: frozenset({INVITED, INTERESTED}),
    APPROVED: frozenset({INVITED, INTERESTED, APPROVED}),
    INELIGIBLE: frozenset({INVITED, INTERESTED, APPROVED}),
    ELIGIBLE: frozenset({INVITED, INTERESTED, APPROVED, ELIGIBLE}),
    INTERVENTION: frozenset({INVITED, INTERESTED, APPROVED, ELIGIBLE, INTERVENTION}),
    CONTROL: frozenset({INVITED, INTERESTED, APPROVED, ELIGIBLE, CONTROL}),
}


class TransitionNotAllowed(ValueError):
    pass


def allowed_moves(status: str, *, by_randomisation: bool = False) -> tuple[str, ...]:
    if by_randomisation:
        return ALLOCATION_MOVES.get(status, ())
    return TRANSITIONS[status]


def check_move(current: str, target: str) -> None:
    if target not in TRANSITIONS[current]:
        raise TransitionNotAllowed(f"cannot move from {current} to {target}")


def stages_reached(status: str, withdrawn_from: str = "") -> frozenset[str]:
    """The funnel stages an enrolment has reached; a withdrawn one keeps what it reached."""
    if status == WITHDRAWN:
        return _REACHED.get(withdrawn_from, frozenset({INVITED}))
    return _REACHED[status]


def statuses_reaching(stage: str) -> frozenset[str]:
    """The statuses whose enrolments have reached ``stage`` (for filtering a list)."""
    return frozenset(status for status, reached in _REACHED.items() if stage in reached)


@dataclass(frozen=True)
class FunnelCounts:
    reached: dict[str, int]
    current: dict[str, int]
    total: int


def count_funnel(rows: Iterable[tuple[str, str, int]]) -> FunnelCounts:
    """Counts from (status, withdrawn_from, number of enrolments) rows."""
    reached = dict.fromkeys(FUNNEL_STAGES, 0)
    current = dict.fromkeys((*ACTIVE_STATUSES, WITHDRAWN), 0)
    total = 0
    for status, withdrawn_from, n in rows:
        total += n
        current[status] += n
        for stage in stages_reached(status, withdrawn_from):
            reached[stage] += n
    return FunnelCounts(reached=reached, current=current, total=total)


# What a site team is told about where they are and what happens next, on their home page.
# A one-way review programme (issue 12) has no eligibility check, arms or pairs.
NEXT_STEP_ONE_WAY = (
    "Each year your service self-reports against the programme's quality indicators, with "
    "evidence. The programme team agrees with you and your commissioner what follows: "
    "routine or enhanced surveillance, or a peer review visit."
)

NEXT_STEPS: dict[str, str] = {
    INVITED: (
        "The programme team has invited your MDT to take part. Let them know whether your team "
        "is interested."
    ),
    INTERESTED: (
        "Thank you for your interest. Next, your chief executive (or their delegate) needs to "
        "approve your MDT taking part. Send their approval to the programme team."
    ),
    APPROVED: (
        "Your executive approval is recorded. The programme team is checking that there is "
        "enough baseline national audit data for your MDT to take part."
    ),
    ELIGIBLE: (
        "Your MDT is eligible. The programme team will allocate each eligible MDT to the "
        "intervention group or the comparison group, and will tell you which."
    ),
    INELIGIBLE: (
        "Your MDT cannot take part this time. Contact the programme team if your audit data "
        "has changed."
    ),
    INTERVENTION: (
        "Your MDT is in the intervention group. Next, the programme team pairs you with a "
        "partner MDT whose strengths complement yours, and arranges a visit to each other's "
        "MDT meetings."
    ),
    CONTROL: (
        "Your MDT is in the comparison group. There is nothing you need to do: your national "
        "audit results are compared with those of the intervention group at the end of the "
        "programme."
    ),
    WITHDRAWN: "Your MDT has withdrawn from this programme.",
}

NEXT_STEP_PAIRED = (
    "Your MDT has been paired. Next, the programme team arranges a visit to each other's MDT "
    "meetings: first one team hosts, then the other."
)
