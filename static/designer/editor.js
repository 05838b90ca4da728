// The editor page: ties the document store and the canvas to the palette, inspector (htmx),
// lint, saving (explicit, autosave, conflicts, lost connection), history and search.
import { Canvas, GRID, NODE_H, NODE_W, isTyping } from "./canvas.js";
import { Store } from "./model.js";

const AUTOSAVE_MS = 1500;
const LINT_MS = 400;
const PASTE_OFFSET = 40;

const boot = JSON.parse(document.getElementById("editor-boot").textContent);
const $ = (selector, root = document) => root.querySelector(selector);
const csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
const editable = boot.can_edit;
const draftKey = `flowyard-draft-${boot.topology.id}`;

const store = new Store(boot.document, boot);
const state = {
  version: boot.topology.version,
  savedCounter: 0,
  saving: false,
  again: false,
  conflict: null,
  offline: false,
  retryDelay: 2000,
  retryTimer: null,
  autosaveTimer: null,
  lintTimer: null,
  connectFrom: null,
  clipboard: "",
  pasteCount: 0,
  inspected: null, // {target, id, snapshot}
  lastMessage: "",
};

const svg = $("svg[data-canvas]");
const canvas = new Canvas(svg, store, {
  editable,
  snap: () => $("#snap").checked,
  minimap: $(".minimap"),
  notify,
  onSelect: selectionChanged,
  onWire: (from, to) => connect(from, to),
  onConnectTo: (to) => { const from = state.connectFrom; endConnect(); connect(from, to); },
  connectingFrom: () => state.connectFrom,
  onView: (view) => { $("#zoom-level").textContent = `${Math.round(view.k * 100)}%`; },
  onFocusNode: (id) => canvas.reveal([id]),
});

// --- messages ----------------------------------------------------------------------------------

let noticeTimer = null;
function notify(text, tone = "info") {
  const box = $("#notice");
  box.textContent = text;
  box.className = `notice ${tone}`;
  box.hidden = false;
  state.lastMessage = text;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { box.hidden = true; }, tone === "error" ? 9000 : 5000);
}

function setStatus(text, tone = "") {
  const status = $("#save-status");
  status.textContent = text;
  status.className = `save-status ${tone}`;
}

function dirty() { return store.counter !== state.savedCounter; }

// --- document changes --------------------------------------------------------------------------

store.addEventListener("change", (event) => {
  canvas.render();
  refreshToolbar();
  refreshDatalist();
  $("#empty-hint").hidden = store.doc.nodes.length > 0;
  $(".minimap").classList.toggle("empty", !store.doc.nodes.length);
  if (dirty()) {
    if (!state.conflict && !state.offline) setStatus(`Version ${state.version} · unsaved changes`, "dirty");
    keepDraft();
    scheduleAutosave();
  }
  scheduleLint();
  runSearch(false);
  const reason = event.detail.reason;
  if (reason !== "inspector") refreshInspectorIfStale();
});

function refreshToolbar() {
  $("[data-action=undo]").disabled = !store.undoStack.length || !editable;
  $("[data-action=redo]").disabled = !store.redoStack.length || !editable;
  $("[data-action=delete]").disabled = !editable || !(canvas.selectedNodes.size || canvas.selectedEdges.size);
  const name = store.doc.name || "Untitled";
  if ($("#topology-name").textContent !== name) {
    $("#topology-name").textContent = name;
    $("#crumb-name").textContent = name;
    document.title = `${name} · Flowyard`;
  }
}

let datalistTimer = null;
function refreshDatalist() {
  clearTimeout(datalistTimer);
  datalistTimer = setTimeout(() => {
    const options = store.doc.nodes.map((node) => {
      const option = document.createElement("option");
      option.value = node.id;
      option.label = node.label;
      return option;
    });
    $("#node-ids").replaceChildren(...options);
  }, 200);
}

// --- adding, wiring, deleting ------------------------------------------------------------------

function addNode(kindName, x, y, how) {
  if (!editable) return;
  if (!(kindName in boot.kinds)) { notify(`Unknown node kind “${kindName}”.`, "error"); return; }
  if (store.doc.nodes.length >= boot.limits.max_nodes) { notify(`A topology holds at most ${boot.limits.max_nodes} nodes.`, "error"); return; }
  const snap = (value) => ($("#snap").checked ? Math.round(value / GRID) * GRID : value);
  const { x: px, y: py } = freeSpot(snap(x - NODE_W / 2), snap(y - NODE_H / 2), how ? 1 : 0);
  const node = store.newNode(kindName, px, py);
  store.edit(`Add ${node.label}`, (doc) => { doc.nodes.push(node); });
  canvas.select([node.id]);
  canvas.reveal([node.id]);
  notify(`Added ${node.label}${how ? ` ${how}` : ""}.`);
  return node;
}

