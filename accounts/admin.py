from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import AuditEvent, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "first_name", "last_name", "is_active", "is_staff"]
    list_filter = ["is_active", "is_staff", "is_superuser", "groups"]
    list_select_related = False


class ReadOnlyAdminMixin:
    """An admin that lists and shows records but never adds, changes or deletes them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: administrators read and filter; nobody edits or deletes."""

    list_display = ["at", "action", "actor_username", "object_type", "object_label", "ip_address"]
    list_filter = ["action", "object_type", ("at", admin.DateFieldListFilter)]
    search_fields = ["actor_username", "object_label", "object_id", "ip_address"]
    list_select_related = False
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
