"""Running a topology from the browser: the run toolbar's commands, Send, sample events, the
load generator's rate, and the inspector drawer's htmx panels (messages, trace, queue and DLQ,
stream records, executions, the event-pattern sandbox), plus the metrics page.

Commands need edit access and POST with the CSRF token (htmx sends it from ``<body hx-headers>``);
panels need read access. The run itself lives in ``hosting.supervisor``; these views fetch, call
and render. The toolbar says which store a run keeps its state in and what it promises (reliability
R2, R19), what a run found in it when it started, and offers "Reset state" to purge it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from designer.models import SampleEvent, Topology
from designer.views import get_topology
from hosting import stores
from hosting.live import tick_seconds
from hosting.supervisor import AlreadyRunning, DeployRefused, NotRunning, get_supervisor
from runtime import patterns
from runtime.nodes.producer import attribute_problems
from runtime.spec import SpecError
from runtime.store.sqlite import SURVIVES

MAX_BURST = 100
MAX_BODY_BYTES = 256 * 1024  # the SQS / Step Functions payload cap
PEEK_LIMIT = 50
RECORDS_PER_SHARD = 25
EXECUTIONS_SHOWN = 50
COMMANDS = ("deploy", "redeploy", "stop", "pause", "resume")


# --- helpers --------------------------------------------------------------------------------------


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def run_state(topology: Topology) -> dict[str, Any]:
    """The run as the toolbar shows it: the supervisor's word, else the stored state. ``store``
    is what the run keeps its state in (the configured store when there is no run)."""
    info = get_supervisor().info(topology.pk)
    if info is None:
        state = topology.run_state if topology.run_state == "failed" else "stopped"
        info = {"state": state, "revision": None, "run": None, "error": ""}
    return {
        **info,
        "store": public_store(info.get("store")),
        "recovered": info.get("recovered") or "",
        "dropped": info.get("dropped") or "",
        "discarded": info.get("discarded") or "",
    }


# What a store's durability may show to anyone who can read the topology: not its file path
# nor its Redis key prefix (places on the server, of no use in a browser).
PUBLIC_STORE_KEYS = ("store", "survives", "durable", "journal_mode", "synchronous")


def public_store(durability: dict[str, Any] | None) -> dict[str, Any]:
    """The run's store as ``hosting.stores.durability`` words it, or the configured one."""
    if not durability:
        return configured_store()
    return {key: durability[key] for key in PUBLIC_STORE_KEYS if key in durability}


def configured_store() -> dict[str, Any]:
    """The store a run of this install would use, worded as a run's store is, without opening
    it (a topology with no run)."""
    try:
        kind = stores.store_kind()
    except ValueError as error:
        return {"store": "misconfigured", "survives": "", "durable": False, "error": str(error)}
    if kind == "memory":
        return {"store": "memory", "survives": "nothing (ephemeral)", "durable": False}
    if kind == "redis":
        return {"store": "redis", "survives": "worker crash", "durable": True}
    level = str(getattr(settings, "FLOWYARD_SQLITE_SYNCHRONOUS", "NORMAL")).upper()
    return {
        "store": "sqlite",
        "synchronous": level,
        "survives": SURVIVES.get(level, ""),
        "durable": True,
    }


STORE_NAMES = {"sqlite": "SQLite", "redis": "Redis", "memory": "Memory"}
SURVIVES_WORDS = {
    "process crash": "survives a process crash",
    "power loss": "survives a process crash and a power loss",
    "worker crash": "survives a worker crash",
}


def store_badge(store: dict[str, Any]) -> dict[str, Any]:
    """The toolbar's store line: "SQLite · survives a process crash", or the Ephemeral badge."""
    kind = store.get("store", "")
    if kind == "misconfigured":
        return {
            "kind": kind,
            "name": "Store misconfigured",
            "words": "",
            "ephemeral": False,
            "title": store.get("error", ""),
        }
    if kind == "memory" or not store.get("durable", False):
        return {
            "kind": kind or "memory",
            "name": "Ephemeral",
            "words": "lost when the run or the server stops",
            "ephemeral": True,
            "title": (
                "Runs keep their state in memory: queues, streams and executions are lost "
                "when the run stops or the server restarts (FLOWYARD_RUN_STORE=memory)."
            ),
        }
    survives = str(store.get("survives", ""))
    words = SURVIVES_WORDS.get(survives, f"survives a {survives}" if survives else "")
    name = STORE_NAMES.get(kind, kind)
    if kind == "sqlite":
        level = store.get("synchronous", "")
        title = f"Runs keep their state in a SQLite file of their own (WAL, synchronous={level})"
        title += f": what a send acknowledged {words}." if words else "."
    elif kind == "redis":
        title = (
            "Runs keep their state in Redis: what a send acknowledged survives a worker crash; "
            "how much survives a Redis restart is the Redis server's persistence setting."
        )
    else:
        title = f"Runs keep their state in {name}."
    return {"kind": kind, "name": name, "words": words, "ephemeral": False, "title": title}


