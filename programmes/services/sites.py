import datetime
import re
from decimal import Decimal, InvalidOperation

from django.db import transaction

from ilcop.activity import log_action
from ilcop.imports import ImportFailed, RowError, read_csv_table
from ilcop.models import User
from ilcop.services import changed_summary, model_update

from ..models import (
    MAX_ANNUAL_NEW_PATIENTS,
    Enrolment,
    Organisation,
    Programme,
    Region,
    Site,
    Specialty,
    Weekday,
)


@transaction.atomic
def organisation_create(*, user: User, programme: Programme, **fields) -> Organisation:
    organisation = Organisation(**fields)
    organisation.full_clean()
    organisation.save()
    log_action(organisation, "organisation.created", actor=user,
               summary="Added the organisation", scopes=[programme])
    return organisation


def _enrol(*, site: Site, programme: Programme, user: User, how: str) -> Enrolment:
    enrolment = Enrolment.objects.create(programme=programme, site=site, status_changed_by=user)
    log_action(enrolment, "enrolment.created", actor=user,
               summary=f"Invited to the programme {how}", scopes=[programme, site])
    return enrolment


@transaction.atomic
def site_create(*, user: User, programme: Programme, **fields) -> Site:
    """Add an MDT and invite it to the programme."""
    site = Site(**fields)
    site.full_clean()
    site.save()
    log_action(site, "site.created", actor=user, summary="Added the site", scopes=[programme])
    _enrol(site=site, programme=programme, user=user, how="(added by hand)")
    return site


@transaction.atomic
def site_update(*, site: Site, user: User, **fields) -> Site:
    changed = model_update(instance=site, data=fields)
    if changed:
        log_action(site, "site.updated", actor=user, summary=changed_summary(Site, changed),
                   data={"fields": changed},
                   scopes=[e.programme for e in site.enrolments.select_related("programme")])
    return site


# The site import: one row per MDT, with its organisation's details repeated on each row.
IMPORT_REQUIRED = [
    "organisation_code", "organisation_name", "region", "site_code", "site_name", "mdt_day",
    "mdt_time",
]
# In the order of the downloadable template.
IMPORT_COLUMNS = [
    "organisation_code", "organisation_name", "region", "network", "latitude", "longitude",
    "site_code", "site_name", "mdt_day", "mdt_time", "specialty", "annual_new_patients",
]


def _lookup(choices, text: str):
    """Match a choice by its value or its label, ignoring case and punctuation."""
    def key(s: str) -> str:
        return re.sub(r"[^a-z0-9]", "", str(s).lower())
    wanted = key(text)
    for value, label in choices:
        if wanted in (key(value), key(label)):
            return value
    return None


# Full names are matched by _lookup; these are the abbreviations people type.
_DAY_ABBREVIATIONS = {
    **{label[:3].lower(): value for value, label in Weekday.choices},
    "tues": 1, "weds": 2, "thur": 3, "thurs": 3,
}
_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})(?::\d{2})?$")


def _parse_row(row: int, cells: dict[str, str], programme: Programme, errors: list[RowError]):
    def error(column: str, message: str) -> None:
        errors.append(RowError(row, column, message))

    for column in IMPORT_REQUIRED:
        if not cells.get(column):
            error(column, "is empty; every row needs a value here.")

    region = _lookup(Region.choices, cells["region"]) if cells["region"] else None
    if cells["region"] and region is None:
        error("region", f"“{cells['region']}” is not an NHS England region. Use one of: "
              + ", ".join(Region.labels) + ".")

    day = None
    if cells["mdt_day"]:
        day = _lookup(Weekday.choices, cells["mdt_day"])
        if day is None:
            day = _DAY_ABBREVIATIONS.get(cells["mdt_day"].lower().rstrip("."))
        if day is None:
            error("mdt_day", f"“{cells['mdt_day']}” is not a day of the week.")

    mdt_time = None
    if cells["mdt_time"]:
        match = _TIME.match(cells["mdt_time"])
        if match and int(match[1]) < 24 and int(match[2]) < 60:
            mdt_time = datetime.time(int(match[1]), int(match[2]))
        else:
            error("mdt_time", f"“{cells['mdt_time']}” is not a 24-hour time such as 13:30.")

    specialty = programme.specialty
    if cells.get("specialty"):
        specialty = _lookup(Specialty.choices, cells["specialty"])
        if specialty is None:
            error("specialty", f"“{cells['specialty']}” is not a specialty we know. Use one of: "
                  + ", ".join(Specialty.labels) + ".")

    coordinates = {}
    for column, limit in (("latitude", 90), ("longitude", 180)):
        text = cells.get(column, "")
        if not text:
            continue
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            error(column, f"“{text}” is not a number.")
            continue
        if not -limit <= value <= limit:
            error(column, f"{text} is out of range (−{limit} to {limit}).")
        else:
            coordinates[column] = value.quantize(Decimal("0.00001"))
    if len(coordinates) == 1:
        missing = "longitude" if "latitude" in coordinates else "latitude"
        error(missing, "is empty but the other coordinate is given; give both or neither.")

    size = None
    if cells.get("annual_new_patients"):
        text = cells["annual_new_patients"].replace(",", "")
        if text.isdigit() and int(text) <= MAX_ANNUAL_NEW_PATIENTS:
            size = int(text)
        elif text.isdigit():
            error("annual_new_patients", f"{text} is more than {MAX_ANNUAL_NEW_PATIENTS:,}; "
                  "enter the approximate new patients a year.")
        else:
            error("annual_new_patients", f"“{cells['annual_new_patients']}” is not a whole number.")

    for column, limit in (("organisation_code", 20), ("site_code", 30),
                          ("organisation_name", 200), ("site_name", 200), ("network", 200)):
        if len(cells.get(column, "")) > limit:
            error(column, f"is longer than {limit} characters.")

    return {
        "organisation": {
            "code": cells["organisation_code"].upper(), "name": cells["organisation_name"],
            "region": region, "network": cells.get("network", ""), **coordinates,
        },
        "site": {
            "code": cells["site_code"].upper(), "name": cells["site_name"], "specialty": specialty,
            "mdt_day": day, "mdt_time": mdt_time, "annual_new_patients": size,
        },
    }


