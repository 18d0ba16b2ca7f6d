"""Sorting and paging for the core team's lists, kept in the query string.

A filtered, sorted list is a URL: the dashboard links straight to it, and the core team can
bookmark it or send it to a colleague. Each list names the columns it sorts by; anything else
in `?sort=` falls back to the list's default, never to an error.
"""

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.http import QueryDict

PAGE_SIZE = 50


@dataclass(frozen=True)
class Sorting:
    key: str
    descending: bool
    allowed: tuple[str, ...]

    @property
    def param(self) -> str:
        return f"-{self.key}" if self.descending else self.key


def sorting_from(query: QueryDict, allowed: Sequence[str], default: str) -> Sorting:
    """`?sort=date` or `?sort=-date`; an unknown column gives the default."""
    value = query.get("sort", "")
    descending = value.startswith("-")
    key = value.removeprefix("-")
    if key not in allowed:
        descending = default.startswith("-")
        key = default.removeprefix("-")
    return Sorting(key, descending, tuple(allowed))


def sort_rows(rows: Iterable[Any], sorting: Sorting,
              keys: dict[str, Callable[[Any], Any]]) -> list[Any]:
    """Sort rows already in memory. Missing values (None) go last whichever the direction,
    as a spreadsheet does."""
    key = keys[sorting.key]
    present = [row for row in rows if key(row) is not None]
    missing = [row for row in rows if key(row) is None]
    return sorted(present, key=key, reverse=sorting.descending) + missing


def query_without(query: QueryDict, *names: str) -> str:
    """The query string minus some parameters (and never the page), for links that change
    one setting and keep the rest."""
    kept = [(name, value) for name, values in query.lists() if name not in (*names, "page")
            for value in values]
    return urlencode(kept)


def iso_date(text: str):
    """A date from `?from=2026-11-24`; None for anything else, so a mistyped date widens the
    list rather than failing it."""
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def search_text(query: QueryDict, name: str = "q") -> str:
    """What was typed in a list's search box, made safe for a LIKE query: a NUL byte is
    refused by PostgreSQL, and nobody searches with more than a hundred characters."""
    return query.get(name, "").replace("\x00", "").strip()[:100]


def page_of(rows, query: QueryDict, size: int = PAGE_SIZE) -> Page:
    return Paginator(rows, size).get_page(query.get("page"))
