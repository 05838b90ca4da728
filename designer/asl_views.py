"""A state machine's own page: its ASL in a JSON editor validated as you type, the state graph
drawn on the server, saving back into the topology, starting executions, the executions list and
an execution view (states coloured by status, each state's data after every processing step, the
history as a table).

Executions run in the deployed topology when it runs (through ``hosting.supervisor``); otherwise
the page runs them headless over a temporary engine on virtual time and keeps the last few per
node in this process (``HEADLESS``). Reading needs read access; saving and starting need edit.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from designer.models import StaleVersion, Topology
from designer.views import get_topology
from hosting.supervisor import NotRunning, get_supervisor
from runtime.asl import validate
from runtime.asl.graph import render_svg
from runtime.asl.interpreter import run_sync
from runtime.nodes.state_machine import (
    StartRefused,
    StateMachine,
    effective_definition,
    run_headless,
)
from runtime.spec import SpecError

HEADLESS_KEPT = 20
MAX_INPUT_BYTES = 262_144
MAX_SHOWN_JSON = 6000
# A Map over many items makes thousands of visits and events; the page shows the first ones.
MAX_SHOWN_VISITS = 300
MAX_SHOWN_EVENTS = 2000
HEADLESS: dict[tuple[int, str], OrderedDict[str, dict[str, Any]]] = {}
_headless_lock = threading.Lock()


# --- helpers --------------------------------------------------------------------------------------


def machine_node(topology: Topology, node_id: str) -> dict[str, Any]:
    """The saved state machine node of this id, or 404."""
    for node in topology.document.get("nodes", []):
        if node.get("id") == node_id and node.get("kind") == "state_machine":
            return node
    raise Http404("No state machine with this id in the saved topology.")


def node_config(node: dict[str, Any]) -> dict[str, Any]:
    return {**StateMachine.defaults(), **(node.get("config") or {})}


def deployed(topology: Topology) -> bool:
    info = get_supervisor().info(topology.pk)
    return info is not None and info["state"] in ("running", "paused")


def on_run(topology: Topology, op: str, **args: Any) -> Any:
    """Perform a named operation on the topology's run (hosting.operations), wherever it runs:
    in this process or on a runtime worker. Raises NotRunning when it has no run."""
    return get_supervisor().operate(topology.pk, op, **args)


def parse_definition(text: str) -> tuple[Any, list[dict[str, str]]]:
    """The definition and its problems, each with a JSON pointer (`/States/X/Next`)."""
    try:
        definition = json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        return None, [{"path": "/", "message": f"Not JSON ({where}): {error.msg}"}]
    return definition, []


def problems_of(definition: Any, config: dict[str, Any]) -> list[dict[str, str]]:
    effective = effective_definition({**config, "definition": definition})
    return [
        {"path": error.path or "/", "message": error.message, "code": error.code}
        for error in validate(effective, state_machine_type=config["type"])
    ]


def graph_svg(definition: Any, statuses: dict[str, str] | None = None) -> str:
    # render_svg escapes every label itself, so the markup is safe to embed as is.
    data = definition if isinstance(definition, dict) else {}
    return mark_safe(render_svg(data, statuses, title="State graph"))  # noqa: S308


def pretty(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    with contextlib.suppress(TypeError, ValueError):
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    return text if len(text) <= MAX_SHOWN_JSON else text[:MAX_SHOWN_JSON] + "\n… (cut)"


def when(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def urls(topology: Topology, node_id: str) -> dict[str, str]:
    args = [topology.pk, node_id]
    return {
        "page": reverse("designer:state-machine", args=args),
        "validate": reverse("designer:asl-validate", args=args),
        "save": reverse("designer:asl-save", args=args),
        "start": reverse("designer:asl-start", args=args),
        "executions": reverse("designer:asl-executions", args=args),
        "export": reverse("designer:export-as-asl", args=[topology.pk]) + f"?node={node_id}",
        "import": reverse("designer:import-file"),
        "editor": reverse("designer:editor", args=[topology.pk]),
    }


# --- executions, wherever they ran ---------------------------------------------------------------


def keep_headless(topology: Topology, node_id: str, record: dict[str, Any]) -> None:
    with _headless_lock:
        kept = HEADLESS.setdefault((topology.pk, node_id), OrderedDict())
        kept[record["name"]] = record
        while len(kept) > HEADLESS_KEPT:
            kept.popitem(last=False)


def list_executions(topology: Topology, node_id: str) -> tuple[list[dict[str, Any]], bool]:
    """Summaries newest first, and whether they come from the deployed run."""
    if deployed(topology):
        try:
            return on_run(topology, "sm.executions", node_id=node_id), True
        except NotRunning:
            pass
    with _headless_lock:
        kept = list(HEADLESS.get((topology.pk, node_id), {}).values())
    return [summary(record) for record in reversed(kept)], False


def summary(record: dict[str, Any]) -> dict[str, Any]:
    keys = ("name", "arn", "status", "source", "started", "stopped", "error", "cause")
    return {key: record.get(key) for key in keys}


def find_execution(topology: Topology, node_id: str, name: str) -> dict[str, Any] | None:
    if deployed(topology):
        try:
            found = on_run(topology, "sm.execution", node_id=node_id, name=name)
        except NotRunning:
            found = None
        if found is not None:
            return {**found, "deployed": True}
    with _headless_lock:
        record = HEADLESS.get((topology.pk, node_id), {}).get(name)
    return None if record is None else {**record, "deployed": False}


def visits(execution: dict[str, Any]) -> list[dict[str, Any]]:
    """Each state visit in order: input, every processing step, output and status."""
    found: list[dict[str, Any]] = []
    open_by_name: dict[str, list[dict[str, Any]]] = {}
    statuses = execution.get("statuses", {})
    steps = execution.get("steps", {})
    for event in execution.get("history", []):
        kind = event["type"]
        if kind.endswith("StateEntered"):
            details = event.get("stateEnteredEventDetails", {})
            visit = {
                "id": event["id"],
                "name": details.get("name", ""),
                "type": kind.removesuffix("StateEntered"),
                "input": pretty(details.get("input", "null")),
                "steps": shown_steps(details.get("input", "null"), steps.get(str(event["id"]), [])),
                "output": None,
                "status": "running",
            }
            found.append(visit)
            open_by_name.setdefault(visit["name"], []).append(visit)
        elif kind.endswith("StateExited"):
            details = event.get("stateExitedEventDetails", {})
            waiting = open_by_name.get(details.get("name", ""))
            if waiting:
                visit = waiting.pop()
                visit["output"] = pretty(details.get("output", "null"))
                visit["status"] = "succeeded"
    for visit in found:
        if visit["output"] is None:
            visit["status"] = statuses.get(visit["name"], "running")
        elif statuses.get(visit["name"]) == "caught":
            visit["status"] = "caught"
    return found


def shown_steps(first: str, steps: list[Any]) -> list[dict[str, Any]]:
    """Each step with its value, or marked unchanged when it left the data as it was."""
    shown, before, attempts = [], _canonical(first), 0
    retried = sum(1 for step, _ in steps if step == "InputPath") > 1
    for step, value in steps:
        now = _canonical(value)
        name = step
        if step == "InputPath":
            attempts += 1
            # Each retry runs the state's input processing again.
            name = f"InputPath (attempt {attempts})" if retried else step
            before = _canonical(first)
        shown.append({"name": name, "value": pretty(value), "unchanged": now == before})
        before = now
    return shown


def _canonical(text: str) -> str:
    try:
        return json.dumps(json.loads(text), sort_keys=True)
    except (TypeError, ValueError):
        return str(text)


def event_details(body: Any) -> str:
    """An event's details as `key=value` pairs, JSON text shown as compact JSON, not escaped."""
    if not isinstance(body, dict):
        return ""
    parts = []
    for key, value in body.items():
        if key.endswith("Details") and isinstance(value, dict) and set(value) <= {"truncated"}:
            continue  # {"truncated": false} says nothing here
        if isinstance(value, str):
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict | list):
                value = json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))
        elif not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        parts.append(f"{key}={value}")
    return " · ".join(parts)


