"""Entering a measure's data: one period at a time, pasted from a spreadsheet, or imported
from a CSV. Pasting and importing are all or nothing, with each problem named by its row and
column."""

import calendar
import datetime
import re
import uuid

from django.db import transaction

from ilcop.activity import log_action
from ilcop.imports import ImportFailed, Row, RowError, read_table
from ilcop.models import User

from ..models import Measure, Measurement

_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
_MONTH_NAME = re.compile(r"^([a-z]{3})[a-z]*[\s-]+(\d{2}|\d{4})$")
_YEAR_MONTH = re.compile(r"^(\d{4})[-/](\d{1,2})$")
_MONTH_YEAR = re.compile(r"^(\d{1,2})[-/](\d{4})$")
_QUARTER = re.compile(r"^(\d{4})\s*[-/ ]?\s*q([1-4])$")


class NotAPeriod(ValueError):
    pass


def parse_period(text: str, frequency: str) -> datetime.date:
    """The first day of the period a cell names: "2026-03", "Mar 2026", "March 26",
    "03/2026", "2026 Q1" or a date (for weekly data, the Monday of its week)."""
    cleaned = " ".join(text.strip().lower().split())
    day = None
    # The last pattern is how a date cell of an Excel workbook reads as text.
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S"):
        try:
            day = datetime.datetime.strptime(cleaned, pattern).date()  # noqa: DTZ007 - a date
            break
        except ValueError:
            pass
    if day is None:
        if m := _YEAR_MONTH.match(cleaned):
            year, month = int(m[1]), int(m[2])
        elif m := _MONTH_YEAR.match(cleaned):
            month, year = int(m[1]), int(m[2])
        elif (m := _MONTH_NAME.match(cleaned)) and m[1] in _MONTHS:
            month, year = _MONTHS[m[1]], int(m[2]) + (2000 if len(m[2]) == 2 else 0)
        elif m := _QUARTER.match(cleaned):
            year, month = int(m[1]), 3 * int(m[2]) - 2
        else:
            raise NotAPeriod(f"“{text}” is not a period. Write a month as 2026-03 or Mar 2026,"
                             " or give the date the period starts, such as 02/03/2026.")
        if not 1 <= month <= 12:
            raise NotAPeriod(f"“{text}” has no month {month}.")
        if not 2000 <= year <= 2100:
            raise NotAPeriod(f"“{text}”: check the year.")
        day = datetime.date(year, month, 1)
    if not 2000 <= day.year <= 2100:
        raise NotAPeriod(f"“{text}”: check the year.")
    if frequency == Measure.Frequency.WEEKLY:
        return day - datetime.timedelta(days=day.weekday())
    if frequency == Measure.Frequency.QUARTERLY:
        return datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return day.replace(day=1)


# More patients than any team sees in a period: a typo, not a count.
MAX_COUNT = 1_000_000
# Values beyond this are typos too, and would break the chart's scale.
MAX_VALUE = 1e9


def _whole(text: str) -> int | None:
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        return None
    if number != number or not 0 <= number <= MAX_COUNT:
        return None
    return int(number) if number.is_integer() else None


def _check(measure: Measure, rows: list[Row]) -> list[Measurement]:
    errors: list[RowError] = []
    values: list[Measurement] = []
    seen: dict[datetime.date, int] = {}
    today = datetime.date.today()  # noqa: DTZ011 - periods are calendar dates
    for row in rows:
        def error(column: str, message: str, row=row) -> None:
            errors.append(RowError(row.number, column, message, sheet=row.sheet))

        cells = row.cells
        period = None
        try:
            period = parse_period(cells.get("period", ""), measure.frequency)
        except NotAPeriod as exc:
            error("period", str(exc))
        else:
            if period > today:
                error("period", f"{period:%B %Y} has not started yet.")
            elif period in seen:
                error("period", f"{period:%B %Y} is also on row {seen[period]}.")
            seen.setdefault(period, row.number)
        if measure.is_percentage:
            numbers = {}
            for column in ("numerator", "denominator"):
                text = cells.get(column, "")
                number = _whole(text) if text else None
                if not text:
                    error(column, "is empty.")
                elif number is None:
                    error(column, f"“{text}” is not a whole number of patients (0 to "
                                  f"{MAX_COUNT:,}).")
                else:
                    numbers[column] = number
            if numbers.get("denominator") == 0:
                error("denominator", "is 0; a percentage needs at least one patient.")
            elif len(numbers) == 2 and numbers["numerator"] > numbers["denominator"]:
                error("numerator", f"{numbers['numerator']} is more than the denominator "
                      f"({numbers['denominator']}).")
            if period and len(numbers) == 2 and numbers["denominator"]:
                values.append(Measurement(measure=measure, period=period, **numbers))
        else:
            text = cells.get("value", "")
            try:
                value = float(text.replace(",", ""))
            except ValueError:
                error("value", f"“{text}” is not a number." if text else "is empty.")
            else:
                if value != value or abs(value) > MAX_VALUE:
                    error("value", f"“{text}” is not a number the chart can use.")
                elif period:
                    values.append(Measurement(measure=measure, period=period, value=value))
    if errors:
        raise ImportFailed(errors)
    return values


def columns_for(measure: Measure) -> list[str]:
    return ["period", "numerator", "denominator"] if measure.is_percentage else \
        ["period", "value"]


@transaction.atomic
def _save(measure: Measure, user: User, values: list[Measurement], how: str) -> int:
    Measure.objects.select_for_update().get(pk=measure.pk)
    if not measure.plan.is_editable:
        raise ImportFailed([RowError(None, "file", "cannot be added: the plan is completed "
                                     "or stopped.")])
    for value in values:
        Measurement.objects.update_or_create(
            measure=measure, period=value.period,
            defaults={"numerator": value.numerator, "denominator": value.denominator,
                      "value": value.value, "entered_by": user})
    # New data, so a new chart: the cache key reads this instead of the points.
    measure.data_version = uuid.uuid4()
    Measure.objects.filter(pk=measure.pk).update(data_version=measure.data_version)
    plan = measure.plan
    log_action(plan, "qip.data_entered", actor=user, scopes=[plan.programme, plan.site],
               summary=f"{how} {len(values)} value{'s' if len(values) != 1 else ''} for "
                       f"{measure.name[:80]}")
    return len(values)


def measurements_import(*, measure: Measure, user: User, uploaded) -> int:
    """A CSV or Excel file with a row per period. Replaces any value already held for a
    period it gives."""
    rows = read_table(uploaded, required_columns=columns_for(measure))
    return _save(measure, user, _check(measure, rows), "Imported")


def measurements_paste(*, measure: Measure, user: User, text: str) -> int:
    """Rows copied from a spreadsheet: the columns of columns_for(measure), in that order,
    separated by tabs or commas, with or without a header row."""
    columns = columns_for(measure)
    lines = text.splitlines()
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        cells = [c.strip() for c in re.split(r"\t|,(?=\s*\S)|;", line)]
        if number == 1 and cells and cells[0].lower() == "period":
            continue
        if len(cells) != len(columns):
            raise ImportFailed([RowError(number, "file", f"has {len(cells)} values; each "
                                         f"line needs {len(columns)}: "
                                         + ", ".join(columns) + ".")])
        rows.append(Row(None, number, dict(zip(columns, cells, strict=True))))
    if not rows:
        raise ImportFailed([RowError(None, "file", "is empty: paste at least one line.")])
    return _save(measure, user, _check(measure, rows), "Pasted")
