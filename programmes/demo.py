"""Demonstration data: a lung cancer peer review programme modelled on ILCOP.

Run it with ``python manage.py seed_demo`` (``--reset`` to rebuild, ``--logins`` to print the
demo sign-ins). Every trust, alliance, team and person here is invented: trust names are built
from made-up place names, organisation codes start with "ZR" (real ODS trust codes never start
with Z) and every email address is under the reserved ``.example`` top-level domain.

The module has two halves:

* ``build_plan()`` is pure Python: from a fixed random seed it generates the same organisations,
  sites, people, enrolments and timeline every time. It imports nothing from Django, so the
  login constants and ``demo_logins()`` can be used without configuring Django, e.g.
  ``python -c "from programmes.demo import logins_table; print(logins_table())"``.
* ``seed()`` and ``delete_demo()`` write the plan to the database (or remove it) in one
  transaction. They import the models when called.

ILCOP (Aveling et al. 2012) invited 156 lung cancer MDTs in England and allocated the 80 found
eligible to an intervention group (30) and a comparison group (50); the demo mirrors that
shape on a smaller invited list.
"""

from __future__ import annotations

import datetime
import random
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

# --- Sign-in details, printed by the command, README and Makefile -----------------------------

DEMO_PASSWORD = "peer-review-demo"
# The core team must sign in in two steps (ilcop.mfa). Every demo core-team account shares this
# authenticator app secret: add it to an app (as a "setup key"), or, with DEBUG on, run
# `python manage.py totp_code <email>` for the current six-digit code. Published: demo only.
DEMO_TOTP_SECRET = "PEERREVIEWDEMOPEERREVIEWDEMOCODE"
DEMO_EMAIL_DOMAIN = "demo.example"

CORE_LEAD_EMAIL = f"lead@{DEMO_EMAIL_DOMAIN}"
CORE_PROJECT_MANAGER_EMAIL = f"pm@{DEMO_EMAIL_DOMAIN}"
CORE_ADMINISTRATOR_EMAIL = f"admin@{DEMO_EMAIL_DOMAIN}"
CORE_FACILITATOR_EMAIL = f"facilitator@{DEMO_EMAIL_DOMAIN}"
SITE_LEAD_EMAIL = f"site.lead@{DEMO_EMAIL_DOMAIN}"
SITE_CNS_EMAIL = f"site.cns@{DEMO_EMAIL_DOMAIN}"
SITE_MDT_COORDINATOR_EMAIL = f"site.mdtc@{DEMO_EMAIL_DOMAIN}"
# The one-way review programme (qips.demo_one_way).
SERVICE_LEAD_EMAIL = f"service.lead@{DEMO_EMAIL_DOMAIN}"
REVIEWER_EMAIL = f"reviewer@{DEMO_EMAIL_DOMAIN}"
HUB_EMAIL = f"hub@{DEMO_EMAIL_DOMAIN}"
ONE_WAY_PROGRAMME_NAME = "Thoracic Surgery Quality Surveillance"

DEMO_LOGINS: tuple[tuple[str, str], ...] = (
    ("Core team: clinical lead (respiratory physician)", CORE_LEAD_EMAIL),
    ("Core team: project manager", CORE_PROJECT_MANAGER_EMAIL),
    ("Core team: administrator", CORE_ADMINISTRATOR_EMAIL),
    ("Core team: quality improvement facilitator", CORE_FACILITATOR_EMAIL),
    ("Site: clinical lead", SITE_LEAD_EMAIL),
    ("Site: clinical nurse specialist", SITE_CNS_EMAIL),
    ("Site: MDT coordinator", SITE_MDT_COORDINATOR_EMAIL),
    ("One-way review: clinical lead of the reviewed service", SERVICE_LEAD_EMAIL),
    ("One-way review: lead reviewer", REVIEWER_EMAIL),
    ("One-way review: regional hub analyst", HUB_EMAIL),
)

# --- The shape of the programme -----------------------------------------------------------------

SEED = 2012  # the year ILCOP's results were published; any fixed number would do
TZ = ZoneInfo("Europe/London")

PROGRAMME_NAME = "Lung Cancer Peer Review 2026"
PROGRAMME = {
    "name": PROGRAMME_NAME,
    "specialty": "lung_cancer",
    "kind": "reciprocal",
    "status": "running",
    "start_date": datetime.date(2026, 1, 5),
    "end_date": datetime.date(2027, 12, 17),
    "description": (
        "Lung cancer multidisciplinary teams (MDTs) in England are paired with a partner MDT. "
        "Each pair visits the other's MDT meeting, shares what works, and agrees a quality "
        "improvement plan, with help from a quality improvement facilitator. Eligible MDTs "
        "are allocated to the intervention group, which takes part in the visits, or to a "
        "comparison group, whose national lung cancer audit results are compared at the end. "
        "Modelled on the Improving Lung Cancer Outcomes Project (ILCOP).\n\n"
        "This is demonstration data: every trust, team and person in it is made up."
    ),
}

# Final enrolment status → how many sites end there. 80 eligible: 30 intervention, 50 control.
ENROLMENT_COUNTS = {
    "intervention": 30,
    "control": 50,
    "invited": 12,
    "interested": 6,
    "approved": 4,
    "ineligible": 8,
    "withdrawn": 6,
}
# The stage each withdrawn site had reached (kept before eligibility, so "eligible" stays 80).
WITHDRAWN_FROM = ("invited", "invited", "interested", "interested", "approved", "approved")

ORG_CODE_PREFIX = "ZR"
ORG_CODE_PATTERN = r"^ZR[0-9]{3}$"  # what --reset deletes; nothing real looks like this
SITE_NAME = "Lung cancer MDT"


@dataclass(frozen=True)
class RegionPlan:
    region: str  # a programmes.models.Region value
    organisations: int
    network: str  # an invented cancer alliance
    # Approximate centres of large towns in the region; hospitals are scattered around them.
    anchors: tuple[tuple[float, float], ...]
    # Place-name endings with a regional flavour; a leading space makes a two-word name.
    endings: tuple[str, ...]
    jitter: float = 0.12