def history_rows(execution: dict[str, Any]) -> list[dict[str, Any]]:
    start = execution.get("started") or 0
    rows = []
    for event in execution.get("history", []):
        details = {
            key: value
            for key, value in event.items()
            if key not in ("id", "previousEventId", "timestamp", "type")
        }
        body = next(iter(details.values()), None)
        text = event_details(body)
        rows.append(
            {
                "id": event["id"],
                "previous": event.get("previousEventId"),
                "type": event["type"],
                "elapsed": f"+{max(0.0, (event.get('timestamp') or start) - start):.3f} s",
                "details": text if len(text) <= 400 else text[:400] + "…",
                "full": pretty(body) if len(text) > 400 else "",
            }
        )
    return rows


# --- the page ---------------------------------------------------------------------------------


def page_context(request: HttpRequest, topology: Topology, node: dict[str, Any]) -> dict[str, Any]:
    config = node_config(node)
    definition = config["definition"]
    executions, live = list_executions(topology, node["id"])
    return {
        "topology": topology,
        "node": node,
        "config": config,
        "definition_text": json.dumps(definition, indent=2, ensure_ascii=False),
        "problems": problems_of(definition, config),
        "svg": graph_svg(definition),
        "can_edit": topology.can_edit(request.user),
        "deployed": deployed(topology),
        "executions": decorate(executions),
        "live": live,
        "urls": urls(topology, node["id"]),
    }


