from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.urls import reverse
from django.utils.html import format_html

from .models import ActivityLog, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "last_login"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Personal details", {"fields": ["full_name", "job_title"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups",
                               "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
        ("Personal data", {"fields": ["personal_data"]}),
    ]
    readonly_fields = ["personal_data"]

    @admin.display(description="Their data")
    def personal_data(self, obj: User) -> str:
        """A subject access request and anonymising on leaving (ilcop.views_privacy)."""
        if obj is None or obj.pk is None:
            return "-"
        return format_html('<a href="{}">Download their data</a> · <a href="{}">Anonymise</a>',
                           reverse("person_data", args=[obj.pk]),
                           reverse("person_anonymise", args=[obj.pk]))
    add_fieldsets = [(None, {"classes": ["wide"],
                             "fields": ["email", "full_name", "password1", "password2"]})]


@admin.register(ActivityLog)
class ActivityLogAdmin(admin.ModelAdmin):
    """Read-only: the log is an audit trail."""

    list_display = ["created_at", "actor", "verb", "object_repr", "summary"]
    list_filter = ["verb"]
    list_select_related = ["actor"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
