from django.contrib import admin

from designer.models import LoginToken, Share, Topology, TopologyRevision


class ShareInline(admin.TabularInline):
    model = Share
    extra = 0


@admin.register(Topology)
class TopologyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "owner", "version", "run_state", "updated_at"]
    search_fields = ["name", "slug", "owner__username"]
    readonly_fields = ["version", "created_at", "updated_at"]
    inlines = [ShareInline]


@admin.register(TopologyRevision)
class TopologyRevisionAdmin(admin.ModelAdmin):
    list_display = ["topology", "number", "author", "message", "created_at"]
    readonly_fields = ["topology", "number", "document", "author", "message", "created_at"]


@admin.register(LoginToken)
class LoginTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at", "expires_at", "used_at"]
    readonly_fields = ["user", "token_hash", "created_at", "expires_at", "used_at"]
