"""The Django admin, for staff support. A programme's visit-day agenda template is edited here
until it has its own page; visits copy it when their agenda is first set up, so a change
affects later visits only."""

from django.contrib import admin

from .models import AgendaTemplate, AgendaTemplateItem, ObservationForm, Visit


class AgendaTemplateItemInline(admin.TabularInline):
    model = AgendaTemplateItem
    extra = 0
    fields = ["order", "kind", "title", "minutes", "guidance"]


@admin.register(AgendaTemplate)
class AgendaTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "programme", "is_default"]
    inlines = [AgendaTemplateItemInline]


@admin.register(ObservationForm)
class ObservationFormAdmin(admin.ModelAdmin):
    """Read-only: changing a definition in place would change the meaning of the answers
    already given. New versions are made with visits.services.observation."""

    list_display = ["title", "programme", "version", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Visit)
class VisitAdmin(admin.ModelAdmin):
    list_display = ["__str__", "programme", "status", "date", "facilitator"]
    list_filter = ["status", "programme"]
    list_select_related = ["host__organisation", "visitor__organisation", "programme",
                           "facilitator"]
    readonly_fields = ["status", "uid", "sequence"]
