"""The editor page and the endpoints its canvas calls: inspector forms, field checks, draft lint,
auto-layout, the revision panel and restore. Saving goes through ``views.document``."""

from __future__ import annotations

import json
import time
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from designer.forms import TARGETS, ConfigForm, TopologyForm, kind_for
from designer.layout import layered_layout
from designer.models import StaleVersion
from designer.views import errors_payload, get_topology
from runtime import graph
from runtime import spec as topology_spec
from runtime.nodes import GROUPS, KINDS
from runtime.spec import SpecError


def client_kinds() -> dict[str, Any]:
    """What the canvas needs to draw and wire nodes, with the server's own refusal texts."""
    return {
        "kinds": {name: kind.to_dict() for name, kind in KINDS.items()},
        "groups": list(GROUPS),
        "wiring": {
            source: {
                target: graph.wiring_problem(source, target)
                for target in KINDS
                if graph.wiring_problem(source, target)
            }
            for source in KINDS
        },
        "articles": {name: graph.article(name) for name in KINDS},
        "limits": {
            "max_nodes": topology_spec.MAX_NODES,
            "max_edges": topology_spec.MAX_EDGES,
            "max_label": topology_spec.MAX_LABEL,
            "max_coordinate": topology_spec.MAX_COORDINATE,
            "id_pattern": topology_spec.ID_PATTERN.pattern,
        },
    }


@require_GET
def editor(request: HttpRequest, pk: int) -> HttpResponse:
    topology = get_topology(request, pk)
    spec = topology.to_spec()
    urls = {
        "document": reverse("designer:document", args=[pk]),
        "lint": reverse("designer:draft-lint", args=[pk]),
        "check": reverse("designer:check-field", args=[pk]),
        "layout": reverse("designer:layout", args=[pk]),
        "inspector": reverse("designer:inspector", args=[pk]),
        "revisions": reverse("designer:revision-panel", args=[pk]),
        "revision": reverse("designer:revision", args=[pk, 0]).replace("/0/", "/{n}/"),
        "diff": reverse("designer:revision-diff", args=[pk]),
        "restore": reverse("designer:restore-json", args=[pk, 0]).replace("/0/", "/{n}/"),
        "index": reverse("designer:index"),
    }
    palette = [
        (group, [KINDS[name] for name in KINDS if KINDS[name].group == group]) for group in GROUPS
    ]
    context = {
        "topology": topology,
        "spec": spec,
        "can_edit": topology.can_edit(request.user),
        "palette": palette,
        "boot": {
            **client_kinds(),
            "topology": {"id": topology.pk, "version": topology.version},
            "document": topology.document,
            "lint": [finding.to_dict() for finding in graph.lint(spec)],
            "urls": urls,
            "can_edit": topology.can_edit(request.user),
        },
        "revisions": topology.revisions.select_related("author")[:50],
    }
    return render(request, "designer/editor.html", context)


# --- the inspector ------------------------------------------------------------------------------


def _json_param(request: HttpRequest, name: str, default: Any) -> Any:
    try:
        return json.loads(request.POST.get(name, ""))
    except json.JSONDecodeError:
        return default


def _inspector_context(request: HttpRequest, pk: int) -> tuple[dict[str, Any], Any]:
    """Builds the form for the posted target: loading an item's values, or validating edits."""
    target = request.POST.get("target", "")
    applying = request.POST.get("mode") == "apply"
    context: dict[str, Any] = {
        "target": target,
        "item_id": request.POST.get("id", ""),
        "source": request.POST.get("source", ""),
        "target_node": request.POST.get("target_node", ""),
        "applying": applying,
        "pk": pk,
    }
    if target == "topology":
        item = _json_param(request, "item", {})
        if applying:
            form: Any = TopologyForm(request.POST)
        else:
            form = TopologyForm(
                initial={"name": item.get("name", ""), "description": item.get("description", "")}
            )
        context["form"] = form
        return context, form
    kind = kind_for(request.POST.get("kind"))
    if target not in TARGETS or kind is None:
        context["problem"] = "Select a node or an edge to edit it."
        return context, None
    context["kind"] = kind
    check_url = reverse("designer:check-field", args=[pk])
    if applying:
        form = ConfigForm(kind, target, request.POST, check_url=check_url)
    else:
        item = _json_param(request, "item", {})
        config = item.get("config") if isinstance(item.get("config"), dict) else {}
        label = str(item.get("label", ""))
        form = ConfigForm(kind, target, label=label, config=config, check_url=check_url)
    context["form"] = form
    return context, form