def producers(topology: Topology) -> list[dict[str, Any]]:
    return [
        {
            "id": node["id"],
            "label": node.get("label") or node["id"],
            "mode": node.get("config", {}).get("mode", "manual"),
            "rate": node.get("config", {}).get("rate", 10.0),
        }
        for node in topology.document.get("nodes", [])
        if node.get("kind") == "producer"
    ]


def node_of(topology: Topology, node_id: str) -> dict[str, Any] | None:
    for node in topology.document.get("nodes", []):
        if node.get("id") == node_id:
            return node
    return None


def toolbar_context(
    topology: Topology, user: Any, *, problems: Any = None, notice: str = ""
) -> dict[str, Any]:
    run = run_state(topology)
    live = run["state"] in ("starting", "running", "paused")
    return {
        "topology": topology,
        "run": run,
        "store": store_badge(run["store"]),
        # What the run found in its store when it started: said while that run lives.
        "recovered": run["recovered"] if live else "",
        "dropped": run["dropped"] if live else "",
        "discarded": run["discarded"] if live else "",
        "can_edit": topology.can_edit(user),
        "producers": producers(topology),
        "load_producers": [p for p in producers(topology) if p["mode"] == "load"],
        "problems": problems or [],
        "notice": notice,
        "stale": run["revision"] is not None and run["revision"] != topology.version,
        "tick_ms": int(tick_seconds() * 1000),
    }


