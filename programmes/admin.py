"""The Django admin, for staff support only. Day-to-day changes go through the app's pages,
whose services write the activity log."""

from django.contrib import admin

from .models import (
    CoreTeamMembership,
    Enrolment,
    Invitation,
    Organisation,
    Programme,
    Site,
    SiteMembership,
)


class CoreTeamInline(admin.TabularInline):
    model = CoreTeamMembership
    autocomplete_fields = ["user"]
    extra = 0


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ["name", "specialty", "kind", "status", "start_date", "end_date"]
    list_filter = ["status", "kind", "specialty"]
    inlines = [CoreTeamInline]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "region", "network"]
    list_filter = ["region"]
    search_fields = ["name", "code"]


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["__str__", "code", "specialty", "mdt_day", "mdt_time"]
    list_select_related = ["organisation"]
    search_fields = ["name", "code", "organisation__name"]


@admin.register(SiteMembership)
class SiteMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "site", "role", "joined_at", "ended_at"]
    list_select_related = ["user", "site__organisation"]
    autocomplete_fields = ["user", "site"]


@admin.register(Enrolment)
class EnrolmentAdmin(admin.ModelAdmin):
    list_display = ["site", "programme", "status", "status_changed_at"]
    list_filter = ["programme", "status"]
    list_select_related = ["site__organisation", "programme"]
    readonly_fields = ["status", "status_changed_at", "status_changed_by", "withdrawn_from"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["full_name", "programme", "site", "status", "sent_at"]
    list_filter = ["status"]
    exclude = ["nonce"]
    readonly_fields = ["status", "sent_at", "accepted_at", "accepted_by"]