@require_POST
def inspector(request: HttpRequest, pk: int) -> HttpResponse:
    """The inspector form (htmx fragment). With mode=apply the posted values are validated and
    only the messages beside the fields come back (out-of-band swaps, so nothing being typed is
    replaced), with a ``flowyard:apply`` event telling the canvas what to store."""
    topology = get_topology(request, pk)
    context, form = _inspector_context(request, pk)
    context["can_edit"] = topology.can_edit(request.user)
    detail: dict[str, Any] | None = None
    if form is not None and context["applying"]:
        valid = form.is_valid()
        if isinstance(form, TopologyForm):
            detail = {"ok": valid, **(form.cleaned_data if valid else {})}
        else:
            detail = form.result()
        detail.update(what=context["target"], id=context["item_id"])
    if detail is None:
        return render(request, "designer/editor.html#inspector", context)
    response = render(request, "designer/editor.html#inspector-errors", context)
    trigger_client_event(response, "flowyard:apply", detail)
    return response


@require_POST
def check_field(request: HttpRequest, pk: int) -> HttpResponse:
    """Validates the whole form but answers for one field: the JSON editors' check as you type."""
    get_topology(request, pk)
    _, form = _inspector_context(request, pk)
    name = request.POST.get("_field", "")
    if not isinstance(form, ConfigForm) or name not in form.fields:
        return HttpResponse("", status=400)
    form.is_valid()
    errors = form.errors.get(name)
    if errors:
        return HttpResponse(
            format_html('<span class="field-error" role="alert">{}</span>', " ".join(errors))
        )
    return HttpResponse(format_html('<span class="field-ok">{}</span>', "✓ valid"))


# --- draft lint and layout ----------------------------------------------------------------------


def _draft(request: HttpRequest) -> tuple[Any, JsonResponse | None]:
    try:
        payload = topology_spec.decode(request.body)
    except SpecError as error:
        return None, JsonResponse({"error": error.errors[0][1], "errors": []}, status=400)
    document = payload.get("document", payload) if isinstance(payload, dict) else payload
    return document, None


@require_POST
def draft_lint(request: HttpRequest, pk: int) -> HttpResponse:
    """Lints the canvas's unsaved document; an invalid document gives its errors instead."""
    get_topology(request, pk)
    document, problem = _draft(request)
    if problem:
        return problem
    try:
        spec = topology_spec.load(document)
    except SpecError as error:
        return JsonResponse(
            {"error": "The topology is not valid.", "errors": errors_payload(error)}, status=400
        )
    return JsonResponse({"lint": [finding.to_dict() for finding in graph.lint(spec)]})


@require_POST
def layout(request: HttpRequest, pk: int) -> HttpResponse:
    """Positions for a left-to-right layered layout of the posted nodes and edges."""
    get_topology(request, pk)
    document, problem = _draft(request)
    if problem:
        return problem
    if not isinstance(document, dict):
        return JsonResponse({"error": "Send the document."}, status=400)
    nodes = [n for n in document.get("nodes") or [] if isinstance(n, dict) and "id" in n]
    if len(nodes) > topology_spec.MAX_NODES:
        return JsonResponse({"error": "Too many nodes to lay out."}, status=400)
    edges = [
        (str(e.get("source")), str(e.get("target")))
        for e in document.get("edges") or []
        if isinstance(e, dict)
    ]
    started = time.perf_counter()
    positions = layered_layout([str(node["id"]) for node in nodes], edges)
    elapsed = (time.perf_counter() - started) * 1000
    return JsonResponse(
        {"positions": {key: [x, y] for key, (x, y) in positions.items()}, "ms": round(elapsed, 2)}
    )


# --- revisions ----------------------------------------------------------------------------------


@require_GET
def revision_panel(request: HttpRequest, pk: int) -> HttpResponse:
    topology = get_topology(request, pk)
    context = {
        "topology": topology,
        "revisions": topology.revisions.select_related("author")[:50],
        "can_edit": topology.can_edit(request.user),
    }
    return render(request, "designer/editor.html#revision-list", context)


@require_POST
def restore_json(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """Restores a revision as a new version and returns it, for the editor's history panel."""
    topology = get_topology(request, pk, need="edit")
    get_object_or_404(topology.revisions, number=number)
    try:
        base_version = int(request.POST.get("version", ""))
    except ValueError:
        return JsonResponse({"error": "Send the version you are editing."}, status=400)
    try:
        revision = topology.restore(number, base_version=base_version, author=request.user)
    except StaleVersion as conflict:
        return JsonResponse(
            {"error": str(conflict), "current_version": conflict.current}, status=409
        )
    findings = [finding.to_dict() for finding in graph.lint(topology.to_spec())]
    return JsonResponse(
        {"version": revision.number, "document": revision.document, "lint": findings}
    )
