from django.urls import path

from designer import editor, share_views, views

app_name = "designer"

urlpatterns = [
    path("", views.index, name="index"),
    path("topologies/new/", views.create, name="create"),
    path("topologies/import/", views.import_document, name="import"),
    path("topologies/<int:pk>/", editor.editor, name="editor"),
    path("topologies/<int:pk>/inspector/", editor.inspector, name="inspector"),
    path("topologies/<int:pk>/inspector/check/", editor.check_field, name="check-field"),
    path("topologies/<int:pk>/layout/", editor.layout, name="layout"),
    path("topologies/<int:pk>/lint/draft/", editor.draft_lint, name="draft-lint"),
    path("topologies/<int:pk>/revisions/panel/", editor.revision_panel, name="revision-panel"),
    path("topologies/<int:pk>/document/", views.document, name="document"),
    path("topologies/<int:pk>/export.json", views.export_json, name="export-json"),
    path("topologies/<int:pk>/lint/", views.lint, name="lint"),
    path("topologies/<int:pk>/rename/", views.rename, name="rename"),
    path("topologies/<int:pk>/duplicate/", views.duplicate, name="duplicate"),
    path("topologies/<int:pk>/delete/", views.delete, name="delete"),
    path("topologies/<int:pk>/revisions/", views.revisions, name="revisions"),
    path("topologies/<int:pk>/revisions/diff/", views.revision_diff, name="revision-diff"),
    path(
        "topologies/<int:pk>/revisions/<int:number>/",
        views.revision_document,
        name="revision",
    ),
    path(
        "topologies/<int:pk>/revisions/<int:number>/restore/",
        views.restore,
        name="restore",
    ),
    path(
        "topologies/<int:pk>/revisions/<int:number>/restore.json",
        editor.restore_json,
        name="restore-json",
    ),
]

# Sharing lives in its own module; the owner manages who may read or edit.
urlpatterns += [
    path("topologies/<int:pk>/sharing/", share_views.sharing, name="sharing"),
    path("topologies/<int:pk>/sharing/add/", share_views.share, name="share"),
    path(
        "topologies/<int:pk>/sharing/<int:user_id>/remove/",
        share_views.unshare,
        name="unshare",
    ),
]

# Export downloads and ASL/CloudFormation imports live in their own module.
from designer import export_views  # noqa: E402

urlpatterns += [
    path("topologies/<int:pk>/export/<str:fmt>/", export_views.export_topology, name="export"),
    path("topologies/import/file/", export_views.import_file, name="import-file"),
]
