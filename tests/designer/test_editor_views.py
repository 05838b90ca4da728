"""The editor page and the endpoints its canvas calls (inspector, checks, lint, layout, history)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from designer.models import Access, Share, Topology
from runtime import graph
from runtime.nodes import KINDS
from tests.builders import edge, make_document, node, pipeline_document

pytestmark = pytest.mark.django_db


@pytest.fixture
def topology(alice: Any) -> Topology:
    return Topology.create_from_document(alice, pipeline_document("Orders"))


def url(name: str, *args: Any) -> str:
    return reverse(f"designer:{name}", args=args)


def boot_of(response: Any) -> dict[str, Any]:
    match = re.search(
        r'<script id="editor-boot" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.DOTALL,
    )
    assert match
    return json.loads(match.group(1))


def post_json(client: Client, path: str, body: Any) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


def inspect(client: Client, topology: Topology, **values: Any) -> Any:
    return client.post(url("inspector", topology.pk), values, HTTP_HX_REQUEST="true")


# --- the page ------------------------------------------------------------------------------------


def test_the_palette_lists_every_kind_in_its_group(
    topology: Topology, alice_client: Client
) -> None:
    content = alice_client.get(url("editor", topology.pk)).content.decode()

    for name, kind in KINDS.items():
        assert f'data-palette-kind="{name}"' in content
        assert f'aria-label="Add {kind.label}: ' in content
    positions = [content.index(f">{group}</h2>") for group in graph_groups()]
    assert positions == sorted(positions)


def graph_groups() -> list[str]:
    return ["Producers", "Routing", "Buffers", "Compute", "Targets"]


def test_the_page_hands_the_canvas_the_server_s_wiring_rules(
    topology: Topology, alice_client: Client
) -> None:
    boot = boot_of(alice_client.get(url("editor", topology.pk)))

    for source in KINDS:
        for target in KINDS:
            assert boot["wiring"][source].get(target) == graph.wiring_problem(source, target)
    assert boot["kinds"]["rule"]["max_out_edges"] == 5
    assert boot["articles"]["event_bus"] == "an event bus"
    assert set(boot["urls"]) >= {"document", "lint", "layout", "inspector", "restore"}


def test_the_page_loads_its_script_as_a_module_without_inline_code(
    topology: Topology, alice_client: Client
) -> None:
    content = alice_client.get(url("editor", topology.pk)).content.decode()

    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", content, re.DOTALL)
    for attrs, body in scripts:
        if body.strip():
            assert 'type="application/json"' in attrs, attrs
    assert any('type="module"' in attrs and "designer/editor.js" in attrs for attrs, _ in scripts)
    assert not re.search(r"\son[a-z]+=", content), "inline event handler"


def test_a_reader_gets_no_palette_and_no_save_button(
    topology: Topology, bob: Any, bob_client: Client
) -> None:
    Share.objects.create(topology=topology, user=bob, access=Access.READ)

    content = bob_client.get(url("editor", topology.pk)).content.decode()

    assert "data-palette-kind" not in content
    assert 'data-action="save"' not in content


# --- the inspector -------------------------------------------------------------------------------


def test_the_inspector_loads_a_node_s_form_with_its_values(
    topology: Topology, alice_client: Client
) -> None:
    item = {"label": "Orders <queue>", "config": {"visibility_timeout": 45}}

    response = inspect(
        alice_client, topology, target="node", id="orders", kind="queue", item=json.dumps(item)
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert 'name="visibility_timeout"' in content and 'value="45"' in content
    assert "Orders &lt;queue&gt;" in content and "Orders <queue>" not in content
    assert 'for="insp-visibility_timeout"' in content
    assert "HX-Trigger" not in response


def test_applying_valid_values_tells_the_canvas_what_to_store(
    topology: Topology, alice_client: Client
) -> None:
    response = inspect(
        alice_client,
        topology,
        mode="apply",
        target="node",
        id="orders",
        kind="queue",
        label="Orders",
        visibility_timeout="60",
        deduplication_scope="queue",
        fifo_throughput_limit="perQueue",
    )

    event = json.loads(response["HX-Trigger"])["flowyard:apply"]
    assert event == {
        "label": "Orders",
        "config": {"visibility_timeout": 60},
        "ok": True,
        "what": "node",
        "id": "orders",
    }
    assert "field-error" not in response.content.decode()


def test_an_out_of_range_value_comes_back_with_the_error_beside_the_field(
    topology: Topology, alice_client: Client
) -> None:
    response = inspect(
        alice_client,
        topology,
        mode="apply",
        target="node",
        id="orders",
        kind="queue",
        label="Orders",
        visibility_timeout="99999",
        deduplication_scope="queue",
        fifo_throughput_limit="perQueue",
    )

    content = response.content.decode()
    assert json.loads(response["HX-Trigger"])["flowyard:apply"]["ok"] is False
    field = content[content.index('id="check-visibility_timeout"') :]
    field = field[: field.index("</span>\n")]
    assert "must be 0..43200 s" in field
    assert "<input" not in content, "the inputs being typed in are not replaced"
    assert 'hx-swap-oob="true"' in content


def test_an_edge_from_a_topic_shows_the_filter_policy(
    topology: Topology, alice_client: Client
) -> None:
    response = inspect(
        alice_client,
        topology,
        target="edge",
        id="e1",
        kind="topic",
        source="Notifications",
        target_node="Email",
        item=json.dumps({"label": "", "config": {"filter_policy": {"a": ["b"]}}}),
    )

    content = response.content.decode()
    assert 'name="filter_policy"' in content
    assert "filter policy" in content
    assert "Notifications → Email" in content


def test_an_edge_from_a_rule_shows_the_input_transformer(
    topology: Topology, alice_client: Client
) -> None:
    response = inspect(alice_client, topology, target="edge", id="e1", kind="rule", item="{}")

    content = response.content.decode()
    assert 'name="input_template"' in content and 'name="input_paths_map"' in content


def test_the_topology_form_renames(topology: Topology, alice_client: Client) -> None:
    response = inspect(
        alice_client, topology, mode="apply", target="topology", name="Shop", description="d"
    )

    event = json.loads(response["HX-Trigger"])["flowyard:apply"]
    assert (event["ok"], event["name"], event["description"]) == (True, "Shop", "d")


def test_an_unknown_kind_gets_a_hint_not_an_error(topology: Topology, alice_client: Client) -> None:
    response = inspect(alice_client, topology, target="node", id="x", kind="teleporter")

    assert response.status_code == 200
    assert "Select a node or an edge" in response.content.decode()


def test_a_stranger_cannot_use_the_inspector(topology: Topology, carol_client: Client) -> None:
    assert inspect(carol_client, topology, target="node", kind="queue").status_code == 404


# --- checking one field as you type --------------------------------------------------------------


def check(client: Client, topology: Topology, **values: Any) -> str:
    response = client.post(url("check-field", topology.pk), values, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return response.content.decode()


def test_a_valid_pattern_is_confirmed(topology: Topology, alice_client: Client) -> None:
    answer = check(
        alice_client,
        topology,
        _field="event_pattern",
        mode="apply",
        target="node",
        kind="rule",
        state="ENABLED",
        event_pattern='{"source": ["shop"]}',
    )

    assert "field-ok" in answer


def test_an_invalid_pattern_is_explained(topology: Topology, alice_client: Client) -> None:
    answer = check(
        alice_client,
        topology,
        _field="event_pattern",
        mode="apply",
        target="node",
        kind="rule",
        state="ENABLED",
        event_pattern='{"source": "shop"}',
    )

    assert 'class="field-error"' in answer
    assert "source" in answer


def test_broken_json_is_explained_with_its_position(
    topology: Topology, alice_client: Client
) -> None:
    answer = check(
        alice_client,
        topology,
        _field="event_pattern",
        mode="apply",
        target="node",
        kind="rule",
        state="ENABLED",
        event_pattern='{"source": [<b>]}',
    )

    assert "not JSON" in answer and "line 1, column 13" in answer
    assert "<b>" not in answer


def test_checking_an_unknown_field_is_a_bad_request(
    topology: Topology, alice_client: Client
) -> None:
    response = alice_client.post(
        url("check-field", topology.pk), {"_field": "nope", "target": "node", "kind": "rule"}
    )

    assert response.status_code == 400


# --- draft lint and layout -----------------------------------------------------------------------


def test_a_draft_is_linted_without_being_saved(topology: Topology, alice_client: Client) -> None:
    document = make_document(
        nodes=[node("in", "producer"), node("stuck", "queue")], edges=[edge("e1", "in", "stuck")]
    )

    response = post_json(alice_client, url("draft-lint", topology.pk), {"document": document})

    assert response.status_code == 200
    assert [f["code"] for f in response.json()["lint"]] == ["unconsumed"]
    topology.refresh_from_db()
    assert topology.version == 1


def test_an_invalid_draft_gives_its_errors_with_pointers(
    topology: Topology, alice_client: Client
) -> None:
    document = make_document(nodes=[node("q", "queue", visibility_timeout=-1)])

    response = post_json(alice_client, url("draft-lint", topology.pk), {"document": document})

    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "/nodes/0/config/visibility_timeout"


def test_a_draft_that_is_not_json_is_refused(topology: Topology, alice_client: Client) -> None:
    response = alice_client.post(
        url("draft-lint", topology.pk), b"{nope", content_type="application/json"
    )

    assert response.status_code == 400


def test_layout_places_nodes_left_to_right(topology: Topology, alice_client: Client) -> None:
    response = post_json(alice_client, url("layout", topology.pk), {"document": topology.document})

    positions = response.json()["positions"]
    xs = [positions[name][0] for name in ("orders-in", "orders", "worker", "sink")]
    assert xs == sorted(xs) and len(set(xs)) == 4


def test_layout_tolerates_odd_edges(topology: Topology, alice_client: Client) -> None:
    document = {"nodes": [{"id": "a"}, {"id": "b"}, "junk"], "edges": [{"source": "a"}, 3]}

    response = post_json(alice_client, url("layout", topology.pk), {"document": document})

    assert set(response.json()["positions"]) == {"a", "b"}


# --- history -------------------------------------------------------------------------------------


def save(topology: Topology, user: Any, name: str) -> None:
    document = {**topology.document, "name": name}
    topology.save_document(document, base_version=topology.version, author=user)


def test_the_revision_panel_lists_revisions_with_diff_and_restore(
    topology: Topology, alice: Any, alice_client: Client
) -> None:
    save(topology, alice, "Orders v2")

    content = alice_client.get(url("revision-panel", topology.pk)).content.decode()

    assert 'data-revision="2"' in content and 'data-revision="1"' in content
    assert 'data-restore="1"' in content and 'data-restore="2"' not in content
    assert 'data-diff="1"' in content
    assert "<html" not in content


def test_restore_as_json_creates_a_new_version(
    topology: Topology, alice: Any, alice_client: Client
) -> None:
    save(topology, alice, "Renamed")

    response = alice_client.post(url("restore-json", topology.pk, 1), {"version": "2"})

    assert response.status_code == 200
    data = response.json()
    assert data["version"] == 3 and data["document"]["name"] == "Orders"
    topology.refresh_from_db()
    assert topology.version == 3


def test_a_stale_restore_is_a_conflict(
    topology: Topology, alice: Any, alice_client: Client
) -> None:
    save(topology, alice, "Renamed")

    response = alice_client.post(url("restore-json", topology.pk, 1), {"version": "1"})

    assert response.status_code == 409
    assert response.json()["current_version"] == 2


def test_a_reader_cannot_restore(topology: Topology, bob: Any, bob_client: Client) -> None:
    Share.objects.create(topology=topology, user=bob, access=Access.READ)

    response = bob_client.post(url("restore-json", topology.pk, 1), {"version": "1"})

    assert response.status_code == 403


def test_the_editor_may_save_without_the_lint_it_already_has(
    topology: Topology, alice_client: Client
) -> None:
    body = {"version": 1, "document": topology.document, "lint": False}

    response = post_json(alice_client, url("document", topology.pk), body)

    assert response.status_code == 200
    assert response.json() == {"version": 2}


def test_htmx_runs_without_eval_or_swapped_scripts(
    topology: Topology, alice_client: Client
) -> None:
    content = alice_client.get(url("editor", topology.pk)).content.decode()

    match = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", content)
    assert match
    assert json.loads(match.group(1)) == {
        "allowEval": False,
        "allowScriptTags": False,
        "selfRequestsOnly": True,
    }