// The nearest place around (x, y) where a new node overlaps no other; a drop (spread 0) stays put
// unless it lands exactly on top of a node.
function freeSpot(x, y, spread) {
  const clear = (cx, cy) => !store.doc.nodes.some((node) =>
    Math.abs(node.x - cx) < (spread ? NODE_W + GRID : 10) && Math.abs(node.y - cy) < (spread ? NODE_H + GRID : 10));
  if (clear(x, y)) return { x, y };
  const stepX = NODE_W + GRID * 2;
  const stepY = NODE_H + GRID * 2;
  const candidates = [];
  for (let dy = -6; dy <= 6; dy += 1) {
    // Prefer the right (where the flow goes), then the rows above and below.
    for (let dx = -4; dx <= 4; dx += 1) candidates.push({ x: x + dx * stepX, y: y + dy * stepY, d: Math.abs(dy) * 1.5 + (dx >= 0 ? dx : 0.5 - dx) });
  }
  candidates.sort((a, b) => a.d - b.d);
  return candidates.find((spot) => clear(spot.x, spot.y)) || { x: x + GRID * 2, y: y + GRID * 2 };
}

function connect(from, to) {
  if (!editable || !from || !to) return;
  const problem = store.wireProblem(from, to);
  if (problem) {
    notify(`Connection refused: ${problem}`, "error");
    canvas.setMarks("refused", [to]);
    setTimeout(() => canvas.setMarks("refused"), 1500);
    return;
  }
  const edge = { id: store.uniqueEdgeId(), source: from, target: to, config: {} };
  const source = store.node(from);
  const target = store.node(to);
  store.edit(`Connect ${source.label} → ${target.label}`, (doc) => { doc.edges.push(edge); });
  canvas.select([], [edge.id]);
  notify(`Connected ${source.label} → ${target.label}.`);
}

function startConnect() {
  const [id] = canvas.selectedNodes;
  if (!editable || canvas.selectedNodes.size !== 1) { notify("Select one node, then press C to connect it.", "warning"); return; }
  const node = store.node(id);
  if (!boot.kinds[node.kind].feeds.length) {
    notify(`Connection refused: ${boot.wiring[node.kind][Object.keys(boot.kinds)[0]] || "this node has no output."}`, "error");
    return;
  }
  state.connectFrom = id;
  svg.classList.add("connecting");
  const hint = $("#connect-hint");
  hint.textContent = `Connecting from “${node.label}”: Tab to the target node and press Enter, or click it. Esc cancels.`;
  hint.hidden = false;
}

function endConnect() {
  state.connectFrom = null;
  svg.classList.remove("connecting");
  $("#connect-hint").hidden = true;
}

function deleteSelection() {
  if (!editable) return;
  const nodes = new Set(canvas.selectedNodes);
  const edges = new Set(canvas.selectedEdges);
  if (!nodes.size && !edges.size) return;
  const what = [nodes.size && `${nodes.size} node${nodes.size > 1 ? "s" : ""}`, edges.size && `${edges.size} connection${edges.size > 1 ? "s" : ""}`].filter(Boolean).join(" and ");
  store.edit(`Delete ${what}`, (doc) => {
    doc.nodes = doc.nodes.filter((node) => !nodes.has(node.id));
    doc.edges = doc.edges.filter((edge) => !edges.has(edge.id) && !nodes.has(edge.source) && !nodes.has(edge.target));
  });
  canvas.select();
  notify(`Deleted ${what}. Ctrl+Z brings it back.`);
  svg.focus({ preventScroll: true });
}

function moveSelection(dx, dy) {
  const ids = [...canvas.selectedNodes];
  if (!editable || !ids.length) return false;
  const limit = boot.limits.max_coordinate;
  store.edit(ids.length === 1 ? "Move node" : `Move ${ids.length} nodes`, (doc) => {
    for (const node of doc.nodes) {
      if (!canvas.selectedNodes.has(node.id)) continue;
      node.x = Math.min(limit, Math.max(-limit, node.x + dx));
      node.y = Math.min(limit, Math.max(-limit, node.y + dy));
    }
  }, undefined, `nudge:${[...ids].sort().join(",")}`);
  canvas.reveal(ids);
  return true;
}

// --- copy and paste ----------------------------------------------------------------------------

function copySelection(cut = false) {
  const ids = [...canvas.selectedNodes];
  if (!ids.length) { notify("Select nodes to copy.", "warning"); return; }
  state.clipboard = store.serialise(ids);
  state.pasteCount = 0;
  navigator.clipboard?.writeText(state.clipboard).catch(() => {});
  if (cut) deleteSelection();
  else notify(`Copied ${ids.length} node${ids.length > 1 ? "s" : ""}.`);
}

