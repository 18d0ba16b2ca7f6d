"""The programmes app's exports: sites, enrolments and the confirmed pairs.

Registered from ProgrammesConfig.ready; ilcop.exports explains the machinery and
docs/exports.md every column. Each rows() takes the programme and, for a site member, the
sites whose rows they may have (programmes.selectors.export_scope).

Organisations' coordinates are left out: they are the main hospital's, public through the
ODS code that is exported, and were recorded only to judge travel between partners.
"""

from django.db.models import Q, QuerySet

from ilcop.exports import Column, Dataset, choices_text, register

from .models import Enrolment, Pair, Pairing, Programme, Region, Site, Specialty, Weekday


def _sites(programme: Programme, sites: QuerySet | None) -> QuerySet:
    rows = Site.objects.filter(enrolments__programme=programme)
    if sites is not None:
        rows = rows.filter(pk__in=sites)
    return rows.order_by("code")


def _enrolments(programme: Programme, sites: QuerySet | None) -> QuerySet:
    rows = Enrolment.objects.filter(programme=programme)
    if sites is not None:
        rows = rows.filter(site__in=sites)
    return rows.with_arm().order_by("site__code")


def _pairs(programme: Programme, sites: QuerySet | None) -> QuerySet:
    rows = Pair.objects.filter(pairing__programme=programme,
                               pairing__status=Pairing.Status.CONFIRMED)
    if sites is not None:
        # A site sees its own partner, never the other pairs (architecture.md, Safe space).
        rows = rows.filter(Q(site_a__in=sites) | Q(site_b__in=sites))
    return rows.order_by("pk")


def _codes(codes: list[str]) -> str:
    return "; ".join(codes)


register(Dataset(
    slug="sites",
    title="Sites",
    description="Each MDT enrolled in the programme, at any stage, with its organisation.",
    columns=(
        Column("site_code", "The MDT's code, unique across the service; every other export "
               "names sites by it.", "code"),
        Column("site_name", "The MDT's name, for example Lung cancer MDT.", "name"),
        Column("organisation", "The trust (or other provider) the MDT belongs to.",
               "organisation__name"),
        Column("ods_code", "The organisation's ODS code.", "organisation__code"),
        Column("region", f"NHS England region: {choices_text(Region)}.",
               "organisation__region"),
        Column("network", "The cancer alliance or clinical network, if recorded.",
               "organisation__network"),
        Column("specialty", f"The MDT's specialty: {choices_text(Specialty)}.", "specialty"),
        Column("mdt_day", "The day of the weekly MDT meeting, Monday to Sunday.", "mdt_day",
               lambda day: Weekday(day).label),
        Column("mdt_time", "The meeting's start, as a London time of day (HH:MM).",
               "mdt_time"),
        Column("annual_new_patients", "Approximate new patients a year, if recorded.",
               "annual_new_patients"),
    ),
    rows=_sites,
))

register(Dataset(
    slug="enrolments",
    title="Enrolments",
    description="Each site's place in the recruitment funnel and its study arm.",
    columns=(
        Column("site_code", "The site (see Sites).", "site__code"),
        Column("status", f"Where the site is now: {choices_text(Enrolment.Status)}.",
               "status"),
        Column("arm", "intervention or control once allocated, kept for a site that later "
               "withdrew; empty before allocation.", "arm"),
        Column("approved_on", "When the chief executive (or delegate) approved taking part.",
               "approved_on"),
        Column("ineligible_reason", "Why the site was found ineligible, if it was.",
               "ineligible_reason"),
        Column("withdrawn", "TRUE if the site has withdrawn.", "status",
               lambda status: status == Enrolment.Status.WITHDRAWN),
        Column("withdrawn_from", "The stage a withdrawn site had reached (a status code).",
               "withdrawn_from"),
        Column("withdrawn_reason", "Why the site withdrew, if it did.", "withdrawn_reason"),
        Column("status_changed_at", "When the status last changed (UTC).",
               "status_changed_at"),
    ),
    rows=_enrolments,
))

register(Dataset(
    slug="pairs",
    title="Pairs",
    description="The confirmed pairing: which intervention sites visit each other, and why "
                "they were paired. Empty until the core team confirms a pairing.",
    columns=(
        Column("pair_id", "The pair's number; visits name their pair by it.", "pk"),
        Column("site_a_code", "One site of the pair.", "site_a__code"),
        Column("site_b_code", "The other site.", "site_b__code"),
        Column("site_a_strengths", "Headline indicator codes site A is stronger on, "
               "strongest difference first, separated by semicolons.", "strengths_a",
               _codes),
        Column("site_b_strengths", "The same for site B.", "strengths_b", _codes),
        Column("score", "The complementarity score the pairing engine gave the pair, less "
               "any penalty (higher is more complementary).", "score"),
        Column("made_by_hand", "TRUE if the core team made the pair by hand rather than "
               "accepting the engine's.", "made_by_hand"),
        Column("confirmed_at", "When the pairing was confirmed (UTC).",
               "pairing__confirmed_at"),
    ),
    rows=_pairs,
))
