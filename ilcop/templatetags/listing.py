from django import template
from django.utils.html import format_html

from ilcop.listing import Sorting, query_without

register = template.Library()


@register.simple_tag(takes_context=True)
def sortable_header(context, sorting: Sorting, key: str, label: str, numeric: bool = False):
    """A column heading that sorts the list by that column, keeping every filter.

    aria-sort tells screen readers which column the list is sorted by (WAI-ARIA 1.2, the
    sortable table pattern); the link says what selecting it will do."""
    request = context["request"]
    current = sorting.key == key
    descending_next = current and not sorting.descending
    rest = query_without(request.GET, "sort")
    href = "?" + "&".join(filter(None, [rest, f"sort={'-' if descending_next else ''}{key}"]))
    state = ("descending" if sorting.descending else "ascending") if current else "none"
    classes = "nhsuk-table__header" + (" nhsuk-table__header--numeric" if numeric else "")
    next_order = "descending" if descending_next else "ascending"
    return format_html(
        '<th scope="col" class="{}" aria-sort="{}"><a class="app-sort" href="{}">{}'
        '<span class="nhsuk-u-visually-hidden">, sort {}</span></a></th>',
        classes, state, href, label, next_order)


@register.simple_tag(takes_context=True)
def page_link(context, number: int) -> str:
    """The current list's URL for another page, keeping filters and sorting."""
    rest = query_without(context["request"].GET)
    return "?" + "&".join(filter(None, [rest, f"page={number}"]))