function pasteText(text) {
  if (!editable) return;
  state.pasteCount = text === state.clipboard ? state.pasteCount + 1 : 1;
  let parsed;
  try {
    parsed = store.parseClipboard(text, PASTE_OFFSET * state.pasteCount);
  } catch (error) {
    notify(error.message, "error");
    return;
  }
  const illegal = parsed.edges.filter((edge) => {
    const source = parsed.nodes.find((node) => node.id === edge.source);
    const target = parsed.nodes.find((node) => node.id === edge.target);
    return edge.source === edge.target || boot.wiring[source.kind]?.[target.kind];
  });
  const edges = parsed.edges.filter((edge) => !illegal.includes(edge));
  store.edit(`Paste ${parsed.nodes.length} nodes`, (doc) => {
    doc.nodes.push(...parsed.nodes);
    doc.edges.push(...edges);
  });
  canvas.select(parsed.nodes.map((node) => node.id), edges.map((edge) => edge.id));
  canvas.reveal(parsed.nodes.map((node) => node.id));
  const skipped = illegal.length ? ` ${illegal.length} connection(s) that break the wiring rules were left out.` : "";
  notify(`Pasted ${parsed.nodes.length} node${parsed.nodes.length === 1 ? "" : "s"}.${skipped}`, skipped ? "warning" : "info");
}

let pasteSeen = false;
document.addEventListener("paste", (event) => {
  if (isTyping(event.target)) return;
  const text = event.clipboardData?.getData("text/plain") || "";
  if (!text) return;
  pasteSeen = true;
  event.preventDefault();
  pasteText(text);
});

// --- keyboard ----------------------------------------------------------------------------------

document.addEventListener("keydown", (event) => {
  const mod = event.ctrlKey || event.metaKey;
  const key = event.key;
  if (mod && key.toLowerCase() === "s") { event.preventDefault(); requestSave(); return; }
  if (isTyping(event.target)) return;
  const inCanvas = !!event.target.closest?.(".canvas-wrap") || event.target === document.body;
  if (mod && key.toLowerCase() === "z") { event.preventDefault(); if (event.shiftKey) redo(); else undo(); return; }
  if (mod && key.toLowerCase() === "y") { event.preventDefault(); redo(); return; }
  if (!inCanvas) return;
  const nodeEl = event.target.closest?.("g.node");
  if (mod && key.toLowerCase() === "a") { event.preventDefault(); canvas.select(store.doc.nodes.map((n) => n.id), store.doc.edges.map((e) => e.id)); return; }
  if (mod && key.toLowerCase() === "c") { copySelection(); return; }
  if (mod && key.toLowerCase() === "x") { copySelection(true); return; }
  if (mod && key.toLowerCase() === "v") {
    pasteSeen = false;
    setTimeout(() => { if (!pasteSeen && state.clipboard) pasteText(state.clipboard); }, 60);
    return;
  }
  if (mod) return;
  if (key === "Escape") {
    if (canvas.gesture) { canvas.cancelGesture(); return; }
    if (state.connectFrom) { endConnect(); notify("Connection cancelled."); } else canvas.select();
    return;
  }
  if ((key === "Enter" || key === " ") && nodeEl) {
    event.preventDefault();
    const id = nodeEl.dataset.nodeId;
    if (state.connectFrom) { const from = state.connectFrom; endConnect(); connect(from, id); return; }
    if (event.shiftKey) canvas.toggle("node", id); else canvas.select([id]);
    return;
  }
  if (key === "Delete" || key === "Backspace") { event.preventDefault(); deleteSelection(); return; }
  if (key === "c" || key === "C") { startConnect(); return; }
  if (key === "+" || key === "=") { canvas.zoomBy(1.2); return; }
  if (key === "-" || key === "_") { canvas.zoomBy(1 / 1.2); return; }
  if (key === "f" || key === "F") { canvas.fit(); return; }
  const arrows = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  if (key in arrows) {
    event.preventDefault();
    const step = event.shiftKey ? GRID * 5 : GRID;
    const [dx, dy] = arrows[key];
    if (!moveSelection(dx * step, dy * step)) { canvas.view.x -= dx * 60; canvas.view.y -= dy * 60; canvas.applyView(); }
  }
});

function undo() {
  if (!editable) return;
  const label = store.undo();
  notify(label ? `Undid: ${label}.` : "Nothing to undo.");
}

function redo() {
  if (!editable) return;
  const label = store.redo();
  notify(label ? `Redid: ${label}.` : "Nothing to redo.");
}

// --- palette -----------------------------------------------------------------------------------

