"""Who may sit on a one-way review's team: conflicts of interest and the team's mix.

Pure: no ORM. Peer review rests on reviewers with no stake in the service (seed 003 heard that
in small specialties "peer reviewers were often known to services", which "may create
intra-professional challenges"), so a reviewer is refused, with no override, when they:

- work for the organisation under review;
- work for an organisation in the same network (cancer alliance or clinical network), whose
  services refer to, compete with and are commissioned alongside each other;
- have declared a conflict of interest with the organisation;
- have not completed reviewer training, or have left the pool.

The team's mix (clinical peers and patient reviewers, seed 003) is the programme's setting,
at least one of each by default. A team short of the mix may still be saved when the core
team gives a reason (a patient reviewer fell ill the week before), which is kept.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Service:
    organisation_id: int
    organisation_name: str
    network: str  # blank when the organisation has none


@dataclass(frozen=True)
class Candidate:
    reviewer_id: int
    name: str
    is_patient_reviewer: bool
    organisation_id: int | None
    organisation_name: str = ""
    network: str = ""
    trained: bool = True
    active: bool = True
    # Organisation id -> what the reviewer declared.
    conflicts: dict[int, str] = field(default_factory=dict)


def _same_network(a: str, b: str) -> bool:
    return bool(a.strip()) and a.strip().casefold() == b.strip().casefold()


def conflicts(service: Service, candidate: Candidate) -> list[str]:
    """Why ``candidate`` may not review ``service``: messages a coordinator can act on, empty
    when they may."""
    name = candidate.name
    problems = []
    if candidate.organisation_id == service.organisation_id:
        problems.append(f"{name} works at {service.organisation_name}, the organisation under "
                        "review. Choose a reviewer from another organisation.")
    elif (candidate.organisation_id is not None
          and _same_network(candidate.network, service.network)):
        problems.append(f"{name} works at {candidate.organisation_name}, in the same network "
                        f"as the service ({service.network.strip()}). Choose a reviewer from "
                        "outside the network.")
    if service.organisation_id in candidate.conflicts:
        problems.append(f"{name} has declared a conflict of interest with "
                        f"{service.organisation_name}: "
                        f"{candidate.conflicts[service.organisation_id]}.")
    if not candidate.trained:
        problems.append(f"{name} has not completed reviewer training.")
    if not candidate.active:
        problems.append(f"{name} is no longer in the reviewer pool.")
    return problems


def mix_problems(team: Sequence[Candidate], *, min_clinical: int, min_patient: int) -> list[str]:
    """What the team lacks against the programme's mix."""
    clinical = sum(1 for c in team if not c.is_patient_reviewer)
    patient = len(team) - clinical
    problems = []
    for have, need, one, many in ((clinical, min_clinical, "clinical peer", "clinical peers"),
                                  (patient, min_patient, "patient reviewer",
                                   "patient reviewers")):
        if have < need:
            problems.append(f"The team needs at least {need} {one if need == 1 else many}; "
                            f"it has {have or 'none'}.")
    return problems


@dataclass(frozen=True)
class TeamCheck:
    refused: dict[int, list[str]]  # reviewer id -> why they may not review this service
    mix: list[str]

    @property
    def ok(self) -> bool:
        return not self.refused and not self.mix


def check_team(service: Service, team: Iterable[Candidate], *, min_clinical: int,
               min_patient: int) -> TeamCheck:
    team = list(team)
    refused = {c.reviewer_id: found for c in team if (found := conflicts(service, c))}
    return TeamCheck(refused=refused, mix=mix_problems(team, min_clinical=min_clinical,
                                                       min_patient=min_patient))
