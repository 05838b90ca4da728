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
    *(
        path(
            f"topologies/<int:pk>/export/{fmt}/",
            export_views.export_topology,
            {"fmt": fmt},
            name=f"export-as-{fmt}",
        )
        for fmt in export_views.EXPORT_FORMATS
    ),
    path("topologies/import/file/", export_views.import_file, name="import-file"),
]

# Running a topology: the run toolbar, Send, the inspector drawer's panels and the metrics page.
from designer import run_views  # noqa: E402

urlpatterns += [
    path("runs/states.json", run_views.run_states, name="run-states"),
    path("topologies/<int:pk>/run/", run_views.run_toolbar, name="run-toolbar"),
    path("topologies/<int:pk>/run/deploy/", run_views.deploy, name="run-deploy"),
    path("topologies/<int:pk>/run/redeploy/", run_views.redeploy, name="run-redeploy"),
    path("topologies/<int:pk>/run/stop/", run_views.stop, name="run-stop"),
    path("topologies/<int:pk>/run/pause/", run_views.pause, name="run-pause"),
    path("topologies/<int:pk>/run/resume/", run_views.resume, name="run-resume"),
    path("topologies/<int:pk>/run/reset/", run_views.reset, name="run-reset"),
    path(
        "topologies/<int:pk>/run/reset/confirm/",
        run_views.reset_confirm,
        name="run-reset-confirm",
    ),
    path("topologies/<int:pk>/run/send/", run_views.send, name="run-send"),
    path("topologies/<int:pk>/run/rate/", run_views.set_rate, name="run-rate"),
    path("topologies/<int:pk>/run/samples/<str:node_id>/", run_views.samples, name="run-samples"),
    path(
        "topologies/<int:pk>/run/samples/<str:node_id>/save/",
        run_views.save_sample,
        name="run-sample-save",
    ),
    path(
        "topologies/<int:pk>/run/samples/<str:node_id>/<int:sample_id>/delete/",
        run_views.delete_sample,
        name="run-sample-delete",
    ),
    path("topologies/<int:pk>/run/inspect/<str:node_id>/", run_views.inspect, name="run-inspect"),
    path(
        "topologies/<int:pk>/run/messages/<str:node_id>/",
        run_views.node_messages,
        name="run-messages",
    ),
    path(
        "topologies/<int:pk>/run/messages/<str:node_id>/clear/",
        run_views.clear_messages,
        name="run-messages-clear",
    ),
    path("topologies/<int:pk>/run/trace/<str:trace_id>/", run_views.trace, name="run-trace"),
    path("topologies/<int:pk>/run/queue/<str:node_id>/", run_views.queue_panel, name="run-queue"),
    path(
        "topologies/<int:pk>/run/queue/<str:node_id>/redrive/",
        run_views.redrive,
        name="run-redrive",
    ),
    path(
        "topologies/<int:pk>/run/stream/<str:node_id>/", run_views.stream_panel, name="run-stream"
    ),
    path(
        "topologies/<int:pk>/run/executions/<str:node_id>/",
        run_views.executions_panel,
        name="run-executions",
    ),
    path("topologies/<int:pk>/run/pattern-test/", run_views.pattern_test, name="run-pattern-test"),
    path("topologies/<int:pk>/metrics/", run_views.metrics, name="run-metrics"),
]

# A state machine's page: ASL editor and graph, executions and the execution view.
from designer import asl_views  # noqa: E402

_machine = "topologies/<int:pk>/nodes/<str:node_id>/state-machine/"
urlpatterns += [
    path(_machine, asl_views.state_machine, name="state-machine"),
    path(f"{_machine}validate/", asl_views.check, name="asl-validate"),
    path(f"{_machine}save/", asl_views.save, name="asl-save"),
    path(f"{_machine}start/", asl_views.start, name="asl-start"),
    path(f"{_machine}executions/", asl_views.executions, name="asl-executions"),
    path(f"{_machine}executions/<str:name>/", asl_views.execution, name="asl-execution"),
    path(f"{_machine}executions/<str:name>/callback/", asl_views.callback, name="asl-callback"),
    path(f"{_machine}executions/<str:name>/stop/", asl_views.stop, name="asl-stop"),
]
