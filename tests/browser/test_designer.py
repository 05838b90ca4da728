"""In Chromium: building, wiring, configuring and saving a topology in the visual designer."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from designer.demo import demo_document
from designer.models import Access, Share, Topology
from tests.browser.helpers import log_in
from tests.builders import edge, make_document, node

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# A busy CI machine can take a while to answer; expect() returns as soon as the page is right.
expect.set_options(timeout=15_000)

CANVAS = "svg[data-canvas]"


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1600, "height": 900}}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def open_editor(page: Page, base_url: str, user: Any, document: dict[str, Any]) -> Topology:
    topology = Topology.create_from_document(user, document)
    log_in(page, base_url, user)
    page.goto(f"{base_url}/topologies/{topology.pk}/")
    expect(page.locator(f"{CANVAS}[data-ready=true]")).to_be_attached()
    return topology


def canvas_node(page: Page, node_id: str) -> Locator:
    return page.locator(f'g.node[data-node-id="{node_id}"]')


def centre(locator: Locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box, locator
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def place(page: Page, kind: str, x: float, y: float) -> None:
    """Drags a palette item onto the canvas at (x, y) relative to the canvas."""
    page.drag_and_drop(f"[data-palette-kind={kind}]", CANVAS, target_position={"x": x, "y": y})


def wire(page: Page, source: str, target: str) -> None:
    """Drags from the source's out-port to the target's in-port."""
    start = centre(canvas_node(page, source).locator("[data-port=out]"))
    end = centre(canvas_node(page, target).locator("[data-port=in]"))
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=6)
    page.mouse.up()


def saved(page: Page) -> None:
    expect(page.locator("#save-status")).to_have_text(re.compile(r"Version \d+ · saved"))


def stored(topology: Topology) -> dict[str, Any]:
    topology.refresh_from_db()
    return topology.document


def empty() -> dict[str, Any]:
    return make_document(name="Shop")


def test_build_the_demo_core_with_mouse_and_keyboard_then_save_and_reload(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    topology = open_editor(page, asgi_live_server, alice, empty())
    expect(page.locator("#empty-hint")).to_be_visible()

    layout = [
        ("producer", 120, 120),
        ("event_bus", 360, 120),
        ("rule", 600, 120),
        ("queue", 120, 340),
        ("function", 360, 340),
        ("log", 600, 340),
    ]
    for kind, x, y in layout:
        place(page, kind, x, y)
    expect(page.locator("g.node")).to_have_count(6)
    for kind in ("producer", "event_bus", "rule", "queue", "function", "log"):
        expect(page.locator(f"g.node[data-kind={kind}]")).to_have_count(1)

    chain = ["producer-1", "event-bus-1", "rule-1", "queue-1", "function-1", "log-1"]
    for source, target in zip(chain, chain[1:], strict=False):
        wire(page, source, target)
        expect(
            page.locator(f'.edge[data-source="{source}"][data-target="{target}"]')
        ).to_have_count(1)
    expect(page.locator(".edge[data-edge-id]")).to_have_count(5)

    # Configure the rule's pattern: checked as you type, applied when the field is left.
    canvas_node(page, "rule-1").click()
    pattern = page.locator("#insp-event_pattern")
    pattern.fill('{"source": ["shop"], "detail-type": ["OrderPlaced"]}')
    expect(page.locator("#check-event_pattern")).to_contain_text("valid")
    page.locator("#insp-label").fill("Placed orders")
    page.locator("#insp-label").press("Tab")
    expect(canvas_node(page, "rule-1").locator(".node-label")).to_have_text("Placed orders")

    page.get_by_role("button", name="Save (Ctrl+S)").click()
    saved(page)
    expect(page.locator("#save-status")).not_to_contain_text("unsaved")

    document = stored(topology)
    rule = next(n for n in document["nodes"] if n["id"] == "rule-1")
    assert rule["label"] == "Placed orders"
    assert rule["config"]["event_pattern"] == {
        "source": ["shop"],
        "detail-type": ["OrderPlaced"],
    }
    assert {(e["source"], e["target"]) for e in document["edges"]} == set(
        zip(chain, chain[1:], strict=False)
    )

    page.reload()
    expect(page.locator(f"{CANVAS}[data-ready=true]")).to_be_attached()
    expect(page.locator("g.node")).to_have_count(6)
    expect(page.locator(".edge[data-edge-id]")).to_have_count(5)
    expect(canvas_node(page, "rule-1")).to_have_attribute("aria-label", "Rule: Placed orders")
    expect(page.locator("#lint-list")).to_contain_text("No problems found.")


def test_undo_and_redo_every_edit(page: Page, asgi_live_server: str, alice: Any) -> None:
    open_editor(page, asgi_live_server, alice, empty())

    page.locator("[data-palette-kind=queue]").dblclick()
    queue = canvas_node(page, "queue-1")
    expect(queue).to_be_visible()
    before = queue.get_attribute("transform")
    queue.focus()
    page.keyboard.press("ArrowRight")
    expect(queue).not_to_have_attribute("transform", before or "")

    page.keyboard.press("Control+z")
    expect(queue).to_have_attribute("transform", before or "")
    page.keyboard.press("Control+z")
    expect(page.locator("g.node")).to_have_count(0)
    page.keyboard.press("Control+Shift+z")
    expect(page.locator("g.node")).to_have_count(1)
    page.keyboard.press("Control+Shift+z")
    expect(canvas_node(page, "queue-1")).not_to_have_attribute("transform", before or "")
    expect(page.get_by_role("button", name="Redo (Ctrl+Shift+Z)")).to_be_disabled()
    page.get_by_role("button", name="Undo (Ctrl+Z)").click()
    expect(canvas_node(page, "queue-1")).to_have_attribute("transform", before or "")

    # Quick repeated nudges undo as one step.
    canvas_node(page, "queue-1").focus()
    page.keyboard.press("Enter")
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    expect(canvas_node(page, "queue-1")).not_to_have_attribute("transform", before or "")
    page.keyboard.press("Control+z")
    expect(canvas_node(page, "queue-1")).to_have_attribute("transform", before or "")


def test_an_illegal_wire_is_refused_on_the_spot_with_the_reason(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    document = make_document(
        nodes=[node("bus", "event_bus", x=40, y=40), node("q", "queue", x=340, y=40)]
    )
    topology = open_editor(page, asgi_live_server, alice, document)

    wire(page, "bus", "q")
    expect(page.locator("#notice")).to_have_text(
        "Connection refused: An event bus cannot send to a queue; it can send to: rule."
    )
    wire(page, "q", "q")
    expect(page.locator("#notice")).to_contain_text("is wired to itself")
    expect(page.locator(".edge")).to_have_count(0)
    assert stored(topology)["edges"] == []


def test_a_stale_save_shows_the_conflict_and_keeps_the_edits(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    document = make_document(nodes=[node("q", "queue", label="Orders", x=40, y=40)])
    topology = open_editor(page, asgi_live_server, alice, document)

    # Someone else saves in between.
    theirs = {**topology.document, "name": "Renamed elsewhere"}
    topology.save_document(theirs, base_version=1, author=alice)

    canvas_node(page, "q").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")
    page.get_by_role("button", name="Save (Ctrl+S)").click()
    conflict = page.locator("#conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("changed since you loaded it")
    expect(canvas_node(page, "q")).to_have_attribute("transform", "translate(40 60)")

    page.get_by_role("button", name="Overwrite with mine").click()
    saved(page)
    expect(conflict).to_be_hidden()
    document = stored(topology)
    assert topology.version == 3
    assert document["nodes"][0]["y"] == 60


def test_reload_theirs_after_a_conflict_and_undo_brings_mine_back(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    document = make_document(nodes=[node("q", "queue", label="Orders", x=40, y=40)])
    topology = open_editor(page, asgi_live_server, alice, document)
    theirs = {**topology.document, "name": "Renamed elsewhere"}
    topology.save_document(theirs, base_version=1, author=alice)

    canvas_node(page, "q").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Control+s")
    page.get_by_role("button", name="Reload their version").click()
    expect(page.locator("#topology-name")).to_have_text("Renamed elsewhere")
    expect(canvas_node(page, "q")).to_have_attribute("transform", "translate(40 40)")
    page.keyboard.press("Control+z")
    expect(canvas_node(page, "q")).to_have_attribute("transform", "translate(40 60)")


def test_keyboard_only_placement_and_wiring(page: Page, asgi_live_server: str, alice: Any) -> None:
    topology = open_editor(page, asgi_live_server, alice, empty())

    page.locator("[data-palette-kind=producer]").focus()
    page.keyboard.press("Enter")
    page.locator("[data-palette-kind=queue]").focus()
    page.keyboard.press("Enter")
    expect(page.locator("g.node")).to_have_count(2)

    # Tab from the canvas reaches the nodes in document order.
    page.locator(CANVAS).focus()
    page.keyboard.press("Tab")
    expect(canvas_node(page, "producer-1")).to_be_focused()
    page.keyboard.press("Enter")
    expect(canvas_node(page, "producer-1")).to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("c")
    expect(page.locator("#connect-hint")).to_contain_text("Connecting from “Producer 1”")
    page.keyboard.press("Tab")
    expect(canvas_node(page, "queue-1")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator('.edge[data-source="producer-1"][data-target="queue-1"]')).to_have_count(1)

    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    before = canvas_node(page, "producer-1").get_attribute("transform")
    page.keyboard.press("ArrowUp")
    expect(canvas_node(page, "producer-1")).not_to_have_attribute("transform", before or "")
    page.keyboard.press("Control+s")
    saved(page)
    assert len(stored(topology)["edges"]) == 1


def test_search_finds_nodes_by_label_kind_and_config(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    open_editor(page, asgi_live_server, alice, demo_document())
    search = page.get_by_role("searchbox", name="Find nodes")

    search.fill("paid")
    expect(page.get_by_role("button", name="Go to Paid orders (Rule)")).to_be_visible()
    search.press("Enter")
    expect(canvas_node(page, "paid-orders")).to_have_class(re.compile(r"\bselected\b"))

    search.fill("anything-but")
    results = page.locator("#search-results")
    expect(results).to_contain_text("Notify customers")
    expect(results).to_contain_text("in config")
    search.fill("state machine")
    page.get_by_role("button", name="Go to Payment workflow (State machine)").click()
    expect(canvas_node(page, "payment-workflow")).to_have_class(re.compile(r"\bselected\b"))
    expect(canvas_node(page, "payment-workflow")).to_have_class(re.compile(r"\bsearch-hit\b"))


def test_copy_paste_and_a_paste_with_unknown_kinds_is_refused(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    document = make_document(
        nodes=[node("q", "queue", x=40, y=40), node("fn", "function", x=300, y=40)],
        edges=[edge("e1", "q", "fn")],
    )
    open_editor(page, asgi_live_server, alice, document)

    page.locator(CANVAS).focus()
    page.keyboard.press("Control+a")
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    expect(page.locator("g.node")).to_have_count(4)
    expect(page.locator(".edge[data-edge-id]")).to_have_count(2)

    foreign = json.dumps({"nodes": [{"id": "x", "kind": "teleporter", "x": 0, "y": 0}]})
    page.evaluate(
        """text => {
            const data = new DataTransfer();
            data.setData("text/plain", text);
            document.querySelector("svg[data-canvas]").dispatchEvent(
                new ClipboardEvent("paste", {clipboardData: data, bubbles: true}));
        }""",
        foreign,
    )
    expect(page.locator("#notice")).to_contain_text("Paste refused: unknown node kind “teleporter”")
    expect(page.locator("g.node")).to_have_count(4)


def test_lint_badges_and_clicking_a_finding_selects_the_culprit(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    document = make_document(
        nodes=[node("in", "producer", x=40, y=40), node("stuck", "queue", x=300, y=40)],
        edges=[edge("e1", "in", "stuck")],
    )
    open_editor(page, asgi_live_server, alice, document)

    expect(canvas_node(page, "stuck")).to_have_class(re.compile(r"\blint-warning\b"))
    finding = page.locator("#lint-list button[data-node=stuck]")
    expect(finding).to_contain_text("Nobody consumes")
    finding.click()
    expect(canvas_node(page, "stuck")).to_have_class(re.compile(r"\bselected\b"))

    # Fixing it (a consumer) clears the badge after the debounced lint.
    page.locator("[data-palette-kind=log]").dblclick()
    wire(page, "stuck", "log-1")
    expect(canvas_node(page, "stuck")).not_to_have_class(re.compile(r"\blint-warning\b"))


def test_an_out_of_range_value_is_refused_beside_the_field(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    document = make_document(nodes=[node("q", "queue", x=40, y=40)])
    topology = open_editor(page, asgi_live_server, alice, document)

    canvas_node(page, "q").click()
    timeout = page.get_by_label("Visibility timeout")
    timeout.fill("99999")
    timeout.press("Tab")
    field = page.locator("[data-field=visibility_timeout]")
    expect(field.locator(".field-error")).to_have_text("must be 0..43200 s")
    expect(page.get_by_label("Visibility timeout")).to_have_value("99999")
    page.keyboard.press("Control+s")
    assert stored(topology)["nodes"][0]["config"] == {}


def test_a_lost_connection_while_saving_keeps_the_edits_and_retries(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    topology = open_editor(page, asgi_live_server, alice, empty())
    page.route("**/document/", lambda route: route.abort())

    page.locator("[data-palette-kind=queue]").dblclick()
    page.get_by_role("button", name="Save (Ctrl+S)").click()
    offline = page.locator("#offline")
    expect(offline).to_contain_text("connection to the server was lost")
    expect(page.locator("g.node")).to_have_count(1)

    page.unroute("**/document/")
    page.get_by_role("button", name="Retry saving").click()
    saved(page)
    expect(offline).to_be_hidden()
    assert [n["id"] for n in stored(topology)["nodes"]] == ["queue-1"]


def test_history_shows_a_diff_on_the_canvas_and_restores(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    document = make_document(nodes=[node("q", "queue", x=40, y=40)])
    topology = open_editor(page, asgi_live_server, alice, document)

    page.locator("[data-palette-kind=log]").dblclick()
    page.keyboard.press("Control+s")
    saved(page)
    expect(page.locator("#revisions [data-revision]")).to_have_count(2)

    page.get_by_role("button", name="Show changes since r1").click()
    expect(canvas_node(page, "log-1")).to_have_class(re.compile(r"\bdiff-added\b"))
    expect(page.locator("#diff-banner")).to_contain_text("nodes +1 −0 ~0")

    page.get_by_role("button", name="Clear highlighted changes").click()
    canvas_node(page, "q").click()
    page.keyboard.press("Delete")
    page.keyboard.press("Control+s")
    expect(page.locator("#revisions [data-revision]")).to_have_count(3)
    page.get_by_role("button", name="Show changes since r2").click()
    expect(page.locator('[data-ghost-id="q"]')).to_be_visible()
    expect(page.locator("#diff-banner")).to_contain_text("nodes +0 −1 ~0")

    page.get_by_role("button", name="Restore r1").click()
    expect(page.locator("g.node")).to_have_count(1)
    expect(canvas_node(page, "q")).to_be_visible()
    saved(page)
    assert topology.revisions.count() == 4
    assert [n["id"] for n in stored(topology)["nodes"]] == ["q"]


def test_auto_layout_and_labels_render_as_text(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    label = '<img src=x onerror="document.title=1">'
    document = make_document(
        nodes=[
            node("sink", "log", label=label, x=0, y=0),
            node("fn", "function", x=0, y=300),
            node("q", "queue", x=0, y=600),
        ],
        edges=[edge("e1", "q", "fn"), edge("e2", "fn", "sink")],
    )
    open_editor(page, asgi_live_server, alice, document)

    expect(canvas_node(page, "sink")).to_have_attribute("aria-label", f"Log: {label}")
    assert page.locator(f"{CANVAS} img").count() == 0

    page.get_by_role("button", name="Auto-layout").click()
    expect(canvas_node(page, "q")).to_have_attribute("transform", re.compile(r"translate\(40 "))
    xs = [
        float(re.findall(r"[-\d.]+", canvas_node(page, n).get_attribute("transform") or "")[0])
        for n in ("q", "fn", "sink")
    ]
    assert xs == sorted(xs) and len(set(xs)) == 3
    assert page.title() != "1"


def test_a_topic_subscription_s_filter_policy_is_set_from_the_keyboard(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    document = make_document(
        nodes=[node("orders", "topic", x=40, y=40), node("mail", "email", x=340, y=40)],
        edges=[edge("sub", "orders", "mail")],
    )
    topology = open_editor(page, asgi_live_server, alice, document)

    canvas_node(page, "orders").focus()
    page.keyboard.press("Enter")
    connection = page.get_by_role("button", name="Edit the connection to mail")
    connection.focus()
    page.keyboard.press("Enter")
    expect(page.locator('.edge[data-edge-id="sub"]')).to_have_class(re.compile(r"\bselected\b"))
    expect(page.locator("#insp-label")).to_be_focused()
    policy = page.get_by_label("Filter policy", exact=True)
    policy.fill('{"detail": {"channel": "email"}}')
    expect(page.locator("#check-filter_policy .field-error")).to_be_visible()
    policy.fill('{"detail": {"channel": ["email"]}}')
    expect(page.locator("#check-filter_policy")).to_contain_text("valid")
    page.get_by_label("Filter policy scope").select_option("MessageBody")
    page.keyboard.press("Control+s")
    saved(page)
    expect(page.locator("#save-status")).not_to_contain_text("unsaved")
    assert stored(topology)["edges"][0]["config"] == {
        "filter_policy": {"detail": {"channel": ["email"]}},
        "filter_policy_scope": "MessageBody",
    }


def test_a_node_dropped_outside_the_canvas_goes_back(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    topology = open_editor(page, asgi_live_server, alice, make_document(nodes=[node("q", "queue")]))
    queue = canvas_node(page, "q")
    before = queue.get_attribute("transform")

    page.mouse.move(*centre(queue.locator(".node-body")))
    page.mouse.down()
    palette = page.locator("[data-palette-kind=producer]")
    page.mouse.move(*centre(palette), steps=8)
    page.mouse.up()

    expect(page.locator("#notice")).to_have_text(
        "Dropped outside the canvas: the node went back to where it was."
    )
    expect(queue).to_have_attribute("transform", before or "")
    expect(page.get_by_role("button", name="Undo (Ctrl+Z)")).to_be_disabled()
    assert topology.version == 1


def test_every_editor_control_has_an_accessible_name(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    open_editor(page, asgi_live_server, alice, demo_document())
    canvas_node(page, "new-orders").click()
    expect(page.locator("#insp-event_pattern")).to_be_visible()

    unnamed = page.evaluate(
        """() => {
            const scope = ".palette, .canvas-wrap, .side, .editor-toolbar [data-action], "
                + "#node-search, #snap";
            const controls = [...document.querySelectorAll(scope)].flatMap((root) =>
                [root, ...root.querySelectorAll(
                    "button, input:not([type=hidden]), select, textarea, a[href], "
                    + "[tabindex], [role=button]")]);
            const named = (el) => (el.getAttribute("aria-label") || "").trim()
                || (el.labels && [...el.labels].some((l) => l.textContent.trim()))
                || (el.getAttribute("aria-labelledby") || "").trim()
                || (el.matches("button, a, summary") && el.textContent.trim());
            return [...new Set(controls)]
                .filter((el) => el.matches("button, input, select, textarea, a[href], "
                    + "[tabindex], [role=button]"))
                .filter((el) => !named(el)).map((el) => el.outerHTML.slice(0, 120));
        }"""
    )
    assert unnamed == []
    # The canvas hooks DESIGN.md promises.
    expect(page.locator("svg[data-canvas]")).to_have_count(1)
    expect(page.locator("g.node[data-node-id][data-kind]")).to_have_count(21)
    expect(page.locator(".edge[data-edge-id][data-source][data-target]")).to_have_count(18)
    expect(page.locator("g.node [data-port=in]")).to_have_count(21)


def test_edits_that_could_not_be_saved_survive_a_reload(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    topology = open_editor(page, asgi_live_server, alice, empty())
    page.route("**/document/", lambda route: route.abort())

    page.locator("[data-palette-kind=stream]").dblclick()
    expect(page.locator("#offline")).to_be_visible(timeout=10_000)
    page.unroute("**/document/")
    page.reload()

    expect(page.locator(f"{CANVAS}[data-ready=true]")).to_be_attached()
    expect(canvas_node(page, "stream-1")).to_be_visible()
    expect(page.locator("#notice")).to_contain_text("Recovered the unsaved edits")
    saved(page)
    assert [n["id"] for n in stored(topology)["nodes"]] == ["stream-1"]


def translate(locator: Locator) -> tuple[float, float]:
    x, y = re.findall(r"[-\d.]+", locator.get_attribute("transform") or "")[:2]
    return float(x), float(y)


def test_select_shift_select_rubber_band_move_with_snap_and_delete(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    document = make_document(
        nodes=[
            node("a", "queue", x=40, y=40),
            node("b", "function", x=300, y=40),
            node("c", "log", x=40, y=240),
        ],
        edges=[edge("e1", "a", "b")],
    )
    topology = open_editor(page, asgi_live_server, alice, document)
    selected = re.compile(r"\bselected\b")

    canvas_node(page, "a").click()
    canvas_node(page, "c").click(modifiers=["Shift"])
    expect(canvas_node(page, "a")).to_have_class(selected)
    expect(canvas_node(page, "c")).to_have_class(selected)
    expect(canvas_node(page, "b")).not_to_have_class(selected)
    expect(page.locator("#inspector")).to_contain_text("2 node(s) and 0 connection(s) selected")

    # Rubber band around a and b (and their edge) from empty canvas.
    start = page.locator(CANVAS).bounding_box()
    assert start
    a_box = canvas_node(page, "a").bounding_box()
    b_box = canvas_node(page, "b").bounding_box()
    assert a_box and b_box
    page.mouse.move(a_box["x"] - 15, a_box["y"] - 15)
    page.mouse.down()
    page.mouse.move(b_box["x"] + b_box["width"] + 15, b_box["y"] + b_box["height"] + 15, steps=5)
    page.mouse.up()
    expect(canvas_node(page, "a")).to_have_class(selected)
    expect(canvas_node(page, "b")).to_have_class(selected)
    expect(canvas_node(page, "c")).not_to_have_class(selected)
    expect(page.locator('.edge[data-edge-id="e1"]')).to_have_class(selected)

    # Drag both by the body of b: positions stay on the 20 px grid.
    grab = centre(canvas_node(page, "b").locator(".node-body"))
    page.mouse.move(*grab)
    page.mouse.down()
    page.mouse.move(grab[0] + 47, grab[1] + 33, steps=6)
    page.mouse.up()
    ax, ay = translate(canvas_node(page, "a"))
    bx, by = translate(canvas_node(page, "b"))
    assert (ax, ay) != (40, 40)
    assert all(value % 20 == 0 for value in (ax, ay, bx, by))
    assert (bx - ax, by - ay) == (260, 0)

    page.keyboard.press("Delete")
    expect(page.locator("g.node")).to_have_count(1)
    expect(page.locator(".edge")).to_have_count(0)
    page.keyboard.press("Control+s")
    saved(page)
    assert [n["id"] for n in stored(topology)["nodes"]] == ["c"]


def test_zoom_fit_pan_and_the_minimap(page: Page, asgi_live_server: str, alice: Any) -> None:
    open_editor(page, asgi_live_server, alice, demo_document())
    zoom = page.locator("#zoom-level")
    fitted = zoom.inner_text()

    page.get_by_role("button", name="Zoom in").click()
    expect(zoom).not_to_have_text(fitted)
    page.get_by_role("button", name="Zoom to fit").click()
    expect(zoom).to_have_text(fitted)

    viewport = page.locator(f"{CANVAS} .viewport")
    before = viewport.get_attribute("transform")
    page.locator(CANVAS).hover(position={"x": 300, "y": 300})
    page.keyboard.down("Control")
    page.mouse.wheel(0, -300)
    page.keyboard.up("Control")
    expect(zoom).not_to_have_text(fitted)
    page.mouse.wheel(0, 200)
    expect(viewport).not_to_have_attribute("transform", before or "")

    moved = viewport.get_attribute("transform")
    page.locator(".minimap").click(position={"x": 20, "y": 20})
    expect(viewport).not_to_have_attribute("transform", moved or "")


def test_double_click_a_node_to_rename_it(page: Page, asgi_live_server: str, alice: Any) -> None:
    open_editor(
        page, asgi_live_server, alice, make_document(nodes=[node("q", "queue", x=40, y=40)])
    )

    canvas_node(page, "q").dblclick()
    label = page.locator("#insp-label")
    expect(label).to_be_focused()
    label.fill("Orders & <returns>")
    label.press("Enter")
    expect(canvas_node(page, "q").locator(".node-label")).to_have_text("Orders & <returns>")
    canvas_node(page, "q").focus()  # in a text field Ctrl+Z is the field's own undo
    page.keyboard.press("Control+z")
    expect(canvas_node(page, "q").locator(".node-label")).to_have_text("q")


def test_the_inspector_deletes_the_selected_connection(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    document = make_document(
        nodes=[node("q", "queue", x=40, y=40), node("fn", "function", x=300, y=40)],
        edges=[edge("e1", "q", "fn")],
    )
    open_editor(page, asgi_live_server, alice, document)

    canvas_node(page, "q").click()
    page.get_by_role("button", name="Edit the connection to fn").click()
    page.get_by_role("button", name="Delete this connection").click()
    expect(page.locator(".edge")).to_have_count(0)
    expect(page.locator("g.node")).to_have_count(2)
    expect(page.locator("#notice")).to_contain_text("Deleted 1 connection")


def test_a_reader_sees_the_topology_but_cannot_change_it(
    page: Page, asgi_live_server: str, alice: Any, bob: Any
) -> None:
    document = make_document(nodes=[node("q", "queue", x=40, y=40)])
    topology = Topology.create_from_document(alice, document)
    Share.objects.create(topology=topology, user=bob, access=Access.READ)
    log_in(page, asgi_live_server, bob)
    page.goto(f"{asgi_live_server}/topologies/{topology.pk}/")
    expect(page.locator(f"{CANVAS}[data-ready=true]")).to_be_attached()

    expect(page.locator("[data-palette-kind]")).to_have_count(0)
    expect(page.get_by_role("button", name="Save (Ctrl+S)")).to_have_count(0)
    queue = canvas_node(page, "q")
    before = queue.get_attribute("transform")
    grab = centre(queue.locator(".node-body"))
    page.mouse.move(*grab)
    page.mouse.down()
    page.mouse.move(grab[0] + 100, grab[1] + 60, steps=5)
    page.mouse.up()
    expect(queue).to_have_attribute("transform", before or "")
    expect(page.get_by_label("Visibility timeout")).to_be_disabled()
    page.keyboard.press("Delete")
    expect(page.locator("g.node")).to_have_count(1)