REGIONS: tuple[RegionPlan, ...] = (
    RegionPlan(
        "north_east_yorkshire", 18, "Wolds and Fells Cancer Alliance",
        ((54.97, -1.61), (54.57, -1.23), (54.78, -1.57), (53.80, -1.55), (53.38, -1.47),
         (53.74, -0.38), (53.96, -1.08), (53.65, -1.78), (53.52, -1.13), (54.23, -0.78)),
        ("by", "thorpe", "dale", "wick", "holme", " Moor"),
    ),
    RegionPlan(
        "north_west", 17, "Western Fells and Estuaries Cancer Alliance",
        ((53.48, -2.24), (53.41, -2.93), (53.76, -2.70), (54.05, -2.80), (54.89, -2.93),
         (53.75, -2.48), (53.19, -2.89), (53.58, -2.43), (53.39, -2.59), (53.60, -2.16)),
        ("by", "side", "ley", "wick", " Fell", " Moss"),
    ),
    RegionPlan(
        "midlands", 21, "Heartland Rivers Cancer Alliance",
        ((52.49, -1.89), (52.41, -1.51), (52.95, -1.15), (52.92, -1.48), (52.64, -1.13),
         (53.23, -0.54), (52.59, -2.13), (53.00, -2.18), (52.06, -2.72), (52.24, -0.90),
         (52.71, -2.75), (52.19, -2.22)),
        ("ley", "field", "bridge", "worth", "ham", " Heath"),
    ),
    RegionPlan(
        "east_of_england", 14, "Fens and Eastern Shores Cancer Alliance",
        ((52.20, 0.12), (52.63, 1.25), (52.06, 1.12), (51.74, 0.47), (52.57, -0.24),
         (51.88, -0.42), (51.76, -0.30), (52.14, -0.47), (51.57, 0.66), (52.75, 0.42),
         (51.89, 0.88)),
        ("ham", "stow", "mere", "field", "ford", " Fen"),
    ),
    RegionPlan(
        "london", 17, "Thames Crossings Cancer Alliance",
        ((51.52, -0.10), (51.46, -0.01), (51.56, -0.28), (51.54, 0.05), (51.41, -0.30),
         (51.60, -0.11), (51.49, -0.19), (51.45, -0.11), (51.58, 0.07), (51.40, -0.05)),
        (" Park", " Common", " Green", " Hill", " Fields", " Wharf"),
        jitter=0.04,
    ),
    RegionPlan(
        "south_east", 18, "Downs and Weald Cancer Alliance",
        ((51.75, -1.26), (50.93, -1.40), (50.85, -1.07), (50.86, -0.14), (51.28, 1.08),
         (51.27, 0.52), (51.24, -0.57), (51.45, -0.98), (51.82, -0.81), (51.06, -1.31),
         (51.00, 0.20)),
        ("hurst", "den", "field", "ford", " Downs", "well"),
    ),
    RegionPlan(
        "south_west", 11, "Tors and Levels Cancer Alliance",
        ((51.45, -2.59), (50.72, -3.53), (50.40, -4.12), (50.27, -5.05), (51.38, -2.36),
         (51.86, -2.24), (51.02, -3.10), (51.07, -1.79), (50.74, -1.90), (51.56, -1.78),
         (51.90, -2.08), (50.47, -3.56)),
        ("combe", "stow", "ford", "minster", "leigh", " Vale"),
    ),
)

# Birds and wild plants: they make place names that sound English but belong to nowhere.
PLACE_STEMS = (
    "Kestrel", "Wyvern", "Curlew", "Plover", "Linnet", "Bittern", "Dunlin", "Avocet", "Egret",
    "Osprey", "Merlin", "Marten", "Ermine", "Teasel", "Campion", "Burdock", "Tansy", "Juniper",
    "Hornbeam", "Larch", "Quince", "Damson", "Medlar", "Sorrel", "Betony", "Mallow",
    "Harebell", "Cowslip", "Foxglove", "Thistle", "Bramble", "Rowan", "Lapwing", "Siskin",
    "Redstart", "Whinchat", "Nightjar", "Kingfisher", "Skylark", "Goldcrest", "Woodlark",
    "Shelduck", "Pintail", "Wigeon", "Gadwall", "Greylag", "Stonechat", "Wheatear",
    "Bullfinch", "Nuthatch", "Dipper", "Ouzel", "Brambling", "Crossbill", "Redpoll",
    "Godwit", "Whimbrel", "Fulmar", "Gannet", "Petrel", "Sainfoin", "Vetch", "Agrimony",
    "Lovage", "Burnet", "Comfrey", "Samphire", "Eyebright", "Toadflax", "Sanicle",
)

TRUST_TEMPLATES = (
    ("{p} Hospitals NHS Trust", 4),
    ("{p} Hospitals NHS Foundation Trust", 3),
    ("{p} University Hospitals NHS Foundation Trust", 3),
    ("{p} Teaching Hospitals NHS Foundation Trust", 2),
    ("{p} and {q} NHS Foundation Trust", 2),
    ("{p} and {q} Hospitals NHS Trust", 2),
    ("{stem} Valley Hospitals NHS Trust", 1),
    ("Royal {p} Hospital NHS Foundation Trust", 1),
    ("North {p} Healthcare NHS Trust", 1),
)

