from django import template
from django.forms.boundfield import BoundField
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def as_field_group_without_placeholder(field: BoundField) -> SafeString:
    """The field's NHS.UK form group, with the widget's placeholder dropped.

    allauth's forms repeat each label as a placeholder, which looks like text already typed in
    and which the NHS.UK design system advises against. Only this form instance's widget is
    changed: Django copies fields and widgets for every form instance.
    """
    field.field.widget.attrs.pop("placeholder", None)
    return field.as_field_group()