for (const item of document.querySelectorAll("[data-palette-kind]")) {
  item.addEventListener("dragstart", (event) => {
    event.dataTransfer.setData("application/x-flowyard-kind", item.dataset.paletteKind);
    event.dataTransfer.setData("text/plain", item.dataset.paletteKind);
    event.dataTransfer.effectAllowed = "copy";
  });
  item.addEventListener("dblclick", () => { const c = canvas.centre(); addNode(item.dataset.paletteKind, c.x, c.y, "at the centre"); });
  item.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    const c = canvas.centre();
    addNode(item.dataset.paletteKind, c.x, c.y, "at the centre");
  });
}
// Double-click a node (or a connection) to type its label straight away.
svg.addEventListener("dblclick", (event) => {
  // Pointer capture retargets the click events to the svg: look at what is under the pointer.
  const under = document.elementFromPoint(event.clientX, event.clientY);
  const target = under?.closest?.("g.node, g.edge");
  if (!target) return;
  const loaded = $("#inspector").dataset.loaded;
  const key = target.matches("g.node") ? `node:${target.dataset.nodeId}` : `edge:${target.dataset.edgeId}`;
  if (loaded === key && $("#insp-label")) $("#insp-label").focus();
  else state.focusInspector = true;
});
svg.addEventListener("dragover", (event) => {
  if (!editable) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = "copy";
});
svg.addEventListener("drop", (event) => {
  event.preventDefault();
  const kind = event.dataTransfer.getData("application/x-flowyard-kind") || event.dataTransfer.getData("text/plain");
  const point = canvas.toWorld(event.clientX, event.clientY);
  addNode(kind.trim(), point.x, point.y);
});

// --- toolbar -----------------------------------------------------------------------------------

const actions = {
  undo, redo,
  delete: deleteSelection,
  "zoom-in": () => canvas.zoomBy(1.2),
  "zoom-out": () => canvas.zoomBy(1 / 1.2),
  fit: () => canvas.fit(),
  layout: autoLayout,
  save: () => requestSave(),
  "reload-theirs": reloadTheirs,
  overwrite: overwriteWithMine,
  "retry-save": () => { clearTimeout(state.retryTimer); save(); },
  "clear-diff": clearDiff,
};
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-action]");
  if (button && actions[button.dataset.action]) actions[button.dataset.action]();
  const diff = event.target.closest("[data-diff]");
  if (diff) showDiff(Number(diff.dataset.diff));
  const restoreButton = event.target.closest("[data-restore]");
  if (restoreButton) restore(Number(restoreButton.dataset.restore));
  const edgeButton = event.target.closest("[data-select-edge]");
  if (edgeButton) { state.focusInspector = true; jumpTo(null, edgeButton.dataset.selectEdge); }
  const finding = event.target.closest("[data-finding]");
  if (finding) jumpTo(finding.dataset.node, finding.dataset.edge);
});

async function autoLayout() {
  if (!editable || !store.doc.nodes.length) return;
  let data;
  try {
    data = await postJSON(boot.urls.layout, { document: store.doc });
  } catch (error) {
    notify(`Auto-layout failed: ${error.message}`, "error");
    return;
  }
  store.edit("Auto-layout", (doc) => {
    for (const node of doc.nodes) {
      const position = data.positions[node.id];
      if (position) { node.x = position[0]; node.y = position[1]; }
    }
  });
  canvas.fit();
  notify("Arranged left to right. Ctrl+Z restores the previous positions.");
}

// --- inspector ---------------------------------------------------------------------------------

function selectionChanged() {
  refreshToolbar();
  const nodes = [...canvas.selectedNodes];
  const edges = [...canvas.selectedEdges];
  if (nodes.length === 1 && !edges.length) loadInspector("node", nodes[0]);
  else if (edges.length === 1 && !nodes.length) loadInspector("edge", edges[0]);
  else if (!nodes.length && !edges.length) loadInspector("topology", "");
  else {
    state.inspected = null;
    inspectorTicket += 1;
    const text = document.createElement("p");
    text.className = "hint";
    text.textContent = `${nodes.length} node(s) and ${edges.length} connection(s) selected. Arrow keys move them, Delete removes them, Ctrl+C copies them.`;
    $("#inspector").replaceChildren(text);
  }
}

function itemSnapshot(target, id) {
  if (target === "node") { const node = store.node(id); return node && JSON.stringify([node.label, node.config]); }
  if (target === "edge") { const edge = store.edge(id); return edge && JSON.stringify([edge.label || "", edge.config]); }
  return JSON.stringify([store.doc.name, store.doc.description || ""]);
}

function loadInspector(target, id, attempt = 1) {
  const values = { target, id, mode: "load" };
  if (target === "node") {
    const node = store.node(id);
    Object.assign(values, { kind: node.kind, item: JSON.stringify({ label: node.label, config: node.config }) });
  } else if (target === "edge") {
    const edge = store.edge(id);
    const source = store.node(edge.source);
    const destination = store.node(edge.target);
    Object.assign(values, {
      kind: source.kind,
      source: source.label,
      target_node: destination.label,
      item: JSON.stringify({ label: edge.label || "", config: edge.config }),
    });
  } else {
    values.item = JSON.stringify({ name: store.doc.name, description: store.doc.description || "" });
  }
  state.inspected = { target, id, snapshot: itemSnapshot(target, id) };
  const ticket = ++inspectorTicket;
  fetch(boot.urls.inspector, {
    method: "POST",
    body: new URLSearchParams(values),
    headers: { "X-CSRFToken": csrf, "HX-Request": "true" },
    credentials: "same-origin",
  }).then((response) => (response.ok ? response.text() : Promise.reject(new Error(`HTTP ${response.status}`))))
    .then((html) => {
      if (ticket !== inspectorTicket) return; // a later selection won
      const panel = $("#inspector");
      panel.innerHTML = html; // server-rendered, autoescaped template output
      window.htmx.process(panel);
      panel.dataset.loaded = `${target}:${id}`;
      if (target === "node") listConnections($(".connections", panel), id);
      if (state.focusInspector) { state.focusInspector = false; $("#insp-label", panel)?.focus(); }
    })
    .catch(() => {
      if (ticket !== inspectorTicket) return;
      if (attempt < 3) { setTimeout(() => { if (ticket === inspectorTicket) loadInspector(target, id, attempt + 1); }, 800 * attempt); return; }
      notify("Could not load the inspector; check the connection. Select the item again to retry.", "error");
    });
}
let inspectorTicket = 0;

