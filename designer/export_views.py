"""Downloads of a topology in every export format, and imports of ASL and CloudFormation files."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from designer.models import StaleVersion, Topology
from designer.views import get_topology
from runtime import spec as topology_spec
from runtime.formats import (
    EXPORT_FORMATS,
    IMPORT_FORMATS,
    FormatError,
    RasteriserMissing,
    UnsupportedResources,
    export,
    import_document,
)
from runtime.spec import SpecError

WARNINGS_HEADER = "X-Flowyard-Warnings"
MAX_SHOWN_PROBLEMS = 20


@require_GET
def export_topology(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    topology = get_topology(request, pk)
    if fmt not in EXPORT_FORMATS:
        raise Http404(f"No export format {fmt!r}.")
    scale = 2 if request.GET.get("scale") == "2" else 1
    try:
        exported = export(
            topology.to_spec(),
            fmt,
            node=request.GET.get("node") or None,
            scale=scale,
            stem=topology.slug,
        )
    except RasteriserMissing as error:
        return plain(f"PNG is made by the editor's Export PNG button here: {error}", 501)
    except FormatError as error:
        return plain(str(error), 400)
    response = HttpResponse(exported.content, content_type=exported.content_type)
    filename = exported.filename
    disposition = "inline" if request.GET.get("inline") == "1" else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    if exported.warnings:
        # Header values must be Latin-1; warnings name ids and counts, kept ASCII to be safe.
        text = "; ".join(exported.warnings).encode("ascii", "replace").decode()
        response[WARNINGS_HEADER] = text
    if fmt == "svg":
        # Opened on its own, the SVG may style itself but never run anything.
        response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


def plain(text: str, status: int) -> HttpResponse:
    return HttpResponse(text, content_type="text/plain; charset=utf-8", status=status)


@require_POST
def import_file(request: HttpRequest) -> HttpResponse:
    """A new topology from a JSON, ASL or CloudFormation file, or ASL added ``into`` one."""
    into_pk = request.POST.get("into", "")
    into = get_topology(request, int(into_pk), need="edit") if into_pk.isdigit() else None
    back = redirect("designer:editor", pk=into.pk) if into else redirect("designer:index")
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a file to import.")
        return back
    if upload.size is not None and upload.size > topology_spec.MAX_DOCUMENT_BYTES:
        messages.error(
            request,
            f"Import refused: {upload.name} is {upload.size:,} bytes; the limit is "
            f"{topology_spec.MAX_DOCUMENT_BYTES:,}.",
        )
        return back
    fmt = request.POST.get("format") or None
    if fmt is not None and fmt not in IMPORT_FORMATS:
        messages.error(request, f"Import refused: unknown format {fmt!r}.")
        return back
    try:
        imported = import_document(
            upload.read(),
            fmt=fmt,
            filename=upload.name or "",
            skip_unsupported=request.POST.get("skip_unsupported") == "on",
            into=into.document if into else None,
        )
        parsed = topology_spec.load(imported.document)
    except UnsupportedResources as error:
        for name, kind in error.resources[:MAX_SHOWN_PROBLEMS]:
            messages.error(request, f"Unsupported resource: {name} ({kind}).")
        messages.error(
            request,
            f"Import refused: {len(error.resources)} resource(s) Flowyard does not model. Tick "
            "“Import the rest, leaving unsupported resources out” and upload again.",
        )
        return back
    except FormatError as error:
        messages.error(request, f"Import refused: {error}")
        return back
    except SpecError as error:
        for pointer, message in error.errors[:MAX_SHOWN_PROBLEMS]:
            messages.error(request, f"Import refused: {pointer or '/'}: {message}")
        return back
    if into is not None and imported.format != "asl":
        messages.error(request, "Only an ASL state machine can be added to an open topology.")
        return back
    for skipped in imported.skipped:
        messages.warning(request, f"Left out unsupported resource {skipped}.")
    if into is not None:
        return save_into(request, into, parsed.to_dict(), upload.name or "file")
    topology = Topology.create_from_document(request.user, parsed.to_dict())
    messages.success(request, f"Imported “{topology.name}”.")
    return redirect("designer:editor", pk=topology.pk)


def save_into(request: HttpRequest, topology: Topology, document: dict, name: str) -> HttpResponse:
    try:
        topology.save_document(
            document,
            base_version=int(request.POST.get("version", topology.version)),
            author=request.user,
            message=f"Imported {name}"[:200],
        )
    except StaleVersion as error:
        messages.error(request, str(error))
    except (SpecError, ValueError) as error:
        messages.error(request, f"Import refused: {error}")
    else:
        messages.success(request, f"Added the state machine from {name}.")
    return redirect("designer:editor", pk=topology.pk)