FIRST_NAMES = (
    "Amelia", "Oliver", "Priya", "Mohammed", "Aisha", "Chidi", "Siobhan", "Rhys", "Mei",
    "Tomasz", "Fatima", "Kwame", "Eleanor", "Hannah", "James", "Rajesh", "Niamh", "Callum",
    "Zara", "Yusuf", "Grace", "Adebayo", "Emily", "Daniel", "Sofia", "Arjun", "Bethan",
    "Kieran", "Nadia", "Samuel", "Ifeoma", "Lucy", "Hamza", "Chloe", "Dylan", "Ananya",
    "Ruth", "Marcus", "Leah", "Ibrahim", "Olivia", "Connor", "Amara", "Harriet", "Imran",
    "Catrin", "Jonathan", "Mariam", "Ewan", "Georgia", "Sunil", "Abigail", "Declan", "Yasmin",
    "Patrick", "Joanna", "Kofi", "Isla", "Rohan", "Megan", "Tariq", "Freya", "Anil", "Rebecca",
    "Gareth", "Shabnam", "Fiona", "Obinna", "Laura", "Ravi", "Alice", "Euan", "Nkechi",
    "Matthew", "Hyun", "Deborah", "Ahmed", "Sinead", "Winston", "Anjali", "Beatrice", "Femi",
)
SURNAMES = (
    "Smith", "Patel", "Khan", "Okafor", "Williams", "Jones", "Nguyen", "Kowalski", "Chen",
    "O'Brien", "Hussain", "Begum", "Taylor", "Evans", "Mensah", "Murphy", "Ahmed", "Clarke",
    "Singh", "Shah", "Brown", "Wilson", "Ali", "Edwards", "Hughes", "Fraser", "MacLeod",
    "Adeyemi", "Osei", "Lewis", "Ward", "Bennett", "Kaur", "Rahman", "Mistry", "Baker",
    "Turner", "Wright", "Hall", "Green", "Thomas", "Roberts", "Davies", "Nowak", "Okonkwo",
    "Sharma", "Iqbal", "Campbell", "Morgan", "Reid", "Anderson", "Walsh", "Doherty", "Gill",
    "Chaudhry", "Achebe", "Bhatt", "Lam", "Wong", "Harrison", "Price", "Pritchard", "Kennedy",
    "Quinn", "Gordon", "Mahmood", "Adeleke", "Bailey", "Chapman", "Dhillon", "Ellis", "Foster",
    "Gallagher", "Hart", "Jenkins", "Kapoor", "Lloyd", "Marsh", "Nash", "Oyelaran", "Parry",
    "Rao", "Stewart", "Tran", "Varma", "Whitfield", "Yeung", "Zielinski",
)
# Gender-neutral titles only: the first names are drawn without regard to gender.
TITLES = ("Dr ", "Dr ", "Professor ", "", "")
APPROVER_ROLES = (
    "Chief Executive", "Chief Executive", "Chief Executive", "Deputy Chief Executive",
    "Medical Director, on behalf of the Chief Executive",
    "Chief Operating Officer, on behalf of the Chief Executive",
)

INELIGIBLE_REASONS = (
    "Baseline audit data incomplete: fewer than 30 patients recorded for 2025",
    "Baseline audit data incomplete: fewer than 30 patients recorded for 2025",
    "Baseline audit data incomplete: fewer than 30 patients recorded for 2025",
    "No baseline audit data submitted for 2025",
    "Baseline audit data incomplete: performance status missing for more than half of "
    "patients in 2025",
    "MDT merged with a neighbouring trust's MDT in 2025, so there is no separate baseline",
    "Already taking part in a regional lung cancer MDT improvement programme",
    "Baseline audit data incomplete: fewer than 30 patients recorded for 2025",
)
WITHDRAWN_REASONS = {
    "invited": (
        "Trust declined: no capacity to take part this year",
        "No reply after three reminders; trust asked to be removed from the list",
    ),
    "interested": (
        "MDT lead post vacant; trust asked to withdraw",
        "Could not get the chief executive's approval before the deadline",
    ),
    "approved": (
        "Trust reorganising its cancer services; asked to withdraw until 2027",
        "MDT lead post vacant; trust asked to withdraw",
    ),
}

SITE_JOB_TITLES = {
    "clinical_lead": "Consultant respiratory physician",
    "cns": "Lung cancer clinical nurse specialist",
    "mdt_coordinator": "Lung cancer MDT coordinator",
    "manager": "Cancer services manager",
}
OTHER_CLINICIANS = (
    ("Thoracic surgery", "Consultant thoracic surgeon"),
    ("Clinical oncology", "Consultant clinical oncologist"),
    ("Medical oncology", "Consultant medical oncologist"),
    ("Radiology", "Consultant radiologist"),
    ("Histopathology", "Consultant histopathologist"),
)
EXECUTIVE_SPONSOR_TITLES = ("Medical director", "Chief operating officer", "Director of nursing",
                            "Deputy medical director")

# Which intervention sites have more than the minimum team (the demo site has everything).
OTHER_CLINICIAN_SITES = 12
MANAGER_SITES = 10
EXECUTIVE_SPONSOR_SITES = 8

CORE_TEAM = (
    # email, full name, job title, role
    (CORE_LEAD_EMAIL, "Sarah Okonkwo-Reid",
     "Consultant respiratory physician and programme clinical lead", "clinical_lead"),
    (CORE_PROJECT_MANAGER_EMAIL, "Tom Barraclough", "Programme manager", "project_manager"),
    (CORE_ADMINISTRATOR_EMAIL, "Jaswinder Sandhu", "Programme administrator", "administrator"),
    (CORE_FACILITATOR_EMAIL, "Megan Lloyd-Evans", "Quality improvement facilitator",
     "qi_facilitator"),
)

# Key dates in the recruitment, 2026.
PROGRAMME_CREATED = datetime.datetime(2026, 1, 5, 9, 20, tzinfo=TZ)
SITES_IMPORTED = datetime.datetime(2026, 1, 8, 14, 10, tzinfo=TZ)
ELIGIBILITY_CHECK = datetime.date(2026, 3, 16)  # a week of checking baseline audit data
ALLOCATED = datetime.datetime(2026, 3, 31, 11, 0, tzinfo=TZ)
IMPORT_FILENAME = "lung-mdts-england-2026.csv"


# --- The plan: plain data, generated from the seed ----------------------------------------------


@dataclass(frozen=True)
class OrganisationSpec:
    code: str
    name: str
    region: str
    network: str
    latitude: Decimal
    longitude: Decimal
    slug: str  # for people's email addresses


@dataclass(frozen=True)
class SiteSpec:
    code: str
    organisation_code: str
    name: str
    mdt_day: int  # 0 = Monday
    mdt_time: datetime.time
    annual_new_patients: int


@dataclass(frozen=True)
class PersonSpec:
    email: str
    full_name: str
    job_title: str
    date_joined: datetime.datetime


@dataclass(frozen=True)
class CoreMemberSpec:
    email: str
    role: str
    joined_at: datetime.datetime


