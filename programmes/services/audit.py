"""Importing national audit results, and deciding eligibility from them."""

import re
from collections import Counter
from dataclasses import dataclass

from django.db import transaction

from ilcop.activity import log_action
from ilcop.imports import ImportFailed, Row, RowError, read_table
from ilcop.models import User
from ilcop.services import changed_summary, model_update

from .. import eligibility
from ..models import Enrolment, Indicator, IndicatorValue, Programme
from ..periods import PeriodNotRecognised, parse_period
from .enrolment import enrolments_move

AUDIT_REQUIRED = ["period", "indicator_code", "numerator", "denominator"]
# What exports call the comparator columns, mapped to ours.
_ALIASES = {"national_comparator": "national", "national_figure": "national",
            "national_value": "national", "org_code": "organisation_code", "trust_code":
            "organisation_code"}
_THOUSANDS = re.compile(r"(?<=\d)[,\s](?=\d{3}\b)")


@dataclass(frozen=True)
class PeriodImported:
    period: str
    values: int
    replaced: int


def _whole_number(text: str) -> int | None:
    """"1,234", "1 234" and "1234.0" (as Excel writes whole numbers) are all 1234."""
    cleaned = _THOUSANDS.sub("", text)
    try:
        number = float(cleaned)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _proportion(text: str) -> float | None:
    """A national figure or target: "78.5%" and "78.5" are 0.785; "0.785" is 0.785.

    A number above 1 can only be a percentage; one of 1 or less is read as a proportion.
    """
    cleaned = _THOUSANDS.sub("", text.replace("%", "").strip())
    try:
        number = float(cleaned)
    except ValueError:
        return None
    if "%" in text or number > 1:
        number /= 100
    return number


def _rows_with_aliases(rows: list[Row]) -> list[Row]:
    return [Row(r.sheet, r.number, {_ALIASES.get(k, k): v for k, v in r.cells.items()})
            for r in rows]


@transaction.atomic
def audit_import(*, programme: Programme, user: User, uploaded) -> list[PeriodImported]:
    """Import indicator values from a CSV or Excel file, replacing each period it contains.

    All or nothing: every problem is collected with its sheet, row and column, and nothing is
    written unless there are none.
    """
    # One import at a time per programme: two at once would both delete, then collide.
    Programme.objects.select_for_update().get(pk=programme.pk)
    rows = _rows_with_aliases(read_table(uploaded, required_columns=AUDIT_REQUIRED))
    indicators = {i.code.upper(): i for i in Indicator.objects.filter(programme=programme)}
    enrolments = list(Enrolment.objects.filter(programme=programme)
                      .select_related("site__organisation"))
    sites = {e.site.code.upper(): e.site for e in enrolments}
    sites_by_org: dict[str, list] = {}
    for e in enrolments:
        sites_by_org.setdefault(e.site.organisation.code.upper(), []).append(e.site)

    errors: list[RowError] = []
    values: list[IndicatorValue] = []
    seen: dict[tuple, str] = {}
    for row in rows:
        def error(column: str, message: str, row=row) -> None:
            errors.append(RowError(row.number, column, message, sheet=row.sheet))

        cells = row.cells
        site = None
        if cells.get("site_code"):
            site = sites.get(cells["site_code"].upper())
            if site is None:
                error("site_code", f"“{cells['site_code']}” is not a site in this programme.")
        elif cells.get("organisation_code"):
            matches = sites_by_org.get(cells["organisation_code"].upper(), [])
            if len(matches) == 1:
                site = matches[0]
            elif not matches:
                error("organisation_code",
                      f"“{cells['organisation_code']}” has no site in this programme.")
            else:
                error("organisation_code",
                      f"“{cells['organisation_code']}” has {len(matches)} sites in this "
                      "programme; use the site_code column to say which.")
        else:
            error("site_code", "is empty; give a site_code or an organisation_code.")

        indicator = indicators.get(cells["indicator_code"].upper())
        if indicator is None:
            known = ", ".join(sorted(indicators)) or "none yet"
            error("indicator_code", f"“{cells['indicator_code']}” is not one of this "
                  f"programme's indicators ({known}).")

        period = None
        try:
            period = parse_period(cells["period"])
        except PeriodNotRecognised as exc:
            error("period", str(exc))

        numbers = {}
        for column in ("numerator", "denominator"):
            number = _whole_number(cells[column])
            if not cells[column]:
                error(column, "is empty.")
            elif number is None:
                error(column, f"“{cells[column]}” is not a whole number.")
            elif number < 0:
                error(column, f"{number} is negative; counts of patients cannot be.")
            elif number > 10_000_000:
                error(column, f"{number:,} is more patients than any audit counts.")
            else:
                numbers[column] = number
        if numbers.get("denominator") == 0:
            error("denominator", "is 0; a figure needs at least one patient.")
        elif len(numbers) == 2 and numbers["numerator"] > numbers["denominator"]:
            error("numerator", f"{numbers['numerator']} is more than the denominator "
                  f"({numbers['denominator']}).")

        comparators = {}
        for column in ("national", "target"):
            if cells.get(column):
                value = _proportion(cells[column])
                if value is None or not 0 <= value <= 1:
                    error(column, f"“{cells[column]}” is not a percentage between 0 and 100.")
                else:
                    comparators[column] = value

        if site and indicator and period:
            key = (site.pk, indicator.pk, period.label)
            where = f"row {row.number}" + (f" of sheet “{row.sheet}”" if row.sheet else "")
            if key in seen:
                error("period", f"{site.code}, {indicator.code} and {period.label} are also "
                      f"on {seen[key]}; each once.")
            else:
                seen[key] = where
        if not errors and site and indicator and period and len(numbers) == 2:
            values.append(IndicatorValue(
                indicator=indicator, site=site, period=period.label, period_start=period.start,
                period_end=period.end, **numbers, **comparators,
            ))

    if errors:
        raise ImportFailed(errors)

    # A period is replaced indicator by indicator: a file with only some indicators for a
    # period leaves that period's other indicators as they were.
    periods = Counter(v.period for v in values)
    results = []
    for label, count in sorted(periods.items()):
        codes = sorted({v.indicator.code for v in values if v.period == label})
        replaced, _ = IndicatorValue.objects.filter(
            indicator__programme=programme, indicator__code__in=codes, period=label
        ).delete()
        results.append(PeriodImported(label, count, replaced))
        verb = "Replaced" if replaced else "Imported"
        summary = f"{verb} {label} audit data for {', '.join(codes)}: {count} values"
        if replaced:
            summary += f" (previously {replaced})"
        log_action(programme, "audit.imported", actor=user, summary=summary,
                   data={"period": label, "indicators": codes, "values": count,
                         "replaced": replaced})
    IndicatorValue.objects.bulk_create(values)
    return results