// Under a node's form: its connections as buttons, so a keyboard user can reach every edge.
function listConnections(section, nodeId) {
  if (!section) return;
  const parts = [];
  for (const [title, edges, other] of [
    ["Sends to", store.doc.edges.filter((e) => e.source === nodeId), "target"],
    ["Receives from", store.doc.edges.filter((e) => e.target === nodeId), "source"],
  ]) {
    if (!edges.length) continue;
    const heading = document.createElement("h4");
    heading.textContent = title;
    const list = document.createElement("ul");
    for (const edge of edges) {
      const peer = store.node(edge[other]);
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.selectEdge = edge.id;
      button.textContent = `${other === "target" ? "→" : "←"} ${peer?.label ?? edge[other]}${Object.keys(edge.config || {}).length ? " (configured)" : ""}`;
      button.setAttribute("aria-label", `Edit the connection ${other === "target" ? "to" : "from"} ${peer?.label ?? edge[other]}`);
      item.append(button);
      list.append(item);
    }
    parts.push(heading, list);
  }
  section.replaceChildren(...parts);
}

function refreshInspectorIfStale() {
  const inspected = state.inspected;
  if (!inspected) return;
  const now = itemSnapshot(inspected.target, inspected.id);
  if (now === undefined) { selectionChanged(); return; }
  if (now !== inspected.snapshot) loadInspector(inspected.target, inspected.id);
}

document.body.addEventListener("flowyard:apply", (event) => {
  const detail = event.detail;
  if (!detail.ok || !editable) return;
  let changed = false;
  if (detail.what === "topology") {
    changed = store.edit("Rename topology", (doc) => {
      if (doc.name === detail.name && (doc.description || "") === detail.description) return false;
      doc.name = detail.name;
      doc.description = detail.description;
    }, "inspector");
  } else if (detail.what === "node") {
    const node = store.node(detail.id);
    if (!node) { notify("That node was deleted; the settings were not applied.", "warning"); return; }
    const label = detail.label || node.id;
    if (label === node.label && JSON.stringify(detail.config) === JSON.stringify(node.config)) return;
    store.edit(`Edit ${label}`, (doc) => {
      const target = doc.nodes.find((n) => n.id === detail.id);
      target.label = label;
      target.config = detail.config;
    }, "inspector");
    changed = true;
  } else if (detail.what === "edge") {
    const edge = store.edge(detail.id);
    if (!edge) return;
    if ((detail.label || "") === (edge.label || "") && JSON.stringify(detail.config) === JSON.stringify(edge.config)) return;
    store.edit("Edit connection", (doc) => {
      const target = doc.edges.find((e) => e.id === detail.id);
      if (detail.label) target.label = detail.label; else delete target.label;
      target.config = detail.config;
    }, "inspector");
    changed = true;
  }
  if (changed && state.inspected && state.inspected.id === detail.id) {
    state.inspected.snapshot = itemSnapshot(state.inspected.target, state.inspected.id);
  }
});

// --- lint --------------------------------------------------------------------------------------

function scheduleLint() {
  clearTimeout(state.lintTimer);
  state.lintTimer = setTimeout(runLint, LINT_MS);
}

async function runLint() {
  const counter = store.counter;
  let response;
  try {
    response = await fetch(boot.urls.lint, jsonRequest({ document: store.doc }));
  } catch { return; }
  if (counter !== store.counter) return;
  const data = await response.json().catch(() => ({}));
  if (response.ok) showLint(data.lint || []);
  else if (data.errors) showLint(data.errors.map((error) => problemAsFinding(error)));
}

function problemAsFinding(error) {
  const match = /^\/(nodes|edges)\/(\d+)/.exec(error.pointer || "");
  const finding = { code: "invalid", severity: "error", message: `${error.pointer}: ${error.message}`, node: null, edge: null };
  if (match) {
    const item = store.doc[match[1]][Number(match[2])];
    if (item) finding[match[1] === "nodes" ? "node" : "edge"] = item.id;
  }
  return finding;
}