@dataclass(frozen=True)
class SiteMemberSpec:
    site_code: str
    email: str
    role: str
    clinical_specialty: str
    joined_at: datetime.datetime
    ended_at: datetime.datetime | None = None
    ended_by: str = ""  # email of who took them off the team


@dataclass(frozen=True)
class MoveSpec:
    source: str
    target: str
    at: datetime.datetime
    actor: str  # email


@dataclass(frozen=True)
class EnrolmentSpec:
    site_code: str
    status: str
    moves: tuple[MoveSpec, ...]
    approved_by: str = ""
    approved_on: datetime.date | None = None
    ineligible_reason: str = ""
    withdrawn_reason: str = ""
    withdrawn_from: str = ""


@dataclass(frozen=True)
class InvitationSpec:
    email: str
    full_name: str
    invited_by: str  # email
    site_code: str = ""  # empty for the core team
    core_role: str = ""
    site_role: str = ""
    clinical_specialty: str = ""
    days_ago: int = 2  # pending invitations are dated from now, so their links are live


@dataclass
class DemoPlan:
    programme: dict
    organisations: list[OrganisationSpec] = field(default_factory=list)
    sites: list[SiteSpec] = field(default_factory=list)
    people: list[PersonSpec] = field(default_factory=list)
    core_team: list[CoreMemberSpec] = field(default_factory=list)
    site_members: list[SiteMemberSpec] = field(default_factory=list)
    enrolments: list[EnrolmentSpec] = field(default_factory=list)
    invitations: list[InvitationSpec] = field(default_factory=list)
    demo_site_code: str = ""


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower().replace("'", "")).strip("-")


def _join(stem: str, ending: str) -> str:
    if ending.startswith(" "):
        return stem + ending
    if stem[-1].lower() == ending[0]:
        ending = ending[1:]
    return stem + ending


def _weekday(day: datetime.date) -> datetime.date:
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day


