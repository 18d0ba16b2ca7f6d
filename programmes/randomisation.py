"""Allocating eligible sites to the intervention and control arms.

Pure Python. ILCOP randomised 30 of 80 eligible trusts to the intervention arm and 50 to
control for a controlled before-and-after evaluation (Aveling et al. 2012). Allocation here is
stratified (optionally by region and by size band) with the intervention places shared out
between strata in proportion to their size, by the largest remainder method, so that each
stratum's share is within one of exact proportionality. Everything is drawn from one
random.Random(seed) over sites sorted by id, so a recorded seed reproduces the allocation.
"""

import random
from collections import defaultdict
from collections.abc import Hashable, Sequence

INTERVENTION = "intervention"
CONTROL = "control"


def size_band(annual_new_patients: int | None, edges: Sequence[int]) -> str:
    """The band a site's size falls in, e.g. edges (200, 400) give "<200", "200–399", "400+".

    Sites of unknown size form their own band."""
    if annual_new_patients is None:
        return "unknown size"
    lower = 0
    for edge in sorted(edges):
        if annual_new_patients < edge:
            return f"<{edge}" if lower == 0 else f"{lower}–{edge - 1}"
        lower = edge
    return f"{lower}+"


def allocate(
    strata: dict[Hashable, Hashable], intervention_count: int, seed: int
) -> dict[Hashable, str]:
    """Allocate ``intervention_count`` of the sites to intervention, the rest to control.

    ``strata`` maps each site id to its stratum (use one stratum for simple randomisation).
    """
    total = len(strata)
    if not 0 <= intervention_count <= total:
        raise ValueError(f"cannot put {intervention_count} of {total} sites in intervention")
    rng = random.Random(seed)
    groups: dict[Hashable, list] = defaultdict(list)
    for site in sorted(strata, key=repr):
        groups[strata[site]].append(site)
    keys = sorted(groups, key=repr)

    # Largest remainder: floor of each exact share, then one more place to the strata with
    # the largest fractional remainders; ties broken at random.
    exact = {k: intervention_count * len(groups[k]) / total if total else 0 for k in keys}
    quota = {k: int(exact[k]) for k in keys}
    spare = intervention_count - sum(quota.values())
    tie_break = {k: rng.random() for k in keys}
    for k in sorted(keys, key=lambda k: (-(exact[k] - quota[k]), tie_break[k]))[:spare]:
        quota[k] += 1

    allocation = {}
    for k in keys:
        members = list(groups[k])
        rng.shuffle(members)
        for position, site in enumerate(members):
            allocation[site] = INTERVENTION if position < quota[k] else CONTROL
    return allocation
