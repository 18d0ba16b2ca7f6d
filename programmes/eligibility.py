"""Whether a site has enough baseline audit data to take part.

Pure Python. ILCOP's eligibility check was "sufficient baseline national audit data" (80 of
the interested trusts were eligible; PRODUCT.md, Recruit). Here that means: every headline
indicator is present for the baseline period, with a denominator at or above the programme's
minimum.
"""

from collections.abc import Mapping


def assess(
    denominators: Mapping[str, int], headline: Mapping[str, str], *, period: str,
    min_denominator: int,
) -> list[str]:
    """The reasons a site is ineligible; an empty list means it is eligible.

    ``denominators`` maps indicator code to the site's baseline denominator; ``headline``
    maps each headline indicator's code to its name.
    """
    reasons = []
    for code, name in headline.items():
        if code not in denominators:
            reasons.append(f"No {period} data for {name}")
        elif denominators[code] < min_denominator:
            reasons.append(
                f"{name}: {denominators[code]} patients in {period}, fewer than the "
                f"minimum of {min_denominator}"
            )
    return reasons