@transaction.atomic
def sites_import(*, programme: Programme, user: User, uploaded) -> list[Site]:
    """Create the organisations and sites in a CSV file and invite them, or do nothing.

    Existing organisations are matched on their code and left as they are; a row whose
    organisation name differs from the stored one is an error, because it usually means a
    mistyped code. A site code that is already recorded is an error: an import only adds new
    MDTs, so nobody can pull another programme's site (and its team) into their own.

    Raises ImportFailed with every problem, by row and column, when any row is wrong.
    """
    filename = getattr(uploaded, "name", "")
    rows = read_csv_table(uploaded, required_columns=IMPORT_REQUIRED)
    errors: list[RowError] = []
    parsed = [(row, _parse_row(row, cells, programme, errors)) for row, cells in rows]

    org_codes = {p["organisation"]["code"] for _, p in parsed}
    site_codes = {p["site"]["code"] for _, p in parsed}
    known_orgs = {o.code: o for o in Organisation.objects.filter(code__in=org_codes)}
    known_sites = set(Site.objects.filter(code__in=site_codes).values_list("code", flat=True))
    enrolled = set(
        Enrolment.objects.filter(programme=programme, site__code__in=site_codes)
        .values_list("site__code", flat=True)
    )

    first_org_row: dict[str, tuple[int, dict]] = {}
    first_site_row: dict[str, int] = {}
    for row, p in parsed:
        org, site = p["organisation"], p["site"]
        if not org["code"] or not site["code"]:
            continue
        known_org = known_orgs.get(org["code"])
        if known_org and known_org.name.lower() != org["name"].lower():
            errors.append(RowError(row, "organisation_name",
                f"organisation {org['code']} is already recorded as “{known_org.name}”. "
                "Check the code, or use that name."))
        if org["code"] in first_org_row:
            earlier_row, earlier = first_org_row[org["code"]]
            for field, column in (("name", "organisation_name"), ("region", "region")):
                if earlier[field] != org[field]:
                    errors.append(RowError(row, column,
                        f"differs from row {earlier_row} for the same organisation "
                        f"{org['code']}."))
        else:
            first_org_row[org["code"]] = (row, org)
        if site["code"] in first_site_row:
            errors.append(RowError(row, "site_code",
                f"{site['code']} is also on row {first_site_row[site['code']]}; "
                "each site once."))
        else:
            first_site_row[site["code"]] = row
        if site["code"] in enrolled:
            errors.append(RowError(row, "site_code",
                f"{site['code']} is already in this programme."))
        elif site["code"] in known_sites:
            errors.append(RowError(row, "site_code",
                f"{site['code']} is already recorded for another programme. To include it "
                "in this one as well, ask a system administrator."))

    if errors:
        raise ImportFailed(errors)

    new_orgs = [
        Organisation(**fields) for code, (_, fields) in first_org_row.items()
        if code not in known_orgs
    ]
    for organisation in Organisation.objects.bulk_create(new_orgs):
        known_orgs[organisation.code] = organisation

    sites = []
    for _, p in parsed:
        site = Site.objects.create(organisation=known_orgs[p["organisation"]["code"]],
                                   **p["site"])
        _enrol(site=site, programme=programme, user=user, how="(imported from a file)")
        sites.append(site)

    log_action(
        programme, "sites.imported", actor=user,
        summary=f"Imported {len(sites)} sites ({len(new_orgs)} new organisations)"
                + (f" from {filename}" if filename else ""),
        data={"sites": len(sites), "new_organisations": len(new_orgs)},
    )
    return sites
