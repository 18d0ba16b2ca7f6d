from django import template

register = template.Library()


@register.filter
def percent(proportion, places: int = 1) -> str:
    """0.7843 → "78.4%". Empty for a missing value."""
    if proportion is None or proportion == "":
        return ""
    return f"{float(proportion) * 100:.{int(places)}f}%"