function showLint(findings) {
  canvas.setLint(findings);
  $("#lint-count").textContent = String(findings.length);
  $("#lint-count").className = `chip ${findings.some((f) => f.severity === "error") ? "chip-error" : findings.length ? "chip-warning" : "chip-ok"}`;
  const items = findings.map((finding) => {
    const li = document.createElement("li");
    li.className = `finding ${finding.severity}`;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "finding-button";
    button.dataset.finding = finding.code;
    if (finding.node) button.dataset.node = finding.node;
    if (finding.edge) button.dataset.edge = finding.edge;
    const severity = document.createElement("strong");
    severity.textContent = finding.severity;
    const where = document.createElement("span");
    where.className = "chip";
    const node = finding.node && store.node(finding.node);
    where.textContent = finding.edge ? `connection ${finding.edge}` : node ? node.label : "topology";
    const message = document.createElement("span");
    message.textContent = ` ${finding.message}`;
    button.append(severity, " ", where, message);
    button.setAttribute("aria-label", `${finding.severity}: ${where.textContent}: ${finding.message}`);
    li.append(button);
    return li;
  });
  if (!items.length) {
    const ok = document.createElement("li");
    ok.className = "ok";
    ok.textContent = "No problems found.";
    items.push(ok);
  }
  $("#lint-list").replaceChildren(...items);
}

function jumpTo(nodeId, edgeId) {
  if (edgeId && store.edge(edgeId)) {
    const edge = store.edge(edgeId);
    canvas.select([], [edgeId]);
    canvas.reveal([edge.source, edge.target]);
  } else if (nodeId && store.node(nodeId)) {
    canvas.select([nodeId]);
    canvas.reveal([nodeId]);
    canvas.focusNode(nodeId);
  }
}

// --- saving ------------------------------------------------------------------------------------

function jsonRequest(body) {
  return {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
    body: JSON.stringify(body),
    credentials: "same-origin",
  };
}

