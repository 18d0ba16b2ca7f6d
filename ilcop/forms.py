from django.forms import Field
from django.forms.renderers import TemplatesSetting


class NhsukFormRenderer(TemplatesSetting):
    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"


class PlainErrorMessagesMixin:
    """Replace "This field is required." with a message that names the field.

    The NHS.UK design system asks for error messages that say what to do, such as
    "Enter the full name" or "Select the role" (service-manual.nhs.uk, error message).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.name_required_errors()

    def name_required_errors(self) -> None:
        default = Field.default_error_messages["required"]
        for field in self.fields.values():
            label = str(field.label or "").strip()
            if not label or field.error_messages.get("required") != default:
                continue
            verb = "Select" if hasattr(field, "choices") else "Enter"
            what = label[0].lower() + label[1:] if not label[:2].isupper() else label
            field.error_messages["required"] = f"{verb} the {what}"
