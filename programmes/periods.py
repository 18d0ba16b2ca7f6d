"""Audit periods as people write them in spreadsheets.

Pure Python. Each label is normalised and given its first and last day, so every figure can
say how recent it is (PRODUCT.md: every figure shows its period and how recent it is).
"""

import calendar
import datetime
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Period:
    label: str
    start: datetime.date
    end: datetime.date


class PeriodNotRecognised(ValueError):
    pass


_YEAR = re.compile(r"^(\d{4})$")
# NHS financial years run 1 April to 31 March: "2025/26", "2025-26", "FY2025/26".
_FINANCIAL = re.compile(r"^(?:fy\s*)?(\d{4})\s*[/-]\s*(\d{2}|\d{4})$")
_QUARTER = re.compile(r"^(\d{4})\s*[-/ ]?\s*q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def _month_end(year: int, month: int) -> datetime.date:
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


def parse_period(text: str) -> Period:
    """"2025" (calendar year), "2025/26" (financial year), "2025 Q1" or "2025-Q1" (calendar
    quarter) or "2025-03" (month)."""
    compact = " ".join(str(text).strip().lower().split())
    if match := _YEAR.match(compact):
        year = int(match[1])
        return Period(str(year), datetime.date(year, 1, 1), datetime.date(year, 12, 31))
    if (match := _FINANCIAL.match(compact)) and int(match[2][-2:]) == (int(match[1]) + 1) % 100:
        year = int(match[1])
        return Period(f"{year}/{(year + 1) % 100:02d}", datetime.date(year, 4, 1),
                      datetime.date(year + 1, 3, 31))
    if match := _QUARTER.match(compact):
        year, quarter = int(match[1]), int(match[2])
        first_month = 3 * quarter - 2
        return Period(f"{year} Q{quarter}", datetime.date(year, first_month, 1),
                      _month_end(year, first_month + 2))
    if (match := _MONTH.match(compact)) and 1 <= int(match[2]) <= 12:
        year, month = int(match[1]), int(match[2])
        return Period(f"{year}-{month:02d}", datetime.date(year, month, 1),
                      _month_end(year, month))
    raise PeriodNotRecognised(
        f"“{text}” is not a period we recognise. Use a year (2025), a financial year "
        "(2025/26), a quarter (2025 Q1) or a month (2025-03)."
    )


def age_in_months(end: datetime.date, today: datetime.date) -> int:
    """Whole months from the end of the period to today (0 if it has not ended)."""
    months = (today.year - end.year) * 12 + today.month - end.month
    last_day = calendar.monthrange(today.year, today.month)[1]
    # A period ending on a month's last day comes of age on each later month's last day.
    ends_month = end.day == calendar.monthrange(end.year, end.month)[1]
    anniversary = last_day if ends_month else min(end.day, last_day)
    if today.day < anniversary:
        months -= 1
    return max(0, months)