def _at(rng: random.Random, day: datetime.date, start_hour: int = 9, end_hour: int = 17):
    """A working-hours moment on ``day`` (moved on to Monday if it is a weekend)."""
    minute = rng.randrange((end_hour - start_hour) * 60)
    return datetime.datetime.combine(
        _weekday(day), datetime.time(start_hour + minute // 60, minute % 60), tzinfo=TZ
    )


def _days(rng: random.Random, start: datetime.date, low: int, high: int) -> datetime.date:
    return start + datetime.timedelta(days=rng.randint(low, high))


def _weighted(rng: random.Random, options):
    values, weights = zip(*options, strict=True)
    return rng.choices(values, weights=weights)[0]


class _Names:
    """Unique, deterministic people's names."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[tuple[str, str]] = set()

    def __call__(self) -> tuple[str, str]:
        while True:
            name = (self.rng.choice(FIRST_NAMES), self.rng.choice(SURNAMES))
            if name not in self.used:
                self.used.add(name)
                return name


def _organisations(rng: random.Random, plan: DemoPlan) -> None:
    stem_uses: dict[str, int] = {}
    stems = list(PLACE_STEMS)
    rng.shuffle(stems)
    names_used: set[str] = set()

    def place(region: RegionPlan) -> tuple[str, str]:
        # The least-used stems first, so the names spread across the list.
        stem = min(stems, key=lambda s: (stem_uses.get(s, 0), rng.random()))
        stem_uses[stem] = stem_uses.get(stem, 0) + 1
        return stem, _join(stem, rng.choice(region.endings))

    number = 0
    for region in REGIONS:
        for _ in range(region.organisations):
            number += 1
            while True:
                stem, p = place(region)
                template = _weighted(rng, TRUST_TEMPLATES)
                q = place(region)[1] if "{q}" in template else ""
                name = template.format(p=p, q=q, stem=stem)
                if name not in names_used and p != q:
                    break
            names_used.add(name)
            lat, lon = rng.choice(region.anchors)
            # A degree of longitude is about 0.6 of a degree of latitude at England's latitudes.
            lat += rng.uniform(-region.jitter, region.jitter)
            lon += rng.uniform(-region.jitter, region.jitter) * 1.6
            code = f"{ORG_CODE_PREFIX}{number:03d}"
            plan.organisations.append(OrganisationSpec(
                code=code, name=name, region=region.region, network=region.network,
                latitude=Decimal(f"{lat:.5f}"), longitude=Decimal(f"{lon:.5f}"),
                slug=_slug(f"{stem} valley" if "{stem}" in template else p),
            ))
            plan.sites.append(SiteSpec(
                code=f"{code}-LUNG", organisation_code=code, name=SITE_NAME,
                mdt_day=_weighted(rng, ((0, 1), (1, 3), (2, 3), (3, 3), (4, 2))),
                mdt_time=_weighted(rng, (
                    (datetime.time(8, 0), 3), (datetime.time(8, 30), 3),
                    (datetime.time(9, 0), 2), (datetime.time(9, 30), 1),
                    (datetime.time(10, 0), 1), (datetime.time(10, 30), 1),
                    (datetime.time(11, 0), 1), (datetime.time(11, 30), 1),
                    (datetime.time(12, 0), 2), (datetime.time(12, 30), 3),
                    (datetime.time(13, 0), 3), (datetime.time(13, 30), 2),
                    (datetime.time(14, 0), 2),
                )),
                annual_new_patients=rng.randint(24, 130) * 5,
            ))


def _statuses(rng: random.Random, plan: DemoPlan) -> dict[str, tuple[str, str]]:
    """site code → (final status, stage reached before withdrawal).

    The eligible sites are allocated to the two arms within each region, in proportion to the
    region's eligible sites (a stratified allocation), so every region has intervention MDTs.
    """
    finals = [status for status, n in ENROLMENT_COUNTS.items() for _ in range(n)]
    assert len(finals) == len(plan.sites), "ENROLMENT_COUNTS must cover every site"
    rng.shuffle(finals)
    withdrawn_from = iter(WITHDRAWN_FROM)
    statuses = {
        site.code: (status, next(withdrawn_from) if status == "withdrawn" else "")
        for site, status in zip(plan.sites, finals, strict=True)
    }

    region_of = {o.code: o.region for o in plan.organisations}
    eligible: dict[str, list[str]] = {}
    for site in plan.sites:
        if statuses[site.code][0] in ("intervention", "control"):
            eligible.setdefault(region_of[site.organisation_code], []).append(site.code)
    arm, total = ENROLMENT_COUNTS["intervention"], sum(map(len, eligible.values()))
    shares = {region: arm * len(codes) / total for region, codes in eligible.items()}
    quotas = {region: int(share) for region, share in shares.items()}
    by_remainder = sorted(shares, key=lambda r: (quotas[r] - shares[r], r))
    for region in by_remainder[: arm - sum(quotas.values())]:
        quotas[region] += 1
    for region, codes in eligible.items():
        rng.shuffle(codes)
        for n, code in enumerate(codes):
            statuses[code] = ("intervention" if n < quotas[region] else "control", "")
    return statuses


def _enrolments(rng: random.Random, plan: DemoPlan, names: _Names,
                statuses: dict[str, tuple[str, str]]) -> dict[str, datetime.datetime]:
    """Each enrolment's path through the funnel; returns when each site became interested."""
    admin, pm, lead = CORE_ADMINISTRATOR_EMAIL, CORE_PROJECT_MANAGER_EMAIL, CORE_LEAD_EMAIL
    order = {"invited": 0, "interested": 1, "approved": 2, "eligible": 3}
    interested_at: dict[str, datetime.datetime] = {}
    ineligible = iter(INELIGIBLE_REASONS)
    allocation_second = 0
    for site in plan.sites:
        final, reached = statuses[site.code]
        furthest = {
            "invited": "invited", "interested": "interested", "approved": "approved",
            "ineligible": "approved", "intervention": "eligible", "control": "eligible",
            "withdrawn": reached,
        }[final]
        moves: list[MoveSpec] = []
        details: dict = {}
        last = SITES_IMPORTED
        late = final == "approved"  # still waiting for the eligibility check: a late joiner
        if order[furthest] >= 1:
            low, high = (30, 45) if late else (4, 36)
            last = _at(rng, _days(rng, SITES_IMPORTED.date(), low, high))
            moves.append(MoveSpec("invited", "interested", last, admin))
            interested_at[site.code] = last
        if order[furthest] >= 2:
            if late:
                decided = _days(rng, datetime.date(2026, 3, 18), 0, 9)
            else:  # everyone else is approved in time for the eligibility check
                decided = min(_days(rng, last.date(), 7, 24), datetime.date(2026, 3, 13))
            decided = _weekday(max(decided, last.date() + datetime.timedelta(days=2)))
            approved_on = decided - datetime.timedelta(days=rng.randint(0, 4))
            approved_on = max(approved_on, last.date())
            title = rng.choice(TITLES)
            first, surname = names()
            details["approved_by"] = f"{title}{first} {surname}, {rng.choice(APPROVER_ROLES)}"
            details["approved_on"] = approved_on
            last = _at(rng, decided)
            moves.append(MoveSpec("interested", "approved", last, admin))
        if final in ("intervention", "control", "ineligible"):
            target = "ineligible" if final == "ineligible" else "eligible"
            last = _at(rng, _days(rng, ELIGIBILITY_CHECK, 0, 4))
            moves.append(MoveSpec("approved", target, last, lead))
            if final == "ineligible":
                details["ineligible_reason"] = next(ineligible)
        if final in ("intervention", "control"):
            # Allocated together, in one move of the whole list, by the project manager.
            allocation_second += 1
            last = ALLOCATED + datetime.timedelta(seconds=allocation_second)
            moves.append(MoveSpec("eligible", final, last, pm))
        if final == "withdrawn":
            after = {"invited": (38, 50), "interested": (20, 40), "approved": (40, 90)}[reached]
            last = _at(rng, _days(rng, last.date(), *after))
            moves.append(MoveSpec(reached, "withdrawn", last, pm))
            details["withdrawn_from"] = reached
            details["withdrawn_reason"] = rng.choice(WITHDRAWN_REASONS[reached])
        plan.enrolments.append(EnrolmentSpec(site_code=site.code, status=final,
                                             moves=tuple(moves), **details))
    return interested_at


def _people(rng: random.Random, plan: DemoPlan, names: _Names,
            statuses: dict[str, tuple[str, str]],
            interested_at: dict[str, datetime.datetime]) -> None:
    for email, full_name, job_title, role in CORE_TEAM:
        joined = PROGRAMME_CREATED if role == "clinical_lead" else _at(
            rng, _days(rng, PROGRAMME_CREATED.date(), 0, 2), 10, 16)
        plan.people.append(PersonSpec(email, full_name, job_title, joined))
        plan.core_team.append(CoreMemberSpec(email, role, joined))

    orgs = {o.code: o for o in plan.organisations}
    intervention = [s.code for s in plan.sites if statuses[s.code][0] == "intervention"]
    plan.demo_site_code = min(intervention)
    others = [code for code in intervention if code != plan.demo_site_code]
    with_clinicians = {plan.demo_site_code, *rng.sample(others, OTHER_CLINICIAN_SITES - 1)}
    with_managers = {plan.demo_site_code, *rng.sample(others, MANAGER_SITES - 1)}
    with_sponsors = {plan.demo_site_code, *rng.sample(others, EXECUTIVE_SPONSOR_SITES - 1)}
    # Two teams whose MDT coordinator has moved on: the old membership is ended, not deleted.
    with_leavers = set(rng.sample(others, 2))
    fixed_emails = {"clinical_lead": SITE_LEAD_EMAIL, "cns": SITE_CNS_EMAIL,
                    "mdt_coordinator": SITE_MDT_COORDINATOR_EMAIL}
    emails_used = {p.email for p in plan.people}

    def add(site_code: str, role: str, joined: datetime.datetime, *, job_title: str = "",
            specialty: str = "", ended_at=None, ended_by: str = "") -> str:
        first, surname = names()
        email = ""
        if site_code == plan.demo_site_code and ended_at is None:
            email = fixed_emails.get(role, "")
        if not email:
            local = f"{_slug(first)}.{_slug(surname)}".replace("-", "")
            domain = f"{orgs[site_code.removesuffix('-LUNG')].slug}.{DEMO_EMAIL_DOMAIN}"
            email, n = f"{local}@{domain}", 1
            while email in emails_used:
                n += 1
                email = f"{local}.{n}@{domain}"
        emails_used.add(email)
        plan.people.append(PersonSpec(email, f"{first} {surname}",
                                      job_title or SITE_JOB_TITLES[role], joined))
        plan.site_members.append(SiteMemberSpec(site_code, email, role, specialty, joined,
                                                ended_at, ended_by))
        return email

    def after_allocation(low: int, high: int) -> datetime.datetime:
        return _at(rng, _days(rng, ALLOCATED.date(), low, high), 8, 19)

    for site in plan.sites:
        final, _ = statuses[site.code]
        # A clinical lead joins once their trust has approved taking part.
        if final not in ("approved", "ineligible", "intervention", "control"):
            continue
        lead_joined = _at(rng, _days(rng, interested_at[site.code].date(), 2, 9), 8, 19)
        lead_email = add(site.code, "clinical_lead", lead_joined)
        if final != "intervention":
            continue
        if site.code in with_leavers:
            left = after_allocation(40, 70)
            add(site.code, "mdt_coordinator", after_allocation(2, 20),
                ended_at=left, ended_by=lead_email)
            add(site.code, "mdt_coordinator", left + datetime.timedelta(days=rng.randint(5, 20)))
        else:
            add(site.code, "mdt_coordinator", after_allocation(2, 20))
        add(site.code, "cns", after_allocation(2, 25))
        if site.code in with_clinicians:
            picks = rng.sample(OTHER_CLINICIANS, 2 if rng.random() < 0.4 else 1)
            if site.code == plan.demo_site_code:
                picks = list(OTHER_CLINICIANS[:2])
            for specialty, title in picks:
                add(site.code, "other_clinician", after_allocation(10, 45), job_title=title,
                    specialty=specialty)
        if site.code in with_managers:
            add(site.code, "manager", after_allocation(5, 40))
        if site.code in with_sponsors:
            add(site.code, "executive_sponsor", after_allocation(5, 50),
                job_title=rng.choice(EXECUTIVE_SPONSOR_TITLES))

    # Two invitations waiting for a reply: one to the core team, one to the demo site's team.
    def new_email(first: str, surname: str, domain: str) -> str:
        email = f"{_slug(first)}.{_slug(surname)}".replace("-", "") + f"@{domain}"
        assert email not in emails_used
        emails_used.add(email)
        return email

    first, surname = names()
    plan.invitations.append(InvitationSpec(
        email=new_email(first, surname, DEMO_EMAIL_DOMAIN), full_name=f"{first} {surname}",
        invited_by=CORE_LEAD_EMAIL, core_role="qi_facilitator", days_ago=3,
    ))
    first, surname = names()
    demo_org = orgs[plan.demo_site_code.removesuffix("-LUNG")]
    plan.invitations.append(InvitationSpec(
        email=new_email(first, surname, f"{demo_org.slug}.{DEMO_EMAIL_DOMAIN}"),
        full_name=f"{first} {surname}", invited_by=SITE_LEAD_EMAIL,
        site_code=plan.demo_site_code, site_role="other_clinician",
        clinical_specialty="Radiology", days_ago=1,
    ))


def build_plan() -> DemoPlan:
    """The whole demo programme as plain data. The same every time."""
    rng = random.Random(SEED)
    plan = DemoPlan(programme=dict(PROGRAMME))
    _organisations(rng, plan)
    statuses = _statuses(rng, plan)
    names = _Names(rng)
    interested_at = _enrolments(rng, plan, names, statuses)
    _people(rng, plan, names, statuses, interested_at)
    return plan


def demo_site_name() -> str:
    plan = build_plan()
    org = next(o for o in plan.organisations if f"{o.code}-LUNG" == plan.demo_site_code)
    return f"{org.name}: {SITE_NAME} ({plan.demo_site_code})"


def demo_logins() -> list[tuple[str, str]]:
    """(who, email) for each demo sign-in; every one uses DEMO_PASSWORD."""
    return list(DEMO_LOGINS)


def logins_table() -> str:
    """The demo sign-ins as a plain-text table, for the command, README and Makefile."""
    rows = [("Role", "Email", "Password"), *((r, e, DEMO_PASSWORD) for r, e in DEMO_LOGINS)]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"The site sign-ins are the team of {demo_site_name()}.")
    lines.append(
        "Core-team sign-ins then ask for a code from an authenticator app: add the setup key "
        f"{DEMO_TOTP_SECRET} to one, or run `python manage.py totp_code <email>`.")
    return "\n".join(lines)


