from django.forms.renderers import TemplatesSetting


class NhsukFormRenderer(TemplatesSetting):
    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"