def decorate(executions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            **item,
            "started_text": when(item.get("started")),
            "stopped_text": when(item.get("stopped")),
        }
        for item in executions
    ]


@require_GET
def state_machine(request: HttpRequest, pk: int, node_id: str) -> HttpResponse:
    topology = get_topology(request, pk)
    node = machine_node(topology, node_id)
    return render(request, "designer/state_machine.html", page_context(request, topology, node))


@require_POST
def check(request: HttpRequest, pk: int, node_id: str) -> HttpResponse:
    """Validation as you type: every problem with its path, and the graph redrawn."""
    topology = get_topology(request, pk)
    node = machine_node(topology, node_id)
    config = node_config(node)
    if request.POST.get("type") in ("STANDARD", "EXPRESS"):
        config["type"] = request.POST["type"]
    definition, problems = parse_definition(request.POST.get("definition", ""))
    if not problems:
        problems = problems_of(definition, config)
    context = {
        "problems": problems,
        "svg": graph_svg(definition) if definition is not None else None,
        "oob": True,
    }
    return render(request, "designer/state_machine.html#asl-check", context)


@require_POST
def save(request: HttpRequest, pk: int, node_id: str) -> HttpResponse:
    """Stores the edited definition as a new revision; a stale version is a 409."""
    topology = get_topology(request, pk, need="edit")
    node = machine_node(topology, node_id)
    config = node_config(node)
    definition, problems = parse_definition(request.POST.get("definition", ""))
    if not problems:
        problems = problems_of(definition, config)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        return JsonResponse({"error": "Send the version you are editing."}, status=400)
    if not request.htmx:
        return save_without_htmx(request, topology, node_id, definition, problems, version)
    if problems:
        context = {"problems": problems, "save_error": "Not saved: fix the problems first."}
        return render(request, "designer/state_machine.html#asl-save-result", context, status=400)
    try:
        revision = store_definition(request, topology, node_id, definition, version)
    except StaleVersion as conflict:
        context = {"save_error": str(conflict), "conflict": True}
        return render(request, "designer/state_machine.html#asl-save-result", context, status=409)
    except SpecError as error:
        context = {"save_error": f"Not saved: {error}"}
        return render(request, "designer/state_machine.html#asl-save-result", context, status=400)
    context = {"saved": revision.number, "problems": []}
    return render(request, "designer/state_machine.html#asl-save-result", context)


def save_without_htmx(
    request: HttpRequest,
    topology: Topology,
    node_id: str,
    definition: Any,
    problems: list[dict[str, str]],
    version: int,
) -> HttpResponse:
    """The plain form post: the same save, answered with a message and a redirect."""
    back = redirect("designer:state-machine", pk=topology.pk, node_id=node_id)
    if problems:
        messages.error(request, f"Not saved: {problems[0]['path']}: {problems[0]['message']}")
        return back
    try:
        revision = store_definition(request, topology, node_id, definition, version)
    except (StaleVersion, SpecError) as error:
        messages.error(request, f"Not saved: {error}")
    else:
        messages.success(request, f"Saved as version {revision.number}.")
    return back


def store_definition(
    request: HttpRequest, topology: Topology, node_id: str, definition: dict[str, Any], version: int
) -> Any:
    document = json.loads(json.dumps(topology.document))
    for each in document["nodes"]:
        if each["id"] == node_id:
            each.setdefault("config", {})["definition"] = definition
            if isinstance(definition.get("QueryLanguage"), str):
                each["config"]["query_language"] = definition["QueryLanguage"]
    return topology.save_document(
        document, base_version=version, author=request.user, message=f"Edited {node_id} ASL"
    )


# --- executions ---------------------------------------------------------------------------------


@require_POST
def start(request: HttpRequest, pk: int, node_id: str) -> HttpResponse:
    """Starts one execution with the posted input: in the running topology, else headless."""
    topology = get_topology(request, pk, need="edit")
    machine_node(topology, node_id)
    back = redirect("designer:state-machine", pk=pk, node_id=node_id)
    text = request.POST.get("input", "").strip() or "{}"
    if len(text.encode()) > MAX_INPUT_BYTES:
        messages.error(request, f"The input is larger than {MAX_INPUT_BYTES:,} bytes.")
        return back
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        messages.error(request, f"The input is not JSON (line {error.lineno}): {error.msg}")
        return back
    name = request.POST.get("name", "").strip() or None
    try:
        started = start_deployed(topology, node_id, value, name)
        if started is None:
            started = start_headless(topology, node_id, value, name)
    except StartRefused as refused:
        messages.error(request, f"Not started: {refused.code}: {refused.message}")
        return back
    except SpecError as error:
        messages.error(request, f"Not started: the topology is not valid: {error}")
        return back
    return redirect("designer:asl-execution", pk=pk, node_id=node_id, name=started)