async function postJSON(url, body) {
  const response = await fetch(url, jsonRequest(body));
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

function scheduleAutosave() {
  clearTimeout(state.autosaveTimer);
  if (!editable || state.conflict) return;
  state.autosaveTimer = setTimeout(() => save({ auto: true }), AUTOSAVE_MS);
}

function keepDraft() {
  try {
    localStorage.setItem(draftKey, JSON.stringify({ version: state.version, document: store.doc, at: Date.now() }));
  } catch { /* storage full or disabled: the tab still holds the edits */ }
}

async function save({ auto = false, force = false } = {}) {
  if (!editable) return;
  clearTimeout(state.autosaveTimer);
  if (state.saving) { state.again = true; return; }
  if (state.conflict && !force) { notify("Resolve the conflict first: reload theirs or overwrite with mine.", "warning"); return; }
  if (!dirty() && !force) { if (!auto) setStatus(`Version ${state.version} · saved`, "saved"); return; }
  const counter = store.counter;
  state.saving = true;
  setStatus("Saving…", "saving");
  let response;
  let data = {};
  try {
    response = await fetch(boot.urls.document, jsonRequest({ version: state.version, document: store.doc, message: auto ? "Autosave" : "Saved", lint: false }));
    data = await response.json().catch(() => ({}));
  } catch {
    state.saving = false;
    lostConnection();
    return;
  }
  state.saving = false;
  if (response.status === 409) {
    showConflict(data);
  } else if (response.status === 400) {
    setStatus("Not saved: the topology has errors", "error");
    const findings = (data.errors || []).map(problemAsFinding);
    if (findings.length) showLint(findings);
    notify(`Not saved: ${data.errors?.[0] ? `${data.errors[0].pointer}: ${data.errors[0].message}` : data.error}`, "error");
  } else if (!response.ok) {
    if (response.status >= 500 || response.status === 0) { lostConnection(`The server answered ${response.status}.`); return; }
    setStatus(`Not saved: ${data.error || `HTTP ${response.status}`}`, "error");
    notify(data.error || `Not saved (HTTP ${response.status}).`, "error");
  } else {
    state.version = data.version;
    state.savedCounter = counter;
    state.retryDelay = 2000;
    if (state.offline) { state.offline = false; $("#offline").hidden = true; notify("Connection is back: your edits are saved."); }
    try { localStorage.removeItem(draftKey); } catch { /* ignore */ }
    if (data.lint && counter === store.counter) showLint(data.lint);
    setStatus(dirty() ? `Version ${state.version} · unsaved changes` : `Version ${state.version} · saved`, dirty() ? "dirty" : "saved");
    document.body.dispatchEvent(new CustomEvent("flowyard:saved", { detail: { version: state.version } }));
    if (dirty()) scheduleAutosave();
  }
  if (state.again) { state.again = false; if (dirty()) save({ auto }); }
}

// Saving waits for the inspector: a value still being typed is applied first, then saved.
function requestSave() {
  const form = document.activeElement?.closest?.("#inspector-form");
  if (form) window.htmx.trigger(form, "change");
  if (form || state.inspectorPending > 0) {
    state.saveAfterInspector = true;
    setStatus("Saving…", "saving");
    // Never wait forever on a request that vanished.
    clearTimeout(state.saveWaitTimer);
    state.saveWaitTimer = setTimeout(() => { state.inspectorPending = 0; flushSave(); }, 5000);
    return;
  }
  save();
}
function flushSave() {
  if (state.inspectorPending || !state.saveAfterInspector) return;
  state.saveAfterInspector = false;
  clearTimeout(state.saveWaitTimer);
  save();
}
state.inspectorPending = 0;
document.body.addEventListener("htmx:beforeRequest", (event) => {
  if (!event.detail.elt.closest?.("#inspector-form") || !event.detail.xhr) return;
  event.detail.xhr.flowyardInspector = true;
  state.inspectorPending += 1;
});
for (const name of ["htmx:afterRequest", "htmx:sendAbort"]) {
  document.body.addEventListener(name, (event) => {
    const xhr = event.detail.xhr;
    if (!xhr?.flowyardInspector) return;
    xhr.flowyardInspector = false;
    state.inspectorPending = Math.max(0, state.inspectorPending - 1);
    flushSave();
  });
}

function lostConnection(why = "") {
  state.offline = true;
  const seconds = Math.round(state.retryDelay / 1000);
  const banner = $("#offline");
  $(".banner-text", banner).textContent = `Could not save: the connection to the server was lost. ${why} Your edits are kept in this tab and this browser; retrying in ${seconds} s.`;
  banner.hidden = false;
  setStatus("Not saved: offline", "error");
  clearTimeout(state.retryTimer);
  state.retryTimer = setTimeout(() => save(), state.retryDelay);
  state.retryDelay = Math.min(state.retryDelay * 2, 30000);
}

function showConflict(data) {
  state.conflict = { current: data.current_version };
  clearTimeout(state.autosaveTimer);
  const banner = $("#conflict");
  $(".banner-text", banner).textContent = data.error || "This topology was changed elsewhere; your edits are kept here.";
  banner.hidden = false;
  setStatus(`Conflict: version ${data.current_version} exists`, "error");
}

function clearConflict() {
  state.conflict = null;
  $("#conflict").hidden = true;
}

async function reloadTheirs() {
  let data;
  try {
    const response = await fetch(boot.urls.document, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    data = await response.json();
  } catch {
    notify("Could not reach the server to reload. Your edits are kept.", "error");
    return;
  }
  clearConflict();
  state.version = data.version;
  store.replace(data.document, `Reload version ${data.version}`);
  state.savedCounter = store.counter;
  canvas.select();
  setStatus(`Version ${state.version} · saved`, "saved");
  notify(`Loaded version ${data.version}. Ctrl+Z brings back your edits.`);
  document.body.dispatchEvent(new CustomEvent("flowyard:saved", { detail: { version: state.version } }));
}

async function overwriteWithMine() {
  let current = state.conflict?.current;
  try {
    const response = await fetch(boot.urls.document, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    current = (await response.json()).version;
  } catch { /* fall back to the version the conflict named */ }
  clearConflict();
  state.version = current;
  await save({ force: true });
}

window.addEventListener("beforeunload", (event) => {
  if (editable && dirty()) { event.preventDefault(); event.returnValue = ""; }
});

// --- history -----------------------------------------------------------------------------------

async function showDiff(number) {
  let diff;
  let older;
  try {
    const query = `?a=${number}&b=${state.version}`;
    const response = await fetch(boot.urls.diff + query, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    diff = (await response.json()).diff;
    older = (await (await fetch(boot.urls.revision.replace("{n}", number), { credentials: "same-origin" })).json()).document;
  } catch {
    notify("Could not load that revision.", "error");
    return;
  }
  const oldNodes = new Map(older.nodes.map((node) => [node.id, node]));
  const oldEdges = new Map(older.edges.map((edge) => [edge.id, edge]));
  canvas.setMarks("diff-added", diff.nodes.added, diff.edges.added);
  canvas.setMarks("diff-changed", Object.keys(diff.nodes.changed), Object.keys(diff.edges.changed));
  canvas.setGhosts(diff.nodes.removed.map((id) => oldNodes.get(id)).filter(Boolean), diff.edges.removed.map((id) => oldEdges.get(id)).filter(Boolean), (id) => oldNodes.get(id));
  const count = (part) => `+${part.added.length} −${part.removed.length} ~${Object.keys(part.changed).length}`;
  const banner = $("#diff-banner");
  $(".banner-text", banner).textContent = `Changes from r${number} to r${state.version}: nodes ${count(diff.nodes)}, connections ${count(diff.edges)}${diff.header.length ? `, ${diff.header.join(", ")} changed` : ""}. Green added, amber changed, dashed red removed.`;
  banner.hidden = false;
}

function clearDiff() {
  canvas.setMarks("diff-added");
  canvas.setMarks("diff-changed");
  canvas.setGhosts();
  $("#diff-banner").hidden = true;
}

async function restore(number) {
  if (dirty() && !window.confirm(`Restore r${number}? Your unsaved edits stay in the undo history (Ctrl+Z).`)) return;
  const body = new URLSearchParams({ version: String(state.version) });
  let response;
  let data;
  try {
    response = await fetch(boot.urls.restore.replace("{n}", number), { method: "POST", body, headers: { "X-CSRFToken": csrf, Accept: "application/json" }, credentials: "same-origin" });
    data = await response.json();
  } catch {
    notify("Could not reach the server to restore.", "error");
    return;
  }
  if (response.status === 409) { showConflict(data); return; }
  if (!response.ok) { notify(data.error || "Restore failed.", "error"); return; }
  clearDiff();
  state.version = data.version;
  store.replace(data.document, `Restore r${number}`);
  state.savedCounter = store.counter;
  showLint(data.lint || []);
  setStatus(`Version ${state.version} · saved`, "saved");
  notify(`Restored r${number} as version ${data.version}.`);
  document.body.dispatchEvent(new CustomEvent("flowyard:saved", { detail: { version: state.version } }));
}

// --- search ------------------------------------------------------------------------------------

const searchInput = $("#node-search");
const searchResults = $("#search-results");

function runSearch(open = true) {
  const hits = store.search(searchInput.value);
  canvas.setMarks("search-hit", hits.map((hit) => hit.node.id));
  if (!searchInput.value.trim()) { searchResults.hidden = true; searchResults.replaceChildren(); return hits; }
  const items = hits.slice(0, 20).map((hit) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.jump = hit.node.id;
    const kind = boot.kinds[hit.node.kind];
    button.textContent = `${kind.icon} ${hit.node.label}`;
    const small = document.createElement("small");
    small.textContent = ` ${kind.label}${hit.field === "config" ? " · in config" : ""}`;
    button.append(small);
    button.setAttribute("aria-label", `Go to ${hit.node.label} (${kind.label})`);
    li.append(button);
    return li;
  });
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = "No node matches.";
    items.push(li);
  } else if (hits.length > 20) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = `… and ${hits.length - 20} more`;
    items.push(li);
  }
  searchResults.replaceChildren(...items);
  if (open) searchResults.hidden = false;
  return hits;
}

searchInput.addEventListener("input", () => runSearch(true));
searchInput.addEventListener("keydown", (event) => {
  if (event.key === "Enter") {
    event.preventDefault();
    const [first] = runSearch(true);
    if (first) { searchResults.hidden = true; jumpTo(first.node.id); }
  } else if (event.key === "Escape") {
    searchInput.value = "";
    runSearch(false);
  } else if (event.key === "ArrowDown") {
    event.preventDefault();
    $("button", searchResults)?.focus();
  }
});
searchResults.addEventListener("click", (event) => {
  const button = event.target.closest("[data-jump]");
  if (!button) return;
  searchResults.hidden = true;
  jumpTo(button.dataset.jump);
});
searchResults.addEventListener("keydown", (event) => {
  const items = [...searchResults.querySelectorAll("button")];
  const index = items.indexOf(document.activeElement);
  if (event.key === "ArrowDown") { event.preventDefault(); items[Math.min(items.length - 1, index + 1)]?.focus(); }
  if (event.key === "ArrowUp") { event.preventDefault(); if (index <= 0) searchInput.focus(); else items[index - 1].focus(); }
  if (event.key === "Escape") { searchResults.hidden = true; searchInput.focus(); }
});

// --- start -------------------------------------------------------------------------------------

function start() {
  const started = performance.now();
  canvas.fit(); // from the document alone, before the nodes exist: no forced layout of them
  canvas.render();
  const timings = {};
  // Two frames later the browser has laid out and painted the first full render.
  requestAnimationFrame(() => requestAnimationFrame(() => {
    timings.firstRender = performance.now() - started;
    timings.sinceNavigation = performance.now();
  }));
  refreshToolbar();
  refreshDatalist();
  showLint(boot.lint);
  $("#empty-hint").hidden = store.doc.nodes.length > 0;
  $(".minimap").classList.toggle("empty", !store.doc.nodes.length);
  loadInspector("topology", "");
  offerDraft();
  svg.dataset.ready = "true";
  window.flowyard = { store, canvas, save, autoLayout, state, performance: timings };
}

function offerDraft() {
  let draft;
  try { draft = JSON.parse(localStorage.getItem(draftKey) || "null"); } catch { draft = null; }
  if (!draft || !editable) return;
  if (draft.version !== state.version || JSON.stringify(draft.document) === JSON.stringify(store.doc)) {
    try { localStorage.removeItem(draftKey); } catch { /* ignore */ }
    return;
  }
  store.replace(draft.document, "Recover unsaved edits");
  notify("Recovered the unsaved edits this browser kept from your last visit. Save to keep them, or Ctrl+Z to drop them.", "warning");
}

start();
