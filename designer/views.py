"""Pages and endpoints of the designer: the topology list, the editor, documents and revisions."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from designer.diff import diff_documents
from designer.models import StaleVersion, Topology
from runtime import graph
from runtime import spec as topology_spec
from runtime.spec import SpecError


def get_topology(request: HttpRequest, pk: int, *, need: str = "read") -> Topology:
    """The topology if this user may `need` it; 404 when they may not even see it."""
    topology = get_object_or_404(Topology.objects.visible_to(request.user), pk=pk)
    if need == "edit" and not topology.can_edit(request.user):
        raise PermissionDenied("You can view this topology but not change it.")
    if need == "owner" and topology.owner_id != request.user.pk:
        raise PermissionDenied("Only the owner can do this.")
    return topology


def errors_payload(error: SpecError) -> list[dict[str, str]]:
    return [{"pointer": pointer, "message": message} for pointer, message in error.errors]


def safe_next(request: HttpRequest) -> str | None:
    """The POSTed `next` address when it stays on this site (never an open redirect)."""
    target = request.POST.get("next", "")
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and allowed else None


# --- login by one-time link -----------------------------------------------------------------


@login_not_required
@require_GET
def token_login(request: HttpRequest, token: str) -> HttpResponse:
    user = authenticate(request, login_token=token)
    if user is None:
        messages.error(
            request,
            "That login link is invalid, used or expired. Run `make run` (or `python manage.py "
            "login_link`) for a new one.",
        )
        return redirect("login")
    login(request, user, backend="designer.auth.LoginTokenBackend")
    return redirect("designer:index")


# --- the topology list ------------------------------------------------------------------------


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    topologies = Topology.objects.visible_to(request.user).select_related("owner")
    if query:
        topologies = topologies.filter(
            Q(name__icontains=query) | Q(description__icontains=query) | Q(slug__icontains=query)
        )
    context = {"topologies": topologies, "query": query}
    # The search pushes its URL: htmx restoring that history entry asks for the whole page.
    rows_only = request.htmx and not request.htmx.history_restore_request
    template = "designer/index.html#topology-rows" if rows_only else "designer/index.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request", "HX-History-Restore-Request"])
    return response


@require_POST
def create(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "").strip() or "Untitled topology"
    document = {"schema": topology_spec.SCHEMA, "name": name, "nodes": [], "edges": []}
    try:
        topology = Topology.create_from_document(request.user, document)
    except SpecError as error:
        messages.error(request, f"Could not create the topology: {error}")
        return redirect("designer:index")
    return redirect("designer:editor", pk=topology.pk)


@require_POST
def import_document(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a topology JSON file to import.")
        return redirect("designer:index")
    if upload.size is not None and upload.size > topology_spec.MAX_DOCUMENT_BYTES:
        messages.error(
            request,
            f"Import refused: {upload.name} is {upload.size:,} bytes; the limit is "
            f"{topology_spec.MAX_DOCUMENT_BYTES:,}.",
        )
        return redirect("designer:index")
    try:
        parsed = topology_spec.loads(upload.read())
        topology = Topology.create_from_document(request.user, parsed.to_dict())
    except SpecError as error:
        for pointer, message in error.errors[:20]:
            messages.error(request, f"Import refused: {pointer or '/'}: {message}")
        if len(error.errors) > 20:
            messages.error(request, f"… and {len(error.errors) - 20} more problems.")
        return redirect("designer:index")
    messages.success(request, f"Imported “{topology.name}”.")
    return redirect("designer:editor", pk=topology.pk)


@require_POST
def rename(request: HttpRequest, pk: int) -> HttpResponse:
    topology = get_topology(request, pk, need="edit")
    name = request.POST.get("name", "").strip()
    document = {**topology.document, "name": name}
    try:
        topology.save_document(
            document,
            base_version=topology.version,
            author=request.user,
            message=f"Renamed to {name}",
        )
    except SpecError as error:
        messages.error(request, f"Could not rename: {error.errors[0][1]}")
    except StaleVersion as conflict:
        messages.error(request, str(conflict))
    return redirect(safe_next(request) or reverse("designer:index"))


@require_POST
def duplicate(request: HttpRequest, pk: int) -> HttpResponse:
    topology = get_topology(request, pk)
    copy = topology.duplicate(request.user)
    messages.success(request, f"Created “{copy.name}”.")
    return redirect("designer:index")


@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    topology = get_topology(request, pk, need="owner")
    name = topology.name
    topology.delete()
    messages.success(request, f"Deleted “{name}”.")
    return redirect("designer:index")


# --- the editor and its document ---------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def document(request: HttpRequest, pk: int) -> HttpResponse:
    """GET the current document and version; POST {"version", "document"} to save a revision."""
    if request.method == "GET":
        topology = get_topology(request, pk)
        return JsonResponse({"version": topology.version, "document": topology.document})
    topology = get_topology(request, pk, need="edit")
    try:
        # The import limits (size, nesting, number size) apply here too: json.loads alone raises
        # RecursionError on deep nesting and ValueError on a very long integer.
        payload = topology_spec.decode(request.body)
    except SpecError as error:
        return JsonResponse(
            {"error": f"The request body was refused: {error.errors[0][1]}."}, status=400
        )
    version = payload.get("version") if isinstance(payload, dict) else None
    if not isinstance(version, int) or isinstance(version, bool):
        return JsonResponse({"error": 'Send {"version": N, "document": {...}}.'}, status=400)
    try:
        revision = topology.save_document(
            payload.get("document"),
            base_version=version,
            author=request.user,
            message=str(payload.get("message", ""))[:200],
        )
    except StaleVersion as conflict:
        return JsonResponse(
            {"error": str(conflict), "current_version": conflict.current}, status=409
        )
    except SpecError as error:
        return JsonResponse(
            {"error": "The topology is not valid.", "errors": errors_payload(error)}, status=400
        )
    answer: dict[str, Any] = {"version": revision.number}
    # The editor lints its drafts as they change and may skip this second parse and lint.
    if payload.get("lint", True) is not False:
        answer["lint"] = [finding.to_dict() for finding in graph.lint(topology.to_spec())]
    return JsonResponse(answer)


@require_GET
def export_json(request: HttpRequest, pk: int) -> HttpResponse:
    topology = get_topology(request, pk)
    body = json.dumps(topology.document, indent=2, ensure_ascii=False) + "\n"
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{topology.slug}.json"'
    return response


@require_GET
def lint(request: HttpRequest, pk: int) -> HttpResponse:
    topology = get_topology(request, pk)
    return JsonResponse({"lint": [f.to_dict() for f in graph.lint(topology.to_spec())]})


# --- revisions ---------------------------------------------------------------------------------


@require_GET
def revisions(request: HttpRequest, pk: int) -> HttpResponse:
    topology = get_topology(request, pk)
    context = {"topology": topology, "revisions": topology.revisions.select_related("author")}
    return render(request, "designer/revisions.html", context)


@require_GET
def revision_document(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    topology = get_topology(request, pk)
    revision = get_object_or_404(topology.revisions, number=number)
    return JsonResponse({"number": revision.number, "document": revision.document})


def _revision_number(request: HttpRequest, name: str, default: int) -> int:
    raw = request.GET.get(name, "")
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise Http404(f"no revision {raw!r}") from None


@require_GET
def revision_diff(request: HttpRequest, pk: int) -> HttpResponse:
    topology = get_topology(request, pk)
    newer = _revision_number(request, "b", topology.version)
    older = _revision_number(request, "a", max(newer - 1, 1))
    before = get_object_or_404(topology.revisions, number=older)
    after = get_object_or_404(topology.revisions, number=newer)
    changes = diff_documents(before.document, after.document)
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"a": older, "b": newer, "diff": changes.to_dict()})
    context: dict[str, Any] = {
        "topology": topology,
        "before": before,
        "after": after,
        "diff": changes,
    }
    return render(request, "designer/diff.html", context)


@require_POST
def restore(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    topology = get_topology(request, pk, need="edit")
    get_object_or_404(topology.revisions, number=number)
    try:
        base_version = int(request.POST.get("version", topology.version))
    except ValueError:
        return HttpResponseBadRequest("version must be a number")
    try:
        topology.restore(number, base_version=base_version, author=request.user)
    except StaleVersion as conflict:
        messages.error(request, str(conflict))
    else:
        messages.success(request, f"Restored revision {number} as version {topology.version}.")
    return redirect("designer:editor", pk=topology.pk)