def toolbar(
    request: HttpRequest,
    topology: Topology,
    *,
    problems: Any = None,
    notice: str = "",
    status: int = 200,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """The toolbar partial for htmx, JSON for scripts (with ``extra``), or back to the editor
    for plain forms."""
    context = toolbar_context(topology, request.user, problems=problems, notice=notice)
    if wants_json(request):
        run = context["run"]
        payload = {
            "state": run["state"],
            "problems": context["problems"],
            "notice": notice,
            "store": run["store"],
            "recovered": context["recovered"],
            "dropped": context["dropped"],
            "discarded": context["discarded"],
        }
        return JsonResponse({**payload, **(extra or {})}, status=status)
    if not request.htmx:
        for problem in context["problems"]:
            messages.error(request, f"Deploy refused: {problem['message']}")
        if notice:
            messages.info(request, notice)
        return redirect("designer:editor", pk=topology.pk)
    return render(request, "designer/_run_toolbar.html", context, status=status)


def on_run(topology: Topology, op: str, **args: Any) -> Any:
    """Perform a named operation on the topology's run (hosting.operations), wherever it runs:
    in this process or on a runtime worker. Raises NotRunning when it has no run."""
    return get_supervisor().operate(topology.pk, op, **args)


def clock_time(epoch: float) -> str:
    """A run-clock timestamp as UTC time of day with milliseconds."""
    try:
        return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%S.%f")[:-3]
    except (OverflowError, OSError, ValueError):
        return f"{epoch:.3f}"


def parse_json_field(text: str, name: str) -> tuple[Any, str]:
    if len(text.encode()) > MAX_BODY_BYTES:
        return None, f"{name} is larger than {MAX_BODY_BYTES // 1024} KiB"
    try:
        return json.loads(text), ""
    except ValueError as error:
        return None, f"{name} is not valid JSON: {error}"


def fragment(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, f"designer/live/{template}", context)


def not_running(request: HttpRequest, topology: Topology, what: str) -> HttpResponse:
    return fragment(request, "not_running.html", {"topology": topology, "what": what})


# --- run commands ---------------------------------------------------------------------------------


@require_POST
def command(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Deploy, redeploy, stop, pause or resume the topology's run."""
    topology = get_topology(request, pk, need="edit")
    chief = get_supervisor()
    try:
        if action in ("deploy", "redeploy"):
            start = chief.deploy if action == "deploy" else chief.redeploy
            start(topology.pk, topology.to_spec(), revision=topology.version)
            notice = f"Deployed version {topology.version}."
        elif action == "stop":
            chief.stop(topology.pk)
            notice = "Stopped."
        elif action == "pause":
            chief.pause(topology.pk)
            notice = "Paused: producers and consumers hold."
        else:
            chief.resume(topology.pk)
            notice = "Resumed."
    except DeployRefused as refused:
        return toolbar(request, topology, problems=refused.problems, status=409)
    except SpecError as error:
        problems = [{"message": f"{pointer}: {text}"} for pointer, text in error.errors]
        return toolbar(request, topology, problems=problems, status=409)
    except (AlreadyRunning, NotRunning, Exception) as error:  # noqa: BLE001 - shown, not raised
        return toolbar(request, topology, notice=str(error) or type(error).__name__, status=409)
    topology.refresh_from_db(fields=["run_state"])
    return toolbar(request, topology, notice=notice)


def command_view(action: str) -> Callable[[HttpRequest, int], HttpResponse]:
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        return command(request, pk, action)

    view.__name__ = f"run_{action}"
    return require_POST(view)


deploy = command_view("deploy")
redeploy = command_view("redeploy")
stop = command_view("stop")
pause = command_view("pause")
resume = command_view("resume")


@require_GET
def run_toolbar(request: HttpRequest, pk: int) -> HttpResponse:
    topology = get_topology(request, pk)
    if wants_json(request):
        return JsonResponse(run_state(topology))
    return render(request, "designer/_run_toolbar.html", toolbar_context(topology, request.user))


# --- reset state ----------------------------------------------------------------------------------


@require_GET
def reset_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """The "Reset state" confirmation: exactly what the store holds now and will go."""
    topology = get_topology(request, pk, need="edit")
    run = run_state(topology)
    problem = ""
    totals = {"messages": 0, "queues": 0, "records": 0, "logs": 0}
    try:
        totals = get_supervisor().stored(topology.pk)
    except Exception as error:  # noqa: BLE001 - shown, not raised
        problem = f"The run's store could not be read: {error or type(error).__name__}"
    held = stores.describe(totals)
    if wants_json(request):
        payload = {"state": run["state"], "store": run["store"], "stored": totals}
        return JsonResponse({**payload, "held": held, "problem": problem})
    context = {
        "topology": topology,
        "run": run,
        "held": held,
        "problem": problem,
        "live": run["state"] in ("starting", "running", "paused"),
    }
    return fragment(request, "reset_confirm.html", context)


@require_POST
def reset(request: HttpRequest, pk: int) -> HttpResponse:
    """Purge everything the topology's store holds; a live run starts again, empty, on the
    same revision."""
    topology = get_topology(request, pk, need="edit")
    try:
        result = get_supervisor().reset_state(topology.pk)
    except DeployRefused as refused:
        topology.refresh_from_db(fields=["run_state"])
        notice = "Reset: the store was emptied, but the run could not start again."
        return toolbar(request, topology, problems=refused.problems, notice=notice, status=409)
    except Exception as error:  # noqa: BLE001 - shown, not raised
        notice = f"Reset failed: {error or type(error).__name__}"
        return toolbar(request, topology, notice=notice, status=409)
    purged = result.get("purged") or {}
    deleted = stores.describe(purged)
    notice = f"Reset: deleted {deleted}." if deleted else "Reset: nothing was stored."
    topology.refresh_from_db(fields=["run_state"])
    return toolbar(request, topology, notice=notice, extra={"purged": purged})


@require_GET
def run_states(request: HttpRequest) -> HttpResponse:
    """Every visible topology's run state, for the list's live column. A recorded state with
    no run behind it shows as stopped but stays recorded: it is what a restart resumes."""
    live = get_supervisor().states()
    states: dict[str, str] = {}
    editable = set(Topology.objects.editable_by(request.user).values_list("pk", flat=True))
    for topology in Topology.objects.visible_to(request.user).only("pk", "run_state"):
        state = live.get(topology.pk)
        if state is None:
            state = "failed" if topology.run_state == "failed" else "stopped"
        states[str(topology.pk)] = state
    return JsonResponse({"states": states, "editable": sorted(editable)})


# --- sending --------------------------------------------------------------------------------------


@require_POST
def send(request: HttpRequest, pk: int) -> HttpResponse:
    """Send one event (or a burst of up to 100) into a producer or any node that accepts input."""
    topology = get_topology(request, pk, need="edit")
    node_id = request.POST.get("node", "")
    node = node_of(topology, node_id)
    problems: list[str] = []
    if node is None:
        problems.append("Choose a node to send to.")
    body_text = request.POST.get("body", "").strip()
    body: Any = None  # None: the producer renders its own sample template
    if body_text:
        body, problem = parse_json_field(body_text, "The body")
        if problem:
            problems.append(problem)
    attributes: dict[str, Any] | None = None
    attributes_text = request.POST.get("attributes", "").strip()
    if attributes_text:
        parsed, problem = parse_json_field(attributes_text, "The attributes")
        if problem:
            problems.append(problem)
        else:
            problems.extend(f"{p}: {m}" for p, m in attribute_problems(parsed, "attributes"))
            attributes = parsed
    try:
        count = max(1, min(MAX_BURST, int(request.POST.get("count", "1"))))
    except ValueError:
        count = 1
    context: dict[str, Any] = {"topology": topology, "problems": problems, "count": count}
    if not problems:
        try:
            context["traces"] = get_supervisor().send(
                topology.pk, node_id, body, attributes, count=count
            )
        except NotRunning as error:
            problems.append(str(error))
        except Exception as error:  # noqa: BLE001 - shown beside the Send button
            problems.append(f"Not sent: {error}")
    status = 400 if problems else 200
    if wants_json(request):
        return JsonResponse(
            {"problems": problems, "traces": context.get("traces", [])}, status=status
        )
    response = fragment(request, "send_result.html", context | {"node_id": node_id})
    response.status_code = status
    return response


@require_GET
def samples(request: HttpRequest, pk: int, node_id: str) -> HttpResponse:
    topology = get_topology(request, pk)
    node = node_of(topology, node_id)
    template = node.get("config", {}).get("body") if node else None
    context = {
        "topology": topology,
        "node_id": node_id,
        "samples": [
            {
                "pk": sample.pk,
                "name": sample.name,
                "body_json": json.dumps(sample.body, indent=2),
                "attributes_json": json.dumps(sample.attributes) if sample.attributes else "",
            }
            for sample in topology.samples.filter(node_id=node_id)
        ],
        "template": json.dumps(template, indent=2) if template is not None else "",
        "can_edit": topology.can_edit(request.user),
    }
    return fragment(request, "samples.html", context)


@require_POST
def save_sample(request: HttpRequest, pk: int, node_id: str) -> HttpResponse:
    topology = get_topology(request, pk, need="edit")
    name = request.POST.get("name", "").strip()[:80]
    body, problem = parse_json_field(request.POST.get("body", ""), "The body")
    attributes, attributes_problem = parse_json_field(
        request.POST.get("attributes", "").strip() or "{}", "The attributes"
    )
    problems = [p for p in (problem, attributes_problem) if p]
    if not name:
        problems.append("Name the sample.")
    if node_of(topology, node_id) is None:
        problems.append("No such node.")
    if not problems:
        SampleEvent.objects.update_or_create(
            topology=topology,
            node_id=node_id,
            name=name,
            defaults={"body": body, "attributes": attributes, "created_by": request.user},
        )
    response = samples(_as_get(request), pk, node_id)
    if problems:
        response.status_code = 400
        response.content = (
            response.content
            + "".join(
                f'<p class="field-error" role="alert">{_escape(p)}</p>' for p in problems
            ).encode()
        )
    return response


@require_POST
def delete_sample(request: HttpRequest, pk: int, node_id: str, sample_id: int) -> HttpResponse:
    topology = get_topology(request, pk, need="edit")
    get_object_or_404(topology.samples, pk=sample_id, node_id=node_id).delete()
    return samples(_as_get(request), pk, node_id)


def _as_get(request: HttpRequest) -> HttpRequest:
    request.method = "GET"
    return request


def _escape(text: str) -> str:
    from django.utils.html import escape

    return str(escape(text))


@require_POST
def set_rate(request: HttpRequest, pk: int) -> HttpResponse:
    """The load generator's rate slider: changes a running load producer's events per second."""
    topology = get_topology(request, pk, need="edit")
    node_id = request.POST.get("node", "")
    node = node_of(topology, node_id)
    try:
        rate = float(request.POST.get("rate", ""))
    except ValueError:
        rate = -1.0
    if node is None or node.get("kind") != "producer" or not 0.01 <= rate <= 100_000:
        return HttpResponse("Choose a load producer and a rate of 0.01 to 100,000/s.", status=400)

    try:
        applied = on_run(topology, "producer.rate", node_id=node_id, rate=rate)
    except NotRunning as error:
        return HttpResponse(str(error), status=409)
    return HttpResponse(f"{applied:g}/s")


# --- inspector panels -----------------------------------------------------------------------------


@require_GET
def inspect(request: HttpRequest, pk: int, node_id: str) -> HttpResponse:
    """The drawer for one node: its kind's panel plus its last messages."""
    topology = get_topology(request, pk)
    node = node_of(topology, node_id)
    if node is None:
        return HttpResponse("No such node.", status=404)
    context = {
        "topology": topology,
        "node": node,
        "kind": node["kind"],
        "can_edit": topology.can_edit(request.user),
        "running": get_supervisor().info(topology.pk) is not None,
    }
    return fragment(request, "inspect.html", context)


@require_GET
def node_messages(request: HttpRequest, pk: int, node_id: str) -> HttpResponse:
    """A node's last 100 messages, newest first; filtered, and polling unless paused."""
    topology = get_topology(request, pk)
    if node_of(topology, node_id) is None:
        return HttpResponse("No such node.", status=404)
    query = request.GET.get("q", "").strip()[:200]
    paused = request.GET.get("paused") == "1"

    try:
        rows = on_run(topology, "node.messages", node_id=node_id)
    except NotRunning:
        return not_running(request, topology, "messages")
    for row in rows:
        row["time"] = clock_time(row["at"])
        row["body_json"] = json.dumps(row["body"], indent=1, default=str)[:4000]
        row["attributes_json"] = json.dumps(row["attributes"], default=str)
    if query:
        needle = query.lower()
        rows = [
            row
            for row in rows
            if needle in row["body_json"].lower()
            or needle in row["attributes_json"].lower()
            or needle in row["id"]
            or needle in row["trace_id"]
        ]
    context = {
        "topology": topology,
        "node_id": node_id,
        "rows": rows,
        "query": query,
        "paused": paused,
        "can_edit": topology.can_edit(request.user),
    }
    return fragment(request, "messages.html", context)


@require_POST
def clear_messages(request: HttpRequest, pk: int, node_id: str) -> HttpResponse:
    topology = get_topology(request, pk)

    try:
        on_run(topology, "node.clear_messages", node_id=node_id)
    except NotRunning:
        return not_running(request, topology, "messages")
    request.method = "GET"
    request.GET = request.GET.copy()
    request.GET["paused"] = request.POST.get("paused", "0")
    return node_messages(request, pk, node_id)


@require_GET
def trace(request: HttpRequest, pk: int, trace_id: str) -> HttpResponse:
    """One message's path across every hop with timings (provenance, like NiFi's lineage)."""
    topology = get_topology(request, pk)
    try:
        found = on_run(topology, "trace", trace_id=trace_id)
    except NotRunning:
        return not_running(request, topology, "traces")
    hops = found["hops"]
    labels = {node["id"]: node.get("label") or node["id"] for node in topology.document["nodes"]}
    start = hops[0]["at"] if hops else 0.0
    previous = start
    for hop in hops:
        hop["offset_ms"] = round((hop["at"] - start) * 1000, 2)
        hop["delta_ms"] = round((hop["at"] - previous) * 1000, 2)
        hop["label"] = labels.get(hop["node"], hop["node"])
        previous = hop["at"]
    bodies = {
        item["node"]: json.dumps(item["body"], indent=1, default=str)[:2000]
        for item in found["seen"]
    }
    for hop in hops:
        hop["body"] = bodies.get(hop["node"], "") if hop["action"] == "received" else ""
    context = {
        "topology": topology,
        "trace_id": trace_id,
        "hops": hops,
        "sampled": found["sampled"],
        "total_ms": hops[-1]["offset_ms"] if hops else 0,
    }
    return fragment(request, "trace.html", context)


@require_GET
def queue_panel(request: HttpRequest, pk: int, node_id: str) -> HttpResponse:
    """A queue's waiting messages; a DLQ's with the Redrive button."""
    topology = get_topology(request, pk)
    node = node_of(topology, node_id)
    if node is None or node["kind"] != "queue":
        return HttpResponse("Not a queue.", status=404)

    try:
        data = on_run(topology, "queue.view", node_id=node_id, limit=PEEK_LIMIT)
    except NotRunning:
        return not_running(request, topology, "queue contents")
    context = {
        "topology": topology,
        "node": node,
        "dlq": node.get("config", {}).get("dead_letter_queue", ""),
        "can_edit": topology.can_edit(request.user),
        "notice": request.GET.get("notice", "")[:200],
        **data,
    }
    return fragment(request, "queue.html", context)


@require_POST
def redrive(request: HttpRequest, pk: int, node_id: str) -> HttpResponse:
    """StartMessageMoveTask: the DLQ's messages go back to their source queues."""
    topology = get_topology(request, pk, need="edit")
    node = node_of(topology, node_id)
    if node is None or node["kind"] != "queue":
        return HttpResponse("Not a queue.", status=404)

    try:
        outcome = on_run(topology, "queue.redrive", node_id=node_id)
    except NotRunning:
        return not_running(request, topology, "queue contents")
    except Exception as error:  # noqa: BLE001 - e.g. the worker did not answer
        outcome = {"refused": str(getattr(error, "message", error))}
    if "refused" in outcome:
        notice = f"Redrive refused: {outcome['refused']}"
    else:
        moved = outcome["moved"]
        notice = f"Redrove {moved} message{'s' if moved != 1 else ''} to the source queue."
    request.method = "GET"
    request.GET = request.GET.copy()
    request.GET["notice"] = notice
    return queue_panel(request, pk, node_id)


@require_GET
def stream_panel(request: HttpRequest, pk: int, node_id: str) -> HttpResponse:
    """A stream's records by shard and sequence number, newest last."""
    topology = get_topology(request, pk)
    node = node_of(topology, node_id)
    if node is None or node["kind"] not in ("stream", "kafka_topic"):
        return HttpResponse("Not a stream.", status=404)

    try:
        shards = on_run(topology, "stream.records", node_id=node_id, per_shard=RECORDS_PER_SHARD)
    except NotRunning:
        return not_running(request, topology, "stream records")
    return fragment(request, "stream.html", {"topology": topology, "node": node, "shards": shards})


@require_GET
def executions_panel(request: HttpRequest, pk: int, node_id: str) -> HttpResponse:
    """A state machine's recent executions, newest first, with each state's status."""
    topology = get_topology(request, pk)
    node = node_of(topology, node_id)
    if node is None or node["kind"] != "state_machine":
        return HttpResponse("Not a state machine.", status=404)

    try:
        data = on_run(topology, "sm.overview", node_id=node_id, limit=EXECUTIONS_SHOWN)
    except NotRunning:
        return not_running(request, topology, "executions")
    for item in data["executions"] or []:
        item["time"] = clock_time(item["started"])
    return fragment(request, "executions.html", {"topology": topology, "node": node, **data})


@require_POST
def pattern_test(request: HttpRequest, pk: int) -> HttpResponse:
    """The rule sandbox: which of the topology's rules match a pasted event, and why not."""
    topology = get_topology(request, pk)
    event, problem = parse_json_field(request.POST.get("event", ""), "The event")
    if not problem and not isinstance(event, dict):
        problem = "The event must be a JSON object."
    only = request.POST.get("rule", "")
    results = []
    if not problem:
        for node in topology.document.get("nodes", []):
            if node.get("kind") != "rule" or (only and node["id"] != only):
                continue
            pattern = node.get("config", {}).get("event_pattern")
            result: dict[str, Any] = {"id": node["id"], "label": node.get("label") or node["id"]}
            if not pattern:
                result.update(matched=False, reasons=["This rule runs on a schedule only."])
            else:
                try:
                    reasons = patterns.compile_pattern(pattern).explain(event)
                    result.update(matched=not reasons, reasons=reasons)
                except patterns.PatternError as error:
                    result.update(matched=False, reasons=[f"Invalid pattern: {error}"])
            result["pattern"] = json.dumps(pattern, indent=1)
            results.append(result)
    context = {"topology": topology, "problem": problem, "results": results}
    return fragment(request, "pattern_result.html", context)


# --- the metrics page -----------------------------------------------------------------------------


@require_GET
def metrics(request: HttpRequest, pk: int) -> HttpResponse:
    topology = get_topology(request, pk)
    nodes = topology.document.get("nodes", [])
    context = {
        "topology": topology,
        "run": run_state(topology),
        "queues": [n for n in nodes if n.get("kind") == "queue"],
        "boot": {
            "topology": topology.pk,
            "nodes": {
                n["id"]: {"kind": n["kind"], "label": n.get("label") or n["id"]} for n in nodes
            },
            "edges": {
                e["id"]: {"source": e["source"], "target": e["target"]}
                for e in topology.document.get("edges", [])
            },
        },
    }
    return render(request, "designer/live/metrics.html", context)
