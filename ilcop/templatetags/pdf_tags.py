from django import template
from django.utils.safestring import mark_safe

from ilcop.pdf import static_file

register = template.Library()


@register.simple_tag
def pdf_stylesheet() -> str:
    """The PDF stylesheet, inline. A visit report's HTML is stored when it is approved and may
    be drawn again long after (a retry, a version regenerated): a link to the stylesheet would
    name a file that a later deploy, with its newly hashed static names, no longer has."""
    css = static_file("css/pdf.css").read_text()
    return mark_safe(f"<style>\n{css}\n</style>")  # noqa: S308 - our own static file
