from django import template
from django.utils.html import format_html

from ilcop.concurrency import FORM_TOKEN_FIELD, new_form_token

register = template.Library()


@register.simple_tag
def form_token() -> str:
    """A create form's one-time token (see ilcop.concurrency.single_submission): put it
    inside every form whose POST makes something new, beside {% csrf_token %}."""
    return format_html('<input type="hidden" name="{}" value="{}">', FORM_TOKEN_FIELD,
                       new_form_token())
