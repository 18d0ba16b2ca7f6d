from django import template

register = template.Library()


@register.filter
def percent(proportion, places: int = 1) -> str:
    """0.7843 → "78.4%". Empty for a missing value."""
    if proportion is None or proportion == "":
        return ""
    return f"{float(proportion) * 100:.{int(places)}f}%"


@register.filter
def get_item(mapping, key):
    """{{ answers|get_item:person.pk }}: a dictionary lookup by a variable key."""
    return mapping.get(key) if mapping else None