def demo_authenticators_create(*, users) -> int:
    """Give each of `users` that has none the demo authenticator app; returns how many."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.utils import encrypt

    have = set(Authenticator.objects.filter(
        user__in=users, type=Authenticator.Type.TOTP).values_list("user_id", flat=True))
    created = Authenticator.objects.bulk_create(
        Authenticator(user=user, type=Authenticator.Type.TOTP,
                      data={"secret": encrypt(DEMO_TOTP_SECRET)})
        for user in users if user.pk not in have)
    return len(created)


# --- Writing the plan to the database ------------------------------------------------------------


@dataclass
class SeedResult:
    created: bool
    counts: dict[str, int]
    removed: dict[str, int] = field(default_factory=dict)


def _demo_email_q(prefix: str = "email"):
    from django.db.models import Q

    return (Q(**{f"{prefix}__iendswith": f"@{DEMO_EMAIL_DOMAIN}"})
            | Q(**{f"{prefix}__iendswith": f".{DEMO_EMAIL_DOMAIN}"}))


def demo_programmes():
    """The demo programme(s): named as the demo and run by demo accounts or at demo sites."""
    from django.db.models import Q

    from .models import Programme

    ids = Programme.objects.filter(name=PROGRAMME_NAME).filter(
        _demo_email_q("core_team__user__email")
        | Q(enrolments__site__organisation__code__regex=ORG_CODE_PATTERN)
    ).values_list("pk", flat=True)
    return Programme.objects.filter(pk__in=list(ids))


def demo_exists() -> bool:
    from .models import Programme

    return Programme.objects.filter(
        name=PROGRAMME_NAME, core_team__user__email=CORE_LEAD_EMAIL
    ).exists()


def delete_demo() -> dict[str, int]:
    """Remove the demo programme, organisations, sites and accounts, their activity log, and
    the stored files of what goes with them (library documents, event slides, evidence).

    Only demo records go: programmes named as the demo and run by demo accounts (or at demo
    sites), organisations whose code matches ORG_CODE_PATTERN, and accounts under
    DEMO_EMAIL_DOMAIN.
    """
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Q

    from ilcop.models import ActivityLog, ActivityScope, User
    from ilcop.uploads import deleting_files_of_deleted_rows

    from .models import Organisation, Programme, Site

    programme_ids = list(demo_programmes().values_list("pk", flat=True))
    # The one-way programme's services stand at the demo's trusts (qips.demo_one_way).
    programme_ids += list(Programme.objects.filter(
        name=ONE_WAY_PROGRAMME_NAME, kind=Programme.Kind.ONE_WAY).filter(
        _demo_email_q("core_team__user__email")).values_list("pk", flat=True).distinct())
    organisations = Organisation.objects.filter(code__regex=ORG_CODE_PATTERN)
    organisation_ids = list(organisations.values_list("pk", flat=True))
    site_ids = list(Site.objects.filter(organisation_id__in=organisation_ids)
                    .values_list("pk", flat=True))
    users = User.objects.filter(_demo_email_q())

    ct = ContentType.objects.get_for_model
    entry_ids = set(ActivityLog.objects.filter(
        Q(scopes__content_type=ct(Programme), scopes__object_id__in=programme_ids)
        | Q(scopes__content_type=ct(Site), scopes__object_id__in=site_ids)
        | Q(content_type=ct(Organisation), object_id__in=organisation_ids)
    ).values_list("pk", flat=True))
    # The log has no foreign key to what it describes, so deleting a programme by hand leaves
    # its entries behind. Take those made by demo accounts whose programmes are all gone.
    kept = set(Programme.objects.exclude(pk__in=programme_ids).values_list("pk", flat=True))
    programmes_of: dict[int, set[int]] = {}
    for entry_id, programme_id in ActivityScope.objects.filter(
        content_type=ct(Programme), entry__actor__in=users
    ).values_list("entry_id", "object_id"):
        programmes_of.setdefault(entry_id, set()).add(programme_id)
    entry_ids |= {entry for entry, ids in programmes_of.items() if not ids & kept}
    # The demo's library files and event slides would otherwise stay in media storage, with
    # no row pointing at them, every time the demo is rebuilt.
    with deleting_files_of_deleted_rows():
        removed = {
            "activity log entries": ActivityLog.objects.filter(pk__in=entry_ids).delete()[1]
            .get("ilcop.ActivityLog", 0),
            "programmes": Programme.objects.filter(pk__in=programme_ids).delete()[1].get(
                "programmes.Programme", 0),
            "sites": Site.objects.filter(pk__in=site_ids).delete()[1].get("programmes.Site", 0),
            "organisations": organisations.delete()[1].get("programmes.Organisation", 0),
            "accounts": users.delete()[1].get("ilcop.User", 0),
        }
    return removed


def seed(*, reset: bool = False) -> SeedResult:
    """Build the demo programme, once. Safe to run again: an existing demo is left alone.

    With ``reset``, the existing demo is removed first and built afresh. Leftovers of a demo
    whose programme was deleted by hand are cleared before building, so the result is always
    the same.
    """
    from django.db import transaction

    with transaction.atomic():
        if not reset and demo_exists():
            return SeedResult(created=False, counts=demo_counts())
        removed = {what: n for what, n in delete_demo().items() if n}
        _write(build_plan())
        from ilcop.models import User

        from . import demo_audit

        demo_audit.build(demo_programmes().get(), User.objects.get(email=CORE_LEAD_EMAIL))
        return SeedResult(created=True, counts=demo_counts(), removed=removed)


def demo_counts() -> dict[str, int]:
    from django.db.models import Count

    from ilcop.models import User

    from .models import Organisation, Site

    programme = demo_programmes().first()
    counts: dict[str, int] = {
        "organisations": Organisation.objects.filter(code__regex=ORG_CODE_PATTERN).count(),
        "regions": Organisation.objects.filter(code__regex=ORG_CODE_PATTERN)
        .values("region").distinct().count(),
        "sites": Site.objects.filter(organisation__code__regex=ORG_CODE_PATTERN).count(),
        "accounts": User.objects.filter(_demo_email_q()).count(),
    }
    if programme is not None:
        by_status = dict(programme.enrolments.values_list("status").annotate(n=Count("id"))
                         .order_by())
        counts["enrolments"] = sum(by_status.values())
        counts.update({f"enrolments {s}": by_status.get(s, 0) for s in ENROLMENT_COUNTS})
        counts["pending invitations"] = programme.invitations.filter(status="pending").count()
    return counts


def _write(plan: DemoPlan) -> None:
    """Insert the plan in bulk, with the activity log entries the services would have made."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import make_password
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from ilcop.models import ActivityLog, ActivityScope, User

    from .models import (
        CoreTeamMembership,
        Enrolment,
        Invitation,
        Organisation,
        Programme,
        Region,
        Site,
        SiteMembership,
    )

    assert {o.region for o in plan.organisations} == set(Region.values)

    # One hash for every account: hashing is deliberately slow, and the password is shared.
    password = make_password(DEMO_PASSWORD)
    users = {
        p.email: User(email=p.email, full_name=p.full_name, job_title=p.job_title,
                      password=password, date_joined=p.date_joined)
        for p in plan.people
    }
    User.objects.bulk_create(users.values())
    EmailAddress.objects.bulk_create(
        EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users.values()
    )

    programme = Programme.objects.create(**plan.programme)
    Programme.objects.filter(pk=programme.pk).update(created_at=PROGRAMME_CREATED)
    core = {
        c.email: CoreTeamMembership(programme=programme, user=users[c.email], role=c.role,
                                    joined_at=c.joined_at)
        for c in plan.core_team
    }
    CoreTeamMembership.objects.bulk_create(core.values())
    demo_authenticators_create(users=[m.user for m in core.values()])

    organisations = {
        o.code: Organisation(code=o.code, name=o.name, region=o.region, network=o.network,
                             latitude=o.latitude, longitude=o.longitude)
        for o in plan.organisations
    }
    Organisation.objects.bulk_create(organisations.values())
    sites = {
        s.code: Site(organisation=organisations[s.organisation_code], code=s.code, name=s.name,
                     specialty=plan.programme["specialty"], mdt_day=s.mdt_day,
                     mdt_time=s.mdt_time, annual_new_patients=s.annual_new_patients)
        for s in plan.sites
    }
    Site.objects.bulk_create(sites.values())

    enrolments = {}
    for e in plan.enrolments:
        last = e.moves[-1] if e.moves else None
        enrolments[e.site_code] = Enrolment(
            programme=programme, site=sites[e.site_code], status=e.status,
            approved_by=e.approved_by, approved_on=e.approved_on,
            ineligible_reason=e.ineligible_reason, withdrawn_reason=e.withdrawn_reason,
            withdrawn_from=e.withdrawn_from,
            status_changed_at=last.at if last else SITES_IMPORTED,
            status_changed_by=users[last.actor if last else CORE_PROJECT_MANAGER_EMAIL],
        )
    Enrolment.objects.bulk_create(enrolments.values())

    memberships = [
        SiteMembership(site=sites[m.site_code], user=users[m.email], role=m.role,
                       clinical_specialty=m.clinical_specialty, joined_at=m.joined_at,
                       ended_at=m.ended_at)
        for m in plan.site_members
    ]
    SiteMembership.objects.bulk_create(memberships)

    now = timezone.now()
    invitations = []
    for spec in plan.invitations:
        sent = (now - datetime.timedelta(days=spec.days_ago)).replace(microsecond=0)
        invitation = Invitation(
            programme=programme, site=sites[spec.site_code] if spec.site_code else None,
            email=spec.email, full_name=spec.full_name, core_role=spec.core_role,
            site_role=spec.site_role, clinical_specialty=spec.clinical_specialty,
            invited_by=users[spec.invited_by], created_at=sent, sent_at=sent,
        )
        invitation.new_nonce()
        invitations.append(invitation)
    Invitation.objects.bulk_create(invitations)

    # The activity log, as ilcop.activity.log_action would have written it at the time.
    events: list[tuple[datetime.datetime, User | None, str, object, str, dict, tuple]] = []

    def log(at, actor_email, verb, obj, summary, data=None, scopes=()):
        events.append((at, users[actor_email] if actor_email else None, verb, obj, summary,
                       data or {}, scopes))

    log(PROGRAMME_CREATED, CORE_LEAD_EMAIL, "programme.created", programme,
        "Created the programme")
    for c in plan.core_team:
        if c.role != "clinical_lead":  # the creator is put in the core team, not invited
            log(c.joined_at, c.email, "membership.joined", core[c.email],
                f"Joined as {CoreTeamMembership.Role(c.role).label}", scopes=(programme,))
    for n, e in enumerate(plan.enrolments):
        enrolment, site = enrolments[e.site_code], sites[e.site_code]
        log(SITES_IMPORTED + datetime.timedelta(milliseconds=n), CORE_PROJECT_MANAGER_EMAIL,
            "enrolment.created", enrolment, "Invited to the programme (imported from a file)",
            scopes=(programme, site))
        for move in e.moves:
            summary = (f"Moved from {Enrolment.Status(move.source).label} to "
                       f"{Enrolment.Status(move.target).label}")
            if move.target == "approved":
                summary += (f" (approved by {e.approved_by} on "
                            f"{e.approved_on.day} {e.approved_on:%B %Y})")
            log(move.at, move.actor, "enrolment.moved", enrolment, summary,
                {"from": move.source, "to": move.target}, (programme, site))
    log(SITES_IMPORTED + datetime.timedelta(seconds=1), CORE_PROJECT_MANAGER_EMAIL,
        "sites.imported", programme,
        f"Imported {len(sites)} sites ({len(organisations)} new organisations) from "
        f"{IMPORT_FILENAME}",
        {"sites": len(sites), "new_organisations": len(organisations)})
    for spec, membership in zip(plan.site_members, memberships, strict=True):
        site = sites[spec.site_code]
        log(spec.joined_at, spec.email, "membership.joined", membership,
            f"Joined as {SiteMembership.Role(spec.role).label}", scopes=(programme, site))
        if spec.ended_at:
            log(spec.ended_at, spec.ended_by, "membership.ended", membership,
                f"Removed {membership.user} ({membership.role_label}) from the team",
                scopes=(site, programme))
    for spec, invitation in zip(plan.invitations, invitations, strict=True):
        log(invitation.created_at, spec.invited_by, "invitation.created", invitation,
            f"Invited {invitation.full_name} as {invitation.role_label}",
            scopes=(programme, *([invitation.site] if invitation.site else [])))

    events.sort(key=lambda event: event[0])
    content_types = {}

    def ct_id(obj) -> int:
        model = type(obj)
        if model not in content_types:
            content_types[model] = ContentType.objects.get_for_model(model).pk
        return content_types[model]

    entries = ActivityLog.objects.bulk_create(
        ActivityLog(created_at=at, actor=actor, verb=verb, content_type_id=ct_id(obj),
                    object_id=obj.pk, object_repr=str(obj)[:200], summary=summary[:300],
                    data=data)
        for at, actor, verb, obj, summary, data, _ in events
    )
    ActivityScope.objects.bulk_create(
        ActivityScope(entry=entry, content_type_id=ct, object_id=pk, created_at=entry.created_at)
        for entry, (_, _, _, obj, _, _, scopes) in zip(entries, events, strict=True)
        for ct, pk in sorted({(ct_id(s), s.pk) for s in (obj, *scopes)})
    )
