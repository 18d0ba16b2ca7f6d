"""Warnings that help a team write a good plan. Pure: no ORM.

They warn; they do not block. ILCOP teams "were unsure what a good plan looked like", and
the BMJ QI series (PRODUCT.md, 004) sets out what good looks like: an aim with a number and
a date; a small family of measures with at least one outcome and one balancing measure.
"""

import re
from collections.abc import Iterable

# "A family of measures" is small: beyond about eight, teams stop looking at them.
MAX_MEASURES = 8
_NUMBER = re.compile(r"\d")


def aim_warnings(*, what: str, how_much: str, by_when, for_whom: str) -> list[str]:
    warnings = []
    if not what.strip():
        warnings.append("The aim does not say what will improve.")
    if not _NUMBER.search(f"{how_much} {what}"):
        warnings.append("The aim has no number. Say how much it will improve, such as "
                        "“from 60% to 80%”, so you will know whether you got there.")
    if by_when is None:
        warnings.append("The aim has no date. Say by when.")
    if not for_whom.strip():
        warnings.append("The aim does not say for whom, such as “patients with suspected "
                        "lung cancer referred on the two-week wait pathway”.")
    return warnings


def measure_warnings(kinds: Iterable[str]) -> list[str]:
    kinds = list(kinds)
    warnings = []
    if "outcome" not in kinds:
        warnings.append("There is no outcome measure: how will you know that patients are "
                        "better off?")
    if "balancing" not in kinds:
        warnings.append("There is no balancing measure: what could get worse elsewhere "
                        "because of this change?")
    if len(kinds) > MAX_MEASURES:
        warnings.append(f"There are {len(kinds)} measures. A small family (about "
                        f"{MAX_MEASURES} at most) is easier to keep collecting and to act on.")
    return warnings


def sustainability_warnings(*, plan_text: str, owners_permanent: list[bool]) -> list[str]:
    """A plan sustains its change only if someone who will still be there owns it (ILCOP
    evaluation: improvements faded when the people driving them moved on)."""
    warnings = []
    if not plan_text.strip():
        warnings.append("There is no sustainability plan yet. Write it from the start.")
    if not any(owners_permanent):
        warnings.append("No permanent member of staff owns sustaining the change. Name one "
                        "in the roles.")
    return warnings


def commitment(*, aim: dict, measures: list[dict]) -> dict:
    """The record frozen at approval: the aim and measures as agreed."""
    return {"aim": aim, "measures": measures}
