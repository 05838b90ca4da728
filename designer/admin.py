from django.contrib import admin
from django.http import HttpRequest

from designer.models import LoginToken, Share, Topology, TopologyRevision


class ShareInline(admin.TabularInline):
    model = Share
    extra = 0


class CreatedByTheAppOnly(admin.ModelAdmin):
    """Rows the app writes itself: the admin may look and delete, not add (every field is
    read-only, so an add form could only fail on a NOT NULL column)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Topology)
class TopologyAdmin(CreatedByTheAppOnly):
    list_display = ["name", "slug", "owner", "version", "run_state", "updated_at"]
    search_fields = ["name", "slug", "owner__username"]
    # The document changes only through save_document (validated, with a revision); name and
    # description are copies of its header.
    readonly_fields = ["name", "description", "document", "version", "created_at", "updated_at"]
    inlines = [ShareInline]


@admin.register(TopologyRevision)
class TopologyRevisionAdmin(CreatedByTheAppOnly):
    list_display = ["topology", "number", "author", "message", "created_at"]
    readonly_fields = ["topology", "number", "document", "author", "message", "created_at"]


@admin.register(LoginToken)
class LoginTokenAdmin(CreatedByTheAppOnly):
    list_display = ["user", "created_at", "expires_at", "used_at"]
    readonly_fields = ["user", "token_hash", "created_at", "expires_at", "used_at"]