def start_deployed(topology: Topology, node_id: str, value: Any, name: str | None) -> str | None:
    if not deployed(topology):
        return None
    try:
        started = on_run(topology, "sm.start", node_id=node_id, input=value, name=name)
    except NotRunning:
        return None
    if "refused" in started:
        raise StartRefused(started["refused"]["code"], started["refused"]["message"])
    return started["name"]


def start_headless(topology: Topology, node_id: str, value: Any, name: str | None) -> str:
    record = run_sync(
        run_headless(topology.to_spec(), node_id, value, name=name),
        thread_name_prefix="asl-headless",
    )
    data = {
        **record.to_dict(),
        "definition": node_config(machine_node(topology, node_id))["definition"],
    }
    keep_headless(topology, node_id, data)
    return record.name


@require_GET
def executions(request: HttpRequest, pk: int, node_id: str) -> HttpResponse:
    topology = get_topology(request, pk)
    machine_node(topology, node_id)
    found, live = list_executions(topology, node_id)
    context = {
        "topology": topology,
        "node": {"id": node_id},
        "executions": decorate(found),
        "live": live,
        "deployed": live,
        "urls": urls(topology, node_id),
    }
    return render(request, "designer/state_machine.html#asl-executions", context)


@require_GET
def execution(request: HttpRequest, pk: int, node_id: str, name: str) -> HttpResponse:
    topology = get_topology(request, pk)
    node = machine_node(topology, node_id)
    found = find_execution(topology, node_id, name)
    if found is None:
        raise Http404("No such execution here (executions are kept in memory while they are new).")
    definition = found.get("definition") or node_config(node)["definition"]
    all_visits, rows = visits(found), history_rows(found)
    context = {
        "topology": topology,
        "node": node,
        "execution": found,
        "started_text": when(found.get("started")),
        "stopped_text": when(found.get("stopped")),
        "input_text": pretty(found.get("input")),
        "output_text": pretty(found.get("output")) if found["status"] == "SUCCEEDED" else "",
        "svg": graph_svg(definition, found.get("statuses") or {}),
        "visits": all_visits[:MAX_SHOWN_VISITS],
        "visits_cut": max(0, len(all_visits) - MAX_SHOWN_VISITS),
        "history": rows[:MAX_SHOWN_EVENTS],
        "history_total": len(rows),
        "history_cut": max(0, len(rows) - MAX_SHOWN_EVENTS),
        "can_edit": topology.can_edit(request.user),
        "urls": urls(topology, node_id),
        "callback_url": reverse("designer:asl-callback", args=[pk, node_id, name]),
        "stop_url": reverse("designer:asl-stop", args=[pk, node_id, name]),
        "self_url": reverse("designer:asl-execution", args=[pk, node_id, name]),
    }
    template = "designer/state_machine_execution.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#execution-body"
    return render(request, template, context)


@require_POST
def callback(request: HttpRequest, pk: int, node_id: str, name: str) -> HttpResponse:
    """SendTaskSuccess or SendTaskFailure for a token the execution waits for (deployed runs)."""
    topology = get_topology(request, pk, need="edit")
    machine_node(topology, node_id)
    back = redirect("designer:asl-execution", pk=pk, node_id=node_id, name=name)
    token = request.POST.get("token", "")
    outcome = request.POST.get("outcome", "success")
    output: Any = None
    if outcome == "success":
        try:
            output = json.loads(request.POST.get("output", "").strip() or "{}")
        except json.JSONDecodeError as error:
            messages.error(request, f"The output is not JSON: {error.msg}")
            return back
    error_name = request.POST.get("error", "").strip() or "States.TaskFailed"
    cause = request.POST.get("cause", "")
    try:
        refused = on_run(
            topology,
            "sm.callback",
            node_id=node_id,
            token=token,
            outcome=outcome,
            output=output,
            error=error_name,
            cause=cause,
        )["refused"]
    except NotRunning as problem:
        refused = str(problem)
    if refused:
        messages.error(request, f"Not sent: {refused}")
    else:
        messages.success(request, f"Sent task {outcome}.")
    return back


@require_POST
def stop(request: HttpRequest, pk: int, node_id: str, name: str) -> HttpResponse:
    topology = get_topology(request, pk, need="edit")
    machine_node(topology, node_id)
    try:
        stopped = on_run(topology, "sm.stop", node_id=node_id, name=name)
    except NotRunning:
        stopped = False
    if not stopped:
        messages.error(request, "That execution is not running.")
    return redirect("designer:asl-execution", pk=pk, node_id=node_id, name=name)
