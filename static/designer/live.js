// The live runtime on the editor page: the page's one websocket, the run toolbar's state, the
// canvas overlays (counters, depths, rates, back-pressure colours, moving message dots, flashes),
// the inspector drawer and the Send dialog. It reads the canvas only through its stable hooks
// (g.node[data-node-id], .edge[data-edge-id] with a <path>) and draws with createElementNS and
// textContent: user data never reaches innerHTML.

const NS = "http://www.w3.org/2000/svg";
const MAX_DOTS = 240; // dots alive at once, whatever the message rate
const DOT_MS = 700;
const RATE_HALF_LIFE = 1.0; // seconds: how fast displayed rates follow changes
const BACKPRESSURE = 1000; // depth at which a queue counts as full (NiFi defaults to 10,000)
const BACKOFF_MIN = 500;
const BACKOFF_MAX = 30000;

const $ = (selector, root = document) => root.querySelector(selector);
const csrf = () => JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";

function svg(name, attrs = {}, parent = null) {
  const element = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, value);
  if (parent) parent.appendChild(element);
  return element;
}

function compact(value) {
  if (typeof value !== "number") return String(value);
  if (Math.abs(value) >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (Math.abs(value) >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(1);
}

function rateText(perSecond) {
  if (perSecond < 0.05) return "";
  return perSecond >= 10 ? `${compact(Math.round(perSecond))}/s` : `${perSecond.toFixed(1)}/s`;
}

// --- the model of the run, fed by frames ----------------------------------------------------------

class RunModel {
  constructor() { this.reset(null, 0, "stopped"); }

  reset(run, seq, state) {
    this.run = run;
    this.seq = seq;
    this.state = state;
    this.nodes = new Map(); // id -> {kind, c: counters, g: gauges, s: state, rate}
    this.edges = new Map(); // id -> {count, rate}
  }

  node(id) {
    let entry = this.nodes.get(id);
    if (!entry) { entry = { kind: "", c: {}, g: {}, s: "", rate: 0 }; this.nodes.set(id, entry); }
    return entry;
  }

  edge(id) {
    let entry = this.edges.get(id);
    if (!entry) { entry = { count: 0, rate: 0 }; this.edges.set(id, entry); }
    return entry;
  }

  applySnapshot(frame) {
    this.reset(frame.run, frame.seq, frame.state);
    for (const [id, data] of Object.entries(frame.nodes || {})) {
      const node = this.node(id);
      node.kind = data.k || ""; node.c = { ...data.c }; node.g = { ...data.g }; node.s = data.s || "";
    }
    for (const [id, count] of Object.entries(frame.edges || {})) this.edge(id).count = count;
  }

  // Returns "ok", "skip" (old frame) or "gap" (a frame was lost: ask for a snapshot).
  applyTick(frame) {
    if (frame.run !== this.run) {
      if (frame.seq !== 1) return "gap";
      this.reset(frame.run, 0, frame.state); // a new run starts from zero
    }
    if (frame.seq <= this.seq) return "skip";
    if (frame.seq !== this.seq + 1) return "gap";
    this.seq = frame.seq;
    this.state = frame.state;
    const dt = Math.max(frame.dt || 0, 0.001);
    const keep = Math.pow(0.5, dt / RATE_HALF_LIFE);
    const touched = new Set(Object.keys(frame.nodes || {}));
    for (const [id, data] of Object.entries(frame.nodes || {})) {
      const node = this.node(id);
      for (const [key, delta] of Object.entries(data.d || {})) node.c[key] = (node.c[key] || 0) + delta;
      if (data.g) node.g = data.g;
      if (data.s) node.s = data.s;
      node.rate = node.rate * keep + ((data.d?.in || 0) / dt) * (1 - keep);
    }
    for (const [id, node] of this.nodes) if (!touched.has(id)) node.rate *= keep;
    for (const [id, data] of Object.entries(frame.edges || {})) {
      const edge = this.edge(id);
      edge.count += data.d;
      edge.rate = edge.rate * keep + (data.d / dt) * (1 - keep);
    }
    for (const [id, edge] of this.edges) if (!(frame.edges || {})[id]) edge.rate *= keep;
    return "ok";
  }
}

// --- the socket -----------------------------------------------------------------------------------

export class LiveSocket {
  constructor(topologyId, { onFrame, onStatus }) {
    this.url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/topologies/${topologyId}/`;
    this.onFrame = onFrame;
    this.onStatus = onStatus;
    this.delay = BACKOFF_MIN;
    this.socket = null;
    this.timer = null;
    this.connect();
    window.addEventListener("online", () => this.retryNow());
  }

  connect() {
    clearTimeout(this.timer);
    this.onStatus("connecting");
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => { this.delay = BACKOFF_MIN; this.onStatus("open"); });
    socket.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      this.onFrame(frame);
    });
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;
      if (event.code === 4403) { this.onStatus("forbidden"); return; } // no access: retrying cannot help
      const wait = Math.min(BACKOFF_MAX, this.delay) * (0.75 + Math.random() * 0.5);
      this.delay = Math.min(BACKOFF_MAX, this.delay * 2);
      this.onStatus("closed", Math.round(wait / 1000));
      this.timer = setTimeout(() => this.connect(), wait);
    });
  }

  retryNow() {
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) return;
    this.delay = BACKOFF_MIN;
    this.connect();
  }

  // At most one request every two seconds: a busy server answers slowly, and the server closes
  // clients that talk faster than a person could.
  resync() {
    const now = Date.now();
    if (now - (this.lastResync || 0) < 2000) return;
    this.lastResync = now;
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify({ type: "resync" }));
  }
}

export function showLiveStatus(status, seconds) {
  document.body.dataset.live = status === "open" ? "open" : "closed";
  const badge = $("#live-badge");
  if (!badge) return;
  const text = {
    open: "● live",
    connecting: "connecting…",
    forbidden: "no access to live updates",
    closed: `not live · retrying in ${seconds ?? 1} s`,
  }[status];
  badge.textContent = text;
  badge.dataset.status = status;
}

// --- canvas overlays ------------------------------------------------------------------------------

class Overlay {
  constructor(canvas, model, onDot) {
    this.canvas = canvas;
    this.model = model;
    this.onDot = onDot;
    this.dots = [];
    this.running = false;
    const viewport = $(".viewport", canvas) || canvas;
    this.dotLayer = svg("g", { class: "live-dots" }, viewport);
    this.labelLayer = svg("g", { class: "live-edge-labels" }, viewport);
    this.dotLayer.addEventListener("click", (event) => {
      const id = event.target.dataset?.traceId;
      if (id) onDot(id);
    });
  }

  nodeElement(id) { return this.canvas.querySelector(`g.node[data-node-id="${CSS.escape(id)}"]`); }
  edgeElement(id) { return this.canvas.querySelector(`.edge[data-edge-id="${CSS.escape(id)}"]`); }

  size(group) {
    const body = group.querySelector("rect");
    return { w: Number(body?.getAttribute("width")) || 168, h: Number(body?.getAttribute("height")) || 52 };
  }

  // The stats block under a node, created once per node element.
  stats(group) {
    let block = group.querySelector(":scope > g.live-stats");
    if (block) return block;
    const { w, h } = this.size(group);
    block = svg("g", { class: "live-stats", transform: `translate(0 ${h + 2})` }, group);
    svg("rect", { class: "live-stats-bg", width: w, height: 14, rx: 4 }, block);
    svg("text", { class: "live-line live-line-1", x: 5, y: 10.5 }, block);
    svg("text", { class: "live-line live-line-2", x: 5, y: 23.5 }, block);
    svg("rect", { class: "live-pressure", x: 0, y: h - 4, width: 0, height: 4, rx: 2 }, group);
    return block;
  }

  paintNode(id) {
    const group = this.nodeElement(id);
    const node = this.model.nodes.get(id);
    if (!group || !node) return;
    const block = this.stats(group);
    const c = node.c;
    const rate = rateText(node.rate);
    const errors = (c.errors || 0) + (c.refused || 0);
    const first = [`in ${compact(c.in || 0)}`, `out ${compact(c.out || 0)}`, errors ? `err ${compact(errors)}` : "", rate].filter(Boolean).join("  ");
    const second = this.detail(node);
    block.querySelector(".live-line-1").textContent = first;
    block.querySelector(".live-line-2").textContent = second;
    if (node.g.lag && typeof node.g.lag === "object") {
      let title = block.querySelector("title");
      if (!title) title = svg("title", {}, block);
      title.textContent = Object.entries(node.g.lag).map(([consumer, lag]) => `${consumer} is ${lag} records behind`).join("\n");
    }
    // One line keeps close neighbours clear; buffers and failures get a second.
    const third = block.querySelector(".live-line-3")?.textContent;
    block.querySelector(".live-stats-bg").setAttribute("height", third ? 40 : second ? 27 : 14);
    group.dataset.liveIn = String(c.in || 0);
    group.dataset.liveOut = String(c.out || 0);
    group.dataset.liveErrors = String(c.errors || 0);
    if (node.g.depth !== undefined) group.dataset.liveDepth = String(node.g.depth);
    group.classList.toggle("live-errors", (c.errors || 0) + (c.dead_lettered || 0) > 0);
    group.classList.toggle("live-stopped", node.s === "stopped" && this.model.state === "running");
    this.paintPressure(group, node);
  }

  detail(node) {
    const g = node.g;
    const parts = [];
    if (g.depth !== undefined) parts.push(`depth ${compact(g.depth)}`, `in-flight ${compact(g.in_flight || 0)}`);
    if (g.lag !== undefined) {
      // Per consumer, in the order of the stream's edges; names are in the block's tooltip.
      const lag = typeof g.lag === "object" ? Object.values(g.lag).map(compact).join("/") : compact(g.lag);
      parts.push(`lag ${lag}`);
    }
    if (node.kind === "state_machine" && g.executions) {
      const ex = g.executions;
      parts.push(`exec ${compact(ex.started || 0)}`, `ok ${compact(ex.succeeded || 0)}`);
      if (ex.failed) parts.push(`failed ${compact(ex.failed)}`);
      if (g.running) parts.push(`running ${compact(g.running)}`);
    }
    if ((node.c.dead_lettered || 0) > 0) parts.push(`DLQ ${compact(node.c.dead_lettered)}`);
    return parts.join(" · ");
  }

  // NiFi-style back pressure: green below 60 % of the threshold, yellow below 85 %, red above.
  paintPressure(group, node) {
    const bar = group.querySelector(":scope > rect.live-pressure");
    if (!bar) return;
    if (node.g.depth === undefined) { bar.setAttribute("width", 0); return; }
    const { w } = this.size(group);
    const fill = Math.min(1, (node.g.depth + (node.g.in_flight || 0)) / BACKPRESSURE);
    const level = fill < 0.6 ? "green" : fill < 0.85 ? "yellow" : "red";
    bar.setAttribute("width", Math.max(node.g.depth > 0 ? 4 : 0, fill * w).toFixed(1));
    bar.setAttribute("class", `live-pressure pressure-${level}`);
    group.dataset.pressure = level;
  }

  paintEdge(id) {
    const element = this.edgeElement(id);
    const edge = this.model.edges.get(id);
    if (!element || !edge) return;
    const path = element.querySelector("path.edge-line") || element.querySelector("path");
    if (!path) return;
    element.dataset.liveCount = String(edge.count);
    let label = this.labelLayer.querySelector(`text[data-edge="${CSS.escape(id)}"]`);
    const text = rateText(edge.rate);
    if (!text) { label?.remove(); return; }
    if (!label) { label = svg("text", { class: "live-rate", "text-anchor": "middle" }, this.labelLayer); label.dataset.edge = id; }
    const length = path.getTotalLength();
    if (!length) return;
    const middle = path.getPointAtLength(length / 2);
    label.setAttribute("x", middle.x.toFixed(1));
    label.setAttribute("y", (middle.y - 6).toFixed(1));
    label.textContent = text;
  }

  paintAll() {
    for (const id of this.model.nodes.keys()) this.paintNode(id);
    for (const id of this.model.edges.keys()) this.paintEdge(id);
  }

  clear() {
    for (const block of this.canvas.querySelectorAll("g.live-stats, rect.live-pressure")) block.remove();
    this.labelLayer.replaceChildren();
    this.dotLayer.replaceChildren();
    this.dots = [];
  }

  // The state an execution just entered, shown under the state machine until the next one.
  machineState(change) {
    const group = this.nodeElement(change.node);
    if (!group || !change.state) return;
    const block = this.stats(group);
    let line = block.querySelector(".live-line-3");
    if (!line) line = svg("text", { class: "live-line live-line-3", x: 5, y: 36.5 }, block);
    line.textContent = `${change.state}: ${change.status}`;
    block.querySelector(".live-stats-bg").setAttribute("height", 40);
    group.dataset.machineState = `${change.state}:${change.status}`;
    if (change.status === "failed" || change.status === "FAILED") this.flash(change.node, "error");
  }

  flash(id, kind) {
    const group = this.nodeElement(id);
    if (!group) return;
    const name = `live-flash-${kind}`;
    group.classList.remove(name);
    void group.getBoundingClientRect(); // restart the animation
    group.classList.add(name);
    setTimeout(() => group.classList.remove(name), 900);
  }

  // A few dots per edge per frame: one per sampled id, at least one when anything moved.
  dotsFor(id, data) {
    const element = this.edgeElement(id);
    const path = element && (element.querySelector("path.edge-line") || element.querySelector("path"));
    if (!path) return;
    const ids = data.ids && data.ids.length ? data.ids : [""];
    const count = Math.min(ids.length, Math.max(1, Math.min(3, data.d)));
    for (let i = 0; i < count && this.dots.length < MAX_DOTS; i++) {
      const dot = svg("circle", { class: "live-dot", r: 4.5 }, this.dotLayer);
      if (ids[i]) {
        dot.dataset.traceId = ids[i];
        dot.dataset.messageId = ids[i];
        svg("title", {}, dot).textContent = `Message ${ids[i]}: click to trace it`;
      }
      this.dots.push({ dot, path, length: path.getTotalLength(), start: performance.now() + i * 90 });
    }
    if (!this.running) { this.running = true; requestAnimationFrame((t) => this.animate(t)); }
  }

  animate(now) {
    const alive = [];
    for (const item of this.dots) {
      const progress = (now - item.start) / DOT_MS;
      if (progress >= 1) { item.dot.remove(); continue; }
      const point = item.path.getPointAtLength(Math.max(0, progress) * item.length);
      item.dot.setAttribute("cx", point.x.toFixed(1));
      item.dot.setAttribute("cy", point.y.toFixed(1));
      item.dot.style.opacity = progress < 0 ? "0" : "1";
      alive.push(item);
    }
    this.dots = alive;
    if (alive.length) requestAnimationFrame((t) => this.animate(t));
    else this.running = false;
  }
}

// --- the toolbar ------------------------------------------------------------------------------------

function paintRunState(state) {
  const toolbar = $("#run-toolbar");
  if (!toolbar) return;
  toolbar.dataset.runState = state;
  const badge = $("#run-state");
  if (badge) {
    const revision = toolbar.dataset.runRevision;
    badge.textContent = `${state.charAt(0).toUpperCase()}${state.slice(1)}${revision && state !== "stopped" ? ` · v${revision}` : ""}`;
    badge.className = `run-state run-${state}`;
  }
  const live = state === "running" || state === "paused";
  const enable = { deploy: !live, pause: state === "running", resume: state === "paused", stop: live, redeploy: live };
  for (const button of toolbar.querySelectorAll("[data-run-command]")) button.disabled = !enable[button.dataset.runCommand];
  document.body.dataset.runState = state;
}

function urls() {
  try { return JSON.parse($("#run-toolbar")?.dataset.urls || "{}"); } catch { return {}; }
}

// --- the drawer and the Send dialog -------------------------------------------------------------

function openDrawer(url) {
  const drawer = $("#live-drawer");
  if (!drawer || !url) return;
  // Below the toolbars, so Run, Inspect and Metrics stay reachable while it is open.
  const toolbar = $("#run-toolbar")?.closest("[role=toolbar]") || $("#run-toolbar");
  const top = toolbar ? Math.round(toolbar.getBoundingClientRect().bottom) : 41;
  drawer.style.top = `${Math.max(41, top)}px`;
  drawer.hidden = false;
  document.body.classList.add("drawer-open");
  window.htmx.ajax("GET", url, { target: "#drawer-body", swap: "innerHTML" });
}

function inspectNode(id) {
  const template = urls().inspect;
  if (template && id) openDrawer(template.replace("__node__", encodeURIComponent(id)));
}

function openTrace(traceId) {
  const template = urls().trace;
  if (template && traceId) openDrawer(template.replace("__trace__", encodeURIComponent(traceId)));
}

function selectedNode() {
  return $("svg[data-canvas] g.node.selected")?.dataset.nodeId || null;
}

function checkJson(textarea) {
  const output = document.getElementById(textarea.getAttribute("aria-describedby"));
  const text = textarea.value.trim();
  if (!output) return;
  if (!text) { output.textContent = ""; output.className = "json-check"; return; }
  try { JSON.parse(text); output.textContent = "✓ valid JSON"; output.className = "json-check ok"; }
  catch (error) { output.textContent = `✗ ${error.message}`; output.className = "json-check bad"; }
}

function loadSamples(nodeId) {
  const template = urls().samples;
  if (!template || !nodeId || !$("#send-samples")) return;
  window.htmx.ajax("GET", template.replace("__node__", encodeURIComponent(nodeId)), { target: "#send-samples", swap: "innerHTML" });
}

function openSend() {
  const dialog = $("#send-dialog");
  if (!dialog) return;
  const chosen = $("#send-node")?.value || selectedNode();
  const select = $("#send-dialog-node");
  if (select && chosen && [...select.options].some((o) => o.value === chosen)) select.value = chosen;
  loadSamples(select?.value);
  dialog.showModal();
  $("#send-body")?.focus();
}

function saveSample() {
  const nodeId = $("#send-dialog-node")?.value;
  const name = window.prompt("Name this sample event");
  const template = urls().samples;
  if (!name || !nodeId || !template) return;
  window.htmx.ajax("POST", `${template.replace("__node__", encodeURIComponent(nodeId))}save/`, {
    target: "#send-samples",
    swap: "innerHTML",
    values: { name, body: $("#send-body").value || "{}", attributes: $("#send-attributes").value },
  });
}

function bindInteractions(overlay) {
  document.addEventListener("click", (event) => {
    const target = event.target.closest("[data-action], [data-trace], [data-inspect], [data-sample-body]");
    if (!target) return;
    if (target.dataset.trace) { event.preventDefault(); openTrace(target.dataset.trace); return; }
    if (target.dataset.inspect) { event.preventDefault(); inspectNode(target.dataset.inspect); return; }
    if (target.dataset.sampleBody !== undefined) {
      $("#send-body").value = target.dataset.sampleBody;
      $("#send-attributes").value = target.dataset.sampleAttributes || "";
      checkJson($("#send-body")); checkJson($("#send-attributes"));
      return;
    }
    switch (target.dataset.action) {
      case "inspect": {
        const id = selectedNode();
        if (id) inspectNode(id);
        else openDrawer(null) || showHint("Select a node on the canvas first, then press Inspect….");
        break;
      }
      case "close-drawer":
        $("#live-drawer").hidden = true;
        document.body.classList.remove("drawer-open");
        break;
      case "open-send": openSend(); break;
      case "close-send": $("#send-dialog").close(); break;
      case "save-sample": saveSample(); break;
      default: break;
    }
  });
  document.addEventListener("input", (event) => {
    if (event.target.matches?.("textarea.json-editor")) checkJson(event.target);
    if (event.target.matches?.("input[data-rate-node]")) {
      const output = document.getElementById(`rate-value-${event.target.dataset.rateNode}`);
      if (output) output.textContent = `${event.target.value}/s`;
    }
  });
  document.addEventListener("change", (event) => {
    if (event.target.id === "send-dialog-node") loadSamples(event.target.value);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("#live-drawer")?.hidden && !$("#send-dialog")?.open) {
      $("#live-drawer").hidden = true;
      document.body.classList.remove("drawer-open");
    }
  });
  // A save makes a new version: the toolbar says when the run is an older one.
  document.body.addEventListener("flowyard:saved", () => {
    const url = urls().toolbar;
    if (url) window.htmx.ajax("GET", url, { target: "#run-toolbar", swap: "outerHTML" });
  });
  // After a command swaps the toolbar, the socket's last word on the state still applies.
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail?.target?.id === "run-toolbar" || event.target?.id === "run-toolbar") {
      showLiveStatus(document.body.dataset.live === "open" ? "open" : "closed");
    }
  });
  void overlay;
}

function showHint(text) {
  const result = $("#send-result");
  if (result) result.textContent = text;
}

function addStylesheet() {
  if ($("link[data-live-css]")) return;
  const script = document.querySelector("script[src*='designer/live.js']");
  const href = script ? script.src.replace(/live\.js(\?.*)?$/, "live.css") : "/static/designer/live.css";
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = href;
  link.dataset.liveCss = "";
  document.head.appendChild(link);
}

// --- start ------------------------------------------------------------------------------------------

function start() {
  const toolbar = $("#run-toolbar");
  const canvas = $("svg[data-canvas]");
  if (!toolbar) return;
  addStylesheet();
  const model = new RunModel();
  const overlay = canvas ? new Overlay(canvas, model, openTrace) : null;
  let socket = null;
  const onFrame = (frame) => {
    if (frame.type === "snapshot") {
      model.applySnapshot(frame);
      overlay?.clear();
      overlay?.paintAll();
      paintRunState(frame.state === "created" || frame.state === "starting" ? "starting" : normalise(frame.state));
      return;
    }
    if (frame.type === "notice") { showHint(String(frame.text || "")); return; }
    if (frame.type !== "tick") return;
    const outcome = model.applyTick(frame);
    if (outcome === "gap") { socket.resync(); return; }
    if (outcome === "skip") return;
    if (frame.seq === 1) overlay?.clear();
    for (const id of Object.keys(frame.nodes || {})) overlay?.paintNode(id);
    for (const id of model.edges.keys()) overlay?.paintEdge(id);
    for (const id of model.nodes.keys()) if (!(id in (frame.nodes || {}))) overlay?.paintNode(id);
    for (const [id, data] of Object.entries(frame.edges || {})) overlay?.dotsFor(id, data);
    for (const [id, kind] of Object.entries(frame.flash || {})) overlay?.flash(id, kind);
    for (const change of frame.sm || []) overlay?.machineState(change);
    paintRunState(normalise(frame.state));
    document.dispatchEvent(new CustomEvent("flowyard:live-frame", { detail: frame }));
  };
  socket = new LiveSocket(toolbar.dataset.topology, { onFrame, onStatus: showLiveStatus });
  bindInteractions(overlay);
  // The canvas may redraw nodes (edits, layout): repaint the overlays once a second.
  if (overlay) setInterval(() => overlay.paintAll(), 1000);
  window.flowyardLive = { model, socket };
}

function normalise(state) {
  return { created: "starting", stopping: "stopped" }[state] || state;
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