@transaction.atomic
def eligibility_run(*, programme: Programme, user: User) -> dict[str, list]:
    """Check every site awaiting the check (approved) or found ineligible before.

    Moves each to eligible or ineligible with its reasons, through the funnel service so each
    move is logged. Returns {"eligible": [...], "ineligible": [(enrolment, reasons)]}.
    """
    headline = {i.code: i.name for i in programme.indicators.filter(is_headline=True)}
    if not headline:
        raise ValueError("The programme has no headline indicators yet.")
    if not programme.baseline_period:
        raise ValueError("Set the programme's baseline period first.")
    candidates = list(
        Enrolment.objects.filter(
            programme=programme, status__in=[Enrolment.Status.APPROVED,
                                             Enrolment.Status.INELIGIBLE],
        ).select_related("site")
    )
    denominators: dict[int, dict[str, int]] = {}
    for site_id, code, denominator in IndicatorValue.objects.filter(
        indicator__programme=programme, period=programme.baseline_period,
        site__in=[e.site_id for e in candidates],
    ).values_list("site_id", "indicator__code", "denominator"):
        denominators.setdefault(site_id, {})[code] = denominator

    outcome: dict[str, list] = {"eligible": [], "ineligible": []}
    for enrolment in candidates:
        reasons = eligibility.assess(
            denominators.get(enrolment.site_id, {}), headline,
            period=programme.baseline_period, min_denominator=programme.min_denominator,
        )
        if not reasons:
            outcome["eligible"].append(enrolment)
        else:
            reason = "; ".join(reasons)
            if enrolment.status == Enrolment.Status.APPROVED:
                enrolments_move(enrolments=[enrolment], target=Enrolment.Status.INELIGIBLE,
                                user=user, reason=reason)
            elif enrolment.ineligible_reason != reason:
                enrolment.ineligible_reason = reason
                enrolment.save(update_fields=["ineligible_reason"])
                log_action(enrolment, "enrolment.reassessed", actor=user,
                           summary="Still ineligible after a new check", data={"reason": reason},
                           scopes=[programme, enrolment.site])
            outcome["ineligible"].append((enrolment, reasons))
    if outcome["eligible"]:
        enrolments_move(enrolments=outcome["eligible"], target=Enrolment.Status.ELIGIBLE,
                        user=user)
    log_action(
        programme, "eligibility.checked", actor=user,
        summary=f"Checked eligibility on {programme.baseline_period} data: "
                f"{len(outcome['eligible'])} eligible, {len(outcome['ineligible'])} not",
        data={"eligible": len(outcome["eligible"]), "ineligible": len(outcome["ineligible"])},
    )
    return outcome


@transaction.atomic
def indicator_create(*, programme: Programme, user: User, **fields) -> Indicator:
    indicator = Indicator(programme=programme, **fields)
    indicator.full_clean()
    indicator.save()
    log_action(indicator, "indicator.created", actor=user,
               summary=f"Added the indicator {indicator.code}", scopes=[programme])
    return indicator


@transaction.atomic
def indicator_update(*, indicator: Indicator, user: User, **fields) -> Indicator:
    changed = model_update(instance=indicator, data=fields)
    if changed:
        log_action(indicator, "indicator.updated", actor=user,
                   summary=changed_summary(Indicator, changed), data={"fields": changed},
                   scopes=[indicator.programme])
    return indicator
