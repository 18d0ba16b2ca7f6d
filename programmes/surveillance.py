"""The surveillance rules of a one-way review programme: which services a self-report flags.

Pure: no ORM. The rule is NHS England's Quality & Nursing Team framework as the evaluation
describes it (seed 003, section 1.1.1): "Additional surveillance actions are expected where
services score less than 100 per cent of their service's previously agreed quality indicators
or fail their good practice compliance threshold." So the two kinds of indicator are scored
apart:

- agreed quality indicators: every one must be met;
- good practice indicators: the share met must reach the programme's compliance threshold.

An unanswered indicator counts as not met: the service has not shown that it meets it. An
indicator the core team has flagged as out of date is not scored at all, because the
evaluation heard that services were judged against criteria "some of which may or may not be
entirely up to date and relevant", with no way for the system to cope with that.
"""

from collections.abc import Iterable
from dataclasses import dataclass

AGREED = "agreed"
GOOD_PRACTICE = "good_practice"


@dataclass(frozen=True)
class Answer:
    kind: str  # AGREED or GOOD_PRACTICE
    met: bool | None  # None: not answered
    scored: bool = True  # False for an indicator flagged as out of date


@dataclass(frozen=True)
class Assessment:
    agreed_met: int
    agreed_total: int
    good_practice_met: int
    good_practice_total: int
    unanswered: int
    not_scored: int
    threshold: int  # per cent

    @property
    def agreed_percent(self) -> float | None:
        return 100 * self.agreed_met / self.agreed_total if self.agreed_total else None

    @property
    def good_practice_percent(self) -> float | None:
        if not self.good_practice_total:
            return None
        return 100 * self.good_practice_met / self.good_practice_total

    @property
    def below_agreed(self) -> bool:
        return self.agreed_met < self.agreed_total

    @property
    def below_threshold(self) -> bool:
        # Integer arithmetic, so 3 of 4 against 75% is exactly at the threshold, not below.
        return (self.good_practice_total > 0
                and 100 * self.good_practice_met < self.threshold * self.good_practice_total)

    @property
    def flagged(self) -> bool:
        return self.below_agreed or self.below_threshold

    @property
    def reasons(self) -> list[str]:
        reasons = []
        if self.below_agreed:
            reasons.append(f"Meets {self.agreed_met} of {self.agreed_total} agreed quality "
                           "indicators (all must be met)")
        if self.below_threshold:
            reasons.append(f"Meets {self.good_practice_met} of {self.good_practice_total} good "
                           f"practice indicators ({self.good_practice_percent:.0f}%), below the "
                           f"{self.threshold}% threshold")
        return reasons


def assess(answers: Iterable[Answer], *, threshold: int) -> Assessment:
    """Score one service's self-report against the programme's ``threshold`` (per cent)."""
    counts = {AGREED: [0, 0], GOOD_PRACTICE: [0, 0]}
    unanswered = not_scored = 0
    for answer in answers:
        if not answer.scored:
            not_scored += 1
            continue
        met_total = counts[answer.kind]
        met_total[1] += 1
        if answer.met:
            met_total[0] += 1
        elif answer.met is None:
            unanswered += 1
    return Assessment(
        agreed_met=counts[AGREED][0], agreed_total=counts[AGREED][1],
        good_practice_met=counts[GOOD_PRACTICE][0],
        good_practice_total=counts[GOOD_PRACTICE][1],
        unanswered=unanswered, not_scored=not_scored, threshold=threshold,
    )
